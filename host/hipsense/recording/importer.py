"""The one importer for other tools' files, used by every test: a CSV with other column names
-> a raw-only :class:`~hipsense.recording.Recording` through
:meth:`~hipsense.recording.Recording.from_frame` (seq and marker filled, the axes remap applied,
the test stamped only when given)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from hipsense.recording.exceptions import RecordingError
from hipsense.recording.limits import check_header_width, csv_header
from hipsense.recording.model import Recording
from hipsense.recording.schema import RAW_COLUMNS, T_S


class ForeignFileError(RecordingError):
    """A foreign file cannot be read with the given column map or rate."""


def parse_column_map(text: str) -> dict[str, str]:
    """``"t_s=time_s,acc_x_mps2=acc_x,..."`` -> {hipsense column: the file's column}."""
    pairs = [p.split("=", 1) for p in text.split(",") if p.strip()]
    if not pairs or any(len(p) != 2 or not p[0].strip() or not p[1].strip() for p in pairs):
        raise ForeignFileError(f"--column-map {text!r}: use OURS=THEIRS pairs separated by ','")
    return {a.strip(): b.strip() for a, b in pairs}


def read_foreign_csv(
    path: str | Path,
    column_map: Mapping[str, str],
    rate_hz: float | None = None,
    *,
    test: str | None = None,
    axes: str | None = None,
) -> Recording:
    """A CSV with other column names as a raw-only :class:`Recording`.

    column_map: hipsense column -> the file's column (``acc_x_mps2`` -> ``acc_x``, ...; every raw
    column needed; ``t_s`` optional when ``rate_hz`` is given). Units must already be m/s² and
    deg/s. ``axes`` remaps the sensor axes into pelvis axes (see ``Recording.from_frame``);
    ``test`` is stored in the metadata (None: the analysis asks for it).
    """
    missing = [c for c in RAW_COLUMNS if c not in column_map]
    if missing:
        raise ForeignFileError(
            f"--column-map must name the file's columns for {', '.join(missing)}"
        )
    unknown = [c for c in column_map if c not in (T_S, *RAW_COLUMNS)]
    if unknown:
        raise ForeignFileError(
            f"--column-map: {', '.join(unknown)} is not a hipsense raw column "
            f"(use {T_S}, {', '.join(RAW_COLUMNS)})"
        )
    header = csv_header(Path(path))
    check_header_width(header, str(path))
    absent = [v for v in column_map.values() if v not in header]
    if absent:
        shown = ", ".join(header[:20]) + (", ..." if len(header) > 20 else "")
        raise ForeignFileError(f"{path}: no column {', '.join(absent)}; it has {shown}")
    try:
        frame = pd.read_csv(path, usecols=list(column_map.values()))
        data = pd.DataFrame(
            {ours: np.asarray(frame[theirs], dtype=np.float64)
             for ours, theirs in column_map.items()}
        )  # fmt: skip
    except (ValueError, TypeError, pd.errors.ParserError) as exc:
        raise ForeignFileError(f"{path}: not a readable numeric CSV: {exc}") from None
    if T_S not in data:
        if rate_hz is None:
            raise ForeignFileError("give the time column in --column-map (t_s=...) or --rate-hz")
    elif rate_hz is None:
        t = data[T_S].to_numpy()
        with np.errstate(all="ignore"):
            period = float(np.median(np.diff(t))) if len(t) > 1 else float("nan")
        if not (np.isfinite(period) and period > 0 and np.isfinite(1.0 / period)):
            raise ForeignFileError(f"{path}: the time column gives no sample rate: pass --rate-hz")
        rate_hz = float(round(1.0 / period, 6))
    return Recording.from_frame(
        data, rate_hz=rate_hz, test=test, axes=axes, extra={"source": str(path)}
    )

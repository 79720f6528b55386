"""The one importer for other tools' files: a CSV with other column names -> a raw-only
:class:`~hipsense.recording.Recording` (stamped as a walk, as before the re-layout)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from hipsense.recording.exceptions import RecordingError
from hipsense.recording.meta import RecordingMeta
from hipsense.recording.model import Recording
from hipsense.recording.schema import RAW_COLUMNS


class ForeignFileError(RecordingError):
    """A foreign file cannot be read with the given column map or rate."""


def read_foreign_csv(
    path: str | Path, column_map: Mapping[str, str], rate_hz: float | None = None
) -> Recording:
    """A CSV with other column names as a raw-only :class:`Recording`.

    column_map: hipsense column -> the file's column (``acc_x_mps2`` -> ``acc_x``, ...; every raw
    column needed; ``t_s`` optional when ``rate_hz`` is given). Units must already be m/s² and
    deg/s.
    """
    frame = pd.read_csv(path)
    missing = [c for c in RAW_COLUMNS if c not in column_map]
    if missing:
        raise ForeignFileError(
            f"--column-map must name the file's columns for {', '.join(missing)}"
        )
    absent = [v for v in column_map.values() if v not in frame.columns]
    if absent:
        raise ForeignFileError(
            f"{path}: no column {', '.join(absent)}; it has {', '.join(map(str, frame.columns))}"
        )
    data = pd.DataFrame(
        {ours: frame[theirs].to_numpy(np.float64) for ours, theirs in column_map.items()}
    )
    n = len(data)
    if "t_s" not in data:
        if rate_hz is None:
            raise ForeignFileError("give the time column in --column-map (t_s=...) or --rate-hz")
        data["t_s"] = np.arange(n) / rate_hz
    data["seq"] = np.arange(n, dtype=np.int64)
    data["marker"] = np.zeros(n, dtype=np.int32)
    if rate_hz is None:
        rate_hz = float(round(1.0 / np.median(np.diff(data["t_s"].to_numpy())), 6))
    meta = RecordingMeta(rate_hz=rate_hz, test="walk", extra={"source": str(path)})
    return Recording(meta=meta, data=data.loc[:, ["t_s", "seq", *RAW_COLUMNS, "marker"]])

"""The one importer for other tools' files, used by every test: a CSV with other column names
-> a raw-only :class:`~hipsense.recording.Recording`, filled as
:meth:`~hipsense.recording.Recording.from_frame` fills a frame (seq and marker filled, the axes
remap applied, the test stamped only when given), read in chunks (:func:`open_foreign_chunks`):
a walk is analysed at any length in bounded memory."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from hipsense.conventions.words import counted
from hipsense.recording.chunks import (
    CHUNK_ROWS,
    RecordingChunks,
    checked_frames,
    close_iterator,
    strict_chunks,
)
from hipsense.recording.exceptions import RecordingError
from hipsense.recording.limits import check_header_width, csv_header
from hipsense.recording.meta import RecordingMeta
from hipsense.recording.model import Recording, filled_frame
from hipsense.recording.rate import RATE_SAMPLES
from hipsense.recording.schema import CONTENT_RAW, RAW_COLUMNS, T_S, RowLabel, numeric_column

RATE_AGREEMENT = 0.02
"""How far a given rate may differ from the time column's (relative) before it is refused:
a nominal rate beside jittery time stamps passes, a wrong one does not."""


class ForeignFileError(RecordingError):
    """A foreign file cannot be read with the given column map or rate."""


def parse_column_map(text: str) -> dict[str, str]:
    """``"t_s=time_s,acc_x_mps2=acc_x,..."`` -> {hipsense column: the file's column}."""
    pairs = [p.split("=", 1) for p in text.split(",") if p.strip()]
    if not pairs or any(len(p) != 2 or not p[0].strip() or not p[1].strip() for p in pairs):
        raise ForeignFileError(f"--column-map {text!r}: use OURS=THEIRS pairs separated by ','")
    return {a.strip(): b.strip() for a, b in pairs}


def check_column_map(column_map: Mapping[str, str]) -> None:
    """Refuse a map that misses a raw column or names one hipsense does not have (before any
    file is read: ``hipsense batch`` checks it once for every file)."""
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
    ``test`` is stored in the metadata (None: the analysis asks for it). Without ``rate_hz``
    the rate is 1 / the median period of the first :data:`RATE_SAMPLES` sample times. The file
    is read in chunks (:func:`open_foreign_chunks`) and refused beyond
    :data:`~hipsense.recording.limits.MAX_WHOLE_ROWS` samples.
    """
    chunks = open_foreign_chunks(path, column_map, rate_hz, test=test, axes=axes)
    return chunks.whole(why="a foreign CSV is imported whole")


def open_foreign_chunks(
    path: str | Path,
    column_map: Mapping[str, str],
    rate_hz: float | None = None,
    *,
    test: str | None = None,
    axes: str | None = None,
    chunk_rows: int = CHUNK_ROWS,
) -> RecordingChunks:
    """:func:`read_foreign_csv` read ``chunk_rows`` rows at a time: the header, the map and the
    rate are checked now (the rate from the first :data:`RATE_SAMPLES` times when not given);
    each chunk is renamed, filled (``t_s``, ``seq``, ``marker``), remapped by ``axes`` and
    checked like a recording's as it is read, so the chunks make exactly the whole file's
    frame, in memory bounded by one chunk."""
    source = str(path)
    check_column_map(column_map)
    header = csv_header(Path(path))
    check_header_width(header, source)
    absent = [v for v in column_map.values() if v not in header]
    if absent:
        _refuse_other_separators(path, header)
        shown = ", ".join(header[:20]) + (", ..." if len(header) > 20 else "")
        raise ForeignFileError(f"{path}: no column {', '.join(absent)}; it has {shown}")
    if T_S not in column_map and rate_hz is None:
        raise ForeignFileError("give the time column in --column-map (t_s=...) or --rate-hz")
    rows = max(1, int(chunk_rows))

    def renamed() -> Iterator[tuple[int, pd.DataFrame]]:
        """(first row, the chunk in hipsense's names as float64), rows counted from 0."""
        offset = 0
        try:
            # every column read, not ``usecols``: with it pandas drops a row's extra fields
            # unseen (a decimal comma shifts the values after it); now such a row is an error
            reader = pd.read_csv(path, index_col=False, chunksize=rows)
            with reader:
                for chunk in strict_chunks(reader, source):
                    absent = [c for c in column_map.values() if c not in chunk.columns]
                    if absent:  # pandas read another line as the header than ``csv_header``
                        raise ForeignFileError(f"{path}: no column {', '.join(absent)}")
                    yield offset, pd.DataFrame(
                        {ours: numeric_column(chunk[theirs], theirs, source, _rows_from(offset))
                         for ours, theirs in column_map.items()},
                        dtype=np.float64,
                    )  # fmt: skip
                    offset += len(chunk)
        except (ValueError, TypeError, pd.errors.ParserError) as exc:
            raise ForeignFileError(f"{path}: not a readable numeric CSV: {exc}") from None

    if rate_hz is None:
        rate_hz = _rate_from_times(renamed(), source, column_map[T_S])
    elif T_S in column_map:  # both given: they must tell the same rate
        timed_hz = _rate_from_times(renamed(), source, column_map[T_S])
        if abs(float(rate_hz) / timed_hz - 1.0) > RATE_AGREEMENT:
            raise ForeignFileError(
                f"{path}: --rate-hz {float(rate_hz):g} but the time column "
                f"'{column_map[T_S]}' gives {timed_hz:.4g} Hz: leave out --rate-hz (the time "
                "column sets the rate), or correct it"
            )
    given_rate = float(rate_hz)
    meta = RecordingMeta(
        rate_hz=given_rate, test=test, mounting=None if axes is None else [1.0, 0.0, 0.0, 0.0],
        extra={"source": source, **({} if axes is None else {"axes": axes})},
    )  # fmt: skip

    def filled() -> Iterator[pd.DataFrame]:
        for first_row, frame in renamed():
            yield filled_frame(frame, rate_hz=given_rate, axes=axes, first_row=first_row)

    def frames() -> Iterator[pd.DataFrame]:
        return checked_frames(filled(), source, lambda offset: lambda i: f"row {offset + i}")

    return RecordingChunks(source, meta, CONTENT_RAW, frames)


def _refuse_other_separators(path: str | Path, header: list[str]) -> None:
    """A header read as one column that holds ';' or tabs is a spreadsheet's export with
    another separator (and often decimal commas): say so rather than "no column ..."."""
    if len(header) != 1:
        return
    for sep, named in ((";", "';'"), ("\t", "tabs")):
        if sep in header[0]:
            raise ForeignFileError(
                f"{path}: its columns are separated by {named} (as some spreadsheet programs "
                "export), not by commas: hipsense reads comma-separated CSV with '.' as the "
                "decimal point; export or convert the file that way"
            )


def _rate_from_times(chunks: Iterator[tuple[int, pd.DataFrame]], source: str, column: str) -> float:
    """1 / the median period of the first :data:`RATE_SAMPLES` sample times (``column``, the
    file's time column, is named when one of them is missing)."""
    parts: list[np.ndarray] = []
    n = 0
    try:
        for _, frame in chunks:
            parts.append(frame[T_S].to_numpy()[: RATE_SAMPLES - n])
            n += len(parts[-1])
            if n >= RATE_SAMPLES:
                break
    finally:
        close_iterator(chunks)
    t = np.concatenate(parts) if parts else np.empty(0)
    missing = np.flatnonzero(~np.isfinite(t))
    if missing.size:  # not the rate's fault: --rate-hz would not help
        raise ForeignFileError(
            f"{source}: column '{column}' has a missing, NaN or infinite value at row"
            f" {int(missing[0])}"
        )
    if len(t) < 2:  # --rate-hz would not help either: there is nothing to analyse
        raise ForeignFileError(
            f"{source}: {counted(len(t), 'sample row')} under the header: no samples"
        )
    with np.errstate(all="ignore"):
        period = float(np.median(np.diff(t))) if len(t) > 1 else float("nan")
    if not (np.isfinite(period) and period > 0 and np.isfinite(1.0 / period)):
        raise ForeignFileError(f"{source}: the time column gives no sample rate: pass --rate-hz")
    return float(round(1.0 / period, 6))


def _rows_from(offset: int) -> RowLabel:
    """Rows of a chunk named as in the whole file (counted from 0)."""
    return lambda i: f"row {offset + i}"

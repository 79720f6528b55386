"""A recording read in chunks: its metadata at once, its samples a checked chunk at a time.

:func:`open_chunks` reads a Parquet file by row batches (within its row groups) and a CSV file
``CHUNK_ROWS`` lines at a time, with the checks and messages of :func:`read_recording`: the
metadata and the columns before any sample, each chunk's values as it is read, and ``seq`` and
``t_s`` increasing across chunk boundaries too. So an analysis that keeps only its results
reads a file of any length in memory bounded by one chunk (docs/recording.md).

A file without hipsense metadata has its rate inferred from all its sample times; such a file
(a user's own CSV) is read whole and handed out as one chunk.
"""

from __future__ import annotations

import contextlib
import csv
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from hipsense.recording.csv_io import EXACT_FLOATS, META_PREFIX
from hipsense.recording.exceptions import RecordingError
from hipsense.recording.files import PARTIAL_SUFFIX, read_recording
from hipsense.recording.limits import (
    MAX_HEADER_BYTES,
    MAX_META_BYTES,
    check_columns_count,
    check_header_width,
    check_meta_size,
)
from hipsense.recording.meta import META_KEY, RecordingMeta, meta_from_json
from hipsense.recording.model import Recording
from hipsense.recording.parquet_io import CHECK_KEY, PARQUET_MAGIC, verify_check
from hipsense.recording.schema import (
    SEQ,
    T_S,
    RowLabel,
    check_columns,
    check_increasing,
    normalise_frame,
)

CHUNK_ROWS = 65536
"""Rows per chunk: about 6 MB of float64 for an 11-column recording."""


@dataclass
class RecordingChunks:
    """A recording's metadata and content, and its samples as checked frames in order.

    ``frames()`` yields frames with the columns and dtypes of :class:`Recording`; iterate it
    once. ``source`` names the file in messages.
    """

    source: str
    meta: RecordingMeta
    content: str
    _frames: Callable[[], Iterator[pd.DataFrame]]

    @classmethod
    def of(cls, rec: Recording, chunk_rows: int = CHUNK_ROWS) -> RecordingChunks:
        """An in-memory recording handed out in chunks (views of its frame)."""
        step = max(1, int(chunk_rows))

        def frames() -> Iterator[pd.DataFrame]:
            for i in range(0, len(rec.data), step):
                yield rec.data.iloc[i : i + step]

        return cls("recording data", rec.meta, rec.content, frames)

    def frames(self) -> Iterator[pd.DataFrame]:
        """The samples, chunk by chunk (each checked before it is handed out)."""
        return self._frames()


def open_chunks(path: str | os.PathLike[str], chunk_rows: int = CHUNK_ROWS) -> RecordingChunks:
    """Open a Parquet or CSV recording for reading in chunks of about ``chunk_rows`` rows.

    The metadata and the column names are read and checked now; a problem with a sample is a
    :class:`RecordingError` raised while iterating ``frames()``, naming its row or line.
    """
    source = str(path)
    target = Path(path)
    rows = max(1, int(chunk_rows))
    if target.name.endswith(PARTIAL_SUFFIX):
        read_recording(target)  # its message: recover the file first
    try:
        with open(target, "rb") as f:
            head = f.read(4)
    except OSError:
        head = b""
    if not head:
        return RecordingChunks.of(read_recording(target), rows)  # its message for these
    if head == PARQUET_MAGIC:
        return _open_parquet(target, source, rows)
    if target.suffix.lower() == ".parquet":
        read_recording(target)  # "not a Parquet file"
    return _open_csv(target, source, rows)


def _checked_frames(
    raw: Iterator[pd.DataFrame], source: str, label: Callable[[int], RowLabel]
) -> Iterator[pd.DataFrame]:
    """Normalise each raw chunk (rows labelled from their place in the file) and check that
    ``seq`` and ``t_s`` keep increasing from one chunk to the next."""
    offset = 0
    last: dict[str, np.ndarray] | None = None
    for chunk in raw:
        if len(chunk) == 0:
            continue
        frame, _ = normalise_frame(chunk, source, label(offset))
        ends = {name: frame[name].to_numpy()[[0, -1]] for name in (SEQ, T_S)}
        if last is not None:  # the last row of the previous chunk, then this chunk's first
            for name, unit in ((SEQ, ""), (T_S, " s")):
                pair = np.array([last[name][1], ends[name][0]])
                check_increasing(pair, name, unit, source, label(offset - 1))
        last = ends
        offset += len(frame)
        yield frame
    if last is None:
        raise RecordingError(f"{source}: empty recording: the file has no samples")


def _row_from(offset: int) -> RowLabel:
    return lambda i: f"row {offset + i}"


def _open_parquet(target: Path, source: str, rows: int) -> RecordingChunks:
    def damaged(exc: Exception) -> RecordingError:
        return RecordingError(
            f"{source}: not a readable Parquet file (truncated or damaged): {exc}"
        )

    try:
        parquet = pq.ParquetFile(target, page_checksum_verification=True)
        schema = parquet.schema_arrow
        check_columns_count(len(schema), source)
        stored = schema.metadata or {}
        raw_meta = stored.get(META_KEY.encode())
        if raw_meta is not None:
            check_meta_size(raw_meta, source)
        n_rows = parquet.metadata.num_rows
    except RecordingError:
        raise
    except Exception as exc:  # pyarrow raises many types on damaged input
        raise damaged(exc) from None
    check = stored.get(CHECK_KEY.encode())
    if check is not None:
        verify_check(check, raw_meta, n_rows, source)
    if raw_meta is None:
        return RecordingChunks.of(read_recording(target), rows)
    try:
        meta_json = raw_meta.decode("utf-8")
    except UnicodeDecodeError:
        raise RecordingError(
            f"{source}: the recording metadata is not UTF-8 text; the file is damaged"
        ) from None
    meta, stored_content = meta_from_json(meta_json, source)
    content = _content(list(schema.names), stored_content, source)

    def raw() -> Iterator[pd.DataFrame]:
        with contextlib.closing(parquet):
            batches = parquet.iter_batches(batch_size=rows, use_threads=False)
            while True:
                try:
                    batch = next(batches)
                    frame = batch.to_pandas()
                except StopIteration:
                    return
                except Exception as exc:
                    raise damaged(exc) from None
                yield frame

    return RecordingChunks(source, meta, content, lambda: _checked_frames(raw(), source, _row_from))


def _content(columns: list[str], stored_content: str, source: str) -> str:
    content = check_columns(columns, source)
    if stored_content != content:
        raise RecordingError(
            f"{source}: the metadata says the file holds '{stored_content}' columns but it"
            f" holds '{content}' columns; columns were lost or added after recording"
        )
    return content


def _open_csv(target: Path, source: str, rows: int) -> RecordingChunks:
    """The leading comment lines (with the metadata line) and the header, read line by line
    within the limits; then the body by pandas in chunks."""
    meta_json: str | None = None
    line_no = 0
    header_line: str | None = None
    body_at = 0
    try:
        with open(target, "rb") as f:
            while True:
                line_b = f.readline(MAX_META_BYTES + MAX_HEADER_BYTES)
                if not line_b:
                    break
                line_no += 1
                if not line_b.endswith(b"\n") and len(line_b) >= MAX_META_BYTES:
                    raise RecordingError(
                        f"{source}: line {line_no} is longer than {MAX_META_BYTES} bytes;"
                        " the metadata and the header are read within that"
                    )
                try:
                    line = line_b.decode("utf-8-sig" if line_no == 1 else "utf-8")
                except UnicodeDecodeError:
                    return RecordingChunks.of(read_recording(target), rows)  # its message
                stripped = line.removesuffix("\n").removesuffix("\r").strip()
                if stripped.startswith(META_PREFIX):
                    if meta_json is not None:
                        raise RecordingError(
                            f"{source}: line {line_no}: a second '{META_PREFIX}' metadata line"
                        )
                    meta_json = stripped[len(META_PREFIX) :].strip()
                elif stripped and not stripped.startswith("#"):
                    header_line = line.removesuffix("\n").removesuffix("\r")
                    body_at = f.tell()
                    break
    except OSError as exc:
        raise RecordingError(f"{source}: cannot read: {exc.strerror or exc}") from None
    if header_line is None or meta_json is None:
        return RecordingChunks.of(read_recording(target), rows)  # no metadata: rate inferred
    check_meta_size(meta_json, source)
    header = _header(header_line, line_no, source)
    meta, stored_content = meta_from_json(meta_json, source)
    content = _content(header, stored_content, source)
    first_data_line = line_no + 1

    def raw() -> Iterator[pd.DataFrame]:
        with open(target, "rb") as f:
            f.seek(body_at)
            try:
                reader = pd.read_csv(
                    f,
                    header=None,
                    names=header,
                    index_col=False,
                    chunksize=rows,
                    **EXACT_FLOATS,  # type: ignore[arg-type]
                    skip_blank_lines=False,
                    skipinitialspace=True,
                    encoding="utf-8",
                )
                with reader:
                    yield from reader
            except (ValueError, pd.errors.ParserError) as exc:  # UnicodeDecodeError included
                # pandas counts lines from the first one it read: the line after the header
                message = re.sub(r"line (\d+)", lambda m: f"line {int(m[1]) + line_no}", str(exc))
                raise RecordingError(f"{source}: not a readable CSV recording: {message}") from None

    def label(offset: int) -> RowLabel:
        return lambda i: f"line {first_data_line + offset + i}"

    return RecordingChunks(source, meta, content, lambda: _checked_frames(raw(), source, label))


def _header(header_line: str, line_no: int, source: str) -> list[str]:
    try:
        header = [h.strip() for h in next(csv.reader([header_line]))]
    except csv.Error as exc:
        raise RecordingError(f"{source}: line {line_no}: unreadable header: {exc}") from None
    check_header_width(header, source)
    return header

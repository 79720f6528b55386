"""Limits that keep a reader's time and memory bounded on hostile files, as small checks the
readers call before the work grows: the column count, the metadata size and its nesting, and
the samples an analysis holds whole."""

from __future__ import annotations

import csv
from pathlib import Path

from hipsense.recording.exceptions import RecordingError

PARQUET_MAGIC = b"PAR1"
"""The first (and last) four bytes of every Parquet file."""

MAX_COLUMNS = 256
"""A recording has 11 columns; a foreign IMU file a few dozen. More is not an IMU recording."""
MAX_META_BYTES = 1 << 20
"""The metadata JSON of a real session is a few kB (ground truth included)."""
MAX_META_DEPTH = 32
"""Nesting depth of the metadata JSON (a deeper one would exhaust the parser's recursion)."""
MAX_HEADER_BYTES = 1 << 20
"""The header line of a CSV (256 column names fit many times over)."""
MAX_WHOLE_ROWS = 240_000
"""Samples an analysis that holds every sample (balance, bridge, exercises, a walk's report)
reads: 40 min at 100 Hz, 10 min at 400 Hz; such a test lasts minutes. A walk is analysed in
chunks at any length (docs/recording.md)."""


def check_columns_count(n: int, source: str) -> None:
    """Refuse a file with more than :data:`MAX_COLUMNS` columns before reading its rows."""
    if n > MAX_COLUMNS:
        raise RecordingError(
            f"{source}: {n} columns; a recording has at most {MAX_COLUMNS} (is this an IMU file?)"
        )


def check_header_width(header: list[str], source: str) -> None:
    """:func:`check_columns_count` for a CSV header."""
    check_columns_count(len(header), source)


def check_meta_size(meta_bytes: bytes | str, source: str) -> None:
    """Refuse metadata larger than :data:`MAX_META_BYTES` or nested deeper than
    :data:`MAX_META_DEPTH` (counted on the text, before any parsing)."""
    n = len(meta_bytes)
    if n > MAX_META_BYTES:
        raise RecordingError(
            f"{source}: the recording metadata is {n} bytes; at most {MAX_META_BYTES} are read"
        )
    text = meta_bytes.decode("utf-8", "replace") if isinstance(meta_bytes, bytes) else meta_bytes
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    if deepest > MAX_META_DEPTH:
        raise RecordingError(
            f"{source}: the recording metadata nests {deepest} levels deep; at most "
            f"{MAX_META_DEPTH} are read"
        )


def csv_header(path: Path) -> list[str]:
    """The column names of a CSV: its first line that is neither blank nor a ``#`` comment,
    read within :data:`MAX_HEADER_BYTES`. A Parquet file or bytes that are not UTF-8 text are
    refused by name (their header would be binary noise)."""
    source = str(path)
    from hipsense.recording.newlines import lone_cr, open_binary  # (it imports this module)

    offset = 0
    try:
        with open(path, "rb") as probe:
            cr_lines = lone_cr(probe)  # lines ending in CR alone: read as LF
        with open_binary(path, cr_lines) as f:
            while True:
                raw = f.readline(MAX_HEADER_BYTES + 1)
                if offset == 0 and raw.startswith(PARQUET_MAGIC):
                    raise RecordingError(
                        f"{source}: a Parquet file, not a CSV: --column-map reads another"
                        " tool's CSV; a hipsense recording is read without it"
                    )
                if not raw:
                    raise RecordingError(f"{source}: no header row")
                if len(raw) > MAX_HEADER_BYTES:
                    raise RecordingError(
                        f"{source}: the header line is longer than {MAX_HEADER_BYTES} bytes"
                    )
                try:
                    line = raw.decode("utf-8-sig" if offset == 0 else "utf-8")
                except UnicodeDecodeError as exc:
                    raise RecordingError(
                        f"{source}: not UTF-8 CSV text (byte {offset + exc.start} is not"
                        " UTF-8); --column-map reads another tool's CSV file"
                    ) from None
                offset += len(raw)
                if line.strip() and not line.lstrip().startswith("#"):
                    break
    except OSError as exc:
        raise RecordingError(f"{source}: cannot read: {exc.strerror or exc}") from None
    try:
        return [h.strip() for h in next(csv.reader([line]))]
    except (csv.Error, StopIteration) as exc:
        raise RecordingError(f"{source}: unreadable header: {exc}") from None

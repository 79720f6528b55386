"""Parquet encoding of a recording: metadata JSON in the file's key-value metadata, checked.

Parquet checksums each data page (written and verified here) but not its footer, which
holds the metadata JSON and the row counts. So a second key, ``hipsense.recording.check``,
stores ``{"rows": n, "meta_crc32": "xxxxxxxx"}``, written when the file is complete: damage to
the footer that would silently change a metadata value or drop rows is an error instead.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterable
from typing import TYPE_CHECKING, BinaryIO

import pyarrow as pa
import pyarrow.parquet as pq

from hipsense.conventions.words import counted
from hipsense.recording.exceptions import RecordingError
from hipsense.recording.limits import check_columns_count, check_meta_size
from hipsense.recording.meta import META_KEY

if TYPE_CHECKING:
    import pandas as pd

COMPRESSION = "zstd"
CHECK_KEY = META_KEY + ".check"
ROW_GROUP_ROWS = 65536


def _crc32_hex(meta_json: bytes) -> str:
    return f"{zlib.crc32(meta_json):08x}"


def to_table(data: pd.DataFrame, meta_json: str, source: str) -> pa.Table:
    """The frame as an Arrow table carrying the metadata JSON under ``hipsense.recording``."""
    try:
        table = pa.Table.from_pandas(data, preserve_index=False)
    except (pa.ArrowException, TypeError, ValueError) as exc:
        raise RecordingError(f"{source}: a column cannot be stored in Parquet: {exc}") from None
    return table.replace_schema_metadata({META_KEY: meta_json})


def write_parquet(schema: pa.Schema, batches: Iterable[pa.RecordBatch], out: BinaryIO) -> int:
    """Write the batches as row groups of about 64 k rows, holding one row group in memory,
    then the check key. ``schema`` carries the metadata JSON. Returns the number of rows."""
    meta_json = (schema.metadata or {})[META_KEY.encode()]
    rows = 0
    with pq.ParquetWriter(out, schema, compression=COMPRESSION, write_page_checksum=True) as writer:
        pending: list[pa.RecordBatch] = []
        pending_rows = 0
        for batch in batches:
            pending.append(batch)
            pending_rows += batch.num_rows
            if pending_rows >= ROW_GROUP_ROWS:
                writer.write_table(pa.Table.from_batches(pending, schema))
                rows += pending_rows
                pending, pending_rows = [], 0
        if pending:
            writer.write_table(pa.Table.from_batches(pending, schema))
            rows += pending_rows
        check = {"rows": rows, "meta_crc32": _crc32_hex(meta_json)}
        writer.add_key_value_metadata({CHECK_KEY: json.dumps(check)})
    return rows


def read_parquet(path: str, source: str) -> tuple[pd.DataFrame, str | None]:
    """The frame and the stored metadata JSON (None when absent); any pyarrow failure is a
    RecordingError, because a file pyarrow cannot decode is truncated or damaged."""
    try:
        parquet = pq.ParquetFile(path, page_checksum_verification=True)
        check_columns_count(len(parquet.schema_arrow), source)
        raw_meta = (parquet.schema_arrow.metadata or {}).get(META_KEY.encode())
        if raw_meta is not None:
            check_meta_size(raw_meta, source)
        table = parquet.read()
        data = table.to_pandas()
    except RecordingError:
        raise
    except Exception as exc:  # pyarrow raises many types on damaged input; all mean "damaged"
        raise RecordingError(
            f"{source}: not a readable Parquet file (truncated or damaged): {exc}"
        ) from None
    stored = table.schema.metadata or {}
    raw = stored.get(META_KEY.encode())
    check = stored.get(CHECK_KEY.encode())
    if check is not None:
        verify_check(check, raw, table.num_rows, source)
    if raw is None:
        return data, None
    try:
        return data, raw.decode("utf-8")
    except UnicodeDecodeError:
        raise RecordingError(
            f"{source}: the recording metadata is not UTF-8 text; the file is damaged"
        ) from None


def verify_check(check: bytes, raw: bytes | None, rows: int, source: str) -> None:
    damaged = f"{source}: the file is damaged:"
    try:
        expected = json.loads(check)
        expected_rows, expected_crc = int(expected["rows"]), str(expected["meta_crc32"])
    except (ValueError, TypeError, KeyError):
        raise RecordingError(f"{damaged} its {CHECK_KEY} entry is unreadable") from None
    if raw is None:
        raise RecordingError(f"{damaged} the {META_KEY} metadata entry is missing")
    if _crc32_hex(raw) != expected_crc:
        raise RecordingError(f"{damaged} the recording metadata fails its checksum")
    if rows != expected_rows:
        raise RecordingError(
            f"{damaged} it holds {counted(rows, 'row')} but {expected_rows} were written"
        )

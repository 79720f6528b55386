"""Parquet encoding of a recording: metadata JSON in the schema metadata, page checksums on."""

from __future__ import annotations

from typing import BinaryIO

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from hipsense.recording.exceptions import RecordingError
from hipsense.recording.meta import META_KEY

COMPRESSION = "zstd"
PARQUET_MAGIC = b"PAR1"


def to_table(data: pd.DataFrame, meta_json: str, source: str) -> pa.Table:
    """The frame as an Arrow table carrying the metadata JSON under ``hipsense.recording``."""
    try:
        table = pa.Table.from_pandas(data, preserve_index=False)
    except (pa.ArrowException, TypeError, ValueError) as exc:
        raise RecordingError(f"{source}: a column cannot be stored in Parquet: {exc}") from None
    return table.replace_schema_metadata({META_KEY: meta_json})


def write_parquet(table: pa.Table, out: BinaryIO) -> None:
    """Write one table (row groups of up to 64 k rows) with page checksums."""
    pq.write_table(
        table, out, compression=COMPRESSION, write_page_checksum=True, row_group_size=65536
    )


def read_parquet(path: str, source: str) -> tuple[pd.DataFrame, str | None]:
    """The frame and the stored metadata JSON (None when absent); any pyarrow failure is a
    RecordingError, because a file pyarrow cannot decode is truncated or damaged."""
    try:
        table = pq.ParquetFile(path, page_checksum_verification=True).read()
        data = table.to_pandas()
    except Exception as exc:  # pyarrow raises many types on damaged input; all mean "damaged"
        raise RecordingError(
            f"{source}: not a readable Parquet file (truncated or damaged): {exc}"
        ) from None
    raw = (table.schema.metadata or {}).get(META_KEY.encode())
    if raw is None:
        return data, None
    try:
        return data, raw.decode("utf-8")
    except UnicodeDecodeError:
        raise RecordingError(
            f"{source}: the recording metadata is not UTF-8 text; the file is damaged"
        ) from None

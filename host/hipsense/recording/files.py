"""read_recording and write_recording: one entry point for Parquet and CSV files."""

from __future__ import annotations

import io
import os
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

import pyarrow as pa

from hipsense.recording.csv_io import read_csv_text, to_csv_text
from hipsense.recording.exceptions import RecordingError
from hipsense.recording.limits import PARQUET_MAGIC
from hipsense.recording.meta import RecordingMeta, meta_from_json, meta_to_json
from hipsense.recording.model import Recording
from hipsense.recording.newlines import lone_cr
from hipsense.recording.parquet_io import read_parquet, to_table, write_parquet
from hipsense.recording.rate import infer_rate_hz
from hipsense.recording.schema import SEQ, T_S, RowLabel, normalise_frame, row_label_0

if TYPE_CHECKING:
    import pandas as pd

FORMATS = ("parquet", "csv")
PARTIAL_SUFFIX = ".partial"


def format_for(path: Path, fmt: str | None) -> str:
    """``fmt`` if given, else ``csv`` for a ``.csv`` suffix and ``parquet`` otherwise. A ``fmt``
    that contradicts a ``.csv`` or ``.parquet`` name is refused: the file could not be read back
    (a ``.parquet`` name is read as Parquet)."""
    if fmt is None:
        return "csv" if path.suffix.lower() == ".csv" else "parquet"
    if fmt not in FORMATS:
        raise RecordingError(f"unknown recording format {fmt!r}: use one of {', '.join(FORMATS)}")
    named = path.suffix.lower().removeprefix(".")
    if named in FORMATS and named != fmt:
        raise RecordingError(
            f"{path}: a .{named} name for a {fmt} recording; name it "
            f"{path.with_suffix('.' + fmt)}, or leave out --format"
        )
    return fmt


def atomic_write(path: Path, write: Callable[[BinaryIO], None]) -> None:
    """Write to a temporary file beside ``path``, fsync, then rename over ``path``.

    A reader never sees a half-written file, and an existing file is replaced only once the
    new one is complete.
    """
    # a unique name opened with "xb" (not mkstemp, whose 0600 mode would ignore the umask)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.tmp")
    try:
        with open(tmp, "xb") as out:
            write(out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise RecordingError(f"cannot write {path}: {exc.strerror or exc}") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_recording(rec: Recording, path: str | os.PathLike[str], fmt: str | None = None) -> Path:
    """Write ``rec`` to ``path`` as Parquet (default) or CSV (``fmt="csv"`` or a .csv suffix).

    The write is atomic (temporary file, then rename). Returns the path written.
    """
    target = Path(path)
    kind = format_for(target, fmt)
    source = f"cannot write {target}"
    data, content = normalise_frame(rec.data, source)
    meta_json = meta_to_json(rec.meta, content)
    if kind == "csv":
        encoded = to_csv_text(data, meta_json).encode("utf-8")
        atomic_write(target, lambda out: _write_bytes(out, encoded))
    else:
        table = to_table(data, meta_json, source)
        atomic_write(target, lambda out: _write_table(table, out))
    return target


def read_recording(path: str | os.PathLike[str]) -> Recording:
    """Read and check a Parquet or CSV recording (chosen by content); errors name the file.

    A file without hipsense metadata (a user's own CSV) gets unknown metadata and a
    ``rate_hz`` inferred from its sample times (see docs/recording.md).
    """
    source = str(path)
    target = Path(path)
    if target.name.endswith(PARTIAL_SUFFIX):
        raise RecordingError(
            f"{source}: an unfinished recording (the recorder stopped before closing it);"
            " recover the samples written so far with"
            f" `hipsense recover {source}` (or hipsense.recording.recover_partial(path))"
        )
    try:
        with open(target, "rb") as f:
            head = f.read(4)
    except FileNotFoundError:
        raise RecordingError(f"{source}: no such recording file") from None
    except IsADirectoryError:
        raise RecordingError(f"{source}: is a directory, not a recording file") from None
    except OSError as exc:
        raise RecordingError(f"{source}: cannot open: {exc.strerror or exc}") from None
    if not head:
        raise RecordingError(f"{source}: empty file (0 bytes)")
    where: RowLabel = row_label_0
    if head == PARQUET_MAGIC:
        data, meta_json = read_parquet(source, source)
    elif target.suffix.lower() == ".parquet":
        raise RecordingError(f"{source}: not a Parquet file (it does not start with PAR1)")
    else:
        data, meta_json, where = _read_csv(target, source)
    return _build(data, meta_json, source, where)


def _write_table(table: pa.Table, out: BinaryIO) -> None:
    write_parquet(table.schema, table.to_batches(), out)


def _write_bytes(out: BinaryIO, encoded: bytes) -> None:
    out.write(encoded)


def _read_csv(target: Path, source: str) -> tuple[pd.DataFrame, str | None, RowLabel]:
    try:
        raw = target.read_bytes()
        if lone_cr(io.BytesIO(raw)):  # lines ending in CR alone (classic Mac OS)
            raw = raw.replace(b"\r", b"\n")
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RecordingError(
            f"{source}: neither Parquet nor UTF-8 CSV text (byte {exc.start} is not UTF-8);"
            " a recording is a Parquet or CSV file"
        ) from None
    except OSError as exc:
        raise RecordingError(f"{source}: cannot read: {exc.strerror or exc}") from None
    if not text.strip():
        raise RecordingError(f"{source}: empty file (only whitespace)")
    return read_csv_text(text, source)


def _build(data: pd.DataFrame, meta_json: str | None, source: str, where: RowLabel) -> Recording:
    """Check metadata first (a newer format may have other columns), then the samples."""
    meta: RecordingMeta | None = None
    stored_content = None
    if meta_json is not None:
        meta, stored_content = meta_from_json(meta_json, source)
    frame, content = normalise_frame(data, source, where)
    if stored_content is not None and stored_content != content:
        raise RecordingError(
            f"{source}: the metadata says the file holds '{stored_content}' columns but it"
            f" holds '{content}' columns; columns were lost or added after recording"
        )
    if meta is None:
        rate_hz = infer_rate_hz(frame[T_S].to_numpy(), frame[SEQ].to_numpy(), source)
        meta = RecordingMeta(rate_hz=rate_hz)
    return Recording(meta=meta, data=frame)

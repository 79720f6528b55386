"""Streaming writer for live sessions: constant memory, and an interrupted recording is kept.

Chunks go to ``<name>.partial`` as they arrive: for a Parquet target an Arrow IPC stream (one
record batch per chunk) inside one zstd stream, flushed after each chunk (the compressor
keeps its context across chunks, so 1 s chunks compress almost as well as the whole file:
1.7x the final Parquet file, against 2.8x for zstd per record batch), plain CSV lines for a
CSV target. A live session hands rows per notification to :meth:`RecordingWriter.append_rows`,
which collects them in preallocated arrays and appends one chunk per second of samples.
Both can be read back up to the last complete chunk after a crash, which a Parquet file cannot
(its footer is written last).
``close()`` turns the partial file into the final recording (Parquet row groups of up to
64 k rows, atomic rename) and removes it; :func:`recover_partial` does the same for the
partial file of a recorder that was killed.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from hipsense.recording.csv_io import to_csv_text
from hipsense.recording.exceptions import RecordingError
from hipsense.recording.files import PARTIAL_SUFFIX, atomic_write, format_for
from hipsense.recording.meta import META_KEY, RecordingMeta, meta_to_json
from hipsense.recording.parquet_io import to_table, write_parquet
from hipsense.recording.schema import SEQ, T_S, normalise_frame

if TYPE_CHECKING:
    import pandas as pd

_IPC_CONTINUATION = b"\xff\xff\xff\xff"
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


class RecordingWriter:
    """Append checked chunks of samples to a recording as they arrive; ``close()`` finishes it.

    Use as a context manager: leaving the block, also by an exception, finishes the file
    with every chunk appended so far. Chunks must have the same columns, and their ``t_s``
    and ``seq`` must continue to increase across chunks. ``close()`` without any appended
    sample writes no file and returns None.
    chunk_rows: rows :meth:`append_rows` collects before it appends them as one chunk
        (default: one second at ``meta.rate_hz``).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        meta: RecordingMeta,
        fmt: str | None = None,
        chunk_rows: int | None = None,
    ) -> None:
        self.path = Path(path)
        self.partial_path = self.path.with_name(self.path.name + PARTIAL_SUFFIX)
        self.meta = meta
        self.rows_written = 0
        self._format = format_for(self.path, fmt)
        self._columns: list[str] | None = None
        self._schema: pa.Schema | None = None
        self._file: BinaryIO | None = None
        self._ipc: pa.ipc.RecordBatchStreamWriter | None = None
        self._zstd: pa.CompressedOutputStream | None = None
        self._last: tuple[float, int] | None = None
        self._closed = False
        self.chunk_rows = max(1, chunk_rows or round(meta.rate_hz))
        self._pending: dict[str, npt.NDArray[np.generic]] = {}
        self._pending_n = 0

    def __enter__(self) -> RecordingWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def append(self, chunk: pd.DataFrame) -> None:
        """Check ``chunk`` and write it to the partial file (flushed to the OS)."""
        if self._closed:
            raise RecordingError(f"{self.path}: the recording is closed; cannot append")
        first_row = self.rows_written

        def where(i: int) -> str:
            return f"row {first_row + i}"

        source = f"{self.partial_path}"
        data, content = normalise_frame(chunk, source, where)
        columns = [str(c) for c in data.columns]
        if self._columns is not None and columns != self._columns:
            raise RecordingError(
                f"{source}: a chunk has columns {', '.join(columns)} but the recording has"
                f" {', '.join(self._columns)}"
            )
        if len(data) == 0:
            return
        self._check_continues(data, source)
        if self._file is None:
            self._open(data, content, source)
        self._write(data, source)
        self.rows_written += len(data)
        self._last = (float(data[T_S].iloc[-1]), int(data[SEQ].iloc[-1]))

    def append_rows(self, columns: Mapping[str, npt.NDArray[np.generic]]) -> None:
        """Collect a few rows (column -> 1-D array, as :meth:`append`'s chunks) and append
        them with the rows before as one chunk once ``chunk_rows`` are there; ``close()``
        appends the rest. Checks happen when the chunk is appended."""
        if self._closed:
            raise RecordingError(f"{self.path}: the recording is closed; cannot append")
        n = len(next(iter(columns.values()), ()))
        if self._pending and (
            list(self._pending) != list(columns)
            or any(self._pending[c].dtype != a.dtype for c, a in columns.items())
        ):
            self.flush()
            self._pending = {}
        if n >= self.chunk_rows:  # a backlog: no need to collect
            import pandas as pd  # loaded when a recording is written, not when one is read

            self.flush()
            self.append(pd.DataFrame(dict(columns)))
            return
        if not self._pending:  # below chunk_rows before, fewer than chunk_rows added
            self._pending = {c: np.empty(2 * self.chunk_rows, a.dtype) for c, a in columns.items()}
        pending = self._pending
        i = self._pending_n
        for c, a in columns.items():
            pending[c][i : i + n] = a
        self._pending_n = i + n
        if self._pending_n >= self.chunk_rows:
            self.flush()

    def flush(self) -> None:
        """Append the rows collected by :meth:`append_rows` now."""
        n, self._pending_n = self._pending_n, 0
        if not n:
            return
        columns = {c: a[:n] for c, a in self._pending.items()}
        if not self._append_plain(columns):
            import pandas as pd

            self.append(pd.DataFrame(columns))

    def _append_plain(self, columns: dict[str, npt.NDArray[np.generic]]) -> bool:
        """Write rows straight to the IPC stream when they need no conversion and pass the
        checks :meth:`append` makes (same columns and types as the file, finite increasing
        ``t_s``, increasing ``seq``); False otherwise, for :meth:`append` to judge them."""
        schema = self._schema
        if self._ipc is None or schema is None or list(columns) != self._columns:
            return False
        if any(pa.from_numpy_dtype(a.dtype) != schema.field(c).type for c, a in columns.items()):
            return False
        t_s = np.asarray(columns[T_S], dtype=np.float64)  # types checked above: no copies
        seq = np.asarray(columns[SEQ], dtype=np.int64)
        last_t_s, last_seq = self._last if self._last is not None else (-np.inf, None)
        if not (
            np.isfinite(t_s).all()
            and t_s[0] > last_t_s
            and (last_seq is None or seq[0] > last_seq)
            and (t_s[1:] > t_s[:-1]).all()
            and (seq[1:] > seq[:-1]).all()
        ):
            return False
        batch = pa.RecordBatch.from_arrays(
            [pa.array(columns[f.name]) for f in schema], schema=schema
        )
        self._write_batch(batch)
        self.rows_written += len(t_s)
        self._last = (float(t_s[-1]), int(seq[-1]))
        return True

    def _check_continues(self, data: pd.DataFrame, source: str) -> None:
        if self._last is None:
            return
        last_t_s, last_seq = self._last
        t_s, seq = float(data[T_S].iloc[0]), int(data[SEQ].iloc[0])
        at = f"row {self.rows_written}"
        if t_s <= last_t_s:
            raise RecordingError(
                f"{source}: t_s must increase from sample to sample but {at} (first of a chunk)"
                f" has t_s={t_s} s after t_s={last_t_s} s"
            )
        if seq <= last_seq:
            raise RecordingError(
                f"{source}: seq must increase from sample to sample but {at} (first of a chunk)"
                f" has seq={seq} after seq={last_seq}"
            )

    def _open(self, data: pd.DataFrame, content: str, source: str) -> None:
        meta_json = meta_to_json(self.meta, content)
        try:
            self._file = open(self.partial_path, "xb")  # noqa: SIM115 (kept open across appends)
        except FileExistsError:
            raise RecordingError(
                f"{self.partial_path}: an unfinished recording is already there; recover it"
                f" with `hipsense recover {self.partial_path}` or delete it"
            ) from None
        except OSError as exc:
            raise RecordingError(f"cannot write {self.partial_path}: {exc.strerror}") from None
        self._columns = [str(c) for c in data.columns]
        if self._format == "csv":
            self._file.write(to_csv_text(data.iloc[:0], meta_json).encode("utf-8"))
        else:
            self._schema = to_table(data.iloc[:0], meta_json, source).schema
            self._zstd = pa.CompressedOutputStream(self._file, "zstd")
            self._ipc = pa.ipc.new_stream(self._zstd, self._schema)

    def _write(self, data: pd.DataFrame, source: str) -> None:
        assert self._file is not None
        if self._ipc is not None:
            schema = self._schema
            assert schema is not None
            try:
                arrays = [pa.array(data[f.name].to_numpy(), type=f.type) for f in schema]
                batch = pa.RecordBatch.from_arrays(arrays, schema=schema)
            except (pa.ArrowException, TypeError, ValueError) as exc:
                raise RecordingError(f"{source}: a chunk cannot be stored: {exc}") from None
            self._write_batch(batch)
            return
        try:
            body = data.to_csv(index=False, header=False, lineterminator="\n", na_rep="")
            self._file.write(body.encode("utf-8"))
            self._file.flush()
        except (TypeError, ValueError) as exc:
            raise RecordingError(f"{source}: a chunk cannot be stored: {exc}") from None
        except OSError as exc:
            raise RecordingError(f"cannot write {self.partial_path}: {exc.strerror}") from None

    def _write_batch(self, batch: pa.RecordBatch) -> None:
        """One record batch into the IPC stream, flushed through the compressor to the OS."""
        assert self._ipc is not None and self._zstd is not None and self._file is not None
        try:
            self._ipc.write_batch(batch)
            self._zstd.flush()
            self._file.flush()
        except pa.ArrowException as exc:
            raise RecordingError(f"{self.partial_path}: a chunk cannot be stored: {exc}") from None
        except OSError as exc:
            raise RecordingError(f"cannot write {self.partial_path}: {exc.strerror}") from None

    def close(self) -> Path | None:
        """Finish the recording: the final file replaces the partial one. Returns its path."""
        if self._closed:
            return None if self._file is None else self.path
        error: RecordingError | None = None
        try:
            self.flush()
        except RecordingError as exc:
            error = exc  # finish what was written, then say why the last rows are missing
        self._closed = True
        if self._file is None:
            if error is not None:
                raise error
            return None
        if self._ipc is not None and self._zstd is not None:
            self._ipc.close()
            self._zstd.close()
        self._file.close()
        _finish(self.partial_path, self.path, tolerate_truncation=False)
        if error is not None:
            raise error
        return self.path

    def discard(self) -> None:
        """Close without finishing: the partial file is deleted and no recording is written
        (an import that failed or was interrupted halfway); at once, whatever was appended."""
        self._closed = True
        self._pending_n = 0
        try:
            if self._ipc is not None and self._zstd is not None:
                with contextlib.suppress(pa.ArrowException, OSError):
                    self._ipc.close()
                    self._zstd.close()
            if self._file is not None:
                self._file.close()
        finally:
            self.partial_path.unlink(missing_ok=True)


def recover_partial(path: str | os.PathLike[str]) -> Path:
    """Turn the ``.partial`` file of an interrupted recorder into a recording; return its path.

    Every chunk written completely is kept; a chunk cut off by the interruption is dropped.
    The recording is written beside it without the ``.partial`` suffix, which must not exist.
    """
    partial = Path(path)
    if not partial.name.endswith(PARTIAL_SUFFIX):
        raise RecordingError(f"{partial}: not a partial recording (no {PARTIAL_SUFFIX} suffix)")
    target = partial.with_name(partial.name[: -len(PARTIAL_SUFFIX)])
    if target.exists():
        raise RecordingError(
            f"{partial}: cannot recover into {target}: that file exists; move one of them"
        )
    if partial.is_file() and partial.stat().st_size == 0:  # stopped before its first chunk
        raise RecordingError(f"{partial}: empty (0 bytes): no sample was written, nothing to "
                             "recover; delete it")  # fmt: skip
    try:
        with open(partial, "rb") as f:
            head = f.read(4)
    except OSError as exc:
        raise RecordingError(f"{partial}: cannot read: {exc.strerror}") from None
    kept = "it is kept as it was"
    if head not in (_IPC_CONTINUATION, _ZSTD_MAGIC) and format_for(target, None) == "parquet":
        raise RecordingError(f"{partial}: not a partial recording hipsense wrote (it does not "
                             f"start as one: damaged, or another file); {kept}")  # fmt: skip
    _finish(partial, target, tolerate_truncation=True, check=_check_recovered)
    return target


def _check_recovered(partial: Path, target: Path) -> None:
    """The recovered ``target`` must read as a recording (its samples too) before ``partial``
    is deleted; else ``target`` goes and ``partial`` stays."""
    from hipsense.recording.chunks import open_chunks  # the reader, loaded only to recover

    try:
        open_chunks(target).extent()
    except RecordingError as exc:
        target.unlink(missing_ok=True)
        raise RecordingError(f"{partial}: not a partial recording that can be recovered "
                             f"({exc}); it is kept as it was") from None  # fmt: skip


def _finish(
    partial: Path,
    target: Path,
    *,
    tolerate_truncation: bool,
    check: Callable[[Path, Path], None] | None = None,
) -> None:
    try:
        with open(partial, "rb") as f:
            head = f.read(4)
    except OSError as exc:
        raise RecordingError(f"{partial}: cannot read: {exc.strerror}") from None
    if head in (_IPC_CONTINUATION, _ZSTD_MAGIC):
        zstd = head == _ZSTD_MAGIC
        atomic_write(target, lambda out: _ipc_to_parquet(partial, out, tolerate_truncation, zstd))
    else:
        atomic_write(target, lambda out: _copy_lines(partial, out, tolerate_truncation))
    if check is not None:
        check(partial, target)
    partial.unlink()


_COPY_BYTES = 1 << 20


def _copy_lines(partial: Path, out: BinaryIO, tolerate_truncation: bool) -> None:
    """Copy the CSV ``partial`` a block at a time (memory bounded at any length); with
    ``tolerate_truncation`` a last line cut off by the interruption is left out."""
    with open(partial, "rb") as f:
        size = f.seek(0, os.SEEK_END)
        if tolerate_truncation:
            size = _after_last_newline(f, size)
        f.seek(0)
        while size > 0:
            block = f.read(min(size, _COPY_BYTES))
            if not block:
                break
            out.write(block)
            size -= len(block)


def _after_last_newline(f: BinaryIO, size: int) -> int:
    """The offset just after the last newline of the first ``size`` bytes of ``f`` (0: none),
    looked for from the end a block at a time."""
    end = size
    while end > 0:
        start = max(0, end - _COPY_BYTES)
        f.seek(start)
        at = f.read(end - start).rfind(b"\n")
        if at >= 0:
            return start + at + 1
        end = start
    return 0


def _ipc_to_parquet(partial: Path, out: BinaryIO, tolerate_truncation: bool, zstd: bool) -> None:
    """Copy the record batches of the partial file (zstd-compressed, or plain as earlier
    hipsense versions wrote it) into the Parquet recording."""
    try:
        source = pa.OSFile(str(partial), "rb")
        reader = pa.ipc.open_stream(pa.CompressedInputStream(source, "zstd") if zstd else source)
    except (pa.ArrowException, OSError) as exc:
        raise RecordingError(f"{partial}: not a readable partial recording: {exc}") from None
    if META_KEY.encode() not in (reader.schema.metadata or {}):
        raise RecordingError(f"{partial}: not a hipsense partial recording (no metadata)")
    write_parquet(reader.schema, _batches(reader, partial, tolerate_truncation), out)


def _batches(
    reader: pa.ipc.RecordBatchStreamReader, partial: Path, tolerate_truncation: bool
) -> Iterator[pa.RecordBatch]:
    while True:
        try:
            yield reader.read_next_batch()
        except StopIteration:
            return
        except (pa.ArrowException, OSError) as exc:
            if tolerate_truncation:
                return  # the chunk being written when the recorder stopped
            raise RecordingError(f"{partial}: damaged partial recording: {exc}") from None

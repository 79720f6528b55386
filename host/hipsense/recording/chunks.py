"""A recording read in chunks: its metadata at once, its samples a checked chunk at a time.

:func:`open_chunks` reads a Parquet file by row batches (within its row groups) and a CSV file
``CHUNK_ROWS`` lines at a time, with the checks and messages of :func:`read_recording`: the
metadata and the columns before any sample, each chunk's values as it is read, and ``seq`` and
``t_s`` increasing across chunk boundaries too. So an analysis that keeps only its results
reads a file of any length in memory bounded by one chunk (docs/recording.md).

A file without hipsense metadata (a user's own CSV or Parquet) has its rate inferred from its
first :data:`~hipsense.recording.rate.RATE_SAMPLES` samples, read once before the chunks, so
it is read in chunks too. :meth:`RecordingChunks.whole` gathers the chunks into a
:class:`Recording` up to :data:`~hipsense.recording.limits.MAX_WHOLE_ROWS` samples (for the
analyses that hold every sample), never more.
"""

from __future__ import annotations

import contextlib
import csv
import os
import re
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

import numpy as np
import pyarrow.parquet as pq

from hipsense.recording import limits
from hipsense.recording.csv_io import META_PREFIX, exact_floats
from hipsense.recording.exceptions import RecordingError
from hipsense.recording.files import PARTIAL_SUFFIX, read_recording
from hipsense.recording.limits import (
    MAX_HEADER_BYTES,
    MAX_META_BYTES,
    PARQUET_MAGIC,
    check_columns_count,
    check_header_width,
    check_meta_size,
)
from hipsense.recording.meta import META_KEY, RecordingMeta, meta_from_json
from hipsense.recording.model import Recording
from hipsense.recording.newlines import lone_cr, open_binary
from hipsense.recording.parquet_io import CHECK_KEY, verify_check
from hipsense.recording.rate import RATE_SAMPLES, infer_rate_hz
from hipsense.recording.schema import (
    ALL_COLUMNS,
    ANGLE_COLUMNS,
    INT_DTYPES,
    SEQ,
    T_S,
    RowLabel,
    check_columns,
    check_increasing,
    checked_values,
    normalise_frame,
    row_label_0,
)

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

CHUNK_ROWS = 65536
"""Rows per chunk: about 6 MB of float64 for an 11-column recording."""
CSV_FIELD_BYTES = 16
"""CSV text read per field of a chunk's rows without pandas (:meth:`RecordingChunks.columns`):
a block of ``chunk_rows`` rows of this many bytes a field holds about ``chunk_rows`` rows (a
raw recording's shortest round-trip floats take 12-20 characters)."""


class TooLongError(RecordingError):
    """A recording longer than an analysis reads whole (:meth:`RecordingChunks.whole`)."""


Columns = dict[str, np.ndarray]
"""A chunk as hipsense column name -> values, with the dtypes of :class:`Recording`."""


class _NotPlain(Exception):
    """The plain reader met something it leaves to the frames' reader (its checks, messages)."""


@dataclass
class RecordingChunks:
    """A recording's metadata and content, and its samples as checked frames in order.

    ``frames()`` yields frames with the columns and dtypes of :class:`Recording`; each call
    reads the file again from its first sample. ``source`` names the file in messages.
    ``columns()`` yields the same samples' hipsense columns as numpy arrays, read without
    pandas where the file allows (``_plain``).
    """

    source: str
    meta: RecordingMeta
    content: str
    _frames: Callable[[], Iterator[pd.DataFrame]]
    _plain: Callable[[], Iterator[Columns]] | None = None

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

    def columns(self) -> Iterator[Columns]:
        """The hipsense columns of :meth:`frames`, chunk by chunk: the same values, checked
        the same way, but read without pandas (pyarrow: no pandas import and a faster reader,
        issue 19) while the file holds only plain numbers. At anything else (a missing value
        outside the angles, text, a bad row, a check that fails) :meth:`frames` reads the file
        again and decides, with its messages; the rows handed out already are skipped."""
        if self._plain is None:
            return (frame_columns(frame) for frame in self.frames())
        return _plain_or_frames(self._plain, self.frames)

    def whole(self, max_rows: int | None = None, why: str = "") -> Recording:
        """The chunks gathered into one :class:`Recording`, refused (:class:`TooLongError`,
        naming the limit) as soon as they hold more than ``max_rows`` samples (default
        :data:`~hipsense.recording.limits.MAX_WHOLE_ROWS`): memory stays bounded by the limit,
        not by the file. ``why`` says who reads it whole (the message)."""
        import pandas as pd  # a recording in memory is a DataFrame; chunks need no pandas

        if max_rows is None:
            max_rows = limits.MAX_WHOLE_ROWS
        parts: list[pd.DataFrame] = []
        n = 0
        frames = self.frames()
        try:
            for frame in frames:
                n += len(frame)
                if n > max_rows:
                    raise TooLongError(
                        f"{self.source}: more than {max_rows} samples"
                        f"{_minutes(max_rows, self.meta.rate_hz)}; {why or 'it is read whole'}"
                        " up to that many: split the recording into its sessions (a walk is"
                        " read in chunks, at any length)"
                    )
                parts.append(frame)
        finally:
            close_iterator(frames)
        if not parts:
            raise RecordingError(f"{self.source}: empty recording: the file has no samples")
        return Recording(self.meta, pd.concat(parts, ignore_index=True))

    def extent(self) -> tuple[int, float]:
        """The number of samples and the time they cover (as :attr:`Recording.duration_s`),
        read a checked chunk at a time: memory bounded by one chunk at any length."""
        import pandas as pd  # its chunks are frames (the module loads pandas only when used)

        n = 0
        ends: list[pd.DataFrame] = []
        frames = self.frames()
        try:
            for frame in frames:
                if len(frame):
                    n += len(frame)
                    ends = [ends[0] if ends else frame.iloc[:1].copy(), frame.iloc[-1:].copy()]
        finally:
            close_iterator(frames)
        if not ends:
            return 0, 0.0
        return n, Recording(self.meta, pd.concat(ends, ignore_index=True)).duration_s


def frame_columns(frame: pd.DataFrame) -> Columns:
    """A checked frame's hipsense columns as numpy arrays."""
    return {name: frame[name].to_numpy() for name in ALL_COLUMNS if name in frame.columns}


def _plain_or_frames(
    plain: Callable[[], Iterator[Columns]], frames: Callable[[], Iterator[pd.DataFrame]]
) -> Iterator[Columns]:
    n = 0
    chunks = plain()
    try:
        for columns in chunks:
            n += len(columns[T_S])
            yield columns
        return
    except _NotPlain:
        pass
    finally:
        close_iterator(chunks)
    skip = n  # read again by the frames' reader: its checks and messages decide
    again = frames()
    try:
        for frame in again:
            if skip >= len(frame):
                skip -= len(frame)
                continue
            columns = frame_columns(frame)
            yield {name: values[skip:] for name, values in columns.items()} if skip else columns
            skip = 0
    finally:
        close_iterator(again)


def _plain_checked(columns: Columns, last: Columns | None, source: str, where: RowLabel) -> Columns:
    """A plain chunk checked as :func:`normalise_frame` and :func:`checked_frames` check a
    frame (the same functions), in canonical dtypes; any problem: :class:`_NotPlain`."""
    try:
        out = {name: checked_values(v, name, source, where) for name, v in columns.items()}
        check_increasing(out[SEQ], SEQ, "", source, where)
        check_increasing(out[T_S], T_S, " s", source, where)
        if last is not None:
            for name in (SEQ, T_S):
                check_increasing(np.array([last[name][-1], out[name][0]]), name, "", source, where)
    except RecordingError:
        raise _NotPlain from None
    return out


def _plain_arrays(batch: pa.RecordBatch, names: list[str]) -> Columns:
    """A record batch's columns as numpy arrays: numbers only, missing values only in the
    angles (as NaN); anything else :class:`_NotPlain`."""
    import pyarrow as pa

    out: Columns = {}
    for name in names:
        column = batch.column(name)
        kind = column.type
        floating = pa.types.is_floating(kind)
        if not (floating or pa.types.is_integer(kind)):
            raise _NotPlain
        if column.null_count and not (floating and name in ANGLE_COLUMNS):
            raise _NotPlain
        out[name] = _numbers(
            column, "f" if floating else "u" if pa.types.is_unsigned_integer(kind) else "i"
        )
    return out


def _numbers(column: pa.Array, kind: str) -> np.ndarray:
    """A numeric arrow array's values from its buffers (``to_numpy`` would load pandas), its
    nulls as NaN (a float array)."""
    n = len(column)
    validity, data = column.buffers()[:2]
    dtype = np.dtype(f"<{kind}{column.type.bit_width // 8}")
    values = np.frombuffer(data, dtype=dtype, count=n, offset=column.offset * dtype.itemsize)
    if column.null_count:
        bits = np.unpackbits(np.frombuffer(validity, dtype=np.uint8), bitorder="little")
        values = np.where(bits[column.offset : column.offset + n] == 1, values, np.nan)
    return values


def _csv_batches(
    f: BinaryIO, header: list[str], types: Mapping[str, type[np.generic]], block_bytes: int
) -> Iterator[pa.RecordBatch]:
    """The CSV body from ``f`` as record batches, ``block_bytes`` of whole lines at a time,
    each parsed by pyarrow on this thread into one batch: memory holds one block (arrow's
    streaming reader reads ahead on a thread of its own: a peak of 566 MiB for 10 h of raw
    CSV, 252 MiB for 1 h). A blank line is a row of nulls (so not plain); pyarrow's errors
    surface when the batches are taken."""
    import pyarrow as pa
    from pyarrow import csv as pa_csv

    read = pa_csv.ReadOptions(
        column_names=header, use_threads=False, block_size=block_bytes + (1 << 20)
    )
    parse = pa_csv.ParseOptions(ignore_empty_lines=False)
    convert = pa_csv.ConvertOptions(
        column_types={n: pa.from_numpy_dtype(t) for n, t in types.items()},
        include_columns=list(types),
    )
    tail = b""
    while True:
        block = f.read(block_bytes)
        text = tail + block
        cut = len(text) if not block else _after_last_line(text)
        tail = text[cut:]
        if cut:
            table = pa_csv.read_csv(pa.py_buffer(memoryview(text)[:cut]), read, parse, convert)
            yield from table.to_batches()
        if not block:
            return


def _after_last_line(text: bytes) -> int:
    """Where the block's whole lines end: after its last LF; in a block without one (lines
    ending in CR alone after a header ending in LF) after its last CR, unless that CR is the
    block's last byte (an LF may follow in the next block); 0 when no line ends in it."""
    cut = text.rfind(b"\n") + 1
    if cut:
        return cut
    return text.rfind(b"\r", 0, len(text) - 1) + 1


def _plain_chunks(
    batches: Iterator[pa.RecordBatch], names: list[str], source: str
) -> Iterator[Columns]:
    last: Columns | None = None
    while True:
        try:
            batch = next(batches)
        except StopIteration:
            break
        except Exception:  # pyarrow raises many types: the frames' reader says what it is
            raise _NotPlain from None
        if batch.num_rows == 0:
            continue
        columns = _plain_checked(_plain_arrays(batch, names), last, source, row_label_0)
        last = columns
        yield columns
    if last is None:
        raise _NotPlain  # no samples: the frames' reader says so


def close_iterator(iterator: Iterator[object]) -> None:
    """Close a generator left before its end (its open file closes now, not when collected)."""
    close = getattr(iterator, "close", None)
    if callable(close):
        close()


def strict_chunks(reader: Iterator[pd.DataFrame], source: str) -> Iterator[pd.DataFrame]:
    """A pandas chunk reader's chunks, but a first row with more fields than the header is
    an error: pandas (``index_col=False``) only warns and drops its extra fields, so a
    decimal comma there would shift the values after it (a later such row is a ParserError)."""
    import pandas as pd

    while True:
        with warnings.catch_warnings():
            warnings.simplefilter("error", pd.errors.ParserWarning)
            try:
                chunk = next(reader)
            except StopIteration:
                return
            except pd.errors.ParserWarning:
                raise RecordingError(
                    f"{source}: the first row has more fields than the header (a decimal comma"
                    " or a stray separator?)"
                ) from None
        yield chunk


def _minutes(rows: int, rate_hz: float) -> str:
    minutes = rows / rate_hz / 60.0
    return f" ({minutes:.0f} min at {rate_hz:g} Hz)" if 1.0 <= minutes < 1e6 else ""


def inferred_rate_chunks(
    source: str, content: str, frames: Callable[[], Iterator[pd.DataFrame]]
) -> RecordingChunks:
    """Chunks of a file without hipsense metadata: its rate inferred (as
    :func:`~hipsense.recording.files.read_recording` does) from the first
    :data:`RATE_SAMPLES` samples, read once now; ``frames`` makes a fresh checked iterator."""
    t_parts: list[np.ndarray] = []
    seq_parts: list[np.ndarray] = []
    n = 0
    head = frames()
    try:
        for frame in head:
            t_parts.append(frame[T_S].to_numpy()[: RATE_SAMPLES - n])
            seq_parts.append(frame[SEQ].to_numpy()[: RATE_SAMPLES - n])
            n += len(t_parts[-1])
            if n >= RATE_SAMPLES:
                break
    finally:
        close_iterator(head)
    rate_hz = infer_rate_hz(np.concatenate(t_parts), np.concatenate(seq_parts), source)
    return RecordingChunks(source, RecordingMeta(rate_hz=rate_hz), content, frames)


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


def open_any_chunks(
    path: str | os.PathLike[str],
    column_map: Mapping[str, str] | None = None,
    rate_hz: float | None = None,
    *,
    test: str | None = None,
) -> RecordingChunks:
    """A hipsense recording (:func:`open_chunks`), or with ``column_map`` another tool's CSV
    (:func:`~hipsense.recording.importer.open_foreign_chunks`, stamped with ``test``): the one
    way ``analyze``, ``report`` and ``batch`` open a file. ``rate_hz`` applies only to a
    foreign CSV: given without a map it is refused, never ignored."""
    if column_map is None and rate_hz is None:
        return open_chunks(path)  # without pandas (the importer's reader needs it)
    from hipsense.recording.importer import ForeignFileError, open_foreign_chunks

    if column_map is None:  # a rate without a map
        raise ForeignFileError("--rate-hz applies only to a foreign CSV read with --column-map")
    return open_foreign_chunks(Path(path), column_map, rate_hz, test=test)


def checked_frames(
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
        with contextlib.closing(pq.ParquetFile(target)) as parquet:
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

    def raw() -> Iterator[pd.DataFrame]:  # the file opened again at each pass
        try:
            parquet = pq.ParquetFile(target, page_checksum_verification=True)
        except Exception as exc:
            raise damaged(exc) from None
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

    def frames() -> Iterator[pd.DataFrame]:
        return checked_frames(raw(), source, _row_from)

    if raw_meta is None:  # e.g. DataFrame.to_parquet: the rate from the first samples
        return inferred_rate_chunks(source, check_columns(list(schema.names), source), frames)
    try:
        meta_json = raw_meta.decode("utf-8")
    except UnicodeDecodeError:
        raise RecordingError(
            f"{source}: the recording metadata is not UTF-8 text; the file is damaged"
        ) from None
    meta, stored_content = meta_from_json(meta_json, source)
    content = _content(list(schema.names), stored_content, source)
    names = [name for name in ALL_COLUMNS if name in schema.names]

    def plain() -> Iterator[Columns]:
        try:
            parquet = pq.ParquetFile(target, page_checksum_verification=True)
        except Exception:
            raise _NotPlain from None
        with contextlib.closing(parquet):
            # every column read, as frames() reads them: a damaged page anywhere is its error
            batches = parquet.iter_batches(batch_size=rows, use_threads=False)
            yield from _plain_chunks(batches, names, source)

    return RecordingChunks(source, meta, content, frames, plain)


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
        with open(target, "rb") as probe:
            cr_lines = lone_cr(probe)  # lines ending in CR alone: read as LF, in blocks
        with open_binary(target, cr_lines) as f:
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
    if header_line is None:
        return RecordingChunks.of(read_recording(target), rows)  # its message
    if meta_json is not None:
        check_meta_size(meta_json, source)
    header = _header(header_line, line_no, source)
    first_data_line = line_no + 1

    def raw() -> Iterator[pd.DataFrame]:
        import pandas as pd

        with open_binary(target, cr_lines) as f:
            f.seek(body_at)
            try:
                reader = pd.read_csv(
                    f,
                    header=None,
                    names=header,
                    index_col=False,
                    chunksize=rows,
                    **exact_floats(),  # type: ignore[arg-type]
                    skip_blank_lines=False,
                    skipinitialspace=True,
                    encoding="utf-8",
                )
                with reader:
                    yield from strict_chunks(reader, source)
            except (ValueError, pd.errors.ParserError) as exc:  # UnicodeDecodeError included
                # pandas counts lines from the first one it read: the line after the header
                message = re.sub(r"line (\d+)", lambda m: f"line {int(m[1]) + line_no}", str(exc))
                raise RecordingError(f"{source}: not a readable CSV recording: {message}") from None

    def label(offset: int) -> RowLabel:
        return lambda i: f"line {first_data_line + offset + i}"

    def frames() -> Iterator[pd.DataFrame]:
        return checked_frames(raw(), source, label)

    if meta_json is None:  # the user's own CSV: the rate from the first samples
        return inferred_rate_chunks(source, check_columns(header, source), frames)
    meta, stored_content = meta_from_json(meta_json, source)
    content = _content(header, stored_content, source)
    names = [name for name in ALL_COLUMNS if name in header]
    types = {name: INT_DTYPES.get(name, np.float64) for name in names}
    block_bytes = max(1 << 16, rows * len(header) * CSV_FIELD_BYTES)

    def plain() -> Iterator[Columns]:
        with open_binary(target, cr_lines) as f:
            f.seek(body_at)
            yield from _plain_chunks(_csv_batches(f, header, types, block_bytes), names, source)

    return RecordingChunks(source, meta, content, frames, plain)


def _header(header_line: str, line_no: int, source: str) -> list[str]:
    try:
        header = [h.strip() for h in next(csv.reader([header_line]))]
    except csv.Error as exc:
        raise RecordingError(f"{source}: line {line_no}: unreadable header: {exc}") from None
    check_header_width(header, source)
    return header

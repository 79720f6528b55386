"""CSV files whose lines end in a lone CR (classic Mac OS, some old spreadsheet exports).

The CSV readers split lines on LF; a file whose lines end in CR alone has none, so it would be
one endless first line. :func:`lone_cr` tells such a file by its first line ending, read a
block at a time within the metadata and header limits, and :func:`open_binary` then reads it
with every CR as LF: one byte for one, so offsets (``tell``/``seek``) stay those of the file,
and nothing is held beyond the reader's own buffer.
"""

from __future__ import annotations

import io
import os
from typing import BinaryIO

from hipsense.recording.limits import MAX_HEADER_BYTES, MAX_META_BYTES

_CR_AS_LF = bytes.maketrans(b"\r", b"\n")
_PROBE_BYTES = 1 << 16


def lone_cr(f: BinaryIO) -> bool:
    """Whether the first line ending of ``f`` (from its start) is a CR not followed by LF;
    ``f`` is left at its start."""
    f.seek(0)
    try:
        seen = 0
        while seen <= MAX_META_BYTES + MAX_HEADER_BYTES:
            block = f.read(_PROBE_BYTES)
            if not block:
                return False
            seen += len(block)
            cr, lf = block.find(b"\r"), block.find(b"\n")
            if lf >= 0 and (cr < 0 or lf < cr):
                return False
            if cr >= 0:
                after = block[cr + 1 : cr + 2] or f.read(1)
                return after != b"\n"
        return False
    finally:
        f.seek(0)


class _CrAsLf(io.RawIOBase):
    """A binary file read with each CR byte as LF (same length: positions unchanged)."""

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        return self._raw.seek(offset, whence)

    def tell(self) -> int:
        return self._raw.tell()

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        view = memoryview(buffer).cast("B")
        data = self._raw.read(len(view))
        view[: len(data)] = data.translate(_CR_AS_LF)
        return len(data)

    def close(self) -> None:
        self._raw.close()
        super().close()


def open_binary(path: str | os.PathLike[str], cr_lines: bool) -> BinaryIO:
    """``path`` opened for reading bytes; with ``cr_lines`` (:func:`lone_cr`) every CR reads
    as LF."""
    f = open(path, "rb")  # noqa: SIM115 (returned open: the caller's ``with`` closes it)
    if not cr_lines:
        return f
    return io.BufferedReader(_CrAsLf(f))

"""USB serial framing (docs/protocol.md "USB serial"): ``COBS(frame + crc16 LE) + 0x00``.

A lost, flipped or inserted byte damages only the frame it falls in; the deframer
resynchronises at the next 0x00 and counts what it dropped.
"""

from __future__ import annotations

import binascii

from hipsense.link.protocol.constants import MAX_FRAME_SIZE

CRC_SIZE = 2
MIN_DECODED_SIZE = 2 + CRC_SIZE  # version + type + CRC


def crc16(data: bytes | bytearray | memoryview, crc: int = 0xFFFF) -> int:
    """CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection, no final XOR)."""
    return binascii.crc_hqx(data, crc)


def max_encoded_size(frame_size: int) -> int:
    """Bytes on the wire for a frame of ``frame_size`` bytes: CRC, COBS code bytes, 0x00."""
    n = frame_size + CRC_SIZE
    return n + n // 254 + 2


def cobs_encode(data: bytes) -> bytes:
    """COBS-encode ``data`` (no delimiter); same byte layout as ``firmware/cobs.py``."""
    out = bytearray(b"\x00")
    code_at = 0
    code = 1
    for byte in data:
        if byte == 0:
            out[code_at] = code
            code_at = len(out)
            out.append(0)
            code = 1
            continue
        out.append(byte)
        code += 1
        if code == 0xFF:
            out[code_at] = code
            code_at = len(out)
            out.append(0)
            code = 1
    out[code_at] = code
    return bytes(out)


def cobs_decode(chunk: bytes) -> bytes | None:
    """Decode one COBS chunk (without its 0x00); None when the encoding is invalid."""
    out = bytearray()
    i = 0
    n = len(chunk)
    while i < n:
        code = chunk[i]
        if code == 0 or i + code > n:
            return None
        out += chunk[i + 1 : i + code]
        i += code
        if code < 0xFF and i < n:
            out.append(0)
    return bytes(out)


def serial_encode(frame_bytes: bytes) -> bytes:
    """``COBS(frame + crc16 LE) + 0x00``: one frame as sent over serial."""
    crc = crc16(frame_bytes)
    return cobs_encode(frame_bytes + bytes((crc & 0xFF, crc >> 8))) + b"\x00"


class SerialDeframer:
    """Splits a serial byte stream into good frames (CRC checked, without the CRC).

    Counters: ``frames_ok``; ``crc_errors`` (well-formed COBS, wrong CRC); ``framing_errors``
    (invalid COBS, shorter than 4 decoded bytes, or longer than the largest frame);
    ``bytes_discarded`` (bytes of dropped chunks, delimiters not counted). An empty chunk
    (0x00 0x00, a resync filler) is ignored.
    """

    def __init__(self, max_frame_size: int = MAX_FRAME_SIZE) -> None:
        self._max_chunk = max_encoded_size(max_frame_size) - 1
        self._max_decoded = max_frame_size + CRC_SIZE
        self._pending = bytearray()
        self._overlong = False
        self.frames_ok = 0
        self.crc_errors = 0
        self.framing_errors = 0
        self.bytes_discarded = 0

    @property
    def buffered(self) -> int:
        """Bytes received after the last 0x00, waiting for the end of their frame."""
        return len(self._pending)

    def feed(self, data: bytes | bytearray | memoryview) -> list[bytes]:
        """Add received bytes; returns the frames they completed, in order."""
        frames: list[bytes] = []
        *complete, rest = bytes(data).split(b"\x00")
        for part in complete:
            chunk = bytes(self._pending) + part
            overlong = self._overlong
            self._pending.clear()
            self._overlong = False
            frame = self._check(chunk, overlong)
            if frame is not None:
                frames.append(frame)
        self._pending += rest
        if len(self._pending) > self._max_chunk:
            # Too long to be a frame: keep only the fact, resync at the next 0x00.
            self.bytes_discarded += len(self._pending)
            self._pending.clear()
            self._overlong = True
        return frames

    def _check(self, chunk: bytes, overlong: bool) -> bytes | None:
        if not chunk and not overlong:
            return None
        if overlong or len(chunk) > self._max_chunk:
            self.framing_errors += 1
            self.bytes_discarded += len(chunk)
            return None
        decoded = cobs_decode(chunk)
        if decoded is None or not MIN_DECODED_SIZE <= len(decoded) <= self._max_decoded:
            self.framing_errors += 1
            self.bytes_discarded += len(chunk)
            return None
        body = decoded[:-CRC_SIZE]
        if crc16(body) != int.from_bytes(decoded[-CRC_SIZE:], "little"):
            self.crc_errors += 1
            self.bytes_discarded += len(chunk)
            return None
        self.frames_ok += 1
        return body

"""Serial framing (board side): ``COBS(frame + crc16 LE) + 0x00``, see docs/protocol.md.

CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection, no final XOR) and COBS
(Cheshire & Baker 1999). Encoding and deframing run as viper code on preallocated buffers and
allocate nothing (tests/test_protocol_firmware.py). Viper ints are 32-bit on the ESP32: every
intermediate value here is below 2**17 (a CRC register shifted left by one, byte values,
buffer indices, decoded lengths capped by the buffer), so nothing overflows, however long the
input runs without a 0x00.
"""

from array import array

import micropython
from micropython import const

MAX_FRAME_SIZE = const(244)  # docs/protocol.md: the largest frame (BLE MTU 247 - 3)
_CRC_SIZE = const(2)
# COBS adds one code byte per started block of 254 bytes, plus the 0x00 delimiter.
MAX_ENCODED_SIZE = const(MAX_FRAME_SIZE + _CRC_SIZE + (MAX_FRAME_SIZE + _CRC_SIZE) // 254 + 2)
_MIN_DECODED_SIZE = const(4)  # version + type + CRC

# Deframer state slots (array('i')).
_POS = const(0)  # decoded bytes written
_REM = const(1)  # data bytes still expected in the current COBS block
_ZERO = const(2)  # 1 when the current block ends in an implied 0x00
_BAD = const(3)  # 1 when the current chunk is already known to be broken
_SEEN = const(4)  # 1 once the current chunk has any byte
_EVENT = const(5)  # what the last scan ended with (below)
_START = const(6)  # where the next scan starts (keeps _scan at 4 viper arguments)
_N_STATE = const(7)

_EV_NONE = const(0)  # input exhausted inside a chunk
_EV_EMPTY = const(1)  # a 0x00 with nothing before it (resync filler): ignored
_EV_CHUNK = const(2)  # a well-formed COBS chunk, decoded; CRC still to check
_EV_BAD = const(3)  # a broken chunk (bad COBS, too short or too long)


@micropython.viper
def _crc16(buf, n: int, crc: int) -> int:
    p = ptr8(buf)  # noqa: F821 (viper built-in)
    i = 0
    while i < n:
        crc ^= p[i] << 8
        j = 0
        while j < 8:
            crc = (((crc << 1) ^ 0x1021) if crc & 0x8000 else (crc << 1)) & 0xFFFF
            j += 1
        i += 1
    return crc


def crc16(buf, n, crc=0xFFFF):
    """CRC-16/CCITT-FALSE of ``buf[:n]``, continuing from ``crc``."""
    if not 0 <= n <= len(buf):  # viper pointers are not bounds-checked
        raise ValueError("n outside the buffer")
    return _crc16(buf, n, crc)


@micropython.viper
def _encode(src, n: int, dst, crc: int) -> int:
    s = ptr8(src)  # noqa: F821 (viper built-in)
    d = ptr8(dst)  # noqa: F821 (viper built-in)
    code_at = 0
    out = 1
    code = 1
    total = n + 2
    i = 0
    while i < total:
        if i < n:
            b = s[i]
        elif i == n:
            b = crc & 0xFF
        else:
            b = crc >> 8
        if b == 0:
            d[code_at] = code
            code_at = out
            out += 1
            code = 1
        else:
            d[out] = b
            out += 1
            code += 1
            if code == 0xFF:
                d[code_at] = code
                code_at = out
                out += 1
                code = 1
        i += 1
    d[code_at] = code
    d[out] = 0
    return out + 1


def encode_frame(src, n, dst):
    """Write ``COBS(src[:n] + crc16 LE) + 0x00`` into ``dst``; returns the encoded length.

    ``dst`` must hold ``n + 2 + (n + 2) // 254 + 2`` bytes (``MAX_ENCODED_SIZE`` for any frame).
    """
    if not 0 <= n <= len(src):  # viper pointers are not bounds-checked
        raise ValueError("n outside the buffer")
    if n > MAX_FRAME_SIZE or len(dst) < n + _CRC_SIZE + (n + _CRC_SIZE) // 254 + 2:
        raise ValueError("frame too long for serial framing")
    return _encode(src, n, dst, _crc16(src, n, 0xFFFF))


@micropython.viper
def _scan(st, out, src, n: int) -> int:
    """Decode ``src[st[_START]:n]`` into ``out`` up to the 0x00 ending a chunk; next index."""
    s = ptr32(st)  # noqa: F821 (viper built-in)
    d = ptr8(out)  # noqa: F821 (viper built-in)
    b = ptr8(src)  # noqa: F821 (viper built-in)
    cap = int(len(out))  # noqa: RUF046 (viper: object -> machine int)
    pos = s[_POS]
    rem = s[_REM]
    zero = s[_ZERO]
    bad = s[_BAD]
    seen = s[_SEEN]
    event = _EV_NONE
    i = s[_START]
    while i < n:
        c = b[i]
        i += 1
        if c == 0:
            if seen == 0:
                event = _EV_EMPTY
            elif bad or rem != 0 or pos < _MIN_DECODED_SIZE:
                event = _EV_BAD
            else:
                event = _EV_CHUNK
            break
        seen = 1
        if bad:
            continue
        if rem == 0:
            # A code byte: the previous block's implied zero is real since data follows.
            if zero:
                if pos >= cap:
                    bad = 1
                    continue
                d[pos] = 0
                pos += 1
            rem = c - 1
            zero = 1 if c < 0xFF else 0
        else:
            if pos >= cap:
                bad = 1
                continue
            d[pos] = c
            pos += 1
            rem -= 1
    s[_EVENT] = event
    if event == _EV_NONE:
        s[_POS] = pos
        s[_REM] = rem
        s[_ZERO] = zero
        s[_BAD] = bad
        s[_SEEN] = seen
    else:
        s[_POS] = pos
        s[_REM] = 0
        s[_ZERO] = 0
        s[_BAD] = 0
        s[_SEEN] = 0
    return i


class Deframer:
    """Collects serial bytes into frames: COBS-decodes and CRC-checks each chunk ending in 0x00.

    After ``feed``/``feed_byte`` reports a frame, ``frame[:length]`` holds it (without the CRC)
    until the next call. Broken chunks are dropped and counted in ``crc_errors`` and
    ``framing_errors``; an empty chunk (0x00 0x00) is a harmless resync and not counted.
    """

    def __init__(self, max_frame=MAX_FRAME_SIZE):
        self._out = bytearray(max_frame + _CRC_SIZE)
        self.frame = memoryview(self._out)
        self.length = 0
        self.crc_errors = 0
        self.framing_errors = 0
        self.frames_ok = 0
        self._st = array("i", [0] * _N_STATE)
        self._one = bytearray(1)

    def feed(self, buf, n, start=0):
        """Process ``buf[start:n]`` up to the end of the first good frame; returns the next index.

        ``length`` is the frame's length when one completed (0 otherwise). Call again from the
        returned index until it equals ``n``.
        """
        self.length = 0
        if not 0 <= start <= n <= len(buf):  # viper pointers are not bounds-checked
            raise ValueError("start/n outside the buffer")
        st = self._st
        out = self._out
        while start < n:
            st[_START] = start
            start = _scan(st, out, buf, n)
            event = st[_EVENT]
            if event == _EV_CHUNK:
                size = st[_POS] - _CRC_SIZE
                st[_POS] = 0
                if _crc16(out, size, 0xFFFF) == out[size] | (out[size + 1] << 8):
                    self.length = size
                    self.frames_ok += 1
                    return start
                self.crc_errors += 1
            elif event == _EV_BAD:
                st[_POS] = 0
                self.framing_errors += 1
            elif event == _EV_EMPTY:
                st[_POS] = 0
        return start

    def feed_byte(self, b):
        """Process one byte; returns True when it completed a good frame (see ``length``)."""
        self._one[0] = b
        self.feed(self._one, 1, 0)
        return self.length > 0

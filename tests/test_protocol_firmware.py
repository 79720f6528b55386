"""Firmware encoder and serial framing under the real MicroPython unix port.

Allocation-freedom of the per-sample path (``heap_lock`` plus a ``gc.mem_alloc`` delta, which
also catches allocations that a locked heap would silently route elsewhere) and agreement of
the firmware's COBS/CRC with the host's on random data, clean and damaged.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hipsense.link.protocol.serial_framing import SerialDeframer, cobs_encode, crc16, serial_encode

_HOT_SETUP = """
import gc, micropython
from heapcheck import alloc_error
import protocol as P
import cobs
buf = bytearray(P.MAX_FRAME_SIZE)
ser = bytearray(cobs.MAX_ENCODED_SIZE)
d = cobs.Deframer()
ACC = 0.000598
GYR = 0.0305
def hot(k):
    seq = (k - 4) & P.SEQ_MASK  # wraps at 2**30 from k = 4 (no int above 2**30: ESP32)
    n = P.pack_samples_header(buf, P.FLAG_RAW, 12, seq, seq)
    for i in range(12):
        n = P.pack_sample_raw(buf, n, i - 32768, -i, i, 32767, -1, 0, i, -i, 7)
    n = P.pack_samples_header(buf, 0, 38, seq, 0)
    for i in range(38):
        n = P.pack_sample(buf, n, P.ANGLE_NONE, i, -i)
    m = cobs.encode_frame(buf, n, ser)
    j = 0
    while j < m:
        j = d.feed(ser, m, j)
    d.feed_byte(0)
    for j in range(m):
        d.feed_byte(ser[j])
    P.pack_marker(buf, 3, seq)
    P.pack_status(buf, 1, 90, 3900, 1, 0, 100, seq, 0, 0, 0, 1234, 56)
    P.pack_config(buf, 1, 1, 100, 100, ACC, GYR, 1234, 3)
    return m

def run_locked(k):
    return alloc_error(lambda: hot(k))
"""


def test_per_sample_and_per_frame_paths_do_not_allocate(mpy) -> None:
    out = mpy(
        _HOT_SETUP
        + """
hot(0)
errors = [run_locked(k) for k in range(8)]
gc.collect()
gc.disable()
before = gc.mem_alloc()
for k in range(50):
    hot(k)
delta = gc.mem_alloc() - before
gc.enable()
print(sum(1 for e in errors if e is not None), delta, d.frames_ok, d.crc_errors, d.framing_errors)
"""
    )
    locked_failures, delta, frames_ok, crc_errors, framing_errors = map(int, out.split())
    assert locked_failures == 0, "an encoder or framing call allocated under heap_lock"
    assert delta == 0, f"{delta} bytes allocated over 50 frames"
    assert (frames_ok, crc_errors, framing_errors) == (2 * 59, 0, 0)


def test_heap_lock_proof_detects_an_allocation(mpy) -> None:
    """The harness itself: a path that allocates is caught (so the test above can fail)."""
    out = mpy(
        _HOT_SETUP
        + """
def hot(k):
    return bytes(buf[:4])
print(run_locked(0) is not None)
"""
    )
    assert out.strip() == "True"


def _random_frames(rng: random.Random, n: int) -> list[bytes]:
    frames = []
    for _ in range(n):
        size = rng.choice([2, 3, 4, rng.randint(2, 244), 243, 244])
        zero_share = rng.choice([0.0, 0.05, 0.5, 1.0])
        frames.append(
            bytes(0 if rng.random() < zero_share else rng.randint(1, 255) for _ in range(size))
        )
    return frames


def _damage(rng: random.Random, stream: bytes, events: int) -> bytes:
    data = bytearray(stream)
    for _ in range(events):
        i = rng.randrange(len(data))
        action = rng.choice(["drop", "flip", "dup", "insert"])
        if action == "drop":
            del data[i]
        elif action == "flip":
            data[i] ^= 1 << rng.randrange(8)
        elif action == "dup":
            data.insert(i, data[i])
        else:
            data.insert(i, rng.randrange(256))
    return bytes(data)


_MPY_AGREE = """
from binascii import hexlify, unhexlify
import cobs
ser = bytearray(cobs.MAX_ENCODED_SIZE)
lines = open(PATH).read().split()
frames = [unhexlify(h) for h in lines[:-1]]
for f in frames:
    m = cobs.encode_frame(f, len(f), ser)
    print(cobs.crc16(f, len(f)), hexlify(ser[:m]).decode())
stream = unhexlify(lines[-1])
d = cobs.Deframer()
i = 0
got = []
while i < len(stream):
    i = d.feed(stream, len(stream), i)
    if d.length:
        got.append(hexlify(d.frame[:d.length]).decode())
print("DEFRAMED", d.frames_ok, d.crc_errors, d.framing_errors, " ".join(got))
"""


@pytest.mark.parametrize("seed", [1, 2])
def test_firmware_cobs_crc_and_deframer_agree_with_host(mpy, tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    frames = _random_frames(rng, 120)
    stream = b"".join(serial_encode(f) for f in frames)
    damaged = _damage(rng, stream, 25) if seed == 2 else b"\x00" + stream
    data = tmp_path / "frames.txt"
    data.write_text("\n".join(f.hex() for f in [*frames, damaged]))
    out = mpy(f"PATH = {str(data)!r}\n" + _MPY_AGREE, heapsize="4M").splitlines()
    for frame, line in zip(frames, out[:-1], strict=True):
        crc, encoded = line.split(" ")
        assert int(crc) == crc16(frame)
        assert bytes.fromhex(encoded) == serial_encode(frame)
    _, ok, crc_errors, framing_errors, *got = out[-1].split(" ")
    host = SerialDeframer()
    expected = host.feed(damaged)
    assert [bytes.fromhex(g) for g in got if g] == expected
    assert (int(ok), int(crc_errors), int(framing_errors)) == (
        host.frames_ok,
        host.crc_errors,
        host.framing_errors,
    )
    if seed == 1:
        assert expected == frames and host.crc_errors + host.framing_errors == 0
    else:
        assert host.crc_errors + host.framing_errors > 0 and len(expected) < len(frames)


def test_firmware_cobs_blocks_longer_than_254_bytes_match_host(mpy) -> None:
    """Frames never exceed 244 bytes, but the encoder's 0xFF-block path must still be right."""
    cases = [bytes(range(1, 256)) * 2, bytes([7]) * 254, bytes([7]) * 253 + b"\x00", bytes(300)]
    out = mpy(
        "from binascii import hexlify, unhexlify\nimport cobs\n"
        f"cases = {[c.hex() for c in cases]!r}\n"
        "dst = bytearray(700)\n"
        "for h in cases:\n"
        "    src = unhexlify(h)\n"
        "    crc = cobs.crc16(src, len(src))\n"
        "    m = cobs._encode(src, len(src), dst, crc)\n"
        "    d = cobs.Deframer(600)\n"
        "    d.feed(dst, m)\n"
        "    same = d.length == len(src) and bytes(d.frame[:d.length]) == src\n"
        "    print(hexlify(dst[:m]).decode(), same)\n"
    ).splitlines()
    for case, line in zip(cases, out, strict=True):
        encoded, roundtrip = line.split(" ")
        c = crc16(case)
        assert bytes.fromhex(encoded) == cobs_encode(case + bytes((c & 0xFF, c >> 8))) + b"\x00"
        assert roundtrip == "True"


def test_firmware_deframer_counts_and_resyncs(mpy) -> None:
    out = mpy(
        """
import cobs
d = cobs.Deframer()
good = bytearray(cobs.MAX_ENCODED_SIZE)
m = cobs.encode_frame(b"\\x01\\x06\\x00\\x00\\x05\\x00\\x00\\x00", 8, good)
def feed(data):
    n = 0
    i = 0
    while i < len(data):
        i = d.feed(data, len(data), i)
        if d.length:
            n += 1
    return n
bad_crc = bytearray(good[:m]); bad_crc[1] ^= 0x40
print(feed(bytes(good[:m]) + b"\\x00\\x00" + bytes(good[:m])), d.crc_errors, d.framing_errors)
print(feed(bytes(bad_crc) + bytes(good[:m])), d.crc_errors, d.framing_errors)
print(feed(b"\\x05\\x01\\x00" + bytes(good[:m])), d.crc_errors, d.framing_errors)
print(feed(b"\\x02\\x01\\x00"), d.crc_errors, d.framing_errors)
print(feed(b"\\x07" * 600 + b"\\x00" + bytes(good[:m])), d.crc_errors, d.framing_errors)
print(d.frames_ok)
for call in (
    lambda: cobs.encode_frame(bytearray(245), 245, bytearray(300)),
    lambda: cobs.encode_frame(bytearray(10), 11, bytearray(300)),
    lambda: cobs.crc16(b"abc", 4),
    lambda: d.feed(b"abc", 4),
    lambda: d.feed(b"abc", 3, 4),
):
    try:
        call()
    except ValueError as e:
        print("ValueError:", e)
"""
    ).splitlines()
    assert out == [
        "2 0 0",  # two good frames, the empty chunk between them is a harmless resync
        "1 1 0",  # a flipped bit costs that frame only
        "1 1 1",  # COBS code pointing past the chunk end: framing error
        "0 1 2",  # a chunk shorter than header + CRC
        "1 1 3",  # an over-long run without 0x00 is one framing error, then resync
        "5",
        "ValueError: frame too long for serial framing",
        # viper pointers are unchecked: the Python wrappers refuse to read past a buffer
        "ValueError: n outside the buffer",
        "ValueError: n outside the buffer",
        "ValueError: start/n outside the buffer",
        "ValueError: start/n outside the buffer",
    ]


def test_firmware_loss_text_counts_one_sample_in_the_singular(mpy) -> None:
    out = mpy("import protocol as P\nfor n in (0, 1, 2, 4500):\n    print(P.lost_text(n))\n")
    assert out.splitlines() == [
        "0 samples lost",
        "1 sample lost",
        "2 samples lost",
        "4500 samples lost",
    ]

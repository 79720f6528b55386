"""Cost of the wire protocol: firmware encoder under the MicroPython unix port, host decoder.

The firmware figures are from the unix port on this machine (x64 native code for the viper
functions), not from an ESP32: use them to compare versions and to spot a regression, not as
ESP32 timings. Run: ``.venv/bin/python benchmarks/protocol_speed.py``; prints a markdown table
(copied into docs/protocol.md "Performance").
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
from hipsense import paths
from hipsense.link.protocol import (
    ConfigFrame,
    ImuChip,
    SamplesFrame,
    SerialDeframer,
    decode_frame,
    encode_frame,
    samples_physical,
    serial_encode,
)
from hipsense.virtual.runner import run_micropython

_FIRMWARE = """
import time
import protocol as P
import cobs
buf = bytearray(P.MAX_FRAME_SIZE)
ser = bytearray(cobs.MAX_ENCODED_SIZE)
d = cobs.Deframer()
N = 20000

def per_call_us(f):
    best = None
    for _ in range(7):  # the best of 7: the machine is shared
        t0 = time.ticks_us()
        f()
        dt = time.ticks_diff(time.ticks_us(), t0)
        best = dt if best is None or dt < best else best
    return best / N

def header():
    for i in range(N):
        P.pack_samples_header(buf, 0, 38, i, i)

def angles():
    for i in range(N):
        P.pack_sample(buf, 12, i, -i, 7)

def raw():
    for i in range(N):
        P.pack_sample_raw(buf, 12, i, -i, 7, 1, 2, 3, 4, 5, 6)

def empty():
    for i in range(N):
        pass

n = 12
for i in range(38):
    n = P.pack_sample(buf, n, i * 37, -i * 91, i)
m = cobs.encode_frame(buf, n, ser)

def crc():
    for i in range(N // 20):
        cobs.crc16(buf, n)

def encode():
    for i in range(N // 20):
        cobs.encode_frame(buf, n, ser)

def deframe():
    for i in range(N // 20):
        d.feed(ser, m)

loop = per_call_us(empty)
print("pack_samples_header", per_call_us(header) - loop)
print("pack_sample", per_call_us(angles) - loop)
print("pack_sample_raw", per_call_us(raw) - loop)
print("crc16_244B", 20 * per_call_us(crc))
print("encode_frame_244B", 20 * per_call_us(encode))
print("Deframer.feed_244B", 20 * per_call_us(deframe))
"""


def firmware_costs_us() -> dict[str, float]:
    out = run_micropython(_FIRMWARE, path=[paths.firmware_dir()]).stdout
    return {name: float(value) for name, value in (line.split() for line in out.splitlines())}


def _per_call_s(fn: Callable[[], object], repeats: int) -> float:
    best = float("inf")
    for _ in range(5):  # the best of 5: the machine is shared
        start = time.perf_counter()
        for _ in range(repeats):
            fn()
        best = min(best, (time.perf_counter() - start) / repeats)
    return best


def host_costs() -> dict[str, float]:
    rng = np.random.default_rng(0)
    angles = rng.integers(-9000, 9000, size=(38, 3)).astype(np.int16)
    raw_frame = SamplesFrame(
        flags=1,
        seq=5,
        t_100us=500,
        angles_cdeg=angles[:12],
        raw=rng.integers(-32768, 32767, size=(12, 6)).astype(np.int16),
    )
    angle_bytes = encode_frame(SamplesFrame(flags=0, seq=5, t_100us=500, angles_cdeg=angles))
    raw_bytes = encode_frame(raw_frame)
    config = ConfigFrame(1, ImuChip.MPU6050, 100, 100, 0.0006, 0.03, 1, True, True)
    stream = b"".join(serial_encode(angle_bytes) for _ in range(2000))

    def deframe() -> None:
        SerialDeframer().feed(stream)

    return {
        "decode_frame, 38 angle samples [µs]": 1e6
        * _per_call_s(lambda: decode_frame(angle_bytes), 2000),
        "decode_frame, 12 raw samples [µs]": 1e6
        * _per_call_s(lambda: decode_frame(raw_bytes), 2000),
        "samples_physical, 12 raw samples [µs]": 1e6
        * _per_call_s(lambda: samples_physical(raw_frame, config), 2000),
        "SerialDeframer.feed [MB/s]": len(stream) / 1e6 / _per_call_s(deframe, 2),
    }


def main() -> None:
    print("| firmware (MicroPython unix port, x64) | µs per call |")
    print("|---|---|")
    for name, value in firmware_costs_us().items():
        print(f"| `{name}` | {value:.2f} |")
    print()
    print("| host (CPython) | value |")
    print("|---|---|")
    for name, value in host_costs().items():
        print(f"| {name} | {value:.1f} |")


if __name__ == "__main__":
    main()

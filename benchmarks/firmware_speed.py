"""Microseconds per sample of the board's per-sample path under the MicroPython unix port.

The path: raw int16 frame -> ``Fusion.update`` (scaling, rest/bias, strapdown, low-pass,
inclination correction) -> ``Pelvis.angles_cdeg`` -> ``struct.pack_into`` of the angles into
an output frame. It runs as shipped (``@micropython.viper``), and, for comparison, with the
decorators swapped for ``@micropython.native`` and removed (plain bytecode; ``ptr8/16/32``
replaced by the arrays themselves). It also counts the viper calls per sample (on the host
twin) as the basis of the ESP32 estimate printed at the end; see docs/validation.md.

    .venv/bin/python benchmarks/firmware_speed.py [--samples 3000]
"""

from __future__ import annotations

import argparse
import re
import struct
import tempfile
from collections import Counter
from functools import wraps
from pathlib import Path
from typing import Any

import numpy as np
from hipsense import paths
from hipsense.conventions import G_MPS2
from hipsense.motion import fixedpoint
from hipsense.virtual.runner import run_micropython

RATE_HZ = 200.0
ACC_LSB = 16 * G_MPS2 / 32768
GYR_LSB = 2000 / 32768
# Assumed slowdown of MicroPython on a 240 MHz ESP32 against this x86-64 host's unix port
# for the same code (see docs/validation.md, "Firmware speed", for the reasoning).
ESP32_SLOWDOWN = (30, 60)
BUDGET_US = 1e6 / RATE_HZ

BENCH = """
import fusion, pelvis, struct, time
from array import array
f = fusion.Fusion()
f.configure({rate}, {acc}, {gyr})
p = pelvis.Pelvis({rate})
p.set_mounting_q(0.0, 0.7071, 0.0, 0.7071)
out = array('h', [0, 0, 0])
frame = bytearray(16)
with open({path!r}, 'rb') as fh:
    data = fh.read()
n = len(data) // 12

def full(n):
    for i in range(n):
        f.update(data, 12 * i)
        p.angles_cdeg(f, out)
        struct.pack_into('<Ihhh', frame, 0, i, out[0], out[1], out[2])

def fusion_only(n):
    for i in range(n):
        f.update(data, 12 * i)

def angles_only(n):
    for i in range(n):
        p.angles_cdeg(f, out)

def empty(n):
    for i in range(n):
        pass

for name, fn in (('empty', empty), ('fusion', fusion_only), ('angles', angles_only),
                 ('full', full)):
    best = 1e9
    for rep in range(7):
        f.reset()
        t0 = time.ticks_us()
        fn(n)
        best = min(best, time.ticks_diff(time.ticks_us(), t0) / n)
    print(name, best)
"""


def variant_dir(root: Path, emitter: str) -> Path:
    """Copies of fusion.py/pelvis.py with the viper decorators replaced by ``emitter``."""
    out = root / emitter
    out.mkdir()
    shim = "\ndef ptr8(b):\n    return b\n\n\nptr16 = ptr32 = ptr8\n"
    for name in ("fusion", "pelvis"):
        src = (paths.firmware_dir() / f"{name}.py").read_text()
        if emitter != "viper":
            repl = "@micropython.native" if emitter == "native" else ""
            src = src.replace("@micropython.viper", repl)
            src = re.sub(r"(from micropython import const\n)", r"\1" + shim, src, count=1)
        (out / f"{name}.py").write_text(src)
    return out


def test_data(path: Path, n: int) -> None:
    rng = np.random.default_rng(0)
    t = np.arange(n) / RATE_HZ
    acc = np.stack([np.sin(t), np.cos(2 * t), G_MPS2 + np.sin(3 * t)], 1) + rng.normal(
        0, 0.1, (n, 3)
    )
    gyr = np.stack([np.sin(0.5 * t), np.cos(t), np.sin(2 * t)], 1)
    acc_raw = np.round(acc / ACC_LSB)
    gyr_raw = np.round(np.degrees(gyr) / GYR_LSB)
    path.write_bytes(np.concatenate([acc_raw, gyr_raw], 1).astype("<i2").tobytes())


def calls_per_sample() -> Counter[str]:
    """Viper function calls per sample (fusion + angles), counted on the host twin."""
    fusion = fixedpoint.load_firmware("fusion", checked=False)
    pelvis = fixedpoint.load_firmware("pelvis", checked=False)
    counts: Counter[str] = Counter()

    def counting(mod: Any, name: str) -> None:
        fn = mod.__dict__[name]

        @wraps(fn)
        def run(*args: Any) -> Any:
            counts[name] += 1
            return fn(*args)

        mod.__dict__[name] = run

    for mod in (fusion, pelvis):
        for name in ("mul29", "rsqrt28", "normalize", "renorm4", "qmul", "rotate", "cordic"):
            if name in mod.__dict__:
                counting(mod, name)
    pelvis.__dict__["mul29"] = fusion.__dict__["mul29"]
    pelvis.__dict__["qmul"] = fusion.__dict__["qmul"]
    f = fusion.Fusion()
    f.configure(RATE_HZ, ACC_LSB, GYR_LSB)
    p = pelvis.Pelvis(RATE_HZ)
    out = pelvis.array("h", [0, 0, 0])
    frame = struct.pack("<6h", 100, -50, 2000, 30, -20, 10)
    for _ in range(10):
        f.update(frame, 0)
        p.angles_cdeg(f, out)
    return Counter({k: v // 10 for k, v in counts.items()})


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--samples", type=int, default=3000)
    args = ap.parse_args()
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        data = root / "imu.bin"
        test_data(data, args.samples)
        for emitter in ("viper", "native", "bytecode"):
            code = BENCH.format(rate=RATE_HZ, acc=ACC_LSB, gyr=GYR_LSB, path=str(data))
            # 512K: the test data are held in RAM here, unlike on the board
            res = run_micropython(code, path=[variant_dir(root, emitter)], heapsize="512K")
            results[emitter] = {
                ln.split()[0]: float(ln.split()[1]) for ln in res.stdout.splitlines()
            }
    calls = calls_per_sample()
    lines = [
        "| emitter | loop overhead | fusion update | angles | full path (+ pack_into) |"
        " ESP32 estimate, full path |",
        "|---|---|---|---|---|---|",
    ]
    lo, hi = ESP32_SLOWDOWN
    for emitter, r in results.items():
        net = r["full"] - r["empty"]
        lines.append(
            f"| {emitter} | {r['empty']:.2f} µs | {r['fusion'] - r['empty']:.1f} µs"
            f" | {r['angles'] - r['empty']:.1f} µs | {net:.1f} µs"
            f" | {net * lo / 1000:.2f}-{net * hi / 1000:.2f} ms"
            f" ({100 * net * lo / BUDGET_US:.0f}-{100 * net * hi / BUDGET_US:.0f} % of 5 ms) |"
        )
    print("\n".join(lines))
    print("viper calls per sample:", dict(calls), "total", sum(calls.values()))


if __name__ == "__main__":
    main()

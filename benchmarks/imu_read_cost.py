"""Cost of reading IMU samples: FIFO unpacking under the MicroPython unix port, and the I2C bus
time each chip's FIFO format needs on a real ESP32 at the board profile's 400 kHz.

The unix-port figure times ``imu._base.unpack16`` / ``lsm6ds._unpack_tagged`` (the viper loops
the driver runs per sample) and a whole ``drv.read()`` against the simulated bus (an upper
bound: the simulated chip is Python code). The bus figure is arithmetic: 9 clocks per byte
(8 data + ACK), plus address and register bytes per transaction. See docs/firmware.md.

    .venv/bin/python benchmarks/imu_read_cost.py [--batch 10]
"""

from __future__ import annotations

import argparse
import json

from hipsense import paths
from hipsense.virtual.runner import run_micropython

CHIPS = ("mpu6050", "mpu6500", "mpu6886", "icm42688p", "lsm6ds3", "lsm6dsox")
I2C_HZ = 400_000
# transactions per read() before the data burst: MPU/ICM status + count, LSM6 status
STATUS_TRANSACTIONS = {"mpu": 2, "icm": 2, "lsm": 1}
STATUS_BYTES = {"mpu": 1 + 2, "icm": 1 + 2, "lsm": 4}

BENCH = """
import json, time, _vboard, machine, imu
from imu._base import unpack16
res = {{}}
for kind in {chips!r}:
    _vboard.set_manual(True)
    _vboard.clear_bus(0)
    _vboard.add_chip(kind)
    drv = imu.probe(machine.I2C(0))
    drv.configure(100)
    buf = bytearray(12 * 64)
    reps = 200
    t_read = 0
    for _ in range(reps):
        _vboard.advance({batch})
        t0 = time.ticks_us()
        drv.read(buf, {batch})
        t_read += time.ticks_diff(time.ticks_us(), t0)
    raw = drv._raw
    n = len(raw) // drv.PKT
    t0 = time.ticks_us()
    for _ in range(reps):
        if kind == "lsm6dsox":
            from imu.lsm6ds import _unpack_tagged
            _unpack_tagged(raw, n, drv._pair, buf, 0)
        else:
            unpack16(raw, n, drv.PKT, drv.ACC_OFF, drv.GYR_OFF, drv.BIG, buf, 0)
    t_unpack = time.ticks_diff(time.ticks_us(), t0)
    samples = n // 2 if kind == "lsm6dsox" else n
    res[kind] = [drv.PKT * (2 if kind == "lsm6dsox" else 1), t_read / (reps * {batch}),
                 t_unpack / (reps * samples)]
print(json.dumps(res))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description="IMU read cost per chip")
    ap.add_argument("--batch", type=int, default=10, help="samples per read() (default 10)")
    args = ap.parse_args()
    out = run_micropython(
        BENCH.format(chips=CHIPS, batch=args.batch),
        path=[paths.mpy_sim_dir(), paths.firmware_dir()],
        heapsize="1M",
    ).stdout
    res = json.loads(out.strip().splitlines()[-1])
    print(f"batch of {args.batch} samples per read(); I2C at {I2C_HZ // 1000} kHz")
    print(
        f"{'chip':10} {'B/sample':>8} {'unpack us/sample':>17} {'read+sim us/sample':>19} "
        f"{'ESP32 bus us/sample':>20} {'bus % at 100/200/500 Hz':>24}"
    )
    for chip in CHIPS:
        pkt, read_us, unpack_us = res[chip]
        fam = chip[:3]
        # per read: status transactions (addr+reg, addr+data) and one burst (addr+reg+addr)
        overhead_bytes = STATUS_TRANSACTIONS[fam] * 3 + STATUS_BYTES[fam] + 3
        bus_us = (pkt + overhead_bytes / args.batch) * 9 / I2C_HZ * 1e6
        rate = (104, 208, 416) if fam == "lsm" else (100, 200, 500)
        load = "/".join(f"{bus_us * r / 1e4:.1f}" for r in rate)
        print(f"{chip:10} {pkt:8d} {unpack_us:17.2f} {read_us:19.1f} {bus_us:20.0f} {load:>24}")


if __name__ == "__main__":
    main()

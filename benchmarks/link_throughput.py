"""Link numbers on the virtual board (docs/link.md): latency, notification fill, throughput.

Runs firmware/ring.py + link_ble.py under the MicroPython unix port in real time (speed 1)
against BleTransport + Session through the virtual radio and the custom bleak backend. The
producer writes its push time (``time.ticks_ms``, the same CLOCK_MONOTONIC as the host's
``time.monotonic`` on Linux) into tilt and obliquity, so the host measures
sample-to-consumer latency directly. The link is the simulated one (connection interval,
notifications per event, controller queue): the numbers describe the firmware and host
software on that model, not a radio.

    .venv/bin/python benchmarks/link_throughput.py            # about 40 s
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import subprocess
import time

import numpy as np
from hipsense import paths
from hipsense.link.session import Session
from hipsense.link.transport.ble import BleTransport
from hipsense.virtual.bleak_backend import VirtualClient, VirtualScanner
from hipsense.virtual.radio import VirtualRadio
from hipsense.virtual.runner import micropython_argv, micropython_env

PRODUCER = r"""
import gc, time
from ring import Ring
ring = Ring(54000)
ring.configure(RAW, RATE_HZ, 0)
gc.collect()
import bluetooth, protocol
from link_ble import BleLink, name_suffix
def on_command(buf, n):
    result, token, command = protocol.parse_command(buf, n)
    link.send_reply(token, command, result)
ble = bluetooth.BLE()
link = BleLink(ble, ring, name_suffix(ble), on_command, batch_ms=BATCH_MS)
link.send_config(RAW, 3, RATE_HZ, PERIOD_100US, 0.0006, 0.015, 5, 0)
burst = BURST
t_next = time.ticks_us()
while True:
    now = time.ticks_ms()
    now_us = time.ticks_us()
    if burst and link.ready:
        for i in range(burst):
            ring.push_raw(now & 0x7FFF, (now >> 15) & 0x7FFF, i, 1, 2, 3, 4, 5, 6)
        burst = 0
    while time.ticks_diff(now_us, t_next) >= 0 and not BURST:
        ring.push_raw(now & 0x7FFF, (now >> 15) & 0x7FFF, 0, 1, 2, 3, 4, 5, 6)
        t_next = time.ticks_add(t_next, PERIOD_US)
    link.pump(now)
    time.sleep_ms(1)
"""


async def run(
    rate_hz: int, raw: bool, batch_ms: int, seconds: float, burst: int = 0
) -> dict[str, float]:
    period_100us = 10_000 // rate_hz
    code = (
        PRODUCER.replace("RAW", "True" if raw else "False")
        .replace("PERIOD_100US", str(period_100us))
        .replace("PERIOD_US", str(1_000_000 // rate_hz))
        .replace("RATE_HZ", str(rate_hz))
        .replace("BATCH_MS", str(batch_ms))
        .replace("BURST", str(burst))
    )
    radio = VirtualRadio()
    endpoint = await radio.start()
    env = micropython_env([paths.mpy_sim_dir(), paths.firmware_dir()])
    env.update(HIPSENSE_VBLE_ENDPOINT=endpoint, HIPSENSE_SIM_SPEED="1")
    proc = subprocess.Popen([*micropython_argv("200K"), "-c", code], env=env)
    latencies: list[float] = []
    map_errors: list[float] = []  # host time the clock map gives a sample minus its push time
    arrivals: list[float] = []
    n = 0
    try:
        await radio.wait_for_board(10.0)
        transport = BleTransport(
            None,
            scanner_backend=VirtualScanner,
            client_backend=VirtualClient,
            backend_kwargs={"radio": radio},
        )
        async with Session(transport) as session:
            t_end = time.monotonic() + seconds
            cpu0, wall0 = time.process_time(), time.monotonic()

            async def consume() -> None:
                nonlocal n
                async for block in session.samples():
                    now_ms = int(time.monotonic() * 1000) & ((1 << 30) - 1)
                    a = block.angles_cdeg.astype(np.int64)
                    push = a[:, 0] | (a[:, 1] << 15)
                    latencies.extend(((now_ms - push) & ((1 << 30) - 1)).tolist())
                    mapped_ms = (block.t_host_s * 1000).astype(np.int64) & ((1 << 30) - 1)
                    d = (mapped_ms - push) & ((1 << 30) - 1)
                    map_errors.extend(np.where(d >= 1 << 29, d - (1 << 30), d).tolist())
                    arrivals.append(time.monotonic())
                    n += len(block.seq)
                    if burst and n >= burst:
                        return

            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(consume(), max(0.1, t_end - time.monotonic()))
            cpu_s, wall_s = time.process_time() - cpu0, time.monotonic() - wall0
            frames = session.stats.samples_frames
    finally:
        proc.kill()
        proc.wait()
        await radio.close()
    lat = np.array(latencies[len(latencies) // 10 :] if not burst else latencies, float)
    sample_size = 18 if raw else 6
    per_frame = n / max(frames, 1)
    result = {
        "samples": n,
        "frames": frames,
        "samples_per_notification": per_frame,
        "fill_pct": 100 * (12 + per_frame * sample_size) / 244,
        "latency_p50_ms": float(np.percentile(lat, 50)) if lat.size else float("nan"),
        "latency_p95_ms": float(np.percentile(lat, 95)) if lat.size else float("nan"),
        "latency_max_ms": float(lat.max()) if lat.size else float("nan"),
        # this process: bleak backend, transport, session, consumer (and the host end of the
        # simulated radio, which a real host does not run)
        "host_cpu_ms_per_s": 1000.0 * cpu_s / wall_s,
    }
    if not burst:
        err = np.array(map_errors[len(map_errors) // 2 :], float)  # once the map has settled
        result["clock_map_p50_ms"] = float(np.percentile(err, 50))
        result["clock_map_p95_abs_ms"] = float(np.percentile(np.abs(err), 95))
    if burst and len(arrivals) > 1:
        span = arrivals[-1] - arrivals[0]
        result["throughput_samples_per_s"] = n / span
        result["throughput_kB_per_s"] = n * (sample_size + 12 / per_frame) / span / 1000
    return result


async def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=6.0)
    args = parser.parse_args()
    rows = []
    for rate, raw, batch in (
        (100, True, 30),
        (100, False, 30),
        (200, True, 30),
        (400, True, 30),
        (100, True, 10),
    ):
        r = await run(rate, raw, batch, args.seconds)
        rows.append((f"{rate} Hz {'raw' if raw else 'angles'}, batch {batch} ms", r))
    r = await run(100, True, 30, 20.0, burst=3000)
    rows.append(("backlog of 3000 raw samples", r))
    for name, r in rows:
        print(f"{name:34s} " + "  ".join(f"{k}={v:.1f}" for k, v in r.items()))


if __name__ == "__main__":
    asyncio.run(main())

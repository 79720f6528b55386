"""Walk analysis speed: offline (an hour of 100 Hz walking) and the live per-notification cost.

Offline: one hour of simulated walking (walk-normal, raw + angles, tiled from a 10-minute
simulation) through :func:`hipsense.analysis.walk.analyse_walk`. Live: the same samples fed to
a :class:`~hipsense.detectors.walk.tracker.WalkTracker`
in blocks of 7 samples (one BLE notification at
the default MTU carries a few samples), timing each call. Also the contact-to-event latency
against the simulated truth.

    .venv/bin/python benchmarks/gait_speed.py
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
from hipsense.analysis.walk import analyse_walk
from hipsense.detectors.walk.contacts import ContactDetector
from hipsense.detectors.walk.tracker import WalkTracker
from hipsense.motion.sources import raw_arrays
from hipsense.recording import ANGLE_COLUMNS, Recording
from hipsense.sim.scenarios import simulate

HOUR_S = 3600.0
BLOCK = 7


def hour_recording() -> Recording:
    rec = simulate("walk-normal", seed=0, duration_s=600.0).to_recording()
    d = rec.data
    n = len(d)
    reps = int(np.ceil(HOUR_S * rec.meta.rate_hz / n))
    data = pd.concat([d] * reps, ignore_index=True).iloc[: int(HOUR_S * rec.meta.rate_hz)].copy()
    data["seq"] = np.arange(len(data))
    data["t_s"] = data["seq"] / rec.meta.rate_hz
    return Recording(rec.meta, data)


def latency_report() -> None:
    """Contact-to-emission delay against the simulated truth (10 seeds, 5 walk scenarios)."""
    lat = []
    for seed in range(10):
        for name in ("walk-normal", "walk-right-trendelenburg", "walk-left-trendelenburg",
                     "walk-turns", "walk-left-step-time"):  # fmt: skip
            r = simulate(name, seed=seed)
            det = ContactDetector(r.rate_hz)
            det.update(r.t_s, r.acc_mps2, r.gyr_dps)
            ref = np.array([c["t_s"] for c in r.truth["contacts"]])
            for c in det.contacts_:
                j = int(np.argmin(np.abs(ref - c.t_s)))
                if abs(ref[j] - c.t_s) <= 0.25:
                    lat.append(c.t_detected_s - ref[j])
    ms = 1000 * np.array(lat)
    print(
        f"latency (sample time of the decision - true contact, {len(ms)} contacts): median "
        f"{np.median(ms):.0f} ms, p99 {np.percentile(ms, 99):.0f} ms, max {ms.max():.0f} ms"
    )


def main() -> None:
    rec = hour_recording()
    t0 = time.perf_counter()
    result = analyse_walk(rec)
    offline_s = time.perf_counter() - t0
    print(f"offline: {rec.duration_s:.0f} s of data ({len(rec.data)} samples, "
          f"{len(result.events)} contacts) in {offline_s:.2f} s = "
          f"{rec.duration_s / offline_s:.0f}x real time")  # fmt: skip
    t, acc, gyr = raw_arrays(rec)
    ang = rec.data[list(ANGLE_COLUMNS)].to_numpy()
    n = min(len(t), int(600 * rec.meta.rate_hz))
    tracker = WalkTracker(rec.meta.rate_hz, keep_events=False)
    costs = []
    for i in range(0, n, BLOCK):
        j = i + BLOCK
        c0 = time.perf_counter()
        tracker.update(t[i:j], acc[i:j], gyr[i:j], ang[i:j])
        costs.append(time.perf_counter() - c0)
    us = np.array(costs) * 1e6
    latency_report()
    print(f"live: {len(us)} blocks of {BLOCK} samples: median {np.median(us):.0f} µs, "
          f"p99 {np.percentile(us, 99):.0f} µs, max {us.max():.0f} µs per block "
          f"(a block arrives every {BLOCK * 10} ms at 100 Hz)")  # fmt: skip


if __name__ == "__main__":
    main()

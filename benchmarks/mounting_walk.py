"""Heading error of the walk-based mounting alignment: the old and the current method.

Old: the largest-variance horizontal axis of the steady walk, signed by the velocity gained in
the first second (hipsense before the step/stride method). New:
``hipsense.motion.mounting.estimate_mounting(motion="walk")``, the same computation as the board's
``mounting.MountingCapture`` (docs/algorithms.md, "Mounting alignment").

Simulated walks (hipsense.sim): every walking scenario plus slow and fast cadences, several
seeds, seven mountings (four named, three odd angles) and three capture starts relative to the
walk's start (0.9 s before it, at it, 0.5 s after it); the capture is 2 s standing, then 8 s.
Real walks: the Mobilise-D lower-back data in ``../shared/benchmarks/gait`` (mobgap sensor
frame, x up, z forward): windows of up to 8 s (at least 3 s, inside the sequence) from each
reference gait sequence's start and every 2 s after; the truth is the horizontal part of +z,
up is the window's mean specific force. Test5
is a straight walk; Test11 windows are split by the heading change inside the window. "Refused":
the current method declines the capture (no walking, or steps too irregular).

With ``--cost``: µs per sample of the board's walk capture (``MountingCapture.add`` in the walk
phase, viper) under the MicroPython unix port, beside the empty loop.

Run: ``.venv/bin/python benchmarks/mounting_walk.py [--seeds 5] [--rate 100] [--cost]``; prints
the tables of docs/algorithms.md ("Walk-based alignment: measured heading errors").
"""

from __future__ import annotations

import argparse
import math
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from hipsense import paths
from hipsense.conventions import G_MPS2
from hipsense.motion.mounting import MountingError, estimate_mounting, mounting_from_axes
from hipsense.sim.mounting import MOUNTINGS
from hipsense.sim.scenarios import simulate
from hipsense.virtual.runner import run_micropython
from scipy.spatial.transform import Rotation

WALK_S = 8.0  # the board's ALIGN_MOUNTING phase 3
STILL_S = 2.0
SCENARIOS: dict[str, dict[str, Any]] = {
    "walk-normal": {},
    "walk-right-trendelenburg": {},
    "walk-left-trendelenburg": {},
    "walk-left-step-time": {},
    "walk-right-rotation": {},
    "walk-turns": {},
    "walk-normal 85 steps/min": {"cadence_spm": 85.0},
    "walk-normal 135 steps/min": {"cadence_spm": 135.0},
    "walk-right-trendelenburg 90 steps/min": {"cadence_spm": 90.0},
}
RANDOM_EULER_DEG = ((37.0, -120.0, 71.0), (-150.0, 20.0, -35.0), (80.0, 65.0, 170.0))
"""Three odd mountings (x-y-z Euler angles, pelvis → sensor) beside the named ones."""
CAPTURE_STARTS_S = (-0.9, 0.0, 0.5)
"""Capture start relative to the walk's start (the scenario stands for 3 s first)."""


@dataclass
class Case:
    group: str
    name: str
    still: np.ndarray
    walk: np.ndarray
    rate_hz: float
    forward: np.ndarray


def old_mounting(still: np.ndarray, walk: np.ndarray, rate_hz: float) -> np.ndarray:
    """The former method: largest-variance horizontal axis, first-second velocity sign."""
    z = still.mean(axis=0)
    z /= np.linalg.norm(z)
    horiz = walk - np.outer(walk @ z, z)
    n1 = max(1, math.ceil(rate_hz))
    steady = horiz[n1:] - horiz[n1:].mean(axis=0)
    _, vecs = np.linalg.eigh(steady.T @ steady)
    axis = vecs[:, -1]
    if float(np.sum((horiz[:n1] - horiz[n1:].mean(axis=0)) @ axis)) < 0:
        axis = -axis
    return mounting_from_axes(z, axis)


def new_mounting(still: np.ndarray, walk: np.ndarray, rate_hz: float) -> np.ndarray | None:
    """The current method; None where it refuses the capture (no walking, irregular steps)."""
    try:
        return estimate_mounting(still, walk, rate_hz, "walk")
    except MountingError:
        return None


METHODS: dict[str, Callable[[np.ndarray, np.ndarray, float], np.ndarray | None]] = {
    "old": old_mounting,
    "new": new_mounting,
}


def heading_error_deg(q_wxyz: np.ndarray, forward_true: np.ndarray) -> float:
    """Signed angle about the estimated up from the true to the estimated forward axis."""
    rows = Rotation.from_quat(q_wxyz[[1, 2, 3, 0]]).as_matrix()  # rows: pelvis axes (sensor)
    x, z = rows[0], rows[2]
    t = forward_true - (forward_true @ z) * z
    t /= np.linalg.norm(t)
    return math.degrees(math.atan2(float(np.cross(t, x) @ z), float(t @ x)))


def sim_cases(seeds: int, rate_hz: float) -> Iterator[Case]:
    mountings = {k: np.array(v) for k, v in MOUNTINGS.items()}
    for i, euler in enumerate(RANDOM_EULER_DEG):
        xyzw = Rotation.from_euler("xyz", euler, degrees=True).as_quat()
        mountings[f"odd{i}"] = xyzw[[3, 0, 1, 2]]
    for label, params in SCENARIOS.items():
        scenario = label.split()[0]
        for seed in range(seeds):
            for mname, q in mountings.items():
                r = simulate(scenario, seed=seed, rate_hz=rate_hz, mounting=list(q), **params)
                start_s = float(r.truth["bouts"][0]["start_t_s"])
                forward = Rotation.from_quat(q[[1, 2, 3, 0]]).as_matrix()[0]
                for d in CAPTURE_STARTS_S:
                    i0 = round((start_s + d) * rate_hz)
                    yield Case(
                        label,
                        f"{label} seed {seed} {mname} start {d:+.1f} s",
                        r.acc_mps2[i0 - round(STILL_S * rate_hz) : i0],
                        r.acc_mps2[i0 : i0 + round(WALK_S * rate_hz)],
                        rate_hz,
                        forward,
                    )


def real_cases(root: Path) -> Iterator[Case]:
    for f in sorted(root.glob("HA_*/*_imu.csv")):
        imu = pd.read_csv(f)
        gs = pd.read_csv(str(f).replace("_imu.csv", "_gs_ref.csv"))
        acc = imu[["acc_x", "acc_y", "acc_z"]].to_numpy()
        gyr = imu[["gyr_x", "gyr_y", "gyr_z"]].to_numpy()
        test = "Test5" if "Test5" in f.name else "Test11"
        for _, g in gs.iterrows():
            s0, s1 = int(g.start_sample), int(g.end_sample)
            for st in range(s0, max(s0 + 1, s1 - 300 + 1), 200):
                w = acc[st : min(s1, st + round(WALK_S * 100))]
                up = w.mean(axis=0) / np.linalg.norm(w.mean(axis=0))
                turn_deg = abs(float(np.sum(gyr[st : st + len(w)] @ up))) / 100.0
                group = (
                    "real Test5 (straight)"
                    if test == "Test5"
                    else f"real Test11, turn {'< 30' if turn_deg < 30 else '>= 30'}°"
                )
                yield Case(
                    group,
                    f"{f.parent.name} {f.name[:-8]} gs{int(g.gs_id)} +{(st - s0) / 100:.0f} s"
                    f" (turn {turn_deg:.0f}°)",
                    w,
                    w,
                    100.0,
                    np.array([0.0, 0.0, 1.0]),
                )


def evaluate(cases: Iterator[Case]) -> pd.DataFrame:
    rows = []
    for c in cases:
        row: dict[str, object] = {"group": c.group, "case": c.name}
        for name, fn in METHODS.items():
            q = fn(c.still, c.walk, c.rate_hz)
            row[name] = math.nan if q is None else heading_error_deg(q, c.forward)
        rows.append(row)
    return pd.DataFrame(rows)


def table(df: pd.DataFrame) -> str:
    lines = [
        "| cases | n | old: median / max \\|error\\| | old: > 10° | new: refused "
        "| new: median / max \\|error\\| | new: > 10° |",
        "|---|---|---|---|---|---|---|",
    ]
    for group, g in df.groupby("group", sort=False):
        cells = []
        for m in METHODS:
            e = g[m].abs()
            if m == "new":
                cells.append(f"{int(e.isna().sum())}")
            e = e.dropna()
            cells.append(f"{e.median():.1f}° / {e.max():.1f}°" if len(e) else "–")
            cells.append(f"{int((e > 10).sum())}")
        lines.append(f"| {group} | {len(g)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


COST = """
import time, mounting
with open({path!r}, 'rb') as fh:
    data = fh.read()
n = len(data) // 12

def run(cap):
    t0 = time.ticks_us()
    for i in range(n):
        cap.add(data, 12 * i)
    return time.ticks_diff(time.ticks_us(), t0) / n

class Empty:
    def add(self, buf, offset):
        pass

cap = mounting.MountingCapture({rate})

def walk_once():
    cap.reset()
    cap.phase = 2
    return run(cap)

walk = min(walk_once() for _ in range(3))
empty = min(run(Empty()) for _ in range(3))
print(empty, walk, cap._walk[5])
"""


def capture_cost_us(rate_hz: float) -> tuple[float, float]:
    """(empty loop, walk capture) µs per sample under the unix port, 8 s of simulated walk."""
    r = simulate("walk-normal", seed=0, rate_hz=rate_hz)
    raw = np.clip(
        np.round(r.acc_mps2[: round(WALK_S * rate_hz)] / (16 * G_MPS2 / 32768)), -32768, 32767
    )
    frames = np.concatenate([raw, np.zeros_like(raw)], 1).astype("<i2").tobytes()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "walk.bin"
        path.write_bytes(frames)
        res = run_micropython(
            COST.format(path=str(path), rate=rate_hz), path=[paths.firmware_dir()], heapsize="512K"
        )
    empty, walk, n_decimated = (float(v) for v in res.stdout.split())
    if n_decimated < 100:
        raise RuntimeError(f"the capture ran only {n_decimated:g} decimated samples")
    return empty, walk


def main() -> None:
    ap = argparse.ArgumentParser(description="Heading error of the walk-based alignment.")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--rate", type=float, default=100.0)
    ap.add_argument("--cases", action="store_true", help="also list every real-data case")
    ap.add_argument("--cost", action="store_true", help="only the capture's cost per sample")
    args = ap.parse_args()
    if args.cost:
        print("| rate | empty loop | walk capture add() (net) |\n|---|---|---|")
        for rate in (100.0, 200.0, 400.0):
            empty, walk = capture_cost_us(rate)
            print(f"| {rate:g} Hz | {empty:.2f} µs | {walk:.2f} µs ({walk - empty:.2f} µs) |")
        return
    sim = evaluate(sim_cases(args.seeds, args.rate))
    print(f"Simulated walks ({args.rate:g} Hz, {args.seeds} seeds, mpu6886 model)\n")
    print(table(sim))
    root = paths.shared_dir() / "benchmarks" / "gait"
    if root.is_dir():
        real = evaluate(real_cases(root))
        print("\nReal lower-back walks (Mobilise-D, 100 Hz)\n")
        print(table(real))
        if args.cases:
            print()
            print(real.round(1).to_string(index=False))
    else:
        print(f"\n(no real data: {root} not found)")


if __name__ == "__main__":
    main()

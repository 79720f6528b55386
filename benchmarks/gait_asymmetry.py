"""Asymmetry verdict on simulated walks with known truth, over many seeds.

For each drop difference (drop of the swing side in right stance minus left stance: 1 to 6°,
either side weak) and for symmetric walks (walk-normal, walk-turns, walk-left-step-time), runs the
walk analysis on raw-only recordings whose angles come from the host twin of the board's filter
(chip errors included; the recorded mounting), and reports:
- the rate at which the weak side is named correctly within 20 strides (20 stances per side),
- the rate of wrong-side verdicts, and the median number of strides until the verdict,
- the false-alarm rate on symmetric walks (a verdict of asymmetry at ANY time during the walk).

    .venv/bin/python benchmarks/gait_asymmetry.py [--seeds 30]
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np
from hipsense.analysis.walk import analyse_walk
from hipsense.recording import ANGLE_COLUMNS, Recording
from hipsense.sim.scenarios import simulate

BASE_DEG = 2.0
WALK_S = 30.0  # about 28 strides at 112 steps/min


def _raw_only(rec: Recording) -> Recording:
    return Recording(rec.meta, rec.data.drop(columns=list(ANGLE_COLUMNS)))


def run(scenario: str, seed: int, **params: Any) -> tuple[str | None, int | None]:
    """(weak side named by the first asymmetric verdict, its stances per side) or (None, None)."""
    r = simulate(scenario, seed=seed, duration_s=WALK_S, **params)
    a = analyse_walk(_raw_only(r.to_recording()))
    first = a.tracker.first_verdict_
    if first is None:
        return None, None
    return first[0].weak_side, max(first[0].steps_per_side)


def main() -> None:
    parser = argparse.ArgumentParser(description="Asymmetry verdict rates on simulated walks.")
    parser.add_argument("--seeds", type=int, default=30)
    args = parser.parse_args()
    seeds = range(args.seeds)
    print("| drop difference | weak side | found within 20 strides | wrong side | "
          "median strides to verdict |")  # fmt: skip
    print("|---|---|---|---|---|")
    for diff in (1.0, 1.5, 2.0, 3.0, 4.0, 6.0):
        for weak in ("right", "left"):
            other = "left" if weak == "right" else "right"
            params = {f"drop_in_{weak}_stance_deg": BASE_DEG + diff,
                      f"drop_in_{other}_stance_deg": BASE_DEG}  # fmt: skip
            res = [run("walk-normal", s, **params) for s in seeds]
            found = [n for side, n in res if side == weak and n is not None and n <= 20]
            wrong = sum(side == other for side, _ in res)
            med = f"{np.median(found):.0f}" if found else "—"
            print(
                f"| {diff:g}° | {weak} | {len(found) / len(res):.2f} | "
                f"{wrong / len(res):.2f} | {med} |"
            )
    print()
    print("| symmetric scenario | walks | false-alarm rate (any time) |")
    print("|---|---|---|")
    for scenario in ("walk-normal", "walk-turns", "walk-left-step-time"):
        res = [run(scenario, s) for s in seeds]
        alarms = sum(side is not None for side, _ in res)
        print(f"| {scenario} | {len(res)} | {alarms / len(res):.2f} ({alarms}) |")


if __name__ == "__main__":
    main()

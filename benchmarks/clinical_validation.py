"""Single-leg stance and bridge analyses against the simulator's ground truth, over many seeds.

For every stance scenario and seed: lift-off, brief touch-down and final touch-down times
(share within 100 ms), the free-side drop (share within 1°), the Trendelenburg flag (right on
the weak side, absent elsewhere). For every bridge scenario and seed: reps counted exactly, phase
boundaries, lift and hip drop during the hold (share within 1°), the weaker side named (and none
named for symmetric or double-leg sets). Also the analysis speed (× real time).

Run: ``.venv/bin/python benchmarks/clinical_validation.py [--seeds 20] [--chip mpu6886]``; prints
the markdown tables of docs/validation.md ("Single-leg stance (simulated)", "Bridges
(simulated)").
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from hipsense.analysis import analyse
from hipsense.sim.scenarios import simulate

STANCE = {
    "stance-eyes-open": None,
    "stance-eyes-closed": None,
    "stance-left-trendelenburg": "left",
    "stance-right-trendelenburg": "right",
}
BRIDGE = {
    "bridge-double": None,
    "bridge-symmetric": None,
    "bridge-single-weak-right": "right",
    "bridge-single-weak-left": "left",
}


def _pct(x: list[bool]) -> str:
    return f"{100.0 * np.mean(x):.0f} % ({sum(x)}/{len(x)})" if x else "–"


def _err(x: list[float]) -> str:
    a = np.abs(np.asarray(x))
    return f"{np.median(a) * 1000:.0f} / {np.percentile(a, 95) * 1000:.0f} / {a.max() * 1000:.0f}"


def stance(seeds: int, chip: str) -> tuple[list[str], float]:
    rows = [
        "| scenario | trials found | lift-off ≤ 100 ms | brief touch-down ≤ 100 ms | final "
        "touch-down ≤ 100 ms | lift-off error ms (median / p95 / max) | final touch-down error "
        "ms | drop within 1° (mean abs error) | Trendelenburg flag right | stance leg right | "
        "weaker side right (none if no weak side) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    speed = []
    for name, weak in STANCE.items():
        found, lift, brief, final, drop, flag, leg, weaker = [], [], [], [], [], [], [], []
        e_lift: list[float] = []
        e_final: list[float] = []
        e_drop: list[float] = []
        for seed in range(seeds):
            r = simulate(name, seed=seed, chip=chip)
            rec = r.to_recording()
            t0 = time.perf_counter()
            try:
                doc = analyse(rec).to_json()
            except Exception as exc:  # counted as a miss, reported
                print(f"{name} seed {seed}: {exc}")
                found.append(False)
                continue
            speed.append(rec.duration_s / (time.perf_counter() - t0))
            truth = r.truth["trials"]
            weaker.append(doc["comparison"].get("weaker_side") == weak)
            found.append(len(doc["trials"]) == len(truth))
            for got, true in zip(doc["trials"], truth, strict=False):
                e_lift.append(got["lift_off_t_s"] - true["lift_off_t_s"])
                e_final.append(got["end_t_s"] - true["end_t_s"])
                lift.append(abs(e_lift[-1]) <= 0.1)
                final.append(abs(e_final[-1]) <= 0.1)
                tds = [td["t_s"] for td in true["touch_downs"]]
                got_tds = [td["down_t_s"] for td in got["touch_downs"]]
                for k, t_true in enumerate(tds):
                    brief.append(k < len(got_tds) and abs(got_tds[k] - t_true) <= 0.1)
                if len(got_tds) > len(tds):
                    brief.extend([False] * (len(got_tds) - len(tds)))
                e_drop.append(got["free_side_drop_deg"] - true["free_side_drop_deg"])
                drop.append(abs(e_drop[-1]) <= 1.0)
                flag.append(got["trendelenburg"] == (true["stance_side"] == weak))
                leg.append(got["stance_side"] == true["stance_side"])
        rows.append(
            f"| `{name}` | {_pct(found)} | {_pct(lift)} | {_pct(brief)} | {_pct(final)} | "
            f"{_err(e_lift)} | {_err(e_final)} | {_pct(drop)} ({np.mean(np.abs(e_drop)):.2f}°) "
            f"| {_pct(flag)} | {_pct(leg)} | {_pct(weaker)} |"
        )
    return rows, float(np.median(speed))


def bridge(seeds: int, chip: str) -> tuple[list[str], float]:
    rows = [
        "| scenario | reps counted exactly | start / top / hold end / end error ms (median) | "
        "hip drop within 1° (mean abs error) | lift error ° (mean abs) | twist error ° (mean abs) "
        "| weaker side right (none for symmetric) |",
        "|---|---|---|---|---|---|---|",
    ]
    speed = []
    for name, weak in BRIDGE.items():
        exact, drop, side = [], [], []
        e_phase: dict[str, list[float]] = {k: [] for k in ("start", "top", "hold_end", "end")}
        e_drop: list[float] = []
        e_lift: list[float] = []
        e_twist: list[float] = []
        for seed in range(seeds):
            r = simulate(name, seed=seed, chip=chip)
            rec = r.to_recording()
            t0 = time.perf_counter()
            try:
                doc = analyse(rec).to_json()
            except Exception as exc:
                print(f"{name} seed {seed}: {exc}")
                exact.append(False)
                continue
            speed.append(rec.duration_s / (time.perf_counter() - t0))
            truth = r.truth["reps"]
            exact.append(len(doc["reps"]) == len(truth))
            for got, true in zip(doc["reps"], truth, strict=False):
                for k in e_phase:
                    e_phase[k].append(got[f"{k}_t_s"] - true[f"{k}_t_s"])
                e_drop.append(got["hip_drop_deg"] - true["top_obliquity_deg"])
                drop.append(abs(e_drop[-1]) <= 1.0)
                e_lift.append(got["lift_deg"] - 22.0 * true["lift_m"] / 0.16)
                e_twist.append(got["twist_deg"] - true["top_rotation_deg"])
            named = doc["comparison"].get("weaker_side") if doc["comparison"] else None
            side.append(named == weak)
        phases = " / ".join(f"{np.median(np.abs(v)) * 1000:.0f}" for v in e_phase.values())
        rows.append(
            f"| `{name}` | {_pct(exact)} | {phases} | {_pct(drop)} "
            f"({np.mean(np.abs(e_drop)):.2f}°) | {np.mean(np.abs(e_lift)):.2f} | "
            f"{np.mean(np.abs(e_twist)):.2f} | {_pct(side)} |"
        )
    return rows, float(np.median(speed))


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--chip", default="mpu6886")
    args = ap.parse_args()
    rows, speed = stance(args.seeds, args.chip)
    print(f"### Single-leg stance, {args.seeds} seeds per scenario, chip {args.chip}\n")
    print("\n".join(rows))
    print(f"\nanalysis speed: {speed:.0f}× real time (median)\n")
    rows, speed = bridge(args.seeds, args.chip)
    print(f"### Bridges, {args.seeds} seeds per scenario, chip {args.chip}\n")
    print("\n".join(rows))
    print(f"\nanalysis speed: {speed:.0f}× real time (median)")


if __name__ == "__main__":
    main()

"""Corrective exercises against the simulator's ground truth, over a population of people.

For every exercise and each of ``--people`` simulated people (amplitude, tempo, sway and the
sensor's tilt on the belt drawn with a seed): a set on the right and one on the left, every rep
with every fault at its threshold ± 2° (± 20 % for rocking speed, in °/s) at random, so each rep
tests detection above and silence below. A third of the people are symmetric (the primary fault
has the same values on both sides, shuffled); the others have a harder side (its primary fault
2-6° above the threshold, the other side's 2-6° below). Scored, through the same session of
detectors as ``hipsense exercise`` and ``hipsense analyze``:

- reps (holds) exact per set;
- each fault flagged when its true peak is ≥ threshold + 1.5 (°) and not flagged when ≤
  threshold − 1.5 (the true peak of a rep differs a little from its target when channels add);
- the harder side named correctly for asymmetric people, never for symmetric ones;
- the live cue latency: the sample at which the detector's fault event fires minus the moment
  the true value passes the threshold (sample times; the link's block delay is not included).

Run: ``nice .venv/bin/python benchmarks/exercise_validation.py [--people 100] [--reps 6]``;
prints the markdown table of docs/validation.md ("Corrective exercises (simulated)").
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from hipsense.analysis.exercise import run_session
from hipsense.conventions.exercises import SPECS, ExerciseSpec, Fault
from hipsense.detectors.exercise.compare import harder_side
from hipsense.sim.exercise import SetPlan, draw_person, simulate_exercise

SCORE_MARGIN = 0.75
"""A rep's fault is scored when its true peak is ≥ 0.75 × margin away from the threshold."""


def margin(f: Fault) -> float:
    return 0.2 * f.threshold if f.unit == "°/s" else 2.0


@dataclass
class Score:
    sets: int = 0
    sets_exact: int = 0
    should_flag: int = 0
    flagged: int = 0
    should_not: int = 0
    false_flags: int = 0
    asym: int = 0
    asym_right: int = 0
    sym: int = 0
    sym_named: int = 0
    latencies_s: list[float] = field(default_factory=list)
    seconds: float = 0.0
    sim_seconds: float = 0.0

    def row(self, name: str) -> str:
        def share(k: int, n: int) -> str:
            return f"{k}/{n} ({100 * k / n:.1f} %)" if n else "—"

        lat = np.asarray(self.latencies_s)
        latency = (
            f"{np.median(lat) * 1000:.0f} / {np.percentile(lat, 95) * 1000:.0f} / "
            f"{np.max(lat) * 1000:.0f} ms ({100 * np.mean(lat <= 0.3):.1f} % ≤ 300 ms)"
            if lat.size
            else "—"
        )
        return (
            f"| {name} | {share(self.sets_exact, self.sets)} "
            f"| {share(self.flagged, self.should_flag)} "
            f"| {share(self.should_not - self.false_flags, self.should_not)} "
            f"| {share(self.asym_right, self.asym)} | {share(self.sym_named, self.sym)} "
            f"| {latency} | {self.sim_seconds / max(self.seconds, 1e-9):.0f}× |"
        )


def plan_person(
    spec: ExerciseSpec, rng: np.random.Generator, reps: int, kind: str, harder: str
) -> list[SetPlan]:
    """kind: 'sym' or 'asym' (harder side ``harder``)."""
    n = 1 if spec.mode == "hold" else reps
    sides = ["right", "left"] if spec.sided else ["both"]
    primary = spec.faults[0] if spec.faults else None
    base = None
    if primary is not None:
        m = margin(primary)
        base = [primary.threshold + (m if i % 2 else -m) for i in range(n)]
        if n == 1:
            base = [primary.threshold + float(rng.choice([-m, m]))]
    plans = []
    for side in sides:
        rep_faults: list[dict[str, float]] = []
        values: list[float] = []
        if primary is not None and base is not None:
            if kind == "sym":
                values = [float(v) for v in rng.permutation(base)]
            else:
                m = margin(primary)
                sign = 1.0 if side == harder else -1.0
                values = [
                    max(primary.threshold + sign * (m + float(rng.uniform(0, 2 * m))), 0.5)
                    for _ in range(n)
                ]
        for i in range(n):
            d: dict[str, float] = {}
            for f in spec.faults:
                if f is primary:
                    d[f.key] = float(values[i])
                else:
                    d[f.key] = f.threshold + float(rng.choice([-1.0, 1.0])) * margin(f)
            rep_faults.append(d)
        plans.append(SetPlan(side, rep_faults, float(rng.uniform(15.0, 25.0))))
    return plans


def score_person(spec: ExerciseSpec, seed: int, reps: int, score: Score) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    person = draw_person(rng)
    kind = "sym" if seed % 3 == 0 else "asym"
    harder = str(rng.choice(["left", "right"]))
    plans = plan_person(spec, rng, reps, kind, harder)
    r = simulate_exercise(spec.name, plans, person, seed=seed)
    t0 = time.perf_counter()
    session = run_session(
        spec, [p.side for p in plans], reps, r.t_s, r.acc_mps2, r.gyr_dps, r.mounting_wxyz
    )
    score.seconds += time.perf_counter() - t0
    score.sim_seconds += float(r.t_s[-1])
    faults_by_side: dict[str, list[dict[str, float]]] = {"left": [], "right": []}
    for det, truth_set in zip(session.sets, r.truth["sets"], strict=True):
        truth_reps = truth_set["reps"]
        score.sets += 1
        exact = len(det.reps_) == len(truth_reps)
        score.sets_exact += exact
        for rep in det.reps_:
            if det.side in faults_by_side:
                faults_by_side[det.side].append(rep.faults)
        for tr in truth_reps:
            # the detected rep overlapping this true rep
            match = next(
                (d for d in det.reps_ if d.start_t_s < tr["end_t_s"] + 0.3
                 and d.end_t_s > tr["start_t_s"] - 0.3),
                None,
            )  # fmt: skip
            for f in spec.faults:
                v = tr["faults"][f.key]
                m = SCORE_MARGIN * margin(f)
                flagged = match is not None and match.faults.get(f.key, -np.inf) > f.threshold
                if v >= f.threshold + m:
                    score.should_flag += 1
                    score.flagged += flagged
                    cross = tr["fault_cross_t_s"][f.key]
                    if flagged and match is not None and cross is not None:
                        # the first cue of this fault from just before the true crossing on
                        # (it may fire before the rep's own start, e.g. a rocking burst)
                        fired = min(
                            (e.t_s for e in det.events_ if e.kind == "fault"
                             and e.data["fault"] == f.key
                             and cross - 0.5 <= e.t_s <= match.end_t_s),
                            default=np.nan,
                        )  # fmt: skip
                        score.latencies_s.append(float(fired) - float(cross))
                elif v <= f.threshold - m:
                    score.should_not += 1
                    score.false_flags += flagged
    if spec.sided and spec.faults:
        named = harder_side(spec, faults_by_side["left"], faults_by_side["right"])["harder_side"]
        if kind == "sym":
            score.sym += 1
            score.sym_named += named is not None
        else:
            score.asym += 1
            score.asym_right += named == harder
    return {"seed": seed, "kind": kind}


def validate(name: str, people: int, reps: int, seed0: int = 0) -> Score:
    score = Score()
    spec = SPECS[name]
    for k in range(people):
        score_person(spec, seed0 + k, reps, score)
    return score


HEADER = (
    "| exercise | reps (holds) exact per set | fault flagged when ≥ threshold + margin "
    "| not flagged when ≤ threshold − margin | harder side named right (asymmetric) "
    "| side named (symmetric) | cue latency median / p95 / max | detector × real time |\n"
    "|---|---|---|---|---|---|---|---|"
)


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--people", type=int, default=100)
    ap.add_argument("--reps", type=int, default=6)
    ap.add_argument("--exercise", action="append", choices=list(SPECS), default=None)
    args = ap.parse_args()
    print(HEADER)
    for name in args.exercise or list(SPECS):
        t0 = time.perf_counter()
        s = validate(name, args.people, args.reps)
        print(s.row(name), flush=True)
        print(f"<!-- {name}: {time.perf_counter() - t0:.0f} s -->", flush=True)


if __name__ == "__main__":
    main()

"""Step length and gait speed (inverted-pendulum model) against the IPOL walkway.

Each IPOL recording is: stand, walk 10 m, U-turn, walk back 10 m, stop; its two reference gait
sequences are the straight parts, from the first to the last contact before and after the turn
(``../shared/benchmarks/gait-ipol/README.md``). The walkway tells the distance of a straight
part only: about 10 m from the start line to the turn, which the steps between the first and
the last contact cover minus the first step (from standing) and the stretch between the last
contact and the turn. So the estimate compared with 10 m is the sum of the step lengths between
the first and the last detected contact of a part plus one mean step; the comparison is
uncertain by about ±1 step (±0.6–0.7 m, ±7 %) per part and says nothing about single steps.
Only recordings with exactly two parts (no packet gap or extra turn splitting them) are used,
with the hand-checked IPOL contacts (not the SEMIO algorithm references).

The model's gain (``hipsense.detectors.walk.pendulum.GAIN``) is fitted leave one participant
out: each
participant's parts are scored with the gain that makes the other participants' mean distance
10 m. Sensor height: 0.53 × the participant's height (``LEG_PER_HEIGHT``).

    .venv/bin/python benchmarks/walk_distance.py
"""

from __future__ import annotations

import numpy as np
from gait_accuracy import COLUMN_MAP
from hipsense import paths
from hipsense.analysis.walk import analyse_walk
from hipsense.detectors.walk.pendulum import GAIN, LEG_PER_HEIGHT
from hipsense.detectors.walk.scoring import reference_recordings
from hipsense.recording.importer import read_foreign_csv

WALKWAY_M = 10.0


def parts() -> dict[str, list[tuple[float, float, float]]]:
    """Participant -> (distance with gain 1, duration, reference duration) per straight part."""
    out: dict[str, list[tuple[float, float, float]]] = {}
    root = paths.shared_dir() / "benchmarks" / "gait-ipol"
    for r in reference_recordings(root):
        if not (r.pooled and r.participant.startswith("IPOL_") and len(r.gs) == 2):
            continue
        if r.height_m is None:
            continue
        rec = read_foreign_csv(r.imu, COLUMN_MAP)
        a = analyse_walk(rec, axes=r.axes, sensor_height_m=LEG_PER_HEIGHT * r.height_m)
        steps = [e.step for e in a.events if e.step is not None]
        for g in r.gs.to_dict("records"):
            start_s, end_s = float(g["start_s"]), float(g["end_s"])
            inside = [
                s for s in steps
                if s.valid and start_s - 0.25 <= s.t_start_s and s.t_end_s <= end_s + 0.25
                and not np.isnan(s.step_length_m)
            ]  # fmt: skip
            if len(inside) < 4:
                continue
            lengths = np.array([s.step_length_m for s in inside]) / GAIN
            distance = float(lengths.sum() + lengths.mean())
            duration = inside[-1].t_end_s - inside[0].t_start_s
            out.setdefault(r.participant, []).append((distance, duration, end_s - start_s))
    return out


def main() -> None:
    data = parts()
    print("| participant | straight parts | gain (fitted on the others) | distance, mean ± SD "
          "| error vs 10 m, mean (mean abs.) | speed, mean |")  # fmt: skip
    print("|---|---|---|---|---|---|")
    errors, abs_pct = [], []
    for name, items in data.items():
        others = [d for n, v in data.items() if n != name for d, _, _ in v]
        gain = WALKWAY_M / float(np.mean(others))
        dist = gain * np.array([d for d, _, _ in items])
        speed = dist / np.array([t for _, t, _ in items])
        err = dist - WALKWAY_M
        errors += list(err)
        abs_pct += list(100 * np.abs(err) / WALKWAY_M)
        print(
            f"| {name} | {len(items)} | {gain:.3f} | {dist.mean():.2f} ± "
            f"{dist.std(ddof=1):.2f} m | {err.mean():+.2f} m ({np.mean(np.abs(err)):.2f} m) | "
            f"{speed.mean():.2f} m/s |"
        )
    all_d = [d for v in data.values() for d, _, _ in v]
    e = np.array(errors)
    print(
        f"\nAll {len(e)} parts, leave-one-participant-out gain: error {e.mean():+.2f} ± "
        f"{e.std(ddof=1):.2f} m, mean absolute {np.mean(np.abs(e)):.2f} m "
        f"({np.mean(abs_pct):.1f} %), 95th percentile {np.percentile(np.abs(e), 95):.2f} m"
    )
    print(f"gain fitted on all participants: {WALKWAY_M / np.mean(all_d):.3f} "
          f"(hipsense.detectors.walk.pendulum.GAIN = {GAIN})")  # fmt: skip


if __name__ == "__main__":
    main()

"""Initial contacts and sides on real lower-back walking (INDIP reference, mobgap's lab data).

Runs ``hipsense analyze``'s walk analysis (the causal streaming detector, files read through
``--column-map``/``--axes`` as documented in docs/gait.md) over the whole of every recording in a
folder laid out like ``../shared/benchmarks/gait/`` (the default; ``make heldout`` converts a
held-out participant into the same layout) and scores the contacts inside the reference gait
sequences as that README defines (``hipsense.detectors.walk.scoring``): tolerance 0.25 s, one-to-one
matching. Left/right accuracy is over the matched contacts: with the pelvis's left axis from
``--axes`` (the table) and learned from the walk without a mounting. Prints a table for
docs/validation.md.

    .venv/bin/python benchmarks/gait_accuracy.py [FOLDER] [--per-sequence]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from hipsense import paths
from hipsense.analysis.walk import analyse_walk
from hipsense.detectors.walk.contacts import ContactDetector
from hipsense.detectors.walk.scoring import TOLERANCE_S, ContactTally
from hipsense.motion.sources import raw_arrays
from hipsense.recording.importer import read_foreign_csv

COLUMN_MAP = {"t_s": "time_s", **{f"acc_{a}_mps2": f"acc_{a}" for a in "xyz"},
              **{f"gyr_{a}_dps": f"gyr_{a}" for a in "xyz"}}  # fmt: skip
AXES = "z,-y,x"  # mobgap sensor frame: x up, y right, z forward
REFERENCE = {  # the shared README's anchor numbers (mobgap 1.2.0 on HA_001 and HA_002)
    "IcdShinImproved": (0.817, 0.811, 0.814, 85),
    "IcdIonescu": (0.796, 0.677, 0.732, 87),
    "IcdHKLeeImproved": (0.771, 0.795, 0.783, 102),
}


def main() -> None:
    parser = argparse.ArgumentParser(description="Gait contacts on real lower-back walking.")
    parser.add_argument("folder", nargs="?", type=Path, help="default: ../shared/benchmarks/gait")
    parser.add_argument("--per-sequence", action="store_true")
    args = parser.parse_args()
    root = args.folder or paths.shared_dir() / "benchmarks" / "gait"
    imus = sorted(root.glob("*/*_imu.csv"))
    if not imus:
        sys.exit(f"no */*_imu.csv recordings under {root}")
    strict, edge = ContactTally(), ContactTally()
    sides: list[bool] = []
    sides_learned: list[bool] = []
    latency_s: list[float] = []
    for imu in imus:
        ic = pd.read_csv(Path(str(imu).replace("_imu.csv", "_ic_ref.csv")))
        gs = pd.read_csv(Path(str(imu).replace("_imu.csv", "_gs_ref.csv")))
        rec = read_foreign_csv(imu, COLUMN_MAP)
        result = analyse_walk(rec, axes=AXES)
        det_t = np.array([e.contact.t_s for e in result.events])
        det_side = np.array([e.contact.side[0].upper() for e in result.events])
        det_at = np.array([e.contact.t_detected_s for e in result.events])
        # the same detector without the mounting: it learns the left axis from the walk
        own = ContactDetector(rec.meta.rate_hz)
        own.update(*raw_arrays(rec))
        assert np.array_equal([c.t_s for c in own.contacts_], det_t)
        det_side_learned = np.array([c.side[0].upper() for c in own.contacts_])
        pairs = strict.add(det_t, ic, gs)
        edge.add(det_t, ic, gs, edge_tolerant=True)
        ref_side, ref_t = ic["side"].to_numpy(), ic["time_s"].to_numpy()
        sides += [det_side[i] == ref_side[j] for i, j in pairs]
        sides_learned += [det_side_learned[i] == ref_side[j] for i, j in pairs]
        latency_s += [det_at[i] - ref_t[j] for i, j in pairs]
        if args.per_sequence:
            for k in range(len(gs)):
                one = ContactTally()
                matched = one.add(det_t, ic, gs.iloc[[k]])
                print(
                    f"{imu.parent.name} {imu.name[:-8]} gs{gs['gs_id'].iloc[k]}: "
                    f"ref {one.tp + one.fn} det {one.tp + one.fp} matched {one.tp} "
                    f"sides ok {sum(det_side[i] == ref_side[j] for i, j in matched)}"
                )
    errors = np.array(strict.errors_s)
    print(f"data: {root} ({len(imus)} recordings)\n")
    print("| algorithm | precision | recall | F1 | mean abs. timing error | left/right accuracy |")
    print("|---|---|---|---|---|---|")
    print(
        f"| hipsense (causal, streaming) | {strict.precision:.3f} | {strict.recall:.3f} | "
        f"{strict.f1:.3f} | {1000 * np.mean(np.abs(errors)):.0f} ms "
        f"(bias {1000 * np.mean(errors):+.0f} ms) | {np.mean(sides):.3f} ({len(sides)} matched) |"
    )
    if root.resolve() == (paths.shared_dir() / "benchmarks" / "gait").resolve():
        for name, (p, r, f, e) in REFERENCE.items():
            print(f"| mobgap {name} | {p:.3f} | {r:.3f} | {f:.3f} | {e} ms | — |")
        print("| mobgap LrcUllrich / LrcMcCamley (127 reference contacts) | | | | | 0.780/0.764 |")
    print(f"\n{strict.tp} matched, {strict.fp} false, {strict.fn} missed")
    print(f"left/right with the left axis learned from the walk (no mounting): "
          f"{np.mean(sides_learned):.3f}")  # fmt: skip
    print(
        f"{strict.fp_in_untimed_gaps} false detections lie where the reference skips a step_id "
        f"(a contact INDIP did not time); not counting them: "
        f"F1 {strict.f1_without_untimed_gaps:.3f}"
    )
    print(
        f"edge-tolerant window (detections up to {TOLERANCE_S} s outside a sequence may match "
        f"its first/last contact): precision {edge.precision:.3f}, recall {edge.recall:.3f}, "
        f"F1 {edge.f1:.3f}; and not counting false detections in untimed gaps either: "
        f"F1 {edge.f1_without_untimed_gaps:.3f}"
    )
    lat_ms = 1000 * np.array(latency_s)
    print(
        f"emitted after the reference contact: median {np.median(lat_ms):.0f} ms, "
        f"max {lat_ms.max():.0f} ms, {np.mean(lat_ms <= 300):.1%} within 300 ms"
    )


if __name__ == "__main__":
    main()

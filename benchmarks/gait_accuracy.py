"""Initial contacts and sides on real lower-back walking (mobgap lab data, INDIP reference).

Runs ``hipsense analyze``'s walk analysis (the causal streaming detector, files read through
``--column-map``/``--axes`` as documented in docs/gait.md) over the whole of every recording in
``../shared/benchmarks/gait/`` and scores the contacts inside the reference gait sequences as
that README defines: tolerance 0.25 s, one-to-one matching (minimum total time error). Left/right
accuracy is over the matched contacts: with the pelvis's left axis from ``--axes`` (the table)
and learned from the walk without a mounting. Prints a table for docs/validation.md.

    .venv/bin/python benchmarks/gait_accuracy.py [--per-sequence]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from hipsense import paths
from hipsense.gait.analysis import analyse_walk
from hipsense.gait.contacts import ContactDetector
from hipsense.gait.sources import raw_arrays, read_foreign_csv
from scipy.optimize import linear_sum_assignment

TOLERANCE_S = 0.25
COLUMN_MAP = {"t_s": "time_s", **{f"acc_{a}_mps2": f"acc_{a}" for a in "xyz"},
              **{f"gyr_{a}_dps": f"gyr_{a}" for a in "xyz"}}  # fmt: skip
AXES = "z,-y,x"  # mobgap sensor frame: x up, y right, z forward
REFERENCE = {  # the README's anchor numbers (mobgap 1.2.0 on the same files)
    "IcdShinImproved": (0.817, 0.811, 0.814, 85),
    "IcdIonescu": (0.796, 0.677, 0.732, 87),
    "IcdHKLeeImproved": (0.771, 0.795, 0.783, 102),
}


def match(det_s: np.ndarray, ref_s: np.ndarray) -> list[tuple[int, int]]:
    """One-to-one pairs within the tolerance with the least total time error."""
    if len(det_s) == 0 or len(ref_s) == 0:
        return []
    cost = np.abs(det_s[:, None] - ref_s[None, :])
    big = 1e6
    rows, cols = linear_sum_assignment(np.where(cost <= TOLERANCE_S, cost, big))
    return [(int(i), int(j)) for i, j in zip(rows, cols, strict=True) if cost[i, j] <= TOLERANCE_S]


def main() -> None:
    parser = argparse.ArgumentParser(description="Gait contacts on the mobgap lab data.")
    parser.add_argument("--per-sequence", action="store_true")
    args = parser.parse_args()
    root = paths.shared_dir() / "benchmarks" / "gait"
    if not root.is_dir():
        sys.exit(f"benchmark data not found at {root}")
    tp = fp = fn = 0
    errors: list[float] = []
    sides: list[bool] = []
    sides_learned: list[bool] = []
    latency: list[float] = []
    fp_in_gaps = 0  # false detections between reference contacts whose step_id skips
    edge = [0, 0]  # matched, false with the edge-tolerant window
    for imu in sorted(root.glob("HA_*/*_imu.csv")):
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
        for g in gs.to_dict("records"):
            inside = (det_t >= g["start_s"]) & (det_t < g["end_s"])
            dt, ds, da = det_t[inside], det_side[inside], det_at[inside]
            dl = det_side_learned[inside]
            ref = ic[ic.gs_id == g["gs_id"]]
            rt, rs = ref.time_s.to_numpy(), ref.side.to_numpy()
            pairs = match(dt, rt)
            step_id = ref.step_id.to_numpy()
            matched = {i for i, _ in pairs}
            for i, x in enumerate(dt):
                k = int(np.searchsorted(rt, x))
                if i not in matched and 0 < k < len(rt) and step_id[k] - step_id[k - 1] > 1:
                    fp_in_gaps += 1
            # edge-tolerant variant: a contact just outside the sequence may match its first or
            # last reference contact; only unmatched detections inside count as false
            near = (det_t >= g["start_s"] - TOLERANCE_S) & (det_t < g["end_s"] + TOLERANCE_S)
            pairs_edge = match(det_t[near], rt)
            hit = {int(i) for i, _ in pairs_edge}
            inside_near = inside[near]
            edge[0] += len(pairs_edge)
            edge[1] += sum(1 for i in range(int(near.sum())) if inside_near[i] and i not in hit)
            tp += len(pairs)
            fp += len(dt) - len(pairs)
            fn += len(rt) - len(pairs)
            errors += [dt[i] - rt[j] for i, j in pairs]
            sides += [ds[i] == rs[j] for i, j in pairs]
            sides_learned += [dl[i] == rs[j] for i, j in pairs]
            latency += [da[i] - rt[j] for i, j in pairs]
            if args.per_sequence:
                print(
                    f"{imu.parent.name} {imu.name[:-8]} gs{g['gs_id']}: ref {len(rt)} "
                    f"det {len(dt)} "
                    f"matched {len(pairs)} sides ok {sum(ds[i] == rs[j] for i, j in pairs)}"
                )
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    f1 = 2 * precision * recall / (precision + recall)
    err_ms = 1000 * float(np.mean(np.abs(errors)))
    bias_ms = 1000 * float(np.mean(errors))
    print("| algorithm | precision | recall | F1 | mean abs. timing error | left/right accuracy |")
    print("|---|---|---|---|---|---|")
    lr = f"{np.mean(sides):.3f} ({len(sides)} matched)"
    print(
        f"| hipsense (causal, streaming) | {precision:.3f} | {recall:.3f} | {f1:.3f} | "
        f"{err_ms:.0f} ms (bias {bias_ms:+.0f} ms) | {lr} |"
    )
    for name, (p, r, f, e) in REFERENCE.items():
        print(f"| mobgap {name} | {p:.3f} | {r:.3f} | {f:.3f} | {e} ms | — |")
    print("| mobgap LrcUllrich / LrcMcCamley (127 reference contacts) | | | | | 0.780 / 0.764 |")
    print(f"\n{tp} matched, {fp} false, {fn} missed; reference contacts {tp + fn}")
    print(
        f"left/right with the left axis learned from the walk (no mounting): "
        f"{np.mean(sides_learned):.3f}"
    )
    p_gap = tp / (tp + fp - fp_in_gaps)
    f1_gap = 2 * p_gap * recall / (p_gap + recall)
    print(
        f"{fp_in_gaps} false detections lie where the reference skips a step_id (a contact INDIP "
        f"did not time); not counting them: precision {p_gap:.3f}, F1 {f1_gap:.3f}"
    )
    p_e, r_e = edge[0] / (edge[0] + edge[1]), edge[0] / (tp + fn)
    print(
        f"edge-tolerant window (detections up to {TOLERANCE_S} s outside a sequence may match "
        f"its first/last contact): precision {p_e:.3f}, recall {r_e:.3f}, "
        f"F1 {2 * p_e * r_e / (p_e + r_e):.3f}"
    )
    lat_ms = 1000 * np.array(latency)
    print(
        f"emitted after the reference contact: median {np.median(lat_ms):.0f} ms, "
        f"max {lat_ms.max():.0f} ms, {np.mean(lat_ms <= 300):.1%} within 300 ms"
    )


if __name__ == "__main__":
    main()

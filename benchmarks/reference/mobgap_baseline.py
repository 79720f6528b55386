"""mobgap 1.2.0's own initial-contact detectors and left/right classifiers on a gait folder,
scored exactly as ``benchmarks/gait_accuracy.py`` scores hipsense
(``hipsense.detectors.walk.scoring``).

Two protocols for the detectors:
- per sequence: each algorithm sees only the data of one reference gait sequence (how the
  shared README's anchor numbers were made; reproduces them on ``../shared/benchmarks/gait``);
- whole recording: each algorithm sees the whole recording, as hipsense's causal detector does;
  scored with the strict and the edge-tolerant window.
The classifiers label the reference contacts of each gait sequence (as in the README).
Runs in the mobgap venv (``make heldout``).

    .venv-mobgap/bin/python benchmarks/reference/mobgap_baseline.py FOLDER
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "host"))
from hipsense.detectors.walk.scoring import ContactTally

RATE_HZ = 100.0


def body_frame(imu: pd.DataFrame) -> pd.DataFrame:
    from mobgap.utils.conversions import to_body_frame

    return to_body_frame(imu[["acc_x", "acc_y", "acc_z", "gyr_x", "gyr_y", "gyr_z"]])


def main() -> None:
    parser = argparse.ArgumentParser(description="mobgap's algorithms on a gait folder.")
    parser.add_argument("folder", type=Path)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")  # sklearn's version notice on mobgap's pickled models
    from mobgap.initial_contacts import IcdHKLeeImproved, IcdIonescu, IcdShinImproved
    from mobgap.laterality import LrcMcCamley, LrcUllrich

    imus = sorted(args.folder.glob("*/*_imu.csv"))
    if not imus:
        sys.exit(f"no */*_imu.csv recordings under {args.folder}")
    recordings = []
    for path in imus:
        ic = pd.read_csv(str(path).replace("_imu.csv", "_ic_ref.csv"))
        gs = pd.read_csv(str(path).replace("_imu.csv", "_gs_ref.csv"))
        recordings.append((body_frame(pd.read_csv(path)), ic, gs))
    print(f"data: {args.folder} ({len(imus)} recordings)\n")
    print(
        "| mobgap 1.2.0 detector | protocol | precision | recall | F1 | F1 without false "
        "detections in untimed gaps | mean abs. timing error |"
    )
    print("|---|---|---|---|---|---|---|")
    for algo in (IcdShinImproved, IcdIonescu, IcdHKLeeImproved):
        per_gs, whole, whole_edge = ContactTally(), ContactTally(), ContactTally()
        for data, ic, gs in recordings:
            det_s: list[float] = []
            for g in gs.itertuples(index=False):
                seg = data.iloc[int(g.start_sample) : int(g.end_sample)].reset_index(drop=True)
                found = algo().detect(seg, sampling_rate_hz=RATE_HZ).ic_list_["ic"].to_numpy()
                det_s += list((found + int(g.start_sample)) / RATE_HZ)
            per_gs.add(det_s, ic, gs)
            found = algo().detect(data, sampling_rate_hz=RATE_HZ).ic_list_["ic"].to_numpy()
            all_s = found / RATE_HZ
            whole.add(all_s, ic, gs)
            whole_edge.add(all_s, ic, gs, edge_tolerant=True)
        for protocol, t in (("per sequence", per_gs), ("whole recording", whole),
                            ("whole recording, edge-tolerant", whole_edge)):  # fmt: skip
            err_ms = 1000 * float(np.mean(np.abs(t.errors_s)))
            print(f"| {algo.__name__} | {protocol} | {t.precision:.3f} | {t.recall:.3f} | "
                  f"{t.f1:.3f} | {t.f1_without_untimed_gaps:.3f} | {err_ms:.0f} ms |")  # fmt: skip
    print("\n| mobgap 1.2.0 classifier | left/right accuracy on the reference contacts |")
    print("|---|---|")
    for lrc in (LrcUllrich, LrcMcCamley):
        right = total = 0
        for data, ic, gs in recordings:
            for g in gs.itertuples(index=False):
                ref = ic[ic["gs_id"] == g.gs_id]
                seg = data.iloc[int(g.start_sample) : int(g.end_sample)].reset_index(drop=True)
                ics = pd.DataFrame({"ic": ref["sample"].to_numpy() - int(g.start_sample)})
                labels = lrc().predict(seg, ics, sampling_rate_hz=RATE_HZ).ic_lr_list_["lr_label"]
                right += int(np.sum(labels.str[0].str.upper().to_numpy() == ref["side"].to_numpy()))
                total += len(ref)
        print(f"| {lrc.__name__} | {right / total:.3f} ({total} contacts) |")


if __name__ == "__main__":
    main()

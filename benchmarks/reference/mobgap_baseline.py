"""mobgap 1.2.0's own initial-contact detectors and left/right classifiers on every gait folder,
scored exactly as ``benchmarks/gait_accuracy.py`` scores hipsense
(``hipsense.detectors.walk.scoring``),
per set and per participant.

Each recording is turned into mobgap's sensor frame (x up, y right, z forward) with its own
``--axes`` from ``participant.json``
(``hipsense.detectors.walk.scoring.reference_recordings``), then
renamed to mobgap's body frame. Two protocols for the detectors:
- per sequence: each algorithm sees only the data of one reference gait sequence (how the
  shared README's anchor numbers were made; reproduces them on ``../shared/benchmarks/gait``);
- whole recording: each algorithm sees the whole recording, as hipsense's causal detector does;
  also scored edge-tolerant (``hipsense.detectors.walk.scoring``).
The classifiers label the reference contacts of each gait sequence (as in the README).
Recordings that are not pooled (a repeated participant, a non-alternating reference) are left
out of the set figures as in ``gait_accuracy.py``. Runs in the mobgap venv (``make heldout``).

    .venv-mobgap/bin/python benchmarks/reference/mobgap_baseline.py [EXTRA_FOLDER ...]
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "host"))
from hipsense.detectors.walk.scoring import (
    ContactTally,
    ReferenceRecording,
    benchmark_folders,
    reference_recordings,
)

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "benchmarks"
DETECTORS = ("IcdShinImproved", "IcdIonescu", "IcdHKLeeImproved")
CLASSIFIERS = ("LrcUllrich", "LrcMcCamley")


def mobgap_frame(imu: pd.DataFrame, axes: str) -> pd.DataFrame:
    """The recording in mobgap's body frame: ``axes`` names the sensor axes along the pelvis's
    anterior, left and up directions; mobgap wants x up, y right, z forward."""
    from mobgap.utils.conversions import to_body_frame

    def column(kind: str, spec: str, sign: float) -> np.ndarray:
        s = spec.strip()
        neg = s.startswith("-")
        v = imu[f"{kind}_{s.lstrip('+-')}"].to_numpy(np.float64)
        return sign * (-v if neg else v)

    forward, left, up = axes.split(",")
    out = {}
    for kind in ("acc", "gyr"):
        out[f"{kind}_x"] = column(kind, up, 1.0)
        out[f"{kind}_y"] = column(kind, left, -1.0)
        out[f"{kind}_z"] = column(kind, forward, 1.0)
    return to_body_frame(pd.DataFrame(out))


def run(r: ReferenceRecording, algos: dict[str, Any]) -> dict[str, Any]:
    data = mobgap_frame(pd.read_csv(r.imu), r.axes)
    rate = r.rate_hz
    out: dict[str, Any] = {}
    for name in DETECTORS:
        per_gs, whole, edge = ContactTally(), ContactTally(), ContactTally()
        det_s: list[float] = []
        for g in r.gs.itertuples(index=False):
            seg = data.iloc[int(g.start_sample) : int(g.end_sample)].reset_index(drop=True)
            found = algos[name]().detect(seg, sampling_rate_hz=rate).ic_list_["ic"].to_numpy()
            det_s += list((found + int(g.start_sample)) / rate)
        per_gs.add(det_s, r.ic, r.gs)
        found = algos[name]().detect(data, sampling_rate_hz=rate).ic_list_["ic"].to_numpy()
        whole.add(found / rate, r.ic, r.gs)
        edge.add(found / rate, r.ic, r.gs, edge_tolerant=True)
        out[name] = (per_gs, whole, edge)
    for name in CLASSIFIERS:
        ok = total = 0
        for g in r.gs.itertuples(index=False):
            ref = r.ic[r.ic["gs_id"] == g.gs_id]
            if ref.empty:
                continue
            seg = data.iloc[int(g.start_sample) : int(g.end_sample)].reset_index(drop=True)
            ics = pd.DataFrame({"ic": ref["sample"].to_numpy() - int(g.start_sample)})
            labels = algos[name]().predict(seg, ics, sampling_rate_hz=rate).ic_lr_list_["lr_label"]
            ok += int(np.sum(labels.str[0].str.upper().to_numpy() == ref["side"].to_numpy()))
            total += len(ref)
        out[name] = (ok, total)
    return out


def merge(into: dict[str, Any], one: dict[str, Any]) -> None:
    for name, value in one.items():
        if name in CLASSIFIERS:
            ok, total = into.get(name, (0, 0))
            into[name] = (ok + value[0], total + value[1])
            continue
        acc = into.setdefault(name, (ContactTally(), ContactTally(), ContactTally()))
        for a, b in zip(acc, value, strict=True):
            a.tp, a.fp, a.fn = a.tp + b.tp, a.fp + b.fp, a.fn + b.fn
            a.errors_s += b.errors_s


def row(name: str, res: dict[str, Any]) -> str:
    cells = []
    for d in DETECTORS:
        per_gs, whole, edge = res[d]
        cells.append(f"{per_gs.f1:.3f} / {whole.f1:.3f} / {edge.f1:.3f}")
    for c in CLASSIFIERS:
        ok, total = res[c]
        cells.append(f"{ok / max(total, 1):.3f}")
    return f"| {name} | " + " | ".join(cells) + " |"


def main() -> None:
    parser = argparse.ArgumentParser(description="mobgap's algorithms on every gait folder.")
    parser.add_argument("folders", nargs="*", type=Path, help="extra folders (held-out data)")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")  # sklearn's version notice on mobgap's pickled models
    from mobgap.initial_contacts import IcdHKLeeImproved, IcdIonescu, IcdShinImproved
    from mobgap.laterality import LrcMcCamley, LrcUllrich

    algos = {"IcdShinImproved": IcdShinImproved, "IcdIonescu": IcdIonescu,
             "IcdHKLeeImproved": IcdHKLeeImproved, "LrcUllrich": LrcUllrich,
             "LrcMcCamley": LrcMcCamley}  # fmt: skip
    folders = benchmark_folders(SHARED) + list(args.folders)
    sets: dict[str, dict[str, Any]] = {}
    people: dict[str, dict[str, Any]] = {}
    for folder in folders:
        for r in reference_recordings(folder):
            res = run(r, algos)
            if r.reference_ok:  # as gait_accuracy.py: an unfit reference is left out
                merge(people.setdefault(f"{r.set_name} {r.participant}", {}), res)
            if r.pooled:
                merge(sets.setdefault(r.set_name, {}), res)
    head = (
        "| {what} | "
        + " | ".join(f"{d} F1 (per sequence / whole / edge-tolerant)" for d in DETECTORS)
        + " | " + " | ".join(f"{c} left/right" for c in CLASSIFIERS) + " |\n"
        + "|---" * (1 + len(DETECTORS) + len(CLASSIFIERS)) + "|"
    )  # fmt: skip
    print("mobgap 1.2.0, per set (pooled recordings):\n")
    print(head.format(what="set"))
    for name, res in sets.items():
        print(row(name, res))
    print("\nPer set, detectors in detail:\n")
    print("| set | detector | protocol | precision | recall | F1 | mean abs. timing error |")
    print("|---|---|---|---|---|---|---|")
    for name, res in sets.items():
        for d in DETECTORS:
            protocols = ("per sequence", "whole recording", "whole recording, edge-tolerant")
            for protocol, t in zip(protocols, res[d], strict=True):
                err = 1000 * float(np.mean(np.abs(t.errors_s))) if t.errors_s else float("nan")
                print(f"| {name} | {d} | {protocol} | {t.precision:.3f} | {t.recall:.3f} | "
                      f"{t.f1:.3f} | {err:.0f} ms |")  # fmt: skip
    print("\nPer participant:\n")
    print(head.format(what="participant"))
    for name, res in people.items():
        print(row(name, res))


if __name__ == "__main__":
    main()

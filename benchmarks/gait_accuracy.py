"""Initial contacts and sides on real lower-back walking, per set and per participant.

Runs ``hipsense analyze``'s walk analysis (the causal streaming detector, each file read through
``--column-map`` and given its own ``--axes`` from its ``participant.json``, as a user would) over
the whole of every recording of every folder of ``../shared/benchmarks`` in the gait benchmark
layout (``gait``, ``gait-ipol``; more folders as arguments, e.g. the held-out participant of
``make heldout``), and once more without ``--axes`` (the mounting estimated from the recording).
Contacts are scored inside the reference gait sequences (``hipsense.detectors.walk.scoring``:
one-to-one
within ±0.25 s); left/right accuracy is over the matched contacts, and once more over those whose
side is not flagged uncertain (``side_uncertain`` in the JSON: |side score| below
``SIDE_CERTAIN_SCORE``), with the share flagged: a physio sees the flag, so a wrong side behind it
misleads less than a confident one. Nothing is tuned here: the
detector's parameters are fixed, so every participant's figure is a leave-one-participant-out
figure for that participant. Recordings that repeat another participant's or whose reference
does not alternate are listed but not pooled (``ReferenceRecording.pooled``); the latter are
left out of their participant's figures too (``reference_ok``: the dataset's README says to use
them for IMU-only checks, not for contact-level accuracy).

    .venv/bin/python benchmarks/gait_accuracy.py [EXTRA_FOLDER ...] [--per-recording]
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt
from hipsense import paths
from hipsense.analysis.walk import SIDE_CERTAIN_SCORE, analyse_walk
from hipsense.detectors.walk.contacts import Contact
from hipsense.detectors.walk.scoring import (
    MISS_KINDS,
    ContactTally,
    ReferenceRecording,
    benchmark_folders,
    reference_recordings,
)
from hipsense.recording.importer import read_foreign_csv

COLUMN_MAP = {"t_s": "time_s", **{f"acc_{a}_mps2": f"acc_{a}" for a in "xyz"},
              **{f"gyr_{a}_dps": f"gyr_{a}" for a in "xyz"}}  # fmt: skip


@dataclass
class Score:
    """Contacts and sides over any number of recordings."""

    tally: ContactTally = field(default_factory=ContactTally)
    edge: ContactTally = field(default_factory=ContactTally)
    side_ok: int = 0
    side_ok_no_axes: int = 0
    sure: int = 0  # matched contacts whose side (--axes) is not flagged uncertain
    side_ok_sure: int = 0  # ... and right
    latency_s: list[float] = field(default_factory=list)
    tilts: list[float] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # no walking found (plausibility gate)

    def add(self, other: Score) -> None:
        self.tally.merge(other.tally)
        self.edge.merge(other.edge)
        self.side_ok += other.side_ok
        self.side_ok_no_axes += other.side_ok_no_axes
        self.sure += other.sure
        self.side_ok_sure += other.side_ok_sure
        self.latency_s += other.latency_s
        self.tilts += other.tilts
        self.refused += other.refused

    @property
    def sides(self) -> float:
        return self.side_ok / max(self.tally.tp, 1)

    @property
    def sides_no_axes(self) -> float:
        return self.side_ok_no_axes / max(self.tally.tp, 1)

    @property
    def sides_sure(self) -> float:
        """Left/right (--axes) over the matched contacts not flagged uncertain."""
        return self.side_ok_sure / max(self.sure, 1)

    @property
    def unsure_share(self) -> float:
        """The share of matched contacts whose side (--axes) is flagged uncertain."""
        return 1.0 - self.sure / max(self.tally.tp, 1)

    def sure_cell(self) -> str:
        return f"{self.sides_sure:.3f} ({100 * self.unsure_share:.0f} %)"

    def row(self, name: str) -> str:
        t = self.tally
        err = 1000 * float(np.mean(np.abs(t.errors_s))) if t.errors_s else float("nan")
        tilt = f"{min(self.tilts):.0f}–{max(self.tilts):.0f}°" if self.tilts else "—"
        return (
            f"| {name} | {t.tp + t.fn} | {t.precision:.3f} | {t.recall:.3f} | {t.f1:.3f} | "
            f"{self.edge.f1:.3f} | {err:.0f} ms | {self.sides:.3f} | {self.sides_no_axes:.3f} | "
            f"{self.sure_cell()} | {tilt} |"
        )


def score_recording(r: ReferenceRecording) -> Score:
    rec = read_foreign_csv(r.imu, COLUMN_MAP)
    with_axes = analyse_walk(rec, axes=r.axes)
    without = analyse_walk(rec)
    s = score_contacts(
        r, [e.contact for e in with_axes.events], [e.contact for e in without.events]
    )
    if not (with_axes.walking_found and without.walking_found):
        s.refused = [f"{r.participant}/{r.name}"]
    return s


def score_contacts(
    r: ReferenceRecording, with_axes: list[Contact], without: list[Contact]
) -> Score:
    """Score one recording's contacts found with its ``--axes`` and without (the same contact
    times; only the sides may differ) against its reference."""
    det_t = np.array([c.t_s for c in with_axes])
    if not np.array_equal(det_t, [c.t_s for c in without]):
        raise AssertionError(f"{r.imu}: the contacts depend on the mounting")
    side = [c.side[0].upper() for c in with_axes]
    side_no_axes = [c.side[0].upper() for c in without]
    at = [c.t_detected_s for c in with_axes]
    s = Score()
    pairs = s.tally.add(det_t, r.ic, r.gs)
    s.edge.add(det_t, r.ic, r.gs, edge_tolerant=True)
    ref_side, ref_t = r.ic["side"].to_numpy(), r.ic["time_s"].to_numpy()
    s.side_ok = sum(side[i] == ref_side[j] for i, j in pairs)
    s.side_ok_no_axes = sum(side_no_axes[i] == ref_side[j] for i, j in pairs)
    sure = [(i, j) for i, j in pairs if abs(with_axes[i].side_score) >= SIDE_CERTAIN_SCORE]
    s.sure = len(sure)
    s.side_ok_sure = sum(side[i] == ref_side[j] for i, j in sure)
    s.latency_s = [at[i] - ref_t[j] for i, j in pairs]
    if r.tilt_deg is not None:
        s.tilts = [float(r.tilt_deg)]
    return s


HEADER = (
    "| {what} | reference contacts | precision | recall | F1 | F1 edge-tolerant | mean abs. "
    "timing error | left/right (--axes) | left/right (no --axes) | left/right where sure (share "
    "flagged uncertain) | sensor tilt |\n" + "|---" * 11 + "|"
)


def main() -> None:
    parser = argparse.ArgumentParser(description="Gait contacts and sides on real walking.")
    parser.add_argument("folders", nargs="*", type=Path, help="extra folders (held-out data)")
    parser.add_argument("--per-recording", action="store_true")
    args = parser.parse_args()
    root = paths.shared_dir() / "benchmarks"
    folders = benchmark_folders(root) + list(args.folders)
    if not folders:
        sys.exit(f"no gait benchmark folders under {root}")
    sets: dict[str, Score] = {}
    people: dict[str, dict[str, Score]] = {}
    notes: dict[str, str] = {}
    all_latency: list[float] = []
    refused: list[str] = []
    n_recordings = 0
    for folder in folders:
        for r in reference_recordings(folder):
            s = score_recording(r)
            n_recordings += 1
            refused += s.refused
            key = f"{r.set_name} {r.participant}"
            if r.reference_ok:
                people.setdefault(r.set_name, {}).setdefault(r.participant, Score()).add(s)
            if r.pooled:
                sets.setdefault(r.set_name, Score()).add(s)
                all_latency += s.latency_s
            else:
                notes[f"{key} {r.name}"] = r.note
            if args.per_recording:
                print(s.row(f"{key} {r.name} (--axes {r.axes})"))
    print("Per set (pooled recordings; hipsense causal, whole recordings):\n")
    print(HEADER.format(what="set"))
    for name, s in sets.items():
        print(s.row(name))
    print("\nPer participant (nothing tuned per participant: each is a held-out figure):\n")
    print(HEADER.format(what="participant"))
    for set_name, group in people.items():
        for name, s in group.items():
            print(s.row(f"{set_name} {name}"))
    if notes:
        print("\nNot pooled: " + "; ".join(f"{k} ({v})" for k, v in notes.items()))
    print(
        f"\nPlausibility gate: {n_recordings - len(refused)} of {n_recordings} recordings found "
        "walking" + (f"; refused: {', '.join(refused)}" if refused else "")
    )
    print("\nMissed reference contacts (strict window) by where they are:")
    for name, s in sets.items():
        print(f"- {name}: {_misses(s.tally)}")
    for set_name, group in people.items():
        for name, s in group.items():
            print(f"- {set_name} {name}: {_misses(s.tally)}")
    lat = 1000 * np.array(all_latency)
    print(f"\nEmitted after the reference contact (pooled): {_delays(lat)}")
    print("Per participant: " + "; ".join(
        f"{set_name} {name} {_delays(1000 * np.array(s.latency_s))}"
        for set_name, group in people.items() for name, s in group.items()
    ))  # fmt: skip


def _misses(t: ContactTally) -> str:
    """The missed contacts by kind (``MISS_KINDS``), and how far outside the edge ones were."""
    kinds = ", ".join(f"{t.misses[k]} {k}" for k in MISS_KINDS if t.misses[k])
    off = 1000 * np.abs(t.edge_offsets_s)
    edge = f" (just outside by {off.min():.0f}–{off.max():.0f} ms)" if off.size else ""
    return f"{t.fn} missed: {kinds or 'none'}{edge}"


def _delays(lat_ms: npt.NDArray[np.float64]) -> str:
    """Median, longest and the steps beyond 300 ms (sample times: exactly 300 ms is within)."""
    late = int(np.sum(np.round(lat_ms, 3) > 300.0))
    return (
        f"median {np.median(lat_ms):.0f} ms, max {lat_ms.max():.0f} ms, "
        f"{late} of {lat_ms.size} beyond 300 ms"
    )


if __name__ == "__main__":
    main()

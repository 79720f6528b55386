"""Scoring detected initial contacts against a reference with gait sequences.

The rule of the mobgap lab data (``../shared/benchmarks/gait/README.md``): contacts inside a
reference gait sequence ``[start, end)`` are matched one-to-one to its reference contacts within
a tolerance (±0.25 s), with the least total time error. Two variants explain where the errors
come from without changing the headline figure:
- edge-tolerant: a detection up to the tolerance outside a sequence may match its first or last
  reference contact (a sequence starts and ends at a contact, so a detection 10 ms off falls
  outside); unmatched detections still count as false only inside;
- untimed gaps: a false detection between two reference contacts whose ``step_id`` skips lies
  where the reference system gave no time for a contact, so it may be a real one.

Each missed reference contact is also sorted by where it is (:data:`MISS_KINDS`): a sequence's
first or last contact that a detection just outside the sequence would match (the window's edge,
not the detector, lost it), or one with no detection to match at all.

Only numpy, pandas and scipy: the mobgap comparison scripts import it from their own venv.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:  # pandas and scipy load at first use: the detectors import fast (issue 20)
    import pandas as pd

TOLERANCE_S = 0.25

MISS_KINDS = (
    "first, detected just before the sequence",
    "last, detected just after the sequence",
    "first, not detected",
    "last, not detected",
    "inside, not detected",
)
"""Where a missed reference contact is (``ContactTally.misses``): a sequence starts at its first
contact and ends one sample after its last (the benchmark layout), so a detection of the first
contact a few ms early, or of the last one at or after the end, falls outside the window and the
contact counts as missed; "not detected": no detection, inside or up to the tolerance outside,
matches it."""


def match_contacts(
    det_s: npt.ArrayLike, ref_s: npt.ArrayLike, tolerance_s: float = TOLERANCE_S
) -> list[tuple[int, int]]:
    """One-to-one (detection index, reference index) pairs within ``tolerance_s`` with the least
    total absolute time error."""
    det = np.asarray(det_s, dtype=np.float64)
    ref = np.asarray(ref_s, dtype=np.float64)
    if det.size == 0 or ref.size == 0:
        return []
    cost = np.abs(det[:, None] - ref[None, :])
    # out-of-tolerance pairs get a cost larger than any sum of in-tolerance ones
    big = tolerance_s * (min(det.size, ref.size) + 1) + 1.0
    from scipy.optimize import linear_sum_assignment

    rows, cols = linear_sum_assignment(np.where(cost <= tolerance_s, cost, big))
    return [(int(i), int(j)) for i, j in zip(rows, cols, strict=True) if cost[i, j] <= tolerance_s]


@dataclass
class ContactTally:
    """Counts over any number of recordings; ``errors_s``: detection − reference time of each
    matched pair (s)."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    fp_in_untimed_gaps: int = 0
    errors_s: list[float] = field(default_factory=list)
    misses: Counter[str] = field(default_factory=Counter[str])
    """The missed reference contacts by kind (:data:`MISS_KINDS`; strict scoring only)."""
    edge_offsets_s: list[float] = field(default_factory=list)
    """Detection − reference time of the edge misses (detected just outside the sequence)."""

    def merge(self, other: ContactTally) -> None:
        """Add ``other``'s counts to these."""
        self.tp, self.fp, self.fn = self.tp + other.tp, self.fp + other.fp, self.fn + other.fn
        self.fp_in_untimed_gaps += other.fp_in_untimed_gaps
        self.errors_s += other.errors_s
        self.misses.update(other.misses)
        self.edge_offsets_s += other.edge_offsets_s

    @property
    def precision(self) -> float:
        return self.tp / max(self.tp + self.fp, 1)

    @property
    def recall(self) -> float:
        return self.tp / max(self.tp + self.fn, 1)

    @property
    def f1(self) -> float:
        return _f1(self.precision, self.recall)

    @property
    def f1_without_untimed_gaps(self) -> float:
        """F1 when false detections in the reference's untimed gaps are not counted."""
        precision = self.tp / max(self.tp + self.fp - self.fp_in_untimed_gaps, 1)
        return _f1(precision, self.recall)

    def add(
        self,
        det_s: npt.ArrayLike,
        ic_ref: pd.DataFrame,
        gs_ref: pd.DataFrame,
        *,
        edge_tolerant: bool = False,
        tolerance_s: float = TOLERANCE_S,
    ) -> list[tuple[int, int]]:
        """Score one recording: ``det_s`` detection times (s), ``ic_ref`` with columns gs_id,
        step_id, time_s; ``gs_ref`` with gs_id, start_s, end_s (end exclusive). Returns the
        matched (detection, ``ic_ref`` row) positions."""
        det = np.asarray(det_s, dtype=np.float64)
        margin = tolerance_s if edge_tolerant else 0.0
        pairs: list[tuple[int, int]] = []
        gs_id = ic_ref["gs_id"].to_numpy()
        for g in gs_ref.to_dict("records"):
            start, end = float(g["start_s"]), float(g["end_s"])
            near = np.flatnonzero(_within(det, start - margin, end + margin))
            ref_pos = np.flatnonzero(gs_id == g["gs_id"])
            ref = ic_ref.iloc[ref_pos]
            ref_t = ref["time_s"].to_numpy(dtype=np.float64)
            step_id = ref["step_id"].to_numpy()
            found = match_contacts(det[near], ref_t, tolerance_s)
            hit = {i for i, _ in found}
            if not edge_tolerant:
                self._sort_misses(det, ref_t, start, end, {j for _, j in found}, tolerance_s)
            self.tp += len(found)
            self.fn += len(ref_t) - len(found)
            pairs += [(int(near[i]), int(ref_pos[j])) for i, j in found]
            self.errors_s += [float(det[near[i]] - ref_t[j]) for i, j in found]
            for i, k in enumerate(near):
                if i in hit or not _within(det[k], start, end):
                    continue
                self.fp += 1
                after = int(np.searchsorted(ref_t, det[k]))
                if 0 < after < len(ref_t) and step_id[after] - step_id[after - 1] > 1:
                    self.fp_in_untimed_gaps += 1
        return pairs

    def _sort_misses(
        self,
        det: npt.NDArray[np.float64],
        ref_t: npt.NDArray[np.float64],
        start: float,
        end: float,
        matched: set[int],
        tolerance_s: float,
    ) -> None:
        """Sort one sequence's missed reference contacts (``matched``: those matched inside)."""
        around = np.flatnonzero(_within(det, start - tolerance_s, end + tolerance_s))
        pairs = match_contacts(det[around], ref_t, tolerance_s)
        wide = {j: float(det[around[i]]) for i, j in pairs}
        for j in sorted(set(range(len(ref_t))) - matched):
            t = wide.get(j)
            if t is not None and not _within(t, start, end):  # the window's edge lost it
                self.misses[MISS_KINDS[0] if t < start else MISS_KINDS[1]] += 1
                self.edge_offsets_s.append(t - float(ref_t[j]))
            else:
                where = "first" if j == 0 else "last" if j == len(ref_t) - 1 else "inside"
                self.misses[f"{where}, not detected"] += 1


SAME_SAMPLE_S = 1e-6
"""Times closer than this are the same sample: a contact dated ``t_peak - delay`` can land a
rounding error (1e-15 s) before the sample it names."""


def _within(t: Any, start: float, end: float) -> Any:
    """``start <= t < end`` on the sample grid (elementwise for an array)."""
    return (t >= start - SAME_SAMPLE_S) & (t < end - SAME_SAMPLE_S)


def _f1(precision: float, recall: float) -> float:
    return 2 * precision * recall / max(precision + recall, 1e-12)


@dataclass(frozen=True)
class ReferenceRecording:
    """One recording of a gait benchmark folder (``../shared/benchmarks/gait*`` layout):
    ``imu`` path, reference contacts ``ic`` and gait sequences ``gs``, the ``axes`` option of
    its ``participant.json`` (mobgap's documented frame ``z,-y,x`` when it gives none), the
    participant's height (m, None when unknown) and the sensor tilt at standing (°, None when
    not measured). ``pooled`` is False for a participant that repeats another one's recordings
    (``same_recording_as``) and for a reference whose contacts alternate in under 90 % of the
    consecutive pairs (``share_alternating``: an algorithm reference that found extra contacts);
    such recordings are listed but left out of the pooled figures, with ``note`` saying why.
    ``reference_ok`` is False only for the latter: its contacts and sides are not fit for
    contact-level scoring (only for IMU-only checks), so its participant's figures leave it out
    too."""

    set_name: str
    participant: str
    name: str
    imu: Path
    ic: pd.DataFrame
    gs: pd.DataFrame
    axes: str
    rate_hz: float
    height_m: float | None
    tilt_deg: float | None
    pooled: bool
    note: str
    reference_ok: bool = True


MOBGAP_AXES = "z,-y,x"
"""mobgap's sensor frame (x up, y right, z forward) as --axes."""


def reference_recordings(root: Path) -> list[ReferenceRecording]:
    """Every ``<participant>/<recording>_imu.csv`` under ``root`` with its reference files."""
    import json

    import pandas as pd

    out = []
    for imu in sorted(root.glob("*/*_imu.csv")):
        meta_path = imu.parent / "participant.json"
        meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
        name = imu.name[: -len("_imu.csv")]
        rec_meta = meta.get("recordings", {}).get(name, {})
        height = meta.get("height_m") or (
            meta["height_cm"] / 100.0 if meta.get("height_cm") else None
        )
        note = ""
        alternating = rec_meta.get("share_alternating", 1.0)
        if meta.get("same_recording_as"):
            note = f"same recordings as {meta['same_recording_as']}"
        elif alternating < 0.9:
            note = f"reference contacts alternate in only {alternating:.0%} of the pairs"
        out.append(
            ReferenceRecording(
                set_name=root.name,
                participant=imu.parent.name,
                name=name,
                imu=imu,
                ic=pd.read_csv(imu.with_name(f"{name}_ic_ref.csv")),
                gs=pd.read_csv(imu.with_name(f"{name}_gs_ref.csv")),
                axes=rec_meta.get("axes", MOBGAP_AXES),
                rate_hz=float(meta.get("sampling_rate_hz", 100.0)),
                height_m=None if height is None else float(height),
                tilt_deg=rec_meta.get("sensor_tilt_deg"),
                pooled=not note,
                note=note,
                reference_ok=alternating >= 0.9,
            )
        )
    return out


def benchmark_folders(root: Path) -> list[Path]:
    """The folders of ``root`` (``../shared/benchmarks``) in the gait benchmark layout."""
    return sorted(p for p in root.iterdir() if p.is_dir() and any(p.glob("*/*_imu.csv")))

"""The streaming walk analysis: contacts -> steps -> per-side statistics -> verdict.

:class:`WalkTracker` takes consecutive chunks of samples (sensor-frame acc and gyro for the
contacts, pelvis angles for the step metrics) and emits a :class:`WalkEvent` for every contact
as soon as it is decided (about ``confirm_s + delay_s`` ≈ 0.2 s after the contact). Memory is
bounded: a trailing window of angles (one step plus a margin) and running statistics.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import numpy.typing as npt

from hipsense.conventions import SIDES
from hipsense.detectors.walk.contacts import Contact, ContactDetector
from hipsense.detectors.walk.pendulum import step_length_m, vertical_excursion_m
from hipsense.detectors.walk.symmetry import RunningStats, SymmetryTracker, Verdict

RANGE_METRICS = ("tilt_range_deg", "obliquity_range_deg", "rotation_range_deg")
PACE_METRICS = ("step_length_m", "speed_mps")
CALM = ("not_enough_data", "within_noise")
"""Drop grades of a verdict that is not ``asymmetric`` (:meth:`SymmetryTracker.verdict`)."""
LIVE_CONTACTS = 16
"""Recent contacts the detector keeps when the tracker keeps no events (live, any length)."""


@dataclass(frozen=True, slots=True)  # slots: a long walk keeps thousands of steps
class Step:
    """One step, from the contact of ``stance_side`` to the next (opposite) contact.

    ``drop_deg``: the largest drop of the swing side below its level at the contact (the
    Trendelenburg measure); ``step_s`` belongs to the side of the contact that ends the step;
    ``stride_s``: time since the contact before the previous one (NaN at a bout start);
    ``valid``: same bout, alternating sides and a plausible duration (only valid steps enter the
    statistics); ``step_length_m`` (inverted-pendulum model,
    :mod:`hipsense.detectors.walk.pendulum`; NaN
    without a pendulum length) and ``speed_mps`` (step length / step time) belong, like
    ``step_s``, to the side of the contact that ends the step."""

    index: int
    bout: int
    stance_side: str
    t_start_s: float
    t_end_s: float
    step_s: float
    stride_s: float
    drop_deg: float
    tilt_range_deg: float
    obliquity_range_deg: float
    rotation_range_deg: float
    valid: bool
    step_length_m: float = math.nan
    speed_mps: float = math.nan

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key in STEP_FIELDS:
            value = getattr(self, key)
            out[key] = None if isinstance(value, float) and math.isnan(value) else (
                round(value, 4) if isinstance(value, float) else value)  # fmt: skip
        return out


STEP_FIELDS = tuple(f.name for f in fields(Step))


@dataclass(frozen=True, slots=True)
class WalkEvent:
    """A contact and the step it ended (None for the first contact of a walk)."""

    contact: Contact
    step: Step | None


class WalkTracker:
    """Streaming walk analysis (see module docstring).

    Parameters: ``rate_hz`` sampling rate (Hz); ``min_steps`` valid stances per side before a
    verdict; ``min_difference_deg`` smallest drop difference called asymmetric; ``confidence``
    of the intervals; ``detector``: a configured :class:`ContactDetector` (default parameters
    when None); ``pendulum_m``: the inverted pendulum's length (sensor height, m) for step
    length and speed (None: not estimated).
    Results: ``events_`` (only when ``keep_events``; off for unbounded live use), ``symmetry_``
    (per-side statistics), ``ranges_`` (metric -> side -> running stats), ``pace_`` (step length
    and speed -> side -> running stats, by the side ending the step), ``verdict_``,
    ``first_verdict_`` (the first asymmetric verdict and the step count then), ``n_steps_``.
    """

    def __init__(
        self,
        rate_hz: float,
        *,
        min_steps: int = 10,
        min_difference_deg: float = 1.0,
        confidence: float = 0.95,
        detector: ContactDetector | None = None,
        keep_events: bool = True,
        pendulum_m: float | None = None,
    ) -> None:
        self.rate_hz = rate_hz
        self.min_steps = min_steps
        self.min_difference_deg = min_difference_deg
        self.confidence = confidence
        self.detector = detector or ContactDetector(
            rate_hz, keep_contacts=None if keep_events else LIVE_CONTACTS
        )
        self.keep_events = keep_events
        self.pendulum_m = pendulum_m
        self.pace_ = {m: {s: RunningStats() for s in SIDES} for m in PACE_METRICS}
        self.symmetry_ = SymmetryTracker(min_steps, min_difference_deg, confidence)
        self.ranges_ = {m: {s: RunningStats() for s in SIDES} for m in RANGE_METRICS}
        self._verdict: Verdict | None = None  # the verdict of the statistics now, when read
        self.first_verdict_: tuple[Verdict, float] | None = None
        self.events_: list[WalkEvent] = []
        self.n_steps_ = 0
        self._keep_s = self.detector.max_step_s + 1.0
        self._angles = np.empty((0, 5))  # t, tilt, obliquity, rotation, vertical acc
        self._prev: Contact | None = None
        self._prev_prev: Contact | None = None

    def update(
        self,
        t_s: npt.ArrayLike,
        acc_mps2: npt.ArrayLike,
        gyr_dps: npt.ArrayLike,
        angles_deg: npt.ArrayLike,
    ) -> list[WalkEvent]:
        """Feed a chunk: (N,) times, (N, 3) acc and gyro (sensor frame), (N, 3) tilt,
        obliquity, rotation (pelvis, NaN = no estimate). Returns the events decided."""
        t = np.asarray(t_s, dtype=np.float64)
        if t.shape[0] == 0:
            return []
        ang = np.asarray(angles_deg, dtype=np.float64)
        contacts = self.detector.update(t, acc_mps2, gyr_dps)
        vert = self.detector.vertical_mps2_
        self._angles = np.concatenate([self._angles, np.column_stack([t, ang, vert])])
        events = [self._event(c) for c in contacts]
        newest = float(t[-1])
        keep_from = newest - self._keep_s
        if self._prev is not None:
            keep_from = max(min(keep_from, self._prev.t_s - 0.05), keep_from)
        self._angles = self._angles[self._first_at(keep_from) :]
        if self.keep_events:
            self.events_.extend(events)
        return events

    def _event(self, c: Contact) -> WalkEvent:
        prev, step = self._prev, None
        if prev is not None:
            step = self._step(prev, c)
            # the buffer never needs samples before this contact again
            self._angles = self._angles[self._first_at(c.t_s - 0.05) :]
        self._prev_prev, self._prev = prev, c
        return WalkEvent(c, step)

    def _first_at(self, t_s: float) -> int:
        """Index of the first buffered sample at or after ``t_s`` (sample times increase)."""
        return int(np.searchsorted(self._angles[:, 0], t_s))

    def _step(self, a: Contact, b: Contact) -> Step:
        step_s = b.t_s - a.t_s
        det = self.detector
        valid = bool(
            a.bout == b.bout and a.side != b.side and det.min_step_s <= step_s <= det.max_step_s
        )
        pp = self._prev_prev
        stride_s = b.t_s - pp.t_s if pp is not None and pp.bout == b.bout else math.nan
        drop = tilt_r = obl_r = rot_r = length = speed = math.nan
        if valid:
            seg = self._angles[self._first_at(a.t_s) : self._first_at(b.t_s)]
            angles = seg[:, 1:4]
            if seg.shape[0] >= 2 and not np.isnan(angles).any():  # the host filter's angles
                obl = seg[:, 2]
                drop = float(obl[0] - obl.min() if a.side == "right" else obl.max() - obl[0])
                tilt_r, obl_r, rot_r = (angles.max(axis=0) - angles.min(axis=0)).tolist()
            elif seg.shape[0] >= 2 and not np.isnan(seg[:, 2]).all():  # the board's, with gaps
                obl = seg[:, 2]
                start = obl[~np.isnan(obl)][0]
                drop = (start - np.nanmin(obl)) if a.side == "right" else (np.nanmax(obl) - start)
                tilt_r, obl_r, rot_r = (float(np.nanmax(c) - np.nanmin(c)) for c in angles.T)
                drop = float(drop)
            if self.pendulum_m is not None and seg.shape[0] >= 4:
                h = vertical_excursion_m(seg[:, 4], self.rate_hz)
                length = step_length_m(h, self.pendulum_m)
                speed = length / step_s
        step = Step(self.n_steps_, b.bout, a.side, a.t_s, b.t_s, step_s, stride_s, drop,
                    tilt_r, obl_r, rot_r, valid, length, speed)  # fmt: skip
        self.n_steps_ += 1
        if valid and not math.isnan(length):
            self.pace_["step_length_m"][b.side].add(length)
            self.pace_["speed_mps"][b.side].add(speed)
        if valid and not math.isnan(drop):
            self.symmetry_.add_stance(a.side, drop)
            self.symmetry_.add_step_time(b.side, step_s)
            for metric, value in zip(RANGE_METRICS, (tilt_r, obl_r, rot_r), strict=True):
                self.ranges_[metric][a.side].add(value)
            self._verdict = None
            if self.first_verdict_ is None and self.symmetry_.drop_grade() not in CALM:
                self.first_verdict_ = (self.verdict_, b.t_s)
        return step

    @property
    def verdict_(self) -> Verdict:
        """The verdict of the statistics so far: made when read, not at every step (its words
        cost more than the step; only its drop grade is checked per step, for
        ``first_verdict_``)."""
        if self._verdict is None:
            self._verdict = self.symmetry_.verdict()
        return self._verdict

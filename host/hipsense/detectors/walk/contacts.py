"""Causal, streaming initial-contact (IC) detection and left/right labelling at the pelvis.

The vertical axis is the slowly low-passed accelerometer direction (gravity), so contacts need
no mounting: any right-handed sensor frame works. An IC is a peak of the band-passed vertical
acceleration (the pelvis is lowest and decelerates its fall just after heel strike; Zijlstra &
Hof 2003), confirmed once ``confirm_s`` of later samples are below it.

The side comes from two cues, combined over the bout with the strict alternation of steps:
- the change of the medio-lateral acceleration across the contact (read at the lag, among a
  few, that alternates best in this walk: people differ in its timing): after a right contact the
  body's weight moves onto the right leg and the pelvis decelerates its move to the right, so
  the horizontal acceleration points left, while just before it it still points right, toward
  the new stance foot (our reasoning, checked on the real data: docs/gait.md).
  It needs the pelvis's left axis in sensor axes: from the mounting when the caller knows it,
  otherwise learned from the walk itself (self-training on regular steps, below);
- the band-passed angular rate about the vertical: after a right contact the pelvis turns left
  (right side forward), so the yaw rate is positive (McCamley et al. 2012 used the same idea).
  Weaker on its own, it starts the labels and sets the learned axis's sign.

A plausibility gate drops peaks a walking pelvis cannot give (gravity far from 1 g, broadband
noise, a shaken sensor) and marks each contact with whether its bout has shown the steady,
heel-striking rhythm of walking (``Contact.walking``; docs/gait.md).

Within a bout's rhythm a peak is decided by a deadline after the peak the rhythm expects, with
what is known then (``deadline_s``), so a step whose peak comes late is still announced soon
after its contact.

Every filter is a causal IIR whose state carries over between chunks, so any chunking gives the
same events.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from hipsense.conventions import G_MPS2
from hipsense.detectors.base import Algorithm, raw_columns
from hipsense.errors import HipsenseError

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Contact:
    """One initial contact: ``t_s`` (estimated contact time), ``side`` ("left"/"right"),
    ``t_detected_s`` (the sample time at which it was decided), ``bout`` (0-based bout number),
    ``side_score`` (> 0 right; its size is the confidence, deg/s), ``walking`` (its bout had
    shown a steady rhythm of steps by then: the plausibility gate)."""

    t_s: float
    side: str
    t_detected_s: float
    bout: int
    side_score: float
    walking: bool = True


Coeffs = tuple[FloatArray, FloatArray]


class RateTooLowError(HipsenseError):
    """The sampling rate is below :data:`MIN_RATE_HZ`: contacts cannot be detected."""


MIN_RATE_HZ = 30.0
"""Lowest sampling rate the detector accepts (Hz): the impact high-pass at 8 Hz needs a Nyquist
frequency above it, and on a simulated 30 s walk (55 contacts) it finds 47 at 20 and 25 Hz, 53
at 30 Hz, all from 50 Hz (docs/gait.md)."""


ALTERNATING = 0.5
"""A reading lag of the side cue takes over only when its cue has alternated (sign against the
previous step's) in at least (1 + 0.5) / 2 = 75 % of the recent steps: in turns the
medio-lateral acceleration keeps one sign, and no lag should win there."""


def _butter(order: int, cut_hz: float | tuple[float, float], kind: str, rate_hz: float) -> Coeffs:
    from scipy import signal  # at first use: the module loads fast (issue 20: under 0.2 s)

    b, a = signal.butter(order, cut_hz, btype=kind, fs=rate_hz, output="ba")  # type: ignore[misc]
    return np.asarray(b, dtype=np.float64), np.asarray(a, dtype=np.float64)


def _lfilter(
    ba: Coeffs, x: FloatArray, zi: FloatArray, axis: int = -1
) -> tuple[FloatArray, FloatArray]:
    """One chunk of a causal IIR filter; ``zi`` carries the state to the next chunk."""
    from scipy import signal

    y, zf = signal.lfilter(ba[0], ba[1], x, axis=axis, zi=zi)  # type: ignore[misc]
    return np.asarray(y, dtype=np.float64), np.asarray(zf, dtype=np.float64)


class ContactDetector(Algorithm):
    """Streaming IC detector: call :meth:`update` with consecutive chunks; new contacts are
    returned and appended to ``contacts_``.

    Parameters:
    rate_hz: sampling rate (Hz).
    gravity_hz: cut-off of the low-pass that finds the vertical (Hz).
    band_hz: pass band of the vertical-acceleration filter (Hz).
    yaw_band_hz: pass band of the yaw-rate and horizontal-acceleration filters used for the
        side (Hz).
    confirm_s: samples after a peak that must stay below it before the IC is emitted (s; at
        most: see ``deadline_s``).
    before_s: samples before a peak that must stay below it (s); at least, see
        ``before_steps``.
    before_steps: in slow walking the look-back is this many running step times (when longer
        than ``before_s``): a slow or shuffling step gives two or three vertical peaks, and a
        later bump lower than the step's own peak is not a contact (0.5: chosen leave one
        participant out among 0.4, 0.45, 0.5, 0.55 and 0.6 by all 15, docs/validation.md).
        This running step time follows every interval of the bout (gain 0.3), the long ones
        too. It looks back only: no delay.
    delay_s: subtracted from the peak time to give the contact time, about the filter's delay
        (s; 0.08 chosen leave-one-participant-out over the real sets, docs/validation.md).
    deadline_s: a peak is decided at the latest this long after the peak the bout's rhythm
        expects (the last peak plus the look-back's running step time), with the samples seen
        by then, yet after at least ``min_confirm_s``; None confirms every peak for
        ``confirm_s``. A peak that comes late in its step (0.1–0.25 s after the contact: slow
        or double-humped steps) was otherwise announced up to 450 ms after the contact. (0.03
        with 0.09: every participant's contacts F1 as with the full confirmation, sides within
        one step, steps announced more than 300 ms after their contact 23 → 12 of 2096,
        docs/validation.md.) The first two contacts of a bout have no rhythm yet: full window.
    min_confirm_s: the shortest confirmation (s); the side cue's reading lags beyond it are
        read at its last sample.
    min_step_s: shortest accepted time between two contacts (s).
    max_step_s: a longer gap ends the bout (s).
    min_peak_mps2: smallest accepted peak of the filtered vertical acceleration (m/s²).
    rel_peak: a peak must also exceed this fraction of the running RMS.
    rms_tau_s: time constant of the running RMS (s).
    side_memory: weight of the previous steps' alternating side evidence (0..1).
    irregular_memory: that weight after an interval off the rhythm (not within ``ml_regular``
        of the running step time), which may hide an extra peak (slow or shuffling steps give
        several vertical peaks) or a missed contact (0.2: the pooled best of 0, 0.2 and 0.4
        over the real sets, chosen leave one participant out by all but MS_001,
        docs/validation.md).
    side_lag_s: the yaw rate is read this long before the peak (at about the contact) (s).
    yaw_weight: weight of the yaw-rate cue against the medio-lateral one (both scaled by their
        running mean size).
    left_axis: the pelvis's left axis in sensor axes (3,), from the mounting; None learns it.
    ml_lag_s: the horizontal acceleration is first read this long after the peak (at most
        ``confirm_s``) (s); the nearest lag of ``ml_lags_s`` is the starting one.
    ml_lags_s: the reading lags (s, each at most ``confirm_s``) from which the walk's own
        alternation picks one: the lag whose cue has alternated best over the last 20 steps
        takes over once it beats the current one by ``ml_lag_margin`` and alternates in 75 %
        of them (:data:`ALTERNATING`). The best fixed lag differs between people by tens of
        ms, and a fixed lag 40 ms off drops some people's sides to 0.3–0.7 (docs/gait.md).
    ml_lag_margin: see ``ml_lags_s`` (0.1; 0.2 is within 0.0005 on the real sets).
    ml_before_s: window before the peak, (start, end) seconds before it, whose mean horizontal
        acceleration is subtracted (times ``ml_before_weight``) from the reading after it: before
        the contact the pelvis still accelerates toward the new stance side, after it away from
        it, so the change across the contact is a cue that depends less on exactly when it is
        read than the reading alone (docs/gait.md).
    ml_before_weight: weight of that window (0 reads the acceleration after the peak alone;
        0.5: the best of 0, 0.5 and 1 over the 15 participants of the real sets; left one
        participant out it ties with 1, docs/validation.md).
    ml_min_steps: regular steps seen before a learned left axis is used.
    ml_regular: a step within this fraction of the running step time is regular (teaches the
        learned axis).
    min_impact: a contact also needs an impact: the high-passed acceleration magnitude, within
        ``side_lag_s`` before to 0.05 s after the peak, at least this many times its running RMS
        (a 0.2 Hz first-order envelope, τ ≈ 0.8 s); slow body sway gives vertical peaks
        without heel-strike impacts.
    impact_hz: cut-off of that high-pass (Hz).
    missed_ratio: an interval longer than this many typical steps (running mean) counts as a
        missed contact in between, so the next side is the same as the last one.
    cue_weighting: how far (0..1) the two side cues' weights move, after ``weigh_after`` steps,
        from ``yaw_weight`` and 1 toward weights in proportion to how reliable each cue has
        been in this walk, measured against the side the previous steps predict (only where
        that prediction is at least ``teach_state`` and the step regular). People differ: the
        yaw rate is right for 0.45-0.99 of one person's single steps (IPOL_03 0.45, SEMIO_ms
        0.99), the medio-lateral cue 0.90-1.00 (docs/gait.md). 0.5, 40 steps and 0.25: the
        pooled best of a 64-setting grid over the real sets before the decision deadline
        (since it one contact behind the best); leave one participant out
        (benchmarks/gait_lopo.py) every participant but MS_001 gets these settings' sides
        (docs/validation.md).
    weigh_after: see ``cue_weighting`` (steps of the walk).
    teach_state: see ``cue_weighting`` (the side score's units; 1 marks a side uncertain).
    keep_contacts: how many recent contacts ``contacts_`` keeps (None: all, for offline use;
        a number keeps memory constant over a live walk of any length).

    gravity_range: a contact needs the low-passed specific force's magnitude within this
        range (g): a worn sensor reads about 1 g (the plausibility gate, docs/gait.md).
    max_peak_mps2: largest plausible band-passed vertical peak of a walking pelvis (m/s²).
    max_shake_mps2: largest plausible running RMS (τ = ``rms_tau_s``) of the acceleration
        without gravity (m/s²): a shaken sensor exceeds it.
    noise_share: the gait band's running RMS must be at least this many times the share white
        noise gives against the impact band's running RMS at this rate (broadband noise).
    walk_tolerance: an interval within this fraction of the one before (or of twice or half of
        it) is steady; ``walk_confirm`` steady intervals in a row mark the bout as walking
        (``Contact.walking``).
    walk_confirm: see ``walk_tolerance``.
    walk_impact: the median impact (as for ``min_impact``) of those steady contacts must be at
        least this: heel strikes, which a drifting signal's chance rhythm lacks (its peaks'
        impacts: median 1.6, 95 % below 2.0; every real recording's walk reaches it).

    A rate below :data:`MIN_RATE_HZ` raises :class:`RateTooLowError`: the impact high-pass
    (``impact_hz``) needs a Nyquist frequency above it.
    """

    def __init__(
        self,
        rate_hz: float,
        *,
        gravity_hz: float = 0.3,
        band_hz: tuple[float, float] = (0.5, 4.0),
        yaw_band_hz: tuple[float, float] = (0.3, 3.0),
        confirm_s: float = 0.12,
        before_s: float = 0.25,
        delay_s: float = 0.08,
        min_step_s: float = 0.3,
        max_step_s: float = 1.6,
        min_peak_mps2: float = 0.1,
        rel_peak: float = 0.3,
        rms_tau_s: float = 2.0,
        side_memory: float = 0.4,
        side_lag_s: float = 0.10,
        missed_ratio: float = 1.5,
        min_impact: float = 0.8,
        impact_hz: float = 8.0,
        ml_lag_s: float = 0.05,
        yaw_weight: float = 0.25,
        left_axis: npt.ArrayLike | None = None,
        ml_min_steps: int = 6,
        ml_regular: float = 0.25,
        keep_contacts: int | None = None,
        ml_before_s: tuple[float, float] = (0.30, 0.10),
        ml_before_weight: float = 0.5,
        ml_lags_s: tuple[float, ...] = (0.01, 0.03, 0.05, 0.07, 0.09, 0.11),
        ml_lag_margin: float = 0.1,
        gravity_range: tuple[float, float] = (0.75, 1.25),
        max_peak_mps2: float = 15.0,
        max_shake_mps2: float = 10.0,
        noise_share: float = 1.5,
        walk_tolerance: float = 0.35,
        walk_confirm: int = 3,
        irregular_memory: float = 0.2,
        walk_impact: float = 2.0,
        before_steps: float = 0.5,
        cue_weighting: float = 0.5,
        weigh_after: int = 40,
        teach_state: float = 0.25,
        deadline_s: float | None = 0.03,
        min_confirm_s: float = 0.09,
    ) -> None:
        if not rate_hz >= MIN_RATE_HZ:
            raise RateTooLowError(
                f"the walk analysis needs at least {MIN_RATE_HZ:g} Hz (its heel-strike filter "
                f"passes {impact_hz:g} Hz and up); these data are at {rate_hz:.3g} Hz"
            )
        self.keep_contacts = keep_contacts
        self.gravity_range = gravity_range
        self.max_peak_mps2 = max_peak_mps2
        self.max_shake_mps2 = max_shake_mps2
        self.noise_share = noise_share
        # white noise's gait-band share: the vertical band's width against the three axes'
        # impact band (equal noise density in every axis and frequency)
        self.min_band_share = noise_share * float(
            np.sqrt((band_hz[1] - band_hz[0]) / (3.0 * max(rate_hz / 2.0 - impact_hz, 1e-9)))
        )
        self._dyn_zi = np.zeros(1)
        self.walk_tolerance = walk_tolerance
        self.walk_confirm = walk_confirm
        self.irregular_memory = irregular_memory
        self.walk_impact = walk_impact
        self.before_steps = before_steps
        self._run_impacts: list[float] = []  # impacts of the steady run's contacts
        self._interval_s = 0.0  # the bout's previous interval (0: none yet)
        self._run = 0  # consecutive similar intervals in this bout
        self._walking = False  # the bout has shown walking
        self.rate_hz = rate_hz
        self.gravity_hz = gravity_hz
        self.band_hz = band_hz
        self.yaw_band_hz = yaw_band_hz
        self.confirm_s = confirm_s
        self.before_s = before_s
        self.delay_s = delay_s
        self.min_step_s = min_step_s
        self.max_step_s = max_step_s
        self.min_peak_mps2 = min_peak_mps2
        self.rel_peak = rel_peak
        self.rms_tau_s = rms_tau_s
        self.side_memory = side_memory
        self.side_lag_s = side_lag_s
        self.missed_ratio = missed_ratio
        self.min_impact = min_impact
        self.impact_hz = impact_hz
        self.ml_lag_s = ml_lag_s
        self.yaw_weight = yaw_weight
        self.ml_min_steps = ml_min_steps
        self.ml_regular = ml_regular
        self._h_zi = np.zeros((4, 3))
        n_conf = max(1, round(confirm_s * rate_hz))
        self._n_ml = min(max(0, round(ml_lag_s * rate_hz)), n_conf)
        # the bank of reading lags; the walk's own alternation picks one (see _evidence)
        lags = ml_lags_s or (ml_lag_s,)
        self._n_lags = np.array([min(max(0, round(g * rate_hz)), n_conf) for g in lags])
        self._lag0 = int(np.argmin(np.abs(self._n_lags - self._n_ml)))
        self._lag = self._lag0
        self._alt = np.zeros(len(lags))  # running alternation of each lag's cue
        self._alt_n = 0
        self.ml_lag_margin = ml_lag_margin
        self.ml_lags_s = ml_lags_s
        self._ml_abs_lags = np.zeros(len(lags))
        self._prev_cue: FloatArray | None = None
        self.left_axis = None if left_axis is None else np.asarray(left_axis, dtype=np.float64)
        self._ml_sum = np.zeros(3)  # learned left axis (sensor frame, unnormalised)
        self._ml_n = 0
        self._n_side_seen = 0
        self._yaw_abs = 0.0
        self._ml_abs = 0.0
        self.cue_weighting = cue_weighting
        self.weigh_after = weigh_after
        self.teach_state = teach_state
        # running mean sign of each cue (yaw, medio-lateral) against the side the previous
        # steps predict, over the steps that teach (see _cue_weights)
        self._cue_sign = np.zeros(2)
        self._cue_taught = 0
        self._hp_ba = _butter(2, impact_hz, "high", rate_hz)
        self._env_ba = _butter(1, 0.2, "low", rate_hz)
        self._hp_zi = np.zeros((2, 3))
        self._env_zi = np.zeros(1)
        self._n_impact = max(1, round(0.05 * rate_hz))
        self._step_s = 0.0  # running step time of the side rule (skips missed contacts)
        self._pace_s = 0.0  # running step time of the look-back (every interval of the bout)
        self._g_ba = _butter(1, gravity_hz, "low", rate_hz)
        self._v_ba = _butter(2, band_hz, "band", rate_hz)
        self._y_ba = _butter(2, yaw_band_hz, "band", rate_hz)
        alpha = 1.0 - np.exp(-1.0 / (rms_tau_s * rate_hz))
        self._rms_ba = (np.array([alpha]), np.array([1.0, alpha - 1.0]))
        self._g_zi: FloatArray | None = None
        self._v_zi = np.zeros(2 * 2)
        self._y_zi = np.zeros(2 * 2)
        self._rms_zi = np.zeros(1)
        self._n_after = max(1, round(confirm_s * rate_hz))
        self.deadline_s = deadline_s
        self.min_confirm_s = min_confirm_s
        # the impact is read up to 0.05 s after the peak: the shortest window holds it
        self._n_min_after = min(
            self._n_after, max(self._n_impact - 1, 1, round(min_confirm_s * rate_hz))
        )
        self._n_before = max(1, round(before_s * rate_hz))
        self.ml_before_s = ml_before_s
        self.ml_before_weight = ml_before_weight
        self._n_ml_before = (
            max(1, round(ml_before_s[0] * rate_hz)),
            max(0, min(round(ml_before_s[1] * rate_hz), round(ml_before_s[0] * rate_hz) - 1)),
        )
        # the look-back of slow steps (``before_steps`` running steps) fits in the history
        self._n_hist = max(
            self._n_before, self._n_ml_before[0], round(before_steps * max_step_s * rate_hz)
        )
        self._n_side = min(self._n_before, round(side_lag_s * rate_hz))
        # trailing buffer: t, filtered vertical acc, threshold, filtered yaw rate, impact ratio,
        # filtered horizontal acc (3), gravity magnitude (in g), gait-band share of the
        # acceleration (running band RMS over the impact band's running RMS), running RMS of
        # the acceleration without gravity
        self._buf = np.empty((0, 11))
        self._next = 0  # first buffer index not yet decided
        self._last_peak_t_s = -np.inf
        self._bout = -1
        self._side_state = 0.0
        self.contacts_: list[Contact] = []
        self.vertical_mps2_: FloatArray = np.empty(0)
        """The last chunk's vertical acceleration, gravity removed (m/s², up > 0)."""

    def detect(self, data: Mapping[str, Any], *, sampling_rate_hz: float) -> ContactDetector:
        """Detect the contacts of a whole recording afresh: ``data`` indexed by hipsense column
        names (``t_s``, ``acc_*_mps2``, ``gyr_*_dps``); results in ``contacts_``. The same as
        feeding it to :meth:`update` in chunks."""
        t, acc, gyr = raw_columns(data)
        self._restart(rate_hz=sampling_rate_hz)
        self.update(t, acc, gyr)
        return self

    def update(
        self, t_s: npt.ArrayLike, acc_mps2: npt.ArrayLike, gyr_dps: npt.ArrayLike
    ) -> list[Contact]:
        """Feed a chunk (N,) times, (N, 3) specific force and (N, 3) angular rate in one
        sensor frame; returns the contacts decided in this chunk."""
        t = np.asarray(t_s, dtype=np.float64)
        # one memory layout whatever the source (a DataFrame's columns are Fortran-ordered):
        # filters and dot products then round alike, so live and offline agree to the bit
        acc = np.ascontiguousarray(acc_mps2, dtype=np.float64)
        gyr = np.ascontiguousarray(gyr_dps, dtype=np.float64)
        if t.shape[0] == 0:
            return []
        g_zi = self._g_zi
        if g_zi is None:  # start from rest at the first sample's gravity
            from scipy import signal

            g_zi = np.outer(signal.lfilter_zi(*self._g_ba), acc[0])
        grav, self._g_zi = _lfilter(self._g_ba, acc, g_zi, axis=0)
        g_norm = np.linalg.norm(grav, axis=1)
        up = grav / np.maximum(g_norm, 1e-9)[:, None]
        vert = np.einsum("ij,ij->i", acc, up) - g_norm
        yaw = np.einsum("ij,ij->i", gyr, up)
        v, self._v_zi = _lfilter(self._v_ba, vert, self._v_zi)
        y, self._y_zi = _lfilter(self._y_ba, yaw, self._y_zi)
        ms, self._rms_zi = _lfilter(self._rms_ba, v * v, self._rms_zi)
        thr = np.maximum(self.min_peak_mps2, self.rel_peak * np.sqrt(ms))
        hp, self._hp_zi = _lfilter(self._hp_ba, acc, self._hp_zi, axis=0)
        impact = np.linalg.norm(hp, axis=1)
        env2, self._env_zi = _lfilter(self._env_ba, impact * impact, self._env_zi)
        env = np.sqrt(np.maximum(env2, 1e-12))
        ratio = impact / env
        hb, self._h_zi = _lfilter(self._y_ba, acc, self._h_zi, axis=0)
        horiz = hb - np.einsum("ij,ij->i", hb, up)[:, None] * up
        share = np.sqrt(ms) / env
        dyn = acc - grav
        dyn2, self._dyn_zi = _lfilter(self._rms_ba, np.einsum("ij,ij->i", dyn, dyn), self._dyn_zi)
        cols = np.column_stack([t, v, thr, y, ratio, horiz, g_norm / G_MPS2, share,
                                np.sqrt(dyn2)])  # fmt: skip
        self._buf = np.concatenate([self._buf, cols])
        self.vertical_mps2_ = vert
        return self._decide()

    def _decide(self) -> list[Contact]:
        buf = self._buf
        x = buf[:, 1]
        n = buf.shape[0]
        last = n - self._n_min_after  # candidates need at least their shortest window
        start = max(self._next, self._n_hist)
        found: list[Contact] = []
        if last > start:
            seg = x[start - 1 : last + 1]
            cand = np.flatnonzero((seg[1:-1] > seg[:-2]) & (seg[1:-1] >= seg[2:])) + start
            self._next = last
            for i in cand:
                if x[i] < buf[i, 2]:
                    continue
                end = i + self._window(float(buf[i, 0]))  # the decision sample
                if end >= n:  # its window is not in yet: decided in a later chunk
                    self._next = int(i)
                    break
                self._accept(int(i), end, found)
        keep = self._n_hist + self._n_after + 1
        if buf.shape[0] > keep:
            cut = min(buf.shape[0] - keep, self._next - self._n_hist)
            if cut > 0:
                self._buf = buf[cut:]
                self._next -= cut
        return found

    def _accept(self, i: int, end: int, found: list[Contact]) -> None:
        """Decide the peak at buffer row ``i`` with the samples up to row ``end``."""
        buf = self._buf
        x = buf[:, 1]
        n_back = max(self._n_before, round(self.before_steps * self._pace_s * self.rate_hz))
        if x[i] < x[i - min(n_back, self._n_hist) : end + 1].max():
            return
        impact = float(buf[i - self._n_side : i + self._n_impact, 4].max())
        if impact < self.min_impact:
            return
        if not self._plausible(float(x[i]), *buf[i, 8:11]):
            return
        t_peak = float(buf[i, 0])  # a Python float: cheaper to keep and encode
        if t_peak - self._last_peak_t_s < self.min_step_s:
            return
        yaw = float(buf[i - self._n_side, 3])
        b0, b1 = self._n_ml_before  # the weight shift: after minus (part of) before
        # a window cut by the deadline reads the later lags at its last sample
        h = buf[i + np.minimum(self._n_lags, end - i), 5:8] - self.ml_before_weight * buf[
            i - b0 : i - b1, 5:8
        ].mean(axis=0)
        found.append(self._contact(t_peak, yaw, h, float(buf[end, 0]), impact))

    def _window(self, t_peak_s: float) -> int:
        """Samples after a peak at ``t_peak_s`` that confirm it: ``confirm_s``, cut so that the
        decision comes at most ``deadline_s`` after the peak the bout's rhythm expects (the last
        peak plus the running step time), and never below ``min_confirm_s``."""
        if self.deadline_s is None or self._pace_s <= 0.0:
            return self._n_after
        if t_peak_s - self._last_peak_t_s > self.max_step_s:  # a new bout: no rhythm yet
            return self._n_after
        due_s = self._last_peak_t_s + self._pace_s + self.deadline_s - t_peak_s
        n_due = int(np.floor(due_s * self.rate_hz + 1e-9))
        return min(self._n_after, max(self._n_min_after, n_due))

    def _plausible(
        self,
        peak_mps2: float,
        gravity_g: float,
        band_share: float,
        shake_mps2: float,
    ) -> bool:
        """Could this peak come from a walking pelvis? Gravity of about 1 g, a vertical peak below
        ``max_peak_mps2``, a running RMS of the acceleration without gravity below
        ``max_shake_mps2`` and a gait band not swamped by broadband noise."""
        g_lo, g_hi = self.gravity_range
        return bool(
            g_lo <= gravity_g <= g_hi
            and peak_mps2 <= self.max_peak_mps2
            and shake_mps2 <= self.max_shake_mps2
            and band_share >= self.min_band_share
        )

    def _contact(
        self,
        t_peak_s: float,
        yaw_dps: float,
        h_mps2: FloatArray,
        t_detected_s: float,
        impact: float,
    ) -> Contact:
        interval_s = t_peak_s - self._last_peak_t_s
        parity = -1.0
        # a regular step (about the running step time) teaches the left axis
        regular = abs(interval_s - self._step_s) <= self.ml_regular * self._step_s
        if interval_s > self.max_step_s:
            self._bout += 1
            self._side_state = 0.0
            self._step_s = 0.0
            self._interval_s, self._run, self._walking = 0.0, 0, False
            self._run_impacts = [impact]
        elif self._step_s > 0.0:
            # a step missed in between (an interval of about two steps): same side again
            if interval_s > self.missed_ratio * self._step_s:
                parity = 1.0
            else:
                self._step_s += 0.3 * (interval_s - self._step_s)
        else:
            self._step_s = interval_s
        # the look-back's pace follows every interval of the bout, the long ones too: one that
        # skips them stays stuck short for a person who slows down (or whose bout starts on a
        # short interval), and a short look-back lets the slow step's later bumps through
        if interval_s > self.max_step_s:
            self._pace_s = 0.0
        elif self._pace_s > 0.0:
            self._pace_s += 0.3 * (interval_s - self._pace_s)
        else:
            self._pace_s = interval_s
        if interval_s <= self.max_step_s:
            self._confirm_walking(interval_s, impact)
        self._last_peak_t_s = t_peak_s
        same_bout = interval_s <= self.max_step_s
        prior = parity * self._side_state  # the side the previous steps predict
        evidence = self._evidence(yaw_dps, h_mps2, parity, same_bout, regular, prior)
        # off the rhythm (or before one is known), the interval may hide an extra or a missed
        # contact: the previous side then says less about this one
        memory = self.side_memory if regular else self.irregular_memory
        self._side_state = evidence + parity * memory * self._side_state
        self._learn_left(h_mps2[self._lag], regular)
        side = "right" if self._side_state > 0 else "left"
        c = Contact(t_peak_s - self.delay_s, side, t_detected_s, self._bout,
                    float(self._side_state), self._walking)  # fmt: skip
        self.contacts_.append(c)
        if self.keep_contacts is not None and len(self.contacts_) > 2 * self.keep_contacts:
            del self.contacts_[: -self.keep_contacts]
        return c

    def _confirm_walking(self, interval_s: float, impact: float) -> None:
        """A bout is walking once ``walk_confirm`` consecutive intervals each were within
        ``walk_tolerance`` of the one before and the median impact of those contacts is at
        least ``walk_impact``: steps come at a steady rhythm with heel strikes, random peaks
        (noise, shaking off the rhythm, a drifting signal) do not."""
        prev, self._interval_s = self._interval_s, interval_s
        tol = 1.0 + self.walk_tolerance
        # like the previous interval, or twice or half of it (a contact missed in between)
        if prev > 0.0 and any(
            max(p, interval_s) <= tol * min(p, interval_s) for p in (prev, 2.0 * prev, prev / 2.0)
        ):
            self._run += 1
            self._run_impacts = [*self._run_impacts[-self.walk_confirm :], impact]
        else:
            self._run = 0
            self._run_impacts = [impact]
        if not self._walking and self._run >= self.walk_confirm:
            self._walking = statistics.median(self._run_impacts) >= self.walk_impact

    def _evidence(
        self,
        yaw_dps: float,
        h_lags_mps2: FloatArray,
        parity: float,
        same_bout: bool,
        regular: bool,
        prior: float,
    ) -> float:
        """Side evidence (> 0 right) from the yaw rate and, once the pelvis's left axis is
        known, the medio-lateral weight-shift cue read at the lag (``h_lags_mps2``: one row per
        lag of ``ml_lags_s``) whose cue has alternated best from step to step in this walk: the
        side alternates, so the lag that reads it alternates too; when the person's timing
        differs, another lag takes over (docs/gait.md). The two cues' weights then follow how
        reliable each has been in this walk (:meth:`_cue_weights`)."""
        self._yaw_abs += (abs(yaw_dps) - self._yaw_abs) / min(self._n_side_seen + 1, 20)
        self._n_side_seen += 1
        yaw = yaw_dps / max(self._yaw_abs, 1e-9)
        left = self.left_axis if self.left_axis is not None else self.learned_left_axis()
        if left is None:
            return self.yaw_weight * yaw
        ml = h_lags_mps2 @ left
        self._ml_abs_lags += (np.abs(ml) - self._ml_abs_lags) / min(self._n_side_seen, 20)
        cue = ml / np.maximum(self._ml_abs_lags, 1e-9)
        if self._prev_cue is not None and same_bout:
            agree = parity * np.sign(cue) * np.sign(self._prev_cue)
            self._alt_n += 1
            self._alt += (agree - self._alt) / min(self._alt_n, 20)
            best = int(np.argmax(self._alt))
            if (
                self._alt_n >= self.ml_min_steps
                and self._alt[best] >= ALTERNATING
                and self._alt[best] > self._alt[self._lag] + self.ml_lag_margin
            ):
                self._lag = best
        self._prev_cue = cue
        read = float(cue[self._lag])
        w_yaw, w_ml = self._cue_weights(yaw, read, prior, same_bout and regular)
        return w_yaw * yaw + w_ml * read

    def _cue_weights(
        self, yaw: float, ml: float, prior: float, teaches: bool
    ) -> tuple[float, float]:
        """The weights of the yaw and medio-lateral cues (each scaled by its running mean size):
        ``yaw_weight`` and 1 at first; after ``weigh_after`` steps, ``cue_weighting`` of the way
        to weights in proportion to each cue's log-odds in this walk.

        A cue right with probability p has mean sign 2p - 1 against the true side. The truth is
        not known, but the side the previous steps predict (``prior``: the side state carried
        over, before this step's cues) is, when it is large (``teach_state``) and the step
        regular (``teaches``), right with some probability q, the same for both cues; each cue's
        mean sign against it is (2p - 1)(2q - 1), so their ratio is the ratio of the cues'
        reliabilities, sign included, whatever extra or missed contacts do to q. Each cue is
        weighed by atanh(its mean sign): half its log-odds when q = 1, both shrunk alike
        otherwise. The yaw rate's timing and sign against the side vary between people, the
        medio-lateral cue is weak in some patients (docs/gait.md): each walk gives more weight
        to the cue that has been right in it. The medio-lateral cue keeps at least half of its
        weight (with the defaults the yaw weight stays within -0.5..0.75 of the total 1.25)."""
        if teaches and abs(prior) >= self.teach_state:
            self._cue_taught += 1
            signs = np.sign([yaw, ml]) * np.sign(prior)
            self._cue_sign += (signs - self._cue_sign) / min(self._cue_taught, 20)
        w_yaw, total = self.yaw_weight, self.yaw_weight + 1.0
        if (
            self.cue_weighting > 0.0
            and self._n_side_seen >= self.weigh_after
            and self._cue_taught >= self.ml_min_steps
        ):
            s_max = 0.95  # a cue is never taken as certain
            odds_yaw = float(np.arctanh(np.clip(self._cue_sign[0], -s_max, s_max)))
            odds_ml = float(np.arctanh(np.clip(self._cue_sign[1], 0.01, s_max)))
            fitted = total * odds_yaw / (abs(odds_yaw) + odds_ml)
            w_yaw += self.cue_weighting * (fitted - w_yaw)
        return w_yaw, total - abs(w_yaw)

    def learned_left_axis(self) -> FloatArray | None:
        """The left axis learned so far (unit, sensor axes), None before ``ml_min_steps``."""
        if self._ml_n < self.ml_min_steps:
            return None
        return self._ml_sum / max(float(np.linalg.norm(self._ml_sum)), 1e-9)

    def _learn_left(self, h_mps2: FloatArray, regular: bool) -> None:
        """Self-training of the left axis: a right contact's medio-lateral acceleration points
        left, a left contact's right; only regular steps teach."""
        if regular:
            self._ml_sum += (1.0 if self._side_state > 0 else -1.0) * h_mps2
            self._ml_n += 1

"""Causal detection of lift-off and touch-downs in single-leg stance, from the sensor alone.

Standing on two legs the pelvis is nearly still; when the free foot leaves the ground the
stance hip has to balance the body and the pelvis sways (and drops or hikes on the free side):
the gyroscope's motion level rises several-fold. A brief touch-down of the free foot is a jolt
(a jerk spike of the specific force); the end of the trial is the return of the quiet bipedal
pattern. The detector is fed samples in chunks of any size; the same samples give the same
events whatever the chunking, so the live view and the offline analysis agree exactly.

A key press or the board's button (:meth:`StanceDetector.mark`) is the fallback, never the
method: it ends the trial only when the sensor saw no touch-down near it (a very light toe
touch, or the recording stopped during the hold). It is decided ``mark_grace_s`` after the mark
on the sample clock, so live (the mark arrives a moment late) and offline (all marks known at
the start) give the same trials.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hipsense.conventions import G_MPS2
from hipsense.detectors.base import Algorithm, raw_columns
from hipsense.motion.frontend import IDENTITY, FloatArray, Frame, run_front_end


@dataclass
class StanceTrial:
    """Events of one trial (times in seconds on the recording's clock).

    baseline_*: mean pelvis angles of the bipedal stance just before the lift-off (from the
        low-passed accelerometer, see :meth:`Frame.static_angles_deg`).
    touch_downs: brief touch-downs (the foot went down and lifted again) as (down, up).
    end_t_s: the final touch-down (the free foot down for good); None while the trial runs.
    shift_m: lateral displacement over the 1.5 s before lift-off (> 0 towards the left), from
        the accelerometer along the pelvis's left axis.
    """

    lift_off_t_s: float
    baseline_tilt_deg: float
    baseline_obliquity_deg: float
    shift_m: float
    touch_downs: list[tuple[float, float]] = field(default_factory=list)
    end_t_s: float | None = None
    end_source: str = "sensor"
    lift_cue: str = "sway"
    """What dated the lift-off: ``weight shift`` (the end of the lateral move onto the
    stance foot) or ``sway`` (the rise of the pelvis's motion above the bipedal level)."""
    """``sensor``, ``recording end`` (stopped during the hold), or ``key`` / ``button`` (the
    fallback: a mark the sensor saw no touch-down near)."""

    @property
    def first_touch_down_t_s(self) -> float | None:
        if self.touch_downs:
            return self.touch_downs[0][0]
        return self.end_t_s


@dataclass(frozen=True)
class Mark:
    """A touch-down marked by hand: ``source`` is ``key`` (the host's keyboard) or ``button``
    (the board's), at ``t_s`` on the recording's clock."""

    t_s: float
    source: str


def _min_jerk_acc(n: int) -> FloatArray:
    """Acceleration of a minimum-jerk move sampled at n points (unit distance and duration)."""
    x = (np.arange(n) + 0.5) / n
    return 60.0 * x - 180.0 * x**2 + 120.0 * x**3


def _rest_speed(acc_mps2: FloatArray, rate_hz: float) -> float:
    """The largest speed reached integrating ``acc_mps2`` from rest (m/s): how far from at
    rest the pelvis is over a margin beside a move. The caller removes the span's mean first:
    the slowly tracked mean lags a posture change by seconds (the gravity share of a
    frontal-plane rotation is taken out only over ``tau_roll_s``), and a constant offset of
    0.3 m/s² alone reads as 0.14 m/s over a 0.45 s margin, more than a steady person's whole
    weight shift reaches (a 9 cm shift of 1.3 s peaks at 0.13 m/s)."""
    return float(np.max(np.abs(np.cumsum(acc_mps2)))) / rate_hz


class WeightShift:
    """Start-stop lateral moves of the pelvis (the weight going onto one foot or back onto
    both), found causally by a matched filter.

    Input: the low-passed specific force along the pelvis's left axis and the gyroscope
    about its anterior axis. Gravity's share of a frontal-plane rotation is taken out with
    the rotation integrated from the gyroscope (high-passed over ``tau_roll_s``, its slow
    mean removed), so no orientation filter has to have converged. The result is compared,
    window by window, with the acceleration of a minimum-jerk move of each duration in
    ``durations_s`` (a smooth start-stop move: Flash & Hogan 1985); a move is a window whose
    correlation with the template exceeds ``min_corr``, with the pelvis at rest (its speed,
    integrated outwards from the window over ``margin_s``, below ``quiet_frac`` of the move's
    peak speed) before and after it, and a distance
    (least-squares amplitude × duration²) of at least ``min_m``. Of overlapping windows the
    best correlated is the move, reported once no overlapping window can come any more (the
    longest template and two margins after its start) or a later, separate move is found:
    (start_t, end_t, displacement_m) with ``delay_s`` (the front end's low-pass group delay)
    removed. The rest tests take the span's mean acceleration out (an offset, see
    :func:`_rest_speed`) only for moves of at least ``offset_free_m``: the filters settling
    after a trial drift by an offset of that kind, and over a long template such a drift
    passed for a 2 cm move in quiet standing (a lift-off 2.4 s early). The slow means start
    as the running average of the samples so far; a move whose rest before begins within
    ``warm_s`` of the first sample is not judged (those means then still move fast, and
    2 cm "moves" of 2 s began at 0.3–1.8 s on the tuning seeds; a test starts with 2 s of
    standing still).
    """

    def __init__(
        self, durations_s: Sequence[float] = (0.3, 0.36, 0.43, 0.52, 0.62, 0.74, 0.89, 1.07,
                                              1.28, 1.54, 1.85),
        rate_hz: float = 100.0, min_corr: float = 0.85, quiet_frac: float = 0.3,
        margin_s: float = 0.45, min_m: float = 0.01, tau_roll_s: float = 4.0,
        delay_s: float = 0.028, pad_s: float = 0.2, offset_free_m: float = 0.03,
        warm_s: float = 2.0,
    ) -> None:  # fmt: skip
        self.rate_hz = rate_hz
        self.pad_s = pad_s
        self.min_corr = min_corr
        self.quiet_frac = quiet_frac
        self.margin_s = margin_s
        self.min_m = min_m
        self.offset_free_m = offset_free_m
        self.warm_s = warm_s
        self.tau_roll_s = tau_roll_s
        self.delay_s = delay_s
        self._m = max(2, round(margin_s * rate_hz))
        self._templates = []
        for dur in durations_s:
            n = max(4, round(dur * rate_hz))
            phi = _min_jerk_acc(n)
            self._templates.append(
                (n / rate_hz, n, phi, float(phi @ phi), float(np.linalg.norm(phi)))
            )
        n_max = max(n for _, n, _, _, _ in self._templates)
        self.wait_s = n_max / rate_hz + 2.0 * margin_s
        self._buf: deque[float] = deque(maxlen=n_max + 2 * self._m)
        self._times: deque[float] = deque(maxlen=n_max + 2 * self._m)
        # the same samples over longer (rest before a move when it is reported) for _refine
        n_ref = n_max + 2 * self._m + round(0.6 * rate_hz)
        self._ref: deque[tuple[float, float]] = deque(maxlen=n_ref)
        self._t_prev: float | None = None
        self._gyr_mean: float | None = None
        self._acc_mean: float | None = None
        self._n_seen = 0
        self._t_first: float | None = None
        self._roll = 0.0
        self._best: tuple[float, float, float, float] | None = None  # corr, start, end, d
        self.completed: tuple[float, float, float] | None = None
        self._completed_found: tuple[float, float, float] | None = None  # before _refine

    def step(
        self, t: float, acc: float, roll_dps: float = 0.0
    ) -> tuple[float, float, float] | None:
        """Feed one sample (lateral specific force, m/s²; rate about the anterior axis, °/s);
        returns a move once it is certain (start_t, end_t, displacement_m)."""
        dt = 0.0 if self._t_prev is None else min(max(t - self._t_prev, 0.0), 0.1)
        self._t_prev = t
        if self._gyr_mean is None or self._acc_mean is None:
            self._gyr_mean, self._acc_mean = roll_dps, acc
        # the means start as the running average of the samples so far (one sample is no
        # gyro bias: tracked from it over 8 s, a 0.7 °/s error tilted the roll by 1–2° and
        # read as a 0.24 m/s² offset during the first trial's weight shift)
        self._n_seen += 1
        if self._t_first is None:
            self._t_first = t
        k = max(dt / (2.0 * self.tau_roll_s), 1.0 / self._n_seen)
        self._gyr_mean += k * (roll_dps - self._gyr_mean)
        self._roll += (
            math.radians(roll_dps - self._gyr_mean) * dt - dt / self.tau_roll_s * self._roll
        )
        a = acc - G_MPS2 * math.sin(self._roll)
        self._acc_mean += k * (a - self._acc_mean)
        self._buf.append(a - self._acc_mean)
        self._times.append(t)
        self._ref.append((t, a - self._acc_mean))
        out = None
        if self._best is not None and t + self.delay_s > self._best[1] + self.wait_s:
            out = self._emit()  # no window overlapping it can come any more
        return self._search() or out

    def _emit(self) -> tuple[float, float, float] | None:
        if self._best is None:
            return None
        _, t0, t1, d = self._best
        self._best = None
        self._completed_found = (t0, t1, d)
        self.completed = self._refine(t0, t1, d)
        return self.completed

    def onto_foot(self, move: tuple[float, float, float]) -> tuple[float, float, float]:
        """``move`` (the one just reported) refitted as the weight shift onto the stance
        foot: its end is the lift-off, and what follows it is the lift itself and single-leg
        sway, not rest, so the fit leaves it out (see :meth:`_refine`)."""
        if move is self.completed and self._completed_found is not None:
            return self._refine(*self._completed_found, rest_after=False)
        return move

    def _refine(
        self, t0: float, t1: float, d: float, rest_after: bool = True
    ) -> tuple[float, float, float]:
        """The move's start and duration on the sample grid around the template found: the
        minimum-jerk acceleration with rest before it (``pad_s``) and, if ``rest_after``,
        after it best correlated with the samples held, its start within 0.1 s of the one
        found, its end no earlier (with rest after) or at most 0.1 s earlier (without) and
        at most 1.3 durations after the start (the distance stays the template's: the
        thresholds on it were set with that estimate). The templates' durations are 20 %
        apart, so the move found may end up to 0.2 s off for a 1.5 s shift. A shift onto the
        stance foot is fitted without rest after: the lift and single-leg sway begin there
        (fitted with rest after, the lift-off was 23–24 ms RMS off, up to 103 ms, on the tuning
        seeds; without, 13 ms, up to 80)."""
        held = np.array(self._ref, dtype=np.float64).reshape(-1, 2)
        times, arr = held[:, 0] - self.delay_s, held[:, 1]
        hz, pad = self.rate_hz, round(self.pad_s * self.rate_hz)
        i0, i1 = int(np.searchsorted(times, t0)), int(np.searchsorted(times, t1))
        n0, k = i1 - i0, round(0.1 * hz)
        post, early = (pad, 0) if rest_after else (0, k)
        best = (-1.0, t0, t1, d)
        for i_s in range(i0 - k, i0 + k + 1):
            for n in range(max(i1 - i_s - early, 4), round(1.3 * n0) + 1):
                lo, hi = i_s - pad, i_s + n + post
                if lo < 0 or hi > arr.shape[0]:
                    continue
                w = arr[lo:hi] - arr[lo:hi].mean()
                phi = np.zeros(hi - lo)
                phi[pad : pad + n] = _min_jerk_acc(n)
                phi -= phi.mean()
                den = math.sqrt(float(w @ w) * float(phi @ phi))
                corr = abs(float(w @ phi)) / den if den > 0 else 0.0
                if corr > best[0]:
                    best = (corr, float(times[i_s]), float(times[i_s]) + n / hz, d)
        return best[1:]

    def pending(self, min_m: float) -> tuple[float, float, float] | None:
        """The move found but not reported yet (an overlapping window may still replace it,
        see :meth:`_search`), refined, if at least ``min_m``: asked when the sway has shown a
        lift-off before the report (a steady person's sway may rise 1–2 s after the shift,
        by when its rest before has left the samples :meth:`search_back` looks at)."""
        if self._best is None or abs(self._best[3]) < min_m:
            return None
        return self._refine(*self._best[1:], rest_after=False)

    def search_back(self, min_m: float) -> tuple[float, float, float] | None:
        """The best move of at least ``min_m`` in the samples held (about the longest template
        and two margins), at rest before it but not necessarily after: asked once, when the
        sway has already shown a lift-off, since single-leg sway may follow a shift onto one
        foot at once. (start_t, end_t, displacement_m) or None."""
        m = self._m
        arr = np.fromiter(self._buf, dtype=np.float64, count=len(self._buf))
        times = list(self._times)
        best: tuple[float, float, float, float] | None = None
        for dur, n, phi, phi2, phi_norm in self._templates:
            for end in range(n + m, len(arr) + 1):
                w = arr[end - n : end]
                w0 = w - w.mean()
                norm = math.sqrt(float(w0 @ w0))
                if norm < 1e-6:
                    continue
                corr = abs(float(w0 @ phi)) / (phi_norm * norm)
                if corr < self.min_corr or (best is not None and corr <= best[0]):
                    continue
                d = float(w @ phi) / phi2 * dur * dur
                if not self._warm(times[end - n - m]):
                    continue
                pre = arr[end - n - m : end - n]
                off = float(arr[end - n - m : end].mean()) if abs(d) >= self.offset_free_m else 0.0
                v_pre = _rest_speed(pre[::-1] - off, self.rate_hz)
                if abs(d) < min_m or v_pre > self.quiet_frac * 1.875 * abs(d) / dur:
                    continue
                t1 = times[end - 1] - self.delay_s
                best = (corr, t1 - dur, t1, d)
        return None if best is None else self._refine(*best[1:], rest_after=False)

    def _warm(self, t: float) -> bool:
        """The slow means have averaged ``warm_s`` of samples by ``t``."""
        return self._t_first is not None and t >= self._t_first + self.warm_s

    def _search(self) -> tuple[float, float, float] | None:
        """Test the windows ending ``margin_s`` ago; returns the pending move if a later one,
        not overlapping it, replaces it."""
        m = self._m
        buf = self._buf
        out = None
        if len(buf) < 2 * m + 4:
            return None
        arr = np.fromiter(buf, dtype=np.float64, count=len(buf))
        post = arr[-m:]
        end = len(arr) - m
        times = self._times
        for dur, n, phi, phi2, phi_norm in self._templates:
            if end - n - m < 0 or not self._warm(times[end - n - m]):
                break
            w = arr[end - n : end]
            pre = arr[end - n - m : end - n]
            w0 = w - w.mean()
            w_rms = math.sqrt(float(w0 @ w0) / n)
            if w_rms < 1e-6:
                continue
            corr = float(w0 @ phi) / (phi_norm * math.sqrt(float(w0 @ w0)))
            if abs(corr) < self.min_corr:
                continue
            d = float(w @ phi) / phi2 * dur * dur
            if abs(d) < self.min_m:
                continue
            # at rest before and after: the pelvis hardly moves there (an oscillation such as
            # a hip-strategy correction swings on; a move begun earlier is not over); the
            # span's mean acceleration is an offset, not a motion (see _rest_speed)
            v_peak = 1.875 * abs(d) / dur
            off = float(arr[end - n - m :].mean()) if abs(d) >= self.offset_free_m else 0.0
            v_pre = _rest_speed(pre[::-1] - off, self.rate_hz)
            v_post = _rest_speed(post - off, self.rate_hz)
            if max(v_pre, v_post) > self.quiet_frac * v_peak:
                continue
            t1 = times[end - 1] - self.delay_s
            if self._best is not None and t1 - dur >= self._best[2]:
                out = self._emit()  # a separate, later move: the pending one is final
            if self._best is None or abs(corr) > self._best[0]:
                self._best = (abs(corr), t1 - dur, t1, d)
        return out


class StanceDetector(Algorithm):
    """Lift-off / touch-down state machine over :class:`~hipsense.motion.frontend.Frame` chunks.

    quiet_dps: motion level below which the pelvis counts as quiet (bipedal stance).
    lift_dps: motion level that, held for ``lift_hold_s``, means single-leg stance.
    onset_dps: the lift-off is dated back to the last time the fast level was below this.
    lift_hold_s: how long the level must stay above ``lift_dps``.
    baseline_min_s: quiet upright standing needed before a lift-off counts.
    impact_mps3: jerk above this during single-leg stance is a touch-down of the free foot.
    impact_onset_frac: a touch-down is dated back to where the jerk rose above this fraction
        of ``impact_mps3``.
    end_quiet_s: quiet this long during single-leg stance ends the trial (foot down for good).
    end_dps: the pelvis is still once the fast motion level stays below this.
    settle_s: the final touch-down is the jerk onset of the levelling move within this time
        before the pelvis became still.
    upright_max_deg: the pelvis's up axis must stay within this of the vertical (from the
        low-passed accelerometer) before and during a trial.
    jerk_delay_s: touch-down times are moved earlier by the group delay of the front end's
        8 Hz jerk low-pass (2nd-order Butterworth: √2 / (2π · 8 Hz) ≈ 28 ms).
    level_delay_s: lift-off times are moved earlier by the time constant of the fast motion
        level (50 ms).
    shift_min_m: a lateral move of the pelvis at least this large from quiet bipedal stance
        is the weight shift onto the stance leg; its end is the lift-off (a steady person's
        sway may never rise above ``lift_dps``).
    return_frac: a move back of at least this fraction of the weight shift is a touch-down.
    touch_max_s: after a touch-down seen from the weight moving back, a trial dated by the
        weight shift ends if the weight has not moved back over the stance foot within this.
    back_within_s: a trial dated by the weight shift ends at a touch-down (a jolt) only when
        the weight goes back onto both feet (a move away from the stance foot of at least
        ``return_frac`` of the shift) within ``touch_max_s`` and the move's report delay;
        a move back starting more than this after the jolt dates the end itself (a later,
        final touch-down). Without a move back the touch was brief (a toe tap, a hand to a
        wall): the trial goes on.
    redate_after_s: a weight shift found after a lift-off dated by sway dates it instead
        only if it ends at most this after the sway's rise (the foot leaves at the end of
        the shift; a move ending later is single-leg sway or the lift itself).
    jolt_s: the end of a trial moves back to the first jolt within this before it: a hop or
        a hand to a wall comes before the weight goes back onto both feet.
    jolt_frac: a jolt is a jerk above this fraction of ``impact_mps3``.
    end_rel: during the hold, "quiet" is the motion level averaged over ``quiet_tau_s``
        below at most this fraction of the hold's own mean motion level (measured from
        ``settle_in_s`` after the lift-off): on two feet the pelvis sways less than on one,
        whatever the person's own level, and a steady person's sway on a noisy gyroscope is
        near its noise floor. A re-lift after a brief touch-down keeps the fixed
        ``lift_dps``: a relative one would mistake the settling after the final touch-down of
        a steady person for it.
    still_rel: during the hold, "still" (the fast level, dating the final touch-down) is
        below at most this multiple of the hold's mean level.
    settle_in_s: the hold's level is measured from this long after the lift-off (the lift
        itself is a move).
    quiet_tau_s: time constant of the motion level averaged for the quiet test of the hold.
    amend_after_s: a trial ended by quiet alone whose weight goes back onto both feet more
        than this (and at most ``amend_within_s``) after that end ends at the move back
        instead (a lull in a steady sway).
    amend_within_s: see ``amend_after_s``.
    rejoin_s: a brief touch-down the foot came up from less than this before the final
        touch-down found was the final touch-down's start (see :meth:`_end`).
    rise_s: a final touch-down dated by the quiet rule or by the weight's move back is
        re-dated to the onset of the pelvis's levelling: the fast motion level's largest value
        in ``rise_window_s`` around the end found, walked back to where the level was below
        ``rise_frac`` of it, if that took at most this long (the pelvis levels over about
        0.2 s as the foot goes down; a longer rise is sway) and lands within
        ``rise_window_s[0]`` of the end found (see :meth:`_levelling_onset`).
    rise_frac: see ``rise_s``.
    rise_window_s: see ``rise_s`` (before, after the end found).
    history_s: samples kept to date events back (a steady person's final touch-down may
        be confirmed by quiet seconds later).
    mark_grace_s: a key or button mark is decided this long after it (the sensor's final
        touch-down needs ``end_quiet_s`` of quiet, so it may come after the press), and a
        touch-down the sensor saw within this time of the mark means it saw that one.
    """

    def __init__(
        self,
        quiet_dps: float = 1.6,
        lift_dps: float = 2.4,
        onset_dps: float = 1.6,
        lift_hold_s: float = 0.4,
        baseline_min_s: float = 1.0,
        impact_mps3: float = 70.0,
        impact_onset_frac: float = 0.3,
        end_quiet_s: float = 1.0,
        end_dps: float = 2.0,
        settle_s: float = 0.6,
        upright_max_deg: float = 40.0,
        jerk_delay_s: float = 0.028,
        level_delay_s: float = 0.05,
        mark_grace_s: float = 3.5,
        shift_min_m: float = 0.02,
        return_frac: float = 0.65,
        touch_max_s: float = 2.5,
        back_within_s: float = 1.0,
        redate_after_s: float = 0.15,
        jolt_s: float = 0.6,
        jolt_frac: float = 0.4,
        end_rel: float = 0.5,
        still_rel: float = 1.5,
        quiet_tau_s: float = 0.5,
        history_s: float = 8.0,
        amend_after_s: float = 0.35,
        amend_within_s: float = 3.0,
        settle_in_s: float = 1.0,
        rejoin_s: float = 0.3,
        rise_s: float = 0.15,
        rise_frac: float = 0.3,
        rise_window_s: tuple[float, float] = (0.3, 0.4),
    ) -> None:
        self.quiet_dps = quiet_dps
        self.lift_dps = lift_dps
        self.onset_dps = onset_dps
        self.lift_hold_s = lift_hold_s
        self.baseline_min_s = baseline_min_s
        self.impact_mps3 = impact_mps3
        self.impact_onset_frac = impact_onset_frac
        self.end_quiet_s = end_quiet_s
        self.end_dps = end_dps
        self.settle_s = settle_s
        self.upright_max_deg = upright_max_deg
        self.jerk_delay_s = jerk_delay_s
        self.level_delay_s = level_delay_s
        self.mark_grace_s = mark_grace_s
        self.shift_min_m = shift_min_m
        self.return_frac = return_frac
        self.touch_max_s = touch_max_s
        self.back_within_s = back_within_s
        self.redate_after_s = redate_after_s
        self.jolt_s = jolt_s
        self.jolt_frac = jolt_frac
        self.end_rel = end_rel
        self.still_rel = still_rel
        self.quiet_tau_s = quiet_tau_s
        self.history_s = history_s
        self.amend_after_s = amend_after_s
        self.amend_within_s = amend_within_s
        self._by_quiet = False  # the last trial ended by quiet alone (may be amended)
        self._lull = False  # ... and no lateral move since: it may resume (see _resume)
        self._after_lull = False  # the running trial began after such a lull
        self._act_slow = 0.0
        self.settle_in_s = settle_in_s
        self.rejoin_s = rejoin_s
        self.rise_s = rise_s
        self.rise_frac = rise_frac
        self.rise_window_s = rise_window_s
        self._shift = WeightShift()
        self._quiet_from_t = 0.0
        self._lift_cue = "sway"
        # the move not yet reported that the running trial was dated from (see _final_shift)
        self._pending_lift: tuple[float, float, float] | None = None
        self.trials_: list[StanceTrial] = []
        self.notes_: list[str] = []  # what became of each key or button mark
        self.state_ = "waiting"  # waiting | ready | single | touch
        self.max_abs_tilt_deg_ = 0.0
        self._quiet_since: float | None = None
        self._above_since: float | None = None
        self._last_low_t = 0.0
        self._hist: deque[tuple[float, float, float, float, float, float, float]] = deque()
        self._level_sum = 0.0  # motion level summed over the hold so far (its mean: the
        self._level_n = 0  # person's own single-leg sway)
        self._last_high_t = 0.0
        self._impact_rise_t: float | None = None
        self._touch_t = 0.0
        self._back_t: float | None = None  # start of the weight's move back in this touch
        self._t_prev: float | None = None
        self._incl_lp: float | None = None
        self._marks: list[Mark] = []
        self._mark_times: set[float] = set()
        self._lift_seen_t: list[float] = []

    @property
    def current_trial_(self) -> StanceTrial | None:
        if self.trials_ and self.trials_[-1].end_t_s is None:
            return self.trials_[-1]
        return None

    @property
    def end_provisional_(self) -> bool:
        """The last trial ended by quiet alone and that end may still change: with no lateral
        move since, a rise of the sway reopens the hold (:meth:`_resume`), and a move back
        onto both feet within ``amend_within_s`` moves the end to it (:meth:`_amend`). For a
        live view, which must not announce an end it may withdraw; decides nothing."""
        if not self.trials_ or self.trials_[-1].end_t_s is None:
            return False
        end = self.trials_[-1].end_t_s
        amendable = self._by_quiet and (self._t_prev or 0.0) <= end + self.amend_within_s
        return self._lull or amendable

    @property
    def pending_marks_(self) -> tuple[Mark, ...]:
        """Key or button marks not decided yet (the sensor still has time to see the touch-down)."""
        return tuple(self._marks)

    def detect(
        self,
        data: Mapping[str, Any],
        *,
        sampling_rate_hz: float,
        mounting_wxyz: Sequence[float] = IDENTITY,
    ) -> StanceDetector:
        """Detect the trials of a whole recording afresh: ``data`` indexed by hipsense column
        names; the IMU front end runs first (``mounting_wxyz``: sensor -> pelvis); results in
        ``trials_``. The same as feeding front-end frames to :meth:`update` and finishing."""
        t, acc, gyr = raw_columns(data)
        self._restart()
        run_front_end(self, t, acc, gyr, sampling_rate_hz, mounting_wxyz)
        return self.finish(float(t[-1]))

    def update(self, frame: Frame) -> StanceDetector:
        """Feed one chunk of front-end output."""
        lat = frame.acc_pelvis_mps2[:, 1]
        shift_acc = lat.tolist()
        roll = frame.gyr_pelvis_dps[:, 0].tolist()
        t, act, jerk = frame.t_s.tolist(), frame.activity_dps.tolist(), frame.jerk_mps3.tolist()
        fast = frame.activity_fast_dps.tolist()
        tilt_a, obl_a = frame.static_angles_deg()
        tilt, obl, lat_l = tilt_a.tolist(), obl_a.tolist(), lat.tolist()
        incl = frame.inclination_deg.tolist()
        for i in range(len(t)):
            move = self._shift.step(t[i], shift_acc[i], roll[i])
            self._step(t[i], act[i], fast[i], jerk[i], tilt[i], obl[i], lat_l[i], incl[i], move)
            if self._marks and t[i] >= self._marks[0].t_s + self.mark_grace_s:
                self._due_marks(t[i])
        return self

    def mark(self, t_s: float, source: str) -> StanceDetector:
        """A touch-down marked by hand (``key`` or ``button``) at ``t_s``; decided once the
        samples reach ``t_s + mark_grace_s`` (or at :meth:`finish`). A second mark at the
        same time is ignored (a sample holds one marker in a recording)."""
        if t_s not in self._mark_times:
            self._mark_times.add(t_s)
            self._marks.append(Mark(t_s, source))
            self._marks.sort(key=lambda m: m.t_s)
        return self

    # -------------------------------------------------------------------- state machine

    def _step(
        self, t: float, act: float, fast: float, jerk: float, tilt: float, obl: float,
        lat: float, incl: float, move: tuple[float, float, float] | None = None,
    ) -> None:  # fmt: skip
        hist = self._hist
        hist.append((t, tilt, obl, lat, act, jerk, fast))
        while hist and hist[0][0] < t - self.history_s:
            hist.popleft()
        if fast < self.onset_dps:
            self._last_low_t = t
        # posture: inclination low-passed over ~1 s (a touch-down jolt is not a posture)
        dt = min(max(t - self._t_prev, 0.0), 1.0) if self._t_prev is not None else 0.0
        self._t_prev = t
        self._incl_lp = (
            incl if self._incl_lp is None else self._incl_lp + dt * (incl - self._incl_lp)
        )
        incl = self._incl_lp
        if self.state_ in ("single", "touch"):
            self.max_abs_tilt_deg_ = max(self.max_abs_tilt_deg_, incl)
        quiet_dps, end_dps = self.quiet_dps, self.end_dps
        self._act_slow += min(dt / self.quiet_tau_s, 1.0) * (act - self._act_slow)
        level_of = act
        if self.state_ in ("single", "touch"):
            # on one leg the pelvis sways more than on two (a steady person's hold may be below
            # the fixed levels): quiet and still are also relative to this hold's level,
            # measured from ``settle_in_s`` after the lift-off (the lift itself is a move); no
            # quiet before that level is known
            level = self._level_sum / self._level_n if self._level_n else 0.0
            quiet_dps = min(quiet_dps, self.end_rel * level)
            end_dps = min(end_dps, self.still_rel * level)
            level_of = self._act_slow  # near the sensor's noise floor: averaged over longer
        quiet = level_of < quiet_dps
        if quiet:
            if self._quiet_since is None:
                self._quiet_since = t
        else:
            self._quiet_since = None
        quiet_for = 0.0 if self._quiet_since is None else t - self._quiet_since
        if act > self.lift_dps:
            if self._above_since is None:
                self._above_since = t
        else:
            self._above_since = None
        above_for = 0.0 if self._above_since is None else t - self._above_since

        if move is not None and self._pending_lift is not None:
            self._final_shift(move)
        if self.state_ in ("waiting", "ready") and move is not None:
            if self._amend(move):
                return
            if abs(move[2]) >= 0.5 * self.shift_min_m:
                self._lull = False  # the pelvis moved sideways: not one long hold
        if self.state_ == "waiting":
            upright = incl < self.upright_max_deg
            if quiet_for >= self.baseline_min_s and upright:
                self.state_ = "ready"
                self._quiet_from_t = t - quiet_for
        elif self.state_ == "ready":
            if move is not None and abs(move[2]) >= self.shift_min_m and self._after_last(move):
                self._lift(t, move)
            elif above_for >= self.lift_hold_s:
                self._lift(t)
        elif self.state_ == "single":
            if t >= self.trials_[-1].lift_off_t_s + self.settle_in_s:
                self._level_sum += act
                self._level_n += 1
            if fast > end_dps:
                self._last_high_t = t
            if move is not None and self._redate(move):
                return
            if self._impact(t, jerk):
                return
            if move is not None and self._returned(move) and move[0] <= self._lift_t():
                self._withdraw(move[0], move[1])
                return
            if move is not None and self._returned(move):
                self._touch_t = move[0]
                self._back_t = move[0]
                self.state_ = "touch"
                self._above_since = None
            elif quiet_for >= self.end_quiet_s:
                self._end(self._settling_onset(self._last_high_t), levelling=True)
                self._by_quiet = self._lull = True
        elif self.state_ == "touch":
            sway_cue = self._lift_cue == "sway"
            if move is not None and self._back_t is None and self._returned(move):
                self._back_t = move[0]
            timed_out = t - self._touch_t >= self.touch_max_s + self._shift.wait_s
            if self._reloaded(move) or above_for >= self.lift_hold_s:
                self._touched_again()
            elif sway_cue and quiet_for >= self.end_quiet_s:
                self._end(self._touch_t)
            elif not sway_cue and timed_out and self._back_t is None:
                # no weight back onto both feet (a toe tap, a hand to a wall): still one leg
                self._touched_again()
            elif not sway_cue and timed_out and self._back_t is not None:
                late = self._back_t > self._touch_t + self.back_within_s
                self._end(self._back_t if late else self._touch_t, levelling=True)

    def _touched_again(self) -> None:
        """The touch-down was brief: the foot is up again, the trial goes on."""
        trial = self.trials_[-1]
        trial.touch_downs.append((self._touch_t, max(self._last_low_t, self._touch_t)))
        self.state_ = "single"
        self._impact_rise_t = None

    def _after_last(self, move: tuple[float, float, float]) -> bool:
        """A weight shift starts from quiet standing on both feet: a move reported late that
        began before that (the weight going back at the end of the last trial, or after a
        key ended it) is not the next trial's."""
        return move[0] >= self._quiet_from_t

    def _redate(self, move: tuple[float, float, float]) -> bool:
        """The weight shift of a trial the sway already started is reported late (the
        matched filter waits for quiet after it): the lift-off moves to its end, if that end
        is at most ``redate_after_s`` after the sway's lift-off (as for the look-back)."""
        trial = self.trials_[-1]
        # the shift ends as the foot leaves: not after the sway has risen (a move ending
        # later is single-leg sway or the lift itself, and named the wrong leg)
        near = -1.0 <= move[1] - trial.lift_off_t_s <= self.redate_after_s
        if trial.lift_cue != "sway" or not near or abs(move[2]) < self.shift_min_m:
            return False
        if not self._moved_since(move, trial.lift_off_t_s):
            return False  # (see _lift)
        move = self._shift.onto_foot(move)
        trial.lift_off_t_s, trial.shift_m, trial.lift_cue = move[1], move[2], "weight shift"
        return True

    def _returned(self, move: tuple[float, float, float] | None) -> bool:
        """A lateral move back, away from the stance foot, of at least ``return_frac`` of the
        weight shift: the weight went back onto both feet."""
        if move is None or not self.trials_:
            return False
        shift = self.trials_[-1].shift_m
        return move[2] * shift < 0 and abs(move[2]) >= self.return_frac * abs(shift)

    def _reloaded(self, move: tuple[float, float, float] | None) -> bool:
        """A lateral move back over the stance foot after a touch-down: the foot lifted again."""
        if move is None or not self.trials_:
            return False
        shift = self.trials_[-1].shift_m
        return move[2] * shift > 0 and abs(move[2]) >= 0.5 * self.shift_min_m

    def _impact(self, t: float, jerk: float) -> bool:
        if jerk > self.impact_onset_frac * self.impact_mps3:
            if self._impact_rise_t is None:
                self._impact_rise_t = t
        else:
            self._impact_rise_t = None
        if jerk > self.impact_mps3 and self._impact_rise_t is not None:
            self._touch_t = self._impact_rise_t - self.jerk_delay_s
            self._back_t = None
            self.state_ = "touch"
            self._above_since = None
            return True
        return False

    def _first_jolt(self, t_end: float) -> float:
        """The trial ends at the first jolt in the ``jolt_s`` before the end found (the
        stance foot hopping off, a hand hitting a wall: the weight goes back or the pelvis
        settles only after it), dated back to its onset; else at ``t_end``."""
        lo = max(self.trials_[-1].lift_off_t_s + 0.5, t_end - self.jolt_s)
        win = [h for h in self._hist if lo <= h[0] <= t_end]
        floor = self.jolt_frac * self.impact_mps3
        k = next((i for i, h in enumerate(win) if h[5] > floor), None)
        if k is None:
            return t_end
        while k > 0 and win[k - 1][5] > self.impact_onset_frac * floor:
            k -= 1
        return min(t_end, win[k][0] - self.jerk_delay_s)

    def _settling_onset(self, t_still: float) -> float:
        """The start of the final levelling move before ``t_still``: the largest jerk in the
        ``settle_s`` before it, dated back to where the jerk rose above
        ``impact_onset_frac`` of that peak."""
        win = [h for h in self._hist if t_still - self.settle_s <= h[0] <= t_still]
        if not win:
            return t_still
        k = max(range(len(win)), key=lambda i: win[i][5])
        floor = self.impact_onset_frac * win[k][5]
        while k > 0 and win[k - 1][5] > floor:
            k -= 1
        return win[k][0] - self.jerk_delay_s

    def _levelling_onset(self, t_end: float) -> float:
        """The onset of the pelvis's levelling as the free foot goes down, near ``t_end``:
        the largest fast motion level in ``rise_window_s`` around it, dated back to where the
        level rose above ``rise_frac`` of that peak, less the level's delay; ``t_end`` itself
        if that rise took longer than ``rise_s`` (sway, not one levelling move), lands more
        than ``rise_window_s[0]`` from it, or an impact (``impact_mps3``) lies in the window.
        The jerk-dated settling onset (it took the largest jerk, often the end of the foot's
        move, not its start) and the move back's start (sway blurs a 0.5–1 s lateral move's
        start) were 0.1–0.25 s off in 24 of the tuning seeds' 800 ends."""
        before, after = self.rise_window_s
        win = [h for h in self._hist if t_end - before <= h[0] <= t_end + after]
        if not win or max(h[5] for h in win) > self.impact_mps3:
            return t_end  # an impact there (a hop's landing) dates the end
        k = max(range(len(win)), key=lambda i: win[i][6])
        t_peak, floor = win[k][0], self.rise_frac * win[k][6]
        hist = list(self._hist)
        i = hist.index(win[k])
        while i > 0 and hist[i - 1][6] > floor:
            i -= 1
            if t_peak - hist[i][0] > self.rise_s:
                return t_end
        onset = hist[i][0] - self.level_delay_s
        return onset if abs(onset - t_end) <= before else t_end

    def _due_marks(self, t: float) -> None:
        while self._marks and t >= self._marks[0].t_s + self.mark_grace_s:
            if self.state_ == "single" and self._quiet_since is not None:
                return  # the pelvis is settling: the sensor is about to decide the end itself
            self._apply_mark(self._marks.pop(0))

    def _apply_mark(self, mark: Mark) -> None:
        """The sensor first: the mark only ends the trial running at its time when the sensor
        saw no touch-down within ``mark_grace_s`` of it."""
        what = f"the {mark.source} at {mark.t_s:.2f} s"
        k = sum(1 for t_seen in self._lift_seen_t if t_seen <= mark.t_s) - 1
        if k < 0:
            self.notes_.append(f"{what} came before any lift-off: ignored")
            return
        trial = self.trials_[k]
        name = f"trial {k + 1}"
        if trial.end_t_s is not None:
            self.notes_.append(
                f"{name}: {what} is only noted, the trial had ended at {trial.end_t_s:.2f} s "
                f"(ended by: {trial.end_source})"
            )
            return
        seen = [down for down, _ in trial.touch_downs if abs(down - mark.t_s) <= self.mark_grace_s]
        if self.state_ == "touch":
            seen.append(self._touch_t)
        if seen:
            self.notes_.append(
                f"{name}: {what} is only noted, the sensor saw the touch-down at {seen[-1]:.2f} s"
            )
            return
        trial.end_t_s = mark.t_s
        trial.end_source = mark.source
        trial.touch_downs = [td for td in trial.touch_downs if td[0] < mark.t_s]
        self.notes_.append(
            f"{name}: the sensor saw no touch-down near {what}: the trial ends at the "
            f"{mark.source} press"
        )
        self.state_ = "waiting"
        self._quiet_since = None
        self._above_since = None

    def _lift(self, t: float, move: tuple[float, float, float] | None = None) -> None:
        """Single-leg stance begins: at the end of the weight shift onto the stance leg when
        one was seen (``move``), else where the sway rose above the quiet level."""
        recent = self._shift.completed
        pending = None  # a move found but not reported yet, if the lift-off is dated from it
        if move is None and recent is not None and t - recent[1] < 1.5:
            move = recent if abs(recent[2]) >= self.shift_min_m else None
        if move is None:  # a shift followed at once by sway: look back for it, rest before only
            t_sway = self._last_low_t - self.level_delay_s
            pending = self._shift.pending(self.shift_min_m)
            back = pending or self._shift.search_back(self.shift_min_m)
            # the shift ends as the foot leaves: not after the sway has risen; and the
            # pelvis is still displaced its way at the sway's rise (else the move found is
            # sway before the shift and the shift's first half, tuning seed 11)
            if (
                back is not None
                and back[0] >= self._quiet_from_t
                and self._moved_since(back, t_sway)
                and back[1] <= t_sway + self.redate_after_s
            ):
                move = back
        from_pending = move is not None and move is pending
        if move is not None:
            move = self._shift.onto_foot(move)
            t_lift, shift = move[1], move[2]
            self._lift_cue = "weight shift"
        else:
            t_lift = self._last_low_t - self.level_delay_s
            self._lift_cue = "sway"
            hist = self._hist
            shift = lateral_shift_m([h[0] for h in hist], [h[3] for h in hist], t_lift)
            if self._resume(shift, t):
                return
        self._after_lull, self._lull = self._lull, False
        base = [h for h in self._hist if t_lift - 2.5 <= h[0] < t_lift - 1.0]
        if not base:
            base = [h for h in self._hist if h[0] < t_lift] or list(self._hist)
        self.trials_.append(
            StanceTrial(
                lift_off_t_s=t_lift,
                baseline_tilt_deg=float(np.mean([h[1] for h in base])),
                baseline_obliquity_deg=float(np.mean([h[2] for h in base])),
                shift_m=shift,
                lift_cue=self._lift_cue,
            )
        )
        self._lift_seen_t.append(t)
        self._pending_lift = move if from_pending else None
        self.state_ = "single"
        held = [h[4] for h in self._hist if h[0] >= t_lift + self.settle_in_s]
        self._level_sum, self._level_n = float(sum(held)), len(held)
        self._last_high_t = t
        self._impact_rise_t = None

    def _final_shift(self, move: tuple[float, float, float]) -> None:
        """The first move reported after a trial was dated from a pending one is that move's
        final window (an overlapping, better correlated window may have replaced it): the
        trial takes its distance, which the move back is judged against (:meth:`_returned`).
        The lift-off stays. Tuning seed 12, person 121: dated from 7.9 cm, reported 10.8 cm;
        a move back of 65 % of 7.9 cm but not of 10.8 cm ended the trial 1.03 s early."""
        pending, self._pending_lift = self._pending_lift, None
        if pending is None or not self.trials_:
            return
        if move[2] * pending[2] > 0 and move[0] < pending[1] and move[1] > pending[0]:
            self.trials_[-1].shift_m = move[2]

    def _moved_since(self, move: tuple[float, float, float], t: float) -> bool:
        """Not an opposite displacement of at least ``shift_min_m`` from ``move``'s start to
        ``t`` (a weight shift leaves the pelvis over the stance foot)."""
        hist = self._hist
        span = t - move[0] + 0.1
        seen = lateral_shift_m([h[0] for h in hist], [h[3] for h in hist], t, span)
        return not (seen * move[2] < 0 and abs(seen) >= self.shift_min_m)

    def _resume(self, shift_m: float, t: float) -> bool:
        """A steady person's hold goes on after a lull: the last trial ended by quiet alone,
        the pelvis has made no lateral move since (the weight never went back onto both
        feet) and the sway rises again with no weight shift onto the other foot. The trial
        is reopened rather than a new one begun (the lull's end cut holds 11–22 s short on
        the tuning seeds, and the rest of the hold was counted as an extra trial)."""
        if not self._lull or not self.trials_:
            return False
        trial = self.trials_[-1]
        if abs(shift_m) >= self.shift_min_m and shift_m * trial.shift_m < 0:
            return False
        trial.end_t_s = None
        self._lull = self._by_quiet = False
        self.state_ = "single"
        self._last_high_t = t
        self._impact_rise_t = None
        return True

    def _lift_t(self) -> float:
        return self.trials_[-1].lift_off_t_s

    def _withdraw(self, t_back: float, t_moved: float) -> None:
        """The running trial would end at ``t_back``, at or before its lift-off (a move back
        onto both feet is reported seconds late): the lift-off was part of the weight going
        back, not a new trial, and a trial ending before it starts is none. It is withdrawn;
        if it began after a lull (the last trial ended by quiet alone) that hold ends where the
        weight went back (a 2.2 cm move before a steady person's step down, tuning seed 11,
        person 96, had begun a trial dated to end 0.34 s before its lift-off). Bipedal
        standing is counted from ``t_moved`` (the move's end)."""
        self.trials_.pop()
        self._lift_seen_t.pop()
        self._pending_lift = None
        if self._after_lull and self.trials_:
            self.trials_[-1].end_t_s = self._first_jolt(t_back)
        self._after_lull = self._by_quiet = self._lull = False
        self._quiet_from_t = max(self._quiet_from_t, t_moved)
        self.state_ = "waiting"
        self._quiet_since = None
        self._above_since = None

    def _amend(self, move: tuple[float, float, float]) -> bool:
        """A trial ended by quiet alone (a lull in a steady person's sway) whose weight goes
        back onto both feet clearly after that end (``amend_after_s``; the settling of a hop
        or a hand on a wall comes before the weight goes back): the final touch-down is the
        move back."""
        if not self._by_quiet or not self.trials_:
            return False
        trial = self.trials_[-1]
        end = trial.end_t_s
        if end is None or not end + self.amend_after_s < move[0] <= end + self.amend_within_s:
            return False  # (a later move back is the next trial's shift onto the other leg)
        if not self._returned(move):
            return False
        trial.end_t_s = self._first_jolt(move[0])
        self._by_quiet = self._lull = False
        self._quiet_from_t = max(self._quiet_from_t, move[1])
        return True

    def _end(self, t_end: float, levelling: bool = False) -> None:
        """End the trial at ``t_end`` (moved back to a jolt just before it); a brief
        touch-down the foot came up from less than ``rejoin_s`` before that end was the
        final touch-down's start (a hand to a wall, then the foot down: the move between
        looked like a re-lift). With neither, an end found by the quiet rule or the move back
        (``levelling``) is re-dated to the pelvis's levelling (:meth:`_levelling_onset`)."""
        self._by_quiet = False
        trial = self.trials_[-1]
        found, t_end = t_end, self._first_jolt(t_end)
        if trial.touch_downs and t_end - trial.touch_downs[-1][1] < self.rejoin_s:
            t_end = trial.touch_downs.pop()[0]
        elif levelling and t_end == found:
            t_end = self._levelling_onset(t_end)
        if t_end <= trial.lift_off_t_s:
            self._withdraw(t_end, t_end)
            return
        trial.end_t_s = t_end
        self.state_ = "waiting"
        self._quiet_since = None
        self._above_since = None

    def finish(self, t_last: float) -> StanceDetector:
        """Decide the marks still pending, then end an open trial at the last sample (the
        recording stopped during the hold)."""
        while self._marks:
            self._apply_mark(self._marks.pop(0))
        trial = self.current_trial_
        if trial is not None:
            if self.state_ == "touch" and self._touch_t <= trial.lift_off_t_s:
                self._withdraw(self._touch_t, self._touch_t)
            elif self.state_ == "touch":
                trial.end_t_s = self._touch_t
            else:
                trial.end_t_s = t_last
                trial.end_source = "recording end"
            self.state_ = "waiting"
        return self


def lateral_shift_m(
    t_s: list[float], acc_lat_mps2: list[float], t_lift: float, span_s: float = 1.5
) -> float:
    """Lateral displacement of the weight shift over the ``span_s`` before ``t_lift`` (> 0: left).

    The shift starts and ends at rest, so the velocity (integral of the acceleration) is
    detrended to zero at both ends, which also removes a constant acceleration offset.
    """
    sel = [(t, a) for t, a in zip(t_s, acc_lat_mps2, strict=True) if t_lift - span_s <= t < t_lift]
    if len(sel) < 10:
        return 0.0
    t = np.array([x[0] for x in sel])
    a = np.array([x[1] for x in sel])
    dt = np.diff(t, prepend=t[0])
    v = np.cumsum(a * dt)
    v -= v[0] + (v[-1] - v[0]) * (t - t[0]) / max(t[-1] - t[0], 1e-9)
    return float(np.sum(v * dt))

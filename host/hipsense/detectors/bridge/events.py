"""Causal bridge rep detector: waits for a still supine rest, sets the lying frame, counts reps.

A rep starts when the lift passes ``rep_on_deg`` and is complete when it falls back below
``rep_off_deg``; its samples are then measured (:mod:`hipsense.detectors.bridge.metrics`).
Fed in chunks of any size it finds the same reps, so the live count and the offline analysis agree.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from hipsense.detectors.base import Algorithm, raw_columns
from hipsense.detectors.bridge.frame import LyingFrame, supine_alignment, unit_rows
from hipsense.detectors.bridge.metrics import RepMeasure, measure_rep
from hipsense.motion.frontend import FloatArray, Frame, rotate, run_front_end


class BridgeDetector(Algorithm):
    """Supine rest -> lying frame -> reps.

    mounting_wxyz: sensor -> pelvis calibration (identity if none).
    quiet_dps: motion level below which the body counts as resting.
    rest_min_s: still supine time needed to set the frame.
    supine_cos: |cos| between up and the pelvis's anterior axis needed to count as supine.
    rep_on_deg: a rise of the lift by this within ``rise_window_s`` starts a rep.
    rep_off_deg: the rep ends when the lift is back within this of the rest level before it
        (the filter's slow drift between reps does not accumulate).
    min_peak_deg: a rep must rise at least this far above its rest level to count.
    rise_window_s: the window of the rise that starts a rep. 2 s: a slow low lift (7–8° over
        2.7 s, a weak side's single-leg rep) rises only ≈ 4° in its steepest second and was
        missed with 1 s; the slowest lift assumed (3 s) rises ≈ 90 % of its height in 2 s.
    count_tau_s: the lift that starts and ends reps is low-passed by two one-pole stages of
        this time constant (corner ≈ 1 Hz). The lift comes from the accelerometer, so a
        shaking hold (a weak side's 0.3–4 Hz tremor, ≈ 1 m/s² at the belt) swings it by ±5–8°
        and ended a rep mid-hold and counted dozens; the posture itself changes far slower
        (a lift takes 0.8–3 s). Each rep is still measured on the unsmoothed angles.
    """

    def __init__(
        self,
        mounting_wxyz: Sequence[float] = (1.0, 0.0, 0.0, 0.0),
        quiet_dps: float = 1.6,
        rest_min_s: float = 1.5,
        supine_cos: float = 0.8,
        rep_on_deg: float = 5.0,
        rep_off_deg: float = 2.5,
        min_peak_deg: float = 6.0,
        count_tau_s: float = 0.16,
        rise_window_s: float = 2.0,
    ) -> None:
        self.mounting_wxyz = tuple(mounting_wxyz)
        self.quiet_dps = quiet_dps
        self.rest_min_s = rest_min_s
        self.supine_cos = supine_cos
        self.rep_on_deg = rep_on_deg
        self.rep_off_deg = rep_off_deg
        self.min_peak_deg = min_peak_deg
        self.count_tau_s = count_tau_s
        self.rise_window_s = rise_window_s
        self._lp: tuple[float, float, float] | None = None  # (t, stage 1, stage 2) of the lift
        self.frame_: LyingFrame | None = None
        self.rest_t_s_: float | None = None
        self.reps_: list[RepMeasure] = []
        self.state_ = "waiting"  # waiting | ready | up
        self.lift_deg_ = 0.0
        self.drop_deg_ = 0.0
        self._quiet: deque[tuple[float, FloatArray, float]] = deque()
        self._buf: list[list[float]] = []
        self._pre: deque[list[float]] = deque()
        self._rest_level = 0.0
        self._m = np.asarray(mounting_wxyz, dtype=np.float64)

    def detect(self, data: Mapping[str, Any], *, sampling_rate_hz: float) -> BridgeDetector:
        """Detect the reps of a whole recording afresh: ``data`` indexed by hipsense column
        names; the IMU front end runs first with this detector's mounting; results in
        ``reps_``. The same as feeding front-end frames to :meth:`update` and finishing."""
        t, acc, gyr = raw_columns(data)
        self._restart()
        run_front_end(self, t, acc, gyr, sampling_rate_hz, self.mounting_wxyz)
        return self.finish()

    def update(self, frame: Frame) -> BridgeDetector:
        """Feed one chunk of front-end output."""
        if self.frame_ is None:
            self._find_rest(frame)
            if self.frame_ is None:
                return self
            keep = frame.t_s >= (self.rest_t_s_ or 0.0)
            if not keep.any():
                return self
            frame = _slice(frame, keep)
        up = unit_rows(frame.acc_pelvis_mps2)
        lift, drop = self.frame_.angles_deg(up)
        gyr = rotate(np.broadcast_to(self._m, (up.shape[0], 4)), frame.gyr_dps)
        for row in np.column_stack([frame.t_s, lift, drop, gyr, up]).tolist():
            self._step(row)
        return self

    def _find_rest(self, frame: Frame) -> None:
        up_all = unit_rows(frame.acc_pelvis_mps2)
        cos = supine_alignment(up_all)
        for i, t in enumerate(frame.t_s.tolist()):
            still = frame.activity_dps[i] < self.quiet_dps and abs(cos[i]) > self.supine_cos
            if not still:
                self._quiet.clear()
                continue
            self._quiet.append((t, up_all[i], float(cos[i])))
            if t - self._quiet[0][0] >= self.rest_min_s:
                up = np.mean([q[1] for q in self._quiet], axis=0)
                self.frame_ = LyingFrame.from_rest(up)
                self.rest_t_s_ = t
                self.state_ = "ready"
                return

    def _smooth(self, t: float, lift: float) -> float:
        """The lift low-passed for counting (``count_tau_s``)."""
        if self._lp is None:
            self._lp = (t, lift, lift)
            return lift
        t0, a, b = self._lp
        k = min(max(t - t0, 0.0) / self.count_tau_s, 1.0)
        a += k * (lift - a)
        b += k * (a - b)
        self._lp = (t, a, b)
        return b

    def _step(self, sample: list[float]) -> None:
        t, lift, drop = sample[0], sample[1], sample[2]
        self.lift_deg_, self.drop_deg_ = lift, drop
        level = self._smooth(t, lift)
        sample = [*sample, level]  # column 9: the smoothed lift (measure_rep reads 0-8)
        if self.state_ == "ready":
            self._pre.append(sample)
            while self._pre and self._pre[0][0] < t - max(2.0, self.rise_window_s):
                self._pre.popleft()
            recent = [p[9] for p in self._pre if p[0] >= t - self.rise_window_s]
            if level - min(recent) > self.rep_on_deg:
                self.state_ = "up"
                self._buf = list(self._pre)
                self._rest_level = float(np.median([p[9] for p in self._pre]))
        elif self.state_ == "up":
            self._buf.append(sample)
            if level - self._rest_level < self.rep_off_deg:
                self._close(t)

    def _close(self, t: float) -> None:
        arr = np.asarray(self._buf, dtype=np.float64)
        self.state_ = "ready"
        self._pre.clear()
        self._buf = []
        if arr.shape[0] and float(arr[:, 9].max()) - self._rest_level >= self.min_peak_deg:
            rep = measure_rep(arr[:, 0], arr[:, 1], arr[:, 2], arr[:, 3:6], arr[:, 6:9])
            if rep is not None:
                self.reps_.append(rep)

    def finish(self) -> BridgeDetector:
        """Close a rep still open when the recording ends (it is measured if it came down)."""
        if self.state_ == "up" and self._buf:
            self._close(self._buf[-1][0])
        return self


def _slice(frame: Frame, keep: npt.NDArray[np.bool_]) -> Frame:
    return Frame(**{k: v[keep] for k, v in vars(frame).items()})

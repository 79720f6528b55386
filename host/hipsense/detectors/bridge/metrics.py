"""Per-rep measures: phase times from the lift curve, and the angles during the hold.

Phase boundaries come from the 20 % and 80 % crossings of the rep's plateau lift, on the way up
and on the way down, extended to the whole move assuming a symmetric S-shaped (minimum-jerk)
move, whose 20-80 % part takes 0.346 of its duration. The hold is from the top to the start of
the lowering; lift, hip drop and twist are their means over the hold, relative to the rest
just before the rep (the supine rest at the start sets the axes; re-referencing each rep keeps
slow changes between reps out of the result). Lift and drop come from the low-passed
accelerometer (static in the hold); twist is the gyroscope integrated about the up direction
from the rep's start, its bias taken as its mean over the rest before the rep.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hipsense.motion.frontend import FloatArray

MINJERK_20_80_FRACTION = 0.346


@dataclass(frozen=True)
class RepMeasure:
    start_t_s: float
    top_t_s: float
    hold_end_t_s: float
    end_t_s: float
    lift_deg: float
    hip_drop_deg: float
    """Mean obliquity in the lying frame during the hold (> 0 = left side higher)."""
    twist_deg: float
    """Mean rotation about the vertical during the hold (> 0 counter-clockwise from above)."""
    hold_drop_range_deg: float
    """Peak-to-peak of the obliquity during the hold (steadiness)."""

    @property
    def hold_s(self) -> float:
        return self.hold_end_t_s - self.top_t_s


def _crossing(t: FloatArray, y: FloatArray, level: float, rising: bool) -> float:
    """First (rising) or last (falling) time y crosses ``level``, linearly interpolated."""
    above = y >= level
    if rising:
        idx = np.flatnonzero(~above[:-1] & above[1:])
        i = int(idx[0]) if idx.size else 0
    else:
        idx = np.flatnonzero(above[:-1] & ~above[1:])
        i = int(idx[-1]) if idx.size else y.shape[0] - 2
    y0, y1 = y[i], y[i + 1]
    frac = 0.0 if y1 == y0 else (level - y0) / (y1 - y0)
    return float(t[i] + frac * (t[i + 1] - t[i]))


def twist_deg(t_s: FloatArray, gyr_dps: FloatArray, up: FloatArray, start_t_s: float) -> FloatArray:
    """Rotation about the up direction since ``start_t_s``: the gyroscope (pelvis axes) minus
    its mean over the rest before the rep (the bias), projected on up and integrated."""
    pre = t_s < start_t_s
    bias = gyr_dps[pre].mean(axis=0) if pre.any() else np.zeros(3)
    rate = np.einsum("ij,ij->i", gyr_dps - bias, up)
    dt = np.diff(t_s, prepend=t_s[0])
    angle = np.cumsum(rate * dt)
    k = min(int(np.searchsorted(t_s, start_t_s)), angle.shape[0] - 1)
    return angle - angle[k]


def measure_rep(
    t_s: FloatArray, lift_deg: FloatArray, drop_deg: FloatArray, gyr_dps: FloatArray,
    up: FloatArray,
) -> RepMeasure | None:  # fmt: skip
    """Measure one rep from its samples (a little rest before it, up to its return); ``gyr_dps``
    and ``up`` (unit up direction from the accelerometer) are in pelvis axes."""
    if t_s.shape[0] < 4:
        return None
    first = t_s < t_s[0] + 0.5
    lift_deg = lift_deg - float(np.median(lift_deg[first]))
    drop_deg = drop_deg - float(np.median(drop_deg[first]))
    peak = float(lift_deg.max())
    plateau = float(np.median(lift_deg[lift_deg > 0.5 * peak]))
    lo, hi = 0.2 * plateau, 0.8 * plateau
    up20, up80 = _crossing(t_s, lift_deg, lo, True), _crossing(t_s, lift_deg, hi, True)
    dn80, dn20 = _crossing(t_s, lift_deg, hi, False), _crossing(t_s, lift_deg, lo, False)
    rise_s = max(up80 - up20, 0.0) / MINJERK_20_80_FRACTION
    fall_s = max(dn20 - dn80, 0.0) / MINJERK_20_80_FRACTION
    mid_up, mid_dn = 0.5 * (up20 + up80), 0.5 * (dn80 + dn20)
    start, top = mid_up - 0.5 * rise_s, mid_up + 0.5 * rise_s
    hold_end, end = mid_dn - 0.5 * fall_s, mid_dn + 0.5 * fall_s
    if hold_end <= top:  # no hold: a touch-and-go rep
        top = hold_end = 0.5 * (top + hold_end)
    hold = (t_s >= top) & (t_s <= hold_end)
    if not hold.any():
        hold = lift_deg >= hi
    twist = twist_deg(t_s, gyr_dps, up, start)
    return RepMeasure(
        start_t_s=start,
        top_t_s=top,
        hold_end_t_s=hold_end,
        end_t_s=end,
        lift_deg=float(np.mean(lift_deg[hold])),
        hip_drop_deg=float(np.mean(drop_deg[hold])),
        twist_deg=float(np.mean(twist[hold])),
        hold_drop_range_deg=float(np.ptp(drop_deg[hold])),
    )

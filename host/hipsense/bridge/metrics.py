"""Per-rep measures: phase times from the lift curve, and the angles during the hold.

Phase boundaries come from the 20 % and 80 % crossings of the rep's plateau lift, on the way up
and on the way down, extended to the whole move assuming a symmetric S-shaped (minimum-jerk)
move, whose 20-80 % part takes 0.346 of its duration. The hold is from the top to the start of
the lowering; lift, hip drop and twist are their means over the hold, relative to the rest
just before the rep (the supine rest at the start sets the axes; re-referencing each rep keeps
the filter's slow drift between reps out of the result).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hipsense.balance.frontend import FloatArray

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


def _rest_trend(t_s: FloatArray, heading_deg: FloatArray, start_t_s: float) -> FloatArray:
    """The heading the rest before the rep would have continued with: a line fitted to the
    rest (its slope is the residual vertical gyro bias), or its mean if the rest is short."""
    pre = t_s < start_t_s
    if int(pre.sum()) < 50:
        return np.full_like(t_s, float(np.mean(heading_deg[pre])) if pre.any() else heading_deg[0])
    slope, offset = np.polyfit(t_s[pre] - start_t_s, heading_deg[pre], 1)
    return offset + slope * (t_s - start_t_s)


def measure_rep(
    t_s: FloatArray, lift_deg: FloatArray, drop_deg: FloatArray, heading_deg: FloatArray
) -> RepMeasure | None:
    """Measure one rep from its samples (a little rest before it, up to its return)."""
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
    heading_ref = _rest_trend(t_s, heading_deg, start)
    return RepMeasure(
        start_t_s=start,
        top_t_s=top,
        hold_end_t_s=hold_end,
        end_t_s=end,
        lift_deg=float(np.mean(lift_deg[hold])),
        hip_drop_deg=float(np.mean(drop_deg[hold])),
        twist_deg=float(np.mean(heading_deg[hold] - heading_ref[hold])),
        hold_drop_range_deg=float(np.ptp(drop_deg[hold])),
    )

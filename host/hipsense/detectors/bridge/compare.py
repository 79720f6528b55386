"""Left against right in single-leg bridges, and the rule that names the weaker side.

The weaker side is named only when a difference exceeds the measurement's repeatability:
- lift reached: more than max(1.96 × the standard error of the difference of the side means
  (from the rep-to-rep spread), ``LIFT_FLOOR_DEG``); the floor is the order of a single pelvis
  IMU's angle error against optical motion capture (frontal RMSE 2.7–4.5°, Bolink et al. 2016);
- drop of the unsupported side: more than the MDC95 of pelvic rotation in the bridge with one
  knee extended, 6.59° (Andrade et al. 2012).
The weaker side lifts less or lets its free side drop more. If the two criteria point at
different sides, no side is named.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from hipsense.conventions.symmetry import left_right

LIFT_FLOOR_DEG = 3.0
DROP_MDC95_DEG = 6.59
DROP_REFERENCE = "Andrade JA et al. (2012) single-leg bridge, pelvic rotation: MDC95 6.59°"
LIFT_REFERENCE = "Bolink SA et al. (2016) pelvic angles from one IMU vs optical: RMSE 2.7-4.5°"


def _se(values: list[float]) -> float:
    return float(np.std(values, ddof=1) / math.sqrt(len(values))) if len(values) > 1 else 0.0


def compare_sides(left: list[dict[str, Any]], right: list[dict[str, Any]]) -> dict[str, Any]:
    """Comparison document from the per-rep dicts of the left-leg and right-leg sets."""

    def mean(reps: list[dict[str, Any]], key: str) -> float:
        return float(np.mean([r[key] for r in reps]))

    lift_l, lift_r = [r["lift_deg"] for r in left], [r["lift_deg"] for r in right]
    lift_thr = max(1.96 * math.hypot(_se(lift_l), _se(lift_r)), LIFT_FLOOR_DEG)
    lift_diff = mean(right, "lift_deg") - mean(left, "lift_deg")
    drop_diff = mean(right, "free_side_drop_deg") - mean(left, "free_side_drop_deg")
    by_lift = ("right" if lift_diff < 0 else "left") if abs(lift_diff) > lift_thr else None
    by_drop = ("right" if drop_diff > 0 else "left") if abs(drop_diff) > DROP_MDC95_DEG else None
    if by_lift and by_drop and by_lift != by_drop:
        weaker, reason = None, "lift and drop point at different sides"
    else:
        weaker = by_lift or by_drop
        reason = "; ".join(
            r for r in (
                f"lift {abs(lift_diff):.1f}° lower (> {lift_thr:.1f}°)" if by_lift else "",
                f"free side drops {abs(drop_diff):.1f}° more (> {DROP_MDC95_DEG}°)"
                if by_drop else "",
            ) if r
        ) or "no difference beyond the measurement's repeatability"  # fmt: skip
    return {
        "lift_deg": left_right(mean(right, "lift_deg"), mean(left, "lift_deg")),
        "hold_s": left_right(mean(right, "hold_s"), mean(left, "hold_s")),
        "free_side_drop_deg": left_right(
            mean(right, "free_side_drop_deg"), mean(left, "free_side_drop_deg"), si=False
        ),
        "twist_to_free_side_deg": left_right(
            mean(right, "twist_to_free_side_deg"), mean(left, "twist_to_free_side_deg"), si=False
        ),
        "lift_threshold_deg": lift_thr,
        "drop_threshold_deg": DROP_MDC95_DEG,
        "weaker_side": weaker,
        "reason": reason,
        "references": [DROP_REFERENCE, LIFT_REFERENCE],
    }

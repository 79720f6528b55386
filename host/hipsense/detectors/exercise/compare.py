"""Left against right for an exercise, and the rule that names the harder side.

The harder side is the one whose reps show more of the exercise's first (primary) fault, named
only when the difference of the side means exceeds max(1.96 × the standard error of that
difference (from the rep-to-rep spread), ``FLOOR_DEG``): the bridge's lift rule
(:mod:`hipsense.detectors.bridge.compare`), whose floor is the order of a single pelvis IMU's
angle error against optical motion capture (frontal RMSE 2.7-4.5°, Bolink et al. 2016).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from hipsense.conventions.exercises import ExerciseSpec

FLOOR_DEG = 3.0
REFERENCE = "Bolink SA et al. (2016) pelvic angles from one IMU vs optical: RMSE 2.7-4.5°"


def _se(values: list[float]) -> float:
    return float(np.std(values, ddof=1) / math.sqrt(len(values))) if len(values) > 1 else 0.0


def harder_side(
    spec: ExerciseSpec, left: list[dict[str, float]], right: list[dict[str, float]]
) -> dict[str, Any]:
    """``left``/``right``: each rep's fault peaks (fault key -> value) of that side."""
    if not spec.faults or not left or not right:
        return {"harder_side": None, "reason": "no fault to compare on both sides"}
    f = spec.faults[0]
    lv, rv = [r[f.key] for r in left], [r[f.key] for r in right]
    diff = float(np.mean(rv) - np.mean(lv))
    thr = max(1.96 * math.hypot(_se(lv), _se(rv)), FLOOR_DEG)
    side = ("right" if diff > 0 else "left") if abs(diff) > thr else None
    reason = (
        f"{f.label}: {abs(diff):.1f}{f.unit} more on the {side} (> {thr:.1f}{f.unit})"
        if side
        else f"{f.label}: difference {abs(diff):.1f}{f.unit} within the measurement's "
        f"repeatability ({thr:.1f}{f.unit})"
    )
    return {
        "fault": f.key,
        "left_mean": float(np.mean(lv)),
        "right_mean": float(np.mean(rv)),
        "difference_right_minus_left": diff,
        "threshold": thr,
        "harder_side": side,
        "reason": reason,
        "reference": REFERENCE,
    }

"""Left against right: differences and symmetry indices (shared by stance and bridge)."""

from __future__ import annotations

import math


def symmetry_index_pct(right: float, left: float) -> float | None:
    """SI = (R − L) / (0.5 (R + L)) × 100 % (CLINICAL.md); None when R + L is about zero.

    Meaningful for positive quantities (times, lifts, sway); not for signed angles.
    """
    mean = 0.5 * (right + left)
    if abs(mean) < 1e-9 or not (math.isfinite(right) and math.isfinite(left)):
        return None
    return (right - left) / mean * 100.0


def left_right(right: float | None, left: float | None, si: bool = True) -> dict[str, float | None]:
    """Right, left, their difference R − L and (for positive quantities) the SI."""
    if right is None or left is None:
        return {"right": right, "left": left, "diff_r_minus_l": None, "si_pct": None}
    return {
        "right": right,
        "left": left,
        "diff_r_minus_l": right - left,
        "si_pct": symmetry_index_pct(right, left) if si else None,
    }

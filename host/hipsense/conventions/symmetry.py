"""Left against right: differences and the symmetry index (walk, stance and bridge)."""

from __future__ import annotations

import math

MEAN_EPS = 1e-9
"""A side mean closer to zero than this gives no symmetry index (it would be noise / 0)."""


def shown_difference(a: float, b: float, digits: int) -> float:
    """a − b as the difference of the two values as shown (each rounded to ``digits``
    decimals), so a page adds up: 10.04 s and 9.96 s read "10.0 s, 10.0 s, +0.0 s", never
    "+0.1 s". The one rule for every left-right and visit-to-visit difference on a page;
    never -0.0 (a direction that is not there)."""
    return round(round(a, digits) - round(b, digits), digits) + 0.0


def si_scale(right: float, left: float) -> float | None:
    """100 / (0.5 (R + L)): turns a difference R − L (or its confidence bounds) into a symmetry
    index in %; None when the mean is about zero or a side is not finite."""
    mean = 0.5 * (right + left)
    if not (math.isfinite(right) and math.isfinite(left)) or abs(mean) < MEAN_EPS:
        return None
    return 100.0 / mean


def symmetry_index_pct(right: float, left: float) -> float | None:
    """SI = (R − L) / (0.5 (R + L)) × 100 % (CLINICAL.md); None when R + L is about zero.

    Meaningful for positive quantities (times, lifts, sway); not for signed angles. The one
    definition: the walk's step-time and drop indices use :func:`si_scale` too.
    """
    scale = si_scale(right, left)
    return None if scale is None else (right - left) * scale


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

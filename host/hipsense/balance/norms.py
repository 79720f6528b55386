"""Age norms for single-leg stance hold time (eyes open), with their source.

Bohannon 2006 (meta-analysis, CLINICAL.md): mean eyes-open single-leg stance times 27.0 s
(60–69 y), 17.2 s (70–79 y), 8.5 s (80–99 y); 5 s was proposed as a fall-risk cut-off.
Springer et al. 2007 give norms by decade from 18 y for eyes open and closed (best of three,
ICC 0.994/0.998); their table is not transcribed here, so younger ages and eyes closed get no
norm rather than an unchecked number.
"""

from __future__ import annotations

from typing import Any

SOURCE = "Bohannon RW (2006), single-limb stance times, a descriptive meta-analysis"
FALL_RISK_HOLD_S = 5.0
_EYES_OPEN_MEAN_S = ((60, 69, 27.0), (70, 79, 17.2), (80, 99, 8.5))


def hold_time_norm(age_years: float, condition: str) -> dict[str, Any]:
    """The norm for an age and condition: mean hold time, age band and source, or why none."""
    if condition == "eyes_open":
        for low, high, mean in _EYES_OPEN_MEAN_S:
            if low <= age_years <= high:
                return {
                    "age_band": f"{low}-{high}",
                    "mean_hold_s": mean,
                    "fall_risk_below_s": FALL_RISK_HOLD_S,
                    "source": SOURCE,
                }
    return {
        "age_band": None,
        "mean_hold_s": None,
        "source": None,
        "note": "no norm stored for this age and condition (Springer et al. 2007 has decade "
        "norms from 18 y, eyes open and closed; not transcribed)",
    }

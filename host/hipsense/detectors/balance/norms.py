"""Age reference values for single-leg stance hold time, with their source.

- Eyes open, 60 y and older: Bohannon 2006 (meta-analysis of 22 studies, 3484 people; Top
  Geriatr Rehabil 22(1):70-77): mean 27.0 s (60–69 y), 17.2 s (70–79 y), 8.5 s (80–99 y);
  5 s was proposed as a fall-risk cut-off.
- Eyes closed, 20–66 y: Sci Rep 2025 (doi:10.1038/s41598-025-86514-w, Fig. 1: 249 aircraft
  and spacecraft manufacturing workers, a 30 s ceiling like our default trial): mean (SD)
  28.5 (4.5) s at 20–29 y, 26.9 (7.2) s at 30–39, 24.1 (9.1) s at 40–49, 19.4 (10.9) s at
  50–59, 16.8 (14.2) s at 60–66 (only 4 people). One working cohort, not a population norm.
Springer et al. 2007 give norms by decade from 18 y for both conditions (best of three, ICC
0.994/0.998); their table could not be checked here, so eyes open under 60 y gets no value
rather than an unchecked number.
"""

from __future__ import annotations

from typing import Any

BOHANNON = "Bohannon RW (2006), single-limb stance times, a descriptive meta-analysis"
SCI_REP_2025 = (
    "Sci Rep 2025, doi:10.1038/s41598-025-86514-w, Fig. 1 (249 manufacturing workers, 30 s ceiling)"
)
FALL_RISK_HOLD_S = 5.0
_EYES_OPEN_MEAN_S = ((60, 69, 27.0), (70, 79, 17.2), (80, 99, 8.5))
_EYES_CLOSED_MEAN_SD_S = (
    (20, 29, 28.5, 4.5, 62),
    (30, 39, 26.9, 7.2, 61),
    (40, 49, 24.1, 9.1, 92),
    (50, 59, 19.4, 10.9, 30),
    (60, 66, 16.8, 14.2, 4),
)


def hold_time_norm(age_years: float, condition: str) -> dict[str, Any]:
    """The reference for an age and condition: mean hold time (and SD and group size where the
    source gives them), age band and source, or why there is none."""
    if condition == "eyes_open":
        for low, high, mean in _EYES_OPEN_MEAN_S:
            if low <= age_years <= high:
                return {
                    "age_band": f"{low}-{high}",
                    "mean_hold_s": mean,
                    "fall_risk_below_s": FALL_RISK_HOLD_S,
                    "source": BOHANNON,
                }
    if condition == "eyes_closed":
        for low, high, mean, sd, n in _EYES_CLOSED_MEAN_SD_S:
            if low <= age_years <= high:
                return {
                    "age_band": f"{low}-{high}",
                    "mean_hold_s": mean,
                    "sd_hold_s": sd,
                    "n": n,
                    "source": SCI_REP_2025,
                }
    return {
        "age_band": None,
        "mean_hold_s": None,
        "source": None,
        "note": "no reference stored for this age and condition: eyes open from 60 y (Bohannon "
        "2006), eyes closed 20-66 y (Sci Rep 2025); Springer et al. 2007's decade norms from "
        "18 y could not be checked",
    }


def interpret(best_hold_s: float | None, norm: dict[str, Any], ceiling_s: float | None) -> str:
    """The age reference in plain words, e.g. "below the reference for 60–69 y: 27.0 s"."""
    band = norm.get("age_band")
    mean = norm.get("mean_hold_s")
    if best_hold_s is None:
        return "no trial to compare with the age reference"
    if mean is None or band is None:
        return (
            f"best hold {best_hold_s:.1f} s; no checked reference value for this age and "
            "condition (eyes open: Bohannon 2006 from 60 y; eyes closed: Sci Rep 2025, "
            "20-66 y). Springer et al. 2007 report that healthy adults' times fall with age "
            "from 18 y on, with a 45 s ceiling; their table is not stored here"
        )
    low, high = band.split("-")
    where = f"the reference for {low}–{high} y: {mean:.1f} s ({norm['source']})"
    capped = ceiling_s is not None and ceiling_s < mean and best_hold_s >= ceiling_s - 0.5
    if capped:
        text = f"held the full {ceiling_s:.0f} s asked for, which is shorter than {where}"
    elif best_hold_s >= mean:
        text = f"best hold {best_hold_s:.1f} s, at or above {where}"
    else:
        text = f"best hold {best_hold_s:.1f} s, below {where}"
    cut = norm.get("fall_risk_below_s")
    if cut is not None and best_hold_s < cut:
        text += f"; under the {cut:.0f} s proposed as a fall-risk cut-off"
    return text

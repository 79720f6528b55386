"""Step length from the pelvis's vertical excursion during a step: the inverted-pendulum model
(Zijlstra & Hof 2003, Gait Posture 18:1–10). The pelvis (near the body's centre of mass) moves
on an arc of radius ``l`` (the leg) over the stance foot; rising by ``h`` over a step, it moves
forward by ``2 sqrt(2 l h − h²)``. A gain corrects the model's known underestimate (the foot's
length and roll-over are not in it); ours is fitted on the IPOL walkway walks, leave one
participant out (docs/validation.md)."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

LEG_PER_HEIGHT = 0.53
"""Leg length (greater trochanter height) per body height (Winter, Biomechanics and Motor
Control of Human Movement, 4th ed. 2009, segment lengths figure): the pendulum length when the
sensor height is not given."""
GAIN = 1.35
"""Step-length gain on the model: 1.348 makes the mean distance of the 116 IPOL straight parts
10 m; left one participant out it is 1.33–1.37 (benchmarks/walk_distance.py,
docs/validation.md). Zijlstra & Hof 2003 used 1.25 with their own filtering."""


def vertical_excursion_m(vertical_mps2: npt.ArrayLike, rate_hz: float) -> float:
    """Peak-to-peak vertical displacement over one step (m): the vertical acceleration
    (gravity removed) integrated twice, each integrand's mean over the step removed (the pelvis
    returns to the same vertical speed and height every step, so both means are zero; a linear
    detrend would also remove part of the one-period wave). NaN below 4 samples."""
    a = np.asarray(vertical_mps2, dtype=np.float64)
    if a.size < 4 or np.isnan(a).any():
        return math.nan
    dt = 1.0 / rate_hz
    v = np.cumsum(a - a.mean()) * dt
    p = np.cumsum(v - v.mean()) * dt
    return float(np.max(p) - np.min(p))


def step_length_m(excursion_m: float, pendulum_m: float, gain: float = GAIN) -> float:
    """Step length (m) from the vertical excursion ``h`` and the pendulum length ``l``:
    ``gain · 2 sqrt(2 l h − h²)`` (NaN when ``h`` is NaN or not below ``2 l``)."""
    h = excursion_m
    if math.isnan(h) or not 0.0 <= h < 2.0 * pendulum_m:
        return math.nan
    return gain * 2.0 * math.sqrt(2.0 * pendulum_m * h - h * h)

"""Mounting alignment: the rotation from the sensor frame to the pelvis frame.

The sensor may sit in any orientation on the belt (upside down, sideways, on the front).
Standing still gives the pelvis's up axis (the mean specific force); a forward motion gives
the anterior axis: either a forward bend (the pelvis tilts anteriorly, so the specific force
leans towards the pelvis's back) or a short walk forward (the horizontal axis across the
medio-lateral one, which flips sign from step to step, signed by the inverted-pendulum phase
of forward against vertical acceleration). The result is applied on the board with
``Pelvis.set_mounting_q`` and stored with recordings. See docs/algorithms.md.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
import numpy.typing as npt

from hipsense.errors import HipsenseError

FloatArray = npt.NDArray[np.float64]


class MountingError(HipsenseError):
    """The captured data cannot define the mounting (too short, no tilt, no walk)."""


def _mean_dir(acc: FloatArray, what: str) -> FloatArray:
    if acc.ndim != 2 or acc.shape[1] != 3 or acc.shape[0] == 0:
        raise MountingError(f"{what} must be (N, 3) accelerations with N > 0; got {acc.shape}")
    v = acc.mean(axis=0)
    n = float(np.linalg.norm(v))
    if n < 1.0:
        raise MountingError(f"{what}: mean acceleration {n:.2f} m/s² is not gravity; check units")
    return v / n


def mounting_from_axes(up_sensor: npt.ArrayLike, anterior_sensor: npt.ArrayLike) -> FloatArray:
    """Sensor -> pelvis quaternion m (w first, w >= 0; v_pelvis = R(m) v_sensor) from the
    pelvis's up and anterior axes in sensor coordinates (anterior is orthogonalised to up)."""
    z = np.asarray(up_sensor, dtype=np.float64)
    z = z / np.linalg.norm(z)
    a = np.asarray(anterior_sensor, dtype=np.float64)
    x = a - np.dot(a, z) * z
    nx = float(np.linalg.norm(x))
    if nx < 1e-3:
        raise MountingError("anterior direction is (nearly) vertical: no forward motion seen")
    x /= nx
    y = np.cross(z, x)
    from scipy.spatial.transform import Rotation  # at first use: the module loads fast

    xyzw = Rotation.from_matrix(np.vstack([x, y, z])).as_quat()  # rows: pelvis axes
    q = np.array([xyzw[3], xyzw[0], xyzw[1], xyzw[2]])
    return q if q[0] >= 0 else -q


def estimate_mounting(
    acc_still_mps2: npt.ArrayLike,
    acc_forward_mps2: npt.ArrayLike,
    rate_hz: float,
    motion: Literal["bend", "walk"] = "bend",
) -> FloatArray:
    """Sensor -> pelvis quaternion (4,), w first, from two short captures.

    acc_still_mps2: (N, 3) sensor-frame accelerometer while standing upright and still.
    acc_forward_mps2: (M, 3) while bending forward (``motion="bend"``: any part of the bend,
        the mean is used) or while walking forward in a straight line (``motion="walk"``:
        at least 3 s; the first second is left out, so the walk may start up to a second
        after the capture does).
    rate_hz: sampling rate of both captures.
    """
    still = np.asarray(acc_still_mps2, dtype=np.float64)
    fwd = np.asarray(acc_forward_mps2, dtype=np.float64)
    z = _mean_dir(still, "acc_still_mps2")
    if fwd.ndim != 2 or fwd.shape[1] != 3:
        raise MountingError(f"acc_forward_mps2 must be (M, 3); got {fwd.shape}")
    if motion == "bend":
        lean = _mean_dir(fwd, "acc_forward_mps2")
        return mounting_from_axes(z, -(lean - np.dot(lean, z) * z))
    if motion != "walk":
        raise MountingError(f"motion must be 'bend' or 'walk', not {motion!r}")
    if fwd.shape[0] < 3 * rate_hz:
        raise MountingError("walk capture shorter than 3 s: record more steps")
    return mounting_from_axes(z, walk_forward_axis(still.mean(axis=0), fwd, rate_hz))


WALK_SKIP_S = 1.0
"""The walk capture's first second (gait initiation, not periodic) is left out."""
WALK_DECIMATED_HZ = 50.0
"""The walk is averaged over 2**k samples to about this rate (35–71 Hz) before the lags."""
WALK_STEP_LAGS_S = tuple(0.30 + 0.04 * i for i in range(13))
"""Candidate step periods (0.30–0.78 s: 77–200 steps/min)."""
WALK_SIGN_LAG_S = 0.12
"""Lag of the forward/vertical cross-covariance that gives the sign (about a quarter step)."""
WALK_MIN_VERTICAL_G = 0.03
"""Least RMS vertical change over the most different candidate lag, in g, that counts as
walking (standing still: about 0.002 g; the simulated and real walks: 0.09 g and more)."""
WALK_MAX_VERTICAL_RATIO = 0.45
"""Largest ratio of the mean-square vertical change over the step lag to that over the most
different lag: regular steps (simulated walks: 0.23 at most, real straight walks: 0.11;
standing still: 0.55 and more)."""


def walk_decimation(rate_hz: float) -> int:
    """Samples averaged per decimated walk sample: the power of two nearest rate/50 Hz."""
    return 1 << max(0, math.floor(math.log2(rate_hz / WALK_DECIMATED_HZ) + 0.5))


def walk_forward_axis(
    still_mps2: FloatArray, acc_walk_mps2: FloatArray, rate_hz: float
) -> FloatArray:
    """Forward (anterior) horizontal unit axis, sensor frame, of a straight walk.

    Antero-posterior acceleration repeats every step, medio-lateral every stride (it flips
    sign from step to step). So over a lag of one step, L, the difference a(t) - a(t - L)
    cancels the step-periodic part (vertical, antero-posterior, the tilt's share of gravity)
    and doubles the medio-lateral one: L is the candidate lag with the smallest vertical
    difference, the medio-lateral axis the main horizontal axis of the differences' second
    moments, forward the horizontal axis across it. The sign comes from the inverted
    pendulum: forward speed is lowest when the pelvis is highest (mid-stance), so forward
    acceleration leads vertical acceleration by a quarter step. ``still_mps2`` is the mean
    specific force standing still (up, and g's size). The same integer-friendly sums run on
    the board (``pelvis.MountingCapture``); see docs/algorithms.md.
    """
    g = float(np.linalg.norm(still_mps2))
    z = still_mps2 / g
    n1 = max(1, int(rate_hz + 0.5))
    dec = walk_decimation(rate_hz)
    x = acc_walk_mps2[n1:]
    n = x.shape[0] // dec
    x = x[: n * dec].reshape(n, dec, 3).mean(axis=1)
    rate_dec = rate_hz / dec
    best, most, moments = math.inf, 0.0, None
    for lag_s in WALK_STEP_LAGS_S:
        lag = max(1, int(lag_s * rate_dec + 0.5))
        if n - lag < 1:
            continue
        d = x[lag:] - x[:-lag]
        m = d.T @ d / (n - lag)
        vertical = float(z @ m @ z)
        most = max(most, vertical)
        if vertical < best:
            best, moments = vertical, m
    if moments is None:
        raise MountingError("walk capture too short for one step: record more steps")
    if math.sqrt(most) < WALK_MIN_VERTICAL_G * g:
        raise MountingError(
            "no walking in the walk capture (no vertical bounce): walk during the whole capture"
        )
    if best > WALK_MAX_VERTICAL_RATIO * most:
        raise MountingError(
            "the steps in the walk capture are not regular enough to find the forward "
            "direction: walk straight at an even pace, or use the forward bend"
        )
    horizontal = np.eye(3) - np.outer(z, z)
    _, vecs = np.linalg.eigh(horizontal @ moments @ horizontal)
    forward = np.cross(vecs[:, -1], z)
    tau = max(1, int(WALK_SIGN_LAG_S * rate_dec + 0.5))
    y = x - x.mean(axis=0)
    lagged = y[tau:].T @ y[:-tau]  # [i, j] = sum of a_i(t) a_j(t - tau)
    anti = lagged - lagged.T
    lead = np.cross(z, [anti[2, 1], anti[0, 2], anti[1, 0]])
    return forward if float(forward @ lead) >= 0 else -forward

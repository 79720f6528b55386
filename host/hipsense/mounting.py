"""Mounting alignment: the rotation from the sensor frame to the pelvis frame.

The sensor may sit in any orientation on the belt (upside down, sideways, on the front).
Standing still gives the pelvis's up axis (the mean specific force); a forward motion gives
the anterior axis: either a forward bend (the pelvis tilts anteriorly, so the specific force
leans towards the pelvis's back) or a short walk forward from standing (the horizontal
acceleration's main axis, signed by the forward start). The result is applied on the board
with ``Pelvis.set_mounting_q`` and stored with recordings. See docs/algorithms.md.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy.spatial.transform import Rotation

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
        the mean is used) or while walking forward from standing (``motion="walk"``: the
        capture must begin at the first step; at least 3 s).
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
    horiz = fwd - np.outer(fwd @ z, z)
    n1 = max(1, math.ceil(rate_hz))
    # main axis of the steady walk's horizontal acceleration (after the first second's
    # start-up): antero-posterior, which is larger than medio-lateral at the pelvis
    steady = horiz[n1:] - horiz[n1:].mean(axis=0)
    _, vecs = np.linalg.eigh(steady.T @ steady)
    axis = vecs[:, -1]
    # sign: the forward velocity gained during the first second of the walk
    if float(np.sum((horiz[:n1] - horiz[n1:].mean(axis=0)) @ axis)) < 0:
        axis = -axis
    return mounting_from_axes(z, axis)

"""Pelvis angles (tilt, obliquity, rotation) from sensor orientation and mounting alignment.

Conventions (docs/algorithms.md, DESIGN.md): pelvis frame x anterior, y left, z up;
R_earth<-pelvis = Rz(rotation) · Rx(obliquity) · Ry(tilt). tilt > 0: anterior tilt (front
down); obliquity > 0: left side higher (right side dropped); rotation > 0: turned to the left.
The heading of a 6-axis filter drifts, and walking turns are not pelvic rotation, so rotation
is reported relative to a slowly tracked heading (exponential low-pass of the unwrapped
heading, time constant ``heading_tau_s``), exactly as the board does in ``firmware/pelvis.py``.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from hipsense.errors import HipsenseError

HEADING_TAU_S = 10.0

FloatArray = npt.NDArray[np.float64]


class AngleInputError(HipsenseError):
    """Quaternions or mounting have the wrong shape or zero length."""


def quat_multiply(a: npt.ArrayLike, b: npt.ArrayLike) -> FloatArray:
    """Hamilton product a ⊗ b of (..., 4) quaternions, w first (broadcasts)."""
    aw, ax, ay, az = np.moveaxis(np.asarray(a, dtype=np.float64), -1, 0)
    bw, bx, by, bz = np.moveaxis(np.asarray(b, dtype=np.float64), -1, 0)
    return np.stack(
        [
            aw * bw - ax * bx - ay * by - az * bz,
            aw * bx + ax * bw + ay * bz - az * by,
            aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw,
        ],
        axis=-1,
    )


def _unit_quats(q: npt.ArrayLike, what: str) -> FloatArray:
    arr = np.asarray(q, dtype=np.float64)
    if arr.shape[-1:] != (4,):
        raise AngleInputError(f"{what} must have 4 components (w, x, y, z); got {arr.shape}")
    n = np.linalg.norm(arr, axis=-1, keepdims=True)
    if np.any(n < 1e-9) or not np.all(np.isfinite(arr)):
        raise AngleInputError(f"{what} contains zero-length or non-finite quaternions")
    return arr / n


def pelvis_angles_deg(
    quat: npt.ArrayLike,
    mounting: npt.ArrayLike = (1.0, 0.0, 0.0, 0.0),
    *,
    rate_hz: float | None = None,
    heading_tau_s: float = HEADING_TAU_S,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Tilt, obliquity and rotation (degrees) of the pelvis.

    quat: (N, 4) sensor -> earth quaternions (w first, earth z up), e.g. from
        :func:`hipsense.motion.orientation.estimate`.
    mounting: (4,) sensor -> pelvis quaternion m (v_pelvis = R(m) v_sensor) from
        :func:`hipsense.motion.mounting.estimate_mounting` (identity: sensor axes = pelvis axes).
    rate_hz: sampling rate; with it, rotation is relative to the heading low-passed with
        ``heading_tau_s`` (drift and walking turns removed, as on the board). Without it,
        rotation is relative to the first sample's heading.
    """
    return PelvisAngles(mounting, rate_hz=rate_hz, heading_tau_s=heading_tau_s).update(quat)


class PelvisAngles:
    """:func:`pelvis_angles_deg` chunk by chunk: the unwrapped heading and its low-pass carry
    over between :meth:`update` calls, so any split of the quaternions into chunks gives
    exactly the angles of one call over all of them."""

    def __init__(
        self,
        mounting: npt.ArrayLike = (1.0, 0.0, 0.0, 0.0),
        *,
        rate_hz: float | None = None,
        heading_tau_s: float = HEADING_TAU_S,
    ) -> None:
        self._conj_m = _unit_quats(mounting, "mounting") * [1.0, -1.0, -1.0, -1.0]
        self._k = None if rate_hz is None else 1.0 - math.exp(-1.0 / (rate_hz * heading_tau_s))
        self._last_raw: float | None = None  # the last raw heading (rad)
        self._turns = 0.0  # running sum of the unwrap corrections (rad)
        self._ref: FloatArray | None = None  # low-pass state (or the first heading)

    def update(self, quat: npt.ArrayLike) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Tilt, obliquity and rotation (degrees) of the next (N, 4) quaternions."""
        q = _unit_quats(quat, "quat")
        if q.ndim != 2:
            raise AngleInputError(f"quat must be (N, 4); got {q.shape}")
        qp = quat_multiply(q, self._conj_m)  # earth <- pelvis = q (x) m*
        w, x, y, z = qp.T
        r31 = 2 * (x * z - w * y)
        r32 = 2 * (y * z + w * x)
        r33 = 1 - 2 * (x * x + y * y)
        r12 = 2 * (x * y - w * z)
        r22 = 1 - 2 * (x * x + z * z)
        tilt = np.degrees(np.arctan2(-r31, r33))
        obliquity = np.degrees(np.arctan2(r32, np.hypot(r31, r33)))
        if q.shape[0] == 0:
            return tilt, obliquity, np.zeros(0)
        heading = self._unwrap(np.arctan2(-r12, r22))
        ref: FloatArray
        if self._k is None:
            first = heading[:1].copy() if self._ref is None else self._ref
            self._ref = ref = first
        else:
            k = self._k
            if self._ref is None:
                self._ref = np.array([(1.0 - k) * heading[0]])
            # ref[i] = ref[i-1] + k (heading[i] - ref[i-1]), ref[-1] = heading[0]
            from scipy.signal import lfilter  # at first use: the detectors load fast

            out, zf = lfilter([k], [1.0, k - 1.0], heading, zi=self._ref)
            ref, self._ref = np.asarray(out, dtype=np.float64), np.asarray(zf, dtype=np.float64)
        rel = np.angle(np.exp(1j * (heading - ref)))
        return tilt, obliquity, np.degrees(rel)

    def _unwrap(self, raw: FloatArray) -> FloatArray:
        """``np.unwrap`` (discontinuity and period as numpy's defaults) carried across chunks."""
        prev = raw[0] if self._last_raw is None else self._last_raw
        d = np.diff(raw, prepend=prev)
        dmod = np.mod(d + math.pi, 2.0 * math.pi) - math.pi
        dmod[(dmod == -math.pi) & (d > 0)] = math.pi
        correction = dmod - d
        correction[np.abs(d) < math.pi] = 0.0
        turns = np.cumsum(np.concatenate([[self._turns], correction]))[1:]
        self._turns = float(turns[-1])
        self._last_raw = float(raw[-1])
        return raw + turns

"""The lying frame: axes fixed at the supine rest, angles of the pelvis relative to it.

Lying on the back the pelvis's anterior axis points up (U). The left axis (L) comes from the
mounting calibration, orthogonalised against U; the head-ward axis is H = U × L. If the
anterior axis points down instead, the sensor sits on the other side of the belt than when it
was calibrated (front instead of back, or the reverse): the frame turns 180° about the pelvis's
long axis so left stays left. Angles (degrees):

- lift: rotation about L, > 0 when the pelvis rises into the bridge (tilts further back);
- hip drop (obliquity): rotation about the body's long axis from gravity, > 0 = left side
  higher (the convention of ``obliquity_deg``);
- twist: rotation about the vertical from the gyroscope (the filter's heading of L), > 0
  counter-clockwise seen from above (the sense of ``rotation_deg``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from hipsense.balance.frontend import FloatArray, conj, rotate


@dataclass(frozen=True)
class LyingFrame:
    """Axes of the rest posture in sensor coordinates (unit vectors)."""

    up: FloatArray
    left: FloatArray
    head: FloatArray
    flipped: bool
    """True when the sensor was found on the other side of the belt than calibrated."""

    @classmethod
    def from_rest(
        cls, up_sensor_mean: FloatArray, mounting_wxyz: Sequence[float], flipped: bool
    ) -> LyingFrame:
        u = up_sensor_mean / np.linalg.norm(up_sensor_mean)
        m = np.asarray(mounting_wxyz, dtype=np.float64)[None, :]
        left = rotate(conj(m), np.array([0.0, 1.0, 0.0]))[0]
        if flipped:
            left = -left
        left = left - np.dot(left, u) * u
        left /= np.linalg.norm(left)
        head = np.asarray(np.cross(u, left), dtype=np.float64)
        return cls(u, left, head, flipped)

    def angles_deg(
        self, up_sensor: FloatArray, quat_wxyz: FloatArray
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Lift, hip drop (left higher > 0) and heading of L (unwrapped later), per sample."""
        lift = np.degrees(np.arctan2(-(up_sensor @ self.head), up_sensor @ self.up))
        drop = np.degrees(np.arcsin(np.clip(up_sensor @ self.left, -1.0, 1.0)))
        # the heading of the left axis is the Cardan rotation angle whatever the tilt and
        # obliquity (R y = Rz(rotation) (0, cos obliquity, sin obliquity))
        left_e = rotate(quat_wxyz, self.left)
        heading = np.degrees(np.arctan2(left_e[:, 1], left_e[:, 0]))
        return lift, drop, heading


def supine_alignment(up_sensor: FloatArray, mounting_wxyz: Sequence[float]) -> FloatArray:
    """Cosine between the up direction and the pelvis's anterior axis (≈ 1 supine, ≈ −1 when
    the sensor is on the other side of the belt than calibrated, ≈ 0 standing)."""
    m = np.asarray(mounting_wxyz, dtype=np.float64)[None, :]
    anterior = rotate(conj(m), np.array([1.0, 0.0, 0.0]))[0]
    return up_sensor @ anterior

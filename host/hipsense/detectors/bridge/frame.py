"""The lying frame: axes fixed at the supine rest, angles of the pelvis relative to it.

Everything here is in pelvis axes (through the mounting calibration) and comes from the 8 Hz
low-passed accelerometer, so it does not depend on the orientation filter having learnt the
gyro bias (the MPU-6050's biases of up to 20 °/s per axis take a while). Lying on the back the
pelvis's anterior axis points up (U, the measured up direction at the rest). The left axis (L)
is the pelvis's y axis orthogonalised against U; the head-ward axis is H = U × L. If the
anterior axis points down instead, the sensor sits on the other side of the belt than when it
was calibrated (front instead of back, or the reverse): the frame turns 180° about the long
axis so left stays left. Angles (degrees):

- lift: rotation about L, > 0 when the pelvis rises into the bridge (tilts further back);
- hip drop (obliquity): rotation about the body's long axis from gravity, > 0 = left side
  higher (the convention of ``obliquity_deg``);
- twist (in :mod:`hipsense.detectors.bridge.metrics`): the gyroscope integrated about the up
  direction,
  > 0 counter-clockwise seen from above (the sense of ``rotation_deg``).

A static accelerometer offset cancels to first order in these angles once each rep is taken
relative to the rest before it (the offset adds the same vector at the rest and at the top).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hipsense.motion.frontend import FloatArray


def unit_rows(v: FloatArray) -> FloatArray:
    return v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-9)


@dataclass(frozen=True)
class LyingFrame:
    """Axes of the rest posture in pelvis coordinates (unit vectors)."""

    up: FloatArray
    left: FloatArray
    head: FloatArray
    flipped: bool
    """True when the sensor was found on the other side of the belt than calibrated."""

    @classmethod
    def from_rest(cls, up_pelvis_mean: FloatArray) -> LyingFrame:
        u = up_pelvis_mean / np.linalg.norm(up_pelvis_mean)
        flipped = bool(u[0] < 0.0)
        left = np.array([0.0, -1.0 if flipped else 1.0, 0.0])
        left = left - np.dot(left, u) * u
        left /= np.linalg.norm(left)
        head = np.asarray(np.cross(u, left), dtype=np.float64)
        return cls(u, left, head, flipped)

    def angles_deg(self, up_pelvis: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Lift and hip drop (left higher > 0) for unit up directions (n, 3) in pelvis axes."""
        lift = np.degrees(np.arctan2(-(up_pelvis @ self.head), up_pelvis @ self.up))
        drop = np.degrees(np.arcsin(np.clip(up_pelvis @ self.left, -1.0, 1.0)))
        return lift, drop


def supine_alignment(up_pelvis: FloatArray) -> FloatArray:
    """Cosine between the up direction and the pelvis's anterior axis (≈ 1 supine, ≈ −1 when
    the sensor is on the other side of the belt than calibrated, ≈ 0 standing)."""
    return up_pelvis[:, 0]

"""Pelvis orientation conventions (docs/simulator.md, DESIGN.md), vectorised over samples.

R_pelvis→earth = Rz(rotation) · Rx(obliquity) · Ry(tilt); quaternions are w-first.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]


def rot_x(angle_rad: Array) -> Array:
    """Rotation matrices about x, shape (N, 3, 3)."""
    c, s = np.cos(angle_rad), np.sin(angle_rad)
    out = np.zeros((*np.shape(angle_rad), 3, 3))
    out[..., 0, 0] = 1.0
    out[..., 1, 1], out[..., 1, 2] = c, -s
    out[..., 2, 1], out[..., 2, 2] = s, c
    return out


def rot_y(angle_rad: Array) -> Array:
    """Rotation matrices about y, shape (N, 3, 3)."""
    c, s = np.cos(angle_rad), np.sin(angle_rad)
    out = np.zeros((*np.shape(angle_rad), 3, 3))
    out[..., 1, 1] = 1.0
    out[..., 0, 0], out[..., 0, 2] = c, s
    out[..., 2, 0], out[..., 2, 2] = -s, c
    return out


def rot_z(angle_rad: Array) -> Array:
    """Rotation matrices about z, shape (N, 3, 3)."""
    c, s = np.cos(angle_rad), np.sin(angle_rad)
    out = np.zeros((*np.shape(angle_rad), 3, 3))
    out[..., 2, 2] = 1.0
    out[..., 0, 0], out[..., 0, 1] = c, -s
    out[..., 1, 0], out[..., 1, 1] = s, c
    return out


def pelvis_to_earth(tilt_rad: Array, obliquity_rad: Array, yaw_rad: Array) -> Array:
    """R_pelvis→earth = Rz(yaw) · Rx(obliquity) · Ry(tilt), shape (N, 3, 3)."""
    return rot_z(yaw_rad) @ rot_x(obliquity_rad) @ rot_y(tilt_rad)


def cardan_from_matrix(r: Array) -> tuple[Array, Array, Array]:
    """Inverse of :func:`pelvis_to_earth`: (tilt, obliquity, yaw) in radians."""
    obliquity = np.arcsin(np.clip(r[..., 2, 1], -1.0, 1.0))
    tilt = np.arctan2(-r[..., 2, 0], r[..., 2, 2])
    yaw = np.arctan2(-r[..., 0, 1], r[..., 1, 1])
    return tilt, obliquity, yaw


def body_rate(
    tilt_rad: Array, obliquity_rad: Array, tilt_rate: Array, obliquity_rate: Array, yaw_rate: Array
) -> Array:
    """Angular velocity in the pelvis (body) frame from Cardan angles and their rates, (N, 3).

    ω_body = Ry(θ)ᵀ [Rx(φ)ᵀ (0, 0, ψ̇) + (φ̇, 0, 0)] + (0, θ̇, 0) for R = Rz(ψ)·Rx(φ)·Ry(θ).
    """
    n = np.shape(tilt_rad)[0]
    cphi, sphi = np.cos(obliquity_rad), np.sin(obliquity_rad)
    # Rx(φ)ᵀ (0,0,ψ̇) = (0, sφ ψ̇, cφ ψ̇); add (φ̇, 0, 0)
    v = np.stack([obliquity_rate, sphi * yaw_rate, cphi * yaw_rate], axis=-1)
    out = (np.swapaxes(rot_y(tilt_rad), -1, -2) @ v[..., None])[..., 0]
    out[:, 1] += tilt_rate
    assert out.shape == (n, 3)
    return out


def quat_from_matrix(r: Array) -> Array:
    """Unit quaternions (w, x, y, z) with w ≥ 0 from rotation matrices (N, 3, 3) or (3, 3)."""
    m = np.asarray(r, dtype=float)
    single = m.ndim == 2
    m = m.reshape(-1, 3, 3)
    tr = np.trace(m, axis1=1, axis2=2)
    q = np.empty((m.shape[0], 4))
    # Shepperd's method: pick the numerically largest component per sample.
    cand = np.stack([tr, m[:, 0, 0], m[:, 1, 1], m[:, 2, 2]], axis=1)
    k = np.argmax(cand, axis=1)
    for i in range(4):
        sel = k == i
        if not np.any(sel):
            continue
        mm = m[sel]
        if i == 0:
            s = np.sqrt(1.0 + tr[sel]) * 2.0
            q[sel] = np.stack(
                [
                    0.25 * s,
                    (mm[:, 2, 1] - mm[:, 1, 2]) / s,
                    (mm[:, 0, 2] - mm[:, 2, 0]) / s,
                    (mm[:, 1, 0] - mm[:, 0, 1]) / s,
                ],
                axis=1,
            )
        elif i == 1:
            s = np.sqrt(1.0 + mm[:, 0, 0] - mm[:, 1, 1] - mm[:, 2, 2]) * 2.0
            q[sel] = np.stack(
                [
                    (mm[:, 2, 1] - mm[:, 1, 2]) / s,
                    0.25 * s,
                    (mm[:, 0, 1] + mm[:, 1, 0]) / s,
                    (mm[:, 0, 2] + mm[:, 2, 0]) / s,
                ],
                axis=1,
            )
        elif i == 2:
            s = np.sqrt(1.0 + mm[:, 1, 1] - mm[:, 0, 0] - mm[:, 2, 2]) * 2.0
            q[sel] = np.stack(
                [
                    (mm[:, 0, 2] - mm[:, 2, 0]) / s,
                    (mm[:, 0, 1] + mm[:, 1, 0]) / s,
                    0.25 * s,
                    (mm[:, 1, 2] + mm[:, 2, 1]) / s,
                ],
                axis=1,
            )
        else:
            s = np.sqrt(1.0 + mm[:, 2, 2] - mm[:, 0, 0] - mm[:, 1, 1]) * 2.0
            q[sel] = np.stack(
                [
                    (mm[:, 1, 0] - mm[:, 0, 1]) / s,
                    (mm[:, 0, 2] + mm[:, 2, 0]) / s,
                    (mm[:, 1, 2] + mm[:, 2, 1]) / s,
                    0.25 * s,
                ],
                axis=1,
            )
    q *= np.where(q[:, :1] < 0.0, -1.0, 1.0)
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    return q[0] if single else q


def matrix_from_quat(q_wxyz: Array) -> Array:
    """Rotation matrices from unit quaternions (w, x, y, z); (4,) → (3, 3), (N, 4) → (N, 3, 3)."""
    q = np.asarray(q_wxyz, dtype=float)
    q = q / np.linalg.norm(q, axis=-1, keepdims=True)
    w, x, y, z = q[..., 0], q[..., 1], q[..., 2], q[..., 3]
    return np.stack(
        [
            np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)], axis=-1),
            np.stack([2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)], axis=-1),
            np.stack([2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)], axis=-1),
        ],
        axis=-2,
    )

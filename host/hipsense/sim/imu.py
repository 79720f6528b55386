"""IMU synthesis: specific force and angular rate in the sensor frame from pelvis kinematics.

For a sensor at lever arm r (pelvis frame, from the pelvis origin) with mounting
M = R_sensor→pelvis:

    ω_p = body rate of the pelvis,  α_p = dω_p/dt
    f_p = R_pᵀ (a_earth − g_earth) + α_p × r + ω_p × (ω_p × r),  g_earth = (0, 0, −9.80665)
    f_s = Mᵀ f_p,  ω_s = Mᵀ ω_p

so at rest the axis pointing up reads +9.81 m/s². Derivatives are taken on the fine internal
grid, then the signals pass an optional anti-alias low-pass (the chip's digital filter) and are
sampled at the output rate.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import signal

from hipsense.sim.chips import G_MPS2
from hipsense.sim.errors import SimError
from hipsense.sim.motion import Array, PelvisMotion
from hipsense.sim.rotations import body_rate, matrix_from_quat, pelvis_to_earth, quat_from_matrix

G_EARTH_MPS2 = np.array([0.0, 0.0, -G_MPS2])


@dataclass
class ImuSamples:
    """Ideal (error-free) IMU signals and the true pelvis angles at the output rate."""

    t_s: Array
    acc_mps2: Array  # (N, 3) specific force, sensor frame
    gyr_dps: Array  # (N, 3) angular rate, sensor frame
    tilt_deg: Array
    obliquity_deg: Array
    rotation_deg: Array
    heading_deg: Array
    quat_wxyz: Array  # (N, 4) sensor → earth


def mounting_matrix(mounting_wxyz: Sequence[float] | None) -> Array:
    """R_sensor→pelvis from a w-first quaternion (None: sensor axes = pelvis axes)."""
    if mounting_wxyz is None:
        return np.eye(3)
    q = np.asarray(mounting_wxyz, dtype=float)
    if q.shape != (4,) or not np.all(np.isfinite(q)) or np.linalg.norm(q) < 1e-6:
        raise SimError(f"mounting must be a non-zero quaternion w, x, y, z; got {mounting_wxyz!r}")
    return matrix_from_quat(q)


def kinematics(
    motion: PelvisMotion, mounting: Array, lever_arm_m: Sequence[float]
) -> tuple[Array, Array, Array]:
    """(specific force m/s², angular rate rad/s, R_pelvis→earth) on the internal grid."""
    dt = 1.0 / motion.rate_hz
    tilt = np.deg2rad(motion.tilt_deg)
    obl = np.deg2rad(motion.obliquity_deg)
    yaw = np.deg2rad(motion.heading_deg + motion.rotation_deg)

    def d(x: Array) -> Array:
        return np.gradient(x, dt, axis=0, edge_order=2)

    omega = body_rate(tilt, obl, d(tilt), d(obl), d(yaw))
    alpha = d(omega)
    acc_earth = d(d(motion.position_m))
    r_pe = pelvis_to_earth(tilt, obl, yaw)
    f_p = np.einsum("nji,nj->ni", r_pe, acc_earth - G_EARTH_MPS2)
    r = np.asarray(lever_arm_m, dtype=float)
    if np.any(r != 0.0):
        f_p += np.cross(alpha, r) + np.cross(omega, np.cross(omega, r))
    return f_p @ mounting, omega @ mounting, r_pe


def synthesize(
    motion: PelvisMotion,
    rate_hz: float,
    mounting_wxyz: Sequence[float] | None = None,
    lever_arm_m: Sequence[float] = (0.0, 0.0, 0.0),
    bandwidth_hz: float | None = None,
) -> ImuSamples:
    """Sample the ideal IMU signals and true angles at ``rate_hz`` from t = 0.

    ``bandwidth_hz`` applies a causal 2nd-order Butterworth low-pass (the chip's anti-alias /
    digital low-pass filter, with its delay) before sampling; None samples the raw kinematics.
    """
    if not rate_hz > 0:
        raise SimError(f"rate must be positive, got {rate_hz} Hz")
    if rate_hz > motion.rate_hz:
        raise SimError(f"output rate {rate_hz} Hz exceeds the kinematics grid {motion.rate_hz} Hz")
    m = mounting_matrix(mounting_wxyz)
    f_s, w_s, _ = kinematics(motion, m, lever_arm_m)
    w_s = np.rad2deg(w_s)
    if bandwidth_hz is not None:
        sos = signal.butter(2, bandwidth_hz, fs=motion.rate_hz, output="sos")
        zi = signal.sosfilt_zi(sos)
        f_s = np.stack(
            [signal.sosfilt(sos, f_s[:, i], zi=zi * f_s[0, i])[0] for i in range(3)], axis=1
        )
        w_s = np.stack(
            [signal.sosfilt(sos, w_s[:, i], zi=zi * w_s[0, i])[0] for i in range(3)], axis=1
        )
    t_in = motion.t_s
    t_out = np.arange(int(np.floor(motion.duration_s * rate_hz + 1e-9)) + 1) / rate_hz

    def at(x: Array) -> Array:
        if x.ndim == 1:
            return np.interp(t_out, t_in, x)
        return np.stack([np.interp(t_out, t_in, x[:, i]) for i in range(x.shape[1])], axis=1)

    tilt, obl, rot, heading = (
        at(motion.tilt_deg),
        at(motion.obliquity_deg),
        at(motion.rotation_deg),
        at(motion.heading_deg),
    )
    r_se = pelvis_to_earth(np.deg2rad(tilt), np.deg2rad(obl), np.deg2rad(heading + rot)) @ m
    return ImuSamples(
        t_s=t_out,
        acc_mps2=at(f_s),
        gyr_dps=at(w_s),
        tilt_deg=tilt,
        obliquity_deg=obl,
        rotation_deg=rot,
        heading_deg=heading,
        quat_wxyz=quat_from_matrix(r_se),
    )

"""Per-trial stance metrics: hold time, touch-downs, sway, free-side drop, Trendelenburg flag.

Sway follows the ISway measures at L5 (Mancini et al. 2012): RMS and path length of the pelvis
angles (here tilt and obliquity, degrees, about the trial's mean), the 95 % confidence ellipse
area of tilt against obliquity, and the RMS of the horizontal acceleration and of its time
derivative (jerk). Accelerometer sway (m/s²) is not comparable with force-plate sway (mm).
"""

from __future__ import annotations

import numpy as np

from hipsense.conventions import G_MPS2
from hipsense.motion.frontend import FloatArray

CHI2_95_2DOF = 5.991
"""95 % quantile of the chi-square distribution with 2 degrees of freedom."""
TRENDELENBURG_DROP_DEG = 4.0
"""Free-side drop beyond the bipedal baseline that flags a Trendelenburg sign: the MDC of the
static Trendelenburg test angle (Youdas et al. 2007, SEM 2°, MDC 4°). No validated IMU cut-off
exists; smaller drops cannot be told from measurement error."""


def sway(
    tilt_deg: FloatArray, obliquity_deg: FloatArray, acc_h_mps2: FloatArray, rate_hz: float
) -> dict[str, float]:
    """Sway metrics of one hold (samples of single-leg stance only)."""
    n = tilt_deg.shape[0]
    if n < 3:
        return {}
    tilt = tilt_deg - tilt_deg.mean()
    obl = obliquity_deg - obliquity_deg.mean()
    cov = np.cov(np.vstack([tilt, obl]))
    area = float(np.pi * CHI2_95_2DOF * np.sqrt(max(np.linalg.det(cov), 0.0)))
    acc = acc_h_mps2 - acc_h_mps2.mean(axis=0)
    jerk = np.diff(acc_h_mps2, axis=0) * rate_hz
    duration = n / rate_hz
    path_tilt = float(np.sum(np.abs(np.diff(tilt_deg))))
    path_obl = float(np.sum(np.abs(np.diff(obliquity_deg))))
    return {
        "tilt_rms_deg": float(np.sqrt(np.mean(tilt**2))),
        "obliquity_rms_deg": float(np.sqrt(np.mean(obl**2))),
        "tilt_path_deg": path_tilt,
        "obliquity_path_deg": path_obl,
        "path_deg_per_s": float(np.sum(np.hypot(np.diff(tilt_deg), np.diff(obliquity_deg))))
        / duration,
        "ellipse95_area_deg2": area,
        "acc_rms_mps2": float(np.sqrt(np.mean(np.sum(acc**2, axis=1)))),
        "jerk_rms_mps3": float(np.sqrt(np.mean(np.sum(jerk**2, axis=1)))),
    }


def free_side_drop_deg(stance_side: str, obliquity_change_deg: float) -> float:
    """Drop (> 0) or hike (< 0) of the free side from the obliquity change (> 0 = left higher).

    Standing on the right leg the left side is free: a left drop is a negative obliquity change.
    """
    return -obliquity_change_deg if stance_side == "right" else obliquity_change_deg


def sway_signals(
    gyr_pelvis_dps: FloatArray, acc_pelvis_mps2: FloatArray, rate_hz: float
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Tilt and obliquity sway (degrees) and horizontal acceleration (m/s², anterior and left)
    of one hold, from its own samples only.

    The angles are the gyroscope integrated over the hold with its mean rate and the linear
    trend removed, so they depend neither on the orientation filter's convergence (which
    made the first trial of a recording look unsteadier) nor on a gyro bias; the
    acceleration is the low-passed specific force with gravity's share of those angles
    taken out, detrended the same way. Sway is measured about the hold's trend.
    """
    dt = 1.0 / rate_hz
    g = gyr_pelvis_dps - gyr_pelvis_dps.mean(axis=0)
    from scipy.signal import detrend  # at first use: the module loads fast

    obl = detrend(np.cumsum(g[:, 0]) * dt)
    tilt = detrend(np.cumsum(g[:, 1]) * dt)
    ax = acc_pelvis_mps2[:, 0] + G_MPS2 * np.sin(np.radians(tilt))
    ay = acc_pelvis_mps2[:, 1] - G_MPS2 * np.sin(np.radians(obl))
    acc = np.column_stack([detrend(ax), detrend(ay)])
    return np.asarray(tilt), np.asarray(obl), acc

"""6-axis orientation filter (gyro strapdown + low-passed inclination correction + gyro bias).

This is the floating-point reference of the algorithm that runs on the board in fixed point
(``firmware/fusion.py``; its exact integer twin is :mod:`hipsense.motion.fixedpoint`). The design
follows VQF (Laidig & Seel 2023): the gyroscope is integrated into an almost-inertial frame
I, the accelerometer is rotated into I and low-pass filtered there (linear accelerations of
heel strikes and jumps average out, rotations do not lag), and a second quaternion rotates
I so that the filtered specific force points up. The gyroscope bias is estimated at rest
(rest detection on gyro and accelerometer deviations) and, slowly, during motion from the
inclination corrections. See docs/algorithms.md.

For raw-only data the host runs :class:`HostFilter`, the field's compiled VQF (``vqf``, MIT,
the same algorithm family with the authors' tuning): about 23x faster than this per-sample
Python loop and as accurate on BROAD (docs/benchmarks.md). The loop here stays the board's
float twin, used where the host must compute what the board computes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from vqf import VQF

from hipsense.conventions import G_MPS2
from hipsense.errors import HipsenseError

# below this 1 + u_z the filtered specific force points straight down (as on the board: 2**-19)
UPSIDE_DOWN_EPS = 2.0**-19
# per-sample correction angle used by the motion bias update is clipped to this (board: 2**18
# in Q29), so that a large correction (start, upside down) cannot throw the bias off
CORR_MAX_RAD = 2.0**-11
# initial standard deviation of the host filter's (VQF's) gyro bias estimate
BIAS_SIGMA_INIT_DPS = 5.0


class OrientationInputError(HipsenseError):
    """The accelerometer/gyroscope arrays or the rate cannot be filtered."""


@dataclass(frozen=True)
class FilterParams:
    """Tuning of the orientation filter (identical on the board and on the host).

    tau_acc_s: time constant of the accelerometer low-pass in the almost-inertial frame.
    tau_acc_rest_s: the same while at rest (no linear acceleration: converge fast).
    tau_rest_s: time constant of the low-passes used by the rest detector.
    rest_gyr_dps: rest if the gyro deviates from its low-pass by less than this.
    rest_acc_mps2: rest if the accelerometer deviates from its low-pass by less than this.
    rest_bias_max_dps: rest also needs the low-passed gyro below this (largest bias believed).
    rest_min_s: the deviations must stay small this long before the bias is learnt.
    tau_bias_rest_s: time constant of the bias update at rest.
    tau_bias_motion_s: time constant of the bias update from inclination corrections in
        motion (0 disables it).
    bias_motion_gate_mps2: that update only runs while the specific force's magnitude is
        within this of the filtered one (no strong linear acceleration).
    """

    tau_acc_s: float = 3.5
    tau_acc_rest_s: float = 0.5
    tau_rest_s: float = 0.5
    rest_gyr_dps: float = 2.0
    rest_acc_mps2: float = 0.5
    rest_bias_max_dps: float = 35.0
    rest_min_s: float = 1.5
    tau_bias_rest_s: float = 1.0
    tau_bias_motion_s: float = 30.0
    bias_motion_gate_mps2: float = 0.5


def _qmul(a: Sequence[Any], b: Sequence[Any]) -> list[Any]:
    aw, ax, ay, az = a
    bw, bx, by, bz = b
    return [
        aw * bw - ax * bx - ay * by - az * bz,
        aw * bx + ax * bw + ay * bz - az * by,
        aw * by - ax * bz + ay * bw + az * bx,
        aw * bz + ax * by - ay * bx + az * bw,
    ]


def _rotate(q: Sequence[Any], v: Sequence[Any]) -> list[Any]:
    """R(q) v for a unit quaternion q (w first)."""
    w, x, y, z = q
    vx, vy, vz = v
    # t = 2 u x v; v' = v + w t + u x t
    tx = 2.0 * (y * vz - z * vy)
    ty = 2.0 * (z * vx - x * vz)
    tz = 2.0 * (x * vy - y * vx)
    return [
        vx + w * tx + y * tz - z * ty,
        vy + w * ty + z * tx - x * tz,
        vz + w * tz + x * ty - y * tx,
    ]


class OrientationFilter:
    """Sample-by-sample float filter; ``update`` returns nothing, ``quat`` is sensor->earth."""

    def __init__(
        self, rate_hz: float, params: FilterParams | None = None, single: bool = False
    ) -> None:
        """``single=True`` computes every operation in float32 (as MicroPython on the ESP32)."""
        if not rate_hz > 0:
            raise OrientationInputError(f"rate_hz must be positive, got {rate_hz}")
        self.params = p = params or FilterParams()
        # float32 mode: numpy float32 scalars keep every result in single precision (NEP 50)
        f: Callable[[float], Any] = np.float32 if single else float
        self._sqrt: Callable[[Any], Any] = np.sqrt if single else math.sqrt
        self._sin: Callable[[Any], Any] = np.sin if single else math.sin
        self._cos: Callable[[Any], Any] = np.cos if single else math.cos
        self._f = f
        self.dt_s = f(1.0 / rate_hz)
        self.k_acc = f(1.0 - math.exp(-2.0 / rate_hz / p.tau_acc_s))
        self.k_acc_rest = f(1.0 - math.exp(-2.0 / rate_hz / p.tau_acc_rest_s))
        self.k_rest = f(1.0 - math.exp(-1.0 / rate_hz / p.tau_rest_s))
        self.k_bias_rest = f(1.0 - math.exp(-1.0 / rate_hz / p.tau_bias_rest_s))
        self.rest_gyr_sq = f(math.radians(p.rest_gyr_dps) ** 2)
        self.rest_acc_sq = f(p.rest_acc_mps2**2)
        self.rest_bias_sq = f(math.radians(p.rest_bias_max_dps) ** 2)
        self.rest_min_n = round(p.rest_min_s * rate_hz)
        self.k_bias_motion = f(1.0 / p.tau_bias_motion_s if p.tau_bias_motion_s > 0 else 0.0)
        self.gate_sq = f(2.0 * G_MPS2 * p.bias_motion_gate_mps2)
        zero, one = f(0.0), f(1.0)
        self.q_gyr = [one, zero, zero, zero]
        self.q_acc = [one, zero, zero, zero]
        self.acc_lp_i = [zero] * 3
        self.acc_lp_st = [zero] * 3
        self.bias_rps = [zero] * 3
        self.gyr_lp = [zero] * 3
        self.acc_lp = [zero] * 3
        self.rest_n = 0
        self.started = False

    @property
    def quat(self) -> list[Any]:
        return _qmul(self.q_acc, self.q_gyr)

    @property
    def at_rest(self) -> bool:
        return self.rest_n >= self.rest_min_n

    def update(self, acc: Sequence[Any], gyr: Sequence[Any]) -> None:
        """One sample: specific force (m/s²) and angular rate (rad/s), sensor frame."""
        if not self.started:
            self.acc_lp_i = list(acc)
            self.acc_lp_st = list(acc)
            self.acc_lp = list(acc)
            self.gyr_lp = list(gyr)
            self.started = True
        self._rest(acc, gyr)
        b = self.bias_rps
        gx, gy, gz = gyr[0] - b[0], gyr[1] - b[1], gyr[2] - b[2]
        # strapdown: q_gyr <- q_gyr (x) exp(omega dt / 2)
        half = 0.5 * self.dt_s
        hx, hy, hz = gx * half, gy * half, gz * half
        n = self._sqrt(hx * hx + hy * hy + hz * hz)
        if n > 1e-12:
            s = self._sin(n) / n
            dq = [self._cos(n), hx * s, hy * s, hz * s]
        else:
            dq = [self._f(1.0), hx, hy, hz]
        q = _qmul(self.q_gyr, dq)
        inv = 1.0 / self._sqrt(q[0] * q[0] + q[1] * q[1] + q[2] * q[2] + q[3] * q[3])
        self.q_gyr = [c * inv for c in q]
        # acc in I, low-pass there
        a_i = _rotate(self.q_gyr, acc)
        k = self.k_acc_rest if self.at_rest else self.k_acc
        st = self.acc_lp_st
        lp = self.acc_lp_i
        for i in range(3):
            st[i] += k * (a_i[i] - st[i])
            lp[i] += k * (st[i] - lp[i])
        # inclination correction: rotate q_acc so that the filtered acc points up
        ex, ey, ez = _rotate(self.q_acc, lp)
        na = self._sqrt(ex * ex + ey * ey + ez * ez)
        if na < 1e-9:
            return
        ex, ey, ez = ex / na, ey / na, ez / na
        if ez + 1.0 < UPSIDE_DOWN_EPS:  # half-way vector undefined: turn 180 deg about x
            corr = [self._f(0.0), self._f(1.0), self._f(0.0), self._f(0.0)]
        else:
            cw = self._sqrt(0.5 * (ez + 1.0))
            corr = [cw, 0.5 * ey / cw, -0.5 * ex / cw, self._f(0.0)]
        qa = _qmul(corr, self.q_acc)
        inv = 1.0 / self._sqrt(qa[0] * qa[0] + qa[1] * qa[1] + qa[2] * qa[2] + qa[3] * qa[3])
        self.q_acc = [c * inv for c in qa]
        if self.k_bias_motion > 0 and not self.at_rest:
            self._motion_bias(acc, corr)

    def _motion_bias(self, acc: Sequence[Any], corr: Sequence[Any]) -> None:
        """Mahony-style integral: the bias that would explain this step's correction."""
        lp = self.acc_lp_i
        a2 = acc[0] * acc[0] + acc[1] * acc[1] + acc[2] * acc[2]
        l2 = lp[0] * lp[0] + lp[1] * lp[1] + lp[2] * lp[2]
        if abs(a2 - l2) >= self.gate_sq:
            return
        ex = min(max(2.0 * corr[1], -CORR_MAX_RAD), CORR_MAX_RAD)
        ey = min(max(2.0 * corr[2], -CORR_MAX_RAD), CORR_MAX_RAD)
        q = self.quat
        e = _rotate([q[0], -q[1], -q[2], -q[3]], [ex, ey, self._f(0.0)])
        b = self.bias_rps
        for i in range(3):
            b[i] -= self.k_bias_motion * e[i]

    def _rest(self, acc: Sequence[Any], gyr: Sequence[Any]) -> None:
        k = self.k_rest
        gl, al = self.gyr_lp, self.acc_lp
        dg = da = gn = 0.0
        for i in range(3):
            gl[i] += k * (gyr[i] - gl[i])
            al[i] += k * (acc[i] - al[i])
            dg += (gyr[i] - gl[i]) ** 2
            da += (acc[i] - al[i]) ** 2
            gn += gl[i] * gl[i]
        if dg < self.rest_gyr_sq and da < self.rest_acc_sq and gn < self.rest_bias_sq:
            self.rest_n = min(self.rest_n + 1, self.rest_min_n)
        else:
            self.rest_n = 0
        if self.rest_n >= self.rest_min_n:
            kb = self.k_bias_rest
            b = self.bias_rps
            for i in range(3):
                b[i] += kb * (gl[i] - b[i])


def estimate(
    acc_mps2: npt.ArrayLike,
    gyr_rps: npt.ArrayLike,
    rate_hz: float,
    params: FilterParams | None = None,
    *,
    single: bool = False,
) -> npt.NDArray[np.float64]:
    """Orientation of the sensor over a recording (float64 reference of the board's filter).

    acc_mps2: (N, 3) specific force in the sensor frame, m/s² (at rest +9.81 along "up").
    gyr_rps: (N, 3) angular rate in the sensor frame, rad/s, right-handed.
    rate_hz: sampling rate.
    Returns (N, 4) unit quaternions (w, x, y, z) rotating sensor-frame vectors into an earth
    frame with z up (heading arbitrary: it starts at the first sample's heading and drifts).
    ``single=True`` runs every operation in float32, to show the precision MicroPython's
    single-precision floats would give (slow: numpy scalars).
    The board runs the same algorithm in fixed point
    (:func:`hipsense.motion.fixedpoint.estimate_fixed`).
    """
    acc, gyr = _checked(acc_mps2, gyr_rps)
    filt = OrientationFilter(rate_hz, params, single)
    out = np.empty((acc.shape[0], 4))
    if single:
        acc_l: list[Any] = [list(r) for r in acc.astype(np.float32)]
        gyr_l: list[Any] = [list(r) for r in gyr.astype(np.float32)]
    else:
        acc_l = acc.tolist()
        gyr_l = gyr.tolist()
    for i in range(acc.shape[0]):
        filt.update(acc_l[i], gyr_l[i])
        out[i] = filt.quat
    return out


def _checked(
    acc_mps2: npt.ArrayLike, gyr_rps: npt.ArrayLike
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """C-contiguous float64 (N, 3) arrays, or OrientationInputError."""
    acc = np.ascontiguousarray(acc_mps2, dtype=np.float64)
    gyr = np.ascontiguousarray(gyr_rps, dtype=np.float64)
    if acc.ndim != 2 or acc.shape[1] != 3 or gyr.shape != acc.shape:
        raise OrientationInputError(
            f"acc_mps2 and gyr_rps must both be (N, 3); got {acc.shape} and {gyr.shape}"
        )
    if not (np.isfinite(acc).all() and np.isfinite(gyr).all()):
        raise OrientationInputError("acc_mps2/gyr_rps contain NaN or inf: fill or cut gaps first")
    return acc, gyr


class HostFilter:
    """The host's filter for raw data: VQF (6D, compiled), fed chunk by chunk.

    Its state carries over between :meth:`update` calls, so any split of a recording into
    chunks gives exactly the quaternions of the whole recording in one call.
    bias_max_dps: largest gyro bias it may learn (VQF's ``biasClip``; its default 2 °/s is
    below the turn-on bias of common IMUs, so the board filter's limit is used).
    The bias's initial uncertainty is 5 °/s (VQF: 0.5 °/s, a calibrated gyro) so that an
    uncalibrated turn-on bias is learnt within seconds; BROAD accuracy is unchanged by both.
    Unlike the board's filter, VQF keeps its 3 s accelerometer time constant at rest: from a
    20 °/s bias at switch-on the vertical is within 0.2° after about 12 s (board: 7 s).
    """

    def __init__(
        self, rate_hz: float, bias_max_dps: float = FilterParams.rest_bias_max_dps
    ) -> None:
        if not rate_hz > 0:
            raise OrientationInputError(f"rate_hz must be positive, got {rate_hz}")
        self._vqf = VQF(
            1.0 / rate_hz, biasClip=float(bias_max_dps), biasSigmaInit=BIAS_SIGMA_INIT_DPS
        )

    def update(self, acc_mps2: npt.ArrayLike, gyr_rps: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """(N, 4) sensor -> earth quaternions (w, x, y, z; earth z up) for N new samples."""
        acc, gyr = _checked(acc_mps2, gyr_rps)
        if acc.shape[0] == 0:
            return np.empty((0, 4))
        return np.asarray(self._vqf.updateBatch(gyr, acc)["quat6D"], dtype=np.float64)


def estimate_fast(
    acc_mps2: npt.ArrayLike,
    gyr_rps: npt.ArrayLike,
    rate_hz: float,
    *,
    bias_max_dps: float = FilterParams.rest_bias_max_dps,
) -> npt.NDArray[np.float64]:
    """Orientation over a recording with :class:`HostFilter` (arguments and result as
    :func:`estimate`); within 0.25° of :func:`estimate` in inclination on BROAD."""
    return HostFilter(rate_hz, bias_max_dps).update(acc_mps2, gyr_rps)

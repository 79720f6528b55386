"""Streaming IMU front end shared by the stance and bridge detectors.

Runs the host orientation filter (the float reference of the board's filter,
:class:`hipsense.motion.orientation.OrientationFilter`) sample by sample on the raw
accelerometer and
gyroscope, so the live path (blocks from the board) and the offline path (a recording fed in
chunks) compute exactly the same numbers. Static sensor offsets are not corrected here: the
tests take their baselines from their own rest phases, which cancels them.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Generic, Protocol, TypeVar

import numpy as np
import numpy.typing as npt

from hipsense.conventions import G_MPS2
from hipsense.motion.angles import pelvis_angles_deg, quat_multiply
from hipsense.motion.errors import WrongTestError
from hipsense.motion.orientation import FilterParams, OrientationFilter

if TYPE_CHECKING:  # the detectors import this module: keep the recording package out of them
    from hipsense.recording import Recording

FloatArray = npt.NDArray[np.float64]

IDENTITY = (1.0, 0.0, 0.0, 0.0)


def rotate(q: FloatArray, v: FloatArray) -> FloatArray:
    """R(q) v for (n, 4) unit quaternions (w first) and (n, 3) or (3,) vectors."""
    w, x, y, z = q.T
    vv = np.broadcast_to(v, (q.shape[0], 3))
    vx, vy, vz = vv.T
    tx = 2.0 * (y * vz - z * vy)
    ty = 2.0 * (z * vx - x * vz)
    tz = 2.0 * (x * vy - y * vx)
    return np.stack(
        [
            vx + w * tx + y * tz - z * ty,
            vy + w * ty + z * tx - x * tz,
            vz + w * tz + x * ty - y * tx,
        ],
        axis=1,
    )


def conj(q: FloatArray) -> FloatArray:
    return q * np.array([1.0, -1.0, -1.0, -1.0])


@dataclass
class Frame:
    """One chunk of front-end output, one row per sample.

    quat_wxyz: sensor -> earth (earth z up, heading arbitrary).
    up_sensor: the earth's up axis in sensor coordinates (unit).
    tilt_deg, obliquity_deg: pelvis angles from the filter and the mounting.
    acc_earth_mps2: linear acceleration in the earth frame (gravity removed).
    activity_dps: short-term RMS of the gyroscope about its slow baseline (motion level).
    activity_fast_dps: the same with a 50 ms time constant (to date the end of motion).
    jerk_mps3: magnitude of the time derivative of the 8 Hz low-passed specific force.
    inclination_deg: angle between that low-passed specific force and the pelvis's up axis
        (0 upright, 90 lying): a posture check that does not depend on the filter's state.
    acc_pelvis_mps2: that low-passed specific force in pelvis axes (through the mounting).
    gyr_pelvis_dps: the gyroscope in pelvis axes (through the mounting), bias not removed.
    """

    t_s: FloatArray
    acc_mps2: FloatArray
    gyr_dps: FloatArray
    quat_wxyz: FloatArray
    up_sensor: FloatArray
    tilt_deg: FloatArray
    obliquity_deg: FloatArray
    acc_earth_mps2: FloatArray
    activity_dps: FloatArray
    activity_fast_dps: FloatArray
    jerk_mps3: FloatArray
    inclination_deg: FloatArray
    acc_pelvis_mps2: FloatArray
    gyr_pelvis_dps: FloatArray

    def static_angles_deg(self) -> tuple[FloatArray, FloatArray]:
        """Tilt and obliquity from the low-passed accelerometer alone (pelvis axes): free of
        the filter's state and the gyro bias, right for averages over still-ish periods."""
        a = self.acc_pelvis_mps2
        n = np.maximum(np.linalg.norm(a, axis=1), 1e-9)
        tilt = np.degrees(np.arctan2(-a[:, 0], a[:, 2]))
        obliquity = np.degrees(np.arcsin(np.clip(a[:, 1] / n, -1.0, 1.0)))
        return tilt, obliquity


class _Lowpass:
    """A causal IIR filter per column whose state carries over between chunks."""

    def __init__(self, b: FloatArray, a: FloatArray) -> None:
        self.b, self.a = b, a
        self.zi: FloatArray | None = None

    def __call__(self, x: FloatArray) -> FloatArray:
        from scipy.signal import lfilter, lfilter_zi  # at first use: the detectors load fast

        if self.zi is None:
            self.zi = np.outer(lfilter_zi(self.b, self.a), x[0])
        out = lfilter(self.b, self.a, x, axis=0, zi=self.zi)
        assert isinstance(out, tuple)
        self.zi = np.asarray(out[1], dtype=np.float64)
        return np.asarray(out[0], dtype=np.float64)


def _first_order(rate_hz: float, tau_s: float) -> _Lowpass:
    k = 1.0 - np.exp(-1.0 / (rate_hz * tau_s))
    return _Lowpass(np.array([k]), np.array([1.0, k - 1.0]))


class ImuFrontEnd:
    """Orientation, pelvis angles, earth-frame acceleration, motion level and jerk, streaming.

    rate_hz: sampling rate of the samples fed to :meth:`update`.
    mounting_wxyz: sensor -> pelvis quaternion (w first) from the calibration; identity when
        the sensor axes are the pelvis axes (x anterior, y left, z up).
    activity_tau_s: time constant of the motion-level RMS.
    bias_tau_s: time constant of the gyroscope baseline the motion level is measured from.
    bias_gate_dps: the baseline only follows samples within this of it (quiet moments), so a
        fast move or a long sway does not shift it.
    rest_bias_max_dps: the orientation filter learns a gyro bias at rest only below this norm;
        40 °/s admits the MPU-6050's ±20 °/s per axis on all three axes (the filter's default,
        20 °/s, left it unlearnt and the angles drifting).
    """

    def __init__(
        self,
        rate_hz: float,
        mounting_wxyz: Sequence[float] = IDENTITY,
        activity_tau_s: float = 0.15,
        bias_tau_s: float = 3.0,
        bias_gate_dps: float = 3.0,
        rest_bias_max_dps: float = 40.0,
    ) -> None:
        self.rate_hz = float(rate_hz)
        self.mounting_wxyz = np.asarray(mounting_wxyz, dtype=np.float64)
        self.activity_tau_s = activity_tau_s
        self._filter = OrientationFilter(rate_hz, FilterParams(rest_bias_max_dps=rest_bias_max_dps))
        self._gyr_base: list[float] | None = None
        self._k_base = 1.0 - float(np.exp(-1.0 / (rate_hz * bias_tau_s)))
        self.bias_gate_dps = bias_gate_dps
        self._power = _first_order(rate_hz, activity_tau_s)
        self._power_fast = _first_order(rate_hz, 0.05)
        from scipy.signal import butter  # at first use: the detectors load fast

        ba = butter(2, min(8.0 / (0.5 * rate_hz), 0.9))
        assert ba is not None
        self._acc_lp = _Lowpass(
            np.asarray(ba[0], dtype=np.float64), np.asarray(ba[1], dtype=np.float64)
        )
        self._last_acc_lp: FloatArray | None = None

    def update(self, t_s: FloatArray, acc_mps2: FloatArray, gyr_dps: FloatArray) -> Frame:
        """Process one chunk of samples (any length >= 1) and return its :class:`Frame`."""
        n = t_s.shape[0]
        quat = np.empty((n, 4))
        filt = self._filter
        gyr_rps = np.radians(gyr_dps)
        acc_l, gyr_l = acc_mps2.tolist(), gyr_rps.tolist()
        for i in range(n):
            filt.update(acc_l[i], gyr_l[i])
            quat[i] = filt.quat
        up = rotate(conj(quat), np.array([0.0, 0.0, 1.0]))
        tilt, obliquity, _ = pelvis_angles_deg(quat, self.mounting_wxyz)
        acc_earth = rotate(quat, acc_mps2) - np.array([0.0, 0.0, G_MPS2])
        dev = self._deviation(gyr_dps)
        dev2 = np.sum(dev * dev, axis=1)[:, None]
        activity = np.sqrt(np.maximum(self._power(dev2)[:, 0], 0.0))
        activity_fast = np.sqrt(np.maximum(self._power_fast(dev2)[:, 0], 0.0))
        acc_lp = self._acc_lp(acc_mps2)
        prev = acc_lp[:1] if self._last_acc_lp is None else self._last_acc_lp
        jerk = np.linalg.norm(np.diff(np.vstack([prev, acc_lp]), axis=0), axis=1) * self.rate_hz
        self._last_acc_lp = acc_lp[-1:].copy()
        up_pelvis = rotate(conj(self.mounting_wxyz[None, :]), np.array([0.0, 0.0, 1.0]))[0]
        norm = np.maximum(np.linalg.norm(acc_lp, axis=1), 1e-9)
        inclination = np.degrees(np.arccos(np.clip(acc_lp @ up_pelvis / norm, -1.0, 1.0)))
        return Frame(
            t_s,
            acc_mps2,
            gyr_dps,
            quat,
            up,
            tilt,
            obliquity,
            acc_earth,
            activity,
            activity_fast,
            jerk,
            inclination,
            rotate(np.broadcast_to(self.mounting_wxyz, (n, 4)), acc_lp),
            rotate(np.broadcast_to(self.mounting_wxyz, (n, 4)), gyr_dps),
        )

    def _deviation(self, gyr_dps: FloatArray) -> FloatArray:
        """Gyroscope minus its gated slow baseline (bias and drift), sample by sample."""
        if self._gyr_base is None:
            self._gyr_base = [float(v) for v in gyr_dps[0]]
        b: list[float] = self._gyr_base
        k, gate2 = self._k_base, self.bias_gate_dps**2
        out = np.empty_like(gyr_dps)
        for i, (x, y, z) in enumerate(gyr_dps.tolist()):
            dx, dy, dz = x - b[0], y - b[1], z - b[2]
            out[i] = (dx, dy, dz)
            if dx * dx + dy * dy + dz * dz < gate2:
                b[0] += k * dx
                b[1] += k * dy
                b[2] += k * dz
        return out

    def pelvis_axis_earth(self, quat: FloatArray, axis_pelvis: Sequence[float]) -> FloatArray:
        """A pelvis axis (pelvis coordinates) in the earth frame for each quaternion."""
        q_ep = quat_multiply(quat, conj(self.mounting_wxyz[None, :]))
        return rotate(q_ep, np.asarray(axis_pelvis, dtype=np.float64))


def check_test(recording: Recording, test: str) -> None:
    """Refuse a recording whose metadata names another test."""
    named = recording.meta.test
    if named is not None and named not in (test, "stream", "still"):
        raise WrongTestError(
            f"this recording holds a {named!r} test, not {test!r}: analyse it with --test {named}"
        )


def chunks(n: int, size: int | Sequence[int]) -> Iterator[slice]:
    """Slices covering range(n): fixed ``size`` or a sequence of sizes (cycled)."""
    sizes = [size] if isinstance(size, int) else list(size)
    i = k = 0
    while i < n:
        step = max(1, int(sizes[k % len(sizes)]))
        yield slice(i, min(n, i + step))
        i += step
        k += 1


class _Detector(Protocol):
    def update(self, frame: Frame) -> object: ...


D = TypeVar("D", bound=_Detector)


@dataclass
class FrontEndRun(Generic[D]):
    """A detector and the front end's frames over a whole recording (offline twin of live)."""

    detector: D
    frames: list[Frame] = field(default_factory=list)

    def cat(self, name: str) -> FloatArray:
        """One front-end output over the whole recording."""
        return np.concatenate([getattr(f, name) for f in self.frames])


def run_front_end(
    detector: D,
    t_s: FloatArray,
    acc_mps2: FloatArray,
    gyr_dps: FloatArray,
    rate_hz: float,
    mounting_wxyz: Sequence[float],
    chunk: int | Sequence[int] = 256,
) -> FrontEndRun[D]:
    """Feed the samples in chunks to the front end and ``detector`` (any chunk sizes give the
    same events: the same code runs on live blocks)."""
    run = FrontEndRun(detector)
    front = ImuFrontEnd(rate_hz, mounting_wxyz)
    for sl in chunks(t_s.shape[0], chunk):
        frame = front.update(t_s[sl], acc_mps2[sl], gyr_dps[sl])
        run.frames.append(frame)
        detector.update(frame)
    return run


def mounting_of(recording: Recording) -> tuple[float, ...]:
    """The recording's mounting calibration, or the identity when it has none."""
    m = recording.meta.mounting
    return tuple(m) if m is not None else IDENTITY

"""Where every analysis gets its signals: raw sensor data, pelvis angles and the mounting.

:func:`raw_arrays` is the one entry from a recording to the arrays the detectors take (walk,
stance and bridge alike), with the same checks and errors for every test.

A hipsense recording carries the board's angles; a raw-only recording (or a foreign CSV read with
:func:`hipsense.recording.importer.read_foreign_csv`) gets them from the host filter (compiled
VQF) with a mounting
from the metadata, from ``axes`` (the pelvis axes in sensor axes, e.g. ``z,-y,x``) or estimated
from the recording itself (its first still second and its first walking seconds).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from hipsense.conventions import G_MPS2
from hipsense.conventions.axes import axes_matrix
from hipsense.conventions.words import counted
from hipsense.motion.angles import PelvisAngles
from hipsense.motion.errors import InputError, NotWornError
from hipsense.motion.mounting import mounting_from_axes
from hipsense.motion.orientation import HostFilter
from hipsense.recording import ANGLE_COLUMNS, RAW_COLUMNS, Recording

if TYPE_CHECKING:
    from collections.abc import Mapping

    import pandas as pd

FloatArray = npt.NDArray[np.float64]
ACC_COLUMNS = RAW_COLUMNS[:3]
GYR_COLUMNS = RAW_COLUMNS[3:]


MIN_RATE_HZ = 25.0
"""Below this the detectors' filters (8 Hz low-pass, 0.5–3 Hz step band) have no room."""
MIN_DURATION_S = 2.0
MAX_ABS_ACC_MPS2 = 1000.0
"""No IMU reads beyond ±32 g (314 m/s²); larger values are not sensor readings."""
MAX_ABS_GYR_DPS = 10000.0
"""No IMU reads beyond ±4000 °/s; larger values are not sensor readings."""
GRAVITY_TOLERANCE_MPS2 = 2.0
"""The median accelerometer norm must be gravity within this (a worn sensor, in m/s²)."""


def axes_mounting(axes: str) -> FloatArray:
    """Sensor -> pelvis quaternion (w first) from an axes text such as ``"z,-y,x"``
    (:mod:`hipsense.conventions.axes`)."""
    rows = np.asarray(axes_matrix(axes), dtype=np.float64)
    return mounting_from_axes(rows[2], rows[0])


def check_raw_content(has_raw: bool, rate_hz: float) -> None:
    """The raw columns are present and the rate is one the detectors work at."""
    if not has_raw:
        raise InputError(
            "the analysis needs the raw sensor columns (acc, gyro); this recording holds "
            "angles only: record with raw content (the default of `hipsense stream`)"
        )
    if rate_hz < MIN_RATE_HZ:
        raise InputError(
            f"the recording's rate is {rate_hz:g} Hz; the analyses need at least {MIN_RATE_HZ:g} Hz"
        )


NORM_FINE_MAX_MPS2 = 64
"""The accelerometer norm's median comes from a histogram: 0.001 m/s² bins below this, 1 m/s²
bins above (up to the range check's limit), so the check needs no copy of the samples."""
_NORM_FINE_BINS = NORM_FINE_MAX_MPS2 * 1000
_NORM_BINS = _NORM_FINE_BINS + 2 * int(MAX_ABS_ACC_MPS2) + 2


class RawChecks:
    """The checks of :func:`raw_arrays` as running figures over chunks of samples (peaks,
    time span, a histogram of the accelerometer norm, sums for the standard deviations), so a
    recording read chunk by chunk is checked in constant memory with the same messages."""

    def __init__(self, rate_hz: float) -> None:
        self.rate_hz = rate_hz
        self.n = 0
        self.t_first_s = self.t_last_s = 0.0
        self.peak_acc = self.peak_gyr = 0.0
        self._norm_hist = np.zeros(_NORM_BINS, dtype=np.int64)
        self._origin = np.zeros(6)  # first sample: sums about it keep the variance exact
        self._sum = np.zeros(6)
        self._sum2 = np.zeros(6)

    def add(self, t_s: FloatArray, acc_mps2: FloatArray, gyr_dps: FloatArray) -> None:
        """Take the next chunk's samples into the figures."""
        if t_s.shape[0] == 0:
            return
        if self.n == 0:
            self.t_first_s = float(t_s[0])
            self._origin = np.concatenate([acc_mps2[0], gyr_dps[0]])
        self.n += t_s.shape[0]
        self.t_last_s = float(t_s[-1])
        with np.errstate(over="ignore", invalid="ignore"):
            self.peak_acc = max(self.peak_acc, float(np.max(np.abs(acc_mps2))))
            self.peak_gyr = max(self.peak_gyr, float(np.max(np.abs(gyr_dps))))
            norm = np.sqrt(np.einsum("ij,ij->i", acc_mps2, acc_mps2))
            fine = norm < NORM_FINE_MAX_MPS2
            coarse = np.minimum(norm, 2.0 * MAX_ABS_ACC_MPS2) + _NORM_FINE_BINS
            index = np.where(fine, norm * 1000.0, coarse - NORM_FINE_MAX_MPS2)
            index = np.nan_to_num(index, nan=_NORM_BINS - 1.0)
            self._norm_hist += np.bincount(
                np.clip(index.astype(np.int64), 0, _NORM_BINS - 1), minlength=_NORM_BINS
            )
            x = np.hstack([acc_mps2, gyr_dps]) - self._origin
            self._sum += x.sum(axis=0)
            self._sum2 += np.einsum("ij,ij->j", x, x)

    def median_norm_mps2(self) -> float:
        """The median accelerometer norm, to its histogram bin (0.001 m/s² near gravity)."""
        if self.n == 0:
            return math.nan
        cum = np.cumsum(self._norm_hist)
        i = int(np.searchsorted(cum, (self.n + 1) // 2))
        if i < _NORM_FINE_BINS:
            return (i + 0.5) / 1000.0
        return float(i - _NORM_FINE_BINS + NORM_FINE_MAX_MPS2) + 0.5

    def check(self, *, final: bool) -> None:
        """Raise the first problem found, in :func:`raw_arrays`'s order; ``final``: all samples
        are in (the length, the time span, gravity and the flatness are then checked too)."""
        rate = self.rate_hz
        n = self.n
        if final and n < MIN_DURATION_S * rate:
            raise NotWornError(
                f"only {counted(n, 'sample')} ({n / rate:.2f} s at {rate:g} Hz): record at least "
                f"{MIN_DURATION_S:g} s"
            )
        peaks = (("acc", self.peak_acc, MAX_ABS_ACC_MPS2, "m/s²"),
                 ("gyro", self.peak_gyr, MAX_ABS_GYR_DPS, "deg/s"))  # fmt: skip
        for name, peak, limit, unit in peaks:
            if not peak <= limit:
                raise InputError(
                    f"the {name} reads {peak:.3g} {unit}, beyond any IMU's range (±{limit:g} "
                    f"{unit}): the recording is damaged or not in m/s² and deg/s"
                )
        if not final:
            return
        span_s = self.t_last_s - self.t_first_s
        if not span_s <= 10.0 * n / rate:
            raise InputError(
                f"t_s spans {span_s:.6g} s for {n} samples at {rate:g} Hz: the time column "
                "is not in seconds (timestamps or another unit?)"
            )
        norm = self.median_norm_mps2()
        if not abs(norm - G_MPS2) <= GRAVITY_TOLERANCE_MPS2:
            raise NotWornError(
                f"the accelerometer reads {norm:.3g} m/s² at rest, not gravity: check the sensor "
                "and the recording's units (m/s², not g)"
            )
        mean = self._sum / n
        sd = np.sqrt(np.maximum(self._sum2 / n - mean * mean, 0.0))
        if float(np.max(sd[3:])) < 0.05 and float(np.max(sd[:3])) < 0.02:
            raise NotWornError(
                "the signals are flat (no motion at all): the sensor was not worn, or not "
                "switched on during the test"
            )


def raw_arrays(rec: Recording) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Times (s), acc (n, 3, m/s²) and gyro (n, 3, deg/s) in the sensor frame, checked: raw
    columns present, a rate the detectors can work at, a few seconds of samples, gravity on the
    accelerometer, and some motion. Every failure is an :class:`InputError` (or a subclass)."""
    check_raw_content(rec.has_raw, rec.meta.rate_hz)
    d = rec.data
    t = d["t_s"].to_numpy(np.float64)
    acc = d[list(ACC_COLUMNS)].to_numpy(np.float64)
    gyr = d[list(GYR_COLUMNS)].to_numpy(np.float64)
    checks = RawChecks(rec.meta.rate_hz)
    checks.add(t, acc, gyr)
    checks.check(final=True)
    return t, acc, gyr


def host_mounting(
    meta_mounting: npt.ArrayLike | None,
    axes: str | None,
    t_s: FloatArray | None = None,
    acc_mps2: FloatArray | None = None,
    rate_hz: float = 100.0,
    *,
    still_s: float = 1.0,
    walk_s: float = 8.0,
    contacts_s: FloatArray | None = None,
    left_hint: FloatArray | None = None,
) -> tuple[FloatArray, str, bool]:
    """The mounting the host filter's angles use, the angles' source in words and whether an
    estimated mounting's forward direction is ambiguous: from ``axes``, else the recorded
    mounting, else estimated from the samples ``t_s``, ``acc_mps2`` (the recording's start:
    its first ``still_s`` still, and the walk around ``contacts_s``, the detected contact
    times; ``left_hint``, the detector's yaw-signed left axis, helps sign the forward axis)."""
    if axes is not None:
        return axes_mounting(axes), f"host filter, mounting from --axes {axes}", False
    if meta_mounting is not None:
        return np.asarray(meta_mounting, float), "host filter, recorded mounting", False
    if t_s is None or acc_mps2 is None:
        raise InputError("unknown sensor mounting and no samples to estimate it: pass --axes")
    return _mounting_from_data(t_s, acc_mps2, rate_hz, still_s, walk_s, contacts_s, left_hint)


class HostAngles:
    """Pelvis angles (tilt, obliquity, rotation, deg) of raw samples fed chunk by chunk: the
    host filter (compiled VQF) and :class:`PelvisAngles`, both carrying their state, so any
    chunking gives the angles of the whole recording in one call."""

    def __init__(self, rate_hz: float, mounting_wxyz: npt.ArrayLike) -> None:
        self._filter = HostFilter(rate_hz)
        self._angles = PelvisAngles(mounting_wxyz, rate_hz=rate_hz)

    def update(self, acc_mps2: FloatArray, gyr_dps: FloatArray) -> FloatArray:
        """(N, 3) angles of the next N samples."""
        quat = self._filter.update(acc_mps2, np.radians(gyr_dps))
        return np.column_stack(self._angles.update(quat))


def chunk_arrays(
    frame: pd.DataFrame | Mapping[str, npt.ArrayLike],
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray | None]:
    """Times, acc, gyro and (when the columns are there) the recorded angles of a chunk (a
    frame, or its columns as arrays)."""

    def stacked(names: tuple[str, ...]) -> FloatArray:
        return np.column_stack([np.asarray(frame[c], dtype=np.float64) for c in names])

    t = np.asarray(frame["t_s"], dtype=np.float64)
    has_angles = all(c in frame for c in ANGLE_COLUMNS)
    ang = stacked(ANGLE_COLUMNS) if has_angles else None
    return t, stacked(ACC_COLUMNS), stacked(GYR_COLUMNS), ang


def left_axis_sensor(mounting_wxyz: npt.ArrayLike) -> FloatArray:
    """The pelvis's left axis in sensor axes, from the sensor -> pelvis quaternion."""
    from scipy.spatial.transform import Rotation  # at first use: the module loads fast

    w, x, y, z = np.asarray(mounting_wxyz, dtype=np.float64)
    return np.asarray(Rotation.from_quat([x, y, z, w]).as_matrix()[1], dtype=np.float64)


FORWARD_SCORE_MIN = 0.3
"""Below this forward-sign score the forward direction is called ambiguous (docs/gait.md)."""
YAW_CUE_WEIGHT = 0.5
"""Weight of the yaw-rate side cue's left axis in the forward-sign score."""


def _mounting_from_data(
    t: FloatArray,
    acc: FloatArray,
    rate_hz: float,
    still_s: float,
    walk_s: float,
    contacts_s: FloatArray | None,
    left_hint: FloatArray | None,
) -> tuple[FloatArray, str, bool]:
    """Up from the first ``still_s`` (standing still); the forward axis from the walk that
    starts 0.5 s before the first contact: the main axis of the horizontal acceleration at the
    step frequency (antero-posterior acceleration repeats every step, medio-lateral every
    stride). Its sign is the step phase: in walking the forward acceleration leads the vertical
    one by about a quarter step (the shared IPOL README: this holds in all 65 IPOL and all
    mobgap recordings), so the correlation of the forward acceleration with the vertical one a
    quarter step later is positive; plus ``YAW_CUE_WEIGHT`` times the cosine between the left
    axis this forward gives and ``left_hint`` (the contact detector's left axis, signed by the
    yaw rate). A score below ``FORWARD_SCORE_MIN`` in size makes the forward direction
    ambiguous (third value True): left and right may then be swapped."""
    if contacts_s is None or len(contacts_s) < 4:
        raise InputError(
            "unknown sensor mounting and not enough walking to estimate it: pass --axes"
        )
    up = acc[: max(1, round(still_s * rate_hz))].mean(axis=0)
    up /= np.linalg.norm(up)
    t0 = float(contacts_s[0]) - 0.5
    i0 = int(np.searchsorted(t, t0))
    i1 = min(len(t), i0 + round(walk_s * rate_hz))
    window = contacts_s[(contacts_s >= t0) & (contacts_s < t[i1 - 1])]
    if len(window) < 4 or i1 - i0 < 3 * rate_hz:
        raise InputError("the walk is too short to estimate the mounting: pass --axes")
    step_hz = 1.0 / float(np.median(np.diff(window)))
    vert = acc[i0:i1] @ up
    horiz = acc[i0:i1] - np.outer(vert, up)
    from scipy import signal  # at first use: the module loads fast

    b, a = signal.butter(2, [0.7 * step_hz, 1.3 * step_hz], btype="band", fs=rate_hz, output="ba")  # type: ignore[misc]
    band = np.asarray(signal.filtfilt(b, a, horiz, axis=0), dtype=np.float64)
    _, vecs = np.linalg.eigh(band.T @ band)
    forward = vecs[:, -1]
    v_band = np.asarray(signal.filtfilt(b, a, vert - vert.mean()), dtype=np.float64)
    lag = max(1, round(rate_hz / step_hz / 4.0))
    score = float(np.corrcoef(band[:-lag] @ forward, v_band[lag:])[0, 1])
    if left_hint is not None:
        score += YAW_CUE_WEIGHT * float(np.cross(up, forward) @ left_hint)
    if score < 0:
        forward, score = -forward, -score
    ambiguous = score < FORWARD_SCORE_MIN
    source = (
        f"host filter, mounting estimated from the first {still_s:g} s (still) and the walk "
        f"from {t0:.1f} s"
    )
    if ambiguous:
        source += (
            f" (forward direction ambiguous, score {score:.2f}: left and right may be "
            "swapped; pass --axes)"
        )
    return mounting_from_axes(up, forward), source, ambiguous

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

import numpy as np
import numpy.typing as npt
from scipy import signal
from scipy.spatial.transform import Rotation

from hipsense.conventions import G_MPS2
from hipsense.conventions.axes import axes_matrix
from hipsense.motion.angles import pelvis_angles_deg
from hipsense.motion.errors import InputError, NotWornError
from hipsense.motion.mounting import mounting_from_axes
from hipsense.motion.orientation import estimate_fast
from hipsense.recording import ANGLE_COLUMNS, RAW_COLUMNS, Recording

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


def raw_arrays(rec: Recording) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Times (s), acc (n, 3, m/s²) and gyro (n, 3, deg/s) in the sensor frame, checked: raw
    columns present, a rate the detectors can work at, a few seconds of samples, gravity on the
    accelerometer, and some motion. Every failure is an :class:`InputError` (or a subclass)."""
    if not rec.has_raw:
        raise InputError(
            "the analysis needs the raw sensor columns (acc, gyro); this recording holds "
            "angles only: record with raw content (the default of `hipsense stream`)"
        )
    rate = rec.meta.rate_hz
    if rate < MIN_RATE_HZ:
        raise InputError(
            f"the recording's rate is {rate:g} Hz; the analyses need at least {MIN_RATE_HZ:g} Hz"
        )
    d = rec.data
    t = d["t_s"].to_numpy(np.float64)
    acc = d[list(ACC_COLUMNS)].to_numpy(np.float64)
    gyr = d[list(GYR_COLUMNS)].to_numpy(np.float64)
    if t.shape[0] < MIN_DURATION_S * rate:
        raise NotWornError(
            f"only {t.shape[0]} samples ({t.shape[0] / rate:.2f} s at {rate:g} Hz): record at "
            f"least {MIN_DURATION_S:g} s"
        )
    for name, values, limit, unit in (("acc", acc, MAX_ABS_ACC_MPS2, "m/s²"),
                                      ("gyro", gyr, MAX_ABS_GYR_DPS, "deg/s")):  # fmt: skip
        peak = float(np.max(np.abs(values)))
        if not peak <= limit:
            raise InputError(
                f"the {name} reads {peak:.3g} {unit}, beyond any IMU's range (±{limit:g} {unit}): "
                "the recording is damaged or not in m/s² and deg/s"
            )
    span_s = float(t[-1] - t[0])
    if not span_s <= 10.0 * t.shape[0] / rate:
        raise InputError(
            f"t_s spans {span_s:.6g} s for {t.shape[0]} samples at {rate:g} Hz: the time column "
            "is not in seconds (timestamps or another unit?)"
        )
    with np.errstate(over="ignore", invalid="ignore"):
        norm = float(np.median(np.linalg.norm(acc, axis=1)))
    if not abs(norm - G_MPS2) <= GRAVITY_TOLERANCE_MPS2:
        raise NotWornError(
            f"the accelerometer reads {norm:.3g} m/s² at rest, not gravity: check the sensor and "
            "the recording's units (m/s², not g)"
        )
    if float(np.max(np.std(gyr, axis=0))) < 0.05 and float(np.max(np.std(acc, axis=0))) < 0.02:
        raise NotWornError(
            "the signals are flat (no motion at all): the sensor was not worn, or not switched "
            "on during the test"
        )
    return t, acc, gyr


def angle_array(
    rec: Recording,
    *,
    axes: str | None = None,
    still_s: float = 1.0,
    walk_s: float = 8.0,
    contacts_s: FloatArray | None = None,
    left_hint: FloatArray | None = None,
) -> tuple[FloatArray, str, FloatArray | None, bool]:
    """(N, 3) tilt, obliquity, rotation (deg), where they came from, the mounting the host
    used for them (None for the board's own angles, whose mounting the host does not know, as
    live) and whether an estimated mounting's forward direction is ambiguous; ``contacts_s``
    (the detected contact times) locate the walk used to estimate an unknown mounting and
    ``left_hint`` (the detector's yaw-signed left axis) helps sign its forward axis."""
    d = rec.data
    if rec.has_angles and axes is None and not np.isnan(d["obliquity_deg"].to_numpy()).all():
        return d[list(ANGLE_COLUMNS)].to_numpy(np.float64), "recording", None, False
    t, acc, gyr = raw_arrays(rec)
    rate = rec.meta.rate_hz
    ambiguous = False
    if axes is not None:
        mounting, source = axes_mounting(axes), f"host filter, mounting from --axes {axes}"
    elif rec.meta.mounting is not None:
        mounting, source = np.asarray(rec.meta.mounting, float), "host filter, recorded mounting"
    else:
        mounting, source, ambiguous = _mounting_from_data(
            t, acc, rate, still_s, walk_s, contacts_s, left_hint
        )
    quat = estimate_fast(acc, np.radians(gyr), rate)
    tilt, obliquity, rotation = pelvis_angles_deg(quat, mounting, rate_hz=rate)
    return np.column_stack([tilt, obliquity, rotation]), source, mounting, ambiguous


def left_axis_sensor(mounting_wxyz: npt.ArrayLike) -> FloatArray:
    """The pelvis's left axis in sensor axes, from the sensor -> pelvis quaternion."""
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

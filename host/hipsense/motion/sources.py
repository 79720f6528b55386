"""Where the walk analysis gets its signals: raw sensor data, pelvis angles and the mounting.

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

from hipsense.errors import HipsenseError
from hipsense.motion.angles import pelvis_angles_deg
from hipsense.motion.mounting import mounting_from_axes
from hipsense.motion.orientation import estimate_fast
from hipsense.recording import ANGLE_COLUMNS, RAW_COLUMNS, Recording

FloatArray = npt.NDArray[np.float64]
ACC_COLUMNS = RAW_COLUMNS[:3]
GYR_COLUMNS = RAW_COLUMNS[3:]


class WalkInputError(HipsenseError):
    """The recording cannot be analysed as a walk."""


def parse_axes(axes: str) -> FloatArray:
    """Sensor -> pelvis quaternion from ``"X,Y,Z"``: the sensor axes (``x``, ``-y``, ...) along
    the pelvis's anterior, left and up axes (mobgap: x up, y right, z forward: ``z,-y,x``)."""
    parts = [p.strip().lower() for p in axes.split(",")]
    unit = {"x": 0, "y": 1, "z": 2}
    if len(parts) != 3 or any(p.lstrip("+-") not in unit for p in parts):
        raise WalkInputError(f"--axes {axes!r}: give three sensor axes such as 'z,-y,x'")
    vecs = []
    for p in parts:
        v = np.zeros(3)
        v[unit[p.lstrip("+-")]] = -1.0 if p.startswith("-") else 1.0
        vecs.append(v)
    if abs(float(np.dot(np.cross(vecs[0], vecs[1]), vecs[2])) - 1.0) > 1e-9:
        raise WalkInputError(f"--axes {axes!r}: the axes must form a right-handed frame")
    return mounting_from_axes(vecs[2], vecs[0])


def raw_arrays(rec: Recording) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Times, acc (m/s²) and gyro (deg/s) in the sensor frame."""
    if not rec.has_raw:
        raise WalkInputError(
            "the walk analysis needs the raw sensor columns (acc, gyro); this recording holds "
            "angles only: record with raw content"
        )
    d = rec.data
    return (d["t_s"].to_numpy(np.float64), d[list(ACC_COLUMNS)].to_numpy(np.float64),
            d[list(GYR_COLUMNS)].to_numpy(np.float64))  # fmt: skip


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
        mounting, source = parse_axes(axes), f"host filter, mounting from --axes {axes}"
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
        raise WalkInputError(
            "unknown sensor mounting and not enough walking to estimate it: pass --axes"
        )
    up = acc[: max(1, round(still_s * rate_hz))].mean(axis=0)
    up /= np.linalg.norm(up)
    t0 = float(contacts_s[0]) - 0.5
    i0 = int(np.searchsorted(t, t0))
    i1 = min(len(t), i0 + round(walk_s * rate_hz))
    window = contacts_s[(contacts_s >= t0) & (contacts_s < t[i1 - 1])]
    if len(window) < 4 or i1 - i0 < 3 * rate_hz:
        raise WalkInputError("the walk is too short to estimate the mounting: pass --axes")
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

"""Where the walk analysis gets its signals: raw sensor data, pelvis angles and the mounting.

A hipsense recording carries the board's angles; a raw-only recording (or a foreign CSV read with
:func:`hipsense.recording.importer.read_foreign_csv`) gets them from the host twin of the board's
filter with a mounting
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
from hipsense.motion.orientation import estimate
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
) -> tuple[FloatArray, str, FloatArray | None]:
    """(N, 3) tilt, obliquity, rotation (deg), where they came from, and the mounting the host
    used for them (None for the board's own angles, whose mounting the host does not know, as
    live); ``contacts_s`` (the detected contact times) locate the walk used to estimate an
    unknown mounting."""
    d = rec.data
    if rec.has_angles and axes is None and not np.isnan(d["obliquity_deg"].to_numpy()).all():
        return d[list(ANGLE_COLUMNS)].to_numpy(np.float64), "recording", None
    t, acc, gyr = raw_arrays(rec)
    rate = rec.meta.rate_hz
    if axes is not None:
        mounting, source = parse_axes(axes), f"host filter, mounting from --axes {axes}"
    elif rec.meta.mounting is not None:
        mounting, source = np.asarray(rec.meta.mounting, float), "host filter, recorded mounting"
    else:
        mounting, source = _mounting_from_data(t, acc, rate, still_s, walk_s, contacts_s)
    quat = estimate(acc, np.radians(gyr), rate)
    tilt, obliquity, rotation = pelvis_angles_deg(quat, mounting, rate_hz=rate)
    return np.column_stack([tilt, obliquity, rotation]), source, mounting


def left_axis_sensor(mounting_wxyz: npt.ArrayLike) -> FloatArray:
    """The pelvis's left axis in sensor axes, from the sensor -> pelvis quaternion."""
    w, x, y, z = np.asarray(mounting_wxyz, dtype=np.float64)
    return np.asarray(Rotation.from_quat([x, y, z, w]).as_matrix()[1], dtype=np.float64)


def _mounting_from_data(
    t: FloatArray,
    acc: FloatArray,
    rate_hz: float,
    still_s: float,
    walk_s: float,
    contacts_s: FloatArray | None,
) -> tuple[FloatArray, str]:
    """Up from the first ``still_s`` (standing still); forward from the walk that starts 0.5 s
    before the first contact: the main axis of the horizontal acceleration at the step
    frequency (antero-posterior acceleration repeats every step, medio-lateral every stride),
    signed by the velocity gained in its first second (as hipsense.motion.mounting does)."""
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
    horiz = acc[i0:i1] - np.outer(acc[i0:i1] @ up, up)
    b, a = signal.butter(2, [0.7 * step_hz, 1.3 * step_hz], btype="band", fs=rate_hz, output="ba")  # type: ignore[misc]
    band = np.asarray(signal.filtfilt(b, a, horiz, axis=0), dtype=np.float64)
    _, vecs = np.linalg.eigh(band.T @ band)
    forward = vecs[:, -1]
    n1 = round(rate_hz)
    if float(np.sum((horiz[:n1] - horiz[n1:].mean(axis=0)) @ forward)) < 0:
        forward = -forward
    return mounting_from_axes(up, forward), (
        f"host filter, mounting estimated from the first {still_s:g} s (still) and the walk "
        f"from {t0:.1f} s"
    )

"""Named sensor mountings (R_sensor→pelvis, w-first quaternions) and the CLI's mounting parser."""

from __future__ import annotations

import numpy as np

from hipsense.sim.errors import SimError
from hipsense.sim.rotations import quat_from_matrix

# Columns: the sensor's x, y, z axes expressed in the pelvis frame (x anterior, y left, z up).
_AXES = {
    "aligned": np.eye(3),
    # mobgap's lower-back convention: x up, y right, z forward (docs/simulator.md)
    "x-up-y-right": np.array([[0.0, 0.0, 1.0], [0.0, -1.0, 0.0], [1.0, 0.0, 0.0]]).T,
    # chip flat on the back, face outwards: x right, y up, z backwards
    "flat-back": np.array([[0.0, -1.0, 0.0], [0.0, 0.0, 1.0], [-1.0, 0.0, 0.0]]).T,
    # the aligned chip turned upside down (180° about x): z down, y right
    "upside-down": np.diag([1.0, -1.0, -1.0]),
}
MOUNTINGS: dict[str, list[float]] = {
    name: [float(v) for v in quat_from_matrix(m)] for name, m in _AXES.items()
}
"""Mounting name → quaternion [w, x, y, z] (sensor → pelvis)."""


def parse_mounting(text: str) -> list[float]:
    """A mounting name or four comma-separated numbers ``w,x,y,z`` (normalised)."""
    if text in MOUNTINGS:
        return MOUNTINGS[text]
    try:
        q = np.array([float(v) for v in text.split(",")])
    except ValueError:
        q = np.zeros(0)
    if q.shape != (4,) or not np.all(np.isfinite(q)) or np.linalg.norm(q) < 1e-6:
        raise SimError(
            f"mounting {text!r} is neither a name ({', '.join(MOUNTINGS)}) nor a quaternion w,x,y,z"
        )
    return [float(v) for v in q / np.linalg.norm(q)]

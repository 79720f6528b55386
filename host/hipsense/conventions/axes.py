"""The sensor -> pelvis axes remap written as text (``"z,-y,x"``): the sensor axis along the
pelvis's anterior (x), left (y) and up (z) axes, each with a sign. mobgap's lower-back frame
(x up, y right, z forward) is ``z,-y,x``. Pure Python: every layer may use it."""

from __future__ import annotations

from hipsense.errors import HipsenseError

_AXIS = {"x": 0, "y": 1, "z": 2}


class AxesError(HipsenseError):
    """An axes text that is not three signed sensor axes forming a right-handed frame."""


def parse_axes(axes: str) -> tuple[tuple[int, float], tuple[int, float], tuple[int, float]]:
    """``"z,-y,x"`` -> ((sensor index, sign) for the pelvis's anterior, left and up axes)."""
    parts = [p.strip().lower() for p in str(axes).split(",")]
    if len(parts) != 3 or any(p.lstrip("+-") not in _AXIS or len(p) > 2 for p in parts):
        raise AxesError(f"--axes {axes!r}: give three sensor axes such as 'z,-y,x'")
    picks = [(_AXIS[p.lstrip("+-")], -1.0 if p.startswith("-") else 1.0) for p in parts]
    rows = [[0.0, 0.0, 0.0] for _ in range(3)]
    for row, (index, sign) in zip(rows, picks, strict=True):
        row[index] = sign
    (a, b, c), (d, e, f), (g, h, i) = rows
    det = a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g)
    if det != 1.0:
        raise AxesError(f"--axes {axes!r}: the axes must form a right-handed frame")
    return picks[0], picks[1], picks[2]


def axes_matrix(axes: str) -> list[list[float]]:
    """The 3×3 rotation R with v_pelvis = R v_sensor (rows: pelvis axes in sensor axes)."""
    rows = []
    for index, sign in parse_axes(axes):
        row = [0.0, 0.0, 0.0]
        row[index] = sign
        rows.append(row)
    return rows

"""A recording in memory: metadata plus one frame of samples."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from hipsense.conventions.axes import parse_axes
from hipsense.recording.exceptions import RecordingError
from hipsense.recording.meta import RecordingMeta
from hipsense.recording.schema import (
    ACC_COLUMNS,
    ANGLE_COLUMNS,
    GYR_COLUMNS,
    MARKER,
    RAW_COLUMNS,
    SEQ,
    T_S,
    normalise_frame,
)

if TYPE_CHECKING:
    import pandas as pd


@dataclasses.dataclass(eq=False)  # frames have no single truth value: compare .data, .meta
class Recording:
    """Metadata and samples; the frame is checked and given canonical dtypes on creation.

    Columns (docs/recording.md): ``t_s`` float64 (device sample clock, s), ``seq`` int64
    (unwrapped), ``acc_{x,y,z}_mps2`` and ``gyr_{x,y,z}_dps`` float64 (sensor frame),
    optional ``tilt_deg``/``obliquity_deg``/``rotation_deg`` float64 (pelvis frame; NaN =
    no estimate), ``marker`` int32 (0 = none). Raises RecordingError on a bad frame.
    """

    meta: RecordingMeta
    data: pd.DataFrame

    def __post_init__(self) -> None:
        self.data, self._content = normalise_frame(self.data, source="recording data")

    @classmethod
    def from_frame(
        cls,
        data: pd.DataFrame,
        *,
        rate_hz: float,
        axes: str | None = None,
        test: str | None = None,
        side: str | None = None,
        condition: str | None = None,
        mounting: Sequence[float] | None = None,
        device_name: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> Recording:
        """A recording from a frame of samples in hipsense's column names and units (m/s²,
        deg/s), e.g. another tool's data renamed.

        ``t_s`` is made from ``rate_hz`` when absent, ``seq`` numbers the rows and ``marker`` is
        0 when absent. ``axes`` (``"z,-y,x"``: the sensor axes along the pelvis's anterior,
        left and up axes) remaps the six raw columns into pelvis axes, so the mounting is then
        the identity; it is kept in ``extra["axes"]``. Raises RecordingError on a bad frame.
        """
        if axes is not None and mounting is not None:
            raise RecordingError("give axes or mounting, not both")
        frame = filled_frame(data, rate_hz=rate_hz, axes=axes)
        info = dict(extra or {})
        if axes is not None:
            mounting = (1.0, 0.0, 0.0, 0.0)
            info["axes"] = axes
        meta = RecordingMeta(
            rate_hz=rate_hz, test=test, side=side, condition=condition, device_name=device_name,
            mounting=None if mounting is None else list(mounting), extra=info,
        )  # fmt: skip
        return cls(meta=meta, data=frame)

    @property
    def content(self) -> str:
        """``raw``, ``raw+angles`` or ``angles``: which column groups the recording holds."""
        return self._content

    @property
    def has_raw(self) -> bool:
        """True when the six raw sensor columns are present."""
        return all(c in self.data.columns for c in RAW_COLUMNS)

    @property
    def has_angles(self) -> bool:
        """True when the three pelvis angle columns are present."""
        return all(c in self.data.columns for c in ANGLE_COLUMNS)

    @property
    def duration_s(self) -> float:
        """Time covered: last minus first ``t_s`` plus one sample period (0 when empty)."""
        if len(self.data) == 0:
            return 0.0
        t_s = self.data[T_S]
        return float(t_s.iloc[-1] - t_s.iloc[0]) + 1.0 / self.meta.rate_hz


def filled_frame(
    data: pd.DataFrame, *, rate_hz: float, axes: str | None = None, first_row: int = 0
) -> pd.DataFrame:
    """Rows ``first_row``... of a frame in hipsense's names and units, completed as
    :meth:`Recording.from_frame` does: ``t_s`` from ``rate_hz`` and ``seq`` from the row number
    when absent, ``marker`` 0 when absent, the six raw columns remapped by ``axes``. Row-wise,
    so a file's chunks filled one by one (``first_row`` their first row) make the whole
    file's frame exactly."""
    frame = data.reset_index(drop=True).copy()
    n = len(frame)
    rows = np.arange(first_row, first_row + n, dtype=np.int64)
    if T_S not in frame.columns:
        frame.insert(0, T_S, rows.astype(np.float64) / float(rate_hz))
    if SEQ not in frame.columns:
        frame.insert(1, SEQ, rows)
    if MARKER not in frame.columns:
        frame[MARKER] = np.zeros(n, dtype=np.int32)
    if axes is not None:
        missing = [c for c in RAW_COLUMNS if c not in frame.columns]
        if missing:
            raise RecordingError(f"axes remap the raw columns; missing {', '.join(missing)}")
        picks = parse_axes(axes)
        for group in (ACC_COLUMNS, GYR_COLUMNS):
            sensor = frame[list(group)].to_numpy(np.float64)
            for column, (index, sign) in zip(group, picks, strict=True):
                frame[column] = sign * sensor[:, index]
    return frame

"""A recording in memory: metadata plus one frame of samples."""

from __future__ import annotations

import dataclasses

import pandas as pd

from hipsense.recording.meta import RecordingMeta
from hipsense.recording.schema import ANGLE_COLUMNS, RAW_COLUMNS, T_S, normalise_frame


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

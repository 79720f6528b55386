"""The recording format: Parquet (or CSV) files holding samples and session metadata.

See docs/recording.md for the columns, units, frames, metadata keys and versioning.
"""

from hipsense.recording.exceptions import RecordingError
from hipsense.recording.files import read_recording, write_recording
from hipsense.recording.meta import FORMAT_VERSION, RecordingMeta
from hipsense.recording.model import Recording
from hipsense.recording.schema import (
    ALL_COLUMNS,
    ANGLE_COLUMNS,
    MARKER,
    RAW_COLUMNS,
    SEQ,
    T_S,
)

__all__ = [
    "ALL_COLUMNS",
    "ANGLE_COLUMNS",
    "FORMAT_VERSION",
    "MARKER",
    "RAW_COLUMNS",
    "SEQ",
    "T_S",
    "Recording",
    "RecordingError",
    "RecordingMeta",
    "read_recording",
    "write_recording",
]

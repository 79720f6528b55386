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
    MARKER_BUTTON,
    MARKER_KEY,
    MARKER_NONE,
    MARKER_SETTINGS,
    RAW_COLUMNS,
    SEQ,
    T_S,
)
from hipsense.recording.writer import RecordingWriter, recover_partial

__all__ = [
    "ALL_COLUMNS",
    "ANGLE_COLUMNS",
    "FORMAT_VERSION",
    "MARKER",
    "MARKER_BUTTON",
    "MARKER_KEY",
    "MARKER_NONE",
    "MARKER_SETTINGS",
    "RAW_COLUMNS",
    "SEQ",
    "T_S",
    "Recording",
    "RecordingError",
    "RecordingMeta",
    "RecordingWriter",
    "read_recording",
    "recover_partial",
    "write_recording",
]

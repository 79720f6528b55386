"""The one error type of the recording format."""

from __future__ import annotations

from hipsense.errors import HipsenseError


class RecordingError(HipsenseError):
    """A recording cannot be read or written; the message names the file and the problem."""

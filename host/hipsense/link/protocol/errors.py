"""Typed errors of the wire protocol decoder: the only exceptions ``decode_frame`` raises."""

from __future__ import annotations

from hipsense.errors import HipsenseError


class ProtocolError(HipsenseError):
    """A frame that this hipsense cannot decode; the message says why and what to check."""


class MalformedFrame(ProtocolError):
    """The frame breaks the layout of docs/protocol.md (too short, wrong length, bad field)."""


class UnsupportedProtocolVersion(ProtocolError):
    """The frame's protocol major version is not the one this hipsense speaks."""

    def __init__(self, found: int, supported: int) -> None:
        self.found = found
        self.supported = supported
        if found > supported:
            advice = "update hipsense (pip install --upgrade hipsense)"
        else:
            advice = "flash the current firmware with `hipsense flash`"
        super().__init__(
            f"the board speaks protocol v{found}, this hipsense speaks v{supported}: {advice}"
        )


class UnknownFrameType(ProtocolError):
    """A frame type id this hipsense does not know (a newer firmware may send it)."""

    def __init__(self, type_id: int) -> None:
        self.type_id = type_id
        super().__init__(
            f"unknown frame type 0x{type_id:02X}: the firmware may be newer than this "
            "hipsense; such frames are skipped (update hipsense to use them)"
        )

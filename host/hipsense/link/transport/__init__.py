"""Transports: how frames travel between the board and the host (BLE, serial, ...).

Every transport implements :class:`hipsense.transport.base.Transport`; the
:class:`hipsense.session.Session` on top of it does decoding, resend and ordering.
"""

from hipsense.transport.base import (
    AdapterUnavailable,
    DeviceNotFound,
    LinkDown,
    LinkState,
    Received,
    Transport,
    TransportError,
)

__all__ = [
    "AdapterUnavailable",
    "DeviceNotFound",
    "LinkDown",
    "LinkState",
    "Received",
    "Transport",
    "TransportError",
]

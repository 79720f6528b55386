"""Transports: how frames travel between the board and the host (BLE, serial, ...).

Every transport implements :class:`hipsense.link.transport.base.Transport`; the
:class:`hipsense.link.session.Session` on top of it does decoding, resend and ordering.
"""

from hipsense.link.transport.base import (
    AdapterUnavailable,
    DeviceNotFound,
    LinkDown,
    LinkState,
    NotBonded,
    Received,
    Transport,
    TransportError,
)

__all__ = [
    "AdapterUnavailable",
    "DeviceNotFound",
    "LinkDown",
    "LinkState",
    "NotBonded",
    "Received",
    "Transport",
    "TransportError",
]

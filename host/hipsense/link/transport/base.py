"""The one interface every transport implements (BLE, serial, virtual board).

A transport delivers, in arrival order, whole frames (:class:`Received`, stamped with the host
clock on arrival) and link changes (:class:`LinkState`): the session needs both, to ask for a
resend after a reconnect. Callbacks from the BLE stack or a reader thread only queue items;
the consumer decodes.
"""

from __future__ import annotations

import asyncio
import time
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from dataclasses import dataclass

from hipsense.errors import HipsenseError


class TransportError(HipsenseError):
    """A transport problem; the message says what to check."""


class LinkDown(TransportError):
    """The link to the board is down (it may come back: BLE reconnects by itself)."""


class DeviceNotFound(TransportError):
    """No matching board was found."""


class AdapterUnavailable(TransportError):
    """The Bluetooth adapter or the serial port cannot be used."""


class NotBonded(TransportError):
    """The board refuses this host: it is not bonded to it (docs/link.md "Security")."""


PAIR_HINT = (
    "pair this computer with the sensor first: hold the sensor's button for 3 s (its pairing "
    "window opens for 60 s; a new sensor's is open for 60 s after it is switched on), then "
    "run `hipsense pair`"
)


@dataclass(frozen=True)
class Received:
    """One frame as it arrived; ``t_host_s`` is ``time.monotonic()`` at arrival."""

    data: bytes
    t_host_s: float


@dataclass(frozen=True)
class LinkState:
    """The link came up (``up``) or went down (``reason`` says why)."""

    up: bool
    reason: str = ""


TransportItem = Received | LinkState


class Transport(ABC):
    """Async frame transport; ``items()`` yields frames and link changes until ``close``."""

    name = "transport"

    def __init__(self) -> None:
        self._items: asyncio.Queue[TransportItem | None] = asyncio.Queue()
        self._closed = False

    @abstractmethod
    async def open(self) -> None:
        """Connect the first time; raises a :class:`TransportError` when that fails."""

    @abstractmethod
    async def send(self, frame: bytes) -> None:
        """Send one COMMAND frame; raises :class:`LinkDown` when the link is down."""

    @property
    @abstractmethod
    def connected(self) -> bool: ...

    async def close(self) -> None:
        """Stop, disconnect and end ``items()``."""
        if not self._closed:
            self._closed = True
            self._items.put_nowait(None)

    def token_ok(self, frame: bytes) -> bool:
        """Whether a command frame is safe to send as is (serial avoids Ctrl-C bytes)."""
        return True

    def _put_frame(self, data: bytes | bytearray) -> None:
        self._items.put_nowait(Received(bytes(data), time.monotonic()))

    def _put_state(self, up: bool, reason: str = "") -> None:
        self._items.put_nowait(LinkState(up, reason))

    async def items(self) -> AsyncIterator[TransportItem]:
        while True:
            item = await self._items.get()
            if item is None:
                return
            yield item

    async def __aenter__(self) -> Transport:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

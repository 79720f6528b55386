"""Pairing this computer with a board, opening the board's pairing window and forgetting bonds
(docs/link.md "Security").

``pair_board`` pairs over BLE with bleak (LE Secure Connections, Just Works) and checks that
the board really bonded: a board whose pairing window is closed encrypts the link but keeps no
keys and drops the connection, which ``pair_board`` reports as :class:`PairingRefused` with
what to do. ``forget_bonds`` and ``open_pairing_window`` send FORGET_BONDS and PAIRING through
a :class:`~hipsense.link.session.Session` on any transport (a bonded BLE host or USB serial).
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import Any

from bleak import BleakClient
from bleak.backends.client import BaseBleakClient
from bleak.backends.scanner import BaseBleakScanner
from bleak.exc import BleakError

from hipsense.link.protocol import STATUS_UUID, Command
from hipsense.link.session import Session
from hipsense.link.transport.base import LinkDown, Transport, TransportError
from hipsense.link.transport.ble import BleTransport, find

WINDOW_HINT = (
    "its pairing window is closed: hold the sensor's button for 3 s (the window opens for "
    "60 s; a new sensor's is open for 60 s after it is switched on), or run `hipsense board "
    "pairing` with the sensor on USB, then run `hipsense pair` again"
)


class PairingRefused(TransportError):
    """The board did not bond with this computer."""


@dataclass(frozen=True)
class Paired:
    name: str
    address: str
    already: bool
    """The computer was bonded before (nothing changed)."""


async def pair_board(
    name_or_address: str | None = None,
    *,
    scanner_backend: type[BaseBleakScanner] | None = None,
    client_backend: type[BaseBleakClient] | None = None,
    backend_kwargs: dict[str, Any] | None = None,
    scan_timeout_s: float = 10.0,
    timeout_s: float = 20.0,
) -> Paired:
    """Bond this computer with the board (``name_or_address``, or the first one found)."""
    kwargs = backend_kwargs or {}
    device = await find(name_or_address, scan_timeout_s, backend=scanner_backend, **kwargs)
    name = device.name or device.address
    client = BleakClient(device, timeout=timeout_s, backend=client_backend, **kwargs)
    try:
        await client.connect()
    except (BleakError, OSError, asyncio.TimeoutError) as exc:
        raise LinkDown(
            f"could not connect to {name}: {exc}; it may be connected to another device, "
            "out of range or asleep"
        ) from exc
    try:
        if await _status_readable(client):
            return Paired(name, device.address, already=True)
        if not client.is_connected:  # refused and dropped: connect again to pair
            await client.connect()
        try:
            await client.pair()
        except (BleakError, OSError, asyncio.TimeoutError) as exc:
            raise PairingRefused(f"sensor {name} did not pair ({exc}); {WINDOW_HINT}") from exc
        if not client.is_connected or not await _status_readable(client):
            with contextlib.suppress(BleakError, OSError, NotImplementedError):
                await client.unpair()  # encrypted without a bond: of no use, leave nothing
            raise PairingRefused(f"sensor {name} did not bond with this computer: {WINDOW_HINT}")
        return Paired(name, device.address, already=False)
    finally:
        with contextlib.suppress(Exception):
            await client.disconnect()


async def _status_readable(client: BleakClient) -> bool:
    """The protected status characteristic can be read: the board trusts this computer."""
    try:
        await client.read_gatt_char(STATUS_UUID)
    except (BleakError, OSError, asyncio.TimeoutError):
        return False
    return client.is_connected


async def forget_bonds(transport: Transport) -> None:
    """FORGET_BONDS: the board forgets every host (it drops its BLE connection after the
    reply); over BLE this computer forgets its bond too."""
    if isinstance(transport, BleTransport):
        transport.reconnect = False  # the board is about to drop this connection
    async with Session(transport) as session:
        await session.command(Command.FORGET_BONDS)
    if isinstance(transport, BleTransport):
        await transport.unpair()


async def open_pairing_window(transport: Transport, seconds: int = 60) -> None:
    """PAIRING: let one new host bond within ``seconds`` (1 … 120; 0 closes the window)."""
    if not 0 <= seconds <= 120:
        raise ValueError(f"the pairing window lasts 0 … 120 s, not {seconds}")
    async with Session(transport) as session:
        await session.command(Command.PAIRING, bytes([seconds]))

"""BLE transport on bleak: scan, connect by name or address, subscribe, reconnect with back-off.

The bleak backend is a parameter: the real ``BleakScanner``/``BleakClient`` backend by default,
:mod:`hipsense.virtual.bleak_backend` for the virtual board (every test passes it), so the
same code path runs against both.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bleak import BleakClient, BleakScanner
from bleak.backends.client import BaseBleakClient
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData, BaseBleakScanner
from bleak.exc import BleakError

from hipsense.link.protocol import CONTROL_UUID, DATA_UUID, SERVICE_UUID, STATUS_UUID
from hipsense.link.transport.base import (
    PAIR_HINT,
    AdapterUnavailable,
    DeviceNotFound,
    LinkDown,
    NotBonded,
    Transport,
)

log = logging.getLogger(__name__)

NAME_PREFIX = "hipsense-"
BACKOFF_S = (0.2, 0.5, 1.0, 2.0, 5.0)

_NOTHING_FOUND_HINT = (
    "check that Bluetooth is on (Linux: `bluetoothctl show`; macOS/Windows: the Bluetooth "
    "settings), that this program may use it (Linux: your user in the `bluetooth` group; "
    "macOS: Bluetooth permission for the terminal), that the sensor is awake (press its "
    "button or charge it) and that it is not connected to another phone or computer"
)


@dataclass(frozen=True)
class FoundDevice:
    """A hipsense board seen while scanning."""

    name: str
    address: str
    rssi_dbm: int
    device: BLEDevice


def _adapter_error(exc: BaseException) -> AdapterUnavailable:
    return AdapterUnavailable(
        f"the Bluetooth adapter cannot be used ({type(exc).__name__}: {exc}); "
        "check that Bluetooth is on and that the system's Bluetooth service runs "
        "(Linux: `systemctl status bluetooth`)"
    )


# How an ATT refusal for lack of security reads in bleak's errors: the virtual backend's
# "insufficient encryption/authentication/authorization", BlueZ's org.bluez.Error.NotPermitted
# / NotAuthorized / AuthenticationFailed, CoreBluetooth's and WinRT's "... is insufficient".
_SECURITY_WORDS = ("insufficient", "notpermitted", "notauthorized", "authentication", "encrypt")


def refused_for_security(exc: BaseException) -> bool:
    """``exc`` says the board refused an access because the link is not secure enough."""
    text = str(exc).lower().replace(" ", "").replace(".", "")
    return any(word in text for word in _SECURITY_WORDS)


def _not_bonded(name: str | None, exc: BaseException | None = None) -> NotBonded:
    why = f" ({exc})" if exc is not None else ""
    return NotBonded(
        f"sensor {name or ''} refused this computer: it is not bonded to it{why}; " + PAIR_HINT
    )


def _with_backend(backend: type[BaseBleakScanner] | None, kwargs: dict[str, Any]) -> dict[str, Any]:
    return {**kwargs, "backend": backend} if backend is not None else dict(kwargs)


async def scan(
    timeout_s: float = 5.0,
    *,
    backend: type[BaseBleakScanner] | None = None,
    **backend_kwargs: Any,
) -> list[FoundDevice]:
    """All boards advertising the hipsense service within ``timeout_s``, strongest first."""
    try:
        found: dict[str, tuple[BLEDevice, AdvertisementData]] = await BleakScanner.discover(
            timeout=timeout_s,
            return_adv=True,
            service_uuids=[SERVICE_UUID],
            **_with_backend(backend, backend_kwargs),
        )
    except (BleakError, OSError) as exc:
        raise _adapter_error(exc) from exc
    devices = [
        FoundDevice(adv.local_name or dev.name or dev.address, dev.address, adv.rssi, dev)
        for dev, adv in found.values()
    ]
    return sorted(devices, key=lambda d: -d.rssi_dbm)


async def find(
    name_or_address: str | None,
    timeout_s: float = 10.0,
    *,
    backend: type[BaseBleakScanner] | None = None,
    **backend_kwargs: Any,
) -> BLEDevice:
    """The board with this name (``hipsense-XXXX``, or just ``XXXX``) or address, or the
    first hipsense board when ``name_or_address`` is None."""
    wanted = (name_or_address or "").upper()
    if wanted and ":" not in wanted and not wanted.startswith(NAME_PREFIX.upper()):
        wanted = NAME_PREFIX.upper() + wanted

    def match(device: BLEDevice, adv: AdvertisementData) -> bool:
        if SERVICE_UUID not in adv.service_uuids:
            return False
        name = (adv.local_name or device.name or "").upper()
        return not wanted or wanted in (name, device.address.upper())

    try:
        device = await BleakScanner.find_device_by_filter(
            match, timeout=timeout_s, **_with_backend(backend, backend_kwargs)
        )
    except (BleakError, OSError) as exc:
        raise _adapter_error(exc) from exc
    if device is None:
        what = f"sensor {name_or_address!r}" if name_or_address else "hipsense sensor"
        raise DeviceNotFound(f"no {what} found within {timeout_s:g} s: {_NOTHING_FOUND_HINT}")
    return device


class BleTransport(Transport):
    """Frames over the hipsense GATT service; reconnects by itself after a drop.

    ``scanner_backend``/``client_backend`` go to bleak's ``backend=`` (None: the platform's
    real backend); ``backend_kwargs`` reach both (the virtual backend takes ``radio=``).
    """

    name = "ble"

    def __init__(
        self,
        name_or_address: str | None = None,
        *,
        scanner_backend: type[BaseBleakScanner] | None = None,
        client_backend: type[BaseBleakClient] | None = None,
        backend_kwargs: dict[str, Any] | None = None,
        scan_timeout_s: float = 10.0,
        connect_timeout_s: float = 10.0,
        reconnect: bool = True,
        backoff_s: Sequence[float] = BACKOFF_S,
    ) -> None:
        super().__init__()
        self.target = name_or_address
        self._scanner_backend = scanner_backend
        self._client_backend = client_backend
        self._kwargs = backend_kwargs or {}
        self.scan_timeout_s = scan_timeout_s
        self.connect_timeout_s = connect_timeout_s
        self.reconnect = reconnect
        self.backoff_s = tuple(backoff_s)
        self.address: str | None = None
        self.device_name: str | None = None
        self.reconnects = 0
        self._client: BleakClient | None = None
        self._last_client: BleakClient | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def connected(self) -> bool:
        return self._client is not None and self._client.is_connected

    @property
    def mtu(self) -> int:
        return self._client.mtu_size if self._client is not None else 23

    async def open(self) -> None:
        device = await find(
            self.target, self.scan_timeout_s, backend=self._scanner_backend, **self._kwargs
        )
        self.address = device.address
        await self._connect(device)

    async def _connect(self, device: BLEDevice | str) -> None:
        client = BleakClient(
            device,
            disconnected_callback=self._on_disconnect,
            timeout=self.connect_timeout_s,
            backend=self._client_backend,
            **self._kwargs,
        )
        try:
            await client.connect()
            await client.start_notify(DATA_UUID, lambda _char, data: self._put_frame(data))
        except (BleakError, OSError, asyncio.TimeoutError) as exc:
            with contextlib.suppress(Exception):
                await client.disconnect()
            reason = str(exc) or f"no answer within {self.connect_timeout_s:g} s"
            raise LinkDown(
                f"could not connect to {self.address}: {reason}; it may be connected to another "
                "device, out of range or asleep"
            ) from exc
        await self._check_bonded(client)
        self._client = client
        self._last_client = client
        self.device_name = client.name
        self._put_state(True)
        log.info("connected to %s (MTU %d)", self.device_name, client.mtu_size)

    async def _check_bonded(self, client: BleakClient) -> None:
        """Read the (protected) status characteristic: a board that does not know this host
        refuses, or drops the link, and a host that is bonded gets the link encrypted."""
        try:
            await client.read_gatt_char(STATUS_UUID)
        except (BleakError, OSError, asyncio.TimeoutError) as exc:
            with contextlib.suppress(Exception):
                await client.disconnect()
            if refused_for_security(exc) or not client.is_connected:
                raise _not_bonded(self.address, exc) from exc
            raise LinkDown(f"could not read the status of {self.address}: {exc}") from exc

    async def unpair(self) -> None:
        """Forget this computer's bond with the board (after ``hipsense board forget``)."""
        client = self._client or self._last_client
        if client is not None:
            with contextlib.suppress(BleakError, OSError, NotImplementedError):
                await client.unpair()

    def _on_disconnect(self, client: BleakClient) -> None:
        if client is not self._client:
            return
        self._client = None
        if self._closed:
            return
        self._put_state(False, "the BLE link dropped")
        log.warning("BLE link to %s dropped", self.address)
        if self.reconnect and (self._task is None or self._task.done()):
            self._task = asyncio.get_running_loop().create_task(self._reconnect())

    async def _reconnect(self) -> None:
        attempt = 0
        while not self._closed and self._client is None:
            await asyncio.sleep(self.backoff_s[min(attempt, len(self.backoff_s) - 1)])
            attempt += 1
            try:
                device = await find(
                    self.address,
                    self.scan_timeout_s,
                    backend=self._scanner_backend,
                    **self._kwargs,
                )
                if self._closed:
                    return
                await self._connect(device)
                self.reconnects += 1
            except NotBonded as exc:  # the board forgot this host: retrying will not help
                log.error("%s", exc)
                self._put_state(False, str(exc))
                return
            except (DeviceNotFound, LinkDown) as exc:
                log.info("reconnect attempt %d failed: %s", attempt, exc)

    async def send(self, frame: bytes) -> None:
        client = self._client
        if client is None or not client.is_connected:
            raise LinkDown("not connected to the sensor (reconnecting)")
        try:
            await client.write_gatt_char(CONTROL_UUID, frame, response=True)
        except (BleakError, OSError) as exc:
            if refused_for_security(exc):
                raise _not_bonded(self.address, exc) from exc
            raise LinkDown(f"sending a command failed: {exc}") from exc

    async def read_status(self) -> bytes:
        """The status characteristic (the latest STATUS frame)."""
        client = self._client
        if client is None:
            raise LinkDown("not connected to the sensor")
        try:
            return bytes(await client.read_gatt_char(STATUS_UUID))
        except (BleakError, OSError) as exc:
            if refused_for_security(exc):
                raise _not_bonded(self.address, exc) from exc
            raise LinkDown(f"reading the status failed: {exc}") from exc

    async def close(self) -> None:
        await super().close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(Exception):
                await client.disconnect()


async def connect(
    name_or_address: str | None = None,
    *,
    backend_kwargs: dict[str, Any] | None = None,
    **transport_kwargs: Any,
) -> BleTransport:
    """Find and connect to a board; ``transport_kwargs`` reach :class:`BleTransport` (e.g. the
    virtual board's ``scanner_backend``/``client_backend`` from
    :mod:`hipsense.virtual.bleak_backend`, whose radio must be running: the link does not import
    the virtual board). Returns the open transport, ready for
    :class:`hipsense.link.session.Session`."""
    transport = BleTransport(name_or_address, backend_kwargs=backend_kwargs, **transport_kwargs)
    await transport.open()
    return transport

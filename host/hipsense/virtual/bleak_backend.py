"""A bleak backend for the virtual board: ``BleakScanner(backend=VirtualScanner)`` and
``BleakClient(device, backend=VirtualClient)``, so the host's real BLE code path runs.

Both talk to a :class:`~hipsense.virtual.radio.VirtualRadio` (the ``radio=`` keyword, else
the running one). The scanner parses the board's real advertising payload; the client builds
bleak's GATT service collection from the board's GATT database, exchanges the MTU (247, like
BlueZ does on connect), and calls bleak's disconnected callback when the link drops.

Security as BlueZ does it: ``pair()`` pairs (LE Secure Connections) and keeps the key when
the board bonds; a client with a bond encrypts when the board asks (Security Request) or when
a read or write is refused for lack of encryption, then tries again; ``unpair()`` forgets the
bond. ``central=`` (a :class:`~hipsense.virtual.radio.VirtualCentral`) makes the client
another device, e.g. an unbonded neighbour; by default it is the radio's own ``central``.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any, cast

from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient, NotifyCallback
from bleak.backends.descriptor import BleakGATTDescriptor
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData, AdvertisementDataCallback, BaseBleakScanner
from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection
from bleak.exc import BleakError
from bleak.uuids import normalize_uuid_str

if TYPE_CHECKING:
    from bleak.assigned_numbers import CharacteristicPropertyName

from hipsense.virtual.radio import (
    AttrKind,
    RadioLink,
    VirtualBoard,
    VirtualCentral,
    VirtualLinkError,
    VirtualRadio,
    uuid_from_le,
)

CLIENT_MTU = 247
SCAN_PERIOD_S = 0.05

_PROPERTIES = (
    (0x0002, "read"),
    (0x0004, "write-without-response"),
    (0x0008, "write"),
    (0x0010, "notify"),
    (0x0020, "indicate"),
)


def parse_advertising(adv: bytes, resp: bytes) -> tuple[str | None, list[str]]:
    """(complete or short local name, service UUIDs) from AD structures (Core Spec Vol 3 C 11)."""
    name: str | None = None
    uuids: list[str] = []
    data = adv + resp
    i = 0
    while i < len(data) and data[i]:
        n = data[i]
        kind, body = data[i + 1], data[i + 2 : i + 1 + n]
        if kind in (0x08, 0x09):
            name = body.decode("utf-8", "replace")
        elif kind in (0x06, 0x07):
            uuids += [uuid_from_le(body[k : k + 16]) for k in range(0, len(body) - 15, 16)]
        elif kind in (0x02, 0x03):
            uuids += [uuid_from_le(body[k : k + 2]) for k in range(0, len(body) - 1, 2)]
        i += 1 + n
    return name, uuids


class VirtualScanner(BaseBleakScanner):
    def __init__(
        self,
        detection_callback: AdvertisementDataCallback | None,
        service_uuids: list[str] | None,
        scanning_mode: str = "active",
        *,
        radio: VirtualRadio | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            detection_callback, [normalize_uuid_str(u) for u in service_uuids or []] or None
        )
        self._radio = radio
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.seen_devices = {}
        radio = self._radio or VirtualRadio.current()
        self._task = asyncio.create_task(self._listen(radio))

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _listen(self, radio: VirtualRadio) -> None:
        while True:
            for board in list(radio.boards):
                if board.adv_data is None or not board.alive:
                    continue
                name, uuids = parse_advertising(board.adv_data, board.resp_data)
                adv = AdvertisementData(
                    local_name=name,
                    manufacturer_data={},
                    service_data={},
                    service_uuids=uuids,
                    tx_power=None,
                    rssi=-50,
                    platform_data=(),
                )
                if self.is_allowed_uuid(uuids):
                    device = self.create_or_update_device(
                        board.address, board.address, name, board, adv
                    )
                    self.call_detection_callbacks(device, adv)
            await asyncio.sleep(SCAN_PERIOD_S)


class VirtualClient(BaseBleakClient):
    def __init__(
        self,
        address_or_ble_device: BLEDevice | str,
        *,
        radio: VirtualRadio | None = None,
        central: VirtualCentral | None = None,
        **kwargs: Any,
    ) -> None:
        self._pair_on_connect = bool(kwargs.pop("pair", False))
        super().__init__(
            address_or_ble_device,
            disconnected_callback=kwargs.pop("disconnected_callback", None),
            timeout=kwargs.pop("timeout", 10.0),
        )
        self._radio = radio
        self._central = central
        self._device = address_or_ble_device
        self._link: RadioLink | None = None
        self._callbacks: dict[int, NotifyCallback] = {}
        self._name = ""

    def _board(self) -> VirtualBoard:
        if isinstance(self._device, BLEDevice) and isinstance(self._device.details, VirtualBoard):
            board: VirtualBoard | None = self._device.details
        else:
            board = (self._radio or VirtualRadio.current()).find(self.address)
        if board is None or not board.alive:
            raise BleakError(f"virtual device {self.address} not found")
        return board

    @property
    def name(self) -> str:
        return self._name

    @property
    def mtu_size(self) -> int:
        return self._link.mtu if self._link is not None else 23

    @property
    def is_connected(self) -> bool:
        return self._link is not None and self._link.connected

    def central(self) -> VirtualCentral:
        """The adapter this client connects with."""
        if self._central is not None:
            return self._central
        return (self._radio or VirtualRadio.current()).central

    async def connect(self, pair: bool = False, **kwargs: Any) -> None:
        board = self._board()
        try:
            link = await board.connect(self._timeout, self.central())
            await link.exchange_mtu(CLIENT_MTU, self._timeout)
            if pair or self._pair_on_connect:
                await link.pair(timeout_s=self._timeout)
        except asyncio.TimeoutError as exc:
            if board.link is not None:
                board.link.disconnect()
            raise BleakError(f"no answer within {self._timeout:g} s") from exc
        except Exception as exc:
            if board.link is not None:
                board.link.disconnect()
            raise BleakError(str(exc) or type(exc).__name__) from exc
        name, _ = parse_advertising(board.adv_data or b"", board.resp_data)
        self._name = name or board.address
        self.services = self._services(board)
        self._callbacks.clear()
        link.on_notify = self._deliver
        link.on_disconnect = self._on_disconnect
        self._link = link

    def _services(self, board: VirtualBoard) -> BleakGATTServiceCollection:
        services = BleakGATTServiceCollection()
        service: BleakGATTService | None = None
        char: BleakGATTCharacteristic | None = None
        for entry in board.gatt:
            if entry.kind == AttrKind.SERVICE:
                service = BleakGATTService(None, entry.handle, entry.uuid)
                services.add_service(service)
            elif entry.kind == AttrKind.VALUE and service is not None:
                props = cast(
                    "list[CharacteristicPropertyName]",
                    [name for bit, name in _PROPERTIES if entry.flags & bit],
                )
                char = BleakGATTCharacteristic(
                    None, entry.handle, entry.uuid, props, lambda: self.mtu_size - 3, service
                )
                services.add_characteristic(char)
            elif char is not None:
                services.add_descriptor(BleakGATTDescriptor(None, entry.handle, entry.uuid, char))
        return services

    def _deliver(self, handle: int, data: bytes) -> None:
        callback = self._callbacks.get(handle)
        if callback is not None:
            callback(bytearray(data))

    def _on_disconnect(self) -> None:
        self._link = None
        if self._disconnected_callback is not None:
            self._disconnected_callback()

    def _require(self) -> RadioLink:
        if self._link is None or not self._link.connected:
            raise BleakError(f"not connected to {self.address}")
        return self._link

    async def disconnect(self) -> None:
        link = self._link
        self._link = None
        if link is not None:
            link.on_disconnect = None
            link.disconnect()

    async def pair(self, *args: Any, **kwargs: Any) -> None:
        """Pair and bond; like BlueZ it returns when the link is encrypted, bonded or not
        (``bonded`` tells; a board whose pairing window is closed does not bond)."""
        try:
            await self._require().pair(timeout_s=self._timeout)
        except (VirtualLinkError, asyncio.TimeoutError) as exc:
            raise BleakError(f"pairing with {self.address} failed: {exc}") from exc

    @property
    def bonded(self) -> bool:
        """This client's adapter holds a bond with the board."""
        return self.central().bonded_to(self.address)

    async def unpair(self) -> None:
        """Forget this adapter's bond with the board (and disconnect, as BlueZ does)."""
        self.central().bonds.pop(self.address.upper(), None)
        await self.disconnect()

    async def read_gatt_char(
        self, characteristic: BleakGATTCharacteristic, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        try:
            return bytearray(await self._require().read(characteristic.handle, self._timeout))
        except Exception as exc:
            raise BleakError(str(exc)) from exc

    async def read_gatt_descriptor(
        self, descriptor: BleakGATTDescriptor, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        try:
            return bytearray(await self._require().read(descriptor.handle, self._timeout))
        except Exception as exc:
            raise BleakError(str(exc)) from exc

    async def write_gatt_char(
        self, characteristic: BleakGATTCharacteristic, data: Any, response: bool
    ) -> None:
        try:
            await self._require().write(characteristic.handle, bytes(data), response, self._timeout)
        except BleakError:
            raise
        except Exception as exc:
            raise BleakError(str(exc)) from exc

    async def write_gatt_descriptor(self, descriptor: BleakGATTDescriptor, data: Any) -> None:
        await self._require().write(descriptor.handle, bytes(data), True, self._timeout)

    async def start_notify(
        self, characteristic: BleakGATTCharacteristic, callback: NotifyCallback, **kwargs: Any
    ) -> None:
        cccd = characteristic.get_descriptor("00002902-0000-1000-8000-00805f9b34fb")
        if cccd is None:
            raise BleakError(f"characteristic {characteristic.uuid} cannot notify")
        self._callbacks[characteristic.handle] = callback
        await self._require().write(cccd.handle, b"\x01\x00", True, self._timeout)

    async def stop_notify(self, characteristic: BleakGATTCharacteristic) -> None:
        self._callbacks.pop(characteristic.handle, None)
        cccd = characteristic.get_descriptor("00002902-0000-1000-8000-00805f9b34fb")
        if cccd is not None and self.is_connected:
            await self._require().write(cccd.handle, b"\x00\x00", True, self._timeout)

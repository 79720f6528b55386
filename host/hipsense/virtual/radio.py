"""The host end of the virtual BLE link: "the air" between virtual boards and the host.

A virtual board (MicroPython unix port with the simulated ``bluetooth`` module) connects to
this socket server (endpoint in ``HIPSENSE_VBLE_ENDPOINT``) and reports its advertising, its
GATT database and its notifications; the custom bleak backend
(:mod:`hipsense.virtual.bleak_backend`) scans, connects, reads and writes through it. Test
harnesses inject faults here (forced disconnects, link rate), the firmware stays untouched.
The message format is in docs/virtual-board.md "Virtual BLE"; the codes mirror
``host/hipsense/virtual/mpy/bluetooth.py`` (checked by a test).
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from hipsense.errors import HipsenseError

CENTRAL_ADDRESS = bytes.fromhex("c00000000001")
NO_RESPONSE = 0xFFFF


class Msg(enum.IntEnum):
    """Socket message types (u16 LE length of type + payload, u8 type, payload)."""

    HELLO = 0x01
    ADV = 0x02
    ADV_STOP = 0x03
    GATT_DB = 0x04
    CONNECTED = 0x05
    DISCONNECTED = 0x06
    NOTIFY = 0x07
    INDICATE = 0x08
    MTU = 0x09
    READ_RSP = 0x0A
    WRITE_RSP = 0x0B
    SEC_REQ = 0x20
    PAIR_RSP = 0x21
    ENC_RSP = 0x22
    CLOCK_WAIT = 0x0C
    CONNECT_REQ = 0x41
    DISCONNECT_REQ = 0x42
    MTU_REQ = 0x43
    WRITE = 0x44
    READ = 0x45
    LINK = 0x46
    FAULT_AT = 0x47
    FAULT_RANDOM = 0x48
    IMU_GONE = 0x49
    HANG = 0x4A
    I2C_FAIL = 0x4B
    IMU_PAUSE = 0x4C
    STALL = 0x4D
    CLOCK_GRANT = 0x4E
    PAIR_REQ = 0x60
    ENCRYPT_REQ = 0x61


class AttrKind(enum.IntEnum):
    SERVICE = 1
    VALUE = 2
    DESCRIPTOR = 3
    CCCD = 4


class VirtualLinkError(HipsenseError):
    """The virtual board refused or dropped a request (it is not advertising, or gone)."""


ATT_ERRORS = {
    0x01: "invalid handle",
    0x02: "read not permitted",
    0x03: "write not permitted",
    0x05: "insufficient authentication",
    0x08: "insufficient authorization",
    0x0F: "insufficient encryption",
}
#: ATT errors a bonded central answers by encrypting the link and trying again (as BlueZ does)
ATT_SECURITY_ERRORS = (0x05, 0x0F)
IO_NO_INPUT_OUTPUT = 3


class AttError(VirtualLinkError):
    """The board answered a read or write with an ATT error (``code``)."""

    def __init__(self, what: str, code: int) -> None:
        name = ATT_ERRORS.get(code, "error")
        super().__init__(f"{what} failed: ATT error 0x{code:02X} ({name})")
        self.code = code


class PairingFailed(VirtualLinkError):
    """The board refused to pair (SMP failure ``code``)."""


@dataclass
class VirtualCentral:
    """A host's Bluetooth adapter as the virtual boards see it: its address and its bonds
    (board address -> the long-term key of the bonding), like BlueZ's store."""

    address: bytes = CENTRAL_ADDRESS
    bonds: dict[str, bytes] = field(default_factory=dict)

    def bonded_to(self, board_address: str) -> bool:
        return board_address.upper() in self.bonds


@dataclass(frozen=True)
class GattEntry:
    """One attribute of the board's GATT database: ``uuid`` as a normalized 128-bit string."""

    handle: int
    kind: AttrKind
    flags: int
    uuid: str


def uuid_from_le(raw: bytes) -> str:
    """Little-endian UUID bytes (2 or 16) to bleak's normalized lowercase 128-bit form."""
    if len(raw) == 2:
        return f"0000{raw[1]:02x}{raw[0]:02x}-0000-1000-8000-00805f9b34fb"
    h = raw[::-1].hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def parse_gatt_db(payload: bytes) -> list[GattEntry]:
    entries = []
    i = 0
    while i + 6 <= len(payload):
        handle, kind, flags, n = struct.unpack_from("<HBHB", payload, i)
        entries.append(
            GattEntry(handle, AttrKind(kind), flags, uuid_from_le(payload[i + 6 : i + 6 + n]))
        )
        i += 6 + n
    return entries


class RadioLink:
    """One connection to a board, as the host's BLE controller would hold it."""

    def __init__(
        self, board: VirtualBoard, conn_handle: int, central: VirtualCentral | None = None
    ) -> None:
        self.board = board
        self.conn_handle = conn_handle
        self.central = central or VirtualCentral()
        self.mtu = 23
        self.connected = True
        self.encrypted = False
        self.bonded = False
        self.on_notify: Callable[[int, bytes], None] | None = None
        self.on_disconnect: Callable[[], None] | None = None
        self._mtu_done: asyncio.Future[int] | None = None
        self._security: asyncio.Future[bytes] | None = None
        self._encrypting: asyncio.Task[bool] | None = None

    # ---- security (the host's side of pairing and encryption) ------------------------------
    async def _ask(self, kind: Msg, payload: bytes, timeout_s: float) -> bytes:
        self._check()
        self._security = asyncio.get_running_loop().create_future()
        self.board.send(kind, struct.pack("<H", self.conn_handle) + payload)
        return await asyncio.wait_for(self._security, timeout_s)

    async def pair(self, bond: bool = True, mitm: bool = False, timeout_s: float = 10.0) -> bool:
        """Pair (LE Secure Connections); True when the board also bonded (kept the keys)."""
        answer = await self._ask(
            Msg.PAIR_REQ, bytes((int(bond), int(mitm), IO_NO_INPUT_OUTPUT, 1)), timeout_s
        )
        status, encrypted, _authenticated, bonded = answer[:4]
        if status:
            raise PairingFailed(f"the virtual board refused to pair (SMP error 0x{status:02X})")
        self.encrypted = bool(encrypted)
        self.bonded = bool(bonded)
        if bonded:
            self.central.bonds[self.board.address.upper()] = bytes(answer[4:20])
        return self.bonded

    async def encrypt(self, timeout_s: float = 10.0) -> bool:
        """Encrypt with this central's key for the board; False without one, or when the
        board no longer knows it (HCI "PIN or key missing")."""
        if self.encrypted:
            return True
        ltk = self.central.bonds.get(self.board.address.upper())
        if ltk is None:
            return False
        answer = await self._ask(Msg.ENCRYPT_REQ, ltk, timeout_s)
        self.encrypted = self.bonded = answer[0] == 0 and bool(answer[1])
        return self.encrypted

    def _security_request(self) -> None:
        # A bonded central answers the peripheral's Security Request by encrypting.
        if self.encrypted or not self.central.bonded_to(self.board.address):
            return
        if self._encrypting is None or self._encrypting.done():
            self._encrypting = asyncio.ensure_future(self._encrypt_quietly())

    async def _encrypt_quietly(self) -> bool:
        try:
            return await self.encrypt()
        except (VirtualLinkError, asyncio.TimeoutError):
            return False

    async def _secure_after(self, status: int) -> bool:
        """After an ATT security error: encrypt once if this central holds a bond."""
        if status not in ATT_SECURITY_ERRORS or self.encrypted:
            return False
        if not self.central.bonded_to(self.board.address):
            return False
        if self._encrypting is None or self._encrypting.done():
            self._encrypting = asyncio.ensure_future(self._encrypt_quietly())
        return await asyncio.shield(self._encrypting)

    async def exchange_mtu(self, mtu: int, timeout_s: float = 5.0) -> int:
        self._mtu_done = asyncio.get_running_loop().create_future()
        self.board.send(Msg.MTU_REQ, struct.pack("<HH", self.conn_handle, mtu))
        self.mtu = await asyncio.wait_for(self._mtu_done, timeout_s)
        return self.mtu

    async def write(self, handle: int, data: bytes, response: bool, timeout_s: float = 5.0) -> None:
        self._check()
        if not response:
            self.board.send(
                Msg.WRITE, struct.pack("<HHH", self.conn_handle, handle, NO_RESPONSE) + data
            )
            return
        for attempt in (0, 1):
            req, fut = self.board.new_request()
            self.board.send(Msg.WRITE, struct.pack("<HHH", self.conn_handle, handle, req) + data)
            status, _ = await asyncio.wait_for(fut, timeout_s)
            if not status:
                return
            if attempt or not await self._secure_after(status):
                raise AttError(f"write to handle {handle}", status)

    async def read(self, handle: int, timeout_s: float = 5.0) -> bytes:
        self._check()
        for attempt in (0, 1):
            req, fut = self.board.new_request()
            self.board.send(Msg.READ, struct.pack("<HHH", self.conn_handle, handle, req))
            status, data = await asyncio.wait_for(fut, timeout_s)
            if not status:
                return data
            if attempt or not await self._secure_after(status):
                raise AttError(f"read of handle {handle}", status)
        raise AssertionError("unreachable")

    def disconnect(self) -> None:
        if self.connected:
            self.board.send(Msg.DISCONNECT_REQ, struct.pack("<H", self.conn_handle))
            self._lost()

    def _check(self) -> None:
        if not self.connected:
            raise VirtualLinkError("the virtual board is not connected")

    def _lost(self) -> None:
        if not self.connected:
            return
        self.connected = False
        if self.board.link is self:
            self.board.link = None
        self.board.fail_requests()
        if self._mtu_done is not None and not self._mtu_done.done():
            self._mtu_done.set_exception(VirtualLinkError("the link dropped (MTU exchange)"))
        if self._security is not None and not self._security.done():
            self._security.set_exception(VirtualLinkError("the virtual board disconnected"))
        if self.on_disconnect is not None:
            self.on_disconnect()


@dataclass
class VirtualBoard:
    """One virtual board as the radio sees it: advertising, GATT database, connection."""

    writer: asyncio.StreamWriter
    address: str = ""
    adv_data: bytes | None = None
    resp_data: bytes = b""
    gatt: list[GattEntry] = field(default_factory=list)
    link: RadioLink | None = None
    alive: bool = True
    corrupt_left: int = 0
    sim_ms: int = 0
    """Lockstep: the board's simulated clock (ms since its boot) as it last reported it."""
    _req: int = 0
    _pending: dict[int, asyncio.Future[tuple[int, bytes]]] = field(default_factory=dict)
    _connecting: asyncio.Future[tuple[int, int]] | None = None
    _central: VirtualCentral | None = None  # the central of the connection being made

    def send(self, kind: Msg, payload: bytes = b"") -> None:
        if not self.alive:
            raise VirtualLinkError(f"virtual board {self.address} is gone (its process ended)")
        self.writer.write(struct.pack("<HB", len(payload) + 1, kind) + payload)

    def new_request(self) -> tuple[int, asyncio.Future[tuple[int, bytes]]]:
        self._req = (self._req + 1) & 0x7FFF
        fut: asyncio.Future[tuple[int, bytes]] = asyncio.get_running_loop().create_future()
        self._pending[self._req] = fut
        return self._req, fut

    def fail_requests(self) -> None:
        for fut in self._pending.values():
            if not fut.done():
                fut.set_exception(VirtualLinkError("the virtual board disconnected"))
        self._pending.clear()

    async def connect(
        self, timeout_s: float = 5.0, central: VirtualCentral | None = None
    ) -> RadioLink:
        if self.link is not None:
            raise VirtualLinkError(f"virtual board {self.address} is already connected")
        self._central = central or VirtualCentral()
        self._connecting = asyncio.get_running_loop().create_future()
        self.send(Msg.CONNECT_REQ, self._central.address)
        conn, status = await asyncio.wait_for(self._connecting, timeout_s)
        if status:
            raise VirtualLinkError(
                f"virtual board {self.address} refused the connection (not advertising, "
                "out of range or already connected)"
            )
        link = self.link
        if link is None or link.conn_handle != conn or not link.connected:
            raise VirtualLinkError(f"the link to virtual board {self.address} dropped at once")
        return link

    def handle(self, kind: int, p: bytes) -> None:
        if kind == Msg.HELLO:
            self.address = ":".join(f"{b:02X}" for b in p[:6])
        elif kind == Msg.ADV:
            n = struct.unpack_from("<H", p, 1)[0]
            self.adv_data, self.resp_data = p[3 : 3 + n], p[3 + n :]
        elif kind == Msg.ADV_STOP:
            self.adv_data = None
        elif kind == Msg.GATT_DB:
            self.gatt = parse_gatt_db(p)
        elif kind == Msg.CONNECTED:
            conn, status = struct.unpack_from("<HB", p)
            if self._connecting is not None and not self._connecting.done():
                if status == 0:  # now, so that a DISCONNECTED right behind it finds the link
                    self.link = RadioLink(self, conn, self._central)
                self._connecting.set_result((conn, status))
            elif status == 0 and self.link is None:
                # The central gave up on this connection attempt (timed out) before the board
                # answered: it cancels it, as a BLE controller does, so the board advertises
                # again instead of holding a connection nobody uses.
                self.send(Msg.DISCONNECT_REQ, struct.pack("<H", conn))
        elif kind == Msg.DISCONNECTED:
            conn = struct.unpack_from("<H", p)[0]
            if self.link is not None and self.link.conn_handle == conn:
                self.link._lost()
        elif kind in (Msg.NOTIFY, Msg.INDICATE):
            conn, handle = struct.unpack_from("<HH", p)
            link = self.link
            data = p[4:]
            if self.corrupt_left > 0 and len(data) > 24:
                self.corrupt_left -= 1
                data = data[:-1]  # damaged on the way: one byte short
            if link is not None and link.conn_handle == conn and link.on_notify is not None:
                link.on_notify(handle, data)
        elif kind == Msg.MTU:
            link = self.link
            if link is not None:
                link.mtu = struct.unpack_from("<HH", p)[1]
                if link._mtu_done is not None and not link._mtu_done.done():
                    link._mtu_done.set_result(link.mtu)
        elif kind == Msg.SEC_REQ:
            if self.link is not None and self.link.conn_handle == struct.unpack_from("<H", p)[0]:
                self.link._security_request()
        elif kind in (Msg.PAIR_RSP, Msg.ENC_RSP):
            link = self.link
            if link is not None and link.conn_handle == struct.unpack_from("<H", p)[0]:
                fut = link._security
                if fut is not None and not fut.done():
                    fut.set_result(p[2:])
        elif kind in (Msg.READ_RSP, Msg.WRITE_RSP):
            req, status = struct.unpack_from("<HB", p)
            fut = self._pending.pop(req, None)
            if fut is not None and not fut.done():
                fut.set_result((status, p[3:]))


GRANT_MS = 20
"""Lockstep: simulated time granted per answer to a waiting board (it may run this far ahead
of what the host has taken in)."""
CONSUMER_TURNS = 4
"""Lockstep: event-loop turns given to the host's consumers (transport -> session -> stream)
before the board may go on, so that they react at the simulated time the data arrived."""
BACKSTOP_S = 5.0
"""Lockstep: a board clock that stands still this long (wall time: a board that died, or
hangs without sleeping) lets :meth:`VirtualRadio.clock_s` run on with wall time x speed, so
that the host's deadlines still end a stream whose board is gone."""


class VirtualRadio:
    """Socket server the virtual boards connect to; one per host process (see ``current``).

    Lockstep boards (``HIPSENSE_SIM_CLOCK=lockstep``) ask for simulated time when they wait
    (``CLOCK_WAIT``); the radio grants ``GRANT_MS`` more once the host has taken in what they
    sent before, and no faster than ``speed`` simulated seconds per second (None: as fast as
    the machine goes). :meth:`clock_s` is the boards' simulated time, the clock the host's
    deadlines use in that mode (docs/virtual-board.md "Time")."""

    _current: VirtualRadio | None = None

    def __init__(self, speed: float | None = None) -> None:
        self.speed = speed
        self._wall_s: Callable[[], float] = time.monotonic
        self._sim_base_ms = 0  # simulated time of boards whose process has ended
        self._sim_last_ms = -1
        self._sim_last_wall = self._wall_s()
        self._backstop_s = 0.0
        self._pace: tuple[float, float] | None = None  # (simulated ms, wall s) pacing anchor
        self.boards: list[VirtualBoard] = []
        #: this host's adapter (what the bleak backend connects with unless told otherwise)
        self.central = VirtualCentral()
        self._server: asyncio.Server | None = None
        self._arrived = asyncio.Event()
        self._serving: set[asyncio.Task[object]] = set()
        self.endpoint = ""

    @classmethod
    def current(cls) -> VirtualRadio:
        """The most recently started radio (what the bleak backend uses by default)."""
        if cls._current is None:
            raise VirtualLinkError("no virtual radio is running: start a VirtualRadio first")
        return cls._current

    async def start(self, path: str | None = None) -> str:
        """Listen on TCP 127.0.0.1 (any free port) or on the AF_UNIX socket ``path``."""
        if path is None:
            self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
            port = self._server.sockets[0].getsockname()[1]
            self.endpoint = f"tcp:127.0.0.1:{port}"
        else:
            self._server = await asyncio.start_unix_server(self._serve, path)
            self.endpoint = f"unix:{path}"
        VirtualRadio._current = self
        return self.endpoint

    async def close(self) -> None:
        for board in self.boards:
            board.writer.close()
        if self._serving:  # let each reader see its socket close and clean up
            await asyncio.wait(self._serving, timeout=2.0)
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
        if VirtualRadio._current is self:
            VirtualRadio._current = None

    async def __aenter__(self) -> VirtualRadio:
        if self._server is None:
            await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def wait_for_board(self, timeout_s: float = 10.0) -> VirtualBoard:
        """The first board that said hello (and registered its GATT database)."""

        async def ready() -> VirtualBoard:
            while True:
                for board in self.boards:
                    if board.address and board.gatt and board.alive:
                        return board
                self._arrived.clear()
                await self._arrived.wait()

        return await asyncio.wait_for(ready(), timeout_s)

    # ---- lockstep clock --------------------------------------------------------------------
    def clock_s(self) -> float:
        """Simulated seconds since the first board booted, across board restarts (lockstep);
        runs on with wall time only while no board clock moves for ``BACKSTOP_S``."""
        sim_ms = self._sim_base_ms + max((b.sim_ms for b in self.boards if b.alive), default=0)
        now = self._wall_s()
        rate = self.speed or 1.0
        stood_s = now - self._sim_last_wall
        if sim_ms != self._sim_last_ms:
            self._backstop_s += max(0.0, stood_s - BACKSTOP_S) * rate
            self._sim_last_ms = sim_ms
            self._sim_last_wall = now
            stood_s = 0.0
        return sim_ms / 1000.0 + self._backstop_s + max(0.0, stood_s - BACKSTOP_S) * rate

    async def _grant(self, board: VirtualBoard, payload: bytes) -> None:
        """Answer a waiting lockstep board: let the host's consumers take in what it sent,
        keep to ``speed``, then grant ``GRANT_MS`` past the time it waits for."""
        now_ms, wanted_ms = struct.unpack_from("<II", payload)
        board.sim_ms = now_ms
        self.clock_s()
        for _ in range(CONSUMER_TURNS):
            await asyncio.sleep(0)
        until_ms = max(wanted_ms, now_ms) + GRANT_MS
        if self.speed is not None:
            wall = time.monotonic()
            if self._pace is None or wall - self._wall_due(now_ms) > 0.1:
                self._pace = (float(now_ms), wall)  # behind (a busy machine): no catching up
            ahead_s = self._wall_due(until_ms) - wall
            if ahead_s > 0:
                await asyncio.sleep(ahead_s)
        if board.alive:
            with contextlib.suppress(ConnectionError, VirtualLinkError):
                board.send(Msg.CLOCK_GRANT, struct.pack("<I", until_ms))

    def _wall_due(self, sim_ms: float) -> float:
        assert self._pace is not None and self.speed is not None
        anchor_ms, anchor_wall = self._pace
        return anchor_wall + (sim_ms - anchor_ms) / 1000.0 / self.speed

    def find(self, address: str) -> VirtualBoard | None:
        for board in self.boards:
            if board.alive and board.address.upper() == address.upper():
                return board
        return None

    @staticmethod
    def new_central(address: str) -> VirtualCentral:
        """Another device in range (e.g. a neighbour's), with an address and no bonds:
        pass it to the bleak backend as ``central=``."""
        return VirtualCentral(bytes.fromhex(address.replace(":", "")))

    # ---- fault injection (host side of the socket; the firmware is untouched) ------------
    @staticmethod
    def set_link(
        board: VirtualBoard, interval_ms: float, packets_per_event: int, queue_capacity: int
    ) -> None:
        """Connection interval, notifications per connection event, controller queue slots."""
        board.send(
            Msg.LINK,
            struct.pack("<IBB", int(interval_ms * 1000), packets_per_event, queue_capacity),
        )

    @staticmethod
    def disconnect_at(board: VirtualBoard, at_ms: int, down_ms: int) -> None:
        """Drop the link at simulated time ``at_ms`` and stay out of reach for ``down_ms``."""
        board.send(Msg.FAULT_AT, struct.pack("<II", at_ms, down_ms))

    @staticmethod
    def random_disconnects(
        board: VirtualBoard, seed: int, mean_interval_ms: int, min_down_ms: int, max_down_ms: int
    ) -> None:
        """Drops at random (reproducible from ``seed``); ``mean_interval_ms`` 0 turns them off."""
        board.send(
            Msg.FAULT_RANDOM, struct.pack("<IIII", seed, mean_interval_ms, min_down_ms, max_down_ms)
        )

    @staticmethod
    def imu_gone(board: VirtualBoard) -> None:
        """Every device on the board's I2C bus stops acknowledging, for good (IMU lost)."""
        board.send(Msg.IMU_GONE)

    @staticmethod
    def i2c_fail(board: VirtualBoard, count: int, err: int) -> None:
        """The next ``count`` I2C transactions fail with ``OSError(err)`` (e.g. ETIMEDOUT,
        EIO), as the ESP32 port raises them for a bus timeout or error."""
        board.send(Msg.I2C_FAIL, struct.pack("<HB", count, err))

    @staticmethod
    def imu_pause(board: VirtualBoard, down_ms: int) -> None:
        """Every device on the board's I2C bus stops acknowledging for ``down_ms`` of
        simulated time (a loose cable), then answers again."""
        board.send(Msg.IMU_PAUSE, struct.pack("<I", down_ms))

    @staticmethod
    def stall(board: VirtualBoard, ms: int) -> None:
        """The firmware's main loop is held ``ms`` of simulated time in its next ``machine``
        call (a long flash write, a GC pass), so the IMU's FIFO can overflow."""
        board.send(Msg.STALL, struct.pack("<I", ms))

    @staticmethod
    def hang(board: VirtualBoard) -> None:
        """The firmware's main loop gets stuck (in its next ``machine`` call, as on a bus that
        never answers); its timers still run, so its watchdog resets the board."""
        board.send(Msg.HANG)

    @staticmethod
    def corrupt_notifications(board: VirtualBoard, count: int) -> None:
        """Cut one byte off each of the next ``count`` notifications longer than 24 bytes."""
        board.corrupt_left += count

    # ---- the socket ----------------------------------------------------------------------
    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        board = VirtualBoard(writer)
        self.boards.append(board)
        task = asyncio.current_task()
        if task is not None:
            self._serving.add(task)
        try:
            while True:
                head = await reader.readexactly(2)
                (n,) = struct.unpack("<H", head)
                body = await reader.readexactly(n)
                if body[0] == Msg.CLOCK_WAIT:
                    await self._grant(board, body[1:])
                    continue
                board.handle(body[0], body[1:])
                if body[0] in (Msg.HELLO, Msg.GATT_DB):
                    self._arrived.set()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        except asyncio.CancelledError:
            # The host is shutting down (Ctrl-C). Nobody awaits this handler, and a cancelled
            # one makes Python 3.11's stream server log a traceback: end quietly instead.
            pass
        finally:
            board.alive = False
            self._sim_base_ms += board.sim_ms  # a restarted board counts from 0 again
            if board.link is not None:
                board.link._lost()
            if board._connecting is not None and not board._connecting.done():
                board._connecting.set_exception(VirtualLinkError("the virtual board is gone"))
            self.boards.remove(board)
            writer.close()
            if task is not None:
                self._serving.discard(task)

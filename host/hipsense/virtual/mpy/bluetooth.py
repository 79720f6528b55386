"""Simulated ``bluetooth`` module (GATT peripheral role) for the MicroPython unix port.

Mimics the ESP32 port (NimBLE) as the firmware sees it, see docs/virtual-board.md "Virtual
BLE" for the full description and the socket protocol:
- ``BLE`` is one shared object; ``irq`` events use the real codes and argument tuples.
- ``gatts_register_services`` assigns handles in registration order after the built-in GAP
  and GATT services (handles 1-9): per service a declaration, per characteristic a
  declaration and a value handle (returned), then a CCCD for notify/indicate characteristics
  (not returned, like NimBLE), then the user descriptors (returned after the value handle).
- ``gatts_notify`` copies the payload, cut to ``MTU - 3`` like NimBLE's ATT layer, into a
  bounded controller queue and returns None; when the queue is full it raises
  ``OSError(ENOMEM)`` like the ESP32 port when NimBLE's mbuf pool is exhausted
  (``ble_hs_mbuf_from_flat`` returns NULL; micropython extmod/nimble/modbluetooth_nimble.c).
  Not connected: ``OSError(ENOTCONN)``; inactive: ``OSError(ENODEV)``.
- The queue drains at the link rate: ``packets_per_event`` notifications per connection
  interval of simulated time. A disconnect throws away what is still queued (like a real
  controller), so a notification that was accepted can still be lost.
- IRQ events are delivered from ``sim_service()``, which runs either from a ticker thread
  through ``micropython.schedule`` (socket mode: like the real soft IRQ, between two
  bytecodes of the main program) or when a test calls it.
- Fault injection (forced disconnects at chosen times or at random, link rate) comes from the
  host side of the socket or from ``sim_central()`` in tests; the firmware is untouched.
- Security (NimBLE's security manager as the firmware sees it): a central pairs (LE Secure
  Connections, Just Works) or encrypts with a key it holds; bonding only while the
  peripheral's ``config(bond=True)``; keys go to and come from the firmware through
  ``_IRQ_SET_SECRET``/``_IRQ_GET_SECRET``; ``_IRQ_ENCRYPTION_UPDATE`` on success; the
  ``*_ENCRYPTED``/``*_AUTHENTICATED`` flags refuse reads and writes on a link without it
  (ATT 0x0F / 0x05); ``_IRQ_GATTS_READ_REQUEST`` lets the firmware refuse a read.

Functions named ``sim_*`` are simulation control and do not exist on a real board.
"""

import errno
import os
import time

import micropython
from micropython import const

try:
    import _simclock  # pyright: ignore[reportMissingImports]
except ImportError:  # pragma: no cover - the virtual board always has it
    _simclock = None

FLAG_BROADCAST = const(0x0001)
FLAG_READ = const(0x0002)
FLAG_WRITE_NO_RESPONSE = const(0x0004)
FLAG_WRITE = const(0x0008)
FLAG_NOTIFY = const(0x0010)
FLAG_INDICATE = const(0x0020)
FLAG_READ_ENCRYPTED = const(0x0200)
FLAG_READ_AUTHENTICATED = const(0x0400)
FLAG_WRITE_ENCRYPTED = const(0x1000)
FLAG_WRITE_AUTHENTICATED = const(0x2000)

_IRQ_CENTRAL_CONNECT = const(1)
_IRQ_CENTRAL_DISCONNECT = const(2)
_IRQ_GATTS_WRITE = const(3)
_IRQ_GATTS_READ_REQUEST = const(4)
_IRQ_GATTS_INDICATE_DONE = const(20)
_IRQ_MTU_EXCHANGED = const(21)
_IRQ_ENCRYPTION_UPDATE = const(28)
_IRQ_GET_SECRET = const(29)
_IRQ_SET_SECRET = const(30)

_SEC_OUR = const(1)  # NimBLE BLE_STORE_OBJ_TYPE_OUR_SEC
_SEC_PEER = const(2)  # ... PEER_SEC
_SEC_VALUE_SIZE = const(80)  # about sizeof(struct ble_store_value_sec)
_IO_NO_INPUT_OUTPUT = const(3)
_ATT_READ_NOT_PERMITTED = const(0x02)
_ATT_WRITE_NOT_PERMITTED = const(0x03)
_ATT_INSUFFICIENT_AUTHENTICATION = const(0x05)
_ATT_INSUFFICIENT_ENCRYPTION = const(0x0F)
_SMP_AUTH_REQUIREMENTS = const(0x03)  # SMP pairing failed: authentication requirements
_HCI_KEY_MISSING = const(0x06)  # HCI: PIN or key missing

# Socket messages: u16 LE length (type byte + payload), u8 type, payload.
# Board -> host
MSG_HELLO = const(0x01)  # addr[6]
MSG_ADV = const(0x02)  # u8 connectable, u16 adv_len, adv_data, resp_data
MSG_ADV_STOP = const(0x03)
MSG_GATT_DB = const(0x04)  # entries: u16 handle, u8 kind, u16 flags, u8 uuid_len, uuid (LE)
MSG_CONNECTED = const(0x05)  # u16 conn_handle, u8 status (0 ok, 1 refused)
MSG_DISCONNECTED = const(0x06)  # u16 conn_handle, u8 reason
MSG_NOTIFY = const(0x07)  # u16 conn_handle, u16 value_handle, data
MSG_INDICATE = const(0x08)  # u16 conn_handle, u16 value_handle, data
MSG_MTU = const(0x09)  # u16 conn_handle, u16 mtu
MSG_READ_RSP = const(0x0A)  # u16 request, u8 status, data
MSG_WRITE_RSP = const(0x0B)  # u16 request, u8 status
MSG_SEC_REQ = const(0x20)  # u16 conn_handle: the peripheral asks for security (gap_pair)
MSG_PAIR_RSP = const(0x21)  # u16 conn, u8 status, u8 encrypted, authenticated, bonded, ltk[16]
MSG_ENC_RSP = const(0x22)  # u16 conn, u8 status, u8 encrypted, authenticated, bonded
MSG_CLOCK_WAIT = const(0x0C)  # u32 now_ms, u32 wanted_ms: lockstep, the board waits for time
# Host -> board
MSG_CONNECT_REQ = const(0x41)  # addr[6] of the central
MSG_DISCONNECT_REQ = const(0x42)  # u16 conn_handle
MSG_MTU_REQ = const(0x43)  # u16 conn_handle, u16 client mtu
MSG_WRITE = const(0x44)  # u16 conn_handle, u16 handle, u16 request (0xFFFF: no response), data
MSG_READ = const(0x45)  # u16 conn_handle, u16 handle, u16 request
MSG_LINK = const(0x46)  # u32 interval_us, u8 packets_per_event, u8 queue_capacity
MSG_FAULT_AT = const(0x47)  # u32 at_ms (simulated), u32 down_ms
MSG_FAULT_RANDOM = const(0x48)  # u32 seed, u32 mean_interval_ms (0: off), u32 min_ms, u32 max_ms
MSG_IMU_GONE = const(0x49)  # (none): every device on I2C bus 0 stops acknowledging, for good
MSG_HANG = const(0x4A)  # (none): the main program's next machine call never returns
MSG_I2C_FAIL = const(0x4B)  # u16 count, u8 errno: the next count I2C transactions fail
MSG_IMU_PAUSE = const(0x4C)  # u32 down_ms: every device on I2C bus 0 stops acknowledging
MSG_STALL = const(0x4D)  # u32 ms: the main program's next machine call takes this long
MSG_CLOCK_GRANT = const(0x4E)  # u32 until_ms: lockstep, the board may run until then
MSG_PAIR_REQ = const(0x60)  # u16 conn, u8 bond, u8 mitm, u8 io capability, u8 le_secure
MSG_ENCRYPT_REQ = const(0x61)  # u16 conn, ltk[16] (the key the central holds)

KIND_SERVICE = const(1)
KIND_VALUE = const(2)
KIND_DESCRIPTOR = const(3)
KIND_CCCD = const(4)

_FIRST_HANDLE = const(10)  # 1-9: NimBLE's GAP (0x1800) and GATT (0x1801) services
_DEFAULT_MTU = const(23)
_MAX_MTU = const(259)  # value slots of 256 bytes; the firmware asks for 247
_DEFAULT_BUF = const(20)  # MP_BLUETOOTH_DEFAULT_ATTR_LEN
_QUEUE_SLOTS = const(16)  # the largest queue_capacity accepted
_SLOT = const(256)
_NO_RESPONSE = const(0xFFFF)
_REASON_TIMEOUT = const(0x08)  # HCI: connection timeout (what a dropped link reports)
_REASON_LOCAL = const(0x16)  # HCI: connection terminated by local host
_REASON_REMOTE = const(0x13)  # HCI: remote user terminated connection
_CCCD = b"\x02\x29"


def _u16(b, i):
    return b[i] | (b[i + 1] << 8)


def _u32(b, i):
    return b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24)


def _p16(v):
    return bytes((v & 0xFF, (v >> 8) & 0xFF))


def _p32(v):
    return bytes((v & 0xFF, (v >> 8) & 0xFF, (v >> 16) & 0xFF, (v >> 24) & 0xFF))


class UUID:
    """16-, 32- or 128-bit UUID; stored little-endian like the real module."""

    def __init__(self, value):
        if isinstance(value, int):
            if not 0 <= value <= 0xFFFF:
                raise ValueError("invalid UUID")
            self._le = bytes((value & 0xFF, value >> 8))
        elif isinstance(value, str):
            h = value.replace("-", "")
            if len(h) != 32:
                raise ValueError("invalid UUID")
            be = bytes(int(h[i : i + 2], 16) for i in range(0, 32, 2))
            self._le = bytes(reversed(be))
        else:
            b = bytes(value)
            if len(b) not in (2, 4, 16):
                raise ValueError("invalid UUID")
            self._le = b

    def __bytes__(self):
        return self._le

    def __eq__(self, other):
        return isinstance(other, UUID) and other._le == self._le

    def __hash__(self):
        return hash(self._le)

    def __repr__(self):
        if len(self._le) == 2:
            return "UUID(0x%04x)" % _u16(self._le, 0)
        h = "".join("%02x" % b for b in reversed(self._le))
        return "UUID('%s-%s-%s-%s-%s')" % (h[:8], h[8:12], h[12:16], h[16:20], h[20:])


_T0_MS = time.ticks_ms()


def _default_clock_ms():
    """Simulated milliseconds since start: a plain, non-wrapping int."""
    if _simclock is not None:
        return _simclock.now_us() // 1000
    return time.ticks_diff(time.ticks_ms(), _T0_MS)


class _Attr:
    def __init__(self, handle, kind, flags, uuid):
        self.handle = handle
        self.kind = kind
        self.flags = flags
        self.uuid = uuid
        self.value = bytearray(_DEFAULT_BUF)
        self.length = 0
        self.append = False


class _Sim:
    """The controller, the GATT database and the link to the host (one per process)."""

    def __init__(self):
        self.active = False
        self.handler = None
        self.mtu_pref = _DEFAULT_MTU
        self.gap_name = b"MPY NIMBLE"
        mac = os.getenv("HIPSENSE_VBLE_ADDR") or "02:48:53:00:12:34"
        self.mac = bytes(int(p, 16) for p in mac.split(":"))
        self.attrs = {}
        self.db = bytearray()
        self.conn = -1
        self.next_conn = 0
        self.peer_addr = bytes(6)
        self.conn_mtu = _DEFAULT_MTU
        self.central_mtu = 517  # what the central answers to the board's MTU request (BlueZ)
        # Controller queue: preallocated slots, so gatts_notify allocates nothing.
        self.q_data = bytearray(_QUEUE_SLOTS * _SLOT)
        self.q_len = [0] * _QUEUE_SLOTS
        self.q_handle = [0] * _QUEUE_SLOTS
        self.q_ind = bytearray(_QUEUE_SLOTS)
        self.q_head = 0
        self.q_count = 0
        # Calibrated to NimBLE on the ESP32 (docs/virtual-board.md "Link model"): about 8
        # notifications queue before ENOMEM; desktop centrals pick 15-50 ms intervals, 30 ms
        # is typical; MTU 23 until someone exchanges it; 1M PHY only (no 2M on the ESP32).
        self.q_cap = 8
        self.interval_ms = 30
        self.per_event = 4
        self.last_event_ms = 0
        self.adv = None  # type: tuple | None  # (connectable, adv, resp) while advertising
        self.adv_shown = False
        self.down_until_ms = -1
        self.faults = []  # [(at_ms, down_ms)] sorted
        self.rnd_state = 0
        self.rnd_mean_ms = 0
        self.rnd_min_ms = 0
        self.rnd_max_ms = 0
        self.rnd_next_ms = -1
        self.imu_back_ms = -1  # MSG_IMU_PAUSE: the devices answer again then
        self.events = []  # IRQ events waiting for delivery
        self.clock = _default_clock_ms
        self.sock = None
        self.poller = None
        self.rx = bytearray()
        self.central = None  # type: _Central | None  # in-process central (tests)
        # Security manager: the peripheral's config and the connection's state.
        self.bond = True  # NimBLE's default: bondable
        self.le_secure = True
        self.mitm = False
        self.io = _IO_NO_INPUT_OUTPUT
        self.sec = [0, 0, 0, 0]  # encrypted, authenticated, bonded, key size
        self.stats = {
            "notified": 0,
            "refused": 0,
            "truncated": 0,
            "dropped_on_disconnect": 0,
            "forced_disconnects": 0,
        }

    # ---- transport to the host -----------------------------------------------------------
    def send(self, kind, payload=b""):  # type: (int, bytes | bytearray) -> None
        if self.central is not None:
            self.central.inbox.append((kind, bytes(payload)))
            return
        sock = self.sock
        if sock is None:
            return
        n = len(payload) + 1
        sock.write(bytes((n & 0xFF, n >> 8, kind)) + payload)  # write: all bytes (blocking)

    def open_socket(self):
        endpoint = os.getenv("HIPSENSE_VBLE_ENDPOINT")
        if not endpoint or self.sock is not None:
            return
        import select
        import socket

        if endpoint.startswith("unix:"):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)  # pyright: ignore[reportAttributeAccessIssue]
            s.connect(endpoint[5:])
        else:
            host_port = endpoint[4:] if endpoint.startswith("tcp:") else endpoint
            host, port = host_port.rsplit(":", 1)
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            # TCP_NODELAY (IPPROTO_TCP 6, option 1; the unix port names neither): small
            # messages go out at once, not held back by Nagle's algorithm
            s.setsockopt(6, 1, 1)
            s.connect(socket.getaddrinfo(host, int(port))[0][-1])
        self.sock = s
        self.poller = select.poll()
        self.poller.register(s, select.POLLIN)
        self.send(MSG_HELLO, self.mac)
        if self.db:
            self.send(MSG_GATT_DB, self.db)
        if _simclock is not None and _simclock.lockstep():
            import _simlockstep  # pyright: ignore[reportMissingImports]

            _simlockstep.attach(self)  # no ticker thread: serviced when the board sleeps
        else:
            _start_ticker()

    def read_socket(self):
        sock = self.sock
        poller = self.poller
        if sock is None or poller is None:
            return
        while poller.poll(0):
            chunk = sock.recv(4096)
            if not chunk:
                # The host went away: behave like a supervision timeout and stop talking.
                poller.unregister(sock)
                sock.close()
                self.sock = None
                if self.conn >= 0:
                    self.drop_link(_REASON_TIMEOUT)
                return
            self.rx.extend(chunk)
        while len(self.rx) >= 3:
            n = _u16(self.rx, 0)
            if len(self.rx) < 2 + n:
                break
            msg = bytes(self.rx[2 : 2 + n])
            self.rx = self.rx[2 + n :]
            self.handle(msg[0], msg, 1)
            # Like the ESP32 port (synchronous events): the IRQ of a write runs before the
            # next write can change the value again.
            self.deliver()

    # ---- messages from the host (socket or in-process central) ---------------------------
    def handle(self, kind, m, o):
        now = self.clock()
        if kind == MSG_CONNECT_REQ:
            ok = self.adv is not None and self.adv[0] and self.conn < 0 and not self.is_down(now)
            if not ok:
                self.send(MSG_CONNECTED, _p16(0) + b"\x01")
                return
            self.conn = self.next_conn
            self.next_conn = (self.next_conn + 1) & 0x0F
            self.peer_addr = bytes(m[o : o + 6])
            self.sec = [0, 0, 0, 0]
            self.conn_mtu = _DEFAULT_MTU
            self.q_count = 0
            self.last_event_ms = now
            self.adv = None  # NimBLE stops advertising when a connection is made
            self.show_adv(False)
            self.send(MSG_CONNECTED, _p16(self.conn) + b"\x00")
            self.events.append((_IRQ_CENTRAL_CONNECT, (self.conn, 0, memoryview(self.peer_addr))))
        elif kind == MSG_DISCONNECT_REQ:
            if _u16(m, o) == self.conn:
                self.drop_link(_REASON_REMOTE)
        elif kind == MSG_MTU_REQ:
            conn = _u16(m, o)
            if conn == self.conn:
                self.conn_mtu = max(_DEFAULT_MTU, min(_u16(m, o + 2), self.mtu_pref))
                self.send(MSG_MTU, _p16(conn) + _p16(self.conn_mtu))
                self.events.append((_IRQ_MTU_EXCHANGED, (conn, self.conn_mtu)))
        elif kind == MSG_WRITE:
            conn, handle, req = _u16(m, o), _u16(m, o + 2), _u16(m, o + 4)
            status = self.remote_write(conn, handle, m[o + 6 :])
            if req != _NO_RESPONSE:
                self.send(MSG_WRITE_RSP, _p16(req) + bytes((status,)))
        elif kind == MSG_READ:
            conn, handle, req = _u16(m, o), _u16(m, o + 2), _u16(m, o + 4)
            a = self.attrs.get(handle)
            if conn != self.conn or a is None:
                self.send(MSG_READ_RSP, _p16(req) + b"\x01")  # ATT: invalid handle
                return
            status = self.read_status(conn, a)
            if status:
                self.send(MSG_READ_RSP, _p16(req) + bytes((status,)))
            else:
                self.send(MSG_READ_RSP, _p16(req) + b"\x00" + bytes(a.value[: a.length]))
        elif kind == MSG_PAIR_REQ:
            self.pair(_u16(m, o), m[o + 2], m[o + 3], m[o + 4], m[o + 5])
        elif kind == MSG_ENCRYPT_REQ:
            self.encrypt(_u16(m, o), m[o + 2 : o + 18])
        elif kind == MSG_LINK:
            self.interval_ms = max(1, _u32(m, o) // 1000)
            self.per_event = max(1, m[o + 4])
            self.q_cap = max(1, min(_QUEUE_SLOTS, m[o + 5]))
        elif kind == MSG_FAULT_AT:
            self.faults.append((_u32(m, o), _u32(m, o + 4)))
            self.faults.sort()
        elif kind == MSG_HANG:
            import _vboard

            _vboard.hang = True
        elif kind == MSG_IMU_GONE:
            import _vboard

            for addr in _vboard.bus(0):
                _vboard.set_absent(addr)
        elif kind == MSG_I2C_FAIL:
            import _vboard

            _vboard.fail_next(_u16(m, o), m[o + 2])
        elif kind == MSG_IMU_PAUSE:
            import _vboard

            for addr in _vboard.bus(0):
                _vboard.set_absent(addr)
            self.imu_back_ms = now + _u32(m, o)
        elif kind == MSG_STALL:
            import _simclock
            import _vboard

            _vboard.stall_until_us = _simclock.now_us() + _u32(m, o) * 1000
        elif kind == MSG_FAULT_RANDOM:
            self.rnd_state = _u32(m, o) or 1
            self.rnd_mean_ms = _u32(m, o + 4)
            self.rnd_min_ms = _u32(m, o + 8)
            self.rnd_max_ms = max(self.rnd_min_ms, _u32(m, o + 12))
            self.rnd_next_ms = now + self.rnd_gap() if self.rnd_mean_ms else -1

    def read_status(self, conn, a):
        """ATT status of a read: the attribute's permissions, then the firmware's answer to
        ``_IRQ_GATTS_READ_REQUEST`` (the ESP32 port asks it for every characteristic read)."""
        if a.kind != KIND_VALUE:
            return 0
        if not a.flags & FLAG_READ:
            return _ATT_READ_NOT_PERMITTED
        if a.flags & (FLAG_READ_ENCRYPTED | FLAG_READ_AUTHENTICATED) and not self.sec[0]:
            return _ATT_INSUFFICIENT_ENCRYPTION
        if a.flags & FLAG_READ_AUTHENTICATED and not self.sec[1]:
            return _ATT_INSUFFICIENT_AUTHENTICATION
        if self.handler is not None:
            r = self.handler(_IRQ_GATTS_READ_REQUEST, (conn, a.handle))
            if r:
                return r
        return 0

    # ---- security manager ----------------------------------------------------------------
    def peer_key(self):
        """NimBLE's store key: the peer's address type (0: public) and address."""
        return b"\x00" + self.peer_addr

    def secret(self, event, args):
        return self.handler(event, args) if self.handler is not None else None

    def pair(self, conn, bond, mitm, io, le_secure):
        """A pairing request from the central; Just Works unless both sides can do better."""
        if conn != self.conn or conn < 0:
            return
        if self.mitm and (self.io == _IO_NO_INPUT_OUTPUT or io == _IO_NO_INPUT_OUTPUT):
            # The peripheral insists on MITM protection that Just Works cannot give.
            self.send(MSG_PAIR_RSP, _p16(conn) + bytes((_SMP_AUTH_REQUIREMENTS, 0, 0, 0)))
            return
        authenticated = 0  # Just Works: no MITM protection
        bonded = 1 if (bond and self.bond) else 0
        ltk = os.urandom(16)
        if bonded:
            value = bytearray(_SEC_VALUE_SIZE)
            key = self.peer_key()
            value[0:7] = key
            value[7] = 16
            value[8:24] = ltk
            value[24] = authenticated
            value[25] = 1 if (le_secure and self.le_secure) else 0
            self.secret(_IRQ_SET_SECRET, (_SEC_PEER, key, bytes(value)))
            self.secret(_IRQ_SET_SECRET, (_SEC_OUR, key, bytes(value)))
        self.sec = [1, authenticated, bonded, 16]
        self.events.append((_IRQ_ENCRYPTION_UPDATE, (conn, True, False, bool(bonded), 16)))
        self.send(
            MSG_PAIR_RSP,
            _p16(conn) + bytes((0, 1, authenticated, bonded)) + (ltk if bonded else bytes(16)),
        )

    def encrypt(self, conn, ltk):
        """The central starts encryption with a key it holds: NimBLE looks the peer up."""
        if conn != self.conn or conn < 0:
            return
        value = self.secret(_IRQ_GET_SECRET, (_SEC_PEER, 0, memoryview(self.peer_key())))
        if value is None or len(value) < 25 or bytes(value[8:24]) != bytes(ltk):
            self.send(MSG_ENC_RSP, _p16(conn) + bytes((_HCI_KEY_MISSING, 0, 0, 0)))
            return
        self.sec = [1, value[24], 1, value[7]]
        self.events.append((_IRQ_ENCRYPTION_UPDATE, (conn, True, bool(value[24]), True, value[7])))
        self.send(MSG_ENC_RSP, _p16(conn) + bytes((0, 1, value[24], 1)))

    def remote_write(self, conn, handle, data):
        a = self.attrs.get(handle)
        if conn != self.conn or a is None:
            return 0x01  # ATT: invalid handle
        if a.kind == KIND_VALUE and not a.flags & (FLAG_WRITE | FLAG_WRITE_NO_RESPONSE):
            return _ATT_WRITE_NOT_PERMITTED
        if a.flags & (FLAG_WRITE_ENCRYPTED | FLAG_WRITE_AUTHENTICATED) and not self.sec[0]:
            return _ATT_INSUFFICIENT_ENCRYPTION
        if a.flags & FLAG_WRITE_AUTHENTICATED and not self.sec[1]:
            return _ATT_INSUFFICIENT_AUTHENTICATION
        if a.kind == KIND_CCCD:
            a.value[0:2] = bytes(data[:2]) + b"\x00" * (2 - min(2, len(data)))
            a.length = 2
            return 0
        start = a.length if a.append else 0
        n = min(len(data), len(a.value) - start)
        a.value[start : start + n] = data[:n]
        a.length = start + n
        self.events.append((_IRQ_GATTS_WRITE, (conn, handle)))
        return 0

    # ---- link: faults, draining, disconnects ---------------------------------------------
    def rnd_gap(self):
        # xorshift32: reproducible from the seed on any port.
        x = self.rnd_state
        x ^= (x << 13) & 0xFFFFFFFF
        x ^= x >> 17
        x ^= (x << 5) & 0xFFFFFFFF
        self.rnd_state = x
        return self.rnd_mean_ms // 2 + x % (self.rnd_mean_ms + 1)

    def rnd_down(self):
        self.rnd_gap()
        span = self.rnd_max_ms - self.rnd_min_ms
        return self.rnd_min_ms + (self.rnd_state % (span + 1) if span else 0)

    def is_down(self, now):
        return self.down_until_ms > now

    def force_down(self, now, down_ms):
        self.stats["forced_disconnects"] += 1
        until = now + down_ms
        if until > self.down_until_ms:
            self.down_until_ms = until
        if self.conn >= 0:
            self.drop_link(_REASON_TIMEOUT)
        self.show_adv(False)

    def drop_link(self, reason):
        conn = self.conn
        self.stats["dropped_on_disconnect"] += self.q_count
        self.q_count = 0
        self.conn = -1
        self.sec = [0, 0, 0, 0]
        self.send(MSG_DISCONNECTED, _p16(conn) + bytes((reason,)))
        self.events.append((_IRQ_CENTRAL_DISCONNECT, (conn, 0, memoryview(self.peer_addr))))

    def show_adv(self, on):
        if on and self.adv is not None:
            c, adv, resp = self.adv
            self.send(MSG_ADV, bytes((1 if c else 0,)) + _p16(len(adv)) + adv + resp)
            self.adv_shown = True
        elif not on and self.adv_shown:
            self.send(MSG_ADV_STOP)
            self.adv_shown = False

    def drain(self, now):
        if self.conn < 0:
            return
        d = now - self.last_event_ms
        if d < self.interval_ms:
            return
        events = d // self.interval_ms
        self.last_event_ms += events * self.interval_ms
        budget = events * self.per_event
        while budget > 0 and self.q_count > 0:
            i = self.q_head
            base = i * _SLOT
            data = bytes(self.q_data[base : base + self.q_len[i]])
            kind = MSG_INDICATE if self.q_ind[i] else MSG_NOTIFY
            self.send(kind, _p16(self.conn) + _p16(self.q_handle[i]) + data)
            if self.q_ind[i]:
                self.events.append((_IRQ_GATTS_INDICATE_DONE, (self.conn, self.q_handle[i], 0)))
            self.q_head = (i + 1) % _QUEUE_SLOTS
            self.q_count -= 1
            self.stats["notified"] += 1
            budget -= 1

    def service(self):
        try:
            probe = [0]  # fails fast while the main program holds heap_lock: retry later
        except MemoryError:
            return
        del probe
        if self.sock is not None:
            self.read_socket()
        now = self.clock()
        while self.faults and now >= self.faults[0][0]:
            _, down = self.faults.pop(0)
            self.force_down(now, down)
        if 0 <= self.imu_back_ms <= now:
            import _vboard

            self.imu_back_ms = -1
            for addr in _vboard.bus(0):
                _vboard.set_absent(addr, False)
        if 0 <= self.rnd_next_ms <= now:
            self.force_down(now, self.rnd_down())
            self.rnd_next_ms = now + self.rnd_gap()
        if self.down_until_ms >= 0 and not self.is_down(now):
            self.down_until_ms = -1
            if self.conn < 0:
                self.show_adv(True)
        self.drain(now)
        self.deliver()

    def deliver(self):
        while self.events:
            ev, args = self.events.pop(0)
            if self.handler is not None:
                self.handler(ev, args)

    # ---- the API calls -------------------------------------------------------------------
    def queue(self, conn, handle, data, indicate):
        if not self.active:
            raise OSError(errno.ENODEV)
        if conn != self.conn or conn < 0:
            raise OSError(errno.ENOTCONN)
        a = self.attrs.get(handle)
        if a is None:
            raise OSError(errno.EINVAL)
        if data is None:
            data = a.value
            n = a.length
        else:
            n = len(data)
        if self.q_count >= self.q_cap:
            self.stats["refused"] += 1
            raise OSError(errno.ENOMEM)
        room = self.conn_mtu - 3
        if n > room:
            self.stats["truncated"] += 1
            n = room
        i = (self.q_head + self.q_count) % _QUEUE_SLOTS
        base = i * _SLOT
        buf = self.q_data
        for k in range(n):
            buf[base + k] = data[k]
        self.q_len[i] = n
        self.q_handle[i] = handle
        self.q_ind[i] = 1 if indicate else 0
        self.q_count += 1


_sim = _Sim()
_ticker_on = [False]


def _tick(_):
    _sim.service()


def _ticker(period_ms):
    while _ticker_on[0]:
        time.sleep_ms(period_ms)
        try:
            micropython.schedule(_tick, None)
        except RuntimeError:
            pass  # queue full: the previous tick has not run yet


def _start_ticker(period_ms=2):
    if _ticker_on[0]:
        return
    import _thread

    _ticker_on[0] = True
    _thread.start_new_thread(_ticker, (period_ms,))


class BLE:
    """The Bluetooth radio (one per process, like the real singleton)."""

    def __init__(self):
        self._s = _sim

    def active(self, active=None):
        s = self._s
        if active is not None:
            s.active = bool(active)
            if s.active:
                s.open_socket()
            else:
                if s.conn >= 0:
                    s.drop_link(_REASON_LOCAL)
                s.adv = None
                s.show_adv(False)
        return s.active

    def config(self, *args, **kwargs):
        s = self._s
        if args:
            name = args[0]
            if name == "mac":
                return (0, s.mac)
            if name == "mtu":
                return s.mtu_pref
            if name == "gap_name":
                return s.gap_name
            if name == "rxbuf":
                return 1024
            raise ValueError("unknown config param")
        for k, v in kwargs.items():
            if k == "mtu":
                if not _DEFAULT_MTU <= v <= _MAX_MTU:
                    raise ValueError("invalid mtu")
                s.mtu_pref = v
            elif k == "gap_name":
                s.gap_name = v.encode() if isinstance(v, str) else bytes(v)
            elif k == "bond":
                s.bond = bool(v)
            elif k == "le_secure":
                s.le_secure = bool(v)
            elif k == "mitm":
                s.mitm = bool(v)
            elif k == "io":
                s.io = v
            elif k not in ("rxbuf", "interval"):
                raise ValueError("unknown config param")
        return None

    def irq(self, handler):
        self._s.handler = handler

    def gap_advertise(self, interval_us, adv_data=None, *, resp_data=None, connectable=True):
        s = self._s
        if not s.active:
            raise OSError(errno.ENODEV)
        if interval_us is None:
            s.adv = None
            s.show_adv(False)
            return
        old = s.adv
        adv = bytes(adv_data) if adv_data is not None else (old[1] if old else b"")
        resp = bytes(resp_data) if resp_data is not None else (old[2] if old else b"")
        if len(adv) > 31 or len(resp) > 31:
            raise OSError(errno.EINVAL)  # legacy advertising: 31 bytes each
        s.adv = (connectable, adv, resp)
        if not s.is_down(s.clock()):
            s.show_adv(True)

    def gattc_exchange_mtu(self, conn_handle):
        """The peripheral asks for its preferred MTU (``config(mtu=)``); the central answers
        with its own (``sim_set_central_mtu``, 517 like BlueZ) and ``_IRQ_MTU_EXCHANGED``
        follows, as in NimBLE. Not connected: ``OSError(ENOTCONN)``."""
        s = self._s
        if not s.active:
            raise OSError(errno.ENODEV)
        if conn_handle != s.conn or conn_handle < 0:
            raise OSError(errno.ENOTCONN)
        s.conn_mtu = max(_DEFAULT_MTU, min(s.central_mtu, s.mtu_pref))
        s.send(MSG_MTU, _p16(conn_handle) + _p16(s.conn_mtu))
        s.events.append((_IRQ_MTU_EXCHANGED, (conn_handle, s.conn_mtu)))

    def gap_disconnect(self, conn_handle):
        s = self._s
        if not s.active:
            raise OSError(errno.ENODEV)
        if conn_handle != s.conn or conn_handle < 0:
            return False
        s.drop_link(_REASON_LOCAL)
        return True

    def gap_pair(self, conn_handle):
        """Ask for security; as a peripheral NimBLE sends a Security Request to the central."""
        s = self._s
        if not s.active:
            raise OSError(errno.ENODEV)
        if conn_handle != s.conn or conn_handle < 0:
            raise OSError(errno.ENOTCONN)
        s.send(MSG_SEC_REQ, _p16(conn_handle))

    def gatts_register_services(self, services_definition):
        s = self._s
        if not s.active:
            raise OSError(errno.ENODEV)
        s.attrs = {}
        db = bytearray()
        h = _FIRST_HANDLE
        result = []

        def add(kind, flags, uuid):
            a = _Attr(h, kind, flags, uuid)
            s.attrs[h] = a
            u = uuid._le
            db.extend(_p16(h) + bytes((kind,)) + _p16(flags) + bytes((len(u),)) + u)
            return a

        for service in services_definition:
            suuid, chars = service[0], service[1]
            add(KIND_SERVICE, 0, suuid)
            h += 1
            handles = []
            for ch in chars:
                cuuid, cflags = ch[0], ch[1]
                h += 1  # characteristic declaration
                add(KIND_VALUE, cflags, cuuid)
                handles.append(h)
                h += 1
                if cflags & (FLAG_NOTIFY | FLAG_INDICATE):
                    add(KIND_CCCD, FLAG_READ | FLAG_WRITE, UUID(0x2902))
                    h += 1
                if len(ch) > 2:
                    for duuid, dflags in ch[2]:
                        add(KIND_DESCRIPTOR, dflags, duuid)
                        handles.append(h)
                        h += 1
            result.append(tuple(handles))
        s.db = db
        s.send(MSG_GATT_DB, db)
        return tuple(result)

    def _attr(self, value_handle):
        a = self._s.attrs.get(value_handle)
        if a is None:
            raise OSError(errno.EINVAL)
        return a

    def gatts_read(self, value_handle):
        a = self._attr(value_handle)
        return bytes(a.value[: a.length])

    def gatts_write(self, value_handle, data, send_update=False):
        a = self._attr(value_handle)
        n = len(data)
        if n > len(a.value):
            a.value = bytearray(n)  # the real database grows the value buffer too
        a.value[:n] = data
        a.length = n
        if send_update and self._s.conn >= 0:
            cccd = self._s.attrs.get(value_handle + 1)
            if cccd is not None and cccd.kind == KIND_CCCD and cccd.length and cccd.value[0]:
                self._s.queue(self._s.conn, value_handle, None, cccd.value[0] & 2)

    def gatts_notify(self, conn_handle, value_handle, data=None):
        self._s.queue(conn_handle, value_handle, data, False)

    def gatts_indicate(self, conn_handle, value_handle, data=None):
        self._s.queue(conn_handle, value_handle, data, True)

    def gatts_set_buffer(self, value_handle, len, append=False):
        a = self._attr(value_handle)
        a.value = bytearray(len)
        a.length = 0
        a.append = bool(append)


# ---- simulation control (not part of the real module) ----------------------------------
def sim_service():
    """Process host messages, faults, the link and IRQ delivery up to the current time."""
    _sim.service()


def sim_set_clock(clock_ms):
    """Use ``clock_ms()`` (int milliseconds) as simulated time instead of ``_simclock``."""
    _sim.clock = clock_ms


def sim_set_central_mtu(mtu):
    """The MTU the central answers when the board asks for an exchange (23: it refuses more)."""
    _sim.central_mtu = mtu


def sim_stats():
    """Counters: notified, refused (ENOMEM), truncated, dropped_on_disconnect, ..."""
    s = _sim
    d = dict(s.stats)
    d["queued"] = s.q_count
    d["conn"] = s.conn
    d["mtu"] = s.conn_mtu
    d["advertising"] = s.adv is not None
    d["encrypted"] = s.sec[0]
    d["bonded"] = s.sec[2]
    d["bondable"] = s.bond
    return d


class _Central:
    """An in-process central for tests: the same messages as the socket, without a socket."""

    def __init__(self):
        self.inbox = []  # (kind, payload) the board sent
        self.req = 0
        self.ltk = None  # the key from this central's last bonding pairing

    def _to_board(self, kind, payload):
        msg = bytes((kind,)) + payload
        _sim.handle(kind, msg, 1)
        _sim.deliver()

    def connect(self, addr=b"\xc0\x00\x00\x00\x00\x01"):
        self._to_board(MSG_CONNECT_REQ, addr)

    def disconnect(self):
        self._to_board(MSG_DISCONNECT_REQ, _p16(_sim.conn & 0xFFFF))

    def exchange_mtu(self, mtu):
        self._to_board(MSG_MTU_REQ, _p16(_sim.conn & 0xFFFF) + _p16(mtu))

    def write(self, handle, data, response=True):
        self.req = (self.req + 1) & 0x7FFF
        req = self.req if response else _NO_RESPONSE
        self._to_board(MSG_WRITE, _p16(_sim.conn & 0xFFFF) + _p16(handle) + _p16(req) + data)

    def read(self, handle):
        """Read a value; the answer arrives in ``inbox`` as MSG_READ_RSP."""
        self.req = (self.req + 1) & 0x7FFF
        self._to_board(MSG_READ, _p16(_sim.conn & 0xFFFF) + _p16(handle) + _p16(self.req))

    def pair(self, bond=True, mitm=False, io=_IO_NO_INPUT_OUTPUT):
        """Pair (LE Secure Connections); the answer arrives in ``inbox`` as MSG_PAIR_RSP."""
        self._to_board(
            MSG_PAIR_REQ, _p16(_sim.conn & 0xFFFF) + bytes((int(bond), int(mitm), io, 1))
        )

    def encrypt(self, ltk):
        """Encrypt with a key from an earlier pairing; the answer arrives as MSG_ENC_RSP."""
        self._to_board(MSG_ENCRYPT_REQ, _p16(_sim.conn & 0xFFFF) + bytes(ltk))

    def secure(self):
        """Encrypt with the key of an earlier bonding, else pair; the status (0: done)."""
        if self.ltk is None:
            self.pair()
            status = 0xFF
            for p in self.take(MSG_PAIR_RSP):
                status = p[2]
                if status == 0 and p[5]:
                    self.ltk = bytes(p[6:22])
            return status
        self.encrypt(self.ltk)
        answers = self.take(MSG_ENC_RSP)
        return answers[-1][2] if answers else 0xFF

    def link(self, interval_ms, packets_per_event, queue_capacity):
        self._to_board(
            MSG_LINK,
            _p32(interval_ms * 1000) + bytes((packets_per_event, queue_capacity)),
        )

    def fault_at(self, at_ms, down_ms):
        self._to_board(MSG_FAULT_AT, _p32(at_ms) + _p32(down_ms))

    def fault_random(self, seed, mean_ms, min_ms, max_ms):
        self._to_board(MSG_FAULT_RANDOM, _p32(seed) + _p32(mean_ms) + _p32(min_ms) + _p32(max_ms))

    def take(self, kind=None):
        """Remove and return the payloads the board sent (of one message kind)."""
        keep = []
        out = []
        for k, p in self.inbox:
            if kind is None or k == kind:
                out.append(p)
            else:
                keep.append((k, p))
        self.inbox = keep
        return out


def sim_central():
    """Attach and return the in-process central (replaces the socket; for tests)."""
    _sim.central = _Central()
    return _sim.central

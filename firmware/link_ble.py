"""BLE link: the GATT peripheral of docs/protocol.md on MicroPython's built-in ``bluetooth``.

Usage from main::

    link = BleLink(bluetooth.BLE(), ring, name_suffix(ble), on_command, model="devkitc")
    while True:
        ring.push(...)                 # per sample
        link.pump(time.ticks_ms())     # sends what the stack accepts
        # on_command(buf, n) -> link.send_reply(...), link.send_config(...), ...

The IRQ handler only copies and flags; ``pump`` advertises, runs commands and sends. A
refused ``gatts_notify`` (the stack's buffers are full) leaves everything queued: the ring's
cursor only moves when a frame was accepted.

Security (docs/link.md "Security"): LE Secure Connections, bonding only while the pairing
window is open (``open_pairing``); the hipsense and Battery characteristics need an encrypted
link (the stack refuses reads and writes otherwise), and the link takes commands, answers
reads and sends notifications only on a connection that is encrypted *and* bonded. A
connection that is not within ``_TRUST_GRACE_MS``, or that encrypted without bonding (a new
host while the window is closed), is dropped. Bonds live in ``bonds.BondStore``.
"""

import time

import bluetooth
import protocol
from bonds import BondStore
from link import Link
from micropython import const

_IRQ_CENTRAL_CONNECT = const(1)
_IRQ_CENTRAL_DISCONNECT = const(2)
_IRQ_GATTS_WRITE = const(3)
_IRQ_GATTS_READ_REQUEST = const(4)
_IRQ_MTU_EXCHANGED = const(21)
_IRQ_ENCRYPTION_UPDATE = const(28)
_IRQ_GET_SECRET = const(29)
_IRQ_SET_SECRET = const(30)

_FLAG_READ = const(0x0002)
_FLAG_WRITE_NO_RESPONSE = const(0x0004)
_FLAG_WRITE = const(0x0008)
_FLAG_NOTIFY = const(0x0010)
_FLAG_READ_ENCRYPTED = const(0x0200)
_FLAG_WRITE_ENCRYPTED = const(0x1000)
_ENC_READ = const(0x0202)  # _FLAG_READ | _FLAG_READ_ENCRYPTED
_ENC_WRITE = const(0x100C)  # write, write without response, _FLAG_WRITE_ENCRYPTED

_IO_NO_INPUT_OUTPUT = const(3)  # no display, no keyboard: Just Works pairing
_ATT_INSUFFICIENT_AUTHORIZATION = const(0x08)
_TRUST_GRACE_MS = const(10000)  # an unbonded connection is dropped after this long
_FORGET_DROP_MS = const(300)  # after FORGET_BONDS: let the reply go out, then disconnect
_PAIRING_WINDOW_S = const(60)

_ADV_INTERVAL_US = const(100000)
_MAX_MTU = const(247)
_DEFAULT_MTU = const(23)
_MTU_ASK_MS = const(1000)  # the central has not exchanged the MTU by then: the board asks
_CMD_BUFFER = const(64)  # control characteristic value buffer (longest command is 20 bytes)

_SERVICE_UUID = const("8e5b0001-3a1c-4f7e-9d2b-5f1a6c0e4b21")
DATA_UUID = "8e5b0002-3a1c-4f7e-9d2b-5f1a6c0e4b21"
CONTROL_UUID = "8e5b0003-3a1c-4f7e-9d2b-5f1a6c0e4b21"
STATUS_UUID = "8e5b0004-3a1c-4f7e-9d2b-5f1a6c0e4b21"


def uuid_le(text):
    """The 16 bytes of a 128-bit UUID string in air (little-endian) order."""
    h = text.replace("-", "")
    return bytes(int(h[i : i + 2], 16) for i in range(30, -2, -2))


def adv_payloads(name):
    """(advertising data, scan response): flags + the service UUID; the complete local name."""
    adv = b"\x02\x01\x06" + b"\x11\x07" + uuid_le(_SERVICE_UUID)
    resp = bytes((len(name) + 1, 0x09)) + name
    return adv, resp


def name_suffix(ble):
    """``XXXX``: the last two bytes of the BLE MAC address in upper-case hex."""
    mac = ble.config("mac")[1]
    return "%02X%02X" % (mac[4], mac[5])


class BleLink(Link):
    def __init__(
        self,
        ble,
        ring,
        name_suffix,
        on_command,
        model="",
        fw_version=None,
        batch_ms=None,
    ):
        if batch_ms is None:
            Link.__init__(self, ring, on_command)
        else:
            Link.__init__(self, ring, on_command, batch_ms)
        self.ble = ble
        self.name = b"hipsense-" + name_suffix.encode()
        self._adv, self._resp = adv_payloads(self.name)
        self.conn = -1  # written by the IRQ handler
        self.mtu = _DEFAULT_MTU  # written by the IRQ handler
        self._gen = 0  # connection events seen by the IRQ handler
        self._gen_seen = 0  # ... and by pump
        self._adv_due = True
        self.connections = 0
        self._mtu_ask_at = -1  # ticks_ms when to ask for a larger MTU (-1: asked or not due)
        self._status = bytearray(protocol.STATUS_SIZE)
        self._status_set = False
        self._batt = bytearray(1)
        self.bonds = BondStore()
        self.trusted = False  # the connection is encrypted and bonded (IRQ side)
        self.peer = 0  # who is connected: from the address (IRQ side)
        self.refused = 0  # commands and reads refused on connections that are not trusted
        self.pairing = False  # the pairing window is open
        self._pair_until = 0
        self._pair_at_boot = not self.bonds.peers()  # a new board: open once at start
        self._new_bond = False  # secrets were stored (a host bonded) since the last pump
        self._drop = False  # drop the connection (encrypted without bonding)
        self._drop_at = -1  # ticks_ms: drop the connection then (after FORGET_BONDS)
        self._conn_ms = 0
        self._h_protected = (0, 0)
        ble.active(True)
        ble.config(mtu=_MAX_MTU, gap_name=self.name)
        ble.config(bond=False, le_secure=True, mitm=False, io=_IO_NO_INPUT_OUTPUT)
        ble.irq(self._irq)
        ((self._h_data, self._h_ctrl, self._h_status), dis, (self._h_batt,)) = (
            ble.gatts_register_services(
                (
                    (
                        bluetooth.UUID(_SERVICE_UUID),
                        (
                            (bluetooth.UUID(DATA_UUID), _FLAG_NOTIFY),
                            (bluetooth.UUID(CONTROL_UUID), _ENC_WRITE),
                            (bluetooth.UUID(STATUS_UUID), _ENC_READ | _FLAG_NOTIFY),
                        ),
                    ),
                    (
                        bluetooth.UUID(0x180A),
                        (
                            (bluetooth.UUID(0x2A29), _FLAG_READ),
                            (bluetooth.UUID(0x2A24), _FLAG_READ),
                            (bluetooth.UUID(0x2A26), _FLAG_READ),
                            (bluetooth.UUID(0x2A28), _FLAG_READ),
                        ),
                    ),
                    (
                        bluetooth.UUID(0x180F),
                        ((bluetooth.UUID(0x2A19), _ENC_READ | _FLAG_NOTIFY),),
                    ),
                )
            )
        )
        self._h_protected = (self._h_status, self._h_batt)
        ble.gatts_set_buffer(self._h_ctrl, _CMD_BUFFER)
        ble.gatts_set_buffer(self._h_status, protocol.STATUS_SIZE)
        import sys

        ble.gatts_write(dis[0], b"hipsense")
        ble.gatts_write(dis[1], model.encode())
        if fw_version is None:  # Firmware Revision String: the protocol's FW_VERSION
            fw_version = "%d.%d.%d" % protocol.FW_VERSION
        ble.gatts_write(dis[2], fw_version.encode())
        ble.gatts_write(dis[3], ".".join(str(v) for v in sys.implementation.version[:3]).encode())
        self._batt[0] = 255
        ble.gatts_write(self._h_batt, self._batt)

    def _irq(self, event, data):
        # Runs like an IRQ: copy and flag only; pump does the work. The secret events need
        # their answer as the return value.
        if event == _IRQ_CENTRAL_CONNECT:
            self.conn = data[0]
            a = data[2]
            self.peer = (a[2] & 0x3F) << 24 | a[3] << 16 | a[4] << 8 | a[5]
            self.mtu = _DEFAULT_MTU
            self.trusted = False
            self._drop = False
            self._gen = (self._gen + 1) & 0xFF
        elif event == _IRQ_CENTRAL_DISCONNECT:
            if data[0] == self.conn:
                self.conn = -1
                self.trusted = False
                self._adv_due = True
                self._gen = (self._gen + 1) & 0xFF
        elif event == _IRQ_GATTS_WRITE:
            if data[1] == self._h_ctrl:
                v = self.ble.gatts_read(self._h_ctrl)
                if self.trusted and data[0] == self.conn:
                    self._cmd_in(v, len(v))
                else:
                    self.refused += 1
        elif event == _IRQ_GATTS_READ_REQUEST:
            if data[1] in self._h_protected and not (self.trusted and data[0] == self.conn):
                self.refused += 1
                return _ATT_INSUFFICIENT_AUTHORIZATION
            return 0
        elif event == _IRQ_MTU_EXCHANGED and data[0] == self.conn:
            self.mtu = data[1]
        elif event == _IRQ_ENCRYPTION_UPDATE and data[0] == self.conn:
            # (conn, encrypted, authenticated, bonded, key_size)
            self.trusted = bool(data[1] and data[3])
            self._drop = bool(data[1] and not data[3])
        elif event == _IRQ_GET_SECRET:
            return self.bonds.get(data[0], data[1], data[2])
        elif event == _IRQ_SET_SECRET:
            if data[2] is not None:
                self._new_bond = True
            return self.bonds.set(data[0], data[1], data[2])
        return None

    # ---- pairing window and bonds ----------------------------------------------------------
    def open_pairing(self, now_ms, seconds=_PAIRING_WINDOW_S):
        """Let one new host bond within ``seconds`` (0 closes the window)."""
        if seconds <= 0:
            self.close_pairing()
            return
        self.pairing = True
        self._pair_until = time.ticks_add(now_ms, seconds * 1000)
        self.ble.config(bond=True)

    def close_pairing(self):
        self.pairing = False
        self.ble.config(bond=False)

    def forget_bonds(self, now_ms):
        """Forget every host; the connected one is dropped once the reply has gone out."""
        self.bonds.clear()
        self.bonds.save()
        if self.conn >= 0:
            self._drop_at = time.ticks_add(now_ms, _FORGET_DROP_MS)

    def _security(self, now_ms):
        if self._pair_at_boot:
            self._pair_at_boot = False
            self.open_pairing(now_ms)
        if self._new_bond:
            self._new_bond = False
            if self.pairing:
                self.close_pairing()  # a window admits one new host
        if self.bonds.dirty:
            try:
                self.bonds.save()
            except OSError:
                pass  # flash full or failing: kept in RAM, tried again on the next change
        if self.pairing and time.ticks_diff(now_ms, self._pair_until) >= 0:
            self.close_pairing()
        if self.conn < 0:
            return
        drop = self._drop or (
            not self.trusted and time.ticks_diff(now_ms, self._conn_ms) >= _TRUST_GRACE_MS
        )
        if self._drop_at >= 0 and time.ticks_diff(now_ms, self._drop_at) >= 0:
            drop = True
        if drop:
            self._drop = False
            self._drop_at = -1
            self.trusted = False
            try:
                self.ble.gap_disconnect(self.conn)
            except OSError:
                pass

    def _room(self):
        room = self.mtu - 3
        return room if room < _MAX_MTU - 3 else _MAX_MTU - 3

    def _out(self, frame, n):
        try:
            self.ble.gatts_notify(self.conn, self._h_data, frame)
        except OSError:
            return False  # ENOMEM: the stack's buffers are full; ENOTCONN: link just dropped
        return True

    def pump(self, now_ms):
        """Advertise when needed, run received commands, send what the stack accepts."""
        if self._gen_seen != self._gen:
            self._gen_seen = self._gen
            self.ready = False
            self._mtu_ask_at = -1
            if self.conn >= 0:
                self.connections += 1
                self._mtu_ask_at = time.ticks_add(now_ms, _MTU_ASK_MS)
                self._conn_ms = now_ms
                try:
                    self.ble.gap_pair(self.conn)  # security request: a bonded host encrypts
                except OSError:
                    pass
        if (
            self._mtu_ask_at >= 0
            and self.conn >= 0
            and time.ticks_diff(now_ms, self._mtu_ask_at) >= 0
        ):
            self._mtu_ask_at = -1
            if self.mtu == _DEFAULT_MTU:  # the central never asked: ask for ours (247)
                try:
                    self.ble.gattc_exchange_mtu(self.conn)
                except OSError:
                    pass  # link gone; the next connection asks again
        self._security(now_ms)
        if self.conn < 0 and self._adv_due:
            self._adv_due = False
            try:
                self.ble.gap_advertise(_ADV_INTERVAL_US, self._adv, resp_data=self._resp)
            except OSError:
                self._adv_due = True  # try again on the next pump
        self._commands()
        if self.conn >= 0 and self.ready and self.trusted:
            self._send(now_ms)

    def set_status(self, frame):
        """Latest STATUS frame (36 bytes, ``protocol.pack_status``): readable, and notified
        on the status characteristic when it fits the MTU."""
        copy_len = protocol.STATUS_SIZE
        for i in range(copy_len):
            self._status[i] = frame[i]
        if self._status[7] & protocol.CONTENT_RAW and not self._raw_fits():
            self._status[7] &= ~protocol.CONTENT_RAW
        self.ble.gatts_write(self._h_status, self._status)
        if self.conn >= 0 and self.ready and self.trusted and self._room() >= protocol.STATUS_SIZE:
            try:
                self.ble.gatts_notify(self.conn, self._h_status, self._status)
            except OSError:
                pass  # the latest value stays readable; the next status replaces it

    def set_battery(self, pct):
        """Battery Level characteristic (0..100, 255 unknown), notified when connected."""
        self._batt[0] = pct
        self.ble.gatts_write(self._h_batt, self._batt)
        if self.conn >= 0 and self.trusted:
            try:
                self.ble.gatts_notify(self.conn, self._h_batt, self._batt)
            except OSError:
                pass

"""BLE security of the board (firmware/link_ble.py, bonds.py) under MicroPython, on the simulated
``bluetooth`` module's security manager with its in-process central: docs/link.md "Security".

The central is the host (address ...01) or, with another address and no key, a neighbour's
device. Every check prints one JSON line that the test reads back.
"""

from __future__ import annotations

import json

from conftest import RunMpy
from test_link_ble import HARNESS, HEAP

ATT_INSUFFICIENT_AUTHORIZATION = 0x08
ATT_INSUFFICIENT_ENCRYPTION = 0x0F
HCI_KEY_MISSING = 0x06

# Helpers on top of the link harness: a neighbour's central (other address, no key), reads and
# writes that return the ATT status, and the board's view of the connection.
SECURITY = r"""
HOST = b"\xc0\x00\x00\x00\x00\x01"
keys = {}   # central address -> the key of its bonding (what each device keeps)
def arrive(addr=HOST):
    central.ltk = keys.get(addr)
    link.pump(now[0]); bluetooth.sim_service()
    central.connect(addr); bluetooth.sim_service(); link.pump(now[0])
def secure(addr=HOST):
    status = central.secure()
    if central.ltk is not None:
        keys[addr] = central.ltk
    link.pump(now[0]); bluetooth.sim_service()
    return status
def leave():
    if bluetooth.sim_stats()["conn"] >= 0:
        central.disconnect(); bluetooth.sim_service()
    link.pump(now[0]); bluetooth.sim_service()
def read(h):
    central.read(h); bluetooth.sim_service()
    return central.take(bluetooth.MSG_READ_RSP)[-1][2]
def write(h, data):
    central.write(h, bytes(data)); bluetooth.sim_service(); link.pump(now[0])
    return central.take(bluetooth.MSG_WRITE_RSP)[-1][2]
def connected():
    return bluetooth.sim_stats()["conn"] >= 0
def out(**kw):
    print(json.dumps(kw))
"""


def run(mpy: RunMpy, body: str, tmp_path=None) -> dict:
    code = HARNESS.replace("RING_BYTES", "6000").replace("CONTENT", "0") + SECURITY + body
    result: dict = {}
    for line in mpy(code, heapsize=HEAP, cwd=tmp_path).splitlines():
        if line.startswith("{") and '"h"' not in line:
            result.update(json.loads(line))
    return result


def test_an_unencrypted_central_can_read_and_command_nothing(mpy: RunMpy) -> None:
    r = run(
        mpy,
        r"""
arrive()                                   # no pairing, no key
w = write(link._h_ctrl, [1, 4, 1, 0x0B])   # GET_CONFIG
cccd = write(link._h_data + 1, b"\x01\x00")   # subscribing itself is not protected (NimBLE)
step(500)                                  # samples are produced ...
notes = central.take(bluetooth.MSG_NOTIFY)
out(write=w, cccd=cccd, commands=len(commands), notified=len(notes),
    status=read(link._h_status), battery=read(link._h_batt),
    dis=read(21), ready=link.ready, trusted=link.trusted)
""",
    )
    assert r["write"] == ATT_INSUFFICIENT_ENCRYPTION and r["commands"] == 0
    assert r["status"] == ATT_INSUFFICIENT_ENCRYPTION
    assert r["battery"] == ATT_INSUFFICIENT_ENCRYPTION
    assert r["cccd"] == 0 and r["notified"] == 0, "subscribed, yet not one notification"
    assert r["dis"] == 0, "Device Information stays public"
    assert not r["ready"] and not r["trusted"]


def test_pairing_only_while_the_window_is_open(mpy: RunMpy, tmp_path) -> None:
    r = run(
        mpy,
        r"""
arrive(); out(window_at_boot=link.pairing)        # a new board: open once at start
out(host=secure(), host_bonded=keys.get(HOST) is not None, window_after=link.pairing)
leave()
N1 = b"\x02\x11\x22\x33\x44\x55"
arrive(N1)
out(n1=central.secure(), n1_bonded=central.ltk is not None)   # encrypted, no keys kept
status_read = read(link._h_status)                # before the board's loop drops it
link.pump(now[0]); bluetooth.sim_service()
out(n1_read=status_read, n1_connected=connected(), peers=len(link.bonds.peers()),
    cmds=len(commands))
leave()
link.open_pairing(now[0], 5)                      # button held / PAIRING over USB
arrive(N1)
out(n1_again=secure(N1), n1_bonded_now=N1 in keys, window_closed=not link.pairing,
    peers_now=len(link.bonds.peers()))
leave()
link.open_pairing(now[0], 5)
now[0] += 5001; link.pump(now[0])
N2 = b"\x02\x99\x88\x77\x66\x55"
arrive(N2)
out(expired=not link.pairing, n2=secure(N2), n2_bonded=N2 in keys)
""",
        tmp_path,
    )
    assert r["window_at_boot"] and r["host"] == 0 and r["host_bonded"]
    assert not r["window_after"], "a window admits one new host"
    assert r["n1"] == 0 and not r["n1_bonded"]
    assert r["n1_read"] == ATT_INSUFFICIENT_AUTHORIZATION
    assert not r["n1_connected"], "encrypted without bonding: dropped at once"
    assert r["peers"] == 1 and r["cmds"] == 0
    assert r["n1_again"] == 0 and r["n1_bonded_now"] and r["window_closed"] and r["peers_now"] == 2
    assert r["expired"] and not r["n2_bonded"]
    # The store is on flash: our and the peer's record for each of the two hosts.
    data = (tmp_path / "hs_bonds.bin").read_bytes()
    assert data[:4] == b"HSB\x01" and data[4] == 4


def test_an_unbonded_connection_is_dropped_after_the_grace_time(mpy: RunMpy) -> None:
    r = run(
        mpy,
        r"""
arrive(b"\x02\x11\x22\x33\x44\x55")
step(9900)
held = connected()
step(200)
out(held=held, dropped=not connected(), advertising=bluetooth.sim_stats()["advertising"])
""",
    )
    assert r["held"] and r["dropped"] and r["advertising"]


def test_a_bonded_host_comes_back_with_its_key_until_the_board_forgets_it(
    mpy: RunMpy, tmp_path
) -> None:
    r = run(
        mpy,
        r"""
arrive(); secure(); leave()
arrive()
out(enc=secure(), trusted=link.trusted, write=write(link._h_ctrl, [1, 4, 1, 0x0B]),
    cmds=len(commands))
link.forget_bonds(now[0])
step(100)
kept = connected()
step(300)
out(kept_for_reply=kept, dropped=not connected(), peers=len(link.bonds.peers()))
arrive()
out(again=secure(), trusted_again=link.trusted)
""",
        tmp_path,
    )
    assert r["enc"] == 0 and r["trusted"] and r["write"] == 0 and r["cmds"] == 1
    assert r["kept_for_reply"] and r["dropped"] and r["peers"] == 0
    assert r["again"] == HCI_KEY_MISSING and not r["trusted_again"]
    assert not (tmp_path / "hs_bonds.bin").exists()


BOND_STORE = r"""
import json, os
from bonds import BondStore
def out(**kw):
    print(json.dumps(kw))
def key(i):
    return bytes((0, 0xC0, 0, 0, 0, 0, i))
s = BondStore("b.bin", max_peers=2)
out(empty=s.get(2, 0, None) is None, entries=len(s.entries))
for i in (1, 2):
    s.set(1, key(i), b"o%d" % i + bytes(78))
    s.set(2, key(i), b"p%d" % i + bytes(78))
s.set(3, key(1), b"\x01\x00")                 # a subscription record: not kept
s.save()
t = BondStore("b.bin", max_peers=2)
out(loaded=len(t.entries), p2=t.get(2, 0, key(2))[:2].decode(), idx1=t.get(1, 1, None)[:2].decode(),
    cccd=t.get(3, 0, key(1)) is None, size=os.stat("b.bin")[6])
t.set(2, key(3), b"p3" + bytes(78))           # a third host: the oldest one goes
out(peers=[k[6] for k in t.peers()], deleted=t.set(2, key(2), None), missing=t.set(2, key(9), None))
t.clear(); t.save()
try:
    os.stat("b.bin"); gone = False
except OSError:
    gone = True
out(gone=gone)
with open("b.bin", "wb") as f:
    f.write(b"HSB\x01\x03" + bytes((2, 7, 80)) + key(5) + bytes(80) + b"\x02\x07")
d = BondStore("b.bin")
out(damaged=len(d.entries), error=d.error)
with open("b.bin", "wb") as f:
    f.write(b"HSB\x02\x00")
out(newer=BondStore("b.bin").error)
"""


def test_bond_store_file_eviction_and_damage(mpy: RunMpy) -> None:
    out = mpy(BOND_STORE)  # on the unix port and on micropython-esp32like (the fixture)
    r: dict = {}
    for line in out.splitlines():
        r.update(json.loads(line))
    assert r["empty"] and r["entries"] == 0
    assert r["loaded"] == 4 and r["p2"] == "p2" and r["idx1"] == "o2" and r["cccd"]
    assert r["size"] == 5 + 4 * (3 + 7 + 80)
    assert r["peers"] == [2, 3], "host 1 (the oldest) made room for host 3"
    assert r["deleted"] is True and r["missing"] is False
    assert r["gone"]
    assert r["damaged"] == 1 and "damaged" in r["error"]
    assert "unknown format" in r["newer"]


def test_the_launchers_bond_file_is_what_the_firmware_reads(mpy: RunMpy, tmp_path) -> None:
    """The virtual board starts bonded (launch.bond_file): the firmware's store loads it and
    answers NimBLE's lookup by the host's address with the record holding the host's key."""
    from hipsense.virtual.launch import bond_file
    from hipsense.virtual.radio import CENTRAL_ADDRESS

    ltk = bytes(range(16))
    (tmp_path / "hs_bonds.bin").write_bytes(bond_file(CENTRAL_ADDRESS, ltk))
    key = b"\x00" + CENTRAL_ADDRESS  # address type (public) + address
    out = mpy(
        f"""
from bonds import BondStore
s = BondStore()
v = s.get(2, 0, {key!r})
print(s.error, len(s.entries), len(s.peers()), bytes(v[8:24]).hex(), v[7])
""",
        cwd=tmp_path,
    )
    assert out.split() == ["None", "2", "1", ltk.hex(), "16"]

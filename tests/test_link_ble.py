"""The board's BLE link (firmware/ring.py, link.py, link_ble.py) under MicroPython, on the
simulated ``bluetooth`` module with its in-process central: MTU, back-pressure, resend.

Every notification the central receives is printed as hex and decoded here by the host
decoder, so the firmware encoder and the host decoder are checked together.
"""

from __future__ import annotations

import json

import pytest
from conftest import RunMpy
from hipsense.link.protocol import (
    ConfigFrame,
    MarkerFrame,
    ReplyFrame,
    SamplesFrame,
    StatusFrame,
    decode_frame,
    reply_resend,
)

# The simulated bluetooth module compiles to ~29 kB of heap that a real board does not spend
# (its stack lives outside the MicroPython heap), so these tests give the unix port 200 kB.
HEAP = "224K"

# Shared MicroPython harness: a manual clock, the in-process central, a synthetic producer
# (tilt = seq mod 30000, obliquity = -tilt, rotation = 7), and printing of what arrived.
HARNESS = r"""
import gc
from ring import Ring
ring = Ring(RING_BYTES)
ring.configure(CONTENT, 100, 0)
gc.collect()
import bluetooth, json
import protocol
from link_ble import BleLink, name_suffix
now = [0]
bluetooth.sim_set_clock(lambda: now[0])
central = bluetooth.sim_central()
ble = bluetooth.BLE()
commands = []
def on_command(buf, n):
    commands.append(bytes(buf[:n]))
    result, token, command = protocol.parse_command(buf, n)
    if command == protocol.CMD_MARKER:
        seq = (ring.head_seq - 1) & protocol.SEQ_MASK
        link.send_reply(token, command, result, seq.to_bytes(4, 'little'))
        link.send_marker(buf[4], seq)
    else:
        link.send_reply(token, command, result)
link = BleLink(ble, ring, name_suffix(ble), on_command, model="test")
link.send_config(CONTENT, 3, 100, 100, 0.001, 0.06, 4321, 0)
produced = [0]
def produce(k):
    for _ in range(k):
        v = produced[0] % 30000
        if CONTENT:
            ring.push_raw(v, -v, 7, v, 1, 2, 3, 4, 5)
        else:
            ring.push(v, -v, 7)
        produced[0] += 1
def step(ms, per_step=1, dt=10):
    for _ in range(ms // dt):
        produce(per_step)
        now[0] += dt
        link.pump(now[0])
        bluetooth.sim_service()
        dump()
def connect(mtu=247, secure=True):
    link.pump(now[0]); bluetooth.sim_service()
    central.connect(); bluetooth.sim_service(); link.pump(now[0])
    if secure:   # bond on the first connection (a new board's pairing window), then encrypt
        assert central.secure() == 0
        link.pump(now[0])
    if mtu:
        central.exchange_mtu(mtu); bluetooth.sim_service()
def command(data):
    central.write(link._h_ctrl, bytes(data)); bluetooth.sim_service(); link.pump(now[0])
def dump():
    for p in central.take(bluetooth.MSG_NOTIFY):
        print(json.dumps({"h": p[2] | (p[3] << 8), "d": p[4:].hex()}))
    central.inbox = []
"""


def run(mpy: RunMpy, body: str, *, content: int = 0, ring_bytes: int = 54000) -> list[dict]:
    code = HARNESS.replace("RING_BYTES", str(ring_bytes)).replace("CONTENT", str(content))
    out = mpy(code + body, heapsize=HEAP)
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def data_frames(lines: list[dict], handle: int = 12) -> list:
    return [decode_frame(bytes.fromhex(x["d"])) for x in lines if x["h"] == handle]


def sample_seqs(frames: list) -> list[int]:
    return [int(s) for f in frames if isinstance(f, SamplesFrame) for s in f.seqs()]


def test_advertising_payload_and_readvertise(mpy: RunMpy) -> None:
    out = mpy(
        HARNESS.replace("RING_BYTES", "6000").replace("CONTENT", "0")
        + r"""
link.pump(0); bluetooth.sim_service()
adv = central.take(bluetooth.MSG_ADV)
print(json.dumps([a.hex() for a in adv]))
connect()
print(json.dumps(bluetooth.sim_stats()["advertising"]))
central.disconnect(); bluetooth.sim_service(); link.pump(now[0]); bluetooth.sim_service()
print(json.dumps([a.hex() for a in central.take(bluetooth.MSG_ADV)]))
""",
        heapsize=HEAP,
    )
    first, adv_while_connected, again = (json.loads(x) for x in out.splitlines()[-3:])
    msg = bytes.fromhex(first[0])
    adv_len = msg[1] | (msg[2] << 8)
    adv, resp = msg[3 : 3 + adv_len], msg[3 + adv_len :]
    # Flags, then the complete list of 128-bit service UUIDs (little-endian) in the adv data.
    assert adv[:3] == b"\x02\x01\x06"
    assert adv[3:5] == b"\x11\x07"
    assert adv[5:21] == bytes.fromhex("8e5b00013a1c4f7e9d2b5f1a6c0e4b21")[::-1]
    # Complete local name in the scan response: last two MAC bytes (02:48:53:00:12:34).
    assert resp == b"\x0e\x09hipsense-1234"
    assert adv_while_connected is False
    assert again == first  # advertising again after the disconnect


def test_mtu_limits_every_notification(mpy: RunMpy) -> None:
    lines = run(
        mpy,
        r"""
connect(mtu=0)              # no MTU exchange: 23, payload 20 bytes
command([1, 4, 1, 0x0B])    # GET_CONFIG: the host is listening
step(300)
dump()
print(json.dumps({"h": 0, "d": ""}))
central.exchange_mtu(185); bluetooth.sim_service()
step(2000)
dump()
print(json.dumps({"h": 1, "d": ""}))
central.exchange_mtu(517); bluetooth.sim_service()   # the board caps the MTU at 247
step(3000)
dump()
""",
    )
    cut1 = next(i for i, x in enumerate(lines) if x["h"] == 0)
    cut2 = next(i for i, x in enumerate(lines) if x["h"] == 1)
    small, mid, big = lines[:cut1], lines[cut1 + 1 : cut2], lines[cut2 + 1 :]
    assert all(len(x["d"]) // 2 <= 20 for x in small)
    assert all(f.count == 1 for f in data_frames(small) if isinstance(f, SamplesFrame))
    assert all(len(x["d"]) // 2 <= 182 for x in mid)
    assert all(len(x["d"]) // 2 <= 244 for x in big)
    # Samples wait at most the batching delay: with 100 Hz and 30 ms, 3-4 per frame...
    counts = [f.count for f in data_frames(big) if isinstance(f, SamplesFrame)]
    assert max(counts) <= 4
    seqs = sample_seqs(data_frames(small + mid + big))
    assert seqs == list(range(len(seqs))) and len(seqs) >= 520


def test_raw_content_waits_for_the_mtu(mpy: RunMpy) -> None:
    lines = run(
        mpy,
        r"""
connect(mtu=0)
command([1, 4, 1, 0x0B])
step(100)
central.exchange_mtu(247); bluetooth.sim_service()
step(1000)
dump()
""",
        content=1,
    )
    frames = data_frames(lines)
    configs = [f for f in frames if isinstance(f, ConfigFrame)]
    # Angles only while raw samples do not fit (MTU 23), then raw, each announced by CONFIG.
    assert [c.content for c in configs] == [0, 1]
    samples = [f for f in frames if isinstance(f, SamplesFrame)]
    first_raw = next(i for i, f in enumerate(samples) if f.raw is not None)
    assert first_raw > 0 and all(f.raw is None for f in samples[:first_raw])
    assert all(f.raw is not None for f in samples[first_raw:])
    assert frames.index(configs[1]) < frames.index(samples[first_raw])
    raw_frame = samples[first_raw]
    assert raw_frame.raw is not None
    assert raw_frame.raw[0].tolist() == [raw_frame.angles_cdeg[0, 0], 1, 2, 3, 4, 5]
    assert sample_seqs(frames) == list(range(len(sample_seqs(frames))))


def test_back_pressure_drops_nothing(mpy: RunMpy) -> None:
    # A slow link (1 notification per 50 ms, a 2-slot controller queue) under 400 Hz raw:
    # gatts_notify is refused over and over; every sample still arrives once, in order.
    lines = run(
        mpy,
        r"""
connect()
command([1, 4, 1, 0x0B])
central.link(50, 1, 2)
step(4000, per_step=4)
stats = bluetooth.sim_stats()
central.link(10, 6, 12)
step(4000, per_step=0)
print(json.dumps({"h": 0, "d": "", "refused": stats["refused"], "lost": ring.lost,
                  "produced": produced[0], "refusals": link.refusals}))
dump()
""",
        content=1,
    )
    info = next(x for x in lines if x["h"] == 0)
    assert info["refused"] > 50 and info["refusals"] > 50 and info["lost"] == 0
    seqs = sample_seqs(data_frames(lines))
    assert seqs == list(range(info["produced"]))


def test_resend_after_in_flight_loss_and_after_ring_overflow(mpy: RunMpy) -> None:
    # Ring of 600 angle samples (3600 bytes). A forced disconnect drops what the controller
    # still held; RESEND brings it back flagged RESENT. A 10 s outage at 100 Hz overflows
    # the ring: RESEND answers with the exact number of samples that are gone.
    lines = run(
        mpy,
        r"""
connect()
command([1, 4, 1, 0x0B])
central.link(100, 1, 8)
step(1000)
central.fault_at(now[0], 2000)
step(2100)
connect()
dump()
print(json.dumps({"h": 0, "d": "", "cursor": ring.cursor_seq}))
command([1, 4, 2, 0x0A, 0, 0, 0, 0])          # RESEND from 0: everything
central.link(10, 6, 12)
step(1000)
dump()
print(json.dumps({"h": 1, "d": "", "head": ring.head_seq}))
h1 = ring.head_seq
central.fault_at(now[0], 9990)
step(10000)
connect()
print(json.dumps({"h": 3, "d": "", "head": ring.head_seq}))
command([1, 4, 3, 0x0A] + list(h1.to_bytes(4, 'little')))
step(1000)
command([1, 4, 4, 0x0A] + list((ring.head_seq + 5).to_bytes(4, 'little')))  # ahead: BAD_VALUE
step(100)
print(json.dumps({"h": 2, "d": "", "lost": ring.lost, "head": ring.head_seq}))
dump()
""",
        ring_bytes=3600,
    )
    cut0 = next(i for i, x in enumerate(lines) if x["h"] == 0)
    cut1 = next(i for i, x in enumerate(lines) if x["h"] == 1)
    info = next(x for x in lines if x["h"] == 2)
    head_at_resend = next(x for x in lines if x["h"] == 3)["head"]
    before = sample_seqs(data_frames(lines[:cut0]))
    # The forced disconnect threw away notifications the stack had accepted: the cursor
    # is past samples the central never got.
    assert before == list(range(len(before)))
    assert lines[cut0]["cursor"] > len(before)
    phase2 = data_frames(lines[cut0 + 1 : cut1])
    replies = [f for f in phase2 if isinstance(f, ReplyFrame)]
    assert replies and reply_resend(replies[0]).first_seq == 0
    assert reply_resend(replies[0]).lost == 0
    resent = [f for f in phase2 if isinstance(f, SamplesFrame) and f.resent]
    assert resent and resent[0].seq == 0
    h1 = lines[cut1]["head"]
    got = set(before) | set(sample_seqs(phase2))
    assert got == set(range(h1))

    phase3 = data_frames(lines[cut1 + 1 :])
    replies = [f for f in phase3 if isinstance(f, ReplyFrame)]
    resend = reply_resend(replies[0])
    # 10 s outage at 100 Hz with 600 samples held: exactly the older ones are gone.
    assert head_at_resend == h1 + 1000
    assert resend.first_seq == head_at_resend - 600
    assert resend.lost == resend.first_seq - h1 == 400
    assert replies[1].result == 3  # BAD_VALUE
    after = sample_seqs(phase3)
    assert after[0] == resend.first_seq
    assert after == list(range(resend.first_seq, resend.first_seq + len(after)))
    assert info["head"] - after[-1] <= 4  # the newest few may still wait for the batch
    assert info["lost"] == 400  # the board counts them too (they were never sent)


def test_marker_follows_the_samples_before_it(mpy: RunMpy) -> None:
    lines = run(
        mpy,
        r"""
connect()
command([1, 4, 1, 0x0B])
step(95)
command([1, 4, 9, 0x07, 42])    # MARKER 42 at the newest sample
step(200)
dump()
""",
    )
    frames = data_frames(lines)
    marker = next(f for f in frames if isinstance(f, MarkerFrame))
    i = frames.index(marker)
    before = sample_seqs(frames[:i])
    assert marker.code == 42
    assert before and before[-1] == marker.seq  # every sample up to the marker went first


def test_hot_paths_allocate_nothing(mpy: RunMpy) -> None:
    # push (per sample) and pump (per frame, the stack accepting) under heap_lock, with a
    # backlog (full frames) and at the live rate (partial frames after the batching delay).
    # The refusal path is not in here: the port raises an OSError object, which allocates.
    out = mpy(
        HARNESS.replace("RING_BYTES", "54000").replace("CONTENT", "1")
        + r"""
import micropython
from heapcheck import alloc_error
connect()
command([1, 4, 1, 0x0B])
central.link(10, 6, 16)
step(1000)
def hot(k, push, pump):
    for i in range(k):
        if push:
            ring.push_raw(i, -i, 7, i, 1, 2, 3, 4, 5)
        if pump:
            link.pump(now[0] + 10 * i)
for k, push, pump in ((40, True, False), (40, False, True), (40, True, True)):
    sent = link.frames_sent
    err = alloc_error(lambda: hot(k, push, pump))
    print("ALLOC" if err is not None else "NOALLOC", link.frames_sent - sent)
    now[0] += 500
    bluetooth.sim_service()
""",
        heapsize=HEAP,
    )
    results = [line.split() for line in out.splitlines() if "ALLOC" in line]
    assert [r[0] for r in results] == ["NOALLOC"] * 3
    assert int(results[1][1]) >= 3 and int(results[2][1]) >= 3  # frames really went out


@pytest.mark.parametrize("raw", [0, 1])
def test_ring_rewind_semantics(mpy: RunMpy, raw: int) -> None:
    out = mpy(
        r"""
from ring import Ring
r = Ring(1800)
r.configure(RAW, 100, 0)
cap = r.capacity
for i in range(cap + 10):
    r.push_raw(i, 0, 0, 1, 2, 3, 4, 5, 6)
res = []
res.append((r.held, r.unsent, r.lost))       # 10 overwritten before being sent
res.append(r.rewind(5) and (r.resend_first, r.resend_lost))
res.append(r.rewind((r.head_seq + 1) & 0x3FFFFFFF))  # ahead of the newest: refused
buf = bytearray(244)
x = r.fill_frame(buf, 3, True)
r.commit(x & 0xFF)
res.append((r.unsent, r.resent, buf[2]))
res.append(r.rewind(r.head_seq) and (r.unsent, r.resend_lost))
print(res)
""".replace("RAW", str(bool(raw))),
    )
    cap = 1800 // (18 if raw else 6)
    expected = [
        (cap, cap, 10),
        (10, 5),
        False,
        (cap - 3, 0, 1 if raw else 0),
        (0, 0),
    ]
    assert out.strip() == str(expected).replace("False", "False")


def test_status_battery_and_device_information(mpy: RunMpy) -> None:
    out = mpy(
        HARNESS.replace("RING_BYTES", "6000").replace("CONTENT", "1")
        + r"""
status = bytearray(36)
protocol.pack_status(status, 1, 80, 3900, 3, 1, 100, 5, 0, 0, 0, 4321, 60)
connect(mtu=0)
command([1, 4, 1, 0x0B])
link.set_status(status)         # MTU 23: raw does not fit, status not notified
link.set_battery(80)
now[0] += 100; bluetooth.sim_service()
for h in (link._h_status, link._h_batt, 21, 23, 25, 27):
    central.read(h)
bluetooth.sim_service()
print(json.dumps([p.hex() for p in central.take(bluetooth.MSG_READ_RSP)]))
print(json.dumps([(p[2] | (p[3] << 8), p[4:].hex()) for p in central.take(bluetooth.MSG_NOTIFY)]))
central.exchange_mtu(247); bluetooth.sim_service()
link.set_status(status)         # now it fits and is notified, content raw
now[0] += 100; bluetooth.sim_service()
print(json.dumps([(p[2] | (p[3] << 8), p[4:].hex()) for p in central.take(bluetooth.MSG_NOTIFY)]))
""",
        heapsize=HEAP,
    )
    reads_line, notes_small, notes_big = (json.loads(x) for x in out.splitlines()[-3:])
    reads = [bytes.fromhex(r)[3:] for r in reads_line]  # after request id and ATT status
    status = decode_frame(reads[0])
    assert isinstance(status, StatusFrame)
    assert status.content == 0 and status.battery_pct == 80  # raw does not fit at MTU 23
    assert reads[1] == b"\x50"  # Battery Level 80 %
    # Device Information (handles follow the hipsense service): manufacturer, model, fw, MicroPython
    assert reads[2] == b"hipsense" and reads[3] == b"test" and reads[4] == b"0.1.0"
    assert reads[5].count(b".") == 2
    handles = [h for h, _ in notes_small]
    assert 17 not in handles  # the 36-byte STATUS does not fit a 20-byte notification
    assert (30, "50") in [tuple(x) for x in notes_small]  # battery notified
    status_notes = [bytes.fromhex(d) for h, d in notes_big if h == 17]
    latest = decode_frame(status_notes[-1])
    assert isinstance(latest, StatusFrame) and latest.content == 1


def test_config_content_rules_what_is_sent(mpy: RunMpy) -> None:
    # The ring stores raw samples but the CONFIG says angles only: angles only go out, and the
    # CONFIG is sent once (not again and again).
    lines = run(
        mpy,
        r"""
link.send_config(0, 3, 100, 100, 0.001, 0.06, 4321, 0)
connect()
command([1, 4, 1, 0x0B])
step(1000)
dump()
""",
        content=1,
    )
    frames = data_frames(lines)
    assert [f.content for f in frames if isinstance(f, ConfigFrame)] == [0]
    samples = [f for f in frames if isinstance(f, SamplesFrame)]
    assert samples and all(f.raw is None for f in samples)

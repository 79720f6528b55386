"""One streaming link at a time: two links on the app's one ring (firmware/app.py, link.py).

Under MicroPython, the app on the simulated board with two test links (``link.Link`` whose
transport records frames, tagged A and B, both with a host that has spoken) stands in for BLE
and USB serial. The frames are decoded by the host decoder. docs/link.md "One streaming link".
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hipsense import paths
from hipsense.link.protocol import (
    Command,
    ConfigFrame,
    MarkerFrame,
    ReplyFrame,
    Result,
    SamplesFrame,
    cmd_get_config,
    cmd_get_settings,
    cmd_get_status,
    cmd_marker,
    cmd_pairing,
    cmd_resend,
    cmd_start,
    cmd_start_takeover,
    cmd_stop,
    decode_frame,
    reply_resend,
    reply_settings,
    reply_status,
)
from hipsense.virtual.launch import deploy_firmware

G = 9.80665
HEAP = "200K"
_STILL = [0.0, 0.0, G, 0.0, 0.0, 0.0]  # sensor flat and still: acc m/s², gyr deg/s

# A and B: tagged test links (tests/mpy_support/testlink.py) that print every frame they send
# as "F <tag> <hex>".
_PRELUDE = """
import _vboard
from heapcheck import alloc_error
from testlink import TestLink, Clock, cmd as link_cmd
import board, app

clock = Clock(SOURCE)
def run(samples, per_step=4):
    clock.run(a, samples, per_step)
def cmd(link, hexbytes):
    link_cmd(link, hexbytes)
    run(1)

a = app.App(board.open_board(), ring_bytes=6000)
A = a.add_link(lambda ring, on_command: TestLink(ring, on_command, "A"))
B = a.add_link(lambda ring, on_command: TestLink(ring, on_command, "B"))
a.start()
"""


@pytest.fixture(scope="module")
def deployed(tmp_path_factory, mpy_exe) -> Path:
    """The firmware precompiled for the interpreter under test, as a board holds it (``.mpy``)."""
    return deploy_firmware(tmp_path_factory.mktemp("owner"), executable=mpy_exe)


def _run(mpy, deployed: Path, tmp_path, script: str) -> tuple[dict[str, list], str]:
    """Run ``script`` after both hosts spoke (GET_CONFIG on A and on B); frames per link."""
    hello = f"cmd(A, '{cmd_get_config(100).hex()}')\ncmd(B, '{cmd_get_config(101).hex()}')\n"
    code = f"SOURCE = {_STILL!r}\n{_PRELUDE}\n{hello}{script}\n"
    out = mpy(code, path=[paths.mpy_sim_dir(), deployed], cwd=tmp_path, heapsize=HEAP)
    frames: dict[str, list] = {"A": [], "B": []}
    for line in out.splitlines():
        if line.startswith("F "):
            _, tag, hexbytes = line.split()
            frames[tag].append(decode_frame(bytes.fromhex(hexbytes)))
    return frames, out


def _seqs(frames: list, resent: bool | None = None) -> np.ndarray:
    parts = [
        np.asarray(f.seqs(), dtype=np.int64)
        for f in frames
        if isinstance(f, SamplesFrame) and (resent is None or f.resent == resent)
    ]
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


def _reply(frames: list, token: int) -> ReplyFrame:
    (reply,) = [f for f in frames if isinstance(f, ReplyFrame) and f.token == token]
    return reply


def test_samples_go_only_to_the_link_that_started(mpy, deployed, tmp_path) -> None:
    script = f"""
cmd(A, '{cmd_start(1).hex()}')
run(150)
A.refuse = True   # back-pressure on A: its samples wait in the ring, B must not take them
run(60)
A.refuse = False
run(90)
cmd(B, '{cmd_get_status(2).hex()}')
cmd(B, '{cmd_marker(3, 7).hex()}')
run(100)
print("HEAD", a.ring.head_seq)
"""
    frames, out = _run(mpy, deployed, tmp_path, script)
    head = int(out.split("HEAD")[1].split()[0])
    seq_a = _seqs(frames["A"])
    assert len(seq_a) == head and np.array_equal(seq_a, np.arange(head)), (
        "A gets every sample exactly once, in order"
    )
    assert not any(isinstance(f, SamplesFrame) for f in frames["B"]), "B gets no sample"
    status = _reply(frames["B"], 2)
    assert status.result == Result.OK and status.command == Command.GET_STATUS
    assert reply_status(status) is not None, "B's GET_STATUS is answered on B"
    assert not any(isinstance(f, ReplyFrame) and f.token in (2, 3) for f in frames["A"])
    assert _reply(frames["B"], 3).result == Result.OK
    markers = {t: [f for f in frames[t] if isinstance(f, MarkerFrame)] for t in "AB"}
    assert [m.code for m in markers["A"]] == [7] and markers["B"] == markers["A"], (
        "the marker goes to every link"
    )
    # On A the marker follows the sample it belongs to; B has no samples to wait for.
    i_marker = frames["A"].index(markers["A"][0])
    assert _seqs(frames["A"][:i_marker]).max() >= markers["A"][0].seq
    assert any(isinstance(f, ConfigFrame) for f in frames["B"]), "B still gets the CONFIG"


def test_start_on_the_other_link_takes_the_stream_over_at_the_cursor(
    mpy, deployed, tmp_path
) -> None:
    """A's transport refuses for a while (its cursor waits); B's plain START is BUSY (it does
    not take a running stream), then B's START_TAKEOVER: B gets what A was not sent, then the
    live stream; A gets no sample after the takeover."""
    script = f"""
cmd(A, '{cmd_start(1).hex()}')
run(200)
A.refuse = True
run(80)
print("A_HAD", a.ring.cursor_seq)
cmd(B, '{cmd_start(4).hex()}')
cmd(B, '{cmd_start_takeover(2).hex()}')
A.refuse = False
run(200)
cmd(A, '{cmd_get_status(3).hex()}')
run(20)
print("HEAD", a.ring.head_seq)
"""
    frames, out = _run(mpy, deployed, tmp_path, script)
    had = int(out.split("A_HAD")[1].split()[0])
    head = int(out.split("HEAD")[1].split()[0])
    seq_a, seq_b = _seqs(frames["A"]), _seqs(frames["B"])
    assert np.array_equal(seq_a, np.arange(had)), "A: everything up to the takeover, once"
    assert np.array_equal(seq_b, np.arange(had, head)), "B: from A's cursor on, once, in order"
    assert len(seq_b) > 250 and had > 150
    assert _reply(frames["B"], 4).result == Result.BUSY, "a plain START leaves A's stream alone"
    assert _reply(frames["B"], 2).result == Result.OK
    assert _reply(frames["A"], 3).result == Result.OK, "A still answers commands"
    assert not any(isinstance(f, SamplesFrame) and f.resent for f in frames["A"] + frames["B"])


def test_resend_on_the_link_that_does_not_stream_is_busy_and_moves_nothing(
    mpy, deployed, tmp_path
) -> None:
    script = f"""
cmd(A, '{cmd_start(1).hex()}')
run(200)
cur = a.ring.cursor_seq
cmd(B, '{cmd_resend(2, 10).hex()}')
print("MOVED", a.ring.cursor_seq < cur, a.ring.resent)
run(100)
cmd(A, '{cmd_resend(3, 150).hex()}')
run(100)
print("HEAD", a.ring.head_seq)
"""
    frames, out = _run(mpy, deployed, tmp_path, script)
    assert "MOVED False 0" in out, "the non-owner's RESEND leaves the cursor alone"
    busy = _reply(frames["B"], 2)
    assert busy.command == Command.RESEND and busy.result == Result.BUSY
    assert not any(isinstance(f, SamplesFrame) for f in frames["B"])
    # A's own RESEND still works: 150 … the old cursor again (RESENT), then the rest once.
    ok = _reply(frames["A"], 3)
    assert ok.result == Result.OK and reply_resend(ok).first_seq == 150
    head = int(out.split("HEAD")[1].split()[0])
    new = _seqs(frames["A"], resent=False)
    assert np.array_equal(new, np.arange(head))
    again = _seqs(frames["A"], resent=True)
    assert len(again) > 0 and np.array_equal(again, np.arange(150, 150 + len(again)))


def test_stop_belongs_to_the_owner_and_a_dropped_owner_keeps_the_stream(
    mpy, deployed, tmp_path
) -> None:
    """B's STOP while A streams is BUSY (a host that lost the stream sends STOP when it closes);
    A dropping its connection keeps the stream: after the reconnect its RESEND fills the gap."""
    script = f"""
cmd(A, '{cmd_start(1).hex()}')
run(100)
cmd(B, '{cmd_stop(2).hex()}')
print("STREAMING", a.streaming)
A.ready = False   # the connection drops (what BleLink.pump does on a disconnect)
run(120)
cmd(A, '{cmd_get_config(3).hex()}')   # reconnect: the host speaks again ...
run(50)
A.ready = False
run(30)
cmd(A, '{cmd_stop(5).hex()}')
cmd(B, '{cmd_stop(6).hex()}')
print("STREAMING", a.streaming)
run(50)
print("HEAD", a.ring.head_seq)
"""
    frames, out = _run(mpy, deployed, tmp_path, script)
    assert "STREAMING True" in out and "STREAMING False" in out
    assert _reply(frames["B"], 2).result == Result.BUSY
    assert _reply(frames["A"], 5).result == Result.OK
    assert _reply(frames["B"], 6).result == Result.OK, "nothing streams: STOP is OK anywhere"
    assert not any(isinstance(f, SamplesFrame) for f in frames["B"])
    head = int(out.split("HEAD")[1].split()[0])
    seq_a = _seqs(frames["A"])
    assert np.array_equal(seq_a, np.arange(head)), (
        "the samples produced while A was away, and the tail after STOP, all reach A"
    )


def test_resend_after_reconnect_on_the_owner(mpy, deployed, tmp_path) -> None:
    script = f"""
cmd(A, '{cmd_start(1).hex()}')
run(100)
A.refuse = True   # the stack is full for a while; then the host asks from 60 again
run(40)
A.refuse = False
cmd(A, '{cmd_resend(2, 60).hex()}')
run(100)
"""
    frames, _ = _run(mpy, deployed, tmp_path, script)
    ok = _reply(frames["A"], 2)
    assert ok.result == Result.OK and reply_resend(ok).lost == 0
    assert len(_seqs(frames["A"], resent=True)) > 0
    assert not any(isinstance(f, SamplesFrame) for f in frames["B"])


def test_pumping_both_links_allocates_nothing(mpy, deployed, tmp_path) -> None:
    """Owner and non-owner pump with samples waiting, under heap_lock."""
    script = f"""
cmd(A, '{cmd_start(1).hex()}')
run(40)
A.quiet = True
B.quiet = True
_vboard.advance(8)
n = a.imu.read(a._buf, 8)
def hot():
    a._on_samples(n)
    A.pump(clock.now_ms + 100)
    B.pump(clock.now_ms + 100)
err = alloc_error(hot)
print("ALLOC", n, A.count > 0, B.count, a.ring.unsent, err)
"""
    _, out = _run(mpy, deployed, tmp_path, script)
    assert "ALLOC 8 True 0 0 None" in out


def test_another_host_on_the_owners_link_takes_the_stream_only_when_it_asks(
    mpy, deployed, tmp_path
) -> None:
    """Two bonded hosts, one after the other on the same (BLE) link: the second one's START,
    STOP and RESEND are BUSY while the first one's stream runs; START_TAKEOVER takes it from
    the cursor on; the first host, back, is then the one refused. docs/link.md "Security"."""
    script = f"""
A.peer = 1
cmd(A, '{cmd_start(1).hex()}')
run(100)
A.peer = 2           # host 1 went away, host 2 connected on the same link
cmd(A, '{cmd_start(2).hex()}')
cmd(A, '{cmd_stop(3).hex()}')
cmd(A, '{cmd_resend(4, 0).hex()}')
print("STREAMING", a.streaming)
cmd(A, '{cmd_start_takeover(5).hex()}')
run(100)
A.peer = 1
cmd(A, '{cmd_resend(6, 0).hex()}')
cmd(A, '{cmd_pairing(7, 60).hex()}')
cmd(A, '{cmd_get_settings(8).hex()}')
run(10)
"""
    frames, out = _run(mpy, deployed, tmp_path, script)
    a = frames["A"]
    assert [_reply(a, t).result for t in (2, 3, 4)] == [Result.BUSY] * 3
    assert "STREAMING True" in out, "host 2 did not stop host 1's stream"
    assert _reply(a, 5).result == Result.OK
    assert _reply(a, 6).result == Result.BUSY, "host 1 no longer owns the stream"
    assert _reply(a, 7).result == Result.FAILED, "PAIRING needs a BLE link"
    settings = reply_settings(_reply(a, 8))
    assert settings is not None and settings.rate_hz == 100
    assert settings.mounting_wxyz is None and settings.gyro_bias_dps is None


def test_holding_the_button_3_s_opens_the_pairing_window(mpy, deployed, tmp_path) -> None:
    """Held for 3 s, a press opens the BLE pairing window (60 s), once per press; a short press
    does not; it needs no setup code loaded (no room on a tight board while streaming). A
    stand-in for the BLE link records the calls."""
    profile = json.loads((paths.boards_dir() / "m5stickc-plus2.json").read_text())
    (tmp_path / "board.json").write_text(json.dumps(profile))
    pin = profile["button"]["pin"]
    script = f"""
opened = []
A.open_pairing = lambda now_ms, seconds: opened.append((now_ms - t0, seconds))
def no_room(*args):            # a tight board while streaming: setup code cannot load
    raise MemoryError
a._setup_run = no_room
clock.now_ms = t0 = a._t0_ms   # the app's once-a-second housekeeping runs on its clock
run(150)
_vboard.set_pin({pin}, 0)      # pressed (active low)
run(250)
print("AFTER_2_5_S", len(opened))
run(300)
print("AFTER_5_5_S", opened)
_vboard.set_pin({pin}, 1)
run(200)
_vboard.set_pin({pin}, 0)      # a short press: a marker only
run(150)
_vboard.set_pin({pin}, 1)
run(200)
print("END", len(opened))
"""
    frames, out = _run(mpy, deployed, tmp_path, script)
    assert "AFTER_2_5_S 0" in out
    calls = eval(out.split("AFTER_5_5_S")[1].splitlines()[0])
    assert len(calls) == 1 and calls[0][1] == 60
    assert 3000 <= calls[0][0] - 1500 <= 4100, "opened 3 to 4 s after the press (1 s polling)"
    assert "END 1" in out
    markers = [f for f in frames["A"] if isinstance(f, MarkerFrame)]
    # A press is also a button marker (the board debounces on the real clock, so the second
    # press, a few real milliseconds later here, may be merged with the first).
    assert markers and markers[0].code == 0

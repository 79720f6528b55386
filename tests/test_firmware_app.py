"""The board application (firmware/app.py) under MicroPython on the simulated machine.

A test link (a ``link.Link`` whose transport records frames) stands in for BLE; the frames are
decoded by the host decoder, so the app, the protocol and the decoder are checked together.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from hipsense import paths
from hipsense.link.protocol import (
    BoardState,
    Command,
    ConfigFrame,
    ErrorFrame,
    MarkerFrame,
    ReplyFrame,
    Result,
    SamplesFrame,
    StatusFrame,
    cmd_align_mounting,
    cmd_calibrate_gyro,
    cmd_get_status,
    cmd_marker,
    cmd_set_content,
    cmd_set_rate,
    cmd_start,
    cmd_stop,
    decode_frame,
    encode_command,
    reply_gyro_bias_dps,
    reply_mounting,
    reply_status,
    samples_physical,
)
from hipsense.virtual.launch import deploy_firmware
from hipsense.virtual.runner import run_micropython

G = 9.80665

# MicroPython prelude: an app on the generic board (MPU-6886 at 0x68), manual clock, test link.
_PRELUDE = """
import _vboard
from heapcheck import alloc_error
from testlink import TestLink, Clock, cmd as link_cmd
import board, app

clock = Clock(SOURCE)
def run(samples, per_step=4):
    clock.run(a, samples, per_step)
def cmd(hexbytes):
    link_cmd(link, hexbytes)
"""

_START = """
a = app.App(board.open_board(), ring_bytes=6000)
link = a.add_link(TestLink)
a.start()
"""


def _pelvis_still(tilt_deg: float, obliquity_deg: float, gyr_dps=(0.0, 0.0, 0.0)) -> list[float]:
    """One still sample [acc m/s², gyr deg/s] of a sensor aligned with a tilted pelvis."""
    t, o = np.radians(tilt_deg), np.radians(obliquity_deg)
    ry = np.array([[np.cos(t), 0, np.sin(t)], [0, 1, 0], [-np.sin(t), 0, np.cos(t)]])
    rx = np.array([[1, 0, 0], [0, np.cos(o), -np.sin(o)], [0, np.sin(o), np.cos(o)]])
    acc = (rx @ ry).T @ np.array([0.0, 0.0, G])  # specific force: +g up, in the sensor frame
    return [*acc.tolist(), *gyr_dps]


@dataclass
class Board:
    frames: list
    out: str


@pytest.fixture(scope="module")
def deployed(tmp_path_factory, mpy_exe) -> Path:
    """The firmware precompiled for the interpreter under test, as a board holds it (``.mpy``)."""
    return deploy_firmware(tmp_path_factory.mktemp("app"), executable=mpy_exe)


RESET_EXIT_STATUS = 17  # what machine.reset() ends the virtual board's process with (_vboard.py)
HEAP = "200K"  # an ESP32 with BLE active has about 110-150 kB free; the simulator needs ~60 kB


def _run_board(
    mpy, deployed: Path, tmp_path, script: str, source: list[float], start: bool = True
) -> Board:
    code = f"SOURCE = {source!r}\n{_PRELUDE}\n{_START if start else ''}\n{script}\n"
    out = mpy(code, path=[paths.mpy_sim_dir(), deployed], cwd=tmp_path, heapsize=HEAP)
    frames = [line[2:] for line in out.splitlines() if line.startswith("F ")]
    return Board([decode_frame(bytes.fromhex(h)) for h in frames], out)


def _replies(board: Board) -> list[ReplyFrame]:
    return [f for f in board.frames if isinstance(f, ReplyFrame)]


def _samples(board: Board) -> dict[str, np.ndarray]:
    config = next(f for f in board.frames if isinstance(f, ConfigFrame))
    parts = [samples_physical(f, config) for f in board.frames if isinstance(f, SamplesFrame)]
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def test_streams_the_pelvis_angles_of_a_still_tilted_sensor(mpy, deployed, tmp_path) -> None:
    source = _pelvis_still(8.0, -4.0) * 10
    board = _run_board(mpy, deployed, tmp_path, f"cmd('{cmd_start(1).hex()}')\nrun(600)", source)
    assert _replies(board)[0] == ReplyFrame(1, Command.START, Result.OK, b"")
    config = next(f for f in board.frames if isinstance(f, ConfigFrame))
    assert config.rate_hz == 100 and config.content & 1
    s = _samples(board)
    assert np.all(np.diff(s["seq"]) == 1), "every sample once, in order"
    assert np.all(np.diff(s["t_100us"]) == 100), "sample time on the IMU clock, 10 ms apart"
    late = slice(len(s["seq"]) // 2, None)  # after the filter settled
    assert np.allclose(s["tilt_deg"][late], 8.0, atol=0.3)
    assert np.allclose(s["obliquity_deg"][late], -4.0, atol=0.3)
    acc = np.stack([s["acc_x_mps2"], s["acc_y_mps2"], s["acc_z_mps2"]], 1)
    assert np.allclose(acc, source[:3], atol=0.01), "raw data are the fed values"


def test_commands_reply_once_and_refuse_what_they_cannot_do(mpy, deployed, tmp_path) -> None:
    script = "\n".join(
        [
            f"cmd('{cmd_set_rate(1, 150).hex()}')",  # not a rate
            f"cmd('{cmd_start(2).hex()}')",
            f"cmd('{cmd_set_rate(3, 200).hex()}')",  # not while streaming
            f"cmd('{cmd_set_content(4, False).hex()}')",  # not while streaming
            f"cmd('{encode_command(5, 0x7E).hex()}')",  # unknown command
            f"cmd('{cmd_align_mounting(6, 2).hex()}')",  # bend without the stand-still first
            "run(20)",
            f"cmd('{cmd_marker(7, 9).hex()}')",
            "run(20)",
            f"cmd('{cmd_stop(8).hex()}')",
            f"cmd('{cmd_set_rate(9, 200).hex()}')",
            f"cmd('{cmd_get_status(10).hex()}')",
            "run(8)",
        ]
    )
    board = _run_board(mpy, deployed, tmp_path, script, _pelvis_still(0, 0))
    results = {r.token: r.result for r in _replies(board)}
    assert results == {
        1: Result.BAD_VALUE,
        2: Result.OK,
        3: Result.BUSY,
        4: Result.BUSY,
        5: Result.UNKNOWN_COMMAND,
        6: Result.BUSY,
        7: Result.OK,
        8: Result.OK,
        9: Result.OK,
        10: Result.OK,
    }
    marker = next(f for f in board.frames if isinstance(f, MarkerFrame))
    marker_reply = next(r for r in _replies(board) if r.token == 7)
    assert marker.code == 9 and int.from_bytes(marker_reply.payload, "little") == marker.seq
    status = reply_status(next(r for r in _replies(board) if r.token == 10))
    assert isinstance(status, StatusFrame)
    assert status.state == BoardState.IDLE and status.rate_hz == 200
    configs = [f for f in board.frames if isinstance(f, ConfigFrame)]
    assert configs[-1].rate_hz == 200 and configs[-1].period_100us == 50
    assert json.loads((tmp_path / "hs_config.json").read_text())["rate_hz"] == 200


@pytest.mark.parametrize(
    ("bias", "moving", "result"),
    [((0.8, -1.5, 0.4), False, Result.OK), ((0.0, 0.0, 0.0), True, Result.FAILED)],
)
def test_gyro_calibration_measures_the_bias_when_still(
    mpy, deployed, tmp_path, bias, moving, result
) -> None:
    still = _pelvis_still(0, 0, bias)
    source = still + (_pelvis_still(0, 0, (40.0, 0, 0)) if moving else still)
    script = f"cmd('{cmd_calibrate_gyro(1, 2).hex()}')\nrun(260)"
    board = _run_board(mpy, deployed, tmp_path, script, source)
    reply = _replies(board)[0]
    assert reply.result == result
    if result == Result.OK:
        assert np.allclose(reply_gyro_bias_dps(reply), bias, atol=0.05)
        saved = json.loads((tmp_path / "hs_bias.json").read_text())
        assert json.dumps(saved)  # a file the next boot reads
    else:
        assert not (tmp_path / "hs_bias.json").exists()


def test_mounting_alignment_from_stand_still_and_forward_bend(mpy, deployed, tmp_path) -> None:
    """Sensor upside down on the belt (rotated 180° about x): the bend finds the mounting."""
    flip = np.diag([1.0, -1.0, -1.0])  # sensor axes in the pelvis frame
    upright = flip.T @ np.array([0, 0, G])
    bend = flip.T @ (
        np.array([[np.cos(0.6), 0, np.sin(0.6)], [0, 1, 0], [-np.sin(0.6), 0, np.cos(0.6)]]).T
        @ np.array([0, 0, G])
    )
    bend_source = [float(v) for v in [*bend, 0, 0, 0]]
    script = "\n".join(
        [
            f"cmd('{cmd_align_mounting(1, 1).hex()}')",
            "run(240)",
            f"_vboard.set_arrays(100, {bend_source!r}, loop=True)",
            f"cmd('{cmd_align_mounting(2, 2).hex()}')",
            "run(240)",
        ]
    )
    board = _run_board(mpy, deployed, tmp_path, script, [float(v) for v in [*upright, 0, 0, 0]])
    first, second = _replies(board)[:2]
    assert first.result == Result.OK and second.result == Result.OK
    mounting = reply_mounting(second)
    assert mounting is not None
    w, x, y, z = mounting
    assert abs(abs(x) - 1.0) < 0.02 and abs(w) < 0.02, "a half turn about x"
    stored = json.loads((tmp_path / "hs_mount.json").read_text())["mounting_q"]
    assert np.allclose(np.abs(stored), np.abs([w, x, y, z]), atol=1e-4)


def test_lost_samples_keep_the_imu_clock(mpy, deployed, tmp_path) -> None:
    """A FIFO overflow: placeholders fill the gap, seq and time stay on the IMU clock."""
    script = "\n".join(
        [
            f"cmd('{cmd_start(1).hex()}')",
            "run(100)",
            "_vboard.advance(400)",  # the loop stalls 4 s: the 1 KiB FIFO overflows
            "run(200)",
            "print('LOST', a.imu.samples_lost)",
        ]
    )
    code_out = _run_board(mpy, deployed, tmp_path, script, _pelvis_still(0, 0))
    s = _samples(code_out)
    assert np.all(np.diff(s["seq"]) == 1) and np.all(np.diff(s["t_100us"]) == 100)
    lost = np.isnan(s["acc_x_mps2"])
    reported = int(code_out.out.split("LOST")[-1].split()[0])
    assert reported > 0 and lost.sum() == reported, "each lost sample keeps its place"
    assert np.isnan(s["tilt_deg"][lost]).all()
    assert np.ptp(np.flatnonzero(lost)) == reported - 1, "one gap, where the overflow was"
    assert not np.isnan(s["acc_x_mps2"][-150:]).any(), "the stream recovers"
    errors = [(int(f.code), f.text) for f in code_out.frames if isinstance(f, ErrorFrame)]
    assert errors == [(4, f"{reported} samples lost")], "FIFO_OVERFLOW with the exact count"


def test_per_sample_path_allocates_nothing(mpy, deployed, tmp_path) -> None:
    script = f"""
cmd('{cmd_start(1).hex()}')
run(100)
_vboard.advance(8)
n = a.imu.read(a._buf, 8)
def hot():
    a._on_samples(n)
err = alloc_error(hot)
print('ALLOC', n, err)
"""
    code = f"SOURCE = {_pelvis_still(3, 2)!r}\n{_PRELUDE}\n{_START}\n{script}"
    out = mpy(code, path=[paths.mpy_sim_dir(), deployed], cwd=tmp_path, heapsize=HEAP)
    assert "ALLOC 8 None" in out


@pytest.fixture
def lockstep(monkeypatch: pytest.MonkeyPatch, deployed: Path) -> list[Path]:
    """The module path of a board on the lockstep clock (docs/virtual-board.md "Time"): its
    ``time`` is the simulation clock, moved only by its sleeps, so the watchdog's 300 ms are
    the board's own and a process the machine does not schedule for a while is no hang."""
    monkeypatch.setenv("HIPSENSE_SIM_CLOCK", "lockstep")
    sim = paths.mpy_sim_dir()
    return [sim / "lockstep", sim, deployed]


def test_watchdog_resets_a_hung_loop(lockstep, tmp_path, mpy_exe) -> None:
    """The loop stops coming round (a hang): the watchdog timer resets the board."""
    code = """
import time, machine, board, app
a = app.App(board.open_board(), ring_bytes=6000)
a.start()
a.watchdog_ms = 300
a.step(time.ticks_ms())
print("looping")
t0 = time.ticks_ms()
while time.ticks_diff(time.ticks_ms(), t0) < 3000:  # hung: no step(), only bus traffic
    machine.idle()
    time.sleep_ms(10)
print("not reset")
"""
    result = run_micropython(
        code,
        path=lockstep,
        cwd=tmp_path,
        heapsize=HEAP,
        check=False,
        executable=mpy_exe,
    )
    assert "looping" in result.stdout and "not reset" not in result.stdout
    assert "main loop hung" in result.stdout
    assert result.returncode == RESET_EXIT_STATUS


def test_watchdog_stays_quiet_while_the_loop_runs(lockstep, tmp_path, mpy_exe) -> None:
    """While the loop comes round (every 5 ms, and once after a 290 ms pass over one of the
    watchdog's checks) nothing resets; the same watchdog is armed all along: once the loop
    stops, it resets the board at its first check more than ``watchdog_ms`` after the last
    pass. On the lockstep clock the board's time moves only by its own sleeps, so every
    moment here is exact, whatever the machine's load."""
    source = (paths.firmware_dir() / "app.py").read_text()
    found = re.search(r"^_WATCHDOG_CHECK_MS = const\((\d+)\)", source, re.MULTILINE)
    assert found is not None
    check_ms = int(found[1])
    code = f"""
import time, machine, board, app
a = app.App(board.open_board(), ring_bytes=6000)
a.start()  # the check timer runs from here, every {check_ms} ms
started = time.ticks_ms()
a.watchdog_ms = 300
passes = 0
while time.ticks_diff(time.ticks_ms(), started) < 1300:
    a.step(time.ticks_ms())
    passes += 1
    time.sleep_ms(5)
while time.ticks_diff(time.ticks_ms(), started) < 1590:  # one slow pass over the check at 1.5 s
    machine.idle()
    time.sleep_ms(10)
a.step(time.ticks_ms())
last = time.ticks_ms()
print("alive", passes, time.ticks_diff(last, started))
while time.ticks_diff(time.ticks_ms(), last) < 3000:  # no more passes; the timers run
    machine.idle()
    print("hung", time.ticks_diff(time.ticks_ms(), last))
    time.sleep_ms(10)
print("not reset")
"""
    result = run_micropython(
        code, path=lockstep, cwd=tmp_path, heapsize=HEAP, check=False, executable=mpy_exe
    )
    lines = result.stdout.splitlines()
    alive = [line.split() for line in lines if line.startswith("alive")]
    assert len(alive) == 1, result.stdout
    passes, last_ms = int(alive[0][1]), int(alive[0][2])
    assert passes >= 200 and last_ms >= 1590, "the loop ran 1.3 s, then the slow pass"
    before = lines[: lines.index(" ".join(alive[0]))]
    assert not any("hung" in line for line in before), "no reset while the loop runs"
    hung_ms = [int(line.split()[1]) for line in lines if line.startswith("hung ")]
    reset_after_ms = hung_ms[-1] + 10  # the reset came in the pass after the last print
    assert 300 < reset_after_ms <= 300 + check_ms + 10, hung_ms[-3:]
    assert "main loop hung for 300 ms" in result.stdout and "not reset" not in result.stdout
    assert result.returncode == RESET_EXIT_STATUS


def test_the_time_before_and_in_start_is_no_hang(lockstep, tmp_path, mpy_exe) -> None:
    """Slow set-up before ``start()`` (imports, BLE, the ring) and a pause before the first
    pass (the boot's flash write) stay under the watchdog: it counts from ``start()``."""
    code = """
import time, machine, board, app
a = app.App(board.open_board(), ring_bytes=6000)
a.watchdog_ms = 1500
t0 = time.ticks_ms()
while time.ticks_diff(time.ticks_ms(), t0) < 1500:  # set-up before start(): 1.5 s
    time.sleep_ms(10)
a.start()
t0 = time.ticks_ms()
while time.ticks_diff(time.ticks_ms(), t0) < 1200:  # before the first pass; timers run
    machine.idle()
    time.sleep_ms(10)
t0 = time.ticks_ms()
while time.ticks_diff(time.ticks_ms(), t0) < 1000:
    a.step(time.ticks_ms())
    time.sleep_ms(5)
a.stop()
print("alive")
"""
    result = run_micropython(
        code,
        path=lockstep,
        cwd=tmp_path,
        heapsize=HEAP,
        check=False,
        executable=mpy_exe,
    )
    assert "main loop hung" not in result.stdout and result.stdout.strip().endswith("alive")


def test_an_imu_that_answers_after_boot_is_configured_and_streams(mpy, deployed, tmp_path) -> None:
    """No IMU at boot (START fails, status says so); once it answers, the stream works."""
    script = f"""
import time
_vboard.clear_bus()
a = app.App(board.open_board(), ring_bytes=6000)
link = a.add_link(TestLink)
a.start()
cmd('{cmd_start(1).hex()}')
run(10)
print("STATE", a.state())
_vboard.add_chip("mpu6886")
_vboard.set_source(None)
_vboard.set_arrays(100, SOURCE, loop=True)
t0 = time.ticks_ms()
while a.imu.chip_id == 0 and time.ticks_diff(time.ticks_ms(), t0) < 5000:
    run(1)
    time.sleep_ms(20)
cmd('{cmd_start(2).hex()}')
run(200)
"""
    board = _run_board(mpy, deployed, tmp_path, script, _pelvis_still(5.0, 0.0), start=False)
    assert "STATE 3" in board.out  # S_NO_IMU
    results = {r.token: r.result for r in _replies(board)}
    assert results[1] == Result.FAILED and results[2] == Result.OK
    s = _samples(board)
    assert len(s["seq"]) >= 150
    assert np.allclose(s["tilt_deg"][-50:], 5.0, atol=0.5)


def test_an_outage_longer_than_the_ring_keeps_the_time_axis_on_the_imu_clock(
    mpy, deployed, tmp_path
) -> None:
    """45 s without samples (4500 at 100 Hz) against a ring of 333 raw samples: the last 333
    come as placeholders, the rest is a gap in seq, and seq and time go on together; the host
    gets an ERROR with the exact count."""
    script = "\n".join(
        [
            f"cmd('{cmd_start(1).hex()}')",
            "run(100)",
            "take = a.imu.take_lost",
            "pending = [4500]",
            "a.imu.take_lost = lambda: pending.pop() if pending else take()",
            "run(200)",
            "print('CAP', a.ring.capacity, 'INDEX', a.sample_index)",
        ]
    )
    board = _run_board(mpy, deployed, tmp_path, script, _pelvis_still(0, 0))
    frames = [f for f in board.frames if isinstance(f, SamplesFrame)]
    seq = np.concatenate([f.seq + np.arange(f.count) for f in frames])
    t = np.concatenate([f.t_100us + 100 * np.arange(f.count) for f in frames])
    assert np.all(t - 100 * seq == t[0] - 100 * seq[0]), "time stays on the IMU clock"
    cap = int(board.out.split("CAP")[1].split()[0])
    gaps = np.flatnonzero(np.diff(seq) != 1)
    assert len(gaps) == 1
    gap = int(seq[gaps[0] + 1] - seq[gaps[0]] - 1)
    placeholders = int(np.isnan(_samples(board)["acc_x_mps2"]).sum())
    # the samples read in the same pass push the oldest placeholders out of the full ring
    assert cap - 4 <= placeholders <= cap
    assert gap + placeholders == 4500, "each lost sample once: a placeholder or in the gap"
    errors = [f for f in board.frames if isinstance(f, ErrorFrame)]
    assert [(int(e.code), e.text) for e in errors] == [(1, "4500 samples lost")]


def test_setup_code_is_loaded_on_demand_in_the_rings_memory(mpy, deployed, tmp_path) -> None:
    """The setup commands (setup_cmds, mounting) are not resident: while nothing streams they
    load into the memory the ring lends them and are dropped after; the ring comes back and
    the stream starts (docs/firmware.md "Memory budget"). The first load interns the modules'
    names for good, which may cost the ring some bytes on a tight heap; later loads cost
    nothing: a second round leaves the ring as the first did."""
    probe = (
        "import sys\n"
        "print('M', int('setup_cmds' in sys.modules), int('mounting' in sys.modules), "
        "len(a.ring.buf), a.ring.capacity, int(a.memory_error is not None))\n"
    )
    rounds = []
    for k in range(2):
        rounds += [
            f"cmd('{cmd_align_mounting(10 * k + 1, 1).hex()}')",  # stand still: ring lent
            "run(8)",
            probe,
            "run(300)",  # 2 s of standing still: phase 1 answered, the capture waits
            probe,
            f"cmd('{cmd_start(10 * k + 2).hex()}')",  # abandons the waiting capture
            "run(8)",
            probe,
            f"cmd('{cmd_set_rate(10 * k + 3, 200).hex()}')",  # streaming: BUSY, not lent
            "run(8)",
            probe,
            f"cmd('{cmd_stop(10 * k + 4).hex()}')",
            "run(8)",
        ]
    board = _run_board(mpy, deployed, tmp_path, "\n".join([probe, *rounds]), _pelvis_still(0, 0))
    states = [line.split()[1:] for line in board.out.splitlines() if line.startswith("M ")]
    assert states[0][:3] == ["0", "0", "6000"] and states[0][4] == "0", "not resident at boot"
    for r in range(2):
        lent, waiting, started, busy = states[1 + 4 * r : 5 + 4 * r]
        assert lent[:4] == ["1", "1", "0", "0"], "loaded while the capture runs, ring lent"
        assert waiting[:4] == ["1", "1", "0", "0"], "the capture waits for its next phase"
        smaller = int(started[2]) < 6000
        assert started[4] == str(int(smaller)), "a memory error only for a ring back smaller"
        assert started[:2] == ["0", "0"] and int(started[3]) > 0, "START: dropped, ring back"
        assert busy == started, "a command while streaming lends nothing"
    assert states[8] == states[4], "the second round costs the ring nothing"
    results = {r.token: r.result for r in _replies(board)}
    assert results == {
        t + 10 * k: res
        for k in range(2)
        for t, res in ((1, Result.OK), (2, Result.OK), (3, Result.BUSY), (4, Result.OK))
    }
    assert any(isinstance(f, SamplesFrame) for f in board.frames), "the stream runs"


def test_set_content_before_start_keeps_the_ring_and_loads_no_setup_code(
    mpy, deployed, tmp_path
) -> None:
    """The host sends SET_CONTENT before every START (orchestrate.stream): it is resident, so
    a session's start neither loads setup_cmds nor lends the ring (on the DevKitC the first
    load brought the ring back at 1.7 kB instead of 8.8 kB, docs/hardware.md)."""
    probe = (
        "import sys\n"
        "print('M', int('setup_cmds' in sys.modules), len(a.ring.buf), a.ring.capacity)\n"
    )
    script = "\n".join(
        [
            f"cmd('{cmd_set_content(1, False).hex()}')",  # as the host: content, then START
            "run(4)",
            probe,
            f"cmd('{cmd_start(2).hex()}')",
            "run(40)",
            probe,
            f"cmd('{cmd_stop(3).hex()}')",
            f"cmd('{cmd_set_content(4, True).hex()}')",
            "run(4)",
            probe,
        ]
    )
    board = _run_board(mpy, deployed, tmp_path, script, _pelvis_still(0, 0))
    states = [line.split()[1:] for line in board.out.splitlines() if line.startswith("M ")]
    assert states == [["0", "6000", "1000"], ["0", "6000", "1000"], ["0", "6000", "333"]]
    assert {r.token: r.result for r in _replies(board)} == {
        1: Result.OK,
        2: Result.OK,
        3: Result.OK,
        4: Result.OK,
    }
    configs = [f for f in board.frames if isinstance(f, ConfigFrame)]
    contents = [c.content & 1 for c in configs]
    assert 0 in contents and contents[-1] == 1, "each SET_CONTENT applied (a new CONFIG)"


def test_start_takes_the_ring_back_when_a_setup_command_left_it_without_memory(
    mpy, deployed, tmp_path
) -> None:
    """The ring's memory did not come back after a setup command (a MemoryError in
    ``Ring.restore``): START tries again instead of answering FAILED until a reboot."""
    script = "\n".join(
        [
            "from ring import Ring",
            "tries = [0]",
            "def restore_fails_once():",
            "    tries[0] += 1",
            "    if tries[0] == 1:",
            "        raise MemoryError",
            "    Ring.restore(a.ring)",
            "a.ring.restore = restore_fails_once",
            f"cmd('{cmd_set_rate(1, 200).hex()}')",  # a setup command: the ring lends its memory
            "run(8)",
            "print('M', a.ring.capacity, a.memory_error is not None)",
            f"cmd('{cmd_start(2).hex()}')",
            "run(40)",
            "print('M', a.ring.capacity, tries[0])",
        ]
    )
    board = _run_board(mpy, deployed, tmp_path, script, _pelvis_still(0, 0))
    states = [line.split()[1:] for line in board.out.splitlines() if line.startswith("M ")]
    assert states == [["0", "True"], ["333", "2"]]
    assert {r.token: r.result for r in _replies(board)} == {1: Result.OK, 2: Result.OK}
    assert any(isinstance(f, SamplesFrame) for f in board.frames), "the stream runs"

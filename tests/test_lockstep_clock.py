"""The virtual board's lockstep clock (docs/virtual-board.md "Time"): the simulation advances
with the test, not with wall time, so a loaded machine slows it down but changes no result.

- On the board, ``time`` is the simulation clock: ticks move only by sleeps and bus time,
  the chips fill their FIFOs by it, and ticks wrap at the port's period.
- A board process frozen by the machine (SIGSTOP: what a loaded machine does to it, only
  longer) loses no sample in lockstep; on the wall clock the same freeze overflows its FIFO.
- A host that stops taking in data holds the board's clock: the board never runs more than a
  grant ahead of what the host has received.
- The host's clock (``VirtualRadio.clock_s``) is the boards' simulated time, monotonic across
  restarts, running on with wall time only when no board clock moves (a dead board).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import struct
import time
from pathlib import Path

import pytest
from conftest import CapturedWriter
from hipsense import paths
from hipsense.link.session import SampleBlock, Session
from hipsense.link.transport.ble import BleTransport
from hipsense.orchestrate.stream import StreamOptions, stream
from hipsense.virtual.bleak_backend import VirtualClient, VirtualScanner
from hipsense.virtual.launch import RunningVirtualBoard, VirtualBoardOptions, virtual_board
from hipsense.virtual.radio import GRANT_MS, Msg, VirtualBoard, VirtualRadio

SPEED = 8.0


def lockstep_path() -> list[Path]:
    sim = paths.mpy_sim_dir()
    return [sim / "lockstep", sim, paths.firmware_dir()]


def test_the_boards_time_is_the_simulation_clock(mpy, monkeypatch) -> None:
    """``time`` on a lockstep board: ticks move by sleeps and I2C bus time only, the FIFO
    fills by them, and the ticks wrap at the port's period (2**30 ms on the ESP32-like port)."""
    monkeypatch.setenv("HIPSENSE_SIM_CLOCK", "lockstep")
    code = """
import json, sys, time
import _simclock, _vboard, machine, imu
_vboard.clear_bus(0)
_vboard.add_chip("mpu6500")
_vboard.set_clock_error(0.0)
i2c = machine.SoftI2C(scl=machine.Pin(22), sda=machine.Pin(21))
drv = imu.probe(i2c)
drv.configure(100)
buf = bytearray(12 * 42)
drv.read(buf, 42)  # empty the FIFO
t0_ms = time.ticks_ms()
u0 = _simclock.now_us()
time.sleep_ms(250)
slept_us = _simclock.now_us() - u0
n = drv.read(buf, 42)
read_us = _simclock.now_us() - u0 - slept_us  # the transfers' bus time
elapsed_ms = time.ticks_diff(time.ticks_ms(), t0_ms)
mask = time.ticks_add(0, -1)
_simclock._now_us = (mask - 4) * 1000  # 5 ms before the tick counter wraps
a = time.ticks_ms()
time.sleep_ms(10)
b = time.ticks_ms()
print(json.dumps([slept_us, n, read_us, elapsed_ms, a, b, time.ticks_diff(b, a),
                  time.time() > 1.7e9, sys.modules["time"] is time]))
"""
    out = mpy(code, path=lockstep_path(), heapsize="1M")
    slept_us, n, read_us, elapsed_ms, a, b, wrapped_ms, wall_ok, shadowed = json.loads(
        out.strip().splitlines()[-1]
    )
    assert slept_us == 250_000, "a sleep moves the clock by exactly its length"
    assert n in (25, 26), "100 Hz for 250 ms of simulated time (and the read's own bus time)"
    assert 0 < read_us < 10_000, "the I2C transfers take their bus time on the clock"
    assert elapsed_ms == (250_000 + read_us) // 1000
    assert b < a and wrapped_ms == 10, "ticks wrap at the port's period, ticks_diff across it"
    assert wall_ok and shadowed, "time.time() is still the wall clock; the module is the shadow"


def ble(running: RunningVirtualBoard) -> BleTransport:
    return BleTransport(
        running.name,
        scanner_backend=VirtualScanner,
        client_backend=VirtualClient,
        backend_kwargs={"radio": running.radio},
        scan_timeout_s=10.0,
    )


@pytest.mark.parametrize("clock", ["lockstep", "wall"])
async def test_a_frozen_board_process_loses_samples_only_on_the_wall_clock(
    tmp_path: Path, clock: str
) -> None:
    """The board's process stopped for 1.5 s of wall time (12 s of simulation at --speed 8,
    far beyond its 1 KiB FIFO): on the wall clock the FIFO overflows and the board reports the
    samples lost (or its watchdog resets it); in lockstep its clock stood still with it, and
    nothing is lost."""
    options = VirtualBoardOptions(scenario="still", speed=SPEED, clock=clock)
    frozen: list[float] = []
    async with virtual_board(options) as running:

        def freeze(block: SampleBlock, _session: Session) -> None:
            if not frozen and float(block.t_device_s[-1]) >= 2.0:
                frozen.append(float(block.t_device_s[-1]))
                os.kill(running.process.pid, signal.SIGSTOP)
                try:
                    time.sleep(1.5)  # the host is blocked too, as on a machine out of CPU
                finally:
                    os.kill(running.process.pid, signal.SIGCONT)

        summary = await stream(
            StreamOptions(
                transport=ble(running),
                device=running.name,
                seconds=6.0,
                clock=running.radio.clock_s if clock == "lockstep" else None,
            ),
            freeze,
        )
    assert frozen and summary.problem is None, summary.problem
    if clock == "lockstep":
        assert summary.lost == 0 and summary.losses == []
        assert summary.samples >= 600
    else:
        # 12 s of simulation passed while it was stopped: its FIFO overflowed, or its 8 s
        # watchdog reset it (the samples of its reboot are lost too)
        assert summary.lost > 100 and summary.losses, summary


async def test_a_host_that_stops_taking_data_holds_the_boards_clock() -> None:
    """The host's event loop blocked for 1 s of wall time (8 s of simulation at --speed 8):
    the board waits for its next grant, so its clock never runs more than a few grants ahead
    of the newest sample the host has taken in."""
    options = VirtualBoardOptions(scenario="still", speed=SPEED)
    lags: list[float] = []
    blocked: list[bool] = []
    async with virtual_board(options) as running:

        def watch(block: SampleBlock, _session: Session) -> None:
            t_dev = float(block.t_device_s[-1])
            lags.append(running.radio.clock_s() - t_dev)
            if not blocked and t_dev >= 2.0:
                blocked.append(True)
                time.sleep(1.0)

        summary = await stream(
            StreamOptions(
                transport=ble(running),
                device=running.name,
                seconds=5.0,
                clock=running.radio.clock_s,
            ),
            watch,
        )
    assert blocked and summary.problem is None and summary.lost == 0
    spread_s = max(lags) - min(lags)
    assert spread_s < 0.3, f"the board ran {spread_s:.2f} s ahead of the host"


async def test_a_waiting_board_is_granted_time_past_what_it_waits_for() -> None:
    radio = VirtualRadio()  # no speed limit: as fast as the machine goes
    writer = CapturedWriter()
    board = VirtualBoard(writer)  # type: ignore[arg-type]
    radio.boards.append(board)
    await radio._grant(board, struct.pack("<II", 1_000, 1_005))
    assert board.sim_ms == 1_000 and radio.clock_s() == 1.0
    assert writer.sent == [
        struct.pack("<HB", 5, Msg.CLOCK_GRANT) + struct.pack("<I", 1_005 + GRANT_MS)
    ]


def test_the_host_clock_is_simulated_time_with_a_backstop_for_a_dead_board() -> None:
    wall = [100.0]
    radio = VirtualRadio(speed=4.0)
    radio._wall_s = lambda: wall[0]
    board = VirtualBoard(CapturedWriter())  # type: ignore[arg-type]
    radio.boards.append(board)
    board.sim_ms = 2_000
    assert radio.clock_s() == 2.0
    wall[0] += 4.0  # the board's clock stands still, shorter than the backstop
    assert radio.clock_s() == 2.0
    wall[0] += 3.0  # 2 s past the backstop: runs on at 4 x wall time
    assert radio.clock_s() == pytest.approx(2.0 + 2.0 * 4.0)
    board.sim_ms = 2_500  # the board moves again: the clock never goes back
    assert radio.clock_s() == pytest.approx(2.5 + 8.0)
    board.alive = False  # a restart: the new process counts from 0, the host's clock goes on
    radio._sim_base_ms += board.sim_ms
    radio.boards.append(new := VirtualBoard(CapturedWriter()))  # type: ignore[arg-type]
    new.sim_ms = 300
    assert radio.clock_s() == pytest.approx(2.8 + 8.0)


def test_ctrl_c_while_a_board_waits_for_its_grant_ends_without_a_traceback() -> None:
    """Ctrl-C while a lockstep board waits to be paced (the first seconds of every virtual
    `hipsense walk`): asyncio.run cancels the radio's connection handler, which must end
    quietly; a cancelled handler made Python 3.11's stream server log "Exception in callback"
    with a traceback under the command's "interrupted (Ctrl-C)" message."""
    logged: list[dict[str, object]] = []

    async def main() -> None:
        asyncio.get_running_loop().set_exception_handler(lambda _loop, ctx: logged.append(ctx))
        radio = VirtualRadio(speed=1.0)
        endpoint = await radio.start()
        host, port = endpoint.removeprefix("tcp:").rsplit(":", 1)
        _reader, writer = await asyncio.open_connection(host, int(port))
        body = bytes([Msg.CLOCK_WAIT]) + struct.pack("<II", 5, 60_000)  # a minute ahead
        writer.write(struct.pack("<H", len(body)) + body)
        await writer.drain()
        while not (radio.boards and radio.boards[0].sim_ms == 5):
            await asyncio.sleep(0.01)
        handlers = list(radio._serving)
        for task in handlers:  # what asyncio.run does to the tasks left at Ctrl-C
            task.cancel()
        await asyncio.gather(*handlers, return_exceptions=True)
        await asyncio.sleep(0)  # the server's done callbacks run
        writer.close()
        await radio.close()

    asyncio.run(main())
    assert [ctx.get("message") for ctx in logged] == []

"""Serial link end to end: firmware/link_serial.py on the MicroPython unix port talking through
its stdin/stdout (as on the board's USB console) to SerialTransport + Session over a pty, with
a relay in between that damages bytes (flips, drops, inserts).

Time (docs/virtual-board.md "Time"): the producer runs on the lockstep clock. Its Bluetooth
radio is on, as on a board (it does not advertise): through it the host's
:class:`~hipsense.virtual.radio.VirtualRadio` grants the board its simulated time, at most
``SPEED`` times wall time, and the session's deadlines (command answers, RESEND) run on that
clock (``VirtualRadio.clock_s``), so a loaded machine slows the test down but changes no
result. The ring holds every sample of a test (9000 of angles), so nothing can be overwritten:
the only way to lose a sample is the session's own give-up rule.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pty
import random
import subprocess
import threading
import tty
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hipsense import paths
from hipsense.link.protocol import (
    Command,
    ReplyFrame,
    SamplesFrame,
    SerialDeframer,
    decode_frame,
    serial_encode,
)
from hipsense.link.session import Session
from hipsense.link.transport.base import AdapterUnavailable
from hipsense.link.transport.serial import SerialTransport
from hipsense.virtual.radio import VirtualRadio
from hipsense.virtual.runner import micropython_argv, micropython_env
from test_link_e2e import collect  # the blocks until the last sample, on the board's clock

MPY_SUPPORT_DIR = Path(__file__).parent / "mpy_support"  # heapcheck.alloc_error
SPEED = 10  # at most this many simulated seconds per real second (lockstep)

PRODUCER = r"""
import gc, sys, time
from ring import Ring
ring = Ring(54000)
ring.configure(False, 100, 0)
gc.collect()
import _simclock, bluetooth, protocol
from link_serial import SerialLink
bluetooth.BLE().active(True)  # the radio's socket carries the host's grants of simulated time

N = N_SAMPLES
def on_command(buf, n):
    result, token, command = protocol.parse_command(buf, n)
    link.send_reply(token, command, result)
    if command == protocol.CMD_GET_CONFIG and result == protocol.R_OK:
        link.send_config(0, 3, 100, 100, 0.0005985, 0.0152, 99, 0)

link = SerialLink(ring, on_command)
link.send_config(0, 3, 100, 100, 0.0005985, 0.0152, 99, 0)
produced = 0
t_next = 0
reported = False
while True:
    now = int(_simclock.now_s() * 1000)
    while link.active and produced < N and t_next <= now:
        v = produced % 30000
        ring.push(v, -v, produced // 30000)
        produced += 1
        t_next += 10
    link.pump(now)
    if produced >= N and not reported:
        reported = True
        sys.stderr.write("SUMMARY %d %d %d\n" % (produced, link.crc_errors, link.framing_errors))
    time.sleep_ms(1)
"""


def damage(data: bytes, rng: random.Random, p: float) -> bytes:
    out = bytearray(data)
    i = 0
    while i < len(out):
        if rng.random() < p:
            kind = rng.randrange(3)
            if kind == 0:
                out[i] ^= 1 << rng.randrange(8)
            elif kind == 1:
                del out[i]
                continue
            else:
                out.insert(i, rng.randrange(256))
                i += 1
        i += 1
    return bytes(out)


@dataclass
class SerialBoard:
    port: str
    radio: VirtualRadio
    stderr: list[str]
    damage_on: threading.Event
    """Set: the relay damages the bytes the board sends (before: it passes them intact)."""


@contextlib.asynccontextmanager
async def serial_board(
    n_samples: int, p_damage: float, seed: int = 7
) -> AsyncIterator[SerialBoard]:
    radio = VirtualRadio(speed=SPEED)
    endpoint = await radio.start()
    sim = paths.mpy_sim_dir()
    env = micropython_env([sim / "lockstep", sim, paths.firmware_dir()])  # its ``time`` too
    env.update(HIPSENSE_SIM_CLOCK="lockstep", HIPSENSE_VBLE_ENDPOINT=endpoint)
    proc = subprocess.Popen(
        [*micropython_argv("260K"), "-c", PRODUCER.replace("N_SAMPLES", str(n_samples))],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    master, slave = pty.openpty()
    tty.setraw(slave)
    rng = random.Random(seed)
    board_in, board_out = proc.stdin, proc.stdout
    damage_on = threading.Event()

    def to_host() -> None:
        with contextlib.suppress(OSError):
            while chunk := os.read(board_out.fileno(), 4096):
                os.write(master, damage(chunk, rng, p_damage) if damage_on.is_set() else chunk)

    def to_board() -> None:
        with contextlib.suppress(OSError, ValueError):
            while chunk := os.read(master, 4096):
                board_in.write(chunk)
                board_in.flush()

    threads = [threading.Thread(target=f, daemon=True) for f in (to_host, to_board)]
    for t in threads:
        t.start()
    stderr: list[str] = []
    try:
        await _said_hello(radio, proc)  # its clock runs from here
        yield SerialBoard(os.ttyname(slave), radio, stderr, damage_on)
    finally:
        proc.kill()
        stderr.append(proc.stderr.read().decode())
        proc.wait()
        os.close(master)
        os.close(slave)
        for t in threads:
            t.join(2.0)
        await radio.close()
        assert "Traceback" not in stderr[-1], stderr[-1]


async def _said_hello(radio: VirtualRadio, proc: subprocess.Popen[bytes]) -> None:
    """Until the board's radio said hello (it registers no GATT service: no
    ``wait_for_board``); 15 s of wall time at the most, for a board that fails to start."""
    for _ in range(300):
        if any(b.address for b in radio.boards) or proc.poll() is not None:
            return
        await asyncio.sleep(0.05)


@pytest.mark.parametrize("p_damage", [0.0, 2e-4])
async def test_serial_stream_survives_byte_damage(p_damage: float) -> None:
    n = 3000  # 30 s of 100 Hz samples on the board's clock, 3 s of wall time at the least
    async with serial_board(n, p_damage) as board:
        transport = SerialTransport(board.port)
        session = Session(transport, command_timeout_s=1.0, now_s=board.radio.clock_s)
        async with session:
            assert transport._serial is not None
            transport._serial.write(b"garbage\x00")  # REPL noise before the first frame
            await session.command(Command.START)
            board.damage_on.set()  # from here on (its answer arrived whole)
            blocks = await collect(session, board.radio, n, 120.0)
            assert board.radio.clock_s() >= 29.9  # the board's own clock: 3000 samples, 10 ms apart
    seqs = [int(s) for b in blocks for s in b.seq]
    assert seqs == list(range(n))
    angles = [int(a) for b in blocks for a in b.angles_cdeg[:, 0]]
    assert angles == [s % 30000 for s in seqs]
    assert session.stats.lost == 0 and session.losses == []
    damaged = transport.deframer.crc_errors + transport.deframer.framing_errors
    if p_damage:
        assert damaged > 0 and session.stats.resends > 0  # damaged frames were asked again
    else:
        assert damaged == 0
    summary = next(line for line in board.stderr[-1].splitlines() if line.startswith("SUMMARY"))
    assert int(summary.split()[1]) == n
    assert int(summary.split()[3]) >= 1  # the board resynchronised after the garbage


def test_serial_tokens_avoid_ctrl_c() -> None:
    transport = SerialTransport("loop://")
    frames = [bytes((1, 4, token, Command.GET_CONFIG)) for token in range(1, 256)]
    ok = [f for f in frames if transport.token_ok(f)]
    assert all(0x03 not in serial_encode(f) for f in ok)
    assert frames[2] not in ok and len(frames) - 40 < len(ok) < len(frames)
    # The session picks such a token whenever one exists.
    session = Session(transport)
    for _ in range(300):
        _, frame = session._new_token(Command.GET_CONFIG, b"")
        assert 0x03 not in serial_encode(frame)


async def test_serial_port_that_cannot_open_says_what_to_check() -> None:
    with pytest.raises(AdapterUnavailable, match=r"cannot open serial port.*dialout") as err:
        await SerialTransport("/dev/does-not-exist").open()
    # the command it points to exists (`hipsense info` did not)
    assert "`hipsense board info` without --port lists the ports" in str(err.value)
    import click
    from hipsense.cli import cli

    ctx = click.Context(cli)
    board = cli.get_command(ctx, "board")
    assert isinstance(board, click.Group)
    info = board.get_command(ctx, "info")
    assert info is not None and any(p.name == "port" for p in info.params)


def test_serial_sample_path_allocates_nothing() -> None:
    code = r"""
import sys, micropython
from heapcheck import alloc_error
from ring import Ring
ring = Ring(6000)
import protocol
from link_serial import SerialLink
def on_command(buf, n):
    result, token, command = protocol.parse_command(buf, n)
    link.send_reply(token, command, result)
link = SerialLink(ring, on_command)
for i in range(50):          # the framed GET_CONFIG on stdin switches the console to frames
    ring.push(i, 0, 0)
    link.pump(10 * i)
def hot():
    for i in range(50, 250):
        ring.push(i, 0, 0)
        link.pump(10 * i)
err = alloc_error(hot)
sys.stderr.write("ACTIVE %s %s\n" % (link.active, "ALLOC" if err else "NOALLOC"))
"""
    env = micropython_env([paths.mpy_sim_dir(), paths.firmware_dir(), MPY_SUPPORT_DIR])
    command = serial_encode(bytes((1, 4, 1, Command.GET_CONFIG)))
    proc = subprocess.run(
        [*micropython_argv("120K"), "-c", code],
        env=env,
        input=command,
        capture_output=True,
        timeout=60,
    )
    assert proc.stderr.decode().split()[-3:] == ["ACTIVE", "True", "NOALLOC"], proc.stderr
    frames = SerialDeframer().feed(proc.stdout)
    decoded = [decode_frame(f) for f in frames]
    seqs = [int(s) for f in decoded if isinstance(f, SamplesFrame) for s in f.seqs()]
    assert seqs == list(range(len(seqs))) and len(seqs) >= 245
    assert any(isinstance(f, ReplyFrame) for f in decoded)

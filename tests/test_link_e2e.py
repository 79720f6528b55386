"""End to end on the virtual board: firmware link under MicroPython, simulated ``bluetooth`` on
the lockstep clock, socket bridge, the custom bleak backend, BleTransport and Session.

The board side is a synthetic producer (not main.py): 100 Hz samples with raw content whose
values encode the sequence number, so the host can check every sample it got.

Time (docs/virtual-board.md "Time"): the producer's clock is the lockstep simulation clock,
which moves only as far as the radio grants and at most ``SPEED`` times wall time; the
session's deadlines (command answers, RESEND) and each test's own deadline run on that clock
(``VirtualRadio.clock_s``), so a loaded machine slows a test down but changes no result.
"""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
import tempfile
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from hipsense import paths
from hipsense.errors import HipsenseError
from hipsense.link.protocol import (
    Command,
    ReplyFrame,
    UnsupportedProtocolVersion,
    decode_frame,
)
from hipsense.link.session import (
    RESEND_TIMEOUT_S,
    CommandTimeout,
    SampleBlock,
    Session,
    SessionClosed,
)
from hipsense.link.transport.ble import BleTransport, connect, scan
from hipsense.virtual.bleak_backend import VirtualClient, VirtualScanner
from hipsense.virtual.launch import bond_host
from hipsense.virtual.radio import Msg, VirtualBoard, VirtualRadio
from hipsense.virtual.runner import micropython_argv, micropython_env

SPEED = 25  # at most this many simulated seconds per real second (lockstep)

PRODUCER = r"""
import gc, sys, time
from ring import Ring
ring = Ring(RING_BYTES)
ring.configure(True, 100, 0)
gc.collect()
import bluetooth, json, _simclock
import protocol
from link_ble import BleLink, name_suffix

N = N_SAMPLES
SILENT = SILENT_COMMANDS
BAD_AT_MS = BAD_VERSION_AT_MS

def on_command(buf, n):
    result, token, command = protocol.parse_command(buf, n)
    if command in SILENT:
        return
    link.send_reply(token, command, result)
    if command == protocol.CMD_GET_CONFIG and result == protocol.R_OK:
        link.send_config(1, 3, 100, 100, 0.0005985, 0.0152, 777, 0)

ble = bluetooth.BLE()
link = BleLink(ble, ring, name_suffix(ble), on_command, model="virtual")
link.send_config(1, 3, 100, 100, 0.0005985, 0.0152, 777, 0)

def now_ms():
    return int(_simclock.now_s() * 1000)

produced = 0
t_next = 0
reported = False
bad_sent = False
while True:
    now = now_ms()
    while produced < N and t_next <= now:
        v = produced % 30000
        ring.push_raw(v, -v, produced // 30000, v, 1, 2, 3, 4, 5)
        produced += 1
        t_next += 10
    link.pump(now)
    if 0 <= BAD_AT_MS <= now and not bad_sent and link.conn >= 0 and link.ready:
        try:
            ble.gatts_notify(link.conn, link._h_data, b"\x02\x01\x00\x01\x00\x00\x00\x00")
            bad_sent = True
        except OSError:
            pass  # the controller queue is full (a backlog): try again on the next pass
    if produced >= N and not reported:
        reported = True
        print(json.dumps({"produced": produced, "board_lost": ring.lost,
                          "stats": bluetooth.sim_stats(), "refusals": link.refusals,
                          "connections": link.connections, "refused": link.refused}))
    time.sleep_ms(1)
"""


@dataclass
class Board:
    proc: subprocess.Popen[str]
    radio: VirtualRadio
    board: VirtualBoard

    def summary(self) -> dict:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith("{"):
                return json.loads(line)
        raise AssertionError("the producer ended without a summary")


@contextlib.asynccontextmanager
async def virtual_board(
    n_samples: int,
    *,
    ring_bytes: int = 54000,
    silent: tuple[int, ...] = (),
    bad_version_at_ms: int = -1,
    bond: bool = True,
) -> AsyncIterator[Board]:
    """The producer; ``bond``: this host bonds during the new board's first pairing window
    (as ``hipsense pair`` does), so its link is encrypted."""
    radio = VirtualRadio(speed=SPEED)  # lockstep: the board runs as far as the radio grants
    endpoint = await radio.start()
    code = (
        PRODUCER.replace("RING_BYTES", str(ring_bytes))
        .replace("N_SAMPLES", str(n_samples))
        .replace("SILENT_COMMANDS", repr(silent))
        .replace("BAD_VERSION_AT_MS", str(bad_version_at_ms))
    )
    sim = paths.mpy_sim_dir()
    env = micropython_env([sim / "lockstep", sim, paths.firmware_dir()])  # its ``time`` too
    env.update(
        HIPSENSE_SIM_CLOCK="lockstep",
        HIPSENSE_VBLE_ENDPOINT=endpoint,
        HIPSENSE_SIM_SPEED=str(SPEED),
        HIPSENSE_VBLE_ADDR="02:48:53:00:AB:CD",
    )
    flash = tempfile.TemporaryDirectory(prefix="hipsense-e2e-")  # the bond store's folder
    proc = subprocess.Popen(
        # the producer compiles its modules from source: 168 kB besides the ring
        [*micropython_argv(f"{168 + ring_bytes // 1000}K"), "-c", code],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=flash.name,
    )
    try:
        board = await radio.wait_for_board(15.0)
        if bond:
            await bond_host(radio, board)
        yield Board(proc, radio, board)
    finally:
        proc.kill()
        _, err = proc.communicate(timeout=10)
        await radio.close()
        flash.cleanup()
        assert "Traceback" not in err, err


def on_radio(radio: VirtualRadio) -> dict[str, Any]:
    """``BleTransport``'s keywords for the virtual board on ``radio``."""
    return {
        "scanner_backend": VirtualScanner,
        "client_backend": VirtualClient,
        "backend_kwargs": {"radio": radio},
        "scan_timeout_s": 5.0,
        "backoff_s": (0.02, 0.05, 0.1),
    }


def transport(radio: VirtualRadio, name: str | None = "hipsense-ABCD") -> BleTransport:
    return BleTransport(name, **on_radio(radio))


def session_on(b: Board, **kwargs: Any) -> Session:
    """A session with the board whose deadlines (command answers, RESEND) run on the
    board's simulated clock."""
    return Session(transport(b.radio), now_s=b.radio.clock_s, **kwargs)


async def collect(
    session: Session,
    radio: VirtualRadio,
    n_samples: int,
    within_s: float,
    on_first: Callable[[], None] | None = None,
) -> list[SampleBlock]:
    """The blocks until sample ``n_samples - 1`` arrived, or until ``within_s`` more seconds
    of simulated time passed (``radio.clock_s``: the board's clock, so a loaded machine does
    not cut a stream short); ``on_first`` runs once the first block arrived."""
    blocks: list[SampleBlock] = []
    t_end = radio.clock_s() + within_s
    while radio.clock_s() < t_end:
        try:
            block = await session.receive(0.05)
        except SessionClosed:
            break
        if block is None:
            continue
        blocks.append(block)
        if on_first is not None and len(blocks) == 1:
            on_first()
        if int(block.seq[-1]) + 1 >= n_samples:
            break
    return blocks


def check_values(blocks: list[SampleBlock]) -> np.ndarray:
    seq = np.concatenate([b.seq for b in blocks])
    angles = np.concatenate([b.angles_cdeg for b in blocks]).astype(np.int64)
    raw = np.concatenate([b.raw for b in blocks if b.raw is not None])
    assert len(raw) == len(seq)  # raw content all the way (MTU 247)
    # The producer's pattern: tilt = seq mod 30000, obliquity = -tilt, rotation = seq // 30000.
    np.testing.assert_array_equal(angles[:, 0], seq % 30000)
    np.testing.assert_array_equal(angles[:, 1], -(seq % 30000))
    np.testing.assert_array_equal(angles[:, 2], seq // 30000)
    np.testing.assert_array_equal(raw[:, 1:], np.tile([1, 2, 3, 4, 5], (len(seq), 1)))
    return seq


def test_socket_message_codes_match_the_simulated_module() -> None:
    source = (paths.mpy_sim_dir() / "bluetooth.py").read_text()
    codes = dict(re.findall(r"^MSG_(\w+) = const\((0x[0-9A-F]+)\)", source, re.MULTILINE))
    assert {name: int(v, 16) for name, v in codes.items()} == {m.name: m.value for m in Msg}


async def test_scan_finds_the_virtual_board() -> None:
    async with virtual_board(10) as b:
        found = await scan(1.0, backend=VirtualScanner, radio=b.radio)
        assert [(d.name, d.address) for d in found] == [("hipsense-ABCD", "02:48:53:00:AB:CD")]


async def test_scan_reports_clearly_when_nothing_is_found() -> None:
    from hipsense.link.transport import DeviceNotFound

    async with VirtualRadio() as radio:
        with pytest.raises(DeviceNotFound, match=r"Bluetooth is on.*awake.*another"):
            await connect(
                "0000",
                scanner_backend=VirtualScanner,
                client_backend=VirtualClient,
                backend_kwargs={"radio": radio},
                scan_timeout_s=0.3,
            )


async def test_every_sample_once_in_order_through_forced_disconnects() -> None:
    # 10 minutes at 100 Hz (24 s of wall time at 25x at the most) with eight outages of 1 to
    # 10 s.
    n = 60_000
    outages = [(12_000, 1_000), (70_000, 3_000), (130_000, 10_000), (210_000, 2_000),
               (290_000, 7_000), (370_000, 5_000), (450_000, 9_000), (540_000, 4_000)]  # fmt: skip
    # A 60 s ring: the host's reconnect (its back-off and scan) takes real time, up to x25 in
    # simulated time; the board's clock stands still whenever the host is not scheduled.
    async with virtual_board(n, ring_bytes=108_000) as b:
        for at_ms, down_ms in outages:
            b.radio.disconnect_at(b.board, at_ms, down_ms)
        session = session_on(b)
        t = session.transport
        assert isinstance(t, BleTransport)
        async with session:
            blocks = await collect(session, b.radio, n, 900.0)
            summary = b.summary()
        assert summary["stats"]["forced_disconnects"] == len(outages)
        assert summary["produced"] == n and summary["board_lost"] == 0
        seq = check_values(blocks)
        assert seq.tolist() == list(range(n))  # every sample, once, in order
        assert session.stats.lost == 0 and session.losses == []
        assert session.stats.link_downs == len(outages)
        assert t.reconnects == len(outages)
        assert session.stats.resends >= len(outages)
        # Device time maps to host time; the samples are 10 ms apart on the device clock.
        t_dev = np.concatenate([b.t_device_s for b in blocks])
        np.testing.assert_allclose(np.diff(t_dev), 0.01, atol=1e-9)
        assert session.clock.ready


async def test_random_disconnects_lose_nothing() -> None:
    # 120 s at 100 Hz; outages at random (seeded): every 12 s on average, 1-6 s long.
    n = 12_000
    async with virtual_board(n, ring_bytes=108_000) as b:
        b.radio.random_disconnects(b.board, seed=20261121, mean_interval_ms=12_000,
                                   min_down_ms=1_000, max_down_ms=6_000)  # fmt: skip
        async with session_on(b) as session:
            blocks = await collect(session, b.radio, n, 240.0)
            summary = b.summary()
        assert summary["stats"]["forced_disconnects"] >= 4
        assert check_values(blocks).tolist() == list(range(n))
        assert session.stats.lost == 0
        assert 4 <= session.stats.link_downs <= summary["stats"]["forced_disconnects"]


async def test_outage_longer_than_the_ring_reports_exact_loss() -> None:
    # Ring of 1000 raw samples (10 s at 100 Hz), a 25 s outage: the rest is gone.
    n = 6_000
    async with virtual_board(n, ring_bytes=18_000) as b:
        b.radio.disconnect_at(b.board, 10_000, 25_000)
        async with session_on(b) as session:
            blocks = await collect(session, b.radio, n, 120.0)
            summary = b.summary()
        seq = check_values(blocks)
        missing = sorted(set(range(n)) - set(seq.tolist()))
        assert seq.tolist() == sorted(set(seq.tolist()))  # in order, no duplicates
        assert seq[-1] == n - 1  # and it kept going after the loss
        assert session.stats.lost == len(missing) >= 1_400
        lost_ranges = {
            s for loss in session.losses for s in range(loss.first_seq, loss.first_seq + loss.count)
        }
        assert lost_ranges == set(missing)
        assert all("overwritten" in loss.reason for loss in session.losses)
        # The delivery marks where samples are missing.
        assert sum(b.lost_before for b in blocks) == len(missing)
        assert summary["board_lost"] <= len(missing)


async def test_damaged_notifications_are_counted_and_recovered() -> None:
    n = 3_000
    async with virtual_board(n) as b:
        async with session_on(b) as session:
            # the next three notifications (on the stream, so they carry samples) arrive damaged
            blocks = await collect(
                session, b.radio, n, 60.0, lambda: b.radio.corrupt_notifications(b.board, 3)
            )
        assert session.stats.malformed_frames == 3
        assert check_values(blocks).tolist() == list(range(n))
        assert session.stats.resends >= 1


class RoundTrips(BleTransport):
    """A BLE transport that notes, on the board's clock, when each RESEND went out and when
    its REPLY arrived (by token)."""

    def __init__(self, radio: VirtualRadio) -> None:
        super().__init__("hipsense-ABCD", **on_radio(radio))
        self.radio = radio
        self.asked: dict[int, float] = {}
        self.round_trips_s: list[float] = []

    async def send(self, frame: bytes) -> None:
        if frame[3] == Command.RESEND:
            self.asked[frame[2]] = self.radio.clock_s()
        await super().send(frame)

    def _put_frame(self, data: bytes | bytearray) -> None:
        with contextlib.suppress(HipsenseError):
            frame = decode_frame(bytes(data))
            if isinstance(frame, ReplyFrame) and frame.command == Command.RESEND:
                asked = self.asked.pop(frame.token, None)
                if asked is not None:
                    self.round_trips_s.append(self.radio.clock_s() - asked)
        super()._put_frame(data)


async def test_resend_is_answered_well_within_its_timeout_on_a_slow_link() -> None:
    """``RESEND_TIMEOUT_S`` against a slow central (docs/link.md "RESEND timeout"): a 125 ms
    connection interval (Android's low-power setting at its longest) with 2 notifications per
    connection event and the 8-slot controller queue, a stream of 100 Hz raw data, damaged
    notifications and a forced disconnect: every RESEND is answered within its timeout, less
    the two connection events of its own write (which the virtual radio does not delay), and
    no try runs out."""
    n = 3_000
    async with virtual_board(n) as b:
        b.radio.set_link(b.board, 125.0, 2, 8)
        b.radio.disconnect_at(b.board, 15_000, 2_000)
        t = RoundTrips(b.radio)
        session = Session(t, now_s=b.radio.clock_s)
        async with session:
            blocks = await collect(
                session, b.radio, n, 90.0, lambda: b.radio.corrupt_notifications(b.board, 3)
            )
        assert check_values(blocks).tolist() == list(range(n))
        assert session.stats.malformed_frames == 3 and session.stats.link_downs == 1
        assert session.stats.resend_timeouts == 0 and session.stats.lost == 0
        assert len(t.round_trips_s) >= 2  # after the damage, and after the reconnect
        assert max(t.round_trips_s) < RESEND_TIMEOUT_S - 2 * 0.125, t.round_trips_s


async def test_a_command_that_is_never_answered_times_out() -> None:
    async with virtual_board(500, silent=(8,)) as b:
        async with session_on(b, command_timeout_s=2.5) as session:
            reply = await session.command(Command.START, timeout_s=5.0)
            assert reply.ok
            asked_s = b.radio.clock_s()
            with pytest.raises(CommandTimeout, match=r"GET_STATUS within 2\.5 s"):
                await session.command(Command.GET_STATUS)
            # It waited its 2.5 s on the board's clock (the session looks at a simulated clock
            # every 50 ms of wall time, up to 1.25 s of it at x25: the test's 2.5 s is longer).
            assert b.radio.clock_s() - asked_s >= 2.5
            blocks = await collect(session, b.radio, 500, 30.0)
        assert check_values(blocks).tolist() == list(range(500))


async def test_wrong_protocol_version_stops_the_stream_with_a_clear_error() -> None:
    async with (
        virtual_board(100_000, bad_version_at_ms=3_000) as b,
        session_on(b) as session,
    ):
        got = 0
        t_end = b.radio.clock_s() + 60.0  # the board's clock: a stream that goes on fails
        with pytest.raises(UnsupportedProtocolVersion, match=r"protocol v2.*update hipsense"):
            while b.radio.clock_s() < t_end:
                block = await session.receive(0.05)
                got += 0 if block is None else len(block.seq)
        # The board sent the bad frame at 3 s of its clock, after samples 0-300 at the most;
        # all of them that were on the air before it arrive first (notifications keep order).
        assert 250 < got <= 301

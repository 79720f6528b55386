"""Session logic on a scripted transport: ordering, duplicates, resend, losses, errors, clock."""

from __future__ import annotations

import asyncio
import struct

import numpy as np
import pytest
from conftest import MASK, config, reply, samples
from hipsense.link.clockmap import ClockMap
from hipsense.link.protocol import (
    CommandFrame,
    UnsupportedProtocolVersion,
    decode_frame,
)
from hipsense.link.protocol.constants import Command
from hipsense.link.session import CommandTimeout, SampleBlock, Session
from hipsense.link.transport.base import LinkDown, Transport
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st


class ScriptedBoard(Transport):
    """A transport whose 'board' answers commands; the test delivers frames by hand."""

    def __init__(self, held_from: int = 0, answer: bool = True) -> None:
        super().__init__()
        self.up = False
        self.held_from = held_from  # oldest sample the board still holds
        self.produced = 0
        self.answer = answer
        self.commands: list[CommandFrame] = []

    async def open(self) -> None:
        self.link(True)

    @property
    def connected(self) -> bool:
        return self.up

    def link(self, up: bool) -> None:
        self.up = up
        self._put_state(up, "" if up else "test")

    def deliver(self, data: bytes) -> None:
        self._put_frame(data)

    async def send(self, frame: bytes) -> None:
        if not self.up:
            raise LinkDown("down")
        cmd = decode_frame(frame)
        assert isinstance(cmd, CommandFrame)
        self.commands.append(cmd)
        if not self.answer:
            return
        if cmd.command == Command.RESEND:
            (from_mod,) = struct.unpack("<I", cmd.args)
            from_seq = self.produced - ((self.produced - from_mod) & MASK)
            first = max(from_seq, self.held_from)
            payload = struct.pack("<II", first & MASK, first - from_seq)
            self.deliver(reply(cmd.token, cmd.command, 0, payload))
            for s in range(first, self.produced, 7):
                self.deliver(samples(s, min(7, self.produced - s), resent=True))
        elif cmd.command == Command.GET_CONFIG:
            self.deliver(reply(cmd.token, cmd.command))
            self.deliver(config())
        else:
            self.deliver(reply(cmd.token, cmd.command))


async def drain(session: Session, until_seq: int, timeout_s: float = 3.0) -> list[SampleBlock]:
    blocks: list[SampleBlock] = []

    async def run() -> None:
        async for block in session.samples():
            blocks.append(block)
            if block.seq[-1] + 1 >= until_seq:
                return

    await asyncio.wait_for(run(), timeout_s)
    return blocks


def seqs(blocks: list[SampleBlock]) -> list[int]:
    return [int(s) for b in blocks for s in b.seq]


async def settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    sizes=st.lists(st.integers(1, 38), min_size=3, max_size=40),
    fate=st.lists(
        st.sampled_from(["ok", "ok", "ok", "drop", "dup", "swap", "cut"]), min_size=40, max_size=40
    ),
    start=st.sampled_from([0, 1000, MASK - 150]),
)
def test_exactly_once_in_order_whatever_the_link_does(
    sizes: list[int], fate: list[str], start: int
) -> None:
    """Frames dropped, duplicated, swapped or damaged, and link drops: every sample comes out
    once and in order (nothing is lost because the board still holds everything)."""

    async def run() -> None:
        board = ScriptedBoard(held_from=start)
        board.produced = start
        session = Session(board, command_timeout_s=1.0)
        await session.start()
        await settle()
        frames: list[bytes] = []
        for n in sizes:
            frames.append(samples(board.produced, n))
            board.produced += n
        board.deliver(frames[0])  # the first sample seen is where the stream starts
        i = 1
        while i < len(frames):
            f = fate[i % len(fate)]
            if f == "drop":
                pass
            elif f == "dup":
                board.deliver(frames[i])
                board.deliver(frames[i])
            elif f == "swap" and i + 1 < len(frames):
                board.deliver(frames[i + 1])
                board.deliver(frames[i])
                i += 1
            elif f == "cut":
                board.link(False)
                board.link(True)
            else:
                board.deliver(frames[i])
            i += 1
            await settle()
        board.link(False)
        board.link(True)  # the reconnect asks for everything after the last delivered sample
        blocks = await drain(session, board.produced)
        await session.close()
        got = seqs(blocks)
        # Unwrapped sequence numbers: the first one seen is the origin.
        assert [g - got[0] for g in got] == list(range(board.produced - start))
        assert session.stats.lost == 0

    asyncio.run(run())


async def test_loss_beyond_the_ring_is_reported_exactly() -> None:
    board = ScriptedBoard()
    async with Session(board, command_timeout_s=1.0) as session:
        await settle()
        board.deliver(samples(0, 30))
        board.deliver(samples(30, 20))
        board.produced = 50
        board.link(False)
        board.produced = 400
        board.held_from = 300  # 250 samples were overwritten while the host was away
        board.link(True)
        blocks = await drain(session, 400)
    assert seqs(blocks) == list(range(50)) + list(range(300, 400))
    assert session.stats.lost == 250
    assert [(x.first_seq, x.count) for x in session.losses] == [(50, 250)]
    assert blocks[-1].lost_before + sum(b.lost_before for b in blocks[:-1]) == 250


async def test_malformed_and_unknown_frames_are_counted_not_fatal() -> None:
    board = ScriptedBoard()
    async with Session(board, command_timeout_s=1.0) as session:
        await settle()
        board.deliver(samples(0, 5))
        board.deliver(b"\x01\x01\x00\x05")  # SAMPLES header cut short
        board.deliver(samples(5, 5)[:-1])  # one byte short
        board.deliver(b"\x01\x7e\x00")  # a frame type from the future
        board.deliver(b"\x01\x7e\x01")  # reported once, counted twice
        board.deliver(samples(10, 5))  # a gap: the session asks again
        board.produced = 15
        blocks = await drain(session, 15)
    assert seqs(blocks) == list(range(15))
    assert session.stats.malformed_frames == 2
    assert session.stats.unknown_frames == 2 and session.stats.unknown_types == {0x7E}
    assert any(c.command == Command.RESEND for c in board.commands)


async def test_wrong_version_stops_with_a_clear_error() -> None:
    board = ScriptedBoard()
    async with Session(board, command_timeout_s=1.0) as session:
        await settle()
        board.deliver(samples(0, 5))
        board.deliver(b"\x02" + samples(5, 5)[1:])
        got: list[int] = []
        with pytest.raises(UnsupportedProtocolVersion, match=r"v2.*v1.*update hipsense"):
            async for block in session.samples():
                got += block.seq.tolist()
        assert got == list(range(5))
        # Waiting commands fail with the same error instead of timing out.
        with pytest.raises((UnsupportedProtocolVersion, LinkDown)):
            await session.command(Command.START)


async def test_unanswered_command_times_out_and_late_replies_are_counted() -> None:
    board = ScriptedBoard(answer=False)
    async with Session(board, command_timeout_s=0.2) as session:
        with pytest.raises(CommandTimeout, match=r"did not answer START within 0\.2 s"):
            await session.command(Command.START)
        # the START's token (the session's hello GET_CONFIG may be sent after it)
        token = next(c.token for c in reversed(board.commands) if c.command == Command.START)
        board.deliver(reply(token, Command.START))
        await settle()
        assert session.stats.unmatched_replies == 1


async def test_board_restart_starts_a_new_stream() -> None:
    board = ScriptedBoard()
    async with Session(board, command_timeout_s=1.0) as session:
        await settle()
        board.deliver(config(boot_id=1))
        board.deliver(samples(1000, 10))
        board.deliver(config(boot_id=2))
        board.deliver(samples(0, 10))
        blocks = await drain(session, 1010) + await drain(session, 10)
    assert [b.seq.tolist() for b in blocks] == [list(range(1000, 1010)), list(range(10))]
    assert session.stats.stream_restarts == 1 and session.stats.lost == 0


def test_clock_map_finds_offset_and_drift_under_random_delays() -> None:
    rng = np.random.default_rng(3)
    t_dev = np.arange(0, 300, 0.04)  # a frame every 40 ms for 5 minutes
    drift = 80e-6  # the host clock runs 80 ppm fast
    offset = 1234.5
    delay = rng.exponential(0.015, t_dev.size) + 0.004  # never below 4 ms
    late = rng.random(t_dev.size) < 0.05
    delay[late] += rng.uniform(0.5, 5, late.sum())  # backlog after reconnects
    clock = ClockMap()
    for d, h in zip(t_dev, offset + t_dev * (1 + drift) + delay, strict=True):
        clock.add(float(d), float(h))
    probe = np.array([250.0, 299.0])
    truth = offset + probe * (1 + drift)
    # Within a few ms of the earliest possible arrival; the drift within 20 ppm.
    assert np.all(np.abs(clock.to_host(probe) - (truth + 0.004)) < 0.004)
    assert abs(clock.drift_ppm - 80) < 20


async def test_every_gap_gets_all_its_resend_tries() -> None:
    """The tries are counted per gap: an unanswered RESEND after a reconnect with nothing held
    does not use up the tries of a later gap (it was given up after 2 of its 3)."""
    board = ScriptedBoard(answer=False)
    async with Session(board, resend_timeout_s=0.05) as session:
        await settle()
        board.deliver(samples(0, 5))
        board.link(False)
        board.link(True)  # RESEND from 5, nothing held: it times out
        for _ in range(100):
            if session.stats.resend_timeouts:
                break
            await asyncio.sleep(0.01)
        first = len(board.commands)
        board.deliver(samples(10, 5))  # a gap: 5 .. 9
        blocks = await drain(session, 15)
    tries = [c for c in board.commands[first:] if c.command == Command.RESEND]
    assert len(tries) == session.resend_attempts == 3
    assert seqs(blocks) == [*range(5), *range(10, 15)] and session.stats.lost == 5

"""The stream's deadlines against a scripted board on a simulated clock: a RESEND whose
answers are all lost never ends a stream whose samples keep arriving, and a restart after
GET_STATUS answered IDLE never waits past the silence allowed (docs/link.md "Deadlines")."""

from __future__ import annotations

import asyncio
import contextlib

import numpy as np
from conftest import config, reply, samples
from hipsense.link.protocol import (
    BoardState,
    Command,
    CommandFrame,
    ImuChip,
    Result,
    StatusFrame,
    decode_frame,
    encode_frame,
)
from hipsense.link.session import MAX_HOLD_S, SampleBlock, Session
from hipsense.link.transport.base import Transport
from hipsense.orchestrate.stream import (
    GIVE_UP_S,
    MAX_SILENCE_S,
    StreamOptions,
    StreamSummary,
    resend_timeout_s,
    stream,
)

TICK_S = 0.01  # the board's clock advances one sample per tick of the event loop
FRAME = 5  # samples per SAMPLES frame


def status(state: BoardState) -> bytes:
    """A GET_STATUS reply's payload: the STATUS frame after its two header bytes."""
    frame = StatusFrame(state, 80, 3900, ImuChip(3), 0, 100, 0, 0, 0, 0, (1, 0, 0), 2, 1, 5)
    return encode_frame(frame)[2:]


class ClockedBoard(Transport):
    """A board behind a scripted link; its clock ``t_s`` advances ``TICK_S`` per event-loop
    tick (not with wall time: a loaded machine only slows it down), one sample per tick once
    STARTed. ``drop_at``: the sequence number of one SAMPLES frame lost on the link; every
    RESEND answer is lost too (the board never answers it); ``idle_at_s``: the board stops
    streaming then (a STOP from another device); ``answer_delay_s``: from then on it answers
    GET_STATUS and STOP this late, SET_CONTENT and START not at all, or with
    ``restart_lost`` only that many SET_CONTENT answers are lost: after them the board answers
    and a START streams again."""

    def __init__(
        self,
        *,
        drop_at: int | None = None,
        idle_at_s: float | None = None,
        answer_delay_s: float = 0.0,
        restart_lost: int | None = None,
    ) -> None:
        super().__init__()
        self.t_s = 0.0
        self.produced = 0
        self.streaming = False
        self.drop_at = drop_at
        self.idle_at_s = idle_at_s
        self.answer_delay_s = answer_delay_s
        self.restart_lost = restart_lost
        self.restarted = False
        self.commands: list[CommandFrame] = []
        self._later: list[tuple[float, bytes]] = []
        self._task: asyncio.Task[None] | None = None

    def clock(self) -> float:
        return self.t_s

    @property
    def connected(self) -> bool:
        return True

    async def open(self) -> None:
        self._put_state(True)
        self._task = asyncio.ensure_future(self._run())

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await super().close()

    def _idle(self) -> bool:
        return self.idle_at_s is not None and self.t_s >= self.idle_at_s and not self.restarted

    async def send(self, frame: bytes) -> None:
        cmd = decode_frame(frame)
        assert isinstance(cmd, CommandFrame)
        self.commands.append(cmd)
        if cmd.command == Command.RESEND:
            return  # its answer is lost
        answers = self.restart_lost == 0 and cmd.command in (Command.SET_CONTENT, Command.START)
        if self._idle() and not answers:
            if cmd.command == Command.SET_CONTENT and self.restart_lost:
                self.restart_lost -= 1
            if cmd.command in (Command.GET_STATUS, Command.STOP):
                payload = status(BoardState.IDLE) if cmd.command == Command.GET_STATUS else b""
                answer = reply(cmd.token, cmd.command, 0, payload)
                self._later.append((self.t_s + self.answer_delay_s, answer))
            return  # SET_CONTENT and START: the answers are lost
        if cmd.command == Command.GET_SETTINGS:
            self._put_frame(reply(cmd.token, cmd.command, Result.UNKNOWN_COMMAND))
            return
        if cmd.command == Command.START:
            self.streaming = True
            self.restarted = self.restarted or self._idle()
        elif cmd.command == Command.STOP:
            self.streaming = False
        self._put_frame(reply(cmd.token, cmd.command))
        if cmd.command == Command.GET_CONFIG:
            self._put_frame(config())

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(0.005)
            self.t_s += TICK_S
            for item in [x for x in self._later if x[0] <= self.t_s]:
                self._later.remove(item)
                self._put_frame(item[1])
            if not self.streaming or self._idle():
                continue
            self.produced += 1
            if self.produced % FRAME == 0:
                seq0 = self.produced - FRAME
                if seq0 != self.drop_at:
                    self._put_frame(samples(seq0, FRAME))


async def _stream(
    board: ClockedBoard, seconds: float
) -> tuple[list[SampleBlock], list[float], StreamSummary]:
    """Stream ``seconds``; the blocks, and the board's clock when each reached the stream."""
    blocks: list[SampleBlock] = []
    at_s: list[float] = []

    def take(block: SampleBlock, session: Session) -> None:
        blocks.append(block)
        at_s.append(board.t_s)

    options = StreamOptions(
        transport=board, seconds=seconds, raw=False, clock=board.clock, handle_sigint=False
    )
    summary = await stream(options, take)
    return blocks, at_s, summary


def test_a_gap_holds_samples_for_at_most_half_the_give_up_time() -> None:
    """The rule: RESEND_ATTEMPTS unanswered RESENDs take at most GIVE_UP_S / 2 (it was
    3 x 3 s = 9 s, past GIVE_UP_S), whatever give-up time a stream is given."""
    assert MAX_HOLD_S <= GIVE_UP_S / 2 <= MAX_SILENCE_S / 2
    for give_up_s in (2.0, GIVE_UP_S, 30.0):
        assert 3 * resend_timeout_s(give_up_s) <= give_up_s / 2


async def test_a_resend_never_answered_gives_the_gap_up_and_the_stream_goes_on() -> None:
    """A frame lost at 2 s and every RESEND answer lost: the samples behind the gap arrive
    once it is given up (the gap counted as lost), long before the give-up time; the stream
    runs to its end (it ended 8 s after the gap, while samples were arriving)."""
    board = ClockedBoard(drop_at=200)
    blocks, at_s, summary = await _stream(board, seconds=14.0)
    assert summary.problem is None, summary.problem
    assert summary.lost == FRAME
    assert [reason for _, _, reason in summary.losses] == ["the board did not answer RESEND"]
    resends = [c for c in board.commands if c.command == Command.RESEND]
    assert len(resends) == 3
    seq = np.concatenate([b.seq for b in blocks])
    assert np.array_equal(seq, np.setdiff1d(np.arange(seq[-1] + 1), np.arange(200, 205)))
    # held no longer than the RESEND tries (each on the board's clock, checked every 0.05 s)
    gap = next(i for i, b in enumerate(blocks) if int(b.seq[0]) == 205)
    held_s = at_s[gap] - at_s[gap - 1]
    assert held_s <= 3 * resend_timeout_s(GIVE_UP_S) + 0.5 < GIVE_UP_S


async def test_a_restart_after_idle_never_waits_past_the_silence_allowed() -> None:
    """The board goes IDLE at 3 s, answers GET_STATUS 0.8 s late, SET_CONTENT and START
    never: the stream ends within MAX_SILENCE_S of its last sample, plus the closing STOP's
    answer (at most 1 s) and the pump's 0.2 s polls (here under 0.5 s of the board's
    clock). Before, each restart command waited its 3 s: the end came 12 s after it."""
    board = ClockedBoard(idle_at_s=3.0, answer_delay_s=0.8)
    blocks, at_s, summary = await _stream(board, seconds=30.0)
    ended_s = board.t_s
    assert summary.problem is not None and "restarting the stream failed" in summary.problem
    assert blocks and ended_s - at_s[-1] <= MAX_SILENCE_S + 0.8 + 0.5, ended_s - at_s[-1]
    assert any(c.command == Command.SET_CONTENT for c in board.commands), "a restart was tried"


async def test_a_lost_restart_answer_leaves_time_to_restart_again() -> None:
    """The board goes IDLE at 3 s and the answer to the first SET_CONTENT of the restart is
    lost: that command waits the usual 3 s, not all the silence left, so the next stall
    check restarts the stream and the session goes on to its end without a problem. Before,
    the lost answer was waited for until the silence allowed ran out and the session ended."""
    board = ClockedBoard(idle_at_s=3.0, restart_lost=1)
    _, at_s, summary = await _stream(board, seconds=12.0)
    assert summary.problem is None, summary.problem
    assert any("the stream was restarted" in e for e in summary.events), summary.events
    assert sum(c.command == Command.SET_CONTENT for c in board.commands) >= 3  # start + 2 tries
    assert summary.duration_s >= 12.0 and at_s[-1] > 3.0 + MAX_SILENCE_S

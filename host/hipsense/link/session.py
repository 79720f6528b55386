"""A session with one board: frames in, samples out exactly once and in order.

On top of any :class:`~hipsense.link.transport.base.Transport`:
- decodes every frame; malformed ones and unknown types are counted (unknown types reported
  once), a frame of another protocol version stops the stream with
  :class:`~hipsense.link.protocol.UnsupportedProtocolVersion`;
- matches REPLY frames to commands by token (:meth:`Session.command`; no answer within the
  timeout raises :class:`CommandTimeout`);
- asks for a RESEND after every reconnect (from the first sample it has not delivered) and
  whenever a gap shows up; holds later samples until the gap is filled or the board says the
  samples are gone; delivers each sample once, in order; counts and lists what was lost;
- maps device sample time to the host clock (:class:`~hipsense.link.clockmap.ClockMap`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from hipsense.errors import HipsenseError
from hipsense.link.clockmap import ClockMap
from hipsense.link.protocol import (
    SEQ_MODULUS,
    BoardSettings,
    Command,
    ConfigFrame,
    ErrorFrame,
    MalformedFrame,
    MarkerFrame,
    ReplyFrame,
    Result,
    SamplesFrame,
    SeqUnwrapper,
    StatusFrame,
    UnknownFrameType,
    UnsupportedProtocolVersion,
    decode_frame,
    encode_command,
    reply_gyro_bias_dps,
    reply_mounting,
    reply_resend,
    reply_settings,
)
from hipsense.link.transport.base import LinkDown, LinkState, Transport

log = logging.getLogger(__name__)

_SEQ_MASK = SEQ_MODULUS - 1
_T_UNIT_S = 1e-4
_T = TypeVar("_T")
_CLOCK_POLL_S = 0.05  # how often a deadline on a simulated clock is looked at (wall time)
ALIGN_TIMEOUT_S = 15.0
"""An alignment phase captures up to 8 s on the board, then replies."""
CALIBRATE_MAX_S = 30
"""The longest gyro calibration the board takes (CALIBRATE_GYRO, docs/protocol.md)."""
RESEND_TIMEOUT_S = 1.2
"""How long one RESEND waits for its answer. The board answers it before any sample it has
not sent (docs/link.md "Sending"), so a live link answers within a few connection intervals;
a lost answer is asked again."""
RESEND_ATTEMPTS = 3
"""Unanswered RESENDs in a row after which a gap is given up (its samples declared lost)."""
MAX_HOLD_S = RESEND_ATTEMPTS * RESEND_TIMEOUT_S
"""The longest a gap holds back the samples behind it when the board never answers RESEND
(3.6 s): they reach the stream only when the gap is filled or given up, so a stream's
silence deadlines must be longer (``hipsense.orchestrate.stream.resend_timeout_s``)."""


class CommandTimeout(HipsenseError):
    """The board did not answer a command in time."""


class CommandFailed(HipsenseError):
    """The board answered a command with a result other than OK."""

    def __init__(self, reply: ReplyFrame) -> None:
        self.reply = reply
        text = f"the board answered {Command(reply.command).name} with {Result(reply.result).name}"
        if reply.result == Result.BUSY:
            text += (
                " (not possible in its current state: another host may be streaming from it "
                "over the other link, or it is streaming or calibrating; see docs/protocol.md)"
            )
        super().__init__(text)


class SessionClosed(HipsenseError):
    """The session ended (closed, or the transport gave up)."""


@dataclass(frozen=True)
class SampleBlock:
    """Consecutive samples: ``seq`` unwrapped (absolute since the stream started, int64),
    ``t_device_s`` on the board's clock, ``t_host_s`` mapped to ``time.monotonic()``,
    ``angles_cdeg`` (n, 3) int16 tilt/obliquity/rotation, ``raw`` (n, 6) int16 or None.
    ``lost_before`` samples were lost right before this block (see ``Session.losses``)."""

    seq: npt.NDArray[np.int64]
    t_device_s: npt.NDArray[np.float64]
    t_host_s: npt.NDArray[np.float64]
    angles_cdeg: npt.NDArray[np.int16]
    raw: npt.NDArray[np.int16] | None
    lost_before: int
    config: ConfigFrame | None


@dataclass(frozen=True)
class Loss:
    """``count`` samples from ``first_seq`` (unwrapped) that could not be recovered."""

    first_seq: int
    count: int
    reason: str


@dataclass
class SessionStats:
    frames: int = 0
    samples_frames: int = 0
    malformed_frames: int = 0
    unknown_frames: int = 0
    unmatched_replies: int = 0
    delivered: int = 0
    duplicates: int = 0
    lost: int = 0
    resends: int = 0
    resend_timeouts: int = 0
    link_downs: int = 0
    stream_restarts: int = 0
    samples_without_config: int = 0
    unknown_types: set[int] = field(default_factory=set)


@dataclass
class _Pending:
    seq0: int
    frame: SamplesFrame
    t_host_s: float


def _reply_future() -> asyncio.Future[ReplyFrame]:
    """A future for a REPLY whose failure (link down, session closed) is never reported as
    "Future exception was never retrieved" when its waiter has already gone (Ctrl-C)."""
    fut: asyncio.Future[ReplyFrame] = asyncio.get_running_loop().create_future()
    fut.add_done_callback(lambda f: None if f.cancelled() else f.exception())
    return fut


class Session:
    """``async with Session(transport) as s: async for block in s.samples(): ...``"""

    def __init__(
        self,
        transport: Transport,
        *,
        command_timeout_s: float = 3.0,
        max_pending_samples: int = 100_000,
        resend_timeout_s: float = RESEND_TIMEOUT_S,
        resend_attempts: int = RESEND_ATTEMPTS,
        now_s: Callable[[], float] = time.monotonic,
    ) -> None:
        self.transport = transport
        self.now_s = now_s
        """The clock of the deadlines (command answers, ``link_changed_at``): wall time, or
        the virtual board's simulated clock in lockstep (docs/virtual-board.md "Time")."""
        self.command_timeout_s = command_timeout_s
        self.max_pending_samples = max_pending_samples
        self.resend_timeout_s = resend_timeout_s
        self.resend_attempts = resend_attempts
        """A gap holds the samples behind it at most ``resend_attempts * resend_timeout_s``."""
        self.stats = SessionStats()
        self.losses: list[Loss] = []
        self.markers: list[MarkerFrame] = []
        self.errors: list[ErrorFrame] = []
        self.config: ConfigFrame | None = None
        self.status: StatusFrame | None = None
        self.settings: BoardSettings | None = None
        """What the board last said it uses (:meth:`read_settings`)."""
        self.clock = ClockMap()
        self.fatal: HipsenseError | None = None
        self.link_changed_at: float | None = None
        """``now_s()`` of the last link change (up or down)."""
        self._out: asyncio.Queue[SampleBlock | None] = asyncio.Queue()
        self._replies: dict[int, asyncio.Future[ReplyFrame]] = {}
        self._token = 0
        self._seq = SeqUnwrapper()
        self._time = SeqUnwrapper()
        self._next: int | None = None  # next sequence number to deliver (unwrapped)
        self._pending: list[_Pending] = []
        self._pending_samples = 0
        self._lost_before = 0
        self._resend_token: int | None = None
        self._resend_from = 0
        self._resend_failures = 0
        self._task: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    # ---- lifecycle -----------------------------------------------------------------------
    async def start(self) -> None:
        """Open the transport and start reading (the link-up event triggers the first
        GET_CONFIG, which also tells the board that a host listens)."""
        await self.transport.open()
        self._task = asyncio.create_task(self._run())

    async def close(self) -> None:
        await self.transport.close()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(self._task, 2.0)
        for task in list(self._tasks):
            task.cancel()
        self._fail_replies(SessionClosed("the session was closed"))
        self._out.put_nowait(None)

    async def __aenter__(self) -> Session:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def samples(self) -> AsyncIterator[SampleBlock]:
        """Sample blocks in sequence order, each sample once; raises the stream's fatal
        error (e.g. :class:`UnsupportedProtocolVersion`) after the last good block."""
        while True:
            block = await self._out.get()
            if block is None:
                self._out.put_nowait(None)  # the end stays the end for the next reader
                if self.fatal is not None:
                    raise self.fatal
                return
            yield block

    async def receive(self, timeout_s: float) -> SampleBlock | None:
        """The next sample block, or None when none arrived within ``timeout_s`` (the caller
        keeps its own deadline); raises :class:`SessionClosed` (or the stream's fatal error)
        once the session has ended."""
        try:
            block = await asyncio.wait_for(self._out.get(), timeout_s)
        except asyncio.TimeoutError:
            return None
        if block is None:
            self._out.put_nowait(None)
            if self.fatal is not None:
                raise self.fatal
            raise SessionClosed("the session ended")
        return block

    # ---- commands ------------------------------------------------------------------------
    async def command(
        self, command: int, args: bytes = b"", *, timeout_s: float | None = None, check: bool = True
    ) -> ReplyFrame:
        """Send a command and wait for its REPLY; ``check`` raises :class:`CommandFailed`
        for a result other than OK."""
        if self.fatal is not None:
            raise self.fatal
        token, frame = self._new_token(command, args)
        fut = _reply_future()
        self._replies[token] = fut
        timeout = self.command_timeout_s if timeout_s is None else timeout_s
        try:
            await self.transport.send(frame)
            reply = await self._within(fut, timeout)
        except asyncio.TimeoutError:
            raise CommandTimeout(
                f"the board did not answer {Command(command).name} within {timeout:g} s: check "
                "that it is still connected and running (a reboot or a dropped link loses the "
                "answer)"
            ) from None
        finally:
            self._replies.pop(token, None)
        if check and reply.result != Result.OK:
            raise CommandFailed(reply)
        return reply

    async def _within(self, fut: asyncio.Future[_T], timeout_s: float) -> _T:
        """``fut``'s result, or ``asyncio.TimeoutError`` after ``timeout_s`` on ``now_s``."""
        if self.now_s is time.monotonic:
            return await asyncio.wait_for(fut, timeout_s)
        t_end = self.now_s() + timeout_s
        while not fut.done():
            if self.now_s() >= t_end:
                raise asyncio.TimeoutError
            await asyncio.wait({fut}, timeout=_CLOCK_POLL_S)
        return fut.result()

    async def read_settings(self) -> BoardSettings | None:
        """GET_SETTINGS: the mounting, gyro calibration and rate the board uses (None from a
        board older than protocol 1.1, or when the reply did not fit the MTU); kept in
        :attr:`settings`."""
        reply = await self.command(Command.GET_SETTINGS, check=False)
        self.settings = reply_settings(reply) if reply.result == Result.OK else None
        return self.settings

    async def calibrate_gyro(self, seconds: int) -> tuple[float, float, float]:
        """CALIBRATE_GYRO: the board averages its gyro over ``seconds`` (1-30) at rest and stores
        the bias on its flash; returns that bias (x, y, z, deg/s in the sensor frame).
        :class:`CommandFailed` (FAILED) when the sensor moved, or has no IMU."""
        if not 1 <= seconds <= CALIBRATE_MAX_S:
            raise ValueError(f"gyro calibration of {seconds} s: use 1 to {CALIBRATE_MAX_S} s")
        reply = await self.command(
            Command.CALIBRATE_GYRO, bytes([seconds]), timeout_s=seconds + self.command_timeout_s
        )
        return reply_gyro_bias_dps(reply)

    async def align_mounting(
        self, phase: int, *, timeout_s: float = ALIGN_TIMEOUT_S
    ) -> tuple[float, float, float, float] | None:
        """One phase of the guided mounting alignment (1: stand still, 2: bend forward,
        3: walk forward; docs/protocol.md); the board stores the result on its flash. Returns
        the quaternion (w, x, y, z, sensor -> pelvis) of phases 2 and 3 when the reply carries
        it; :class:`CommandFailed` when the capture could not give a mounting."""
        if phase not in (1, 2, 3):
            raise ValueError(f"alignment phase {phase}: use 1, 2 or 3")
        reply = await self.command(Command.ALIGN_MOUNTING, bytes([phase]), timeout_s=timeout_s)
        return reply_mounting(reply)

    def _new_token(self, command: int, args: bytes) -> tuple[int, bytes]:
        """A free token, preferably one the transport likes (serial: no 0x03 on the wire; the
        arguments can contain one anyway, which is harmless once the board speaks frames)."""
        fallback: tuple[int, bytes] | None = None
        for _ in range(255):
            self._token = self._token % 255 + 1
            if self._token in self._replies:
                continue
            frame = encode_command(self._token, command, args)
            if self.transport.token_ok(frame):
                return self._token, frame
            if fallback is None:
                fallback = (self._token, frame)
        if fallback is None:
            raise HipsenseError("no free command token: 255 commands are waiting for an answer")
        return fallback

    def _fail_replies(self, exc: Exception) -> None:
        for fut in self._replies.values():
            if not fut.done():
                fut.set_exception(exc)

    # ---- the reader ----------------------------------------------------------------------
    async def _run(self) -> None:
        try:
            async for item in self.transport.items():
                if isinstance(item, LinkState):
                    self._on_link(item)
                    continue
                try:
                    self._on_frame(item.data, item.t_host_s)
                except UnsupportedProtocolVersion as exc:
                    self._stop(exc)
                    return
        finally:
            self._out.put_nowait(None)

    def _stop(self, exc: HipsenseError) -> None:
        log.error("%s", exc)
        self.fatal = exc
        self._fail_replies(exc)
        self._spawn(self.transport.close())

    def _spawn(self, coro: object) -> None:
        task = asyncio.ensure_future(coro)  # type: ignore[arg-type]
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _on_link(self, state: LinkState) -> None:
        self.link_changed_at = self.now_s()
        if not state.up:
            self.stats.link_downs += 1
            self._resend_token = None
            self._fail_replies(LinkDown(f"the link dropped: {state.reason}"))
            return
        if self._next is None:
            self._spawn(self._hello())
        else:
            self._spawn(self._resend())

    async def _hello(self) -> None:
        with contextlib.suppress(HipsenseError):
            await self.command(Command.GET_CONFIG)

    def _on_frame(self, data: bytes, t_host_s: float) -> None:
        self.stats.frames += 1
        try:
            frame = decode_frame(data)
        except UnknownFrameType as exc:
            self.stats.unknown_frames += 1
            if exc.type_id not in self.stats.unknown_types:
                self.stats.unknown_types.add(exc.type_id)
                log.warning("%s", exc)
            return
        except MalformedFrame as exc:
            # Counted; a lost SAMPLES frame shows up as a gap and is asked for again.
            self.stats.malformed_frames += 1
            log.warning("malformed frame dropped (%s): %s", exc, data[:16].hex())
            return
        if isinstance(frame, SamplesFrame):
            self._on_samples(frame, t_host_s)
        elif isinstance(frame, ReplyFrame):
            self._on_reply(frame)
        elif isinstance(frame, ConfigFrame):
            self._on_config(frame)
        elif isinstance(frame, StatusFrame):
            self.status = frame
        elif isinstance(frame, MarkerFrame):
            self.markers.append(frame)
        elif isinstance(frame, ErrorFrame):
            self.errors.append(frame)
            log.warning("the board reports error %s: %s", frame.code, frame.text)

    def _on_config(self, config: ConfigFrame) -> None:
        if self.config is not None and config.boot_id != self.config.boot_id:
            # The board rebooted: its sequence numbers start again; a new stream begins.
            self.stats.stream_restarts += 1
            log.warning("the board restarted (boot id %04X)", config.boot_id)
            self._seq.reset()
            self._time.reset()
            self.clock.reset()
            self._next = None
            self._pending.clear()
            self._pending_samples = 0
            self._resend_token = None
        self.config = config

    def _on_reply(self, reply: ReplyFrame) -> None:
        if reply.command == Command.RESEND and reply.token == self._resend_token:
            self._resend_token = None
            self._apply_resend(reply)
        fut = self._replies.get(reply.token)
        if fut is None or fut.done():
            self.stats.unmatched_replies += 1
            return
        fut.set_result(reply)

    # ---- samples, gaps, resend -----------------------------------------------------------
    def _on_samples(self, frame: SamplesFrame, t_host_s: float) -> None:
        self.stats.samples_frames += 1
        seq0 = self._seq.unwrap(frame.seq)
        if self._next is None:
            self._next = seq0
        if not frame.resent:
            self._clock_point(frame, t_host_s)
        if self._accept(seq0, frame, t_host_s) and self._resend_token is None:
            # A gap inside a connection (a frame was dropped as malformed): ask again. While a
            # RESEND is outstanding, later frames just wait; after its reply the board sends
            # everything from the gap on, in order.
            self._spawn(self._resend())

    def _clock_point(self, frame: SamplesFrame, t_host_s: float) -> None:
        period = self._period_100us()
        t_last = self._time.unwrap(frame.t_100us) + (frame.count - 1) * period
        self.clock.add(t_last * _T_UNIT_S, t_host_s)

    def _period_100us(self) -> float:
        """Sample period in 100 µs: exact (1 / rate_hz) from a board of protocol 1.2."""
        return self.config.period_100us_exact if self.config is not None else 100.0

    def _accept(self, seq0: int, frame: SamplesFrame, t_host_s: float) -> bool:
        """Deliver what is new in ``frame``; True when it had to wait behind a gap."""
        assert self._next is not None
        n = frame.count
        if seq0 + n <= self._next:
            self.stats.duplicates += n
            return False
        if seq0 > self._next:
            self._hold(seq0, frame, t_host_s)
            return True
        skip = self._next - seq0
        self.stats.duplicates += skip
        self._deliver(seq0, frame, skip)
        self._drain()
        return False

    def _hold(self, seq0: int, frame: SamplesFrame, t_host_s: float) -> None:
        self._pending.append(_Pending(seq0, frame, t_host_s))
        self._pending.sort(key=lambda p: p.seq0)
        self._pending_samples += frame.count
        if self._pending_samples > self.max_pending_samples:
            first = self._pending[0].seq0
            self._declare_lost(
                first - (self._next or first), "too many samples waiting for a resend"
            )
            self._drain()

    def _drain(self) -> None:
        while self._pending and self._next is not None and self._pending[0].seq0 <= self._next:
            p = self._pending.pop(0)
            self._pending_samples -= p.frame.count
            self._accept(p.seq0, p.frame, p.t_host_s)

    def _deliver(self, seq0: int, frame: SamplesFrame, skip: int) -> None:
        n = frame.count - skip
        seq = seq0 + skip + np.arange(n, dtype=np.int64)
        t0 = self._time.unwrap(frame.t_100us)
        t_dev = (t0 + (skip + np.arange(n)) * self._period_100us()) * _T_UNIT_S
        if self.config is None:
            self.stats.samples_without_config += n
        raw = frame.raw[skip:] if frame.raw is not None else None
        block = SampleBlock(
            seq=seq,
            t_device_s=t_dev.astype(np.float64),
            t_host_s=self.clock.to_host(t_dev.astype(np.float64)),
            angles_cdeg=frame.angles_cdeg[skip:],
            raw=raw,
            lost_before=self._lost_before,
            config=self.config,
        )
        self._lost_before = 0
        self._next = seq0 + frame.count
        self.stats.delivered += n
        self._out.put_nowait(block)

    def _declare_lost(self, count: int, reason: str) -> None:
        if count <= 0 or self._next is None:
            return
        self.losses.append(Loss(self._next, count, reason))
        log.warning("%d samples from %d lost: %s", count, self._next, reason)
        self.stats.lost += count
        self._lost_before += count
        self._next += count

    async def _resend(self) -> None:
        if self._next is None or self._resend_token is not None:
            return
        from_seq = self._next
        token, frame = self._new_token(Command.RESEND, struct.pack("<I", from_seq & _SEQ_MASK))
        fut = _reply_future()
        self._replies[token] = fut
        self._resend_token, self._resend_from = token, from_seq
        self.stats.resends += 1
        retry = False
        try:
            await self.transport.send(frame)
            await self._within(fut, self.resend_timeout_s)
            self._resend_failures = 0
        except asyncio.TimeoutError:
            retry = True
            self.stats.resend_timeouts += 1
            self._resend_failures += 1
            if self._resend_token == token:
                self._resend_token = None
            if not self._pending:
                self._resend_failures = 0  # nothing held: each gap gets all its tries
            elif self._resend_failures >= self.resend_attempts:
                # The board never answers: give the gap up rather than stall the stream.
                self._declare_lost(
                    self._pending[0].seq0 - from_seq, "the board did not answer RESEND"
                )
                self._drain()
                self._resend_failures = 0
        except HipsenseError:
            if self._resend_token == token:
                self._resend_token = None
        finally:
            self._replies.pop(token, None)
        if retry and self._pending and self._resend_token is None and self.transport.connected:
            self._spawn(self._resend())

    def _apply_resend(self, reply: ReplyFrame) -> None:
        if self._next is None:
            return
        if reply.result != Result.OK:
            # BAD_VALUE: the board has nothing from there (it restarted or we are ahead).
            if self._pending:
                self._declare_lost(
                    self._pending[0].seq0 - self._next, f"the board refused RESEND ({reply.result})"
                )
                self._drain()
            return
        answer = reply_resend(reply)
        first = self._resend_from + answer.lost
        self._declare_lost(first - self._next, "overwritten on the board before it was sent")
        self._drain()

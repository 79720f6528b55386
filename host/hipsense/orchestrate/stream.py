"""Stream from a board (BLE, or the virtual board) into callbacks and a recording.

``stream()`` connects, starts the board, hands every :class:`~hipsense.link.session.SampleBlock`
to ``on_block`` (the live view), writes the samples with a
:class:`~hipsense.recording.RecordingWriter` (constant memory, one chunk per second), and stops
the board at the end.
Samples reach the file ``WRITE_DELAY_S`` late: the board sends a MARKER frame after the sample
it marks, possibly after that sample's notification, and the marker must still find its row.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import logging
import signal
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from hipsense import __version__
from hipsense.errors import HipsenseError
from hipsense.link.blocks import block_rows
from hipsense.link.protocol import (
    RAW_LOST,
    SEQ_MODULUS,
    BoardSettings,
    BoardState,
    Command,
    ConfigFrame,
    ImuChip,
    MarkerFrame,
    Result,
    StatusFrame,
    reply_status,
)
from hipsense.link.session import (
    RESEND_ATTEMPTS,
    RESEND_TIMEOUT_S,
    CommandFailed,
    CommandTimeout,
    SampleBlock,
    Session,
    SessionClosed,
)
from hipsense.link.transport.base import LinkDown, Transport
from hipsense.recording import (
    MARKER_BUTTON,
    MARKER_SETTINGS,
    RecordingError,
    RecordingMeta,
    RecordingWriter,
)
from hipsense.recording.files import PARTIAL_SUFFIX, format_for

if TYPE_CHECKING:
    from hipsense.virtual.launch import VirtualBoardOptions

log = logging.getLogger(__name__)
_T = TypeVar("_T")


class StreamBusy(HipsenseError):
    """The board runs another computer's stream (docs/link.md "Security")."""


WRITE_DELAY_S = 0.5
"""Blocks are written once this much newer stream time has arrived (markers catch up)."""


STALL_CHECK_S = 2.0
"""No new sample for this long: ask the board what it is doing (and restart its stream)."""
GIVE_UP_S = 8.0
"""No new sample for this long and nothing helped: the session ends, the recording is kept
(within 10 s of the fault, issue 17: a board that resets is streaming again within 4 s)."""
MAX_SILENCE_S = 9.0
"""No new sample for this long ends the session even when the link keeps dropping and coming
back (each change is news that defers ``GIVE_UP_S``): within issue 17's 10 s of the fault,
whatever the link does (the last samples in flight arrive up to about 0.5 s after it). A
larger ``give_up_s`` raises it to that."""
SETUP_DEADLINE_S = 30.0
"""Connecting and starting the stream are retried across link drops for this long."""


def resend_timeout_s(give_up_s: float) -> float:
    """How long each RESEND waits for its answer in a stream that gives up after
    ``give_up_s`` without new samples. The samples behind a gap reach the stream only when
    the gap is filled or given up (after ``RESEND_ATTEMPTS`` unanswered RESENDs), and until
    then the stream sees no new sample: so the tries together take at most half of
    ``give_up_s`` (3.6 s of 8 s), and a board whose RESEND answers are lost never ends a
    stream whose samples keep arriving (docs/link.md "Deadlines")."""
    return min(RESEND_TIMEOUT_S, give_up_s / (2 * RESEND_ATTEMPTS))


class StreamInterrupted(HipsenseError):
    """Ctrl-C before any sample was recorded (or a second Ctrl-C while finishing)."""

    exit_status = 130


@dataclass
class StreamOptions:
    """``device``: a name or address (None: the first hipsense board found); ``virtual``:
    run the virtual board instead of looking for hardware; ``port``: use the USB serial link
    on this port instead of BLE; ``transport``: any ready-made transport (tests, replay);
    ``seconds``: stop after this much stream time (None: until interrupted); ``out``: write a
    recording (docs/recording.md), refused when it exists unless ``overwrite``; ``prepare``:
    awaited with the connected, stopped session before START (e.g. a guided mounting
    alignment). ``side``, ``condition`` and ``extra`` go into the recording's metadata as it is
    written; ``host_marks`` returns the marks made on the host since its last call
    (``(seq, marker code)``, e.g. key presses), written on their samples. ``write_delay_s``:
    how long samples wait for their markers before they are written. ``stall_check_s`` and
    ``give_up_s``: the deadlines of a stream that stops delivering (docs/link.md), measured on
    ``clock`` (None: wall time, or the virtual board's simulated clock when ``virtual`` runs
    in lockstep; pass ``running.radio.clock_s`` with a ``transport`` to a lockstep board).
    ``handle_sigint``: Ctrl-C ends the stream with its summary (the caller sees no
    KeyboardInterrupt)."""

    device: str | None = None
    virtual: VirtualBoardOptions | None = None
    port: str | None = None
    transport: Transport | None = None
    seconds: float | None = None
    out: Path | None = None
    overwrite: bool = False
    fmt: str | None = None
    raw: bool = True
    scan_timeout_s: float = 10.0
    test: str | None = None
    side: str | None = None
    condition: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    prepare: Callable[[Session], Awaitable[None]] | None = None
    host_marks: Callable[[], Iterable[tuple[int, int]]] | None = None
    write_delay_s: float = WRITE_DELAY_S
    stall_check_s: float = STALL_CHECK_S
    give_up_s: float = GIVE_UP_S
    setup_deadline_s: float = SETUP_DEADLINE_S
    clock: Callable[[], float] | None = None
    handle_sigint: bool = True
    take_over: bool = False
    """Take the stream when another computer (or the USB link) is running one (START_TAKEOVER);
    without it such a board refuses with a message saying so."""


@dataclass
class StreamSummary:
    device_name: str
    samples: int = 0
    duration_s: float = 0.0
    lost: int = 0
    link_downs: int = 0
    resends: int = 0
    malformed_frames: int = 0
    markers: int = 0
    markers_unplaced: int = 0
    """Markers whose sample never reached the recording (lost, or marked too late)."""
    recording: Path | None = None
    losses: list[tuple[int, int, str]] = field(default_factory=list)
    interrupted: bool = False
    """Ended by Ctrl-C (the samples up to there are recorded)."""
    problem: str | None = None
    """Why the stream ended early (the board stopped delivering and could not be restarted)."""
    events: list[str] = field(default_factory=list)
    """What happened on the way (the stream restarted after a STOP or a reboot, ...)."""
    settings: BoardSettings | None = None
    """What the board used at the start (None: a board without GET_SETTINGS)."""
    settings_changes: list[tuple[float, BoardSettings | None]] = field(default_factory=list)
    """(stream time, the new settings) of every change of the board's stored settings."""


def board_losses(block: SampleBlock, reason: str) -> list[tuple[int, int, str]]:
    """The board's lost-sample placeholders in ``block`` (FIFO overflow, I2C errors, IMU
    loss: raw all -32768) as ``(first seq, count, reason)`` runs; they are not in the
    recording, so the summary counts them as lost."""
    if block.raw is None:  # angles only: a placeholder looks like "no estimate yet", kept
        return []
    lost = np.all(block.raw == RAW_LOST, axis=1)
    if not lost.any():
        return []
    edges = np.flatnonzero(np.diff(np.concatenate([[0], lost.astype(np.int8), [0]])))
    return [
        (int(block.seq[a]), int(b - a), reason)
        for a, b in zip(edges[::2], edges[1::2], strict=True)
    ]


def _board_reason(session: Session) -> str:
    if not session.errors:
        return "lost on the board"
    e = session.errors[-1]
    return f"lost on the board: {e.code.name} ({e.text})"


def _marker_code(frame: MarkerFrame) -> int:
    return MARKER_BUTTON if frame.code == 0 else frame.code


@contextlib.asynccontextmanager
async def _transport(
    options: StreamOptions,
) -> AsyncIterator[tuple[Transport, str, Callable[[], float]]]:
    """The transport, the board's name and the clock of the stream's deadlines: wall time, or
    the virtual board's simulated clock when it runs in lockstep (docs/virtual-board.md)."""
    if options.transport is not None:
        name = options.device or options.transport.name
        yield options.transport, name, options.clock or time.monotonic
        return
    if options.port is not None:
        from hipsense.link.transport.serial import SerialTransport

        name = options.device or options.port
        yield SerialTransport(options.port), name, options.clock or time.monotonic
        return
    from hipsense.link.transport.ble import BleTransport

    if options.virtual is None:
        yield (
            BleTransport(options.device, scan_timeout_s=options.scan_timeout_s),
            (options.device or "hipsense"),
            options.clock or time.monotonic,
        )
        return
    from hipsense.virtual.bleak_backend import VirtualClient, VirtualScanner
    from hipsense.virtual.launch import virtual_board

    async with virtual_board(options.virtual) as running:
        yield (
            BleTransport(
                options.device or running.name,
                scanner_backend=VirtualScanner,
                client_backend=VirtualClient,
                backend_kwargs={"radio": running.radio},
                scan_timeout_s=options.scan_timeout_s,
            ),
            running.name,
            options.clock
            or (running.radio.clock_s if options.virtual.clock == "lockstep" else time.monotonic),
        )


class _Sigint:
    """Ctrl-C while streaming sets ``stop`` (the stream ends with its summary); while
    connecting, or a second time, it cancels the streaming task (:class:`StreamInterrupted`)."""

    def __init__(self, enabled: bool) -> None:
        self.stop = asyncio.Event()
        self.streaming = False
        self.presses = 0
        self._task = asyncio.current_task()
        self._loop = asyncio.get_running_loop()
        self._installed = False
        if enabled and threading.current_thread() is threading.main_thread():
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                self._loop.add_signal_handler(signal.SIGINT, self._pressed)
                self._installed = True

    def _pressed(self) -> None:
        self.presses += 1
        if self.streaming and self.presses == 1:
            self.stop.set()
        elif self._task is not None:
            self._task.cancel()

    def remove(self) -> None:
        if self._installed:
            self._loop.remove_signal_handler(signal.SIGINT)
            self._installed = False


async def stream(
    options: StreamOptions,
    on_block: Callable[[SampleBlock, Session], None] | None = None,
    stop: asyncio.Event | None = None,
) -> StreamSummary:
    """Stream until ``options.seconds`` of samples arrived, ``stop`` is set, Ctrl-C is pressed,
    or the board stops delivering for ``options.give_up_s`` (``summary.problem`` says why).

    Raises :class:`StreamInterrupted` on Ctrl-C before the stream started."""
    check_options(options)
    sigint = _Sigint(options.handle_sigint)
    try:
        return await _stream(options, on_block, stop, sigint)
    except asyncio.CancelledError:
        if sigint.presses == 0:
            raise
        uncancel = getattr(asyncio.current_task(), "uncancel", None)  # Python >= 3.11
        if uncancel is not None:
            uncancel()
        raise StreamInterrupted(interrupted_words(options.out)) from None
    finally:
        sigint.remove()


def interrupted_words(out: Path | None) -> str:
    """A Ctrl-C that ends a streaming command, with what it left behind."""
    return f"interrupted (Ctrl-C){_kept(out)}"


@contextlib.contextmanager
def ctrl_c_reported(out: Path | None) -> Iterator[None]:
    """A Ctrl-C outside :func:`stream`'s own handling (before it starts listening: the set-up;
    after it ends: the analysis and the report) said as a Ctrl-C while connecting is: a
    :class:`StreamInterrupted` naming what was recorded, not a bare "aborted"."""
    try:
        yield
    except KeyboardInterrupt:
        raise StreamInterrupted(interrupted_words(out)) from None


def _kept(out: Path | None) -> str:
    """What an interrupted stream left behind, for its message."""
    if out is None:
        return "; nothing was recorded (no --out)"
    partial = out.with_name(out.name + PARTIAL_SUFFIX)
    if partial.exists():
        return f"; the samples so far are in {partial} (`hipsense recover {partial}`)"
    if out.exists():
        return f"; the recording {out} is complete"
    return "; nothing was recorded"


def check_options(options: StreamOptions) -> None:
    """What can be refused before anything starts (the commands call it before their first
    prompt): an existing ``--out``, a ``--format`` its name contradicts, an unknown virtual
    scenario, chip or board profile."""
    if options.out is not None:
        format_for(options.out, options.fmt)
        check_out(options.out, options.overwrite)
    if options.virtual is not None:
        from hipsense.virtual.launch import check_names

        check_names(options.virtual)


def check_out(out: Path, overwrite: bool) -> None:
    """Refuse to replace an existing recording (unless ``overwrite``); create a missing folder."""
    if out.exists() and not overwrite:
        raise RecordingError(
            f"{out} exists: choose another --out, or add --overwrite to replace it"
        )
    if out.is_dir():
        raise RecordingError(f"{out} is a folder: --out takes a file name")
    partial = out.with_name(out.name + PARTIAL_SUFFIX)
    if partial.exists():
        raise RecordingError(
            f"{partial} exists (an interrupted recording): restore it with "
            f"`hipsense recover {partial}`, or delete it"
        )
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RecordingError(
            f"cannot create the folder {out.parent} for the recording: {exc.strerror or exc}"
        ) from None


async def _stream(
    options: StreamOptions,
    on_block: Callable[[SampleBlock, Session], None] | None,
    stop: asyncio.Event | None,
    sigint: _Sigint,
) -> StreamSummary:
    async with (
        _transport(options) as (transport, name, clock),
        _open(transport, options, clock) as session,
    ):
        summary = StreamSummary(name)
        deadline = clock() + options.setup_deadline_s
        status = await _retry(
            session, deadline, lambda: _stop_and_status(session, name, options.take_over)
        )
        if options.prepare is not None:
            await options.prepare(session)
        summary.settings = await session.read_settings()
        first = [True]
        await _retry(session, deadline, lambda: _start(session, options.raw, first))
        sigint.streaming = True
        recorder = _Recorder(options, session, status, name, summary)
        try:
            await _pump(options, session, recorder, summary, on_block, stop, sigint)
        finally:
            recorder.close()
            sigint.streaming = False
            with contextlib.suppress(Exception):
                await session.command(Command.STOP, timeout_s=1.0)
        stats = session.stats
        summary.lost = stats.lost + recorder.board_lost + recorder.restart_lost
        summary.link_downs = stats.link_downs
        summary.resends = stats.resends
        summary.malformed_frames = stats.malformed_frames
        summary.losses = sorted(
            [(x.first_seq, x.count, x.reason) for x in session.losses]
            + recorder.board_runs
            + recorder.restart_losses
        )
        return summary


@contextlib.asynccontextmanager
async def _open(
    transport: Transport, options: StreamOptions, clock: Callable[[], float] = time.monotonic
) -> AsyncIterator[Session]:
    """A started session, trying again while the board is out of reach (a dropped link while
    connecting) for ``options.setup_deadline_s`` on ``clock``; the last error says what to
    check."""
    session = Session(transport, now_s=clock, resend_timeout_s=resend_timeout_s(options.give_up_s))
    deadline_s = options.setup_deadline_s
    t_end = clock() + deadline_s
    attempt = 0
    while True:
        try:
            await session.start()
            break
        except LinkDown as exc:
            attempt += 1
            if clock() >= t_end:
                raise LinkDown(f"{exc} (tried {attempt} times in {deadline_s:g} s)") from None
            log.info("connecting failed (%s); trying again", exc)
            await asyncio.sleep(min(0.5 * attempt, 2.0))
    try:
        yield session
    finally:
        await session.close()


async def _retry(session: Session, deadline: float, step: Callable[[], Awaitable[_T]]) -> _T:
    """``step()`` again after a link drop or a lost answer, until ``deadline`` (on the
    session's clock)."""
    while True:
        try:
            return await step()
        except (LinkDown, CommandTimeout):
            if session.now_s() >= deadline:
                raise
            while not session.transport.connected and session.now_s() < deadline:
                await asyncio.sleep(0.1)


@dataclass(frozen=True)
class GyroCalibration:
    """A stored gyro calibration: the board ``device_name``, the bias it measured and stored
    (x, y, z deg/s, sensor frame) and what it uses afterwards (GET_SETTINGS; None: a board
    that does not say)."""

    device_name: str
    bias_dps: tuple[float, float, float]
    settings: BoardSettings | None


class GyroMoved(HipsenseError):
    """CALIBRATE_GYRO answered FAILED: the sensor was not still (or has no IMU)."""


async def calibrate_gyro(
    options: StreamOptions, seconds: int, measuring: Callable[[], None] | None = None
) -> GyroCalibration:
    """Connect as :func:`stream` does (``device``, ``virtual``, ``port``, ``take_over``), stop
    any stream, have the board measure its gyro bias over ``seconds`` at rest and store it,
    then read back what it uses. ``measuring()`` is called as the command goes out (the board
    measures from then on, whether this host waits or not). :class:`GyroMoved` when the board
    refused the measurement."""
    async with (
        _transport(options) as (transport, name, clock),
        _open(transport, options, clock) as session,
    ):
        deadline = clock() + options.setup_deadline_s
        await _retry(session, deadline, lambda: _stop_and_status(session, name, options.take_over))
        if measuring is not None:
            measuring()
        try:
            bias = await session.calibrate_gyro(seconds)
        except CommandFailed as exc:
            if exc.reply.result != Result.FAILED:
                raise
            raise GyroMoved(
                f"{name} moved during the gyro calibration (or its IMU did not answer): put "
                f"it down on a table, not worn, keep it still for the whole {seconds} s and "
                "try again; its stored calibration is unchanged"
            ) from exc
        return GyroCalibration(name, bias, await session.read_settings())


async def _stop_and_status(session: Session, name: str, take_over: bool) -> StatusFrame | None:
    """Stop any stream (taking it over first when asked) and read the board's status; a board
    streaming to another computer answers BUSY (:class:`StreamBusy`)."""
    if take_over:
        await session.command(Command.START_TAKEOVER)
    try:
        await session.command(Command.STOP)
    except CommandFailed as exc:
        if exc.reply.result != Result.BUSY:
            raise
        raise StreamBusy(
            f"{name} is streaming to another computer (or over USB): stop it there, or "
            "take the stream with --take-over"
        ) from exc
    return reply_status(await session.command(Command.GET_STATUS))


async def _start(
    session: Session, raw: bool, first: list[bool] | None = None, until: float | None = None
) -> None:
    """SET_CONTENT and START; on a second try (``first`` was cleared), a board that already
    streams (an earlier START whose answer was lost) is left streaming. Each command waits the
    session's ``command_timeout_s`` for its answer, and with ``until`` (on the session's
    clock) never past it (:class:`CommandTimeout`): one lost answer leaves time to try again."""

    def left_s() -> float | None:
        if until is None:
            return None
        left = until - session.now_s()
        if left <= 0:
            raise CommandTimeout("no time was left to wait for the board's answer")
        return min(left, session.command_timeout_s)

    if first is not None and first[0]:
        first[0] = False
    else:
        status = reply_status(await session.command(Command.GET_STATUS, timeout_s=left_s()))
        if status is not None and status.state == BoardState.STREAMING:
            return
    await session.command(Command.SET_CONTENT, bytes([1 if raw else 0]), timeout_s=left_s())
    await session.command(Command.START, timeout_s=left_s())


async def _pump(
    options: StreamOptions,
    session: Session,
    recorder: _Recorder,
    summary: StreamSummary,
    on_block: Callable[[SampleBlock, Session], None] | None,
    stop: asyncio.Event | None,
    sigint: _Sigint,
) -> None:
    """Hand blocks to the recorder and ``on_block`` until a stop condition (see ``stream``);
    the deadlines run on the session's clock (wall time, or the virtual board's in lockstep)."""
    clock = session.now_s
    t_begin = last_progress = clock()
    wall_cap = None if options.seconds is None else options.seconds + options.give_up_s
    checked_at: float | None = None
    why = "no samples arrived"
    board_why: str | None = None  # the last reason the board itself gave
    silence_s = max(options.give_up_s, MAX_SILENCE_S)
    generation = _settings_generation(session)
    while True:
        if sigint.stop.is_set():
            summary.interrupted = True
            return
        if stop is not None and stop.is_set():
            return
        try:
            block = await session.receive(0.2)
        except SessionClosed:
            summary.problem = "the link to the board closed"
            return
        now = clock()
        if wall_cap is not None and now - t_begin >= wall_cap:
            summary.problem = (
                f"--seconds {options.seconds:g} asked for, but after {wall_cap:g} s only "
                f"{summary.duration_s:.1f} s of samples had arrived ({why})"
            )
            return
        if block is None:
            silent = now - last_progress
            # a link that dropped or came back is news too: a board that resets drops its link
            # and needs a moment to boot (but never more than ``silence_s`` in all)
            news = max(last_progress, session.link_changed_at or 0.0)
            if now - news >= options.give_up_s or silent >= silence_s:
                also = f" (before that: {board_why})" if board_why not in (None, why) else ""
                summary.problem = f"no samples for {silent:.0f} s: {why}{also}"
                return
            # a link that came back (a board that reset boots IDLE) is asked at once
            back = session.transport.connected and news > (checked_at or 0.0)
            if silent >= options.stall_check_s and (
                checked_at is None or now - checked_at >= options.stall_check_s or back
            ):
                checked_at = now
                # neither the question nor the restart outlasts the silence allowed
                until = last_progress + silence_s
                why, restarted, answered = await _diagnose(session, options.raw, until)
                if answered:
                    board_why = why
                if restarted:
                    summary.events.append(why)
                    last_progress = clock()
            continue
        last_progress = now
        block = recorder.add(block)
        now_gen = _settings_generation(session, block)
        if now_gen != generation and now_gen[0] == generation[0]:  # same boot: a new setting
            recorder.markers.setdefault(int(block.seq[0]) % SEQ_MODULUS, MARKER_SETTINGS)
            changed = await session.read_settings()
            t0 = recorder.t0 if recorder.t0 is not None else float(block.t_device_s[0])
            summary.settings_changes.append((float(block.t_device_s[0]) - t0, changed))
        generation = now_gen
        summary.samples = recorder.samples
        summary.duration_s = recorder.duration_s
        if on_block is not None:
            on_block(block, session)
        if options.seconds is not None and summary.duration_s >= options.seconds:
            return


async def _diagnose(session: Session, raw: bool, until: float) -> tuple[str, bool, bool]:
    """Why no samples arrive, whether restarting the stream fixed it, and whether the reason
    came from the board (its status) rather than from the link; GET_STATUS waits up to 1.5 s
    for its answer, and neither it nor the restart waits past ``until`` (the session's
    clock: the end of the silence allowed)."""
    transport = session.transport
    if not transport.connected:
        return "the link to the board is down and reconnecting has not succeeded", False, False
    try:
        answer_s = min(1.5, until - session.now_s())
        status = reply_status(await session.command(Command.GET_STATUS, timeout_s=answer_s))
    except HipsenseError as exc:
        return f"the board does not answer ({exc})", False, False
    if status is None:
        return "no samples arrived and the board's status could not be read", False, False
    state = BoardState(status.state)
    if state == BoardState.IDLE:
        what = (
            "the board restarted (a REBOOT command, its watchdog or its power)"
            if session.stats.stream_restarts
            else "the board stopped streaming (a STOP command from another device?)"
        )
        try:
            await _start(session, raw, until=until)
        except HipsenseError as exc:
            return f"{what}; restarting the stream failed: {exc}", False, True
        return f"{what}; the stream was restarted", True, True
    if state in (BoardState.NO_IMU, BoardState.IMU_ERROR):
        return (
            (
                f"the sensor's IMU stopped answering (board state {state.name}, "
                f"{status.i2c_errors} I2C errors): check the sensor and its cable"
            ),
            False,
            True,
        )
    if state == BoardState.CALIBRATING:
        return "the board is calibrating (asked by another device?)", False, True
    if state == BoardState.LOW_BATTERY:
        return "the board's battery is too low: charge it", False, True
    return "the board says it streams, but no samples arrive", False, True


class _Recorder:
    """Blocks -> recording rows, ``write_delay_s`` late so that markers find their samples.

    A board restart (new boot id) starts its sample numbers and clock again; the recorder
    continues the recording's ``seq`` and ``t_s`` across it, the gap counted as lost samples
    (estimated on the session's clock), so the file stays one increasing series.
    """

    def __init__(
        self,
        options: StreamOptions,
        session: Session,
        status: StatusFrame | None,
        name: str,
        summary: StreamSummary,
    ) -> None:
        self.options = options
        self.session = session
        self.status = status
        self.name = name
        self.summary = summary
        self.writer: RecordingWriter | None = None
        self.markers: dict[int, int] = {}  # wrapped seq (as recorded) -> code
        self.held: list[SampleBlock] = []
        self.t0: float | None = None
        self.duration_s = 0.0
        self.seen_markers = 0
        self.restart_lost = 0
        self.restart_losses: list[tuple[int, int, str]] = []
        self.samples = 0  # recorded: the board's lost-sample placeholders left out
        self.board_lost = 0  # placeholders the board sent for samples it lost itself
        self.board_runs: list[tuple[int, int, str]] = []
        self._boot_id: int | None = None
        self._seq_shift = 0
        self._t_shift_s = 0.0
        self._last: SampleBlock | None = None  # newest block as recorded (shifted)
        self._last_at_s = 0.0  # when it was taken in, on the session's clock

    def add(self, block: SampleBlock) -> SampleBlock:
        """Record ``block``; returns it as recorded (shifted after a board restart)."""
        block = self._continue(block)
        on_board = board_losses(block, _board_reason(self.session))
        self.board_lost += sum(count for _, count, _ in on_board)
        self.board_runs += on_board
        self.samples += len(block.seq) - sum(count for _, count, _ in on_board)
        if self.t0 is None:
            self.t0 = float(block.t_device_s[0])
        self._last = block
        self._last_at_s = self.session.now_s()
        self.duration_s = float(block.t_device_s[-1]) - self.t0
        if self.options.out is None:
            return block
        if self.writer is None:
            meta = _meta(
                self.session.config, self.status, self.name, self.options, self.summary.settings
            )
            self.writer = RecordingWriter(self.options.out, meta, self.options.fmt)
        self.held.append(block)
        self._take_markers()
        newest = float(block.t_device_s[-1])
        delay = self.options.write_delay_s
        while self.held and float(self.held[0].t_device_s[-1]) <= newest - delay:
            self.writer.append_rows(block_rows(self.held.pop(0), self.t0, self.markers).columns())
        return block

    def _continue(self, block: SampleBlock) -> SampleBlock:
        boot_id = block.config.boot_id if block.config is not None else None
        if self._boot_id is None or boot_id is None or boot_id == self._boot_id:
            self._boot_id = boot_id if boot_id is not None else self._boot_id
        else:
            self._boot_id = boot_id
            last = self._last
            if last is not None:
                period_s = float(np.median(np.diff(last.t_device_s))) if len(last.seq) > 1 else 0.01
                period_s = period_s if period_s > 0 else 0.01
                # on the session's clock: wall time, or the lockstep board's simulated time
                gap_s = max(self.session.now_s() - self._last_at_s, period_s)
                missing = max(round(gap_s / period_s) - 1, 0)
                first = int(last.seq[-1]) + 1
                self._seq_shift = first + missing - int(block.seq[0])
                self._t_shift_s = (
                    float(last.t_device_s[-1])
                    + (missing + 1) * period_s
                    - float(block.t_device_s[0])
                )
                if missing:
                    reason = "the board restarted (estimated from the session's clock)"
                    self.restart_losses.append((first, missing, reason))
                    self.restart_lost += missing
        if self._seq_shift == 0 and self._t_shift_s == 0.0:
            return block
        return dataclasses.replace(
            block,
            seq=block.seq + self._seq_shift,
            t_device_s=block.t_device_s + self._t_shift_s,
        )

    def _take_markers(self) -> None:
        """The board's new MARKER frames and the host's new marks -> ``markers``."""
        frames = self.session.markers
        for frame in frames[self.seen_markers :]:
            self.markers[(frame.seq + self._seq_shift) % SEQ_MODULUS] = _marker_code(frame)
        self.seen_markers = len(frames)
        if self.options.host_marks is not None:
            for seq, code in self.options.host_marks():
                self.markers[seq % SEQ_MODULUS] = code

    def close(self) -> None:
        """Write what is held and finish the file (also after Ctrl-C or an error)."""
        self._take_markers()
        self.summary.markers = self.seen_markers
        if self.writer is None or self.t0 is None:
            return
        for block in self.held:
            self.writer.append_rows(block_rows(block, self.t0, self.markers).columns())
        self.held.clear()
        self.summary.recording = self.writer.close()
        self.summary.markers_unplaced = len(self.markers)


def _settings_generation(session: Session, block: SampleBlock | None = None) -> tuple[int, int]:
    """(boot id, settings generation) of the CONFIG ``block`` came with (else the board's
    latest): the block's own, as the live view reads it, not whatever CONFIG the session has
    taken in by the time the block is recorded (that depends on the machine's load)."""
    config = block.config if block is not None and block.config is not None else session.config
    return (config.boot_id, config.settings_gen) if config is not None else (-1, -1)


def _meta(
    config: ConfigFrame | None,
    status: StatusFrame | None,
    name: str,
    options: StreamOptions,
    settings: BoardSettings | None = None,
) -> RecordingMeta:
    board: dict[str, Any] = {
        "mounting_aligned": config.aligned if config else None,
        "gyro_calibrated": config.gyro_calibrated if config else None,
        "gyro_bias_dps": list(settings.gyro_bias_dps)
        if settings and settings.gyro_bias_dps
        else None,
        "rate_hz": config.rate_hz if config else None,
        "protocol_minor": status.proto_minor if status else None,
    }
    return RecordingMeta(
        rate_hz=float(config.rate_hz) if config else 100.0,
        device_name=name,
        firmware_version=".".join(map(str, status.fw_version)) if status else None,
        protocol_version=1,
        imu_chip=ImuChip(config.imu).chip_name if config else None,
        mounting=list(settings.mounting_wxyz) if settings and settings.mounting_wxyz else None,
        test=options.test,
        start_time=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        software_version=__version__,
        side=options.side,
        condition=options.condition,
        extra={
            "source": _source(options),
            "scenario": options.virtual.scenario if options.virtual else None,
            "started_monotonic_s": time.monotonic(),
            "board": board,
            **options.extra,
        },
    )


def _source(options: StreamOptions) -> str:
    if options.transport is not None:
        return options.transport.name
    if options.port is not None:
        return "serial"
    return "virtual board" if options.virtual else "ble"

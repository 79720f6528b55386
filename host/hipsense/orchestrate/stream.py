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
import datetime as dt
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hipsense import __version__
from hipsense.errors import HipsenseError
from hipsense.link.blocks import block_rows
from hipsense.link.protocol import (
    RAW_LOST,
    SEQ_MODULUS,
    BoardSettings,
    Command,
    ConfigFrame,
    ImuChip,
    MarkerFrame,
    Result,
    StatusFrame,
    reply_settings,
    reply_status,
)
from hipsense.link.session import CommandFailed, SampleBlock, Session
from hipsense.link.transport.ble import BleTransport
from hipsense.recording import MARKER_BUTTON, MARKER_SETTINGS, RecordingMeta, RecordingWriter
from hipsense.virtual.launch import VirtualBoardOptions, virtual_board


class StreamBusy(HipsenseError):
    """The board runs another computer's stream (docs/link.md "Security")."""


WRITE_DELAY_S = 0.5
"""Blocks are written once this much newer stream time has arrived (markers catch up)."""

_IMU_NAMES = {
    ImuChip.MPU6050: "mpu6050",
    ImuChip.MPU6500: "mpu6500",
    ImuChip.MPU6886: "mpu6886",
    ImuChip.ICM42688P: "icm42688p",
    ImuChip.LSM6DS3: "lsm6ds3",
    ImuChip.LSM6DSOX: "lsm6dsox",
}


@dataclass
class StreamOptions:
    """``device``: a name or address (None: the first hipsense board found); ``virtual``:
    run the virtual board instead of looking for hardware; ``seconds``: stop after this much
    stream time (None: until interrupted); ``out``: write a recording (docs/recording.md);
    ``prepare``: awaited with the connected, stopped session before START (e.g. a guided
    mounting alignment)."""

    device: str | None = None
    virtual: VirtualBoardOptions | None = None
    seconds: float | None = None
    out: Path | None = None
    fmt: str | None = None
    raw: bool = True
    scan_timeout_s: float = 10.0
    test: str | None = None
    prepare: Callable[[Session], Awaitable[None]] | None = None
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
async def _transport(options: StreamOptions) -> AsyncIterator[tuple[BleTransport, str]]:
    if options.virtual is None:
        yield (
            BleTransport(options.device, scan_timeout_s=options.scan_timeout_s),
            (options.device or "hipsense"),
        )
        return
    from hipsense.virtual.bleak_backend import VirtualClient, VirtualScanner

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
        )


async def stream(
    options: StreamOptions,
    on_block: Callable[[SampleBlock, Session], None] | None = None,
    stop: asyncio.Event | None = None,
) -> StreamSummary:
    """Stream until ``options.seconds`` of samples arrived, ``stop`` is set or the link ends."""
    async with _transport(options) as (transport, name), Session(transport) as session:
        summary = StreamSummary(name)
        if options.take_over:
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
        status = reply_status(await session.command(Command.GET_STATUS))
        if options.prepare is not None:
            await options.prepare(session)
        await session.command(Command.SET_CONTENT, bytes([1 if options.raw else 0]))
        summary.settings = await board_settings(session)
        await session.command(Command.START)
        generation = _settings_generation(session)
        writer: RecordingWriter | None = None
        markers: dict[int, int] = {}
        held: list[SampleBlock] = []  # not yet written (see WRITE_DELAY_S)
        t0: float | None = None
        seen_markers = 0
        board_lost = 0  # placeholders the board sent for samples it lost itself
        board_runs: list[tuple[int, int, str]] = []
        try:
            async for block in session.samples():
                if t0 is None:
                    t0 = float(block.t_device_s[0])
                now_gen = _settings_generation(session)
                if now_gen != generation and now_gen[0] == generation[0]:  # same boot
                    markers.setdefault(int(block.seq[0]) % SEQ_MODULUS, MARKER_SETTINGS)
                    changed = await board_settings(session)
                    summary.settings_changes.append((float(block.t_device_s[0]) - t0, changed))
                generation = now_gen
                on_board = board_losses(block, _board_reason(session))
                board_lost += sum(count for _, count, _ in on_board)
                board_runs += on_board
                summary.samples += len(block.seq) - sum(count for _, count, _ in on_board)
                summary.duration_s = float(block.t_device_s[-1]) - t0
                if options.out is not None:
                    if writer is None:
                        meta = _meta(session.config, status, name, options, summary.settings)
                        writer = RecordingWriter(options.out, meta, options.fmt)
                    held.append(block)
                    seen_markers = _take_markers(session, seen_markers, markers)
                    newest = float(block.t_device_s[-1])
                    while held and float(held[0].t_device_s[-1]) <= newest - WRITE_DELAY_S:
                        writer.append_rows(block_rows(held.pop(0), t0, markers).columns())
                if on_block is not None:
                    on_block(block, session)
                if options.seconds is not None and summary.duration_s >= options.seconds:
                    break
                if stop is not None and stop.is_set():
                    break
        finally:
            seen_markers = _take_markers(session, seen_markers, markers)
            if writer is not None and t0 is not None:
                for block in held:
                    writer.append_rows(block_rows(block, t0, markers).columns())
                summary.recording = writer.close()
                summary.markers_unplaced = len(markers)
            with contextlib.suppress(Exception):
                await session.command(Command.STOP)
        stats = session.stats
        summary.lost = stats.lost + board_lost
        summary.link_downs = stats.link_downs
        summary.resends = stats.resends
        summary.malformed_frames = stats.malformed_frames
        summary.markers = seen_markers
        summary.losses = sorted(
            [(loss.first_seq, loss.count, loss.reason) for loss in session.losses] + board_runs
        )
        return summary


async def board_settings(session: Session) -> BoardSettings | None:
    """GET_SETTINGS: the mounting, gyro calibration and rate the board uses (None from a
    board older than protocol 1.1, or when the reply did not fit the MTU)."""
    reply = await session.command(Command.GET_SETTINGS, check=False)
    return reply_settings(reply) if reply.result == Result.OK else None


def _settings_generation(session: Session) -> tuple[int, int]:
    """(boot id, settings generation) of the board's latest CONFIG."""
    config = session.config
    return (config.boot_id, config.settings_gen) if config is not None else (-1, -1)


def _take_markers(session: Session, seen: int, markers: dict[int, int]) -> int:
    """Add the session's new MARKER frames to ``markers`` (seq -> code); the new count seen."""
    for frame in session.markers[seen:]:
        markers[frame.seq] = _marker_code(frame)
    return len(session.markers)


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
        imu_chip=_IMU_NAMES.get(ImuChip(config.imu)) if config else None,
        mounting=list(settings.mounting_wxyz) if settings and settings.mounting_wxyz else None,
        test=options.test,
        start_time=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        software_version=__version__,
        extra={
            "source": "virtual board" if options.virtual else "ble",
            "scenario": options.virtual.scenario if options.virtual else None,
            "started_monotonic_s": time.monotonic(),
            "board": board,
        },
    )

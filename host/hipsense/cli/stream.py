"""``hipsense scan`` and ``hipsense stream``: find sensors, show live numbers, record.

Both take ``--virtual`` to start the virtual board (the firmware on the MicroPython unix port
with a simulated IMU) instead of looking for hardware.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import click
from rich.console import Console
from rich.live import Live
from rich.table import Table

from hipsense.cli.cues import Cues
from hipsense.cli.outputs import overwrite_option
from hipsense.conventions.words import counted
from hipsense.link.protocol import BoardSettings
from hipsense.link.session import SampleBlock, Session
from hipsense.live.settings import SettingsWatch
from hipsense.orchestrate.stream import StreamOptions, StreamSummary, ctrl_c_reported, stream
from hipsense.virtual.launch import CLOCKS, VirtualBoardOptions, virtual_board

POSITIVE_S = click.FloatRange(min=0.0, min_open=True, max=86_400.0)
"""A duration in seconds: more than 0, at most a day."""
SPEED = click.FloatRange(min=0.0, min_open=True, max=100.0)


out_options = overwrite_option
"""``--overwrite``: replace an existing ``--out`` (refused otherwise)."""


def print_end(console: Console, summary: StreamSummary) -> None:
    """How the stream ended when that was not its planned end: Ctrl-C, a problem, restarts."""
    for event in summary.events:
        console.print(f"note: {event}", soft_wrap=True, highlight=False)
    if summary.interrupted:
        console.print(
            f"stopped (Ctrl-C) after {counted(summary.samples, 'sample')} "
            f"({summary.duration_s:.1f} s): they are kept",
            highlight=False,
        )
    if summary.problem is not None:
        kept = (
            f"the recording keeps the {counted(summary.samples, 'sample')} "
            f"({summary.duration_s:.1f} s) up to there: {summary.recording}"
            if summary.recording is not None
            else "nothing was recorded"
        )
        console.print(
            f"[bold yellow]the stream ended early: {summary.problem}; {kept}[/]",
            soft_wrap=True,
            highlight=False,
        )


class TableView(Protocol):
    """A live view: fed every block of samples, drawn as a table."""

    def __call__(self, block: SampleBlock, session: Session) -> None: ...

    def table(self) -> Table: ...


def stream_in_view(
    options: StreamOptions,
    console: Console,
    quiet: bool,
    make_view: Callable[[Live, asyncio.Event, Cues], TableView],
) -> StreamSummary:
    """Stream into a live table with cues (silent with ``quiet``); the table's last frame stays
    on screen when the stream ends."""

    async def run() -> StreamSummary:
        stop = asyncio.Event()
        with (
            Live(console=console, refresh_per_second=5, transient=False) as live,
            Cues(enabled=not quiet) as cues,
        ):
            view = make_view(live, stop, cues)
            summary = await stream(options, view, stop)
            live.update(view.table())
        return summary

    summary = asyncio.run(run())
    console.print()  # the live table's last frame has no newline when not on a terminal
    return summary


def settings_row(table: Table, watch: SettingsWatch) -> None:
    """The live views' row for a change of the board's stored settings during the session."""
    if watch.changed_t_s:
        times = ", ".join(f"{t:.1f} s" for t in watch.changed_t_s[-3:])
        table.add_row(
            "[bold yellow]settings changed[/]",
            f"[bold yellow]at {times}[/] (mounting, gyro calibration or rate, from another "
            "computer or USB?): before and after may not compare",
        )


def end_status(summary: StreamSummary) -> None:
    """Exit status 1 when the stream ended on a problem (its results are shown first)."""
    if summary.problem is not None:
        raise SystemExit(1)


def virtual_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """The options that choose what the virtual board simulates."""
    options = [
        click.option("--virtual", is_flag=True, help="Run the virtual board, not hardware."),
        click.option("--scenario", default=None,
                     help="Simulated motion (see `hipsense sim list`); default: one that "
                          "suits the command (walk-normal for stream, scan and walk)."),
        click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
                     help="Scenario seed."),
        click.option("--chip", default="mpu6886", show_default=True, help="Simulated IMU."),
        click.option("--board", "profile", default="m5stickc-plus2", show_default=True,
                     help="Board profile of the virtual board."),
        click.option("--speed", type=SPEED, default=1.0, show_default=True,
                     help="Simulated seconds per second (lockstep: at most)."),
        click.option("--clock", type=click.Choice(CLOCKS), default="lockstep",
                     show_default=True,
                     help="lockstep: the board's clock waits for this computer, so a busy "
                          "machine slows the simulation down instead of losing samples; "
                          "wall: the board runs on wall time x --speed."),
        click.option("--drop-link-every", type=POSITIVE_S, default=None, metavar="S",
                     help="Fault injection: drop the BLE link every S simulated seconds."),
        click.option("--drop-link-for", type=POSITIVE_S, default=3.0, show_default=True,
                     metavar="S", help="How long each forced disconnect lasts."),
    ]  # fmt: skip
    for option in reversed(options):
        func = option(func)
    return func


def virtual_board_options(
    kwargs: dict[str, Any],
    default_scenario: str = "walk-normal",
    protocol: dict[str, Any] | None = None,
) -> VirtualBoardOptions | None:
    """The virtual board the ``virtual_options`` ask for (None without ``--virtual``); takes
    those options out of ``kwargs``. ``protocol``: scenario parameters that make the simulated
    person do what the user asked for (applied to scenarios of the default's kind only)."""
    if not kwargs.pop("virtual"):
        return None
    scenario = kwargs.pop("scenario") or default_scenario
    same_kind = scenario.split("-")[0] == default_scenario.split("-")[0]
    return VirtualBoardOptions(
        params=tuple((protocol or {}).items()) if same_kind else (),
        scenario=scenario,
        seed=kwargs.pop("seed"),
        chip=kwargs.pop("chip"),
        profile=kwargs.pop("profile"),
        speed=kwargs.pop("speed"),
        clock=kwargs.pop("clock"),
        drop_link_every_s=kwargs.pop("drop_link_every"),
        drop_link_for_s=kwargs.pop("drop_link_for"),
    )


@click.command()
@click.option("--timeout", "timeout_s", type=POSITIVE_S, default=5.0, show_default=True,
              help="Scan seconds.")  # fmt: skip
@virtual_options
def scan(timeout_s: float, **kwargs: Any) -> None:
    """List the hipsense sensors in range."""
    from hipsense.link.transport.ble import scan as ble_scan

    virtual = virtual_board_options(kwargs)

    async def run() -> list[Any]:
        if virtual is None:
            return await ble_scan(timeout_s)
        from hipsense.virtual.bleak_backend import VirtualScanner

        async with virtual_board(virtual) as running:
            return await ble_scan(timeout_s, backend=VirtualScanner, radio=running.radio)

    found = asyncio.run(run())
    console = Console()
    if not found:
        console.print("No hipsense sensor found: is it switched on and not connected elsewhere?")
        return
    table = Table("name", "address", "signal (dBm)")
    for device in found:
        table.add_row(device.name, device.address, str(device.rssi_dbm))
    console.print(table)


class _LiveView:
    """Latest angles, sample counts and link health, redrawn at most 5 times a second."""

    def __init__(self, live: Live) -> None:
        self.live = live
        self.samples = 0
        self.t0_device_s: float | None = None
        self.t_drawn = 0.0
        self.settings = SettingsWatch()

    def __call__(self, block: SampleBlock, session: Session) -> None:
        self.samples += len(block.seq)
        self.settings(block, session)
        if self.t0_device_s is None:
            self.t0_device_s = float(block.t_device_s[0])
        config = session.config
        now = time.monotonic()
        if now - self.t_drawn < 0.2:
            return
        self.t_drawn = now
        tilt, obliquity, rotation = (block.angles_cdeg[-1].astype(float) / 100.0).tolist()
        stats = session.stats
        table = Table(title="hipsense stream", show_header=False, min_width=44)
        table.add_row("stream time", f"{float(block.t_device_s[-1]) - self.t0_device_s:.1f} s")
        table.add_row("samples", f"{self.samples}  (lost {stats.lost}, resent {stats.resends})")
        table.add_row("tilt", f"{tilt:+6.1f}°  (+ anterior)")
        table.add_row("obliquity", f"{obliquity:+6.1f}°  (+ left side higher)")
        table.add_row("rotation", f"{rotation:+6.1f}°  (+ turned left)")
        table.add_row("link drops", str(stats.link_downs))
        if config is not None:
            table.add_row("board", _board_line(config.aligned, config.gyro_calibrated))
        settings_row(table, self.settings)
        latency_ms = (now - float(block.t_host_s[-1])) * 1000.0
        table.add_row("delay", f"{max(latency_ms, 0.0):.0f} ms")
        self.live.update(table)


@click.command(name="stream")
@click.argument("device", required=False)
@click.option("--seconds", type=POSITIVE_S, default=None,
              help="Stop after this much stream time.")  # fmt: skip
@click.option("--port", default=None, metavar="PORT",
              help="USB serial link on PORT (/dev/ttyUSB0, COM3), not Bluetooth.")  # fmt: skip
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write a recording (docs/recording.md).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["parquet", "csv"]),
    default=None,
    help="Recording format (default: from the file name, else parquet).",
)
@click.option("--angles-only", is_flag=True, help="Stream angles without the raw IMU data.")
@click.option(
    "--take-over", is_flag=True, help="Take the stream another computer runs from the sensor."
)
@out_options
@virtual_options
def stream_command(
    device: str | None, seconds: float | None, port: str | None, out: Path | None,
    fmt: str | None, angles_only: bool, overwrite: bool, take_over: bool, **kwargs: Any,
) -> None:  # fmt: skip
    """Stream live pelvis angles from DEVICE (name or address; default: the first found).

    Ctrl-C ends the stream: the summary is printed and the recording closed."""
    virtual = virtual_board_options(kwargs)
    if port is not None and virtual is not None:
        raise click.UsageError("--port and --virtual exclude each other")
    options = StreamOptions(
        device=device, virtual=virtual, port=port, seconds=seconds, out=out, fmt=fmt,
        overwrite=overwrite, raw=not angles_only, test="stream", take_over=take_over,
    )  # fmt: skip
    with ctrl_c_reported(options.out):
        console = Console()
        with Live(console=console, refresh_per_second=5, transient=False) as live:
            summary = asyncio.run(stream(options, _LiveView(live)))
        console.print()  # the live table's last frame has no newline when not on a terminal
        _print_summary(console, summary)
        print_end(console, summary)
        end_status(summary)


def _board_line(aligned: bool, gyro_calibrated: bool) -> str:
    from hipsense.analysis.base import board_phrases

    return ", ".join(board_phrases(aligned, gyro_calibrated))


def settings_words(settings: BoardSettings | None) -> str:
    """What the board uses after a change, in words (GET_SETTINGS; None: it did not say)."""
    if settings is None:
        return "the board did not say what it uses now"
    board = _board_line(settings.mounting_wxyz is not None, settings.gyro_bias_dps is not None)
    return f"now {board}, {settings.rate_hz} Hz"


def _print_summary(console: Console, summary: StreamSummary) -> None:
    console.print(
        f"{summary.device_name}: {counted(summary.samples, 'sample')} over "
        f"{summary.duration_s:.1f} s, {summary.lost} lost, "
        f"{counted(summary.link_downs, 'link drop')}, {counted(summary.resends, 'resend')}",
        soft_wrap=True,
    )
    for first, count, reason in summary.losses:
        console.print(f"  lost {counted(count, 'sample')} from #{first}: {reason}", soft_wrap=True)
    if summary.markers_unplaced:
        console.print(
            f"  {summary.markers_unplaced} of {counted(summary.markers, 'marker')} "
            f"{'names' if summary.markers_unplaced == 1 else 'name'} a sample the recording "
            "does not hold (lost samples); they are not in the file",
            soft_wrap=True,
        )
    for t_s, settings in summary.settings_changes:
        console.print(
            f"  the board's settings changed at {t_s:.1f} s (a marker in the recording): "
            f"{settings_words(settings)}",
            soft_wrap=True,
        )
    if summary.recording is not None:
        console.print(f"recording: {summary.recording}", soft_wrap=True, highlight=False)

"""``hipsense flash``: one command from a bare ESP32 to verified hipsense firmware."""

from __future__ import annotations

import re
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TaskID, TextColumn

from hipsense.conventions.words import counted

_LABELS = {
    "download": "downloading",
    "erase": "erasing flash",
    "write": "writing MicroPython",
    "compile": "compiling",
    "copy": "copying files",
}


class RichFlashUI:
    """Steps as lines, long steps as rich progress bars (one bar per task name)."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self._progress: Progress | None = None
        self._tasks: dict[str, TaskID] = {}

    def step(self, text: str) -> None:
        self._stop_bars()
        self.console.print(f"[bold]•[/bold] {text}")

    def info(self, text: str) -> None:
        self._stop_bars()
        self.console.print(f"  {text}")

    def progress(self, task: str, done: int, total: int) -> None:
        if self._progress is None:
            columns = [TextColumn("  {task.description}"), BarColumn()]
            if task == "download":
                columns.append(DownloadColumn())
            else:
                columns.append(TextColumn("{task.completed}/{task.total}"))
            self._progress = Progress(*columns, console=self.console, transient=False)
            self._progress.start()
        if task not in self._tasks:
            self._tasks[task] = self._progress.add_task(
                _LABELS.get(task, task), total=total or None
            )
        self._progress.update(self._tasks[task], completed=done, total=total or None)

    def _stop_bars(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
            self._tasks.clear()

    def close(self) -> None:
        self._stop_bars()


def _check_sha256(value: str | None) -> str | None:
    if value is not None and not re.fullmatch(r"[0-9a-fA-F]{64}", value):
        raise click.BadParameter("expected 64 hexadecimal digits")
    return value.lower() if value else None


@click.command()
@click.option("--port", help="Serial port of the board (default: the one ESP32 found on USB).")
@click.option(
    "--board",
    "board_profile",
    help="Board profile from hardware/boards (e.g. devkitc-gy521, m5stickc-plus2).",
)
@click.option(
    "--image",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="MicroPython .bin to install instead of downloading it (used when MicroPython is "
    "missing, older than 1.22, or with --force-image).",
)
@click.option(
    "--sha256",
    callback=lambda ctx, param, value: _check_sha256(value),
    help="Expected SHA-256 (64 hex digits) of the MicroPython image.",
)
@click.option(
    "--force-image",
    is_flag=True,
    help="Erase the flash and reinstall MicroPython even if a recent one runs (boot loops).",
)
@click.option("--dry-run", is_flag=True, help="Print what would be done; change nothing.")
@click.option(
    "--firmware-dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Deploy this firmware folder instead of the installed one (development).",
)
@click.option("--settle-s", type=click.FloatRange(min=0.0, max=60.0), default=3.0, hidden=True)
def flash(
    port: str | None,
    board_profile: str | None,
    image: Path | None,
    sha256: str | None,
    force_image: bool,
    dry_run: bool,
    firmware_dir: Path | None,
    settle_s: float,
) -> None:
    """Install MicroPython (if needed) and the hipsense firmware, then verify it runs."""
    from hipsense.deploy.flow import FlashOptions
    from hipsense.deploy.flow import flash as run_flash

    console = Console()
    ui = RichFlashUI(console)
    try:
        result = run_flash(
            FlashOptions(
                port=port,
                board=board_profile,
                image=image,
                sha256=sha256,
                force_image=force_image,
                dry_run=dry_run,
                firmware_dir=firmware_dir,
                settle_s=settle_s,
            ),
            ui,
        )
    finally:
        ui.close()
    report = result.deploy
    if report is None or report.running is None:
        console.print("[bold]dry run:[/bold] nothing was changed")
        if report is not None:
            for line in report.plan.describe():
                console.print(f"  {line}")
        return
    running = report.running
    copied = len(report.plan.send) + len(report.plan.reuse)
    console.print(
        f"[green]ok[/green] firmware {running.fw_version} runs from slot {running.slot}; "
        f"IMU: {running.imu}; {counted(copied, 'file')} copied"
    )
    console.print("next: hipsense board info, then stream (see docs/flashing.md)")

"""``hipsense bridge``: guided double- and single-leg bridge sets with a live rep count.

Lie on the back, knees bent, still for 2 s (the test sets its own baseline there; the sensor
may sit at the front or the back of the belt); then the sets. The recording is analysed by the
same code as ``hipsense analyze FILE --test bridge`` (docs/clinical-tests.md).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.live import Live
from rich.table import Table

from hipsense.cli.stream import virtual_board_options, virtual_options
from hipsense.link.session import SampleBlock, Session

_SIDE_WORDS = {"both": "both feet", "left": "the LEFT foot (right leg extended)",
               "right": "the RIGHT foot (left leg extended)"}  # fmt: skip


class _BridgeView:
    """Prompt, set, reps counted live, lift and hip drop; redrawn at most 5 times a second."""

    def __init__(self, live: Live, sets: list[str], reps: int, hold_s: float,
                 stop: asyncio.Event) -> None:  # fmt: skip
        from hipsense.live.bridge import LiveBridge

        self.live = live
        self.sets = sets
        self.reps = reps
        self.hold_s = hold_s
        self.stop = stop
        self.bridge = LiveBridge()
        self.t_drawn = 0.0

    def __call__(self, block: SampleBlock, session: Session) -> None:
        self.bridge(block, session)
        if len(self.bridge.detector.reps_) >= len(self.sets) * self.reps:
            self.stop.set()
        now = time.monotonic()
        if now - self.t_drawn >= 0.2:
            self.t_drawn = now
            self.live.update(self.table())

    def prompt(self) -> str:
        b = self.bridge
        det = b.detector
        done = len(det.reps_)
        if done >= len(self.sets) * self.reps:
            return "done"
        if det.frame_ is None:
            return "lie on your back, knees bent, feet flat, and keep still"
        support = self.sets[done // self.reps]
        if b.up_since_t_s is not None:
            held = b.t_s - b.up_since_t_s
            if held < self.hold_s:
                return f"hold, pelvis level… {self.hold_s - held:3.1f} s"
            return "lower slowly"
        return f"rep {done % self.reps + 1}/{self.reps}: push up through {_SIDE_WORDS[support]}"

    def table(self) -> Table:
        det = self.bridge.detector
        table = Table(title="hipsense bridge", show_header=False, min_width=64)
        table.add_row("now", self.prompt())
        table.add_row("stream time", f"{self.bridge.t_s:.1f} s")
        table.add_row("reps", f"{len(det.reps_)} of {len(self.sets) * self.reps}")
        if det.frame_ is not None:
            table.add_row("lift", f"{det.lift_deg_:+5.1f}°")
            table.add_row("hip drop", f"{det.drop_deg_:+5.1f}°  (+ left side higher)")
        if det.reps_:
            last = det.reps_[-1]
            table.add_row("last rep", f"lift {last.lift_deg:.1f}°, hold {last.hold_s:.1f} s, "
                          f"drop {last.hip_drop_deg:+.1f}°")  # fmt: skip
        return table


def _default_scenario(sets: list[str]) -> str:
    """The simulated bridges for ``--virtual`` without ``--scenario``."""
    return "bridge-double" if sets == ["both"] else "bridge-single-weak-right"


@click.command()
@click.argument("device", required=False)
@click.option(
    "--sets",
    "sets_text",
    default="left,right",
    show_default=True,
    help="Supporting side of each set, in order: both (double-leg), left, right.",
)
@click.option("--reps", type=int, default=3, show_default=True, help="Reps per set.")
@click.option(
    "--hold",
    "hold_s",
    type=float,
    default=5.0,
    show_default=True,
    help="Hold asked for at the top (s).",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Recording file (default: recordings/bridge-<time>.parquet).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the JSON document at the end.")
@click.option(
    "--report/--no-report", default=False, show_default=True, help="Write the HTML report."
)
@virtual_options
def bridge(
    device: str | None, sets_text: str, reps: int, hold_s: float, out: Path | None,
    as_json: bool, report: bool, **kwargs: Any,
) -> None:  # fmt: skip
    """Guided bridge sets: reps counted live, then left against right."""
    from hipsense.analysis import analyse
    from hipsense.orchestrate.stream import StreamOptions, stream
    from hipsense.recording import read_recording, write_recording

    sets = [s.strip() for s in sets_text.split(",") if s.strip()]
    bad = [s for s in sets if s not in _SIDE_WORDS]
    if bad or not sets or reps < 1:
        raise click.BadParameter("--sets takes both, left or right, comma-separated; --reps >= 1")
    if out is None:
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        out = Path("recordings") / f"bridge-{stamp}.parquet"
    out.parent.mkdir(parents=True, exist_ok=True)
    options = StreamOptions(
        device=device, virtual=virtual_board_options(kwargs, _default_scenario(sets)), out=out,
        raw=True, test="bridge",
        seconds=60.0 + len(sets) * reps * (hold_s + 15.0),
    )  # fmt: skip
    console = Console()
    console.print(f"Bridges: {len(sets)} set(s) of {reps}, {hold_s:.0f} s holds "
                  f"({', '.join(sets)}).")  # fmt: skip

    async def run() -> Any:
        stop = asyncio.Event()
        with Live(console=console, refresh_per_second=5, transient=False) as live:
            view = _BridgeView(live, sets, reps, hold_s, stop)
            summary = await stream(options, view, stop)
            live.update(view.table())
        return summary

    try:
        summary = asyncio.run(run())
    except KeyboardInterrupt:
        summary = None
    if summary is None or summary.recording is None:
        console.print("stopped before a recording was written")
        return
    rec = read_recording(summary.recording)
    rec.meta.side = sets[0] if len(set(sets)) == 1 else "both"
    rec.meta.extra["protocol"] = {"sets": sets, "reps": reps, "hold_s": hold_s}
    write_recording(rec, summary.recording)
    console.print(f"recording: {summary.recording}", soft_wrap=True, highlight=False)
    result = analyse(rec, "bridge")
    console.print(result.summary_text(), soft_wrap=True, highlight=False)
    if as_json:
        click.echo(json.dumps(result.to_json(), indent=2))
    if report:
        path = result.write_report(summary.recording.with_name(summary.recording.stem + "_report"))
        console.print(f"report: {path}", soft_wrap=True, highlight=False)

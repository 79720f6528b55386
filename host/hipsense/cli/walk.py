"""``hipsense walk``: clip the sensor on and walk. Guided start, live left/right view, the
recording saved, then the summary and the report."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import math
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.live import Live
from rich.table import Table

from hipsense.analysis.walk import SIDE_CERTAIN_SCORE, drop_difference_words, step_time_words
from hipsense.cli.clinic import check_patient, height_for, patient_options
from hipsense.cli.outcome import (
    console_for,
    finish_stream,
    refuse_existing_report,
    result_options,
    say,
)
from hipsense.cli.stream import (
    POSITIVE_S,
    end_status,
    out_options,
    settings_row,
    virtual_board_options,
    virtual_options,
)
from hipsense.conventions import HEIGHT_RANGE_CM
from hipsense.detectors.walk.tracker import WalkEvent, WalkTracker
from hipsense.link.session import SampleBlock, Session
from hipsense.live.walk import LiveWalk

log = logging.getLogger(__name__)

STILL_S = 3.0
"""Guided start: stand still this long first (the board learns its gyro bias at rest)."""


def _aligner(
    console: Console, aligned: list[tuple[float, ...]] | None = None
) -> Callable[[Session], Awaitable[None]]:
    """The guided mounting alignment: stand still (phase 1), then walk forward (phase 3).
    The board's quaternion (w, x, y, z) is appended to ``aligned`` when given."""

    async def align(session: Session) -> None:
        from hipsense.link.session import CommandFailed
        from hipsense.motion.mounting import MountingError

        console.print("Mounting alignment: stand upright and still (2 s)…")
        await session.align_mounting(1)
        console.print("Now walk forward in a straight line and keep walking (8 s)…")
        try:
            q = await session.align_mounting(3)
        except CommandFailed as exc:
            raise MountingError(
                "mounting alignment failed: the sensor saw no regular walk. Start walking "
                "at the prompt and keep walking straight at an even pace for 8 s, then retry"
            ) from exc
        if q is None:
            console.print("Mounting aligned and stored on the sensor.")
            return
        if aligned is not None:
            aligned.append(q)
        w = q[0]
        turned = math.degrees(2.0 * math.acos(min(1.0, abs(w))))
        console.print(
            f"Mounting aligned and stored on the sensor (it sits turned {turned:.0f}° from "
            "the pelvis's axes; the angles are corrected for that).",
            highlight=False,
        )

    return align


def intro(align: bool) -> str:
    """The first instruction: with ``--align`` the alignment's own prompts come first."""
    walk = f"stand still for {STILL_S:.0f} s with the sensor on, then walk (Ctrl-C to stop)."
    return ("First the mounting alignment (follow its prompts), then " + walk) if align \
        else walk[0].upper() + walk[1:]  # fmt: skip


class _WalkView:
    """Redraws the live table at most 5 times a second."""

    def __init__(self, live: Live, walk: LiveWalk) -> None:
        self.live = live
        self.walk = walk
        self.t_drawn = 0.0

    def __call__(self, block: SampleBlock, session: Session) -> None:
        self.walk(block, session)
        now = time.monotonic()
        if now - self.t_drawn >= 0.2:
            self.t_drawn = now
            self.live.update(self.table())

    def table(self) -> Table:
        w = self.walk
        tr = w.tracker
        table = Table(title="hipsense walk", show_header=False, min_width=60)
        if w.t_s < STILL_S and not any(w.contacts.values()):
            table.add_row("start", f"stand still… {max(STILL_S - w.t_s, 0.0):.0f} s, then walk")
        else:
            table.add_row("start", "walk now")
        table.add_row("time", f"{w.t_s:.1f} s")
        table.add_row(
            "steps",
            f"left {w.contacts['left']}   right {w.contacts['right']}"
            + (f"   (side uncertain for {w.uncertain})" if w.uncertain else ""),
        )
        obl = "—" if math.isnan(w.obliquity_deg) else f"{w.obliquity_deg:+5.1f}°"
        table.add_row("obliquity", f"{obl}  (+ left side higher)")
        settings_row(table, w.settings)
        if tr is None:
            table.add_row("verdict", "waiting for the sensor's configuration")
            return table
        sym = tr.symmetry_
        for side, swing in (("right", "left"), ("left", "right")):
            s = sym.drop_deg[side]
            text = "—" if s.n == 0 else f"{s.mean:4.1f}° ± {0.0 if s.n < 2 else s.sd:.1f} (n={s.n})"
            table.add_row(f"{swing} drop in {side} stance", text)
        table.add_row("drop difference", drop_difference_words(sym))
        table.add_row("step time", step_time_words(sym.step_time_si()))
        ev = w.last_event
        if ev is not None:
            table.add_row(
                "last contact",
                f"{ev.contact.side}{' (side uncertain)' if _uncertain(ev) else ''} at "
                f"{ev.contact.t_s:.2f} s, shown {1000 * w.delay_s:.0f} ms "
                f"after it (longest {1000 * w.max_delay_s:.0f} ms)"
                + ("" if ev.contact.walking else "; no steady walking rhythm yet"),
            )
        table.add_row("pace", _pace(tr))
        table.add_row("verdict", tr.verdict_.text)
        return table


def _uncertain(ev: WalkEvent) -> bool:
    """The contact's side evidence is too weak to be sure of its side (docs/gait.md)."""
    return abs(ev.contact.side_score) < SIDE_CERTAIN_SCORE


def _pace(tr: WalkTracker) -> str:
    """Cadence from the mean step time; speed and step length when a height was given."""
    st = tr.symmetry_.step_s
    n = st["left"].n + st["right"].n
    if n == 0:
        return "—"
    mean_step_s = (st["left"].mean * st["left"].n + st["right"].mean * st["right"].n) / n
    text = f"cadence {60.0 / mean_step_s:.0f} steps/min"
    speed = tr.pace_["speed_mps"]
    length = tr.pace_["step_length_m"]
    if speed["left"].n + speed["right"].n == 0:
        return text + " (give --height for speed)"
    parts = [f"{s} {length[s].mean:.2f} m" for s in ("left", "right") if length[s].n]
    mean_speed = (speed["left"].mean * speed["left"].n + speed["right"].mean * speed["right"].n) / (
        speed["left"].n + speed["right"].n
    )
    return text + f", speed {mean_speed:.2f} m/s, step length " + ", ".join(parts)


@click.command()
@click.argument("device", required=False)
@click.option("--seconds", type=POSITIVE_S, default=None,
              help="Stop after this much stream time.")  # fmt: skip
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Recording file (default: recordings/walk-<time>.parquet).",
)
@click.option(
    "--align",
    is_flag=True,
    help="Align the mounting first: stand still 2 s, then walk forward 8 s "
    "(once per way of wearing the sensor; stored on the sensor).",
)
@result_options
@patient_options
@click.option(
    "--height",
    "height_cm",
    type=click.FloatRange(*HEIGHT_RANGE_CM),
    default=None,
    help="Your height in cm: step length and gait speed.",
)
@out_options
@virtual_options
def walk(
    device: str | None,
    seconds: float | None,
    out: Path | None,
    align: bool,
    report: bool,
    as_json: bool,
    patient_id: str | None,
    store_path: Path | None,
    height_cm: float | None,
    overwrite: bool,
    **kwargs: Any,
) -> None:
    """Walk with the sensor on: live left/right view, then the summary and the report.

    Ctrl-C ends the walk: what was recorded is analysed and reported."""
    from hipsense.orchestrate.stream import (
        StreamOptions,
        check_options,
        ctrl_c_reported,
        stream,
    )

    height_cm, height_from = height_for(check_patient(patient_id, store_path), height_cm)
    if out is None:
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        out = Path("recordings") / f"walk-{stamp}.parquet"
    options = StreamOptions(
        device=device,
        virtual=virtual_board_options(kwargs),
        seconds=seconds,
        out=out,
        overwrite=overwrite,
        raw=True,
        test="walk",
        extra={} if height_cm is None else {"height_cm": height_cm},  # for a later analysis
    )
    check_options(options)  # refusals come before the first prompt
    with ctrl_c_reported(options.out):
        refuse_existing_report(out, report, overwrite)
        console = console_for(as_json)
        options.prepare = _aligner(console) if align else None
        console.print(intro(align))
        if height_from:
            say(console, height_from)
        walker = LiveWalk(height_cm)
        with Live(console=console, refresh_per_second=5, transient=False) as live:
            view = _WalkView(live, walker)
            summary = asyncio.run(stream(options, view))
            live.update(view.table())
        console.print()
        result = finish_stream(
            console, summary, "walk", patient_id=patient_id, store_path=store_path, report=report,
            as_json=as_json, options={} if height_cm is None else {"height_cm": height_cm},
        )  # fmt: skip
        live_tr, offline_tr = walker.tracker, getattr(result, "tracker", None)
        if live_tr is not None and offline_tr is not None:
            same = (
                live_tr.n_steps_ == offline_tr.n_steps_
                and live_tr.verdict_.to_json() == offline_tr.verdict_.to_json()
            )
            if same:  # a developer's check: clinicians see only a disagreement
                log.debug("live and offline analyses agree")
            else:
                say(console, "note: the offline analysis differs from the live one (samples lost?)")
        end_status(summary)

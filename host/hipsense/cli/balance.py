"""``hipsense balance``: guided single-leg stance, left and right, eyes open or closed.

The sensor alone detects the lift-off and every touch-down; the recording is then analysed by
the same code as ``hipsense analyze FILE --test balance`` (docs/clinical-tests.md). A key
(Enter, space or ``t``) or the board's button marks a touch-down the sensor may have missed:
the fallback, used only when the sensor saw none near it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.live import Live
from rich.table import Table

from hipsense.cli.clinic import check_patient, patient_options
from hipsense.cli.cues import Cues
from hipsense.cli.keys import KeyReader
from hipsense.cli.outcome import (
    console_for,
    finish_stream,
    refuse_existing_report,
    result_options,
)
from hipsense.cli.stream import (
    end_status,
    out_options,
    settings_row,
    virtual_board_options,
    virtual_options,
)
from hipsense.link.session import SampleBlock, Session

if TYPE_CHECKING:
    from hipsense.detectors.balance.events import StanceTrial
    from hipsense.live.balance import LiveStance

COUNTDOWN_S = 3.0


class _StanceView:
    """Prompts, timer, angles and the sway trace, redrawn at most 5 times a second."""

    def __init__(
        self, live: Live, sides: list[str], duration_s: float, stop: asyncio.Event,
        cues: Cues | None = None,
    ) -> None:  # fmt: skip
        from hipsense.live.balance import LiveStance

        self.live = live
        self.sides = sides
        self.duration_s = duration_s
        self.stop = stop
        self.stance = LiveStance()
        self.t_drawn = 0.0
        self.key_hint: str | None = None
        self.cues = cues
        self.phase: tuple[str, int] | None = None
        self.resumed: set[float] = set()  # lift-off times of holds resumed after a pause

    def key(self, _key: str) -> None:
        """A key press: mark a touch-down at the newest sample, show it at once."""
        if self.stance.key() is not None:
            self.live.update(self.table())

    def __call__(self, block: SampleBlock, session: Session) -> None:
        paused = self.stance.paused(self.duration_s)
        self.stance(block, session)
        if paused is not None and self.stance.detector.current_trial_ is paused:
            self.resumed.add(paused.lift_off_t_s)  # the sway came back: the hold goes on
        if self.stance.ended_trials(self.duration_s) >= len(self.sides):
            self.stop.set()
        self.cue()
        now = time.monotonic()
        if now - self.t_drawn >= 0.2:
            self.t_drawn = now
            self.live.update(self.table())

    def phase_now(self) -> tuple[str, int]:
        """(start | lift | hold | pause | end, trial): the prompt's phase, for the sound cues."""
        s = self.stance
        k = s.ended_trials(self.duration_s)
        if k >= len(self.sides):
            return "end", k
        if s.paused(self.duration_s) is not None:
            return "pause", k
        trial = s.detector.current_trial_
        if trial is None:
            return ("start" if s.detector.state_ == "waiting" else "lift"), k
        return ("hold" if s.t_s - trial.lift_off_t_s < self.duration_s else "end"), k

    def cue(self) -> None:
        """Sound the prompt when its phase changes (start, lift, hold, time up, done); a pause
        is silent (it may be a lull in a steady hold) and so is the hold going on after it."""
        phase = self.phase_now()
        if phase != self.phase:
            resumed = self.phase == ("pause", phase[1]) and phase[0] == "hold"
            self.phase = phase
            silent = phase[0] == "pause" or resumed
            if self.cues is not None and not silent:
                self.cues(phase[0])

    def prompt(self) -> str:
        s = self.stance
        k = s.ended_trials(self.duration_s)
        if k >= len(self.sides):
            return "done"
        side = self.sides[k].upper()
        paused = s.paused(self.duration_s)
        if paused is not None:
            left_s = paused.lift_off_t_s + self.duration_s - s.t_s
            if k + 1 >= len(self.sides):
                then = f"the test ends in {left_s:.0f} s"
            elif s.detector.state_ == "ready":  # quiet on both feet, or a lull on one
                free = "LEFT" if self.sides[k + 1] == "right" else "RIGHT"
                then = f"lift your {free} foot for trial {k + 2}"
            else:
                then = f"stand still on both feet for trial {k + 2}"
            return f"no sway on the {side} leg: foot still up? keep holding; foot down? {then}"
        trial = s.detector.current_trial_
        if trial is None:
            if s.detector.state_ == "waiting":
                return f"trial {k + 1}: stand still on both feet, arms crossed"
            free = "LEFT" if side == "RIGHT" else "RIGHT"
            return f"trial {k + 1}: lift your {free} foot, stand on the {side} leg"
        held = s.t_s - trial.lift_off_t_s
        if held >= self.duration_s:
            return "time: put the foot down"
        return f"hold on the {side} leg… {self.duration_s - held:4.1f} s left"

    def table(self) -> Table:
        s = self.stance
        table = Table(title="hipsense balance", show_header=False, min_width=64)
        table.add_row("now", self.prompt())
        table.add_row("stream time", f"{s.t_s:.1f} s")
        trial = s.detector.current_trial_
        paused = s.paused(self.duration_s)
        if trial is not None:
            again = " (resumed after a pause)" if trial.lift_off_t_s in self.resumed else ""
            table.add_row("holding", f"{s.t_s - trial.lift_off_t_s:.1f} s, touch-downs "
                          f"{len(trial.touch_downs)}{again}")  # fmt: skip
            table.add_row("stance leg", self.leg_text(trial.shift_m))
        elif paused is not None and paused.end_t_s is not None:
            table.add_row("holding", f"paused at {paused.end_t_s - paused.lift_off_t_s:.1f} s: "
                          "no sway; the hold goes on if it comes back")  # fmt: skip
        obl, tilt = s.relative_deg()
        if not math.isnan(obl):
            table.add_row("obliquity", f"{obl:+5.1f}°  (+ left side higher)")
            table.add_row("tilt", f"{tilt:+5.1f}°  (+ anterior)")
        table.add_row("sway", s.sparkline())
        if trial is not None:
            how = f"press {self.key_hint} or the" if self.key_hint else "press the"
            table.add_row("missed?", f"{how} board's button to mark a touch-down the sensor "
                          "missed")  # fmt: skip
        table.add_row("marks", self.marks_text())
        done = [trial_words(tr) for tr in s.detector.trials_
                if tr.end_t_s is not None and tr is not paused]  # fmt: skip
        table.add_row("trials", "; ".join(done) or "—")
        settings_row(table, s.settings)
        return table

    def leg_text(self, shift_m: float) -> str:
        """The stance leg the weight shift showed, against the one asked for."""
        from hipsense.analysis.balance import stance_side_check

        k = min(self.stance.ended_trials(self.duration_s), len(self.sides) - 1)
        seen, note = stance_side_check(shift_m, self.sides[k])
        if seen is None:
            return f"no weight shift seen (protocol: {self.sides[k]})"
        return note or f"{seen} (as asked)"

    def marks_text(self) -> str:
        """The newest key/button mark: waiting for the sensor, or what became of it."""
        det = self.stance.detector
        pending = det.pending_marks_
        if pending:
            m = pending[-1]
            return f"{m.source} at {m.t_s:.1f} s: giving the sensor {det.mark_grace_s:.1f} s…"
        return det.notes_[-1] if det.notes_ else "—"


def trial_words(trial: StanceTrial) -> str:
    """An ended trial as the summary gives it: held to the first touch-down (the summary's
    "held"), and the whole time on one leg when brief touch-downs went on after it."""
    end = trial.end_t_s if trial.end_t_s is not None else trial.lift_off_t_s
    first = trial.first_touch_down_t_s
    held = (first if first is not None else end) - trial.lift_off_t_s
    text = f"held {held:.1f} s"
    if trial.touch_downs:
        text += f" to the first touch-down ({end - trial.lift_off_t_s:.1f} s on one leg in all)"
    return text + end_note(trial.end_source)


def end_note(source: str) -> str:
    """How a hold ended, in words, when not by the sensor."""
    words = {"key": "key press", "button": "button press", "recording end": "recording ended"}
    return "" if source == "sensor" else f" ({words.get(source, source)})"


@click.command()
@click.argument("device", required=False)
@click.option(
    "--side",
    type=click.Choice(["left", "right", "both"]),
    default="both",
    show_default=True,
    help="Stance leg; both = right, then left.",
)
@click.option("--eyes", type=click.Choice(["open", "closed"]), default="open", show_default=True)
@click.option(
    "--duration",
    "duration_s",
    type=click.FloatRange(min=0.0, min_open=True, max=600.0),
    default=30.0,
    show_default=True,
    help="Hold time asked for per trial (s).",
)
@click.option(
    "--age",
    "age_years",
    type=click.FloatRange(1, 120),  # as for analyze and report
    default=None,
    help="Age, for the hold-time norm.",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Recording file (default: recordings/balance-<time>.parquet).",
)
@result_options
@click.option("--quiet", is_flag=True, help="No sound prompts.")
@patient_options
@out_options
@virtual_options
def balance(
    device: str | None, side: str, eyes: str, duration_s: float, age_years: float | None,
    out: Path | None, as_json: bool, report: bool, quiet: bool, patient_id: str | None,
    store_path: Path | None, overwrite: bool, **kwargs: Any,
) -> None:  # fmt: skip
    """Guided single-leg stance test: lift-off and touch-downs from the sensor alone.

    Enter, space or t (or the board's button) marks a touch-down the sensor missed. Ctrl-C
    ends the test: the trials recorded so far are analysed.
    """
    from hipsense.orchestrate.stream import (
        StreamOptions,
        check_options,
        ctrl_c_reported,
        stream,
    )

    check_patient(patient_id, store_path)
    sides = ["right", "left"] if side == "both" else [side]
    condition = f"eyes_{eyes}"
    if out is None:
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        out = Path("recordings") / f"balance-{stamp}.parquet"
    extra: dict[str, Any] = {"protocol": {"sides": sides, "duration_s": duration_s}}
    if age_years is not None:
        extra["age_years"] = age_years
    options = StreamOptions(
        device=device, virtual=virtual_board_options(
            kwargs, f"stance-eyes-{eyes}", {"sides": tuple(sides), "hold_s": duration_s}),
        out=out, overwrite=overwrite, raw=True, test="balance",
        seconds=len(sides) * (duration_s + 40.0), side=side, condition=condition, extra=extra,
    )  # fmt: skip
    check_options(options)  # refusals come before the first prompt
    with ctrl_c_reported(options.out):
        refuse_existing_report(out, report, overwrite)
        console = console_for(as_json)
        console.print(
            f"Single-leg stance, eyes {eyes}, {duration_s:.0f} s per trial, on the "
            f"{' then '.join(sides)} leg. Barefoot, arms crossed. Get ready…"
        )
        time.sleep(0 if options.virtual else COUNTDOWN_S)

        async def run() -> tuple[Any, LiveStance]:
            stop = asyncio.Event()
            with (
                Live(console=console, refresh_per_second=5, transient=False) as live,
                Cues(enabled=not quiet) as cues,
            ):
                view = _StanceView(live, sides, duration_s, stop, cues)
                options.host_marks = _new_marks(view.stance)
                options.write_delay_s = view.stance.lookup_s  # a late button press still lands
                with KeyReader(view.key) as keys:
                    view.key_hint = {"keys": "Enter, space or t,", "lines": "Enter"}.get(
                        keys.mode or ""
                    )
                    summary = await stream(options, view, stop)
                live.update(view.table())
            return summary, view.stance

        summary, _stance = asyncio.run(run())
        console.print()  # the live table's last frame has no newline when not on a terminal
        finish_stream(
            console, summary, "balance", patient_id=patient_id, store_path=store_path,
            report=report, as_json=as_json, options={"age_years": age_years},
        )  # fmt: skip
        end_status(summary)


def _new_marks(stance: LiveStance) -> Callable[[], list[tuple[int, int]]]:
    """The marks (key presses, button presses) made since the last call, for the recording."""
    taken = 0

    def new() -> list[tuple[int, int]]:
        nonlocal taken
        marks = stance.marks[taken:]
        taken = len(stance.marks)
        return [(m.seq, m.code) for m in marks]

    return new

"""``hipsense exercise NAME``: a guided corrective-exercise set coached by the pelvis, live.

Get into the exercise's start posture and keep still (the baseline); then the reps (or the
hold). The moment a fault passes its threshold the screen shows what to correct and a cue
sounds (``--quiet``: none). The recording (test ``exercise:NAME``) is analysed by the same code
as ``hipsense analyze FILE --test exercise:NAME`` (docs/exercises.md).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from pathlib import Path
from typing import Any

import click
from rich.live import Live
from rich.table import Table

from hipsense.cli.clinic import check_patient, patient_options
from hipsense.cli.cues import Cues
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
    stream_in_view,
    virtual_board_options,
    virtual_options,
)
from hipsense.conventions.exercises import SPECS, ExerciseSpec
from hipsense.conventions.words import counted
from hipsense.link.session import SampleBlock, Session

VIRTUAL_REPS = 5
"""Reps per set of the simulated person of ``--virtual`` (hipsense.sim.exercise)."""
CUE_SHOWN_S = 2.5


class _ExerciseView:
    """Prompt, set, reps, the fault angles now and the last cue; redrawn ≤ 5 times a second."""

    def __init__(self, live: Live, spec: ExerciseSpec, sides: list[str], reps: int,
                 hold_s: float, tempo_s: float, stop: asyncio.Event,
                 cues: Cues | None = None) -> None:  # fmt: skip
        from hipsense.live.exercise import LiveExercise

        self.live = live
        self.spec = spec
        self.sides = sides
        self.reps = reps
        self.hold_s = hold_s
        self.tempo_s = tempo_s
        self.stop = stop
        self.cues = cues
        self.coach = LiveExercise(spec, sides, reps, on_event=self.on_event)
        self.t_drawn = 0.0
        self.last_cue: tuple[str, float] | None = None
        self.posture: str | None = None

    def on_event(self, event: Any) -> None:
        if event.kind == "fault":
            self.last_cue = (event.text, event.t_s)
            if self.cues is not None:
                self.cues("fault")
        elif event.kind == "posture":
            self.posture = event.text
        elif event.kind == "baseline":
            self.posture = None
            if self.cues is not None:
                self.cues("start")
        elif event.kind == "start" and self.spec.mode == "hold" and self.cues is not None:
            self.cues("hold")
        elif event.kind in ("rep", "hold") and self.cues is not None and self.coach.session.done:
            self.cues("end")

    def __call__(self, block: SampleBlock, session: Session) -> None:
        self.coach(block, session)
        if self.coach.session.done:
            self.stop.set()
        now = time.monotonic()
        if now - self.t_drawn >= 0.2:
            self.t_drawn = now
            self.live.update(self.table())

    def prompt(self) -> str:
        s = self.coach.session
        det = s.detector
        if s.done:
            return "done"
        side = "" if det.side == "both" else f" ({det.side} side)"
        if det.baseline_t_s_ is None:
            return self.posture or f"{self.spec.setup}{side}"
        if self.spec.mode == "hold":
            cur = det.current_
            if cur is None:
                return f"tuck your tailbone and hold{side}"
            left = self.hold_s - (self.coach.t_s - cur.start_t_s)
            return f"hold… {left:4.1f} s" if left > 0 else "well done: release slowly"
        n = len(det.reps_)
        phase = "up" if (self.coach.t_s % self.tempo_s) < 0.5 * self.tempo_s else "down"
        return f"rep {n + 1}/{self.reps}{side}: {phase} (one rep every {self.tempo_s:g} s)"

    def table(self) -> Table:
        s = self.coach.session
        det = s.detector
        table = Table(title=f"hipsense exercise: {self.spec.title}", show_header=False,
                      min_width=64)  # fmt: skip
        table.add_row("now", self.prompt())
        table.add_row("stream time", f"{self.coach.t_s:.1f} s")
        table.add_row("set", f"{s.current + 1} of {len(s.sets)}")
        unit = "holds" if self.spec.mode == "hold" else "reps"
        table.add_row(unit, f"{len(det.reps_)} of {s.reps_per_set}")
        if det.baseline_t_s_ is not None:
            for i, f in enumerate(self.spec.faults):
                v = det.fault_value(i)
                mark = "  [bold red]past the threshold[/]" if v > f.threshold else ""
                table.add_row(
                    f.label, f"{v:5.1f}{f.unit} (threshold {f.threshold:g}{f.unit}){mark}"
                )
        if self.last_cue and self.coach.t_s - self.last_cue[1] < CUE_SHOWN_S:
            table.add_row("[bold red]correct[/]", f"[bold red]{self.last_cue[0]}[/]")
        settings_row(table, self.coach.settings)
        return table


@click.command()
@click.argument("name", type=click.Choice(list(SPECS)))
@click.argument("device", required=False)
@click.option("--sides", "sides_text", default=None,
              help="Side of each set, in order (left, right); default right,left "
                   "(one set without sides for the butt squeeze).")  # fmt: skip
@click.option(
    "--reps",
    type=click.IntRange(1, 100),
    default=None,
    help=f"Reps per set (default: 10; {VIRTUAL_REPS} with --virtual). Holds: 1 a set.",
)
@click.option("--hold", "hold_s", type=click.FloatRange(1.0, 600.0), default=30.0,
              show_default=True, help="Hold asked for (s), for holds.")  # fmt: skip
@click.option("--tempo", "tempo_s", type=click.FloatRange(0.5, 20.0), default=3.0,
              show_default=True, help="Seconds per rep shown as the up/down rhythm.")  # fmt: skip
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Recording file (default: recordings/exercise-NAME-<time>.parquet).",
)
@result_options
@click.option("--quiet", is_flag=True, help="No sound cues.")
@patient_options
@out_options
@virtual_options
def exercise(
    name: str, device: str | None, sides_text: str | None, reps: int | None, hold_s: float,
    tempo_s: float, out: Path | None, as_json: bool, report: bool, quiet: bool,
    patient_id: str | None, store_path: Path | None, overwrite: bool, **kwargs: Any,
) -> None:  # fmt: skip
    """Guided exercise set: live cues the moment the pelvis does what it should not."""
    from hipsense.orchestrate.stream import (
        StreamOptions,
        check_options,
        ctrl_c_reported,
    )

    spec = SPECS[name]
    sides = [s.strip() for s in (sides_text or "right,left").split(",") if s.strip()]
    if not spec.sided:
        if sides_text is not None:  # refused, never ignored
            raise click.BadParameter(f"the {spec.title.lower()} is one set without sides: "
                                     "leave out --sides")  # fmt: skip
        sides = ["both"]
    elif not sides or any(s not in ("left", "right") for s in sides):
        raise click.BadParameter("--sides takes left or right, comma-separated")
    virtual = virtual_board_options(kwargs, f"exercise-{name}")
    if reps is None:
        reps = VIRTUAL_REPS if virtual is not None else spec.default_reps
    if spec.mode == "hold":
        reps = 1
    check_patient(patient_id, store_path)
    if out is None:
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        out = Path("recordings") / f"exercise-{name}-{stamp}.parquet"
    per_rep_s = hold_s + 8.0 if spec.mode == "hold" else tempo_s + 2.0
    options = StreamOptions(
        device=device, virtual=virtual, out=out, overwrite=overwrite, raw=True,
        test=f"exercise:{name}", seconds=60.0 + len(sides) * (reps * per_rep_s + 30.0),
        side=sides[0] if len(set(sides)) == 1 else "both",
        extra={"protocol": {"sides": sides, "reps": reps, "hold_s": hold_s, "tempo_s": tempo_s}},
    )  # fmt: skip
    check_options(options)  # refusals come before the first prompt
    with ctrl_c_reported(options.out):
        refuse_existing_report(out, report, overwrite)
        console = console_for(as_json)
        what = f"{hold_s:.0f} s hold" if spec.mode == "hold" else counted(reps, "rep")
        console.print(f"{spec.title}: {counted(len(sides), 'set')} of {what} ({', '.join(sides)}); "
                      f"sensor at the {spec.placement} of the belt.")  # fmt: skip

        summary = stream_in_view(
            options, console, quiet, lambda live, stop, cues:
            _ExerciseView(live, spec, sides, reps, hold_s, tempo_s, stop, cues),
        )  # fmt: skip
        finish_stream(
            console, summary, f"exercise:{name}", patient_id=patient_id, store_path=store_path,
            report=report, as_json=as_json,
        )  # fmt: skip
        end_status(summary)

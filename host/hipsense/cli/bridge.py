"""``hipsense bridge``: guided double- and single-leg bridge sets with a live rep count.

Lie on the back, knees bent, still for 2 s (the test sets its own baseline there; the sensor
may sit at the front or the back of the belt); then the sets. The recording is analysed by the
same code as ``hipsense analyze FILE --test bridge`` (docs/clinical-tests.md).
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
from hipsense.conventions.words import counted
from hipsense.link.session import SampleBlock, Session

_SIDE_WORDS = {"both": "both feet", "left": "the LEFT foot (right leg extended)",
               "right": "the RIGHT foot (left leg extended)"}  # fmt: skip

MAX_SETS = 10
"""The most sets one `hipsense bridge` session takes: more is several sessions, and the reading
of a session's supporting legs (detectors.bridge.compare) grows with its sets."""


class _BridgeView:
    """Prompt, set, reps counted live, lift and hip drop; redrawn at most 5 times a second."""

    def __init__(self, live: Live, sets: list[str], reps: int, hold_s: float,
                 stop: asyncio.Event, cues: Cues | None = None) -> None:  # fmt: skip
        from hipsense.live.bridge import LiveBridge

        self.live = live
        self.sets = sets
        self.reps = reps
        self.hold_s = hold_s
        self.stop = stop
        self.bridge = LiveBridge()
        self.t_drawn = 0.0
        self.cues = cues
        self.phase: tuple[str, int] | None = None
        self._read: tuple[int, list[str], list[str]] | None = None
        """The session's reading of the supporting legs: (reps read, sides, sources)."""

    def __call__(self, block: SampleBlock, session: Session) -> None:
        self.bridge(block, session)
        if len(self.bridge.detector.reps_) >= len(self.sets) * self.reps:
            self.stop.set()
        self.cue()
        now = time.monotonic()
        if now - self.t_drawn >= 0.2:
            self.t_drawn = now
            self.live.update(self.table())

    def phase_now(self) -> tuple[str, int]:
        """(start | lift | hold | end, rep): the prompt's phase, for the sound cues."""
        b = self.bridge
        done = len(b.detector.reps_)
        if done >= len(self.sets) * self.reps:
            return "end", done
        if b.detector.frame_ is None:
            return "start", done
        if b.up_since_t_s is not None:
            return ("hold" if b.t_s - b.up_since_t_s < self.hold_s else "end"), done
        return "lift", done

    def cue(self) -> None:
        """Sound the prompt when its phase changes (lie still, push up, hold, lower, done)."""
        phase = self.phase_now()
        if phase != self.phase:
            self.phase = phase
            if self.cues is not None:
                self.cues(phase[0])

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
            table.add_row("supporting leg", self.support_text(len(det.reps_) - 1, last))
        settings_row(table, self.bridge.settings)
        return table

    def support_text(self, k: int, rep: Any) -> str:
        """Rep ``k``'s supporting leg as the sensor reads the session so far (the analysis's
        reading: a set's reps share their drop, twist and lift), against the protocol's."""
        from hipsense.detectors.bridge.compare import assign_supports

        reps = self.bridge.detector.reps_[: k + 1]
        if self._read is None or self._read[0] != len(reps):
            sides, sources, _ = assign_supports(
                [r.hip_drop_deg for r in reps], [r.twist_deg for r in reps],
                [r.lift_deg for r in reps], self.sets, self.reps,
            )  # fmt: skip
            self._read = (len(reps), sides, sources)
        side, source = self._read[1][k], self._read[2][k]
        asked = self.sets[min(k // self.reps, len(self.sets) - 1)]
        if "not determined" in source:
            return f"not determined by the sensor (pelvis level): the protocol's {asked}"
        if side != asked:
            return f"{side} by the sensor, but the protocol asked for {asked}: reported as {side}"
        return f"{side} (as asked)"


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
@click.option(
    "--reps", type=click.IntRange(1, 50), default=3, show_default=True, help="Reps per set."
)
@click.option(
    "--hold",
    "hold_s",
    type=click.FloatRange(min=0.0, min_open=True, max=120.0),
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
@result_options
@click.option("--quiet", is_flag=True, help="No sound prompts.")
@patient_options
@out_options
@virtual_options
def bridge(
    device: str | None, sets_text: str, reps: int, hold_s: float, out: Path | None,
    as_json: bool, report: bool, quiet: bool, patient_id: str | None, store_path: Path | None,
    overwrite: bool, **kwargs: Any,
) -> None:  # fmt: skip
    """Guided bridge sets: reps counted live, then left against right.

    Ctrl-C ends the sets: the reps recorded so far are analysed."""
    from hipsense.orchestrate.stream import (
        StreamOptions,
        check_options,
        ctrl_c_reported,
    )

    sets = [s.strip() for s in sets_text.split(",") if s.strip()]
    bad = [s for s in sets if s not in _SIDE_WORDS]
    if bad or not sets:
        raise click.BadParameter("--sets takes both, left or right, comma-separated")
    if len(sets) > MAX_SETS:
        raise click.BadParameter(
            f"--sets takes at most {MAX_SETS} sets, got {len(sets)}: record the rest as another "
            "session"
        )
    check_patient(patient_id, store_path)
    if out is None:
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        out = Path("recordings") / f"bridge-{stamp}.parquet"
    options = StreamOptions(
        device=device, virtual=virtual_board_options(
            kwargs, _default_scenario(sets),
            {"sequence": tuple(sets), "reps": reps, "hold_s": hold_s}), out=out,
        overwrite=overwrite, raw=True, test="bridge",
        seconds=60.0 + len(sets) * reps * (hold_s + 15.0),
        side=sets[0] if len(set(sets)) == 1 else "both",
        extra={"protocol": {"sets": sets, "reps": reps, "hold_s": hold_s}},
    )  # fmt: skip
    check_options(options)  # refusals come before the first prompt
    with ctrl_c_reported(options.out):
        refuse_existing_report(out, report, overwrite)
        console = console_for(as_json)
        console.print(f"Bridges: {counted(len(sets), 'set')} of {reps}, {hold_s:.0f} s holds "
                      f"({', '.join(sets)}).")  # fmt: skip

        summary = stream_in_view(
            options, console, quiet, lambda live, stop, cues:
            _BridgeView(live, sets, reps, hold_s, stop, cues),
        )  # fmt: skip
        finish_stream(
            console, summary, "bridge", patient_id=patient_id, store_path=store_path,
            report=report, as_json=as_json,
        )  # fmt: skip
        end_status(summary)

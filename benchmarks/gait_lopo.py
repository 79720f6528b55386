"""Leave-one-participant-out (LOPO) figures of the walk detector's chosen settings.

For every participant of every gait folder of ``../shared/benchmarks`` (plus extra folders as
arguments, e.g. MS_001 of ``make heldout``), each setting of ``ContactDetector`` that was chosen
on the real sets is chosen again on the *other* participants (their pooled recordings), and the
held-out participant is scored with the detector configured with those choices:

- contacts F1 chooses the slow-step look-back (``before_steps``);
- the timing error chooses the contact dating (``delay_s``): the least mean absolute error of
  the matched contacts, a sequence's first and last included (edge-tolerant matching). Strict
  F1 would choose which edge of the sequences to lose: a sequence runs from its first contact
  to one sample after its last, so dating every contact 10 ms later keeps more first contacts
  inside and loses more last ones (0.07 against 0.08 s: every healthy adult's edge-tolerant F1
  is the same, their strict F1 differs by up to 0.008 either way, docs/validation.md);
- left/right with ``--axes`` chooses the side rule's per-walk cue weights (``cue_weighting`` ×
  ``teach_state`` × ``weigh_after``: 64 settings), the memory off the rhythm
  (``irregular_memory``) and the weight of the window before the contact (``ml_before_weight``).

Beside the sides of every matched contact it prints those over the contacts whose side is not
flagged uncertain (held out), with the share flagged (``gait_accuracy.Score.sure_cell``).

Each grid (:data:`GRIDS`) runs with the other settings at their defaults; a tie keeps the
default. A participant whose recordings repeat another's (``same_recording_as``: SEMIO_healthy,
a copy of IPOL_01) is held out together with it. Loading and scoring are ``gait_accuracy.py``'s.

The setting-independent work is done once per recording: the file is read and the left axis of
its ``--axes`` mounting taken from the walk analysis; per grid setting only the contact detector
runs, with ``--axes`` (with the defaults it reproduces ``analyse_walk``'s contacts, sides and
decision times exactly: checked on every recording). The sides without ``--axes`` are scored for
the chosen configurations only, by the whole walk analysis with the configured detector, so the
mounting is estimated as that detector would have it.

    nice .venv/bin/python benchmarks/gait_lopo.py [EXTRA_FOLDER ...] [--axes-only]
"""

from __future__ import annotations

import argparse
import functools
import itertools
import json
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

import hipsense.analysis.walk as walk_analysis
import numpy as np
import numpy.typing as npt
from gait_accuracy import COLUMN_MAP, Score, score_contacts
from hipsense import paths
from hipsense.detectors.walk.contacts import Contact, ContactDetector
from hipsense.detectors.walk.scoring import (
    ReferenceRecording,
    benchmark_folders,
    reference_recordings,
)
from hipsense.recording.importer import read_foreign_csv
from hipsense.recording.model import Recording

Setting = tuple[tuple[str, Any], ...]
"""Detector keyword arguments, as a hashable tuple of (name, value)."""

SIDE_GRID: list[Setting] = [
    (("cue_weighting", w), ("teach_state", q), ("weigh_after", n))
    for w, q, n in itertools.product((0.25, 0.5, 0.75, 1.0), (0.25, 0.5, 0.75, 1.0),
                                     (20, 30, 40, 60))
]  # fmt: skip


def _one(name: str, values: Iterable[float]) -> list[Setting]:
    return [((name, v),) for v in values]


GRIDS: list[tuple[str, list[Setting], str]] = [
    ("look-back (running steps)", _one("before_steps", (0.4, 0.45, 0.5, 0.55, 0.6)), "f1"),
    ("contact dating (s)", _one("delay_s", (0.07, 0.08, 0.09, 0.10, 0.11)), "timing"),
    ("cue weights (share / threshold / steps)", SIDE_GRID, "sides"),
    ("off-rhythm memory", _one("irregular_memory", (0.0, 0.2, 0.4)), "sides"),
    ("weight-shift before-window weight", _one("ml_before_weight", (0.0, 0.5, 1.0)), "sides"),
]
"""Each setting's grid (the values it was chosen among, docs/validation.md) and the pooled figure
that chooses it: contacts F1, the contacts' timing error or left/right with ``--axes``."""


def default_of(grid: Sequence[Setting]) -> Setting:
    """The grid's setting that the detector's defaults are."""
    probe = ContactDetector(100.0)
    for s in grid:
        if all(getattr(probe, k) == v for k, v in s):
            return s
    raise AssertionError("the detector's defaults are not in the grid")


@dataclass
class Prepared:
    """One recording read once, with the left axis its ``--axes`` give."""

    ref: ReferenceRecording
    recording: Recording
    left_axes: npt.NDArray[Any]
    key: tuple[str, str]  # (set, participant)
    same_as: str | None  # names the participant whose recordings these repeat

    def contacts(self, setting: Setting) -> list[Contact]:
        """The contacts with ``--axes``: the configured detector alone (the mounting, so the
        left axis, does not depend on the setting)."""
        rate = self.recording.meta.rate_hz
        det = ContactDetector(rate, left_axis=self.left_axes, **dict(setting))
        det.detect(self.recording.data.to_dict("series"), sampling_rate_hz=rate)
        found = det.contacts_
        return found if any(c.walking for c in found) else []  # the plausibility gate

    def contacts_no_axes(self, setting: Setting) -> list[Contact]:
        """The contacts without ``--axes``: the whole walk analysis with the configured
        detector, which also finds the contacts that estimate the mounting."""
        configured = functools.partial(ContactDetector, **dict(setting))
        with mock.patch.object(walk_analysis, "ContactDetector", configured):
            return [e.contact for e in walk_analysis.analyse_walk(self.recording).events]

    def score(self, setting: Setting, no_axes: bool) -> Score:
        with_axes = self.contacts(setting)
        without = self.contacts_no_axes(setting) if no_axes else with_axes
        return score_contacts(self.ref, with_axes, without)


def prepare(r: ReferenceRecording) -> Prepared:
    """Read ``r`` and check that the detector run alone gives ``analyse_walk``'s contacts,
    sides and decision times (with ``--axes``, the defaults)."""
    rec = read_foreign_csv(r.imu, COLUMN_MAP)
    analysis = walk_analysis.analyse_walk(rec, axes=r.axes)
    meta_path = r.imu.parent / "participant.json"
    meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
    left = analysis.tracker.detector.left_axis
    assert left is not None
    p = Prepared(r, rec, left, (r.set_name, r.participant), meta.get("same_recording_as"))
    mine, theirs = p.contacts(()), [e.contact for e in analysis.events]
    if [(c.t_s, c.side, c.t_detected_s) for c in mine] != [
        (c.t_s, c.side, c.t_detected_s) for c in theirs
    ]:
        raise AssertionError(f"{r.imu}: the detector differs from analyse_walk's")
    return p


def pooled(scores: Iterable[Score]) -> Score:
    out = Score()
    for s in scores:
        out.add(s)
    return out


class Grid:
    """Per-recording scores (contacts, sides with ``--axes``) of every setting of a grid."""

    def __init__(self, recs: list[Prepared], grid: list[Setting]) -> None:
        self.recs, self.grid = recs, grid
        self.scores: dict[Setting, list[Score]] = {}
        for i, s in enumerate(grid, 1):
            self.scores[s] = [p.score(s, no_axes=False) for p in recs]
            print(f"\r  {i}/{len(grid)} settings", end="", file=sys.stderr, flush=True)
        print(file=sys.stderr)

    def training(self, setting: Setting, held_out: set[tuple[str, str]]) -> Score:
        """The pooled recordings of every participant but ``held_out``."""
        return pooled(
            s for p, s in zip(self.recs, self.scores[setting], strict=True)
            if p.ref.pooled and p.key not in held_out
        )  # fmt: skip

    def choose(self, held_out: set[tuple[str, str]], figure: str, default: Setting) -> Setting:
        """The setting best on the pooled ``figure`` ("f1", "timing" or "sides") without
        ``held_out``; on a tie the default, else the grid's first."""

        def value(s: Setting) -> float:
            return _figure(self.training(s, held_out), figure)

        best = max(value(s) for s in self.grid)
        return default if value(default) >= best else next(
            s for s in self.grid if value(s) >= best)  # fmt: skip


def show(setting: Setting) -> str:
    return "/".join(f"{v:g}" for _, v in setting)


def main() -> None:
    parser = argparse.ArgumentParser(description="Leave-one-participant-out walk figures.")
    parser.add_argument("folders", nargs="*", type=Path, help="extra folders (held-out data)")
    parser.add_argument("--axes-only", action="store_true",
                        help="skip the sides without --axes (a shorter run)")  # fmt: skip
    args = parser.parse_args()
    start = time.perf_counter()
    root = paths.shared_dir() / "benchmarks"
    folders = benchmark_folders(root) + list(args.folders)
    recs = [prepare(r) for f in folders for r in reference_recordings(f)]
    print(f"{len(recs)} recordings read in {time.perf_counter() - start:.0f} s", file=sys.stderr)
    no_axes = not args.axes_only
    grids = []
    for name, grid, figure in GRIDS:
        print(f"{name}:", file=sys.stderr)
        grids.append((name, Grid(recs, grid), figure, default_of(grid)))
    people = list(dict.fromkeys(p.key for p in recs))
    by_name = {key[1]: key for key in people}
    chosen: dict[tuple[str, str], Setting] = {}
    for key in people:
        # "same_recording_as" starts with the other participant's name ("IPOL_01 Trial1 ...")
        same = {p.same_as.split()[0] for p in recs if p.key == key and p.same_as}
        held = {key} | {by_name[n] for n in same if n in by_name}
        chosen[key] = sum((g.choose(held, fig, d) for _, g, fig, d in grids), ())
    default: Setting = sum((d for *_, d in grids), ())
    configs = {default: grids[0][1].scores[grids[0][3]]}
    if no_axes:  # the grids scored the sides with --axes only
        configs[default] = [p.score(default, no_axes) for p in recs]
    for s in set(chosen.values()) - {default}:
        configs[s] = [p.score(s, no_axes) for p in recs]

    def held_out(keep: Iterable[int]) -> Score:
        return pooled(configs[chosen[recs[i].key]][i] for i in keep)

    def at_default(keep: Iterable[int]) -> Score:
        return pooled(configs[default][i] for i in keep)

    print(f"Held out (LOPO) against the defaults ({_changed(default, ())}).\n")
    head = ["F1 LOPO", "F1 defaults", "L/R --axes LOPO", "L/R --axes defaults",
            "L/R where sure LOPO (flagged)"]  # fmt: skip
    if no_axes:
        head += ["L/R no --axes LOPO", "L/R no --axes defaults"]
    print("| set | contacts | " + " | ".join(head) + " |\n" + "|---" * (len(head) + 2) + "|")
    for set_name in dict.fromkeys(k[0] for k in people):
        keep = [i for i, p in enumerate(recs) if p.key[0] == set_name and p.ref.pooled]
        print(_row(set_name, held_out(keep), at_default(keep), no_axes))
    print(
        "\n| participant | contacts | " + " | ".join(head) + " | chosen without them (where "
        "not the default) |\n" + "|---" * (len(head) + 3) + "|"
    )
    for key in people:
        keep = [i for i, p in enumerate(recs) if p.key == key and p.ref.reference_ok]
        row = _row(" ".join(key), held_out(keep), at_default(keep), no_axes)
        print(f"{row} {_changed(chosen[key], default) or 'defaults'} |")
    print("\nPooled over all participants (the figure that chooses each setting):")
    for name, g, fig, d in grids:
        ranked = sorted(g.grid, key=lambda s: -_figure(g.training(s, set()), fig))[:6]
        print(f"- {name}: " + ", ".join(
            f"{show(s)}{' (default)' if s == d else ''} {_shown(g.training(s, set()), fig)}"
            for s in ranked) + ("" if d in ranked else
            f"; default {show(d)} {_shown(g.training(d, set()), fig)}"))  # fmt: skip
    print(f"\n{time.perf_counter() - start:.0f} s", file=sys.stderr)


def _figure(s: Score, figure: str) -> float:
    """Larger is better: F1, left/right, or minus the mean absolute timing error (s; 0 without
    matched contacts, so that every setting ties)."""
    if figure == "timing":
        errors = s.edge.errors_s
        return -float(np.mean(np.abs(errors))) if errors else 0.0
    return s.tally.f1 if figure == "f1" else s.sides


def _shown(s: Score, figure: str) -> str:
    value = _figure(s, figure)
    return f"{-1000 * value:.1f} ms" if figure == "timing" else f"{value:.4f}"


def _changed(setting: Setting, default: Setting) -> str:
    """The settings of ``setting`` that differ from ``default``, as name=value."""
    return ", ".join(f"{k}={v:g}" for k, v in setting if (k, v) not in default)


def _row(name: str, lopo: Score, dflt: Score, no_axes: bool) -> str:
    cells = [name, str(lopo.tally.tp + lopo.tally.fn), f"{lopo.tally.f1:.3f}",
             f"{dflt.tally.f1:.3f}", f"{lopo.sides:.3f}", f"{dflt.sides:.3f}",
             lopo.sure_cell()]  # fmt: skip
    if no_axes:
        cells += [f"{lopo.sides_no_axes:.3f}", f"{dflt.sides_no_axes:.3f}"]
    return "| " + " | ".join(cells) + " |"


if __name__ == "__main__":
    main()

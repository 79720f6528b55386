"""Exercise analysis of a recording: the same session of detectors as live, fed in chunks.

``analyse_exercise(recording, exercise=None, sides=None, reps=None)`` is the analyser of the
tests ``exercise:<name>`` (:mod:`hipsense.analysis`). The sets (side of each, reps per set) come
from the options, the guided protocol in the recording, or the simulator's truth. The JSON
document is described in docs/exercises.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from hipsense.analysis.base import (
    board_json,
    flat_table,
    json_safe,
    settings_change_words,
    verdict_series,
)
from hipsense.conventions import SIDES
from hipsense.conventions.exercises import ExerciseSpec, get_spec
from hipsense.conventions.words import counted
from hipsense.detectors.exercise.compare import harder_side
from hipsense.detectors.exercise.detector import ExerciseDetector, RepRecord
from hipsense.detectors.exercise.session import ExerciseSession
from hipsense.motion.errors import NoEventError, PostureError, WrongTestError
from hipsense.motion.frontend import FloatArray, chunks, mounting_of
from hipsense.motion.sources import axes_mounting, raw_arrays
from hipsense.recording import Recording

JSON_KIND = "hipsense-exercise"
JSON_VERSION = 1


def run_session(
    spec: ExerciseSpec,
    sides: Sequence[str],
    reps: int,
    t_s: FloatArray,
    acc_mps2: FloatArray,
    gyr_dps: FloatArray,
    mounting_wxyz: Sequence[float],
    chunk: int | Sequence[int] = 256,
) -> ExerciseSession:
    """Feed the samples in chunks (any sizes give the same events) and close an open rep."""
    session = ExerciseSession(spec, sides, reps, mounting_wxyz)
    for sl in chunks(t_s.shape[0], chunk):
        session.update(t_s[sl], acc_mps2[sl], gyr_dps[sl])
    session.finish()
    return session


def protocol_of(recording: Recording, spec: ExerciseSpec, sides: Sequence[str] | None,
                reps: int | None) -> tuple[list[str], int]:  # fmt: skip
    """Side of each set and reps per set: given, the guided protocol's, or the simulator's
    (a file's sides that are not a list of sides, or reps that are not a count of at least
    one, as in a damaged or hostile file: not used)."""
    extra = recording.meta.extra
    proto = extra.get("protocol") if isinstance(extra.get("protocol"), dict) else None
    truth = extra.get("ground_truth") if isinstance(extra.get("ground_truth"), dict) else None
    source = proto or (truth or {}).get("params") or {}
    if not isinstance(source, dict):
        source = {}
    if not sides:
        listed = source.get("sides")
        valid = isinstance(listed, list) and all(s in SIDES for s in listed)
        sides = (list(listed) if valid and listed else []) or [
            recording.meta.side if recording.meta.side in SIDES else "right"
        ]
    if not spec.sided:
        sides = ["both"] * len(sides)
    if reps is None:
        asked = source.get("reps")
        whole = isinstance(asked, int) and not isinstance(asked, bool) and asked >= 1
        reps = asked if whole and isinstance(asked, int) else spec.default_reps  # (for pyright)
    return list(sides), int(reps)


def rep_json(rep: RepRecord, det: ExerciseDetector) -> dict[str, Any]:
    return {
        "index": rep.index,
        "start_t_s": round(rep.start_t_s, 3),
        "end_t_s": round(rep.end_t_s, 3),
        "duration_s": round(rep.duration_s, 3),
        "peak_deg": round(rep.peak_deg, 2),
        "mean_deg": round(rep.mean_deg, 2),
        "faults": {k: round(v, 2) for k, v in rep.faults.items()},
        "flagged": rep.flagged(det.spec.faults),
        "fault_t_s": {k: round(v, 3) for k, v in rep.fault_t_s.items()},
    }


def summary(spec: ExerciseSpec, reps: list[dict[str, Any]]) -> dict[str, Any]:
    """Reps, hold time and each fault's count, mean and maximum over some reps."""
    out: dict[str, Any] = {
        "n_reps": len(reps),
        "total_hold_s": round(float(sum(r["duration_s"] for r in reps)), 2),
        "mean_peak_deg": round(float(np.mean([r["peak_deg"] for r in reps])), 2) if reps else None,
        "faults": {},
    }
    for f in spec.faults:
        vals = [r["faults"][f.key] for r in reps if f.key in r["faults"]]
        out["faults"][f.key] = {
            "count": sum(1 for r in reps if f.key in r["flagged"]),
            "mean": round(float(np.mean(vals)), 2) if vals else None,
            "max": round(float(np.max(vals)), 2) if vals else None,
            "threshold": f.threshold,
            "unit": f.unit,
        }
    return out


def count_words(n: int, mode: str) -> str:
    """``1 rep``, ``5 reps``, ``1 hold``, ``2 holds``."""
    unit = "hold" if mode == "hold" else "rep"
    return f"{n} {unit}{'' if n == 1 else 's'}"


def set_words(side: str) -> str:
    """A set's side in words: ``left side``, ``right side``, ``both sides together`` (an
    exercise without sides, e.g. the butt squeeze)."""
    return "both sides together" if side == "both" else f"{side} side"


def past_words(count: int, n_reps: int) -> str:
    """How often a fault went past its threshold, in words: ``never past the threshold``,
    ``past it in 2 of 5 reps``."""
    return "never past the threshold" if count == 0 else f"past it in {count} of {n_reps} reps"


def fault_words(doc: dict[str, Any]) -> dict[str, str]:
    """Each fault's key -> its words as the exercise's instructions name it."""
    return {th["fault"]: th["label"] for th in doc["thresholds"]}


class ExerciseAnalysis:
    """The exercise result: sets, per side, left against right, the cues given."""

    def __init__(self, doc: dict[str, Any], session: ExerciseSession, recording: Recording):
        self.doc = doc
        self.session = session
        self.recording = recording

    @property
    def test(self) -> str:
        return str(self.doc["test"])

    @property
    def verdict_(self) -> pd.Series:
        """``asymmetric`` when a harder side is named (``weaker_side`` = that side)."""
        c = self.doc["comparison"]
        side = c.get("harder_side")
        status = "asymmetric" if side else ("symmetric" if c.get("fault") else "not_enough_data")
        return verdict_series(self.test, status, side, self.summary_text().splitlines()[0])

    @property
    def per_side_(self) -> pd.DataFrame:
        per = self.doc["per_side"]
        return flat_table([per[s] for s in per], index=list(per))

    @property
    def reps_(self) -> pd.DataFrame:
        """One row per rep (hold): its set's side, times, peaks and faults."""
        rows = [{"side": s["side"], **r} for s in self.doc["sets"] for r in s["reps"]]
        return flat_table(rows)

    def to_json(self) -> dict[str, Any]:
        return json_safe(self.doc)

    def summary_text(self) -> str:
        d = self.doc
        total = sum(s["n_reps"] for s in d["sets"])
        sets = counted(len(d["sets"]), "set")
        lines = [f"{d['title']}: {count_words(total, d['mode'])} in {sets}"]
        words = fault_words(d)
        for s in d["sets"]:
            faults = ", ".join(
                f"{words[k]} {v['count']}× (max {v['max']}{v['unit']})"
                for k, v in s["faults"].items() if v["count"]
            ) or "no fault past its threshold"  # fmt: skip
            hold = f", held {s['total_hold_s']:.1f} s" if d["mode"] == "hold" else ""
            lines.append(
                f"  {set_words(s['side'])}: {count_words(s['n_reps'], d['mode'])}{hold}; {faults}"
            )
        c = d["comparison"]
        if c.get("fault"):
            lines.append(f"  harder side: {c['harder_side'] or 'none named'} ({c['reason']})")
        for w in d["warnings"]:
            lines.append(f"  note: {w}")
        changed = settings_change_words(d.get("board", {}))
        if changed:
            lines.append(f"  note: {changed}")
        return "\n".join(lines)


def analyse_exercise(
    recording: Recording,
    *,
    exercise: str | None = None,
    sides: Sequence[str] | None = None,
    reps: int | None = None,
    axes: str | None = None,
    chunk: int | Sequence[int] = 256,
) -> ExerciseAnalysis:
    """Analyse an exercise recording (see the module docstring).

    exercise: the exercise (default: from the test ``exercise:NAME`` in the metadata); sides:
    the side of each set; reps: reps per set (default: the protocol in the metadata); axes: the
    pelvis axes in sensor axes (``z,-y,x``) instead of the recorded mounting; chunk: samples per
    detector call (any sizes give the same result)."""
    named = recording.meta.test or ""
    if exercise is None:
        exercise = named.removeprefix("exercise:") if named.startswith("exercise:") else None
    if exercise is None:
        raise WrongTestError("which exercise? pass --test exercise:NAME")
    if named.startswith("exercise:") and named != f"exercise:{exercise}":
        raise WrongTestError(
            f"this recording holds {named!r}, not 'exercise:{exercise}': analyse it with "
            f"--test {named}"
        )
    spec = get_spec(exercise)
    t, acc, gyr = raw_arrays(recording)
    side_list, n_reps = protocol_of(recording, spec, sides, reps)
    mounting = mounting_of(recording) if axes is None else tuple(axes_mounting(axes))
    session = run_session(spec, side_list, n_reps, t, acc, gyr, mounting, chunk)
    first = session.sets[0]
    if first.baseline_t_s_ is None:
        said = [e.text for e in first.events_ if e.kind == "posture"]
        # a specific diagnosis (other side, sensor placement) is worth more than "not in it"
        said = [t for t in said if not t.startswith("not in")] or said
        raise PostureError(
            f"no still start posture found for the {spec.title.lower()} ({spec.posture}): "
            + (said[-1] if said else spec.setup)
        )
    sets_doc, by_side, warnings = [], {}, []
    for det in session.sets:
        reps_doc = [rep_json(r, det) for r in det.reps_]
        if det.baseline_t_s_ is None:
            warnings.append(f"the {det.side} set never reached its start posture")
        elif len(reps_doc) < session.reps_per_set:
            warnings.append(
                f"the {det.side} set has {len(reps_doc)} of {session.reps_per_set} "
                f"{'holds' if spec.mode == 'hold' else 'reps'}"
            )
        sets_doc.append({"side": det.side, "baseline_t_s": det.baseline_t_s_,
                         "reps": reps_doc, **summary(spec, reps_doc)})  # fmt: skip
        by_side.setdefault(det.side, []).extend(reps_doc)
    if not any(s["n_reps"] for s in sets_doc):
        raise NoEventError(
            f"no {'hold' if spec.mode == 'hold' else 'rep'} found: the pelvis's "
            f"{spec.channel} never passed {spec.on_deg:g}° from the start posture"
        )
    comparison = harder_side(
        spec,
        [r["faults"] for r in by_side.get("left", [])],
        [r["faults"] for r in by_side.get("right", [])],
    )
    doc: dict[str, Any] = {
        "kind": JSON_KIND,
        "version": JSON_VERSION,
        "test": f"exercise:{spec.name}",
        "exercise": spec.name,
        "title": spec.title,
        "mode": spec.mode,
        "placement": spec.placement,
        "instructions": spec.instructions,
        "rate_hz": recording.meta.rate_hz,
        "protocol": {"sides": side_list, "reps": session.reps_per_set},
        "thresholds": [
            {
                "fault": f.key,
                "label": f.label,
                "channel": f.channel,
                "threshold": f.threshold,
                "unit": f.unit,
                "source": f.source,
            }
            for f in spec.faults
        ],
        "sets": sets_doc,
        "per_side": {side: summary(spec, reps_) for side, reps_ in by_side.items()},
        "comparison": comparison,
        "cues": [
            {"t_s": round(e.t_s, 3), "fault": e.data["fault"], "text": e.text}
            for det in session.sets
            for e in det.events_
            if e.kind == "fault"
        ],
        "warnings": warnings,
        "board": board_json(recording),
    }
    return ExerciseAnalysis(doc, session, recording)

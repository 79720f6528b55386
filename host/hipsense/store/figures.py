"""The key figures of each test's result, as the store keeps them, and their minimal
detectable change (MDC) where a published one applies.

A figure is (name, side, condition, value, unit). ``side`` is ``left`` / ``right`` for a per-side
figure and ``""`` for a left-right difference; ``condition`` is the stance condition
(``eyes_open`` / ``eyes_closed``) or ``""``. Differences are always right minus left.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from hipsense.conventions.exercises import SPECS

SIDES = ("left", "right")


@dataclass(frozen=True)
class Figure:
    test: str
    name: str
    side: str
    condition: str
    value: float
    unit: str


@dataclass(frozen=True)
class Mdc:
    """A minimal detectable change and its source."""

    value: float
    unit: str
    source: str


TRENDELENBURG_MDC = Mdc(
    4.0, "°", "Youdas et al. 2007, static Trendelenburg test, pelvis-on-femur angle"
)
BRIDGE_MDC = Mdc(
    6.59, "°", "Andrade et al. 2012, MDC95 of pelvic rotation in the bridge with one knee extended"
)

#: (test, figure name) -> what it is, in words, and its MDC (None: no MDC known).
DEFINITIONS: dict[tuple[str, str], tuple[str, Mdc | None]] = {
    ("walk", "drop_deg"): ("swing-side drop during this side's stance", TRENDELENBURG_MDC),
    ("walk", "drop_difference_deg"): ("drop difference, right stance minus left stance",
                                      TRENDELENBURG_MDC),
    ("walk", "step_time_si_pct"): ("step-time asymmetry (+: right steps longer)", None),
    ("walk", "cadence_steps_per_min"): ("cadence", None),
    ("walk", "speed_mps"): ("walking speed", None),
    ("balance", "hold_s"): ("best hold on this leg", None),
    ("balance", "sway_obliquity_rms_deg"): ("sway, side-to-side (RMS)", None),
    ("balance", "free_side_drop_deg"): ("drop of the free side standing on this leg",
                                        TRENDELENBURG_MDC),
    ("balance", "drop_difference_deg"): ("free-side drop difference, right leg minus left leg",
                                         TRENDELENBURG_MDC),
    ("bridge", "lift_deg"): ("bridge lift on this leg", None),
    ("bridge", "hold_s"): ("hold at the top on this leg", None),
    ("bridge", "sag_deg"): ("sag of the free side on this leg", BRIDGE_MDC),
    ("bridge", "sag_difference_deg"): ("sag difference, right leg minus left leg", BRIDGE_MDC),
}  # fmt: skip


def describe(test: str, name: str) -> tuple[str, Mdc | None]:
    """Words for a figure and its MDC; unknown figures keep their name and have no MDC. An
    exercise's figures are named as its report names them (no MDC is known for any)."""
    if test.startswith("exercise:"):
        return _exercise_words(test.removeprefix("exercise:"), name), None
    return DEFINITIONS.get((test, name), (name.replace("_", " "), None))


def _exercise_words(exercise: str, name: str) -> str:
    if name == "reps":
        return "reps (or holds) done on this side"
    if name == "hold_s":
        return "time held on this side"
    spec = SPECS.get(exercise)
    key = name.removesuffix("_mean")
    label = next((f.label for f in spec.faults if f.key == key), None) if spec else None
    return f"{label or key.replace('_', ' ')}: mean peak per rep"


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def _obj(value: Any) -> dict[str, Any]:
    """``value`` when it is a JSON object, else an empty one (a document missing a part)."""
    return value if isinstance(value, dict) else {}


def _find(doc: dict[str, Any], *keys: str) -> float | None:
    """The first finite number under any of ``keys``, at the top level or in ``pace`` (the walk
    analysis's cadence and speed) or ``gait``."""
    for key in keys:
        for place in (doc, _obj(doc.get("pace")), _obj(doc.get("gait"))):
            value = _num(place.get(key))
            if value is not None:
                return value
    return None


def _walk(doc: dict[str, Any]) -> list[Figure]:
    out: list[Figure] = []
    per_side = _obj(doc.get("per_side"))
    drops: dict[str, float] = {}
    for side in SIDES:
        drop = _obj(_obj(per_side.get(side)).get("drop_deg"))
        value = _num(drop.get("mean")) if drop.get("n") else None
        if value is not None:
            drops[side] = value
            out.append(Figure("walk", "drop_deg", side, "", value, "°"))
    if len(drops) == 2:
        out.append(Figure("walk", "drop_difference_deg", "", "",
                          drops["right"] - drops["left"], "°"))  # fmt: skip
    si = _num(_obj(_obj(doc.get("symmetry")).get("step_time_si_pct")).get("value"))
    if si is not None:
        out.append(Figure("walk", "step_time_si_pct", "", "", si, "%"))
    cadence = _find(doc, "cadence_steps_per_min", "cadence_spm")
    if cadence is not None:
        out.append(Figure("walk", "cadence_steps_per_min", "", "", cadence, "steps/min"))
    speed = _find(doc, "speed_mps", "walking_speed_mps", "gait_speed_mps")
    if speed is not None:
        out.append(Figure("walk", "speed_mps", "", "", speed, "m/s"))
    return out


def _balance(doc: dict[str, Any]) -> list[Figure]:
    out: list[Figure] = []
    given = doc.get("condition")
    cond = given if isinstance(given, str) else ""
    drops: dict[str, float] = {}
    for side in SIDES:
        s = _obj(_obj(doc.get("per_side")).get(side))
        if not s:
            continue
        for name, value, unit in (
            ("hold_s", _num(s.get("best_hold_s")), "s"),
            ("sway_obliquity_rms_deg", _num(_obj(s.get("sway")).get("obliquity_rms_deg")), "°"),
            ("free_side_drop_deg", _num(s.get("free_side_drop_deg")), "°"),
        ):
            if value is not None:
                out.append(Figure("balance", name, side, cond, value, unit))
                if name == "free_side_drop_deg":
                    drops[side] = value
    if len(drops) == 2:
        out.append(Figure("balance", "drop_difference_deg", "", cond,
                          drops["right"] - drops["left"], "°"))  # fmt: skip
    return out


def _bridge(doc: dict[str, Any]) -> list[Figure]:
    out: list[Figure] = []
    sags: dict[str, float] = {}
    for side in (*SIDES, "both"):
        s = _obj(_obj(doc.get("per_side")).get(side))
        if not s:
            continue
        cond = "double-leg" if side == "both" else ""
        fig_side = "" if side == "both" else side
        for name, key, unit in (("lift_deg", "mean_lift_deg", "°"), ("hold_s", "mean_hold_s", "s"),
                                ("sag_deg", "mean_free_side_drop_deg", "°")):  # fmt: skip
            value = _num(s.get(key))
            if value is not None:
                out.append(Figure("bridge", name, fig_side, cond, value, unit))
                if name == "sag_deg" and side in SIDES:
                    sags[side] = value
    if len(sags) == 2:
        out.append(Figure("bridge", "sag_difference_deg", "", "",
                          sags["right"] - sags["left"], "°"))  # fmt: skip
    return out


_EXTRACTORS = {"walk": _walk, "balance": _balance, "bridge": _bridge}


def _exercise(test: str, doc: dict[str, Any]) -> list[Figure]:
    """Per side: reps (holds), time held, and each fault's mean peak (no MDC is known)."""
    out: list[Figure] = []
    for side, s in _obj(doc.get("per_side")).items():
        fig_side = "" if side == "both" else str(side)
        count = "holds" if doc.get("mode") == "hold" else "reps"
        out.append(Figure(test, "reps", fig_side, "", float(s.get("n_reps", 0)), count))
        if doc.get("mode") == "hold" and _num(s.get("total_hold_s")) is not None:
            out.append(Figure(test, "hold_s", fig_side, "", float(s["total_hold_s"]), "s"))
        for key, f in _obj(s.get("faults")).items():
            value = _num(_obj(f).get("mean"))
            if value is not None:
                out.append(Figure(test, f"{key}_mean", fig_side, "", value, str(f.get("unit", ""))))
    return out


def key_figures(test: str, doc: dict[str, Any]) -> list[Figure]:
    """The key figures of an analysis's JSON document (empty for an unknown test)."""
    if test.startswith("exercise:"):
        return _exercise(test, doc)
    extract = _EXTRACTORS.get(test)
    return [] if extract is None else extract(doc)


def analysis_identity(doc: dict[str, Any]) -> tuple[str | None, int | None]:
    """The JSON document's kind and version (walk: ``schema``; stance/bridge: ``kind``)."""
    kind = doc.get("kind") or doc.get("schema")
    version = doc.get("version")
    return (str(kind) if kind else None, int(version) if isinstance(version, int) else None)

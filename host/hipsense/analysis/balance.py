"""Single-leg stance analysis of a recording: the detector fed in chunks, then the metrics.

``analyse_balance(recording, *, sides=None, age_years=None, axes=None)`` is registered as the
``balance`` analyser of :mod:`hipsense.analysis`; the JSON document: docs/clinical-tests.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from hipsense.analysis.base import (
    DocumentResult,
    board_json,
    flat_table,
    settings_change_words,
    verdict_series,
)
from hipsense.conventions import SIDES
from hipsense.conventions.symmetry import left_right
from hipsense.conventions.words import counted
from hipsense.detectors.balance import metrics
from hipsense.detectors.balance.events import StanceDetector, StanceTrial
from hipsense.motion.errors import InputError, NoEventError, NotWornError, PostureError
from hipsense.motion.frontend import (
    FloatArray,
    Frame,
    FrontEndRun,
    check_test,
    mounting_of,
    run_front_end,
)
from hipsense.motion.sources import axes_mounting, raw_arrays
from hipsense.recording import MARKER, MARKER_BUTTON, MARKER_KEY, Recording

JSON_KIND = "hipsense-balance"
JSON_VERSION = 1
TRENDELENBURG_REFERENCE = (
    "Youdas JW et al. (2007) static Trendelenburg test, pelvis-on-femur angle: SEM 2°, MDC 4°"
)
SWAY_REFERENCE = "Mancini M et al. (2012) ISway: sway measures from an inertial sensor at L5"


StanceRun = FrontEndRun[StanceDetector]


def run_stance(
    t_s: FloatArray,
    acc_mps2: FloatArray,
    gyr_dps: FloatArray,
    rate_hz: float,
    mounting_wxyz: Sequence[float],
    chunk: int | Sequence[int] = 256,
    detector: StanceDetector | None = None,
    marks: Sequence[tuple[float, str]] = (),
) -> StanceRun:
    """Feed the samples in chunks (any sizes give the same events) and close an open trial;
    ``marks`` are the touch-downs marked by hand, (t_s, ``key`` | ``button``)."""
    detector = detector or StanceDetector()
    for t_mark, source in marks:
        detector.mark(t_mark, source)
    run = run_front_end(detector, t_s, acc_mps2, gyr_dps, rate_hz, mounting_wxyz, chunk)
    run.detector.finish(float(t_s[-1]))
    return run


def _legs(sides: object) -> bool:
    """``sides`` is a non-empty list of legs."""
    return isinstance(sides, list) and bool(sides) and all(s in SIDES for s in sides)


def protocol_sides(recording: Recording, sides: Sequence[str] | None) -> list[str] | None:
    """Stance leg of each trial: given, from the guided protocol, or from the simulator (a
    file's list that is not one of legs, as in a damaged or hostile file: not used)."""
    if sides:
        bad = [s for s in sides if s not in SIDES]
        if bad:
            raise InputError(f"stance leg {bad[0]!r}: each trial's is one of {', '.join(SIDES)}")
        return [str(s) for s in sides]
    extra = recording.meta.extra
    proto = extra.get("protocol")
    if isinstance(proto, dict) and _legs(proto.get("sides")):
        return list(proto["sides"])
    truth = extra.get("ground_truth")
    params = truth.get("params") if isinstance(truth, dict) else None
    if isinstance(params, dict) and _legs(params.get("sides")):
        return list(params["sides"])
    if recording.meta.side in SIDES:
        return [recording.meta.side]
    return None


def protocol_duration_s(recording: Recording) -> float | None:
    """The hold time the guided protocol asked for (the trial's ceiling), if recorded."""
    proto = recording.meta.extra.get("protocol")
    if isinstance(proto, dict) and isinstance(proto.get("duration_s"), (int, float)):
        return float(proto["duration_s"])
    return None


MARK_SOURCES = {MARKER_KEY: "key", MARKER_BUTTON: "button"}


def recorded_marks(recording: Recording) -> list[tuple[float, str]]:
    """The key presses and button presses in the recording's ``marker`` column, in time order:
    the fallback for a touch-down the sensor did not see (see :meth:`StanceDetector.mark`)."""
    data = recording.data
    if MARKER not in data.columns:
        return []
    rows = data.loc[data[MARKER].isin(list(MARK_SOURCES)), ["t_s", MARKER]]
    return [
        (float(t), MARK_SOURCES[int(code)])
        for t, code in zip(rows["t_s"].tolist(), rows[MARKER].tolist(), strict=True)
    ]


MIN_SHIFT_M = 0.02
"""A weight shift smaller than this does not tell the stance leg (the protocol's side is used)."""


def stance_side_check(shift_m: float, said: str | None) -> tuple[str | None, str | None]:
    """The stance leg the weight shift shows (the pelvis moves over the stance foot; None if
    the shift is under ``MIN_SHIFT_M``) and, when the protocol names another leg, the words
    saying so (shown live, in the JSON and in the summary)."""
    if abs(shift_m) < MIN_SHIFT_M:
        return None, None
    seen = "left" if shift_m > 0 else "right"
    if said is None or said == seen:
        return seen, None
    return seen, (
        f"the protocol asked for the {said} leg, but the pelvis shifted "
        f"{abs(shift_m) * 100:.0f} cm over the {seen} foot: the {seen} leg is reported"
    )


def trial_sides(
    trials: Sequence[StanceTrial], protocol: list[str] | None
) -> tuple[list[str], list[str]]:
    """Stance leg of each trial from the weight shift before its lift-off, checked against
    the protocol (its legs in order, repeated when fewer); returns the sides and warnings."""
    out: list[str] = []
    warnings: list[str] = []
    if protocol is not None and len(protocol) not in (1, len(trials)):
        warnings.append(
            f"the sensor found {len(trials)} of the {len(protocol)} trials the protocol lists "
            "(the recording ended early, or a lift-off was not seen): matched to the "
            "protocol's legs in order"
            if len(trials) < len(protocol)
            else f"the sensor found {len(trials)} trials, the protocol lists {len(protocol)}: "
            "the legs were matched to the protocol in order"
        )
    for k, trial in enumerate(trials):
        said = protocol[k % len(protocol)] if protocol else None
        seen, note = stance_side_check(trial.shift_m, said)
        if note:
            warnings.append(f"trial {k + 1}: {note}")
        if seen is not None:
            out.append(seen)
        elif said is not None:
            warnings.append(
                f"trial {k + 1}: no weight shift seen; the {said} leg is taken from the protocol"
            )
            out.append(said)
        else:
            raise InputError(
                f"trial {k + 1}: no weight shift seen and the file names no stance leg: pass "
                "the stance leg of each trial, e.g. --sides right,left (Python: sides=...)"
            )
    return out, warnings


def trial_json(
    trial: StanceTrial, side: str, t: FloatArray, gyr_p: FloatArray, acc_p: FloatArray,
    static: tuple[FloatArray, FloatArray], rate_hz: float,
) -> dict[str, Any]:  # fmt: skip
    """Metrics of one trial from its events and the front end's angle and acceleration traces."""
    end = trial.end_t_s if trial.end_t_s is not None else float(t[-1])
    mask = (t >= trial.lift_off_t_s) & (t < end)
    for down, up in trial.touch_downs:
        mask &= ~((t >= down) & (t < up))
    # drop and tilt change: hold mean minus baseline, both from the accelerometer (static
    # offsets cancel, no dependence on the filter's convergence)
    tilt_s, obl_s = static
    d_obl = float(np.mean(obl_s[mask])) - trial.baseline_obliquity_deg if mask.any() else 0.0
    d_tilt = float(np.mean(tilt_s[mask])) - trial.baseline_tilt_deg if mask.any() else 0.0
    drop = metrics.free_side_drop_deg(side, d_obl)
    first = trial.first_touch_down_t_s
    return {
        "stance_side": side,
        "free_side": "left" if side == "right" else "right",
        "weight_shift_cm": round(trial.shift_m * 100.0, 1),
        "lift_off_t_s": round(trial.lift_off_t_s, 3),
        "lift_off_cue": trial.lift_cue,
        "end_t_s": round(end, 3),
        "end_source": trial.end_source,
        "hold_s": round((first if first is not None else end) - trial.lift_off_t_s, 3),
        "total_s": round(end - trial.lift_off_t_s, 3),
        "n_touch_downs": len(trial.touch_downs),
        "touch_downs": [
            {"down_t_s": round(a, 3), "up_t_s": round(b, 3)} for a, b in trial.touch_downs
        ],
        "baseline_tilt_deg": round(trial.baseline_tilt_deg, 2),
        "baseline_obliquity_deg": round(trial.baseline_obliquity_deg, 2),
        "obliquity_change_deg": round(d_obl, 2),
        "tilt_change_deg": round(d_tilt, 2),
        "free_side_drop_deg": round(drop, 2),
        "trendelenburg": drop > metrics.TRENDELENBURG_DROP_DEG,
        "sway": {k: round(v, 4) for k, v in metrics.sway(
            *metrics.sway_signals(gyr_p[mask], acc_p[mask], rate_hz), rate_hz).items()}
        if mask.sum() >= 3 else {},
    }  # fmt: skip


def _per_side(trials: list[dict[str, Any]], side: str) -> dict[str, Any] | None:
    mine = [tr for tr in trials if tr["stance_side"] == side]
    if not mine:
        return None
    with_sway = [tr for tr in mine if tr["sway"]]
    sway_keys = with_sway[0]["sway"].keys() if with_sway else ()
    return {
        "n_trials": len(mine),
        "best_hold_s": max(tr["hold_s"] for tr in mine),
        "mean_hold_s": float(np.mean([tr["hold_s"] for tr in mine])),
        "touch_downs": sum(tr["n_touch_downs"] for tr in mine),
        "free_side_drop_deg": float(np.mean([tr["free_side_drop_deg"] for tr in mine])),
        "trendelenburg": any(tr["trendelenburg"] for tr in mine),
        "sway": {k: float(np.mean([tr["sway"][k] for tr in with_sway])) for k in sway_keys},
    }


class BalanceAnalysis(DocumentResult[StanceRun]):
    """The stance result: trials, per-side summaries, left against right, norms.

    ``trials_``, ``per_side_``, ``verdict_`` are pandas views of the JSON document
    (:meth:`to_json`); ``run`` holds the front end's traces (for the report's figures).
    """

    test = "balance"

    @property
    def trials_(self) -> pd.DataFrame:
        """One row per trial (stance side, lift-off, hold, drop, sway ...)."""
        return flat_table(self._doc["trials"])

    @property
    def per_side_(self) -> pd.DataFrame:
        """Per stance side (``left``, ``right``): trials, best and mean hold, drop, sway."""
        sides = [s for s in SIDES if self._doc["per_side"][s] is not None]
        return flat_table([self._doc["per_side"][s] for s in sides], index=sides)

    @property
    def verdict_(self) -> pd.Series:
        """Asymmetric when the free-side drop differs by more than the MDC."""
        cmp_ = self._doc["comparison"]
        if not cmp_:
            return verdict_series(
                "balance", "not_enough_data", None, "both legs are needed to compare sides"
            )
        weaker = cmp_["weaker_side"]
        if weaker is None:
            text = (f"no side difference beyond the {metrics.TRENDELENBURG_DROP_DEG:.0f}° MDC "
                    "(Youdas 2007)")  # fmt: skip
            return verdict_series("balance", "symmetric", None, text)
        text = f"weaker hip abductors on the {weaker} side (drop difference beyond the MDC)"
        return verdict_series("balance", "asymmetric", weaker, text)

    def summary_text(self) -> str:
        doc = self._doc
        condition = (doc["condition"] or "condition not given").replace("_", " ")
        lines = [f"Single-leg stance, {condition}:"]
        for i, tr in enumerate(doc["trials"], 1):
            drop = tr["free_side_drop_deg"]
            word = "dropped" if drop >= 0 else "hiked"
            flag = "  TRENDELENBURG SIGN" if tr["trendelenburg"] else ""
            sway = tr["sway"].get("obliquity_rms_deg")
            lines.append(
                f"  trial {i} on the {tr['stance_side']} leg: held {_hold_words(tr)}, "
                f"{counted(tr['n_touch_downs'], 'brief touch-down')}; the free "
                f"{tr['free_side']} side {word} {abs(drop):.1f}°; "
                + ("sway not measured (hold too short)" if sway is None
                   else f"sway obliquity RMS {sway:.2f}°")
                + flag
            )  # fmt: skip
        cmp_ = doc["comparison"]
        if cmp_:
            h = cmp_["hold_s"]
            lines.append(
                f"  left vs right: best hold {h['left']:.1f} s vs {h['right']:.1f} s; free-side "
                f"drop {cmp_['free_side_drop_deg']['left']:.1f}° vs "
                f"{cmp_['free_side_drop_deg']['right']:.1f}°"
            )
            if cmp_["drop_difference_beyond_mdc"]:
                lines.append(
                    "  the drop differs by more than the "
                    f"{metrics.TRENDELENBURG_DROP_DEG:.0f}° MDC (Youdas 2007): weaker abductors "
                    f"on the {cmp_['weaker_side']} side"
                )
        norm = doc.get("norm")
        if norm:
            lines.append(f"  age reference: {norm['verdict']}")
        for w in doc["warnings"]:
            lines.append(f"  note: {w}")
        changed = settings_change_words(doc.get("board", {}))
        if changed:
            lines.append(f"  note: {changed}")
        return "\n".join(lines)


def analyse_balance(
    recording: Recording,
    *,
    sides: Sequence[str] | None = None,
    age_years: float | None = None,
    axes: str | None = None,
    chunk: int | Sequence[int] = 256,
) -> BalanceAnalysis:
    """Analyse a single-leg stance recording (see module docstring).

    sides: the stance leg of each trial (default: the protocol in the metadata); age_years: for
    the hold-time reference; axes: the pelvis axes in sensor axes (``z,-y,x``) instead of the
    recorded mounting; chunk: samples per update (any sizes give the same events).
    """
    check_test(recording, "balance")
    t, acc, gyr = raw_arrays(recording)
    rate = recording.meta.rate_hz
    mounting = mounting_of(recording) if axes is None else tuple(axes_mounting(axes))
    run = run_stance(t, acc, gyr, rate, mounting, chunk, marks=recorded_marks(recording))
    det = run.detector
    if not det.trials_:
        still = float(np.percentile(run.cat("activity_dps"), 95)) < det.quiet_dps
        inclination = float(np.median(run.cat("inclination_deg")))
        upright = inclination < det.upright_max_deg
        if still:
            raise NotWornError(
                "the pelvis never moved beyond quiet standing: no lift-off (is the sensor worn "
                "on the belt, and did the test start?)"
            )
        if not upright:
            raise PostureError(
                f"the pelvis was not upright (leaning {inclination:.0f}° on average): a stance "
                "test starts standing on both feet; check the mounting calibration"
            )
    if not det.trials_:
        raise NoEventError(
            "no lift-off found: stand still on both feet for 2 s, then lift one foot"
        )
    if det.max_abs_tilt_deg_ > det.upright_max_deg:
        raise PostureError(
            f"the pelvis leant {det.max_abs_tilt_deg_:.0f}° during a 'trial' (sitting or lying "
            "down?): this is not a single-leg stance recording"
        )
    side_list, warnings = trial_sides(det.trials_, protocol_sides(recording, sides))
    warnings += det.notes_
    gyr_p, acc_p = run.cat("gyr_pelvis_dps"), run.cat("acc_pelvis_mps2")
    static = Frame(**{k: run.cat(k) for k in vars(run.frames[0])}).static_angles_deg()
    trials = [
        trial_json(tr, side, run.cat("t_s"), gyr_p, acc_p, static, rate)
        for tr, side in zip(det.trials_, side_list, strict=True)
    ]
    right, left = _per_side(trials, "right"), _per_side(trials, "left")
    comparison: dict[str, Any] = {}
    if right and left:
        diff = right["free_side_drop_deg"] - left["free_side_drop_deg"]
        beyond = abs(diff) > metrics.TRENDELENBURG_DROP_DEG
        comparison = {
            "hold_s": left_right(right["best_hold_s"], left["best_hold_s"]),
            "free_side_drop_deg": left_right(
                right["free_side_drop_deg"], left["free_side_drop_deg"], si=False
            ),
            "sway": {
                k: left_right(right["sway"][k], left["sway"][k])
                for k in right["sway"]
                if k in left["sway"]
            },
            "drop_difference_beyond_mdc": beyond,
            # standing on the side whose free side drops more: that stance side is weaker
            "weaker_side": ("right" if diff > 0 else "left") if beyond else None,
        }
    condition = recording.meta.condition
    doc: dict[str, Any] = {
        "kind": JSON_KIND,
        "version": JSON_VERSION,
        "test": "balance",
        "condition": condition,
        "rate_hz": rate,
        "thresholds": {
            "trendelenburg_drop_deg": metrics.TRENDELENBURG_DROP_DEG,
            "trendelenburg_reference": TRENDELENBURG_REFERENCE,
            "sway_reference": SWAY_REFERENCE,
        },
        "trials": trials,
        "per_side": {"right": right, "left": left},
        "comparison": comparison,
        "warnings": warnings,
        "board": board_json(recording),
    }
    stored_age = recording.meta.extra.get("age_years")
    if age_years is None and isinstance(stored_age, (int, float)):
        age_years = float(stored_age)
    if age_years is not None:
        from hipsense.detectors.balance.norms import hold_time_norm, interpret

        norm = hold_time_norm(age_years, condition or "eyes_open")
        best = max((tr["hold_s"] for tr in trials), default=None)
        doc["norm"] = {
            "age_years": age_years,
            **norm,
            "verdict": interpret(best, norm, protocol_duration_s(recording)),
        }
    return BalanceAnalysis(doc, run, recording)


def cut_short(trial: dict[str, Any]) -> bool:
    """The recording stopped during this trial's hold (e.g. Ctrl-C): its hold time is a lower
    bound, not a hold to a touch-down."""
    return trial["end_source"] == "recording end" and not trial["n_touch_downs"]


def _hold_words(trial: dict[str, Any]) -> str:
    if cut_short(trial):
        return f"at least {trial['hold_s']:.1f} s (the recording stopped during the hold)"
    return f"{trial['hold_s']:.1f} s to the first touch-down"

"""Bridge analysis of a recording: front end and rep detector fed in chunks, then the sets.

``analyse_bridge(recording, *, sets=None, axes=None)`` is registered as the ``bridge`` analyser of
:mod:`hipsense.analysis`; the JSON document is described in docs/clinical-tests.md. ``sets``
lists the supporting side of each set in order (``both`` = double-leg, ``left``, ``right``).
The supporting leg of each rep is read from the sensor over the whole session
(:func:`hipsense.detectors.bridge.compare.assign_supports`: the free side sinks or the pelvis
twists towards it, and a set's reps share their drop, twist and lift, whatever order the sets
were done in) and checked against the protocol; a rep the sensor cannot place (a level pelvis
whose sets cannot be told apart) keeps the protocol's side and is flagged as not determined,
and every disagreement is reported, never silently overruled.
"""

from __future__ import annotations

import math
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
from hipsense.detectors.bridge.compare import (
    assign_supports,
    compare_sides,
    support_seen,
)
from hipsense.detectors.bridge.events import BridgeDetector
from hipsense.detectors.bridge.frame import supine_alignment, unit_rows
from hipsense.detectors.bridge.metrics import RepMeasure
from hipsense.motion.errors import InputError, NoEventError, NotWornError, PostureError
from hipsense.motion.frontend import (
    FloatArray,
    FrontEndRun,
    check_test,
    mounting_of,
    run_front_end,
)
from hipsense.motion.sources import axes_mounting, raw_arrays
from hipsense.recording import Recording

JSON_KIND = "hipsense-bridge"
JSON_VERSION = 1


BridgeRun = FrontEndRun[BridgeDetector]


def run_bridge(
    t_s: FloatArray,
    acc_mps2: FloatArray,
    gyr_dps: FloatArray,
    rate_hz: float,
    mounting_wxyz: Sequence[float],
    chunk: int | Sequence[int] = 256,
) -> BridgeRun:
    """Feed the samples in chunks (any sizes give the same reps) and close an open rep."""
    run = run_front_end(
        BridgeDetector(mounting_wxyz), t_s, acc_mps2, gyr_dps, rate_hz, mounting_wxyz, chunk
    )
    run.detector.finish()
    return run


def protocol_sets(recording: Recording, sets: Sequence[str] | None) -> list[str]:
    """Supporting side of each set: given, from the guided protocol, or from the simulator
    (a file's list that is not one of supports, as in a damaged or hostile file: not used)."""
    if sets:
        bad = [s for s in sets if s not in SUPPORTS]
        if bad:
            raise InputError(f"bridge sets {bad[0]!r}: each set is one of {', '.join(SUPPORTS)}")
        return [str(s) for s in sets]
    extra = recording.meta.extra
    proto = extra.get("protocol")
    if isinstance(proto, dict) and _supports(proto.get("sets")):
        return list(proto["sets"])
    truth = extra.get("ground_truth")
    params = truth.get("params") if isinstance(truth, dict) else None
    if isinstance(params, dict) and _supports(params.get("sequence")):
        return list(params["sequence"])
    if recording.meta.side in SIDES:
        return [recording.meta.side]
    return ["both"]


SUPPORTS = ("both", "left", "right")
"""A set's support: both feet (double-leg), the left or the right leg."""


def _supports(sets: object) -> bool:
    """``sets`` is a non-empty list of supports."""
    return isinstance(sets, list) and bool(sets) and all(s in SUPPORTS for s in sets)


def protocol_reps(recording: Recording) -> int | None:
    """Reps per set the guided protocol asked for, if recorded (a count below one, or not a
    whole number, as in a damaged or hostile file: not recorded)."""
    proto = recording.meta.extra.get("protocol")
    reps = proto.get("reps") if isinstance(proto, dict) else None
    if isinstance(reps, int) and not isinstance(reps, bool) and reps >= 1:
        return reps
    return None


def rep_json(rep: RepMeasure, support: str) -> dict[str, Any]:
    """One rep; for single-leg reps the drop and twist are also given towards the free side."""
    sign = {"right": -1.0, "left": 1.0}.get(support)
    return {
        "support_side": support,
        "kind": "double" if support == "both" else "single",
        "start_t_s": round(rep.start_t_s, 3),
        "top_t_s": round(rep.top_t_s, 3),
        "hold_end_t_s": round(rep.hold_end_t_s, 3),
        "end_t_s": round(rep.end_t_s, 3),
        "hold_s": round(rep.hold_s, 3),
        "lift_deg": round(rep.lift_deg, 2),
        "hip_drop_deg": round(rep.hip_drop_deg, 2),
        "twist_deg": round(rep.twist_deg, 2),
        "hold_drop_range_deg": round(rep.hold_drop_range_deg, 2),
        # free LEFT side (right support) drops = obliquity < 0; twist towards it = rotation > 0
        "free_side_drop_deg": round(sign * rep.hip_drop_deg, 2) if sign else None,
        "twist_to_free_side_deg": round(-sign * rep.twist_deg, 2) if sign else None,
    }


def _set_summary(reps: list[dict[str, Any]]) -> dict[str, Any]:
    def m(key: str) -> float | None:
        vals = [r[key] for r in reps if r[key] is not None]
        return float(np.mean(vals)) if vals else None

    return {
        "n_reps": len(reps),
        **{f"mean_{k}": m(k) for k in (
            "lift_deg", "hold_s", "hip_drop_deg", "twist_deg", "free_side_drop_deg",
            "twist_to_free_side_deg")},
    }  # fmt: skip


class BridgeAnalysis(DocumentResult[BridgeRun]):
    """The bridge result: reps, sets, per side, left against right.

    ``reps_``, ``sets_``, ``per_side_``, ``verdict_`` are pandas views of the JSON document
    (:meth:`to_json`); ``run`` holds the front end's traces (for the report's figures).
    """

    test = "bridge"

    @property
    def reps_(self) -> pd.DataFrame:
        """One row per rep (support side, times, lift, hold, drop, twist)."""
        return flat_table(self._doc["reps"])

    @property
    def sets_(self) -> pd.DataFrame:
        """One row per set (support side, reps, means)."""
        return flat_table(self._doc["sets"])

    @property
    def per_side_(self) -> pd.DataFrame:
        """Per support side (``both``, ``left``, ``right``, those present): reps and means."""
        sides = list(self._doc["per_side"])
        return flat_table([self._doc["per_side"][s] for s in sides], index=sides)

    @property
    def verdict_(self) -> pd.Series:
        """Asymmetric when a weaker side is named (beyond the measurement's repeatability)."""
        c = self._doc["comparison"]
        if not c:
            return verdict_series(
                "bridge", "not_enough_data", None, "single-leg sets on both sides are needed"
            )
        if c["weaker_side"] is None:
            return verdict_series("bridge", "symmetric", None, f"no weaker side ({c['reason']})")
        return verdict_series(
            "bridge", "asymmetric", c["weaker_side"],
            f"weaker side: {c['weaker_side']} ({c['reason']})",
        )  # fmt: skip

    def summary_text(self) -> str:
        doc = self._doc
        lines = [f"Bridges: {_reps(len(doc['reps']))}"]
        for s in doc["sets"]:
            who = "both feet" if s["support_side"] == "both" else f"{s['support_side']} leg"
            lines.append(
                f"  {who} ({_reps(s['n_reps'])}): lift {s['mean_lift_deg']:.1f}°, "
                f"hold {s['mean_hold_s']:.1f} s, hip drop {s['mean_hip_drop_deg']:+.1f}° "
                "(+ left side higher)"
            )
        c = doc["comparison"]
        if c:
            lines.append(
                f"  left vs right: lift {c['lift_deg']['left']:.1f}° vs "
                f"{c['lift_deg']['right']:.1f}°, "
                f"free-side drop {c['free_side_drop_deg']['left']:.1f}° vs "
                f"{c['free_side_drop_deg']['right']:.1f}°"
            )
            lines.append(f"  weaker side: {c['weaker_side'] or 'none named'} ({c['reason']})")
        for w in doc["warnings"]:
            lines.append(f"  note: {w}")
        changed = settings_change_words(doc.get("board", {}))
        if changed:
            lines.append(f"  note: {changed}")
        return "\n".join(lines)


def no_rest_words(closest_deg: float, needed_deg: float, rest_min_s: float) -> str:
    """Why no rest was found, in angles from lying flat; to one decimal where whole degrees
    would read "no closer than 37° (a rest needs 37° or less)"."""
    if closest_deg <= needed_deg:
        return (f"the pelvis lay flat enough (within {closest_deg:.0f}° of flat) but never kept "
                f"still for {rest_min_s:.1f} s")  # fmt: skip
    digits = 0 if f"{closest_deg:.0f}" != f"{needed_deg:.0f}" else 1
    return (f"the pelvis came no closer than {closest_deg:.{digits}f}° to lying flat (a rest "
            f"needs {needed_deg:.{digits}f}° or less)")  # fmt: skip


def analyse_bridge(
    recording: Recording,
    *,
    sets: Sequence[str] | None = None,
    axes: str | None = None,
    chunk: int | Sequence[int] = 256,
) -> BridgeAnalysis:
    """Analyse a bridge recording (see module docstring).

    sets: the supporting side of each set (default: the protocol in the metadata); axes: the
    pelvis axes in sensor axes (``z,-y,x``) instead of the recorded mounting; chunk: samples per
    update (any sizes give the same reps).
    """
    check_test(recording, "bridge")
    t, acc, gyr = raw_arrays(recording)
    mounting = mounting_of(recording) if axes is None else tuple(axes_mounting(axes))
    run = run_bridge(t, acc, gyr, recording.meta.rate_hz, mounting, chunk)
    det = run.detector
    if det.frame_ is None:
        act = run.cat("activity_dps")
        cos = supine_alignment(unit_rows(run.cat("acc_pelvis_mps2")))
        if float(np.percentile(act, 95)) < det.quiet_dps and float(np.max(np.abs(cos))) < 0.5:
            raise NotWornError("the sensor never moved and never lay flat: was it worn?")
        # |cos| between up and the pelvis's front axis, as the angle from lying flat
        closest_deg = math.degrees(math.acos(min(1.0, float(np.max(np.abs(cos))))))
        needed_deg = math.degrees(math.acos(det.supine_cos))
        raise PostureError(
            "no still rest lying on the back found: a bridge set starts lying on the back, "
            f"knees bent, still for {det.rest_min_s:.1f} s; "
            + no_rest_words(closest_deg, needed_deg, det.rest_min_s)
        )
    if not det.reps_:
        raise NoEventError(
            f"no bridge rep found: the pelvis never lifted more than {det.min_peak_deg:.0f}° "
            "from the supine rest"
        )
    set_list = protocol_sets(recording, sets)
    seen = [support_seen(r.hip_drop_deg, r.twist_deg) for r in det.reps_]
    supports, sources, warnings = assign_supports(
        [r.hip_drop_deg for r in det.reps_],
        [r.twist_deg for r in det.reps_],
        [r.lift_deg for r in det.reps_],
        set_list,
        protocol_reps(recording),
    )
    reps = [
        {**rep_json(r, side), "support_seen": s, "support_source": src}
        for r, side, s, src in zip(det.reps_, supports, seen, sources, strict=True)
    ]
    sets_doc = []
    for rep in reps:  # a set: consecutive reps on the same support
        if not sets_doc or sets_doc[-1]["support_side"] != rep["support_side"]:
            sets_doc.append({"support_side": rep["support_side"], "reps": []})
        sets_doc[-1]["reps"].append(rep)
    sets_doc = [{"support_side": st["support_side"], **_set_summary(st["reps"])} for st in sets_doc]
    per_side = {
        side: _set_summary([r for r in reps if r["support_side"] == side])
        for side in SUPPORTS
        if any(r["support_side"] == side for r in reps)
    }
    left = [r for r in reps if r["support_side"] == "left"]
    right = [r for r in reps if r["support_side"] == "right"]
    comparison = compare_sides(left, right) if left and right else {}
    if det.frame_.flipped:
        warnings.append(
            "the sensor sat on the other side of the belt than at calibration; left and right "
            "were kept by turning the frame"
        )
    doc: dict[str, Any] = {
        "kind": JSON_KIND,
        "version": JSON_VERSION,
        "test": "bridge",
        "rate_hz": recording.meta.rate_hz,
        "rest_t_s": det.rest_t_s_,
        "sensor_flipped": det.frame_.flipped,
        "reps": reps,
        "sets": sets_doc,
        "per_side": per_side,
        "comparison": comparison,
        "warnings": warnings,
        "board": board_json(recording),
    }
    return BridgeAnalysis(doc, run, recording)


def _reps(n: int) -> str:
    return f"{n} rep" + ("" if n == 1 else "s")

"""Left against right in single-leg bridges, the rule that names the weaker side, and the
supporting leg of each rep as the sensor sees it.

The weaker side is named only when a difference exceeds the measurement's repeatability in
this session: more than 1.96 × the standard error of the difference of the side means (from
the rep-to-rep spread), and at least a floor:
- lift reached: ``LIFT_FLOOR_DEG``, the order of a single pelvis IMU's angle error against
  optical motion capture (frontal RMSE 2.7–4.5°, Bolink et al. 2016);
- drop of the unsupported side: ``DROP_FLOOR_DEG`` (an assumption: twice the ≈ 1° spread of
  a rep's drop the simulated population shows with one or two reps a side, docs/validation.md).
The weaker side lifts less or lets its free side drop more. If the two criteria point at
different sides, no side is named. Whether the drop difference also exceeds the clinical
MDC95 of pelvic rotation in this bridge, 6.59° (Andrade et al. 2012, between sessions), is
reported beside it.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from hipsense.conventions import SIDES
from hipsense.conventions.symmetry import left_right

LIFT_FLOOR_DEG = 3.0
DROP_FLOOR_DEG = 2.0
DROP_MDC95_DEG = 6.59
DROP_REFERENCE = "Andrade JA et al. (2012) single-leg bridge, pelvic rotation: MDC95 6.59°"
LIFT_REFERENCE = "Bolink SA et al. (2016) pelvic angles from one IMU vs optical: RMSE 2.7-4.5°"


def _se(values: list[float]) -> float:
    return float(np.std(values, ddof=1) / math.sqrt(len(values))) if len(values) > 1 else 0.0


def compare_sides(left: list[dict[str, Any]], right: list[dict[str, Any]]) -> dict[str, Any]:
    """Comparison document from the per-rep dicts of the left-leg and right-leg sets."""

    def mean(reps: list[dict[str, Any]], key: str) -> float:
        return float(np.mean([r[key] for r in reps]))

    lift_l, lift_r = [r["lift_deg"] for r in left], [r["lift_deg"] for r in right]
    lift_thr = max(1.96 * math.hypot(_se(lift_l), _se(lift_r)), LIFT_FLOOR_DEG)
    lift_diff = mean(right, "lift_deg") - mean(left, "lift_deg")
    drop_diff = mean(right, "free_side_drop_deg") - mean(left, "free_side_drop_deg")
    drop_l = [r["free_side_drop_deg"] for r in left]
    drop_r = [r["free_side_drop_deg"] for r in right]
    drop_thr = max(1.96 * math.hypot(_se(drop_l), _se(drop_r)), DROP_FLOOR_DEG)
    by_lift = ("right" if lift_diff < 0 else "left") if abs(lift_diff) > lift_thr else None
    by_drop = ("right" if drop_diff > 0 else "left") if abs(drop_diff) > drop_thr else None
    if by_lift and by_drop and by_lift != by_drop:
        weaker, reason = None, "lift and drop point at different sides"
    else:
        weaker = by_lift or by_drop
        reason = "; ".join(
            r for r in (
                f"lift {abs(lift_diff):.1f}° lower (> {lift_thr:.1f}°)" if by_lift else "",
                f"free side drops {abs(drop_diff):.1f}° more (> {drop_thr:.1f}°; "
                + ("beyond" if abs(drop_diff) > DROP_MDC95_DEG else "within")
                + f" the clinical MDC95 of {DROP_MDC95_DEG}°)" if by_drop else "",
            ) if r
        ) or "no difference beyond the measurement's repeatability"  # fmt: skip
    return {
        "lift_deg": left_right(mean(right, "lift_deg"), mean(left, "lift_deg")),
        "hold_s": left_right(mean(right, "hold_s"), mean(left, "hold_s")),
        "free_side_drop_deg": left_right(
            mean(right, "free_side_drop_deg"), mean(left, "free_side_drop_deg"), si=False
        ),
        "twist_to_free_side_deg": left_right(
            mean(right, "twist_to_free_side_deg"), mean(left, "twist_to_free_side_deg"), si=False
        ),
        "lift_threshold_deg": lift_thr,
        "drop_threshold_deg": drop_thr,
        "drop_beyond_clinical_mdc95": abs(drop_diff) > DROP_MDC95_DEG,
        "weaker_side": weaker,
        "reason": reason,
        "references": [DROP_REFERENCE, LIFT_REFERENCE],
    }


SUPPORT_DROP_DEG = 1.5
"""A rep whose free side sinks more than this (hip drop at the top) was supported by the
other leg; below it the sensor cannot tell a level single-leg bridge from a double-leg one."""
SUPPORT_TWIST_DEG = 2.0
"""Failing a drop, a twist beyond this (towards the free side) tells the supporting leg."""


def support_seen(hip_drop_deg: float, twist_deg: float) -> str | None:
    """The supporting leg the sensor sees in one rep ('left', 'right') or None (level).

    Supported by the right leg the free LEFT side sinks (hip drop < 0, obliquity convention
    "left higher > 0") and the pelvis twists towards it (rotation > 0).
    """
    if abs(hip_drop_deg) >= SUPPORT_DROP_DEG:
        return "right" if hip_drop_deg < 0 else "left"
    if abs(twist_deg) >= SUPPORT_TWIST_DEG:
        return "right" if twist_deg > 0 else "left"
    return None


HINT_DROP_DEG = 0.5
"""A free-side sink from this up to ``SUPPORT_DROP_DEG`` is a weak reading: it decides between
the left and the right leg where the protocol asked for a single-leg rep, never whether a rep
was single-leg at all (a tilted or turned sensor gives double-leg reps a drop of this order:
the simulated population shows up to ≈ 1°, docs/validation.md)."""
HINT_TWIST_AGAINST_DEG = 1.0
"""A weak reading is dropped when the twist points at the other leg by at least this."""


def support_hint(hip_drop_deg: float, twist_deg: float) -> str | None:
    """The leg a rep that :func:`support_seen` calls level leans to ('left', 'right'), or
    None: the free side sank at least ``HINT_DROP_DEG`` and the pelvis did not twist clearly
    the other way (same conventions as :func:`support_seen`)."""
    if abs(hip_drop_deg) < HINT_DROP_DEG:
        return None
    side = "right" if hip_drop_deg < 0 else "left"
    against = twist_deg < 0 if side == "right" else twist_deg > 0
    if against and abs(twist_deg) >= HINT_TWIST_AGAINST_DEG:
        return None
    return side


def assign_supports(
    seen: list[str | None],
    protocol: list[str],
    reps_per_set: int | None,
    hints: list[str | None] | None = None,
) -> tuple[list[str], list[str], list[str]]:
    """Supporting side of every rep: the sensor's where it sees one, else the protocol's.

    ``protocol`` lists the sets in order; ``reps_per_set`` (None: shared out equally when
    the count allows) places each rep in its set. ``hints`` (:func:`support_hint`) choose
    between left and right for a level rep where the protocol asked for a single-leg one
    (the person may have done the sets in another order). A level rep with no such reading
    takes the leg the sensor saw in the other reps of its set when they all agree (at least
    one for a single-leg set, at least half of them for a double-leg one): a set is done on
    one support, whatever order the sets were done in. Returns the sides, where each came
    from (``sensor``, ``protocol``, ``sensor and protocol``, ``weak sensor reading``, ``weak
    sensor reading and protocol``, ``rest of its set``) and the disagreements in words.
    """
    n = len(seen)
    if reps_per_set is None and n % len(protocol) == 0:
        reps_per_set = n // len(protocol)
    asked: list[str | None] = [
        protocol[k // reps_per_set] if reps_per_set and k // reps_per_set < len(protocol) else None
        for k in range(n)
    ]
    sides: list[str] = []
    sources: list[str] = []
    notes: list[str] = []
    expected = len(protocol) * reps_per_set if reps_per_set else None
    if expected is not None and expected != n:
        notes.append(
            f"the protocol asked for {expected} reps ({len(protocol)} set(s) of {reps_per_set}); "
            f"the sensor found {n}: each rep's side is the sensor's where it saw one"
        )
    for k, (s, a) in enumerate(zip(seen, asked, strict=True)):
        if s is not None:
            sides.append(s)
            sources.append("sensor and protocol" if s == a else "sensor")
            if a is not None and a != s:
                what = "a double-leg bridge" if a == "both" else f"the {a} leg"
                notes.append(
                    f"rep {k + 1}: the protocol asked for {what}, but the free side sank as "
                    f"on a bridge on the {s} leg: the {s} leg is reported"
                )
        elif a in SIDES and hints is not None and (h := hints[k]) is not None:
            sides.append(h)
            sources.append("weak sensor reading" + (" and protocol" if h == a else ""))
            if h != a:
                notes.append(
                    f"rep {k + 1}: the protocol asked for the {a} leg, but the free side sank "
                    f"slightly (under {SUPPORT_DROP_DEG}°, a weak reading) as on a bridge on "
                    f"the {h} leg: the {h} leg is reported"
                )
        elif (mate := _set_mates_side(seen, k, reps_per_set, a)) is not None:
            sides.append(mate)
            sources.append("rest of its set")
            notes.append(
                f"rep {k + 1}: the pelvis stayed level; the sensor saw the other reps of its "
                f"set on the {mate} leg, where the protocol asked for "
                + ("a double-leg bridge" if a == "both" else f"the {a} leg")
                + f": the {mate} leg is reported"
            )
        elif a is not None:
            sides.append(a)
            sources.append("protocol")
            if a != "both":
                notes.append(
                    f"rep {k + 1}: the pelvis stayed level, so the sensor cannot tell the "
                    f"supporting leg; the protocol's {a} leg is used"
                )
        else:
            sides.append("both")
            sources.append("sensor")
    return sides, sources, notes


def _set_mates_side(
    seen: list[str | None], k: int, reps_per_set: int | None, asked: str | None
) -> str | None:
    """The single leg the sensor saw for the other reps of rep ``k``'s set, if they agree on
    one that is not ``asked`` (None otherwise, or when the sets cannot be told apart)."""
    if not reps_per_set or asked is None:
        return None
    first = (k // reps_per_set) * reps_per_set
    mates = [seen[i] for i in range(first, min(first + reps_per_set, len(seen))) if i != k]
    legs = {s for s in mates if s is not None}
    if len(legs) != 1:
        return None
    leg = legs.pop()
    n_seen = sum(s is not None for s in mates)
    if leg == asked or (asked == "both" and 2 * n_seen < len(mates)):
        return None
    return leg

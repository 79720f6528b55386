"""Left against right in single-leg bridges, the rule that names the weaker side, and the
supporting leg of each rep as the sensor sees it: alone (:func:`support_seen`, the live view)
and read with the whole session (:func:`assign_supports`: a set is done on one support, so its
reps share their drop, twist and lift, and a level rep takes its set's leg where the sets can be
told apart; where they cannot, the rep is flagged "not determined by the sensor").

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

import itertools
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from hipsense.conventions.symmetry import left_right, shown_difference
from hipsense.conventions.words import counted

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

    def shown(key: str) -> float:
        # the difference of the two means as the report's table shows them, so a page adds up
        return shown_difference(mean(right, key), mean(left, key), 1)

    if by_lift and by_drop and by_lift != by_drop:
        weaker, reason = None, "lift and drop point at different sides"
    else:
        weaker = by_lift or by_drop
        reason = "; ".join(
            r for r in (
                f"lift {abs(shown('lift_deg')):.1f}° lower (> {lift_thr:.1f}°)"
                if by_lift else "",
                f"free side drops {abs(shown('free_side_drop_deg')):.1f}° more "
                f"(> {drop_thr:.1f}°; "
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


NOISE_DROP_DEG = 0.35
"""Spread of one rep's mean drop about its set's (the simulated population: 0.11° RMS, 95th
percentile 0.23°, up to 0.75° on a shaking weak side; taken wider so a shaking set still fits)."""
NOISE_TWIST_DEG = 1.0
"""Spread of one rep's twist about its set's (gyroscope drift over the rep). The population's
twist departs from its set's median by 0.25° (median), 1.0° (90th percentile), 2.1° (99th),
up to 4.2°: heavy tails, taken wide so one stray twist does not make a set of its own."""
NOISE_LIFT_FRAC = 0.03
"""Spread of one rep's lift about its set's, as a fraction of it (the population: 0.7 % RMS,
up to 3 %): reps on one support reach the same height, so a rep on another support stands out."""
BIAS_DROP_FRAC = 0.015
BIAS_TWIST_FRAC = 0.05
"""Prior spread of the drop and twist a rep on both feet reads, as a fraction of the lift (a
tilted or turned sensor and the chip's scale errors of up to 3 % leak the lift into them: the
simulated population's double-leg sets read a mean drop of 0.9 % of the lift RMS, up to 3 %,
and a twist of 3.3 % RMS, up to 9 %: taken at about 1.5 × the RMS)."""
BIAS_FLOOR_DEG = (0.25, 0.5)
"""Least prior spread of the drop and of the twist on both feet (low lifts)."""
SINGLE_LIFT_MAX = 0.95
"""A single-leg set lifts at most this fraction of the session's double-leg set (an assumption:
one leg raises the pelvis less; the simulated population uses 0.9 and less on a weak side)."""
PRIOR_ORDER = 4.0
"""Cost (log-likelihood units) of a plan whose sets are in another order than the protocol's."""
PRIOR_LENGTH = 2.0
"""Cost of each set whose rep count is not the protocol's."""
PRIOR_LABEL = 4.0
"""Cost of a set done on another support than the protocol's."""
PRIOR_EXTRA = 3.0
"""Cost of one extra rep done on a support of its own (a one-rep set) between the sets."""
DETERMINED = 3.0
"""A rep's leg is determined by the sensor when every plan giving it another support fits the
reps' drop, twist and lift worse by this (log-likelihood; e³ ≈ 20 to 1), whatever the protocol."""
_MAX_PLANS = 20000
_CODE = {"both": 0, "left": 1, "right": 2}
_SIGN = {"both": 0.0, "left": 1.0, "right": -1.0}
"""Free side down when supported by the left leg is the right side: obliquity > 0."""


@dataclass(frozen=True)
class _Channel:
    """Prefix sums of one measure over the reps, for the statistics of any run of reps."""

    s1: list[float]
    s2: list[float]

    @classmethod
    def of(cls, x: Sequence[float]) -> _Channel:
        s1, s2 = [0.0], [0.0]
        for v in x:
            s1.append(s1[-1] + v)
            s2.append(s2[-1] + v * v)
        return cls(s1, s2)

    def run(self, a: int, b: int) -> tuple[int, float, float]:
        return b - a, self.s1[b] - self.s1[a], self.s2[b] - self.s2[a]


def _groups(ch: _Channel, blocks: Sequence[tuple[str, int, int]]) -> dict[str, tuple[int, float]]:
    """Per support: (reps, mean) over its blocks, and the spread about the means (key '')."""
    acc: dict[str, list[float]] = {}
    for label, a, b in blocks:
        n, s1, s2 = ch.run(a, b)
        g = acc.setdefault(label, [0.0, 0.0, 0.0])
        g[0] += n
        g[1] += s1
        g[2] += s2
    out: dict[str, tuple[int, float]] = {}
    within = 0.0
    for label, (n, s1, s2) in acc.items():
        if n:
            out[label] = (int(n), s1 / n)
            within += max(s2 - s1 * s1 / n, 0.0)
    out[""] = (0, within)
    return out


def _side_channel_cost(
    groups: dict[str, tuple[int, float]], noise: float, bias: float, left_sign: float
) -> float:
    """−log-likelihood of one side-telling measure (drop: ``left_sign`` +1; twist: −1): a
    bias ``b`` common to all reps (prior spread ``bias``), a double-leg rep reads ``b``, a
    left-leg one ``b + left_sign·a_left`` and a right-leg one ``b − left_sign·a_right`` with
    a_left, a_right ≥ 0 free (the sag or twist of each side). Minimised over ``b`` exactly:
    it is the mean of the groups whose constraint binds, tried for every binding set."""
    lam = (noise / bias) ** 2
    sided = []  # (n, mean, +1: mean must be >= b, -1: <= b)
    n0, s0 = 0, 0.0
    for label, (n, m) in groups.items():
        if not label:
            continue
        sign = _SIGN[label] * left_sign
        if sign == 0.0:
            n0, s0 = n0 + n, s0 + n * m
        else:
            sided.append((n, m, sign))
    best = math.inf
    for mask in range(1 << len(sided)):
        active = [g for i, g in enumerate(sided) if mask >> i & 1]
        n = n0 + sum(g[0] for g in active)
        b = (s0 + sum(g[0] * g[1] for g in active)) / (n + lam)
        cost = lam * b * b
        for n_g, m_g, sign in sided:
            gap = (m_g - b) * sign
            if gap < 0.0:
                cost += n_g * gap * gap
        for label, (n_g, m_g) in groups.items():
            if label and _SIGN[label] * left_sign == 0.0:
                cost += n_g * (m_g - b) ** 2
        best = min(best, cost)
    return 0.5 * (best + groups[""][1]) / noise**2


def _lift_cost(lift: _Channel, blocks: Sequence[tuple[str, int, int]]) -> float:
    groups = _groups(lift, blocks)
    scale = max(abs(m) for label, (_, m) in groups.items() if label) * NOISE_LIFT_FRAC
    cost = groups[""][1]
    if "both" in groups:
        top = SINGLE_LIFT_MAX * groups["both"][1]
        for label in ("left", "right"):
            if label in groups:
                n, m = groups[label]
                cost += n * max(0.0, m - top) ** 2
    return 0.5 * cost / max(scale, 1e-6) ** 2


def _plans(
    protocol: Sequence[str], n: int, reps: int | None
) -> Iterator[tuple[tuple[tuple[str, int, int], ...], float]]:
    """Candidate plans (blocks of consecutive reps on one support) with their prior cost: the
    protocol's sets in any order, of any lengths (a set may be left out or abandoned), one of
    them possibly on another support, and one extra rep on a support of its own."""
    m = len(protocol)
    if _distinct_orders(protocol) <= 24:
        orders = sorted(set(itertools.permutations(protocol)))
    else:  # listing them first would take m! steps (10 sets: 3.6 million)
        orders = [tuple(protocol), tuple(reversed(protocol))]
    lengths = _lengths(m, n, reps)
    for order in orders:
        p_order = 0.0 if list(order) == list(protocol) else PRIOR_ORDER
        relabels: list[tuple[tuple[str, ...], float]] = [(order, 0.0)]
        for i, s in enumerate(order):
            for other in _CODE:
                if other != s:
                    relabels.append(((*order[:i], other, *order[i + 1 :]), PRIOR_LABEL))
        for lens in lengths:
            p_len = PRIOR_LENGTH * sum(k != reps for k in lens) if reps else 0.0
            bounds = [0, *itertools.accumulate(lens)]
            for labels, p_label in relabels:
                blocks = tuple((labels[i], bounds[i], bounds[i + 1]) for i in range(m) if lens[i])
                yield blocks, p_order + p_len + p_label
        if reps and n == m * reps + 1:
            for at in range(m + 1):
                for extra in _CODE:
                    shift = [int(i >= at) for i in range(m)]
                    sets = [
                        (order[i], i * reps + shift[i], (i + 1) * reps + shift[i]) for i in range(m)
                    ]
                    yield (*sets, (extra, at * reps, at * reps + 1)), p_order + PRIOR_EXTRA


def _distinct_orders(protocol: Sequence[str]) -> int:
    """How many different orders the protocol's sets can be done in (a multinomial)."""
    count = math.factorial(len(protocol))
    for side in set(protocol):
        count //= math.factorial(protocol.count(side))
    return count


def _lengths(m: int, n: int, reps: int | None) -> list[tuple[int, ...]]:
    """Rep counts of the ``m`` sets summing to ``n``: all of them when few, else those where at
    most two sets depart from the protocol's count (an equal share when none is stored), each
    by one rep (or down to one rep, or none): every set's departure grows as 5**m (17 s for 10
    sets), every split without a count as n**m (6 sets of 19 reps: 11 million). When none of
    those sums to ``n`` (a session stopped after a few reps), the protocol's counts filled in
    order, the last set taking what is left."""
    plans = math.comb(n + m - 1, m - 1) * min(math.factorial(m), 24) * (1 + 2 * m)
    if plans <= _MAX_PLANS:
        return [
            tuple(b - a for a, b in zip((0, *cuts), (*cuts, n), strict=True))
            for cuts in itertools.combinations_with_replacement(range(n + 1), m - 1)
        ]
    reps = reps or max(1, round(n / m))
    near = sorted({0, 1, reps - 1, reps, reps + 1})
    found: set[tuple[int, ...]] = set()
    for i, j in itertools.combinations(range(m + 1), 2):
        for a, b in itertools.product(near, repeat=2):
            lens = [reps] * (m + 1)
            lens[i], lens[j] = a, b
            if sum(lens[:m]) == n:
                found.add(tuple(lens[:m]))
    if not found:  # a session stopped early (or run long): the sets in order, the last one cut
        full = min(n // reps, m - 1)
        found.add((reps,) * full + (n - full * reps,) + (0,) * (m - full - 1))
    return sorted(found)


def assign_supports(
    drop_deg: Sequence[float],
    twist_deg: Sequence[float],
    lift_deg: Sequence[float],
    protocol: Sequence[str],
    reps_per_set: int | None,
) -> tuple[list[str], list[str], list[str]]:
    """Supporting side of every rep, read from the whole session at once.

    A set is done on one support, so its reps share their free-side drop, twist and lift;
    reps on the other leg drop and twist the other way, and on both feet they lift higher.
    Every candidate plan (:func:`_plans`: the protocol's sets in any order and of any length)
    is scored on all reps' measures together (:func:`_side_channel_cost`, :func:`_lift_cost`)
    plus its departure from the protocol; the best plan gives each rep its side. A rep's side
    is *determined by the sensor* when every plan giving it another support fits the measures
    worse by ``DETERMINED``, the protocol aside; otherwise (a level pelvis whose sets cannot
    be told apart) the side is the best plan's — the protocol's where nothing says otherwise —
    and is flagged as not determined. ``reps_per_set`` (None: shared out equally when the
    count allows) places each rep in the protocol. Returns the sides, where each came from
    (``sensor``: its own drop or twist; ``sensor, with its set``: a level rep placed with the
    set the sensor told apart; each with `` and protocol`` when the protocol agrees;
    ``protocol, not determined by the sensor``) and the notes in words: every disagreement
    with the protocol, a rep count other than the protocol's, the reps not determined.
    """
    n = len(drop_deg)
    if reps_per_set is None and n % len(protocol) == 0:
        reps_per_set = n // len(protocol)
    asked = [
        protocol[k // reps_per_set] if reps_per_set and k // reps_per_set < len(protocol) else None
        for k in range(n)
    ]
    notes: list[str] = []
    expected = len(protocol) * reps_per_set if reps_per_set else None
    if expected is not None and expected != n:
        notes.append(
            f"the protocol asked for {counted(expected, 'rep')} "
            f"({counted(len(protocol), 'set')} of {reps_per_set}); "
            f"the sensor found {n}: the sets are read from the reps' drop, twist and lift"
        )
    if n == 0:
        return [], [], notes
    drop, twist, lift = _Channel.of(drop_deg), _Channel.of(twist_deg), _Channel.of(lift_deg)
    lift_typical = float(np.median(np.abs(lift_deg)))
    bias_drop = max(BIAS_DROP_FRAC * lift_typical, BIAS_FLOOR_DEG[0])
    bias_twist = max(BIAS_TWIST_FRAC * lift_typical, BIAS_FLOOR_DEG[1])
    labels_of: list[list[int]] = []
    fits: list[float] = []
    totals: list[float] = []
    for blocks, prior in _plans(protocol, n, reps_per_set):
        fit = (
            _side_channel_cost(_groups(drop, blocks), NOISE_DROP_DEG, bias_drop, 1.0)
            + _side_channel_cost(_groups(twist, blocks), NOISE_TWIST_DEG, bias_twist, -1.0)
            + _lift_cost(lift, blocks)
        )
        row = [0] * n
        for label, a, b in blocks:
            row[a:b] = [_CODE[label]] * (b - a)
        labels_of.append(row)
        fits.append(fit)
        totals.append(fit + prior)
    labels = np.asarray(labels_of)
    fit_arr = np.asarray(fits)
    best = int(np.argmin(totals))
    names = list(_CODE)
    sides = [names[c] for c in labels[best]]
    sources: list[str] = []
    level: list[int] = []
    for k, (side, a) in enumerate(zip(sides, asked, strict=True)):
        other = labels[:, k] != labels[best, k]
        margin = float(fit_arr[other].min() - fit_arr[best]) if other.any() else math.inf
        own = support_seen(drop_deg[k], twist_deg[k])
        agrees = " and protocol" if side == a else ""
        if margin < DETERMINED:
            sources.append("protocol, not determined by the sensor")
            if side != "both" or (a is not None and a != "both"):
                level.append(k)
            continue
        sources.append(("sensor" if own == side else "sensor, with its set") + agrees)
        if a is not None and a != side:
            what = "a double-leg bridge" if a == "both" else f"the {a} leg"
            how = (
                f"the free side sank {abs(drop_deg[k]):.1f}° and the pelvis twisted "
                f"{abs(twist_deg[k]):.1f}° as on a bridge on the {side} leg"
                if side != "both"
                else "it lifted and stayed level as on both feet"
            )
            notes.append(
                f"rep {k + 1}: the protocol asked for {what}, but {how} (read with the other "
                f"reps of its set): {'both feet' if side == 'both' else f'the {side} leg'} "
                "is reported"
            )
    if level:
        notes.append(
            f"{_rep_words(level)}: the sensor could not tell the supporting leg (the pelvis "
            "stayed level and the sets could not be told apart): the protocol's is kept"
        )
    return sides, sources, notes


def _rep_words(ks: Sequence[int]) -> str:
    """'rep 3' or 'reps 1–4, 7' for 0-based rep indices in order."""
    runs: list[list[int]] = []
    for k in ks:
        if runs and k == runs[-1][1] + 1:
            runs[-1][1] = k
        else:
            runs.append([k, k])
    words = ", ".join(f"{a + 1}" if a == b else f"{a + 1}–{b + 1}" for a, b in runs)
    return ("reps " if len(ks) > 1 else "rep ") + words

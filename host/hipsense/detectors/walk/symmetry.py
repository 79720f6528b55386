"""Per-side running statistics, symmetry indices and the asymmetry verdict (docs/gait.md).

Constant memory: each side keeps a count, a mean and a sum of squared deviations (Welford),
so a walk of any length costs the same. The verdict grades two measures separately
(:class:`Tier`), each with its evidence:

- drop: d = mean drop during right stance − mean drop during left stance (°), with a Welch
  t-based ``confidence`` interval. *Within measurement noise* when the interval holds 0 or
  |d| < ``min_difference_deg`` (1°, a measurement threshold); *below the minimal detectable
  change* when |d| < 4°, the static Trendelenburg measure's MDC (Youdas et al. 2007; there is no
  validated IMU cut-off in walking, CLINICAL.md); *beyond it* otherwise: only then does the text
  point to weaker abductors (on the stance side whose swing side drops more);
- step time: the symmetry index of the step time with its interval. No MDC of step-time
  asymmetry from a lower-back sensor in this population is known to us (docs/gait.md), so it is
  graded against noise only: *within measurement noise* or *beyond it*.

No verdict before ``min_steps`` valid steps on each side.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from hipsense.conventions import SIDES
from hipsense.conventions.symmetry import shown_difference, si_scale

STATIC_MDC_DEG = 4.0
"""Minimal detectable change of the static Trendelenburg measure (Youdas et al. 2007)."""
MDC_SOURCE = "static Trendelenburg test, Youdas et al. 2007"


def _signed(value: float) -> str:
    """A signed tenth, never "-0.0" (a rounded negative zero reads as a side that is not
    there)."""
    return f"{round(value, 1) + 0.0:+.1f}"


@dataclass
class RunningStats:
    """Count, mean and spread of a stream of values in constant memory (Welford)."""

    n: int = 0
    mean: float = 0.0
    m2: float = 0.0

    def add(self, value: float) -> None:
        self.n += 1
        delta = value - self.mean
        self.mean += delta / self.n
        self.m2 += delta * (value - self.mean)

    @property
    def sd(self) -> float:
        """Sample standard deviation (NaN below two values)."""
        return math.sqrt(self.m2 / (self.n - 1)) if self.n > 1 else math.nan

    def to_json(self) -> dict[str, Any]:
        return {"n": self.n, "mean": _num(self.mean if self.n else math.nan), "sd": _num(self.sd)}


def _num(x: float) -> float | None:
    return None if math.isnan(x) else round(x, 4)


def welch_ci(
    right: RunningStats, left: RunningStats, confidence: float
) -> tuple[float, float, float]:
    """Difference right − left of the means and its Welch t interval (NaN if too few)."""
    if right.n < 2 or left.n < 2:
        return math.nan, math.nan, math.nan
    d = right.mean - left.mean
    vr, vl = right.sd**2 / right.n, left.sd**2 / left.n
    se = math.sqrt(vr + vl)
    spread = vr**2 / (right.n - 1) + vl**2 / (left.n - 1)
    if se == 0.0 or spread == 0.0:  # no spread, or one too small to square (underflow)
        return d, d, d
    dof = (vr + vl) ** 2 / spread
    # Student t quantile: the ufunc behind stats.t.ppf (same numbers, 30x less overhead per step)
    from scipy import special  # at first use: the module loads fast

    half = float(special.stdtrit(dof, 0.5 + confidence / 2.0)) * se
    return d, d - half, d + half


TIERS = ("not_enough_data", "within_noise", "below_mdc", "beyond_mdc", "beyond_noise")
"""The grades of a left/right difference: ``within_noise`` (the confidence interval holds 0, or
the difference is below the measurement threshold), ``below_mdc`` (a real difference in this
walk, smaller than the minimal detectable change), ``beyond_mdc``, and ``beyond_noise`` for a
measure with no known MDC."""


@dataclass(frozen=True)
class Tier:
    """One measure's left/right difference graded against noise and, where one is known, the
    minimal detectable change. ``difference`` right − left (``unit``) with its ``ci``;
    ``mdc`` (same unit) and ``mdc_source`` or None; ``larger_side``: the side whose value is
    larger when the difference is beyond noise; ``text``: the grade in words with its evidence.
    """

    measure: str
    tier: str
    difference: float
    ci: tuple[float, float]
    unit: str
    mdc: float | None
    mdc_source: str | None
    larger_side: str | None
    text: str

    def to_json(self) -> dict[str, Any]:
        return {
            "measure": self.measure,
            "tier": self.tier,
            "difference": _num(self.difference),
            "ci": [_num(self.ci[0]), _num(self.ci[1])],
            "unit": self.unit,
            "mdc": self.mdc,
            "mdc_source": self.mdc_source,
            "larger_side": self.larger_side,
            "text": self.text,
        }


def grade(
    measure: str,
    d: float,
    lo: float,
    hi: float,
    *,
    unit: str,
    threshold: float,
    mdc: float | None,
    mdc_source: str | None,
) -> str:
    """The tier of a difference ``d`` (interval ``lo``..``hi``): see :data:`TIERS`."""
    if math.isnan(d):
        return "not_enough_data"
    if not (lo > 0 or hi < 0) or abs(d) < threshold:
        return "within_noise"
    if mdc is None:
        return "beyond_noise"
    return "beyond_mdc" if abs(d) >= mdc else "below_mdc"


@dataclass
class Verdict:
    """``status``: ``not_enough_data``, ``symmetric`` or ``asymmetric`` (the drop difference is
    beyond measurement noise); ``weak_side``: then the stance side whose swing side drops more
    (``right``/``left``/None; weak abductors only when ``drop.tier`` is ``beyond_mdc``);
    ``difference_deg`` with its ``ci_deg``; ``steps_per_side`` used; ``drop`` and ``step_time``:
    the two measures graded (:class:`Tier`); ``text``: the verdict in words."""

    status: str
    weak_side: str | None
    difference_deg: float
    ci_deg: tuple[float, float]
    steps_per_side: tuple[int, int]
    text: str
    drop: Tier | None = None
    step_time: Tier | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "weak_side": self.weak_side,
            "difference_deg": _num(self.difference_deg),
            "ci_deg": [_num(self.ci_deg[0]), _num(self.ci_deg[1])],
            "steps_right": self.steps_per_side[0],
            "steps_left": self.steps_per_side[1],
            "tiers": {
                "drop": None if self.drop is None else self.drop.to_json(),
                "step_time": None if self.step_time is None else self.step_time.to_json(),
            },
            "text": self.text,
        }


@dataclass
class SymmetryTracker:
    """Per-side drop and step-time statistics and the verdict rule (module docstring).

    Parameters: ``min_steps`` per side before any verdict; ``min_difference_deg`` smallest
    drop difference called asymmetric; ``confidence`` of the intervals (0..1).
    """

    min_steps: int = 10
    min_difference_deg: float = 1.0
    confidence: float = 0.95
    drop_deg: dict[str, RunningStats] = field(default_factory=dict)
    step_s: dict[str, RunningStats] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for side in SIDES:
            self.drop_deg.setdefault(side, RunningStats())
            self.step_s.setdefault(side, RunningStats())

    def add_stance(self, side: str, drop_deg: float) -> None:
        """A completed stance of ``side`` with the swing side's drop."""
        self.drop_deg[side].add(drop_deg)

    def add_step_time(self, side: str, step_s: float) -> None:
        """A step ending at ``side``'s contact."""
        self.step_s[side].add(step_s)

    def drop_si(self) -> tuple[float, float, float]:
        """Symmetry index of the drop (right stance vs left stance) with its interval (%)."""
        return self._si(self.drop_deg)

    def step_time_si(self) -> tuple[float, float, float]:
        """Symmetry index of the step time with its interval (%)."""
        return self._si(self.step_s)

    def _si(self, per_side: dict[str, RunningStats]) -> tuple[float, float, float]:
        r, l_ = per_side["right"], per_side["left"]
        d, lo, hi = welch_ci(r, l_, self.confidence)
        scale = si_scale(r.mean, l_.mean)
        if math.isnan(d) or scale is None:
            return math.nan, math.nan, math.nan
        return d * scale, lo * scale, hi * scale

    def _drop_difference(self) -> tuple[float, float, float]:
        r, l_ = self.drop_deg["right"], self.drop_deg["left"]
        if min(r.n, l_.n) < self.min_steps:
            return math.nan, math.nan, math.nan
        return welch_ci(r, l_, self.confidence)

    def _grade_drop(self, d: float, lo: float, hi: float) -> str:
        return grade("drop", d, lo, hi, unit="deg", threshold=self.min_difference_deg,
                     mdc=STATIC_MDC_DEG, mdc_source=MDC_SOURCE)  # fmt: skip

    def drop_grade(self) -> str:
        """The tier of the drop difference alone (:data:`TIERS`), without its words: what
        :meth:`drop_tier` grades, at a fraction of its cost (the tracker checks it per step)."""
        return self._grade_drop(*self._drop_difference())

    def drop_tier(self) -> Tier:
        """The drop difference (right stance − left stance, °) graded against the static MDC."""
        r, l_ = self.drop_deg["right"], self.drop_deg["left"]
        d, lo, hi = self._drop_difference()
        tier = self._grade_drop(d, lo, hi)
        pct = round(self.confidence * 100)
        counts = f"{r.n} right and {l_.n} left stances"
        larger = None
        if tier == "not_enough_data":
            need = self.min_steps - min(r.n, l_.n)
            text = f"Drop: too few steps to judge ({need} more per side needed)."
        elif tier == "within_noise":
            text = (
                f"Drop: within measurement noise: right-stance minus left-stance drop "
                f"{_signed(shown_difference(r.mean, l_.mean, 1))}° "
                f"({pct} % CI {_signed(lo)} to {_signed(hi)}°; {counts}"
                + (")." if lo <= 0 <= hi else f"; below the {self.min_difference_deg:g}° "
                   "measurement threshold).")
            )  # fmt: skip
        else:
            weak, swing, other = ("right", "left", "left") if d > 0 else ("left", "right", "right")
            larger = weak
            shown = abs(shown_difference(r.mean, l_.mean, 1))  # as the report's table: it adds up
            what = (
                f"{swing} side dropped {shown:.1f}° more during {weak} stance than the {weak} "
                f"side during {other} stance ({pct} % CI {abs(lo) if d > 0 else abs(hi):.1f} to "
                f"{abs(hi) if d > 0 else abs(lo):.1f}°; {counts})"
            )
            if tier == "below_mdc":
                text = (
                    f"Drop: a difference below the minimal detectable change: the {what}; "
                    f"that is less than the {STATIC_MDC_DEG:.0f}° MDC ({MDC_SOURCE}), too small "
                    "to point to weaker hip abductors."
                )
            else:
                text = (
                    f"Drop: beyond the minimal detectable change: the {what}, more than the "
                    f"{STATIC_MDC_DEG:.0f}° MDC ({MDC_SOURCE}): points to weaker {weak} hip "
                    "abductors (no validated walking cut-off exists)."
                )
        return Tier("drop", tier, d, (lo, hi), "deg", STATIC_MDC_DEG, MDC_SOURCE, larger, text)

    def step_time_tier(self) -> Tier:
        """The step-time symmetry index (right − left, % of the mean step) graded against
        noise: no MDC for it is known (module docstring)."""
        r, l_ = self.step_s["right"], self.step_s["left"]
        si, lo, hi = self.step_time_si()
        if min(r.n, l_.n) < self.min_steps:
            si = lo = hi = math.nan
        tier = grade("step_time", si, lo, hi, unit="%", threshold=0.0, mdc=None, mdc_source=None)
        pct = round(self.confidence * 100)
        larger = None
        if tier == "not_enough_data":
            need = self.min_steps - min(r.n, l_.n)
            text = f"Step time: too few steps to judge ({need} more per side needed)."
        else:
            ev = (
                f"SI {_signed(si)} %, {pct} % CI {_signed(lo)} to {_signed(hi)} %; {r.n} right and "
                f"{l_.n} left steps"
            )
            if tier == "within_noise":
                text = f"Step time: within measurement noise ({ev})."
            else:
                larger = "right" if si > 0 else "left"
                shorter = "left" if si > 0 else "right"
                text = (
                    f"Step time: beyond measurement noise: steps ending at the {shorter} contact "
                    f"are shorter than those ending at the {larger} one ({ev}); "
                    "no minimal detectable change is known for this measure, so whether it "
                    "exceeds day-to-day variation cannot be said."
                )
        return Tier("step_time", tier, si, (lo, hi), "%", None, None, larger, text)

    def verdict(self) -> Verdict:
        r, l_ = self.drop_deg["right"], self.drop_deg["left"]
        counts = (r.n, l_.n)
        drop, step = self.drop_tier(), self.step_time_tier()
        text = f"{drop.text} {step.text}"
        if drop.tier == "not_enough_data":
            return Verdict("not_enough_data", None, math.nan, (math.nan, math.nan), counts, text,
                           drop, step)  # fmt: skip
        status = "symmetric" if drop.tier == "within_noise" else "asymmetric"
        return Verdict(status, drop.larger_side, drop.difference, drop.ci, counts, text, drop,
                       step)  # fmt: skip

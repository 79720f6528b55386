"""A patient's key figures over time and which changes exceed the figure's minimal detectable
change (MDC): the answer to "is the left-right difference getting smaller, by more than the
measurement's noise?".

Discarded runs are left out. Several runs of one figure in one session are averaged, except
hold times, where the best counts (best of three, Springer et al. 2007). The change is the
latest session's value minus the first session's; it exceeds the MDC when its size is larger.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from hipsense.conventions.exercises import SPECS
from hipsense.conventions.symmetry import shown_difference
from hipsense.store.db import Run
from hipsense.store.figures import Mdc, describe

TEST_ORDER = ("walk", "balance", "bridge")
_BEST_OF = {"hold_s"}
COUNT_UNITS = frozenset({"reps", "holds"})
"""Units of whole counts (an average of several runs may still have a tenth)."""


@dataclass(frozen=True)
class Series:
    """One figure of one test, side and condition across the patient's sessions."""

    test: str
    name: str
    side: str
    condition: str
    unit: str
    words: str
    points: tuple[tuple[str, float], ...]  # (visit date, value), oldest first
    mdc: Mdc | None

    @property
    def change(self) -> float | None:
        """Latest minus first; None with fewer than two sessions."""
        if len(self.points) < 2:
            return None
        return self.points[-1][1] - self.points[0][1]

    def change_text(self) -> str:
        """The change as shown: the difference of the first and latest figures as
        :func:`figure_text` shows them (:func:`~hipsense.conventions.symmetry.shown_difference`),
        so "10.0 → 10.0" never reads "+0.1"; '' with fewer than two sessions."""
        if len(self.points) < 2:
            return ""
        digits = figure_digits(self.unit)
        change = shown_difference(self.points[-1][1], self.points[0][1], digits)
        return f"{change:+.{digits}f}"

    @property
    def beyond_mdc(self) -> bool:
        change = self.change
        return self.mdc is not None and change is not None and abs(change) > self.mdc.value

    @property
    def label(self) -> str:
        parts = [self.words]
        if self.side:
            parts.append(f"{self.side}")
        if self.condition:
            parts.append(self.condition.replace("_", " "))
        return ", ".join(parts)

    def verdict(self) -> str:
        """The change in words, citing the MDC or saying none is known."""
        change = self.change
        if change is None:
            return "one session only: no change yet"
        size = f"{self.change_text()} {self.unit}".replace(" °", "°")
        if self.mdc is None:
            return f"changed {size} since the first visit; no MDC known for this figure"
        mdc = f"{self.mdc.value:g}{self.mdc.unit}"
        where = "beyond" if self.beyond_mdc else "within"
        return f"changed {size} since the first visit: {where} the MDC of {mdc} ({self.mdc.source})"

    def to_json(self) -> dict[str, Any]:
        return {
            "test": self.test, "figure": self.name, "side": self.side,
            "condition": self.condition, "unit": self.unit, "label": self.label,
            "points": [{"visit_date": d, "value": round(v, 4)} for d, v in self.points],
            "change": None if self.change is None else round(self.change, 4),
            "mdc": None if self.mdc is None else {"value": self.mdc.value,
                                                  "source": self.mdc.source},
            "beyond_mdc": self.beyond_mdc, "verdict": self.verdict(),
        }  # fmt: skip


def history(runs: list[Run]) -> list[Series]:
    """The series of every figure in ``runs`` (discarded runs skipped), test by test."""
    values: dict[tuple[str, str, str, str, str], dict[str, list[float]]] = {}
    for run in runs:
        if run.discard_reason is not None:
            continue
        for f in run.figures:
            if not math.isfinite(f.value):
                continue
            key = (run.test, f.name, f.side, f.condition, f.unit)
            values.setdefault(key, {}).setdefault(run.visit_date, []).append(f.value)
    out = []
    for (test, name, side, condition, unit), by_date in values.items():
        pick = max if name in _BEST_OF else (lambda v: sum(v) / len(v))
        points = tuple((d, float(pick(v))) for d, v in sorted(by_date.items()))
        words, mdc = describe(test, name)
        out.append(Series(test, name, side, condition, unit, words, points, mdc))
    order = {t: i for i, t in enumerate(TEST_ORDER)}
    side_order = {"left": 0, "right": 1, "": 2}
    out.sort(key=lambda s: (order.get(s.test, 9), s.condition, s.name, side_order.get(s.side, 3)))
    return out


def named_test(test: str) -> str:
    """A test as the history names it: ``walk``, ``balance``, ``bridge``, and an exercise by
    its title (``exercise:clamshell`` -> ``clamshell (exercise)``), not by its key."""
    name = test.removeprefix("exercise:")
    if name == test or name not in SPECS:
        return test
    title = SPECS[name].title
    return f"{title[:1].lower()}{title[1:]} (exercise)"


def history_text(patient_id: str, series: list[Series]) -> str:
    """The history as the terminal shows it."""
    if not series:
        return f"{patient_id}: no analysed test runs yet"
    lines = [f"History of {patient_id} (change = latest visit minus first visit)"]
    test = None
    for s in series:
        if s.test != test:
            test = s.test
            lines.append(f"\n{named_test(test)}:")
        values = "  ".join(f"{d} {figure_text(v, s.unit)}" for d, v in s.points)
        lines.append(f"  {s.label}{unit_suffix(s.unit)}: {values}")
        lines.append(f"    {s.verdict()}")
    return "\n".join(lines)


def figure_digits(unit: str) -> int:
    """Decimals a history figure is shown with: speed to the cm/s, cadence in whole steps/min
    (as the summary and the report give it), the rest to a tenth."""
    return {"m/s": 2, "steps/min": 0}.get(unit, 1)


def figure_text(value: float, unit: str) -> str:
    """A figure as the history prints it: speed to the cm/s, counts whole unless averaged,
    the rest to a tenth; never "-0.0" (a rounded negative zero reads as a direction that is
    not there)."""
    digits = figure_digits(unit)
    text = f"{round(value, digits) + 0.0:.{digits}f}"
    return text.removesuffix(".0") if unit in COUNT_UNITS else text


def unit_suffix(unit: str) -> str:
    """`` (unit)`` after a figure's words, nothing for a figure without a unit."""
    return f" ({unit})" if unit else ""

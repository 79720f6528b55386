"""Report sinks: an analysis result -> a report a clinic can hand over, one module per test and
the patient's progress report, all on one layout (:mod:`hipsense.report.layout`): one
self-contained HTML file and a PDF of the same (matplotlib, no browser). Never imported by the
analysis package: results do not know their report; :func:`write_report` picks the page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hipsense.analysis import (
    BalanceAnalysis,
    BridgeAnalysis,
    ExerciseAnalysis,
    Result,
    WalkAnalysis,
)


def write_report(
    result: Result, base: Path, patient: dict[str, Any] | None = None
) -> tuple[Path, Path]:
    """The report of ``result`` as ``base.html`` (self-contained) and ``base.pdf``;
    ``patient`` (id, year of birth) heads every page. Returns both paths."""
    if isinstance(result, WalkAnalysis):
        from hipsense.report.walk import write_report as write_walk

        return write_walk(result, base, patient)
    if isinstance(result, BalanceAnalysis):
        from hipsense.report.balance import write_balance_report

        return write_balance_report(result, base, patient)
    if isinstance(result, BridgeAnalysis):
        from hipsense.report.bridge import write_bridge_report

        return write_bridge_report(result, base, patient)
    if isinstance(result, ExerciseAnalysis):
        from hipsense.report.exercise import write_exercise_report

        return write_exercise_report(result, base, patient)
    raise TypeError(f"no report for {type(result).__name__}")

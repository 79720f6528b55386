"""Report sinks: an analysis result -> a report a clinic can hand over, one module per test and
the patient's progress report, all on one layout (:mod:`hipsense.report.layout`): one
self-contained HTML file and a PDF of the same (matplotlib, no browser). Never imported by the
analysis package: results do not know their report; :func:`write_report` picks the page."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hipsense.analysis import (
    BalanceAnalysis,
    BridgeAnalysis,
    ExerciseAnalysis,
    Result,
    WalkAnalysis,
)

if TYPE_CHECKING:
    from hipsense.report.layout import Page


def write_report(
    result: Result,
    base: Path,
    patient: dict[str, Any] | None = None,
    recording: str | os.PathLike[str] | None = None,
) -> tuple[Path, Path]:
    """The report of ``result`` as ``base.html`` (self-contained) and ``base.pdf``;
    ``patient`` (id, year of birth) and ``recording`` (the file analysed; None: the source the
    recording names, if any) head every page. Returns both paths."""
    from hipsense.report.layout import write_page

    page = _page(result, patient)
    if recording is not None:
        page.header = dataclasses.replace(page.header, recording=Path(recording).name)
    return write_page(page, base)


def _page(result: Result, patient: dict[str, Any] | None) -> Page:
    """The page of the result's test."""
    if isinstance(result, WalkAnalysis):
        from hipsense.report.walk import build_page as walk_page

        return walk_page(result, patient)
    if isinstance(result, BalanceAnalysis):
        from hipsense.report.balance import build_page as balance_page

        return balance_page(result, patient)
    if isinstance(result, BridgeAnalysis):
        from hipsense.report.bridge import build_page as bridge_page

        return bridge_page(result, patient)
    if isinstance(result, ExerciseAnalysis):
        from hipsense.report.exercise import build_page as exercise_page

        return exercise_page(result, patient)
    raise TypeError(f"no report for {type(result).__name__}")

"""The progress report: a patient's key figures over the sessions, with trend plots, each
change against the figure's minimal detectable change (MDC), and one left/right profile of
the latest session across the tests done. Same layout as the test reports."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from hipsense import __version__
from hipsense.conventions.words import counted
from hipsense.report.layout import (
    BOTH_COLOUR,
    SIDE_COLOURS,
    Chart,
    Header,
    Page,
    Row,
    pyplot,
    write_page,
)
from hipsense.store.db import Patient, Run
from hipsense.store.history import TEST_ORDER, Series, figure_text, named_test, unit_suffix

_TEST_WORDS = {"walk": "Walking", "balance": "Single-leg stance", "bridge": "Bridge"}


def _header(patient: Patient, runs: list[Run]) -> Header:
    used = [r for r in runs if r.discard_reason is None] or runs
    devices = sorted({r.device_name or "unknown" for r in used})
    firmware = sorted({r.firmware_version or "unknown" for r in used})
    dates = sorted({r.visit_date for r in used})
    span = f"{dates[0]} to {dates[-1]}" if len(dates) > 1 else (dates[0] if dates else "—")
    who = patient.id + (f" (born {patient.year_of_birth})" if patient.year_of_birth else "")
    today = dt.date.today().isoformat()
    return Header(who, f"{span} (printed {today})", ", ".join(devices), ", ".join(firmware),
                  f"hipsense {__version__}")  # fmt: skip


def _verdict(series: list[Series], n_sessions: int, n_discarded: int) -> list[str]:
    lines = [f"{counted(n_sessions, 'session')} compared; change = latest visit minus first visit."]
    beyond = [s for s in series if s.beyond_mdc]
    if beyond:
        for s in beyond:
            lines.append(
                f"{_TEST_WORDS.get(s.test, named_test(s.test))}: {s.label}: {s.verdict()}."
            )
    elif any(s.change is not None for s in series if s.mdc is not None):
        lines.append("No change exceeds its minimal detectable change (MDC).")
    else:
        lines.append("Too few sessions with a figure that has a known MDC to judge change.")
    if n_discarded:
        lines.append(f"{counted(n_discarded, 'discarded trial')} left out (kept in the store).")
    return lines


MIN_SPAN = {"°": 4.0, "s": 10.0, "%": 10.0, "steps/min": 10.0, "m/s": 0.2, "m": 0.1,
            "reps": 4.0, "holds": 4.0}  # fmt: skip
"""The least y-axis span of a trend chart per unit (about the MDC and more): one visit, or
visits that barely differ, drawn over 0.02° would read as a change that is noise."""


def _keep_span(ax: Any, span: float) -> None:
    """Widen the y axis about its middle to at least ``span``."""
    lo, hi = ax.get_ylim()
    if hi - lo < span:
        mid = (lo + hi) / 2.0
        ax.set_ylim(mid - span / 2.0, mid + span / 2.0)


def _trend_chart(test: str, series: list[Series]) -> Chart:
    title = f"{_TEST_WORDS.get(test, test)}: figures over time"
    mine = [s for s in series if s.test == test]
    if not mine:
        return Chart(title, not_applicable=f"no {test} test was done")
    names = sorted({(s.name, s.condition) for s in mine})
    plt = pyplot()
    cols = min(3, len(names))
    rows = (len(names) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.0 * rows), squeeze=False)
    for ax, (name, cond) in zip(axes.flat, names, strict=False):
        for s in (x for x in mine if x.name == name and x.condition == cond):
            dates = [dt.date.fromisoformat(d) for d, _ in s.points]
            values = [v for _, v in s.points]
            colour = SIDE_COLOURS.get(s.side, BOTH_COLOUR)
            ax.plot(dates, values, "o-", color=colour, label=s.side or "right − left")
            if s.mdc is not None and s.points:
                first = s.points[0][1]
                ax.axhspan(first - s.mdc.value, first + s.mdc.value, color=colour, alpha=0.08)
        first = next(x for x in mine if x.name == name)
        suffix = f" ({cond.replace('_', ' ')})" if cond else ""
        _keep_span(ax, MIN_SPAN.get(first.unit, 1.0))
        ax.set_title(first.words + suffix, fontsize=8)
        ax.set_ylabel(first.unit)
        ax.tick_params(axis="x", labelrotation=30, labelsize=7)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    for ax in list(axes.flat)[len(names) :]:
        ax.axis("off")
    fig.tight_layout()
    return Chart(title, fig, caption="Shaded: the MDC band around the first visit's value, "
                 "where an MDC is known; left red, right green, differences grey.")  # fmt: skip


def _profile_chart(runs: list[Run]) -> Chart:
    """Left against right in the latest session with each test: drop (walk), free-side drop
    (stance), sag (bridge), in degrees."""
    pairs: list[tuple[str, float, float]] = []
    for test, name, label in (("walk", "drop_deg", "walk: swing-side drop"),
                              ("balance", "free_side_drop_deg", "stance: free-side drop"),
                              ("bridge", "sag_deg", "bridge: free-side sag")):  # fmt: skip
        latest = [r for r in runs if r.test == test and r.discard_reason is None]
        if not latest:
            continue
        run = latest[-1]
        got = {f.side: f.value for f in run.figures if f.name == name and f.side}
        if "left" in got and "right" in got:
            pairs.append((f"{label}\n({run.visit_date})", got["left"], got["right"]))
    title = ("Left/right profile (latest session of each test)" if len(pairs) != 1
             else "Left/right profile (latest session)")  # fmt: skip
    if len(pairs) > 1:  # counted: a title saying "three tests" beside two was wrong
        title = (f"Left/right profile across the {('two', 'three')[len(pairs) - 2]} tests "
                 "(latest session of each)")  # fmt: skip
    if not pairs:
        return Chart(title, not_applicable="no test with both sides measured yet")
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(9, 0.9 + 0.8 * len(pairs)))
    for k, (_label, left, right) in enumerate(pairs):
        ax.barh(k - 0.2, left, 0.4, color=SIDE_COLOURS["left"], label="left" if k == 0 else None)
        ax.barh(k + 0.2, right, 0.4, color=SIDE_COLOURS["right"],
                label="right" if k == 0 else None)  # fmt: skip
    ax.set_yticks(range(len(pairs)), [p[0] for p in pairs], fontsize=8)
    ax.invert_yaxis()  # walk, stance, bridge from the top
    ax.set_xlabel("degrees")
    ax.grid(alpha=0.3, axis="x")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return Chart(title, fig)


def build_page(
    patient: Patient,
    sessions: list[tuple[int, str, str]],
    runs: list[Run],
    series: list[Series],
) -> Page:
    discarded = [r for r in runs if r.discard_reason is not None]
    return Page("Progress report", _header(patient, runs),
                _verdict(series, len(sessions), len(discarded)), _rows(series),
                [_trend_chart(t, series) for t in TEST_ORDER] + [_profile_chart(runs)],
                _notes(sessions, discarded))  # fmt: skip


def _rows(series: list[Series]) -> list[Row]:
    """One row per figure and condition: the left, right or difference values over the
    visits in their column; the change of each against the MDC."""
    groups: dict[tuple[str, str, str], dict[str, Series]] = {}
    for s in series:
        groups.setdefault((s.test, s.name, s.condition), {})[s.side] = s
    rows = []
    for (test, _, condition), by_side in groups.items():
        first = next(iter(by_side.values()))
        label = (f"{named_test(test)}: {first.words}"
                 + (f", {condition.replace('_', ' ')}" if condition else "")
                 + unit_suffix(first.unit))  # fmt: skip
        cols = {side: " → ".join(figure_text(v, s.unit) for _, v in s.points)
                for side, s in by_side.items()}  # fmt: skip
        mdc = "no MDC known" if first.mdc is None else f"MDC {first.mdc.value:g}{first.mdc.unit}"
        status = []
        for side, s in by_side.items():
            what = (side + ": ") if side and len(by_side) > 1 else ""
            if s.change is None:
                status.append(f"{what}one visit")
            else:
                change = s.change_text()
                word = ("beyond the MDC" if s.beyond_mdc else
                        "within the MDC" if s.mdc is not None else "changed")  # fmt: skip
                status.append(f"{what}{change}, {word}")
        sideless = cols.get("", "")
        if first.side or first.name.endswith(("_difference_deg", "_si_pct")):  # R − L itself
            rows.append(Row(label, cols.get("left", ""), cols.get("right", ""), sideless,
                            mdc, "; ".join(status)))  # fmt: skip
        else:  # cadence, speed, a double-leg bridge: one figure of both sides together
            rows.append(Row(label, reference=mdc, status="; ".join(status), whole=sideless))
    return rows


def _notes(sessions: list[tuple[int, str, str]], discarded: list[Run]) -> list[str]:
    notes = [f"Session {d}: {n}" for _, d, n in sessions if n]
    notes += [f"Discarded: run {r.id} ({r.test}, {r.visit_date}): {r.discard_reason}"
              for r in discarded]  # fmt: skip
    notes.append("MDC sources: walking and stance drop, Youdas et al. 2007 (static "
                 "Trendelenburg test, MDC 4°); bridge sag, Andrade et al. 2012 (MDC95 6.59°). "
                 "No MDC is known for hold times, sway, lift, step-time asymmetry, cadence "
                 "or speed measured this way.")  # fmt: skip
    return notes


def write_progress_report(
    patient: Patient,
    sessions: list[tuple[int, str, str]],
    runs: list[Run],
    series: list[Series],
    base: Path,
) -> tuple[Path, Path]:
    """Write ``base.html`` and ``base.pdf`` (a ``.html``/``.pdf`` suffix on ``base`` is
    dropped)."""
    if base.suffix.lower() in (".html", ".pdf"):
        base = base.with_suffix("")
    return write_page(build_page(patient, sessions, runs, series), base)

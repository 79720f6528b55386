"""What a new user reads after a session: a trial stopped mid-hold (Ctrl-C) is not called a hold
to a touch-down, a one-leg bridge session is not called double-leg, counts agree in number, a
report's title names the patient or else the date (never "not given"), cadence is in whole
steps, and no figure is printed as "nan"."""

from __future__ import annotations

import dataclasses
import math
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hipsense.analysis import analyse
from hipsense.recording import Recording
from hipsense.report import write_report
from hipsense.report.bridge import verdict_lines as bridge_verdict
from hipsense.report.layout import fmt, fmt_difference
from hipsense.sim.scenarios import simulate
from hypothesis import given
from hypothesis import strategies as st


@pytest.fixture(scope="module")
def stance_cut_short() -> Recording:
    """A stance test whose recording stops 8 s into the first 20 s hold (as after Ctrl-C)."""
    rec = simulate("stance-eyes-open", seed=0).to_recording()
    (first, *_) = rec.meta.extra["ground_truth"]["trials"]
    stop_s = first["lift_off_t_s"] + 8.0
    assert stop_s < first["end_t_s"]  # the scenario's hold really goes on past the stop
    data = rec.data.loc[rec.data["t_s"] < stop_s].reset_index(drop=True)
    assert isinstance(data, pd.DataFrame)
    return Recording(meta=dataclasses.replace(rec.meta), data=data)


def test_a_trial_cut_short_is_a_lower_bound_in_summary_and_report(
    stance_cut_short: Recording, tmp_path: Path
) -> None:
    result = analyse(stance_cut_short, "balance")
    text = result.summary_text()
    assert "to the first touch-down" not in text
    held = re.search(r"held at least (\d+\.\d) s \(the recording stopped during the hold\)", text)
    assert held is not None and 6.0 < float(held.group(1)) <= 8.0, text
    html_path, _ = write_report(result, tmp_path / "cut")
    html = html_path.read_text(encoding="utf-8")
    assert "was cut short: the recording stopped" in html and "lower bound" in html


def test_a_complete_trial_still_reads_as_a_hold_to_the_touch_down() -> None:
    result = analyse(simulate("stance-eyes-open", seed=0).to_recording(), "balance")
    text = result.summary_text()
    assert "to the first touch-down" in text and "at least" not in text


def _bridge_doc(sides: list[str]) -> dict:
    sets = [{"support_side": s, "n_reps": 1, "mean_lift_deg": 18.8, "mean_hold_s": 3.5}
            for s in sides]  # fmt: skip
    return {"verdict": None, "comparison": {}, "sets": sets}


@pytest.mark.parametrize(
    ("sides", "first"),
    [
        (["left"], "Only the left leg was tested: no left-right comparison."),
        (["both"], "Double-leg bridges only: no left-right comparison."),
        (["both", "right"], "Only the right leg was tested: no left-right comparison."),
        ([], "No bridge was found in the recording."),
    ],
)
def test_bridge_verdict_names_what_was_done(sides: list[str], first: str) -> None:
    lines = bridge_verdict(_bridge_doc(sides))
    assert lines[0] == first
    assert all(line.startswith("1 rep on ") for line in lines[1:])


def test_walk_report_title_cadence_and_angle_source(tmp_path: Path) -> None:
    result = analyse(simulate("walk-normal", seed=1, duration_s=20.0).to_recording(), "walk")
    html_path, _ = write_report(result, tmp_path / "w")
    html = html_path.read_text(encoding="utf-8")
    title = re.search(r"<title>(.*?)</title>", html)
    assert title is not None and "not given" not in title.group(1)
    assert re.fullmatch(r"Walk report — \d{4}-\d\d-\d\d \d\d:\d\d.*", title.group(1))
    assert re.search(r">\d+ steps/min \(both sides\)<", html) and not re.search(
        r"\d\.\d+ steps/min", html
    )
    assert "Angles: recording." not in html
    assert "difference within ±4° (MDC, Youdas et al. 2007, static Trendelenburg test)" in html


def test_walk_report_title_names_the_patient(tmp_path: Path) -> None:
    result = analyse(simulate("walk-normal", seed=1, duration_s=20.0).to_recording(), "walk")
    html_path, _ = write_report(result, tmp_path / "w", {"id": "P-0417"})
    assert "<title>Walk report — P-0417</title>" in html_path.read_text(encoding="utf-8")


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, None])
def test_fmt_never_writes_nan(value: float | None) -> None:
    assert fmt(value, "°") == "—" and fmt(value, "s", sign=True) == "—"


def test_a_full_hold_shorter_than_the_norm_is_not_called_below_it() -> None:
    from hipsense.report.balance import hold_against_norm

    norm = {"mean_hold_s": 27.0, "sd_hold_s": None}
    assert hold_against_norm(8.0, norm, ceiling_s=8.0) == (
        "held the full 8 s asked for (shorter than the reference)"
    )
    assert hold_against_norm(5.0, norm, ceiling_s=8.0) == "below the age group's mean"
    assert hold_against_norm(8.0, norm) == "below the age group's mean"  # no protocol known
    assert hold_against_norm(30.0, norm, ceiling_s=30.0) == "at or above the age group's mean"


def test_an_exercise_report_cites_no_developer_file(tmp_path: Path) -> None:
    rec = simulate("exercise-clamshell", seed=0).to_recording()
    html_path, _ = write_report(analyse(rec, "exercise:clamshell"), tmp_path / "ex")
    html = html_path.read_text(encoding="utf-8")
    assert "hip-deviation failure rule" in html  # the assumption is still named
    assert "shared/" not in html and "CLINICAL.md" not in html


def test_history_prints_no_negative_zero_and_speed_to_the_cm() -> None:
    from hipsense.store.history import Series, history_text

    def series(name: str, unit: str, value: float) -> Series:
        return Series("walk", name, "", "", unit, name, (("2026-12-07", value),), None)

    text = history_text("P1", [series("drop difference", "°", -0.04),
                               series("walking speed", "m/s", 1.252)])  # fmt: skip
    assert "drop difference (°): 2026-12-07 0.0" in text and "-0.0" not in text
    assert "walking speed (m/s): 2026-12-07 1.25" in text


@given(st.floats(60.0, 200.0))
def test_the_history_rounds_cadence_as_the_report_and_summary_do(cadence: float) -> None:
    from hipsense.store.history import figure_text

    shown = fmt(cadence, "steps/min", 0)  # the report's cadence row
    assert f"{figure_text(cadence, 'steps/min')} steps/min" == shown
    assert f"{cadence:.0f} steps/min" == shown  # the summary's "Cadence … steps/min"


@pytest.mark.parametrize("age", [30.0, 65.0])
def test_the_stance_report_never_names_a_none_age_band(age: float) -> None:
    """`report stance --age 30` (no checked reference for that age) said "Against the age None
    reference" and, in the table, "no age norm (pass --age ...)" although --age was given."""
    from hipsense.report.balance import build_page

    result = analyse(simulate("stance-eyes-open", seed=0).to_recording(), "balance", age_years=age)
    page = build_page(result)
    words = "\n".join(page.verdict) + "\n" + "\n".join(str(r) for r in page.rows)
    assert "None" not in words and "pass --age" not in words
    assert "Age reference: " in words
    if age == 30.0:
        assert "no checked reference for age 30 with eyes open" in words
    else:
        assert "60-69" in words  # the band, from the reference found


@given(st.floats(min_value=-0.0499, max_value=0.0499, allow_nan=False))
def test_fmt_never_writes_a_negative_zero(value: float) -> None:
    """The walk report showed a drop difference of "-0.0°" (the history already avoided it)."""
    assert fmt(value, "°", sign=True) == "+0.0°" and fmt(value, "s") == "0.0 s"


def test_a_walk_report_without_walking_says_so_as_the_summary_does() -> None:
    """A recording without walking: the summary said "No walking found ...", the report's
    verdict "not enough steps yet (10 more per side needed)", as if the walk were too short."""
    from hipsense.report.walk import build_page

    result = analyse(simulate("still", seed=0, duration_s=20).to_recording(), "walk")
    assert not result.walking_found
    page = build_page(result)
    assert page.verdict[0] == result.summary_text().splitlines()[0]
    assert page.verdict[0].startswith("No walking found") and "yet" not in page.verdict[0]


def test_a_walk_whose_forward_direction_is_ambiguous_is_cautioned_beside_the_figures() -> None:
    """The summary warned that left and right may be swapped; the report only said so in its
    last note (in the angles' source), below the left/right table a physio reads first."""
    from hipsense.report.walk import build_page

    result = analyse(simulate("walk-normal", seed=0, duration_s=20).to_recording(), "walk")
    for ambiguous in (False, True):
        result.forward_ambiguous = ambiguous
        verdict = " ".join(build_page(result).verdict)
        assert ("left and right may be swapped" in verdict) == ambiguous
        assert ("left and right may be swapped" in result.summary_text()) == ambiguous
        assert "docs/" not in verdict


def _shown(text: str) -> Decimal:
    """The number a figure's text shows (its unit left out)."""
    match = re.fullmatch(r"([+-]?\d+(?:\.\d+)?)\s?\S*", text)
    assert match is not None, text
    return Decimal(match.group(1))


@given(
    a=st.floats(-1000, 1000, allow_nan=False),
    b=st.floats(-1000, 1000, allow_nan=False),
    digits=st.integers(0, 3),
    unit=st.sampled_from(["°", "s", "m", "%"]),
)
def test_a_shown_difference_is_the_difference_of_the_shown_values(
    a: float, b: float, digits: int, unit: str
) -> None:
    """A best hold of 10.04 s against 9.96 s read "10.0 s, 10.0 s, +0.1 s" and a drop of 8.84°
    against 2.15° "8.8°, 2.1°, +6.7°": every page difference is now the difference of what
    the page shows (left, right, then right − left)."""
    shown = fmt_difference(a, b, unit, digits)
    assert _shown(shown) == _shown(fmt(a, unit, digits)) - _shown(fmt(b, unit, digits))
    assert shown.startswith("+" if _shown(shown) >= 0 else "-")  # never "-0.0"


def test_the_balance_table_and_the_history_add_up() -> None:
    """The same rule on a stance report's table and in the history's change over visits."""
    from hipsense.report.balance import build_page
    from hipsense.store.history import Series

    result = analyse(simulate("stance-right-trendelenburg", seed=0).to_recording(), "balance")
    for row in build_page(result).rows:
        if row.difference not in ("", "—") and row.left and row.right:
            diff = _shown(row.left) - _shown(row.right)  # the table's difference: right − left
            assert _shown(row.difference) == -diff, row
    visits = (("2026-11-02", 9.96), ("2026-12-07", 10.04))
    hold = Series("balance", "best hold", "left", "", "s", "best hold", visits, None)
    assert hold.change_text() == "+0.0"  # 10.0 → 10.0 (the unrounded change: +0.08)
    assert "changed +0.0 s since the first visit" in hold.verdict()


def test_every_report_names_its_recording_and_a_foreign_walk_is_titled_by_it(
    tmp_path: Path,
) -> None:
    """`report other.csv --column-map ...` was titled "Walk report — unknown" (no date in
    another tool's file) and no report named the file it came from: the header names the
    recording, and an undated one titles the report."""
    from click.testing import CliRunner
    from hipsense.cli import cli
    from hipsense.recording import write_recording
    from hipsense.recording.schema import RAW_COLUMNS

    rec = simulate("walk-normal", seed=1, duration_s=20.0).to_recording()
    theirs = [f"c{i}" for i in range(len(RAW_COLUMNS))]
    src = tmp_path / "other-tool.csv"
    rec.data[list(RAW_COLUMNS)].set_axis(theirs, axis=1).to_csv(src, index=False)
    cmap = ",".join(f"{o}={t}" for o, t in zip(RAW_COLUMNS, theirs, strict=True))
    args = ["report", str(src), "--test", "walk", "--column-map", cmap, "--rate-hz", "100"]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    html = (tmp_path / "other-tool_report.html").read_text(encoding="utf-8")
    assert "<title>Walk report — other-tool.csv</title>" in html
    assert "<b>Recording:</b> other-tool.csv" in html
    own = tmp_path / "mine.parquet"
    write_recording(simulate("stance-eyes-open", seed=0).to_recording(), own)
    res = CliRunner().invoke(cli, ["report", str(own)])
    assert res.exit_code == 0, res.output
    html = (tmp_path / "mine_report.html").read_text(encoding="utf-8")
    assert "<b>Recording:</b> mine.parquet" in html
    assert re.search(r"<title>Single-leg stance report — \d{4}-\d\d-\d\d", html)


@given(
    st.floats(-0.0499, 0.0499, allow_nan=False),
    st.floats(0.1, 30.0, allow_nan=False),
)
def test_equal_step_times_are_not_called_longer_on_one_side(si: float, half_ci: float) -> None:
    """The live view and the summary said "right steps 0.0 % longer" (a side that is not
    longer); a symmetry index that shows as 0.0 % reads as equal steps, still with its CI."""
    from hipsense.analysis.walk import step_time_words

    words = step_time_words((si, si - half_ci, si + half_ci))
    said = words.split("(")[0]
    assert "longer" not in said and "0.0 %" not in said
    assert words.startswith("steps equally long") and "95 % CI" in words
    assert "right steps 0.1 % longer" in step_time_words((0.06, -1.0, 1.2))


def _close_charts(page: Any) -> None:
    """A page built without writing it keeps its figures open: close them (pyplot warns past
    20 open figures, which the report tests treat as an error)."""
    import matplotlib.pyplot as plt

    for chart in page.charts:
        if chart.figure is not None:
            plt.close(chart.figure)


@pytest.mark.parametrize(
    ("scenario", "seconds"),
    [("walk-right-trendelenburg", 6.0), ("walk-right-trendelenburg", 25.0),
     ("walk-normal", 25.0)],
)  # fmt: skip
def test_the_walk_tables_drop_status_is_the_verdicts_grade(scenario: str, seconds: float) -> None:
    """A 9 s walk's report said "Drop: not enough steps yet" above a table whose drop row said
    "within the MDC": the table graded |difference| > 4° itself. Now the row's status is the
    verdict's grade, and the step-time row does not call a side longer without enough steps."""
    from hipsense.analysis.walk import WalkAnalysis
    from hipsense.report.walk import build_page

    rec = simulate(scenario, seed=3, duration_s=seconds).to_recording()
    result = analyse(rec, "walk")
    assert isinstance(result, WalkAnalysis)
    tiers = result.to_json()["verdict"]["tiers"]
    page = build_page(result)
    _close_charts(page)
    rows = {r.label.split(" (")[0]: r for r in page.rows}
    said = {"not_enough_data": "too few stances to judge", "within_noise": "within measurement "
            "noise", "below_mdc": "within the MDC", "beyond_mdc": "beyond the MDC"}  # fmt: skip
    assert rows["drop of the swing side"].status == said[tiers["drop"]["tier"]]
    if tiers["step_time"]["tier"] == "not_enough_data":
        assert rows["step time"].status == "too few steps to judge"
    assert (seconds < 10) == (tiers["drop"]["tier"] == "not_enough_data")


def test_history_and_progress_name_an_exercise_by_its_title() -> None:
    """`hipsense history` headed the clamshell's figures "exercise:clamshell:" and the progress
    report's rows read "exercise:clamshell: top hip hikes ...": the recording's test key."""
    from hipsense.store.history import Series, history_text, named_test

    assert named_test("exercise:clamshell") == "clamshell (exercise)"
    assert named_test("exercise:single-leg-rdl") == "single-leg Romanian deadlift (exercise)"
    assert named_test("walk") == "walk"
    series = Series("exercise:clamshell", "reps", "left", "", "reps", "reps done",
                    (("2026-12-07", 5.0),), None)  # fmt: skip
    text = history_text("P1", [series])
    assert "\nclamshell (exercise):\n" in text and "exercise:" not in text


def test_the_walk_report_counts_the_uncertain_sides_as_the_summary_does() -> None:
    """The terminal said "side uncertain for 8 of them"; the report, which is what is kept
    and sent, did not say it at all."""
    from hipsense.analysis.walk import WalkAnalysis
    from hipsense.report.walk import build_page

    counts = []
    for seed in (0, 1):  # seed 1 has an uncertain side, seed 0 none
        rec = simulate("walk-right-trendelenburg", seed=seed, duration_s=20.0).to_recording()
        result = analyse(rec, "walk")
        assert isinstance(result, WalkAnalysis)
        n = result.uncertain_sides
        counts.append(n)
        page = build_page(result)
        _close_charts(page)
        page_text = " ".join(page.verdict)
        assert (f"side uncertain for {n} of them" in result.summary_text()) == (n > 0)
        assert (f"the side is uncertain for {n} of them" in page_text) == (n > 0)
        assert ("uncertain" in page_text) == (n > 0)
    assert counts[0] == 0 < counts[1]


def test_the_pdf_tables_difference_header_keeps_r_minus_l_together() -> None:
    """Every PDF's table header read "difference (R −" over "L)": the column wrapped inside
    the "(R − L)". Now it wraps before it."""
    import matplotlib.pyplot as plt
    from hipsense.report.layout import Header, Page, Row, _text_pages

    header = Header("P-1", "2026-12-07", "hipsense-5E4D", "0.1.0", "0.1.0")
    page = Page("Walk report", header, ["v"], [Row("drop", "1°", "2°", "+1°")])
    figures = _text_pages(plt, page)
    texts = [t.get_text() for fig in figures for t in fig.texts]
    for fig in figures:
        plt.close(fig)
    cell = next(t for t in texts if t.startswith("difference"))
    assert cell.split("\n") == ["difference", "(R\u00a0−\u00a0L)"], cell


def test_the_tables_best_hold_of_a_cut_short_trial_reads_at_least(
    stance_cut_short: Recording,
) -> None:
    """The verdict called the stopped trial's hold a lower bound; the table beside it gave the
    bare "8.0 s" as if it were a hold to a touch-down."""
    from hipsense.analysis.balance import BalanceAnalysis
    from hipsense.report.balance import build_page

    result = analyse(stance_cut_short, "balance")
    assert isinstance(result, BalanceAnalysis)
    page = build_page(result)
    _close_charts(page)
    best = next(r for r in page.rows if r.label == "best hold")
    side = result.to_json()["trials"][0]["stance_side"]
    cell = best.right if side == "right" else best.left
    assert re.fullmatch(r"at least \d+\.\d s", cell), cell
    full = analyse(simulate("stance-eyes-open", seed=0).to_recording(), "balance")
    assert isinstance(full, BalanceAnalysis)
    whole = build_page(full)
    _close_charts(whole)
    row = next(r for r in whole.rows if r.label == "best hold")
    assert "at least" not in row.left + row.right


def test_a_finished_short_walk_says_too_few_steps_not_yet() -> None:
    """A finished walk's report said "not enough steps yet", as if the walk were still going."""
    result = analyse(simulate("walk-normal", seed=0, duration_s=8).to_recording(), "walk")
    words = result.summary_text()
    assert "Drop: too few steps to judge (" in words and "Step time: too few steps" in words
    assert " yet" not in words


@pytest.mark.parametrize(("scenario", "test", "labels"), [
    ("walk-normal", "walk", ("cadence", "walking speed")),
    ("bridge-double", "bridge", ("double-leg bridge: lift, hold",)),
])  # fmt: skip
def test_a_figure_of_both_sides_together_is_not_shown_as_a_difference(
    scenario: str, test: str, labels: tuple[str, ...]
) -> None:
    """Cadence, speed and the double-leg bridge sat in the "difference (R − L)" column."""
    from hipsense.report.bridge import build_page as bridge_page
    from hipsense.report.layout import render_html
    from hipsense.report.walk import build_page as walk_page

    result: Any = analyse(simulate(scenario, seed=1, duration_s=20.0).to_recording(), test)
    page = (walk_page if test == "walk" else bridge_page)(result, None)
    html = render_html(page)
    for label in labels:
        row = next((r for r in page.rows if r.label == label), None)
        if row is None and label == "walking speed":
            continue  # no height given: no speed
        assert row is not None, label
        assert row.whole and not row.difference and not row.left and not row.right
        cells = re.search(rf"<tr><td>{re.escape(label)}</td>(.*?)</tr>", html)
        assert cells is not None
        assert cells.group(1).startswith(f"<td colspan='2'>{row.whole} (both sides)</td><td>—</td>")
    _close(page.charts)


def test_the_progress_table_keeps_only_differences_in_the_difference_column() -> None:
    from hipsense.report.progress import _rows  # pyright: ignore[reportPrivateUsage]
    from hipsense.store.history import Series

    def series(name: str, unit: str, value: float, condition: str = "") -> Series:
        return Series("walk", name, "", condition, unit, name, (("2026-12-07", value),), None)

    rows = _rows([series("cadence_steps_per_min", "steps/min", 112.6),
                  series("drop_difference_deg", "°", 2.5)])  # fmt: skip
    cadence, drop = (next(r for r in rows if name in r.label) for name in ("cadence", "drop"))
    assert (cadence.whole, cadence.difference) == ("113", "")
    assert (drop.whole, drop.difference) == ("", "2.5")


def _run(test: str, figures: tuple[tuple[str, str, float, str], ...]) -> Any:
    from hipsense.store.db import Run
    from hipsense.store.figures import Figure

    return Run(1, 1, "P1", "2026-12-07", test, "2026-12-07T10:00:00Z", "r.parquet", None, None,
               {}, None, None, None, None, None, None, None, None,
               tuple(Figure(test, n, side, "", v, u) for n, side, v, u in figures))  # fmt: skip


def test_a_single_visits_progress_charts_do_not_zoom_into_noise() -> None:
    """One visit drew the best hold over 30.00–30.10 s and the sway over 0.470–0.490°."""
    from hipsense.report.progress import MIN_SPAN, _trend_chart  # pyright: ignore[reportPrivateUsage]
    from hipsense.store.history import history

    run = _run("balance", (("hold_s", "left", 30.0, "s"), ("hold_s", "right", 30.0, "s"),
                           ("free_side_drop_deg", "left", 0.48, "°")))  # fmt: skip
    chart = _trend_chart("balance", history([run]))
    assert chart.figure is not None
    spans = {ax.get_ylabel(): ax.get_ylim() for ax in chart.figure.axes if ax.get_ylabel()}
    assert set(spans) == {"s", "°"}
    for unit, (lo, hi) in spans.items():
        assert hi - lo >= MIN_SPAN[unit] - 1e-9, unit
    _close([chart])


def test_the_progress_profile_counts_the_tests_it_shows() -> None:
    from hipsense.report.progress import _profile_chart  # pyright: ignore[reportPrivateUsage]

    walk = _run("walk", (("drop_deg", "left", 5.0, "°"), ("drop_deg", "right", 6.0, "°")))
    bridge = _run("bridge", (("sag_deg", "left", 1.0, "°"), ("sag_deg", "right", 2.0, "°")))
    two, one = _profile_chart([walk, bridge]), _profile_chart([walk])
    _close([two, one])
    assert "two tests" in two.title
    assert "tests" not in one.title


def test_the_step_by_step_chart_breaks_its_line_where_steps_are_not_consecutive() -> None:
    """The line bridged the U-turn and the pause between bouts."""
    from hipsense.detectors.walk.tracker import Step
    from hipsense.report.walk import consecutive_runs

    def step(index: int, bout: int) -> Step:
        return Step(index, bout, "left", index * 0.5, index * 0.5 + 0.5, 0.5, 1.0, 5.0,
                    1.0, 1.0, 1.0, True)  # fmt: skip

    # steps 0, 2, 4 of bout 0; 8 (6 left out: a turn), 10; then 12 of bout 1
    runs = consecutive_runs([step(0, 0), step(2, 0), step(4, 0), step(8, 0), step(10, 0),
                             step(12, 1)])  # fmt: skip
    assert [[s.index for s in r] for r in runs] == [[0, 2, 4], [8, 10], [12]]
    from hipsense.report.walk import build_page

    page = build_page(analyse(simulate("walk-turns", seed=0).to_recording(), "walk"))
    chart = next(c for c in page.charts if "step by step" in c.title)
    _close(page.charts)
    assert chart.figure is not None and len(chart.figure.axes[0].lines) > 2  # broken at turns


def _close(charts: list[Any]) -> None:
    """Close the charts' figures (pyplot keeps them open; over 20 is a warning)."""
    import matplotlib.pyplot as plt

    for c in charts:
        if c.figure is not None:
            plt.close(c.figure)

"""Reports fit for a clinic: each test's report and the progress report as one self-contained
HTML file and a PDF; patient, date and device on them; verdict first; charts that do not
apply say so."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from hipsense.analysis import analyse
from hipsense.report import write_report
from hipsense.report.layout import LEFT_COLOUR, RIGHT_COLOUR
from hipsense.report.progress import write_progress_report
from hipsense.sim.scenarios import simulate
from hipsense.store import open_store
from hipsense.store.history import history

PATIENT = {"id": "PX-17", "year_of_birth": 1957, "height_cm": 168.0, "sex": "male"}


def _external_references(html: str) -> list[str]:
    """src/href/url() targets that are not embedded data or in-page anchors."""
    refs = re.findall(r"""(?:src|href)\s*=\s*["']?([^"'\s>]+)""", html, re.I)
    refs += re.findall(r"url\(\s*['\"]?([^)'\"]+)", html, re.I)
    return [r for r in refs if not r.startswith(("data:", "#"))]


def _pdf_pages(pdf: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page[^s]", pdf))


def _check(html_path: Path, pdf_path: Path, date: str) -> str:
    html = html_path.read_text(encoding="utf-8")
    assert _external_references(html) == []
    assert "<img" in html and "data:image/png;base64," in html
    # the header: patient, date, device, firmware, software
    for text in ("PX-17 (born 1957)", date, "virtual (sim)", "Firmware:</b> sim", "hipsense 0."):
        assert text in html, text
    # the verdict comes before any figure or chart
    assert html.index("<h2>Verdict</h2>") < html.index("<h2>Figures</h2>") < html.index("<img")
    assert "JSON" not in html and "{&quot;" not in html and '{"' not in html
    pdf = pdf_path.read_bytes()
    assert pdf.startswith(b"%PDF")
    subject = re.search(rb"/Subject \(((?:\\.|[^\\)])*)\)", pdf)
    assert subject is not None and b"PX-17" in subject.group(1) and b"virtual" in subject.group(1)
    return html


@pytest.mark.parametrize(
    ("scenario", "words", "charts"),
    [
        ("walk-right-trendelenburg", "weaker right hip abductors", 2),
        ("stance-right-trendelenburg", "weaker hip abductors on the right side", 2),
        ("bridge-single-weak-right", "The right leg is weaker", 2),
    ],
)
def test_each_test_report_as_html_and_pdf(
    tmp_path: Path, scenario: str, words: str, charts: int
) -> None:
    rec = simulate(scenario, seed=0).to_recording()
    rec.meta.start_time = "2026-11-23T09:30:00"  # local time: the same in any zone
    html_path, pdf_path = write_report(analyse(rec), tmp_path / "r", PATIENT)
    assert (html_path.name, pdf_path.name) == ("r.html", "r.pdf")
    html = _check(html_path, pdf_path, "2026-11-23 09:30")
    assert words in html
    assert html.count("<img") == charts
    # first page (verdict and figures) plus one page per chart, each stamped with the header
    assert _pdf_pages(pdf_path.read_bytes()) == 1 + charts


def test_gait_lab_colours_left_red_right_green(tmp_path: Path) -> None:
    rec = simulate("bridge-single-weak-left", seed=0).to_recording()
    html_path, _ = write_report(analyse(rec), tmp_path / "b")
    assert f"color:{LEFT_COLOUR}" in html_path.read_text() and LEFT_COLOUR == "#d62728"
    assert RIGHT_COLOUR == "#2ca02c"


def test_a_chart_that_does_not_apply_says_so(tmp_path: Path) -> None:
    rec = simulate("bridge-double", seed=0).to_recording()
    html_path, pdf_path = write_report(analyse(rec), tmp_path / "d", PATIENT)
    html = html_path.read_text()
    assert "Not applicable: the single-leg bridge was not done on both legs" in html
    assert "Double-leg bridges only: no left-right comparison." in html
    assert _pdf_pages(pdf_path.read_bytes()) == 3  # the chart keeps its page, with the words


def test_every_pdf_page_names_patient_date_and_device(tmp_path: Path) -> None:
    """Read back with poppler's pdftotext (skipped where poppler-utils is not installed)."""
    pdftotext = shutil.which("pdftotext")
    if pdftotext is None:
        pytest.skip("pdftotext (poppler-utils) not installed")
    rec = simulate("bridge-double", seed=0).to_recording()
    rec.meta.start_time = "2026-11-23T09:30:00"  # local time: the same in any zone
    _, pdf_path = write_report(analyse(rec), tmp_path / "d", PATIENT)
    text = subprocess.run([pdftotext, "-layout", str(pdf_path), "-"], capture_output=True,
                          text=True, check=True).stdout  # fmt: skip
    pages = text.split("\f")[:-1]
    assert len(pages) == 3
    for page in pages:
        assert "PX-17" in page and "2026-11-23 09:30" in page and "Device: virtual" in page
        assert "Firmware: sim" in page and "Software: hipsense" in page
    assert "Not applicable: the single-leg bridge was not done on both legs" in pages[2]


def test_progress_report(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    with open_store(path) as store:
        store.add_patient("PX-17", year_of_birth=1957)
        for k, (day, drop) in enumerate((("2026-11-02", 12.0), ("2026-11-23", 4.0))):
            rec = simulate("walk-normal", seed=k, duration_s=20,
                           drop_in_right_stance_deg=drop).to_recording()  # fmt: skip
            rec.meta.start_time = f"{day}T10:00:00"
            store.file_run("PX-17", "walk", tmp_path / f"w{k}.parquet", rec.meta,
                           analyse(rec).to_json())  # fmt: skip
        patient, runs, sessions = (
            store.patient("PX-17"),
            store.runs("PX-17"),
            store.sessions("PX-17"),
        )
    html_path, pdf_path = write_progress_report(
        patient, sessions, runs, history(runs), tmp_path / "progress.html"
    )
    assert html_path.name == "progress.html" and pdf_path.name == "progress.pdf"
    html = html_path.read_text()
    assert _external_references(html) == []
    assert "PX-17 (born 1957)" in html and "2026-11-02 to 2026-11-23" in html
    assert "virtual" in html
    verdict = html[html.index("<h2>Verdict</h2>") : html.index("<h2>Figures</h2>")]
    assert "beyond the MDC of 4°" in verdict and "Youdas" in verdict
    # walk trend plotted; stance and bridge never done: said, not drawn
    assert "Not applicable: no balance test was done" in html
    assert "Not applicable: no bridge test was done" in html
    assert html.count("<img") == 2  # walk trends and the left/right profile
    assert _pdf_pages(pdf_path.read_bytes()) == 1 + 4


@pytest.mark.parametrize(
    ("scenario", "options"),
    [("still", {"test": "walk"}), ("walk-left-step-time", {}), ("bridge-double", {})],
)
def test_reports_write_without_warnings(tmp_path: Path, scenario: str, options: dict) -> None:
    """No matplotlib (or other) warning reaches the user's terminal, also when a chart has
    nothing to draw (a still recording analysed as a walk: no steps, no strides)."""
    import warnings

    rec = simulate(scenario, seed=0, duration_s=10).to_recording()
    result = analyse(rec, options.get("test"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        html_path, _ = write_report(result, tmp_path / "r")
    if scenario == "still":
        assert html_path.read_text().count("Not applicable:") == 2


def test_report_command_names_the_patient_from_the_store(tmp_path: Path) -> None:
    from click.testing import CliRunner
    from hipsense.cli import cli
    from hipsense.recording import write_recording

    store = ["--store", str(tmp_path / "s.sqlite")]
    path = write_recording(simulate("stance-eyes-open", seed=0).to_recording(), tmp_path / "x.csv")
    runner = CliRunner()
    assert runner.invoke(cli, ["patients", "add", "Q1", "--year-of-birth", "1949", *store])
    res = runner.invoke(cli, ["report", str(path), "--patient", "Q1", *store])
    assert res.exit_code == 0, res.output
    html = (tmp_path / "x_report.html").read_text()
    assert "Q1 (born 1949)" in html and (tmp_path / "x_report.pdf").is_file()
    res = runner.invoke(cli, ["report", str(path), "--patient", "nobody", *store])
    assert (
        res.exit_code == 1
        and "hipsense: " in res.output
        and "patients add nobody" not in res.output
    )
    assert "'nobody' cannot be one: patient ids are pseudonymous codes" in res.output


def test_exercise_figures_over_time_are_named_as_the_exercise_report_names_them(
    tmp_path: Path,
) -> None:
    """`hipsense history` and the progress report said "hike mean", "roll back mean" and
    "reps ()" with "3.0" reps: the store's internal keys. Now the fault's own words (as the
    exercise report shows them), counts whole, no empty unit; speed to the cm/s in both."""
    from hipsense.conventions.exercises import SPECS
    from hipsense.store.history import history_text

    path = tmp_path / "s.sqlite"
    with open_store(path) as store:
        store.add_patient("PX-18")
        for k, day in enumerate(("2026-11-02", "2026-11-23")):
            rec = simulate("exercise-clamshell-hike-right", seed=k).to_recording()
            rec.meta.start_time = f"{day}T10:00:00"
            store.file_run("PX-18", rec.meta.test or "", tmp_path / f"e{k}.parquet", rec.meta,
                           analyse(rec).to_json())  # fmt: skip
        patient, runs, sessions = (
            store.patient("PX-18"),
            store.runs("PX-18"),
            store.sessions("PX-18"),
        )
    series = history(runs)
    text = history_text("PX-18", series)
    html = write_progress_report(patient, sessions, runs, series, tmp_path / "p.html")[0]
    table = html.read_text()
    for shown in (text, table):
        assert "hike mean" not in shown and "roll back mean" not in shown
        assert "()" not in shown
        for fault in SPECS["clamshell"].faults:
            assert f"{fault.label}: mean peak per rep" in shown
    assert re.search(r"reps \(or holds\) done on this side, right \(reps\): 2026-11-02 \d+  "
                     r"2026-11-23 \d+\n", text)  # fmt: skip
    assert re.search(r"<td>\d+ → \d+</td>", table)


@pytest.mark.parametrize("height_cm", [None, 175.0])
def test_the_walk_report_shows_step_length_as_the_summary_does(height_cm: float | None) -> None:
    """With the height the summary gave step length per side but the report's table did not;
    the summary also said "side uncertain for 0 of them"."""
    from hipsense.report.walk import build_page

    rec = simulate("walk-normal", seed=3, duration_s=20).to_recording()
    options = {} if height_cm is None else {"height_cm": height_cm}
    result = analyse(rec, "walk", **options)
    rows = {r.label: r for r in build_page(result).rows}
    summary = result.summary_text()
    assert "side uncertain for 0 " not in summary
    if height_cm is None:
        assert "step length" not in rows
        return
    length = {s: result.tracker.pace_["step_length_m"][s].mean for s in ("left", "right")}
    row = rows["step length"]
    assert (row.left, row.right) == (f"{length['left']:.2f} m", f"{length['right']:.2f} m")
    for side in ("left", "right"):
        assert f"{side} {length[side]:.2f} ± " in summary

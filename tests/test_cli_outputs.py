"""Output files of ``analyze --out``, ``report``, ``export``, ``history --report`` and
``sim source`` are never replaced silently: an existing one is refused before any work, with
the same message and ``--overwrite`` flag as the recording commands; ``--overwrite`` replaces it."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from hipsense.cli import cli
from hipsense.recording import write_recording
from hipsense.sim.scenarios import simulate

OLD = "an earlier result the user kept\n"


@pytest.fixture(scope="module")
def walk_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rec = simulate("walk-normal", seed=1, duration_s=12.0).to_recording()
    return write_recording(rec, tmp_path_factory.mktemp("rec") / "w.csv")


def _refused(res: Result, path: Path) -> None:
    assert res.exit_code == 1, res.output
    assert f"hipsense: {path} exists" in res.output and "--overwrite" in res.output
    assert path.read_text() == OLD  # untouched


def test_analyze_out_is_refused_then_replaced_with_overwrite(walk_csv: Path, tmp_path: Path):
    out = tmp_path / "result.txt"
    out.write_text(OLD)
    runner = CliRunner()
    _refused(runner.invoke(cli, ["analyze", str(walk_csv), "--out", str(out)]), out)
    res = runner.invoke(cli, ["analyze", str(walk_csv), "--out", str(out), "--overwrite"])
    assert res.exit_code == 0, res.output
    assert out.read_text().startswith("Walk:")


@pytest.mark.parametrize("existing", [".html", ".pdf"])
def test_report_refuses_either_existing_file(walk_csv: Path, tmp_path: Path, existing: str):
    base = tmp_path / "rep"
    kept = tmp_path / f"rep{existing}"
    kept.write_text(OLD)
    runner = CliRunner()
    _refused(runner.invoke(cli, ["report", str(walk_csv), "--out", str(base)]), kept)
    other = ".pdf" if existing == ".html" else ".html"
    assert not (tmp_path / f"rep{other}").exists()  # refused before anything was written
    res = runner.invoke(cli, ["report", str(walk_csv), "--out", str(base), "--overwrite"])
    assert res.exit_code == 0, res.output
    assert kept.read_bytes() != OLD.encode() and (tmp_path / f"rep{other}").is_file()


def test_report_default_name_is_refused_on_a_second_run(tmp_path: Path):
    rec = simulate("walk-normal", seed=3, duration_s=12.0).to_recording()
    path = write_recording(rec, tmp_path / "v.csv")
    runner = CliRunner()
    assert runner.invoke(cli, ["report", str(path)]).exit_code == 0
    html = tmp_path / "v_report.html"
    html.write_text(OLD)
    _refused(runner.invoke(cli, ["report", str(path)]), html)


def test_export_refuses_an_existing_table(tmp_path: Path):
    store = ["--store", str(tmp_path / "s.sqlite")]
    runner = CliRunner()
    assert runner.invoke(cli, ["patients", "add", "P1", *store]).exit_code == 0
    out = tmp_path / "all.csv"
    out.write_text(OLD)
    _refused(runner.invoke(cli, ["export", "--out", str(out), *store]), out)
    res = runner.invoke(cli, ["export", "--out", str(out), "--overwrite", *store])
    assert res.exit_code == 0, res.output
    assert out.read_text() != OLD and out.read_text().split(",")[0] != OLD


def test_history_report_refuses_an_existing_progress_report(tmp_path: Path):
    store = ["--store", str(tmp_path / "s.sqlite")]
    runner = CliRunner()
    assert runner.invoke(cli, ["patients", "add", "P1", *store]).exit_code == 0
    kept = tmp_path / "progress.pdf"
    kept.write_text(OLD)
    res = runner.invoke(cli, ["history", "P1", "--report", str(tmp_path / "progress"), *store])
    assert res.exit_code == 1 and "--report" in res.output
    _refused(res, kept)


def test_sim_source_refuses_an_existing_file(tmp_path: Path):
    src = tmp_path / "s.bin"
    src.write_text(OLD)
    runner = CliRunner()
    args = ["sim", "source", "still", "--out", str(src), "--duration-s", "2"]
    _refused(runner.invoke(cli, args), src)
    res = runner.invoke(cli, [*args, "--overwrite"])
    assert res.exit_code == 0, res.output
    assert src.read_bytes() != OLD.encode()


@pytest.mark.parametrize(("name", "fmt"), [("s.parquet", "csv"), ("s.csv", "parquet")])
def test_a_format_that_contradicts_the_out_name_is_refused_before_streaming(
    tmp_path: Path, name: str, fmt: str
) -> None:
    """`stream --format csv --out s.parquet` wrote CSV text into s.parquet, which `analyze`
    then refused as "not a Parquet file": hipsense could not read back its own recording."""
    out = tmp_path / name
    res = CliRunner().invoke(
        cli, ["stream", "--virtual", "--seconds", "1", "--format", fmt, "--out", str(out)]
    )
    assert res.exit_code == 1, res.output
    assert f"a .{out.suffix[1:]} name for a {fmt} recording" in res.output
    assert str(out.with_suffix("." + fmt)) in res.output
    assert list(tmp_path.iterdir()) == []

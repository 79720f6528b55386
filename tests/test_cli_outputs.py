"""Output files of ``analyze --out``, ``report``, ``export``, ``history --report`` and
``sim source`` are never replaced silently: an existing one is refused before any work, with
the same message and ``--overwrite`` flag as the recording commands; ``--overwrite`` replaces it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from hipsense.cli import cli
from hipsense.recording import write_recording
from hipsense.sim.scenarios import simulate
from hypothesis import given, settings
from hypothesis import strategies as st

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


NAME = "Hüftsensor-Zoë°"  # non-ASCII in a recording's device name
PATIENT = "Hüftsensor-Zoë-7"  # and in a patient id (a pseudonymous code: a digit, no "°")


def _no_escapes(raw: bytes, expected: str = NAME) -> dict:
    text = raw.decode("utf-8")
    assert expected in text and "\\u00" not in text, text[:400]
    return json.loads(text)


def test_every_json_output_is_utf8_readable(tmp_path: Path, capsysbinary) -> None:
    """``--json`` writes "ü", "ë", "°" as themselves (UTF-8), not as \\u escapes: `analyze`
    (the streamed document), the test commands' end (:func:`finish`), `patients show` and
    `history` all go through one helper."""
    from hipsense.cli.outcome import finish
    from rich.console import Console

    rec = simulate("walk-normal", seed=1, duration_s=12.0).to_recording()
    rec.meta.device_name = NAME
    path = write_recording(rec, tmp_path / "w.csv")
    runner = CliRunner()
    res = runner.invoke(cli, ["analyze", str(path), "--json"])
    assert res.exit_code == 0, res.output
    assert _no_escapes(res.stdout_bytes)["recording"]["device_name"] == NAME

    finish(Console(stderr=True), "walk", path, patient_id=None, store_path=None,
           report=False, as_json=True)  # fmt: skip
    assert _no_escapes(capsysbinary.readouterr().out)["recording"]["device_name"] == NAME

    store = ["--store", str(tmp_path / "s.sqlite")]
    add = ["patients", "add", PATIENT, "--notes", "Hüfte", *store]
    assert runner.invoke(cli, add).exit_code == 0
    res = runner.invoke(cli, ["patients", "show", PATIENT, "--json", *store])
    assert _no_escapes(res.stdout_bytes, PATIENT)["patient"]["notes"] == "Hüfte"
    res = runner.invoke(cli, ["history", PATIENT, "--json", *store])
    assert _no_escapes(res.stdout_bytes, PATIENT)["patient"] == PATIENT


@settings(max_examples=60, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.floats() | st.text(),
        lambda inner: (
            st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
        ),
        max_leaves=12,
    ),
    st.text(),
)
def test_streamed_and_whole_json_are_the_same_document(value: object, key: str) -> None:
    """The streamed form (`analyze`) and the whole one (every other --json) are one encoding:
    the same document, non-finite floats as null, no character escaped that needs none."""
    from hipsense.analysis.base import json_chunks, json_safe, json_text

    doc = {key: value, "rows": [{"k": value}, {key: 1.5}]}
    streamed, whole = "".join(json_chunks(doc)), json_text(doc)
    assert json.loads(streamed) == json.loads(whole) == json_safe(doc)
    for text in (streamed, whole):
        assert all(c in text for c in key if c.isprintable() and c not in '"\\')


@pytest.mark.parametrize("how", ["KeyboardInterrupt", "ImportError"])
def test_ctrl_c_while_a_recording_command_loads_says_nothing_was_recorded(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], how: str
) -> None:
    """Ctrl-C in the first seconds of `hipsense walk` (loading, before connecting) printed only
    "hipsense: aborted"; a Ctrl-C inside a compiled module's import (scipy's) is an ImportError
    caused by it, which printed a traceback."""
    import importlib

    import hipsense.cli as cli_module
    from hipsense.cli import main

    real = importlib.import_module

    def interrupted(name: str, package: str | None = None) -> object:
        if name != "hipsense.cli.walk":
            return real(name, package)
        if how == "KeyboardInterrupt":
            raise KeyboardInterrupt
        raise ImportError("initialization failed") from KeyboardInterrupt()

    monkeypatch.setattr(cli_module.importlib, "import_module", interrupted)
    with pytest.raises(SystemExit) as ended:
        main(["walk", "--virtual"])
    assert ended.value.code == 130
    assert capsys.readouterr().err == (
        "hipsense: interrupted (Ctrl-C) while `hipsense walk` was starting; nothing was recorded\n"
    )


def test_ctrl_c_inside_an_import_of_another_command_ends_as_an_ordinary_ctrl_c(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Ctrl-C while `hipsense report` imported matplotlib (its compiled ft2font) is an
    ImportError caused by the KeyboardInterrupt: it printed a traceback, then Python aborted
    ("Fatal Python error", status 134). Now it ends as any Ctrl-C there: "aborted", 130."""
    import hipsense.report
    from hipsense.cli import main
    from hipsense.sim.scenarios import simulate

    rec = tmp_path / "w.parquet"
    write_recording(simulate("walk-normal", seed=0, duration_s=12.0).to_recording(), rec)

    def interrupted(*_args: object, **_kwargs: object) -> object:
        raise ImportError("initialization failed") from KeyboardInterrupt()

    monkeypatch.setattr(hipsense.report, "write_report", interrupted)
    with pytest.raises(SystemExit) as ended:
        main(["report", str(rec)])
    assert ended.value.code == 130
    err = capsys.readouterr().err
    assert err.endswith("hipsense: aborted\n") and "Traceback" not in err
    assert not list(tmp_path.glob("w_report*"))


@pytest.mark.parametrize("left", ["nothing", "partial"])
def test_ctrl_c_before_the_stream_listens_says_what_was_recorded(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path,
    left: str,
) -> None:  # fmt: skip
    """A Ctrl-C between the command's start and the stream's own handling (or after it, in the
    analysis) is said as one while connecting is: what was recorded, and where."""
    from hipsense.cli import main
    from hipsense.recording.files import PARTIAL_SUFFIX

    out = tmp_path / "w.parquet"
    partial = out.with_name(out.name + PARTIAL_SUFFIX)

    def ctrl_c(coro: object) -> None:
        coro.close()  # type: ignore[attr-defined]
        if left == "partial":
            partial.write_bytes(b"samples")
        raise KeyboardInterrupt

    monkeypatch.setattr("asyncio.run", ctrl_c)  # before the stream installs its handler
    with pytest.raises(SystemExit) as ended:
        main(["walk", "--virtual", "--out", str(out)])
    assert ended.value.code == 130
    said = {
        "nothing": "hipsense: interrupted (Ctrl-C); nothing was recorded\n",
        "partial": f"hipsense: interrupted (Ctrl-C); the samples so far are in {partial} "
        f"(`hipsense recover {partial}`)\n",
    }[left]
    assert capsys.readouterr().err.endswith(said)

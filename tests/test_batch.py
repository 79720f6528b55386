"""``hipsense batch``: many recordings into one results table, errors as rows, resumable, the
same results on local processes and on a Dask cluster."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from hipsense.analysis import analyse
from hipsense.cli import main
from hipsense.orchestrate.batch import (
    BatchError,
    BatchInterrupted,
    _combine,
    _flat,
    _write_part,
    analyse_file,
    run_batch,
)
from hipsense.recording import read_recording, write_recording
from hipsense.sim.scenarios import simulate


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cohort")
    for seed, (scenario, suffix) in enumerate(
        [
            ("walk-normal", ".parquet"),
            ("walk-right-trendelenburg", ".csv"),
            ("walk-normal", ".parquet"),
        ]
    ):
        rec = simulate(scenario, seed=seed, duration_s=30.0).to_recording()
        (root / "site").mkdir(exist_ok=True)
        write_recording(rec, root / "site" / f"p{seed}{suffix}")
    (root / "site" / "broken.parquet").write_bytes(b"PAR1 not really parquet")
    return root


def copy_folder(src: Path, dst: Path) -> Path:
    (dst / "site").mkdir(parents=True)
    for f in (src / "site").iterdir():
        (dst / "site" / f.name).write_bytes(f.read_bytes())
    return dst


def test_batch_reports_a_corrupt_file_and_finishes_the_rest(folder: Path, tmp_path: Path) -> None:
    data = copy_folder(folder, tmp_path / "in")
    out = tmp_path / "results.parquet"
    summary = run_batch(str(data), out, workers=2)
    assert (summary.found, summary.analysed, summary.skipped, summary.failed) == (4, 4, 0, 1)
    res = pd.read_parquet(out)
    bad = pd.DataFrame(res[res["recording"].str.endswith("broken.parquet")])
    assert len(bad) == 1 and bad["status"].iloc[0] == "error"
    assert "RecordingError" in bad["error"].iloc[0] and "Parquet" in bad["error"].iloc[0]
    ok = res[res["status"] == "ok"]
    assert len(ok) == 6 and set(ok["side"]) == {"left", "right"}
    for path in sorted((data / "site").glob("p*")):
        doc = analyse(read_recording(path)).to_json()
        rows = pd.DataFrame(ok[ok["recording"] == str(path.resolve())]).set_index("side")
        for side in ("left", "right"):
            assert rows.loc[side, "contacts"] == doc["per_side"][side]["contacts"]
            assert rows.loc[side, "verdict.status"] == doc["verdict"]["status"]
    assert not (tmp_path / "results.parquet.parts").exists()


def test_rerun_skips_done_recordings_and_redoes_changed_ones(folder: Path, tmp_path: Path) -> None:
    data = copy_folder(folder, tmp_path / "in")
    out = tmp_path / "results.parquet"
    first = run_batch(str(data / "site" / "p*"), out, workers=1)
    assert (first.analysed, first.skipped) == (3, 0)
    before = pd.read_parquet(out)
    again = run_batch(str(data / "site" / "p*"), out, workers=1)
    assert (again.analysed, again.skipped) == (0, 3)
    pd.testing.assert_frame_equal(pd.read_parquet(out), before)
    changed = data / "site" / "p1.csv"
    os.utime(changed, ns=(changed.stat().st_atime_ns, changed.stat().st_mtime_ns + 10**9))
    third = run_batch(str(data / "site" / "p*"), out, workers=1)
    assert (third.analysed, third.skipped) == (1, 2)
    after = pd.read_parquet(out)
    assert len(after) == len(before)  # the changed recording's old rows were replaced
    assert set(after.loc[after["recording"] == str(changed.resolve()), "mtime_ns"]) == {
        changed.stat().st_mtime_ns
    }


def test_a_stopped_batch_keeps_its_finished_recordings(folder: Path, tmp_path: Path) -> None:
    """Ctrl-C after the first recording: the queued ones are dropped, the finished one is in
    the results table (as at a normal end), the error says so, and the rerun analyses only
    the others."""
    data = copy_folder(folder, tmp_path / "in")
    out = tmp_path / "results.parquet"

    def ctrl_c(done: int, total: int, path: Path) -> None:
        raise KeyboardInterrupt

    with pytest.raises(BatchInterrupted) as stopped:
        run_batch(str(data / "site" / "p*"), out, workers=1, progress=ctrl_c)
    assert (stopped.value.finished, stopped.value.todo, stopped.value.exit_status) == (1, 3, 130)
    assert f"after 1 of 3 recordings: their results are in {out}" in str(stopped.value)
    assert "2 recordings were not analysed: run the same command again" in str(stopped.value)
    assert pd.read_parquet(out)["recording"].nunique() == 1
    assert not (tmp_path / "results.parquet.parts").exists()
    summary = run_batch(str(data / "site" / "p*"), out, workers=1)
    assert (summary.analysed, summary.skipped) == (2, 1)
    assert pd.read_parquet(out)["recording"].nunique() == 3
    assert not (tmp_path / "results.parquet.parts").exists()


def test_ctrl_c_in_the_batch_command_says_what_was_kept_and_exits_130(tmp_path: Path) -> None:
    """A user's Ctrl-C (SIGINT to the whole process group, workers included) after the first
    recording finished: exit status 130 as every command, the message says how many finished,
    where their results are and how to go on, and the table holds exactly those."""
    rec = simulate("walk-normal", seed=0, duration_s=20.0).to_recording()
    (tmp_path / "in").mkdir()
    first = write_recording(rec, tmp_path / "in" / "p00.parquet")
    for k in range(1, 8):
        (tmp_path / "in" / f"p{k:02d}.parquet").write_bytes(first.read_bytes())
    out = tmp_path / "r.parquet"
    proc = subprocess.Popen(
        [str(Path(sys.executable).with_name("hipsense")), "batch", str(tmp_path / "in"),
         "--out", str(out), "--workers", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    assert proc.stderr is not None and proc.stdout is not None
    err = []
    for line in proc.stderr:
        err.append(line)
        if line.startswith("[1/8]"):
            os.killpg(proc.pid, signal.SIGINT)
    assert proc.wait(timeout=120) == 130, "".join(err)
    message = err[-1]
    assert message.startswith("hipsense: interrupted (Ctrl-C) after ") and not proc.stdout.read()
    finished = int(message.split(" after ")[1].split(" of ")[0])
    assert 1 <= finished < 8 and f"their results are in {out}" in message, message
    assert "nothing finished is lost" in message and "run the same command again" in message
    assert pd.read_parquet(out)["recording"].nunique() == finished


def test_local_dask_cluster_gives_the_process_results(folder: Path, tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    data = copy_folder(folder, tmp_path / "in")
    local = run_batch(str(data), tmp_path / "local.parquet", workers=2)
    with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:  # fmt: skip
        dask = run_batch(str(data), tmp_path / "dask.parquet", scheduler=client)
    assert (dask.analysed, dask.failed) == (local.analysed, local.failed)
    pd.testing.assert_frame_equal(
        pd.read_parquet(tmp_path / "dask.parquet"), pd.read_parquet(tmp_path / "local.parquet")
    )


def test_batch_cli_says_what_failed_and_exits_cleanly(folder: Path, tmp_path: Path, capsys) -> None:
    data = copy_folder(folder, tmp_path / "in")
    main(["batch", str(data), "--out", str(tmp_path / "r.parquet"), "--workers", "2"])
    captured = capsys.readouterr()
    assert (
        "4 recordings: 3 analysed, 1 failed (an error row), 0 already in the results"
        in captured.out  # "4 analysed, 1 failed" read as five
    )
    assert "[4/4]" in captured.err
    with pytest.raises(BatchError, match="no recordings"):
        run_batch(str(tmp_path / "nothing-*.csv"), tmp_path / "x.parquet")


def test_the_table_does_not_depend_on_which_recording_finished_first(tmp_path: Path) -> None:
    """Parts follow the workers' completion order; a figure that is null in one recording's
    row and a nested document in another's must still give one table."""
    ok = {"size_bytes": 1, "mtime_ns": 2, "test": "walk", "status": "ok", "error": None}
    rows = [
        {"recording": "/a.parquet", **ok, "side": "left", "verdict.text": "x", "first": None},
        {"recording": "/b.parquet", **ok, "side": "left", "first.t_s": 3.0, "verdict.text": "y"},
        {"recording": "/c.parquet", "size_bytes": 5, "mtime_ns": 6, "test": "walk",
         "status": "error", "error": "InputError: bad"},
    ]  # fmt: skip
    tables = []
    for order in ([0, 1, 2], [2, 1, 0], [1, 2, 0]):
        out = tmp_path / f"{order}.parquet"
        parts = tmp_path / f"{order}.parts"
        _write_part(parts, [rows[i] for i in order])  # a part holds rows as they finished
        _combine(out, parts)
        tables.append(pd.read_parquet(out))
    for table in tables[1:]:
        pd.testing.assert_frame_equal(table, tables[0])
    assert list(tables[0].columns[:7]) == [  # rows without the options of a newer batch
        "recording", "size_bytes", "mtime_ns", "test", "status", "error", "side"
    ]  # fmt: skip


@pytest.mark.parametrize("name", ["p0.parquet", "p1.csv"])
def test_a_row_holds_every_scalar_of_the_whole_document(folder: Path, name: str) -> None:
    """A walk's rows come from its lazy document (contacts and steps never built): they hold
    exactly the scalars of the whole document, its lists left out."""
    path = folder / "site" / name
    rows = analyse_file(str(path), ("key", 1, 2, "{}"), None, {})
    doc = analyse(read_recording(path)).to_json()
    common = {k: v for k, v in _flat(doc) if not k.startswith("per_side.")}
    assert {"contacts", "steps"} <= {k for k, v in doc.items() if isinstance(v, list)}
    assert [r["side"] for r in rows] == list(doc["per_side"])
    for row in rows:
        side = row["side"]
        expected = {
            "recording": "key", "size_bytes": 1, "mtime_ns": 2, "options": "{}", "test": "walk",
            "status": "ok",
            "error": None, "side": side, **common, **dict(_flat(doc["per_side"][side])),
        }  # fmt: skip
        assert json.dumps(row, sort_keys=True) == json.dumps(expected, sort_keys=True)


def test_forked_workers_inherit_the_analysis_imported_once() -> None:
    """Before the pool forks its workers the main process imports what the analysis loads
    (so each worker does not import it again); with nothing to analyse it imports nothing.
    The start method is set to fork (Linux's default before Python 3.14) in the child."""
    code = (
        "import multiprocessing, sys\n"
        "multiprocessing.set_start_method('fork')\n"
        "from hipsense.orchestrate.batch import _NOTHING, _local_context\n"
        "watched = ('scipy.signal', 'hipsense.analysis.walk', 'hipsense.analysis.balance')\n"
        "_local_context(_NOTHING)\n"
        "print([m in sys.modules for m in watched])\n"
        "_local_context('walk')\n"
        "print([m in sys.modules for m in watched])\n"
    )
    host = Path(__file__).resolve().parents[1] / "host"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True,
        env={**os.environ, "PYTHONPATH": str(host)},
    ).stdout.split("\n")  # fmt: skip
    assert out[:2] == ["[False, False, False]", "[True, True, False]"]


@pytest.mark.parametrize(
    ("option", "said"),
    [(["--test", "wlak"], "'wlak' is not one of"), (["--axes", "z,z,x"], "right-handed frame")],
)
def test_a_mistyped_test_or_axes_is_refused_before_any_recording_is_read(
    folder: Path, tmp_path: Path, option: list[str], said: str
) -> None:
    """`batch --test wlak` analysed every recording into the same error row (and a rerun
    with the right --test then skipped them all as done); refused as `analyze` refuses it."""
    from click.testing import CliRunner
    from hipsense.cli import cli

    out = tmp_path / "r.parquet"
    result = CliRunner().invoke(cli, ["batch", str(folder), "--out", str(out), *option])
    assert result.exit_code == 2 and said in result.output
    assert not out.exists() and not list(tmp_path.glob("r.parquet*"))


def test_a_rerun_with_other_options_analyses_again(folder: Path, tmp_path: Path) -> None:
    """The key was path, size and modification time only: a rerun with other --axes kept the
    old rows. The options are part of the key: a changed option analyses every recording
    again and its rows replace the old ones; the same options again skip them."""
    data = copy_folder(folder, tmp_path / "in")
    out = tmp_path / "results.parquet"
    pattern = str(data / "site" / "p*")
    run_batch(pattern, out, workers=1)
    axes = {"axes": "-y,x,z"}  # the sensor turned a quarter turn: other figures
    again = run_batch(pattern, out, test="walk", options=axes, workers=1)
    assert (again.analysed, again.skipped) == (3, 0)
    res = pd.read_parquet(out)
    assert len(res) == 6 and set(res["options"]) == {'{"axes": "-y,x,z", "test": "walk"}'}
    path = data / "site" / "p0.parquet"
    doc = analyse(read_recording(path), "walk", **axes).to_json()
    rows = pd.DataFrame(res[res["recording"] == str(path.resolve())]).set_index("side")
    assert rows.loc["left", "verdict.status"] == doc["verdict"]["status"]
    assert rows.loc["left", "contacts"] == doc["per_side"]["left"]["contacts"]
    same = run_batch(pattern, out, test="walk", options=axes, workers=1)
    assert (same.analysed, same.skipped) == (0, 3)


def test_batch_reads_another_tools_csv_as_analyze_does(tmp_path: Path) -> None:
    """`batch` had no --column-map / --rate-hz: another tool's CSV was an error row. It takes
    analyze's import options, through the same reader; a map missing a column is refused
    before any file is read, as --rate-hz without a map is."""
    from click.testing import CliRunner
    from hipsense.cli import cli
    from hipsense.recording.schema import RAW_COLUMNS

    rec = simulate("walk-right-trendelenburg", seed=3, duration_s=30.0).to_recording()
    theirs = [f"c{i}" for i in range(len(RAW_COLUMNS))]
    frame = rec.data[list(RAW_COLUMNS)].set_axis(theirs, axis=1)
    (tmp_path / "in").mkdir()
    src = tmp_path / "in" / "other.csv"
    frame.to_csv(src, index=False)
    cmap = ",".join(f"{o}={t}" for o, t in zip(RAW_COLUMNS, theirs, strict=True))
    out = tmp_path / "r.parquet"
    args = ["batch", str(tmp_path / "in"), "--out", str(out), "--workers", "1", "--test", "walk"]
    res = CliRunner().invoke(cli, [*args, "--column-map", cmap, "--rate-hz", str(rec.meta.rate_hz)])
    assert res.exit_code == 0, res.output
    table = pd.read_parquet(out)
    assert set(table["status"]) == {"ok"}, table["error"].tolist()
    doc = analyse(rec, "walk").to_json()
    left = table.set_index("side").loc["left"]
    assert left["contacts"] == doc["per_side"]["left"]["contacts"]
    assert left["verdict.status"] == doc["verdict"]["status"]
    out.unlink()
    refused = CliRunner().invoke(cli, [*args, "--column-map", cmap.split(",", 1)[1]])
    assert refused.exit_code == 1
    assert "must name the file's columns for acc_x_mps2" in refused.output
    refused = CliRunner().invoke(cli, [*args, "--rate-hz", "100"])
    assert refused.exit_code == 2 and "--rate-hz applies only" in refused.output
    assert not out.exists()

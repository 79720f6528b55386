"""The three guided tests with ``--patient`` on the virtual board: runs filed in a real SQLite
store, the same report naming, ``--json`` alone on stdout; a test killed mid-stream leaves the
store as it was; a ``stream`` recording analyses with a hint."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from hipsense.cli import cli
from hipsense.recording import write_recording
from hipsense.sim.scenarios import simulate
from hipsense.store import open_store

HIPSENSE = str(Path(sys.executable).with_name("hipsense"))


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([HIPSENSE, *args], capture_output=True, text=True, timeout=300,
                          check=False, cwd=cwd)  # fmt: skip


def test_walk_balance_bridge_file_their_runs_for_the_patient(tmp_path: Path) -> None:
    store = tmp_path / "clinic.sqlite"
    common = ["--virtual", "--patient", "P7", "--store", str(store), "--json"]
    assert _run(["patients", "add", "P7", "--year-of-birth", "1960", "--height-cm", "172",
                 "--store", str(store)], tmp_path).returncode == 0  # fmt: skip
    runs = {
        "walk": ["walk", "--scenario", "walk-right-trendelenburg", "--speed", "4",
                 "--seconds", "26", "--out", "rec/walk.parquet"],
        "balance": ["balance", "--speed", "4", "--duration", "10", "--age", "65", "--quiet",
                    "--out", "rec/balance.parquet"],
        "bridge": ["bridge", "--speed", "4", "--reps", "2", "--quiet",
                   "--out", "rec/bridge.parquet"],
    }  # fmt: skip
    for test, args in runs.items():
        proc = _run([*args, *common], tmp_path)
        assert proc.returncode == 0, proc.stderr
        doc = json.loads(proc.stdout)  # only the JSON document on stdout
        assert doc.get("test", doc.get("schema")) in (test, "hipsense.walk")
        assert "filed as run" in proc.stderr and "report: " in proc.stderr
        # not a terminal: the live table's last frame, then each message on its own line
        assert "\nreport: " in proc.stderr and "\nfiled as run" in proc.stderr
        if test == "walk":  # no --height: the patient's stored height, and the line saying so
            assert "height 172 cm from patient P7's record" in proc.stderr
            assert doc["pace"]["pendulum_m"] == round(0.53 * 1.72, 3)
        for suffix in (".html", ".pdf"):  # the same naming for every test
            assert (tmp_path / "rec" / f"{test}_report{suffix}").stat().st_size > 1000
        html = (tmp_path / "rec" / f"{test}_report.html").read_text()
        assert "P7 (born 1960)" in html and "Device:</b> hipsense-" in html
    with open_store(store) as s:
        (session,) = s.sessions("P7")
        filed = s.runs("P7")
    assert [r.test for r in filed] == ["walk", "balance", "bridge"]
    assert all(r.session_id == session[0] and r.figures for r in filed)
    assert all(r.device_name and r.firmware_version and r.analysis_version for r in filed)
    assert {r.recording_path for r in filed} == {
        str((tmp_path / "rec" / f"{t}.parquet").resolve()) for t in runs
    }
    walk = {(f.name, f.side): f.value for f in filed[0].figures}
    assert walk[("drop_difference_deg", "")] > 4.0  # weak right abductors: right-stance drop
    bridge = filed[2]
    assert bridge.protocol == {"sets": ["left", "right"], "reps": 2, "hold_s": 5.0}


def test_a_test_killed_mid_stream_leaves_the_store_as_it_was(tmp_path: Path) -> None:
    store = tmp_path / "clinic.sqlite"
    assert _run(["patients", "add", "P8", "--store", str(store)], tmp_path).returncode == 0
    proc = subprocess.Popen(
        [HIPSENSE, "walk", "--virtual", "--seconds", "120", "--patient", "P8", "--store",
         str(store), "--out", "w.parquet"],
        cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not list(tmp_path.glob("w.parquet*")) and time.monotonic() < deadline:
            time.sleep(0.2)  # streaming has started once the recording file appears
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    with open_store(store) as s:
        assert s.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert s.sessions("P8") == [] and s.runs("P8") == []
        assert s.patient("P8").id == "P8"


def test_a_stream_recording_analyses_with_a_hint(tmp_path: Path) -> None:
    rec = simulate("walk-normal", seed=0, duration_s=15).to_recording()
    rec.meta.test = "stream"
    path = write_recording(rec, tmp_path / "s.parquet")
    proc = _run(["analyze", str(path)], tmp_path)
    assert proc.returncode == 1 and "pass --test walk" in proc.stderr
    proc = _run(["analyze", str(path), "--test", "walk"], tmp_path)
    assert proc.returncode == 0 and "Walk:" in proc.stdout


@pytest.mark.parametrize("flag", [[], ["--json"]])
def test_analyze_files_an_existing_recording(tmp_path: Path, flag: list[str]) -> None:
    store = tmp_path / "s.sqlite"
    _run(["patients", "add", "P9", "--store", str(store)], tmp_path)
    rec = simulate("stance-left-trendelenburg", seed=0).to_recording()
    rec.meta.start_time = "2026-10-05T10:00:00"
    path = write_recording(rec, tmp_path / "old.parquet")
    before = path.read_bytes()
    proc = _run(["analyze", str(path), "--patient", "P9", "--store", str(store), *flag], tmp_path)
    assert proc.returncode == 0, proc.stderr
    if flag:
        json.loads(proc.stdout)
    assert "filed as run 1 of P9" in proc.stderr and "(2026-10-05)" in proc.stderr
    assert path.read_bytes() == before


def test_a_walk_without_height_uses_the_patients_stored_height(tmp_path: Path) -> None:
    """`analyze --patient` and `report --patient` of a walk: the stored height gives step
    length and speed, and the output says where it came from; --height wins over it; a
    balance test takes none."""
    store = ["--store", str(tmp_path / "s.sqlite")]
    runner = CliRunner()
    res = runner.invoke(cli, ["patients", "add", "P3", "--height-cm", "180", *store])
    assert res.exit_code == 0, res.output
    path = write_recording(
        simulate("walk-normal", seed=2, duration_s=20.0).to_recording(), tmp_path / "w.parquet"
    )
    res = runner.invoke(cli, ["analyze", str(path), "--json", "--patient", "P3", *store])
    assert res.exit_code == 0, res.output
    assert "height 180 cm from patient P3's record" in res.stderr
    assert json.loads(res.stdout)["pace"]["pendulum_m"] == round(0.53 * 1.80, 3)
    res = runner.invoke(
        cli, ["analyze", str(path), "--json", "--height", "160", "--patient", "P3", *store]
    )
    assert res.exit_code == 0 and "from patient" not in res.stderr
    assert json.loads(res.stdout)["pace"]["pendulum_m"] == round(0.53 * 1.60, 3)
    res = runner.invoke(cli, ["report", str(path), "--patient", "P3", *store])
    assert res.exit_code == 0 and "height 180 cm from patient P3's record" in res.stderr
    # stdout holds only the result (the report's paths), as `analyze --json` holds only JSON
    assert res.stdout.startswith("report: ") and res.stdout.count("\n") == 1, res.stdout
    assert "walking speed" in (tmp_path / "w_report.html").read_text(encoding="utf-8")
    stance = write_recording(
        simulate("stance-left-trendelenburg", seed=0).to_recording(), tmp_path / "s.parquet"
    )
    res = runner.invoke(cli, ["analyze", str(stance), "--patient", "P3", *store])
    assert res.exit_code == 0 and "from patient" not in res.stderr, res.output


@pytest.mark.parametrize("height_cm, accepted", [("60", False), ("80", True), ("250", True),
                                                 ("255", False)])  # fmt: skip
def test_the_store_and_the_height_option_accept_the_same_heights(
    tmp_path: Path, height_cm: str, accepted: bool
) -> None:
    """`patients add` took 40–260 cm and `--height` 80–250: a stored 60 cm then gave every step
    length and speed from a height the option would have refused."""
    runner = CliRunner()
    store = ["--store", str(tmp_path / "s.sqlite")]
    added = runner.invoke(cli, ["patients", "add", "P3", "--height-cm", height_cm, *store])
    assert (added.exit_code == 0) is accepted, added.output
    walk = tmp_path / "walk.parquet"
    write_recording(simulate("walk-normal", seed=0, duration_s=12.0).to_recording(), walk)
    given = runner.invoke(cli, ["analyze", str(walk), "--json", "--height", height_cm])
    assert (given.exit_code == 0) is accepted, given.output

"""``hipsense bridge --virtual``: guided sets with live rep count on the virtual board."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from hipsense.recording import read_recording


def test_bridge_command_on_the_virtual_board(tmp_path: Path) -> None:
    out = tmp_path / "bridge.parquet"
    hipsense = Path(sys.executable).with_name("hipsense")
    proc = subprocess.run(
        [str(hipsense), "bridge", "--virtual", "--scenario", "bridge-double", "--sets", "both",
         "--reps", "3", "--speed", "4", "--out", str(out)],
        capture_output=True, text=True, timeout=180, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "3 of 3" in proc.stdout and "Bridges: 3 reps" in proc.stdout
    rec = read_recording(out)
    assert rec.meta.test == "bridge" and rec.meta.extra["protocol"]["sets"] == ["both"]


def test_bridge_command_rejects_unknown_set(tmp_path: Path) -> None:
    hipsense = Path(sys.executable).with_name("hipsense")
    proc = subprocess.run(
        [str(hipsense), "bridge", "--sets", "left,up"],
        capture_output=True, text=True, timeout=60, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode != 0 and "--sets" in (proc.stderr + proc.stdout)


def test_bridge_command_refuses_more_sets_than_one_session_takes(tmp_path: Path) -> None:
    from click.testing import CliRunner
    from hipsense.cli import cli
    from hipsense.cli.bridge import MAX_SETS

    sets = ",".join(["left", "right"] * MAX_SETS)
    res = CliRunner().invoke(cli, ["bridge", "--virtual", "--sets", sets, "--out",
                                   str(tmp_path / "b.parquet")])  # fmt: skip
    assert res.exit_code == 2, res.output
    assert f"at most {MAX_SETS} sets, got {2 * MAX_SETS}" in res.output
    assert not (tmp_path / "b.parquet").exists()


def test_analyze_and_report_commands_dispatch_to_the_bridge_analysis(tmp_path: Path) -> None:
    import json

    from hipsense.recording import write_recording
    from hipsense.sim.scenarios import simulate

    path = write_recording(
        simulate("bridge-single-weak-left", seed=0).to_recording(), tmp_path / "b.parquet"
    )
    hipsense = str(Path(sys.executable).with_name("hipsense"))
    run = subprocess.run(
        [hipsense, "analyze", str(path), "--test", "bridge", "--json"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["comparison"]["weaker_side"] == "left"
    wrong = subprocess.run(
        [hipsense, "analyze", str(path), "--test", "balance"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert wrong.returncode == 1 and "holds a 'bridge' test" in wrong.stderr
    rep = subprocess.run(
        [hipsense, "report", str(path)], capture_output=True, text=True, timeout=120, check=False
    )
    assert rep.returncode == 0, rep.stderr
    assert (tmp_path / "b_report.html").exists() and (tmp_path / "b_report.pdf").exists()


def test_live_view_reads_a_level_rep_with_its_session() -> None:
    """Issue 15: the live view read each rep alone, so a level rep of a set done out of order
    showed "the sensor cannot tell (protocol: right)" where the analysis reads the left leg
    from the session; it now shows the analysis's reading, and a level session says that the
    sensor could not tell."""
    import asyncio

    from hipsense.cli.bridge import _BridgeView
    from hipsense.detectors.bridge.metrics import RepMeasure

    def rep(drop: float, twist: float) -> RepMeasure:
        return RepMeasure(0.0, 1.0, 4.0, 5.0, 18.0, drop, twist, 0.5)

    view = _BridgeView(None, ["left", "right"], 3, 5.0, asyncio.Event())  # type: ignore[arg-type]
    view.bridge.detector.reps_ = [rep(-2.0, 1.5)] * 3 + [rep(0.4, -0.4)] * 3
    text = view.support_text(5, view.bridge.detector.reps_[5])
    assert text == "left by the sensor, but the protocol asked for right: reported as left"
    assert view.support_text(0, view.bridge.detector.reps_[0]).startswith("right by the sensor")
    level = _BridgeView(None, ["left", "right"], 2, 5.0, asyncio.Event())  # type: ignore[arg-type]
    level.bridge.detector.reps_ = [rep(0.05, 0.1), rep(-0.05, 0.0), rep(0.0, 0.05)]
    assert level.support_text(2, level.bridge.detector.reps_[2]) == (
        "not determined by the sensor (pelvis level): the protocol's right"
    )

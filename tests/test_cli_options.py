"""One option, one range: ``--age`` means the same (1 to 120 years) for ``balance`` and for
``analyze``/``report``, refused before anything starts (no board, no file read)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from hipsense.cli import cli


@pytest.mark.parametrize("age", ["0", "0.5", "121"])
@pytest.mark.parametrize(
    "command", [["balance", "--virtual"], ["analyze", "missing.csv"], ["report", "missing.csv"]]
)
def test_age_out_of_range_is_refused_alike(command: list[str], age: str) -> None:
    res = CliRunner().invoke(cli, [*command, "--age", age])
    assert res.exit_code == 2, res.output
    assert f"Invalid value for '--age': {float(age)} is not in the range 1<=x<=120" in res.output


PROMPTS = {"walk": "Stand still", "balance": "Single-leg stance", "bridge": "Bridges:",
           "exercise": "Clamshell"}  # fmt: skip


def _session(command: str) -> list[str]:
    return ["exercise", "clamshell"] if command == "exercise" else [command]


@pytest.mark.parametrize("command", sorted(PROMPTS))
@pytest.mark.parametrize(
    ("option", "message"),
    [
        (["--scenario", "nosuch"], "unknown scenario 'nosuch'"),
        (["--chip", "ideal"], "unknown IMU chip 'ideal' for the virtual board; use one of mpu"),
        (["--board", "nosuch"], "no board profile 'nosuch': choose one of "),
    ],
)
def test_unknown_virtual_names_are_refused_before_the_first_prompt(
    command: str, option: list[str], message: str, tmp_path: Path
) -> None:
    out = tmp_path / "r.parquet"
    res = CliRunner().invoke(cli, [*_session(command), "--virtual", *option, "--out", str(out)])
    assert res.exit_code == 1, res.output
    assert f"hipsense: {message}" in res.output
    assert PROMPTS[command] not in res.output and not out.exists()


@pytest.mark.parametrize("command", sorted(PROMPTS))
def test_an_existing_recording_is_refused_before_the_first_prompt(
    command: str, tmp_path: Path
) -> None:
    out = tmp_path / "r.parquet"
    out.write_bytes(b"kept")
    res = CliRunner().invoke(cli, [*_session(command), "--virtual", "--out", str(out)])
    assert res.exit_code == 1 and f"hipsense: {out} exists" in res.output, res.output
    assert PROMPTS[command] not in res.output and out.read_bytes() == b"kept"


@pytest.mark.parametrize("command", sorted(PROMPTS))
def test_an_existing_report_beside_a_new_recording_is_refused_before_the_first_prompt(
    command: str, tmp_path: Path
) -> None:
    """The report is written beside --out: a new recording name must not replace an old
    session's report without --overwrite (--no-report asks for none)."""
    out = tmp_path / "r.parquet"
    report = tmp_path / "r_report.html"
    report.write_text("kept")
    res = CliRunner().invoke(cli, [*_session(command), "--virtual", "--out", str(out)])
    assert res.exit_code == 1 and f"hipsense: {report} exists" in res.output, res.output
    assert PROMPTS[command] not in res.output and report.read_text() == "kept"
    assert not out.exists()


def test_every_listed_scenario_chip_and_board_passes_the_name_check() -> None:
    from hipsense import paths
    from hipsense.sim.chips import CHIPS
    from hipsense.sim.scenarios import SCENARIOS
    from hipsense.virtual.launch import VirtualBoardOptions, check_names

    assert any(name.startswith("exercise-") for name in SCENARIOS)  # both registries listed
    for name in SCENARIOS:
        check_names(VirtualBoardOptions(scenario=name))
    for chip in CHIPS:
        check_names(VirtualBoardOptions(chip=chip))
    for profile in paths.boards_dir().glob("*.json"):
        if profile.stem != "schema":
            check_names(VirtualBoardOptions(profile=profile.stem))


@pytest.mark.parametrize("args", [["sim", "list"], ["version"], ["--help"]])
def test_a_closed_stdout_pipe_ends_quietly(args: list[str]) -> None:
    """``hipsense ... | head``: the reader has gone; no "hipsense: Broken pipe", no traceback."""
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader left before anything was written: every write fails
    try:
        res = subprocess.run(
            [sys.executable, "-c", "import sys; from hipsense.cli import main; main(sys.argv[1:])",
             *args], stdout=write_end,
            stderr=subprocess.PIPE, text=True, timeout=120, check=False,
            env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "host")},
        )  # fmt: skip
    finally:
        os.close(write_end)
    assert res.returncode == 1 and res.stderr == "", res.stderr


@pytest.mark.parametrize("sub", ["show", "record", "source"])
def test_sim_usage_names_the_argument_not_every_scenario(sub: str) -> None:
    res = CliRunner().invoke(cli, ["sim", sub, "--help"])
    assert res.exit_code == 0 and f"Usage: cli sim {sub} [OPTIONS] SCENARIO" in res.output
    assert "bridge-double|" not in res.output


def test_walk_intro_does_not_send_the_patient_walking_before_the_alignment() -> None:
    from hipsense.cli.walk import intro

    assert intro(False) == "Stand still for 3 s with the sensor on, then walk (Ctrl-C to stop)."
    aligned = intro(True)
    assert aligned.startswith("First the mounting alignment")
    assert aligned.index("alignment") < aligned.index("stand still")

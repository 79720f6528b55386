"""``hipsense calibrate`` on the virtual board: the firmware's CALIBRATE_GYRO, sent by the host,
measures the simulated chip's turn-on gyro bias at rest and stores it; a sensor that moves is
refused with a message and nothing stored."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from click.testing import CliRunner
from hipsense.cli import cli
from hipsense.link.session import Session
from hipsense.orchestrate.stream import GyroMoved, StreamOptions, calibrate_gyro
from hipsense.sim.scenarios import simulate
from hipsense.virtual.launch import VirtualBoardOptions


def _true_bias_dps(seed: int) -> np.ndarray:
    truth = simulate("still", seed=seed, duration_s=2.0).truth
    return np.array(truth["chip_errors"]["gyr_bias_dps"])


@pytest.mark.parametrize("seed", [0, 3])
def test_a_still_sensor_stores_its_own_gyro_bias(seed: int) -> None:
    options = StreamOptions(virtual=VirtualBoardOptions(scenario="still", seed=seed, speed=4.0))
    done = asyncio.run(calibrate_gyro(options, 3))
    want = _true_bias_dps(seed)
    # the "still" scenario is a person standing still (quiet sway, no table scenario): the
    # mean sway rate over 3 s adds up to ~0.2 deg/s to the chip's 1-4 deg/s turn-on bias
    err = np.asarray(done.bias_dps) - want
    assert np.all(np.abs(err) < 0.25), (done.bias_dps, want)
    assert np.linalg.norm(err) < 0.15 * np.linalg.norm(want), (done.bias_dps, want)
    assert done.settings is not None and done.settings.gyro_bias_dps is not None
    assert np.allclose(done.settings.gyro_bias_dps, done.bias_dps, atol=0.05)


def test_a_sensor_that_moves_is_refused_and_says_what_to_do() -> None:
    options = StreamOptions(virtual=VirtualBoardOptions(scenario="walk-normal", speed=4.0))
    with pytest.raises(GyroMoved, match="moved during the gyro calibration") as err:
        asyncio.run(calibrate_gyro(options, 6))  # walk-normal stands still for its first 3 s
    assert "keep it still for the whole 6 s" in str(err.value)
    assert "stored calibration is unchanged" in str(err.value)


def test_the_calibrate_command_says_what_was_stored_and_fails_when_moved() -> None:
    runner = CliRunner()
    res = runner.invoke(cli, ["calibrate", "--virtual", "--speed", "4", "--seconds", "2"])
    assert res.exit_code == 0, res.output
    assert "measuring for 2 s: keep it still" in res.stderr
    stored = res.stdout.splitlines()
    assert stored[0].startswith("hipsense-") and "stored on the sensor" in stored[0]
    x = float(stored[0].split(" x ")[1].split(",")[0])
    assert abs(x - _true_bias_dps(0)[0]) < 0.25
    assert "reports it calibrated and uses this bias" in stored[1]
    res = runner.invoke(
        cli,
        ["calibrate", "--virtual", "--speed", "4", "--seconds", "6", "--scenario", "walk-normal"],
    )
    assert res.exit_code == 1 and "hipsense: " in res.stderr and "moved" in res.stderr
    assert "stored on the sensor" not in res.stdout


def test_a_calibration_longer_than_the_board_takes_is_refused_before_sending() -> None:
    session = Session.__new__(Session)  # no transport: the check comes first
    with pytest.raises(ValueError, match="use 1 to 30 s"):
        asyncio.run(session.calibrate_gyro(31))
    res = CliRunner().invoke(cli, ["calibrate", "--virtual", "--seconds", "31"])
    assert res.exit_code == 2 and "1<=x<=30" in res.output


def test_ctrl_c_during_the_calibration_says_what_is_left_and_exits_130(tmp_path) -> None:
    """A user's Ctrl-C (SIGINT to the process group) once the measurement runs: exit status 130
    and what became of it (the virtual board ends with the command: nothing kept; a real
    sensor finishes on its own and stores the bias only if it stayed still)."""
    import os
    import signal
    import subprocess
    import sys
    from pathlib import Path

    from hipsense.cli.calibrate import _interrupted

    proc = subprocess.Popen(
        [str(Path(sys.executable).with_name("hipsense")), "calibrate", "--virtual",
         "--seconds", "30"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
        cwd=tmp_path,
    )  # fmt: skip
    assert proc.stderr is not None and proc.stdout is not None
    err = []
    for line in proc.stderr:
        err.append(line)
        if line.startswith("measuring for 30 s"):
            os.killpg(proc.pid, signal.SIGINT)
    assert proc.wait(timeout=120) == 130, "".join(err)
    assert err[-1].strip() == f"hipsense: {_interrupted(True, 30, True)}"
    assert "stored on the sensor" not in proc.stdout.read()
    assert "stores the bias only if it stayed still" in _interrupted(True, 5, False)
    assert "nothing was changed" in _interrupted(False, 5, False)

"""The virtual board's sample-source file (HSIM v1) and the ``hipsense sim`` CLI."""

from __future__ import annotations

import contextlib
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner
from hipsense import paths
from hipsense.cli import cli
from hipsense.recording import read_recording
from hipsense.sim.errors import SimError
from hipsense.sim.mounting import _AXES, MOUNTINGS, parse_mounting
from hipsense.sim.rotations import matrix_from_quat
from hipsense.sim.scenarios import simulate
from hipsense.sim.source import decode_source, encode_source, read_source_file, write_source_file
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp


def test_header_and_records_are_laid_out_exactly(tmp_path: Path) -> None:
    acc = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    gyr = np.array([[-1.0, -2.0, -3.0], [0.5, 0.25, 0.125]])
    path = write_source_file(tmp_path / "s.bin", acc, gyr, 104.0, loop=True)
    data = path.read_bytes()
    assert data[:4] == b"HSIM"
    assert struct.unpack_from("<HHfI", data, 4) == (1, 1, 104.0, 2)
    assert len(data) == 16 + 2 * 24
    assert struct.unpack_from("<6f", data, 16) == (1.0, 2.0, 3.0, -1.0, -2.0, -3.0)
    assert struct.unpack_from("<6f", data, 40) == (4.0, 5.0, 6.0, 0.5, 0.25, 0.125)
    assert struct.unpack_from("<H", encode_source(acc, gyr, 100.0), 6) == (0,)  # no loop flag


finite32 = st.floats(-1e6, 1e6, width=32)


@settings(max_examples=50, deadline=None)
@given(
    samples=hnp.arrays(np.float32, st.tuples(st.integers(0, 40), st.just(6)), elements=finite32),
    rate=st.floats(1.0, 8000.0, width=32),
    loop=st.booleans(),
)
def test_round_trip(samples: np.ndarray, rate: float, loop: bool) -> None:
    back = decode_source(encode_source(samples[:, :3], samples[:, 3:], rate, loop))
    assert back.rate_hz == rate and back.loop == loop
    np.testing.assert_array_equal(back.acc_mps2, samples[:, :3])
    np.testing.assert_array_equal(back.gyr_dps, samples[:, 3:])


@settings(max_examples=50, deadline=None)
@given(st.binary(max_size=80))
def test_arbitrary_bytes_never_crash_the_reader(data: bytes) -> None:
    with contextlib.suppress(SimError):
        decode_source(data)


def test_damaged_files_are_refused_with_a_reason() -> None:
    good = encode_source(np.zeros((3, 3)), np.zeros((3, 3)), 100.0)
    with pytest.raises(SimError, match="magic"):
        decode_source(b"XSIM" + good[4:])
    with pytest.raises(SimError, match="version"):
        decode_source(good[:4] + struct.pack("<H", 2) + good[6:])
    with pytest.raises(SimError, match="bytes"):
        decode_source(good[:-1])
    with pytest.raises(SimError, match="too short"):
        decode_source(good[:10])
    with pytest.raises(SimError, match=r"\(N, 3\)"):
        encode_source(np.zeros((3, 2)), np.zeros((3, 2)), 100.0)


def test_named_mountings_are_right_handed_rotations() -> None:
    for name, q in MOUNTINGS.items():
        axes = _AXES[name]  # columns: the sensor's axes in the pelvis frame
        assert np.isclose(np.linalg.det(axes), 1.0), f"{name} is not right-handed"
        np.testing.assert_allclose(matrix_from_quat(np.array(q)), axes, atol=1e-12)
    # x-up-y-right: the sensor's x axis is the pelvis's z (up), y is right (−y)
    m = matrix_from_quat(np.array(MOUNTINGS["x-up-y-right"]))
    np.testing.assert_allclose(m[:, 0], [0, 0, 1], atol=1e-12)
    np.testing.assert_allclose(m[:, 1], [0, -1, 0], atol=1e-12)
    assert parse_mounting("2,0,0,0") == [1.0, 0.0, 0.0, 0.0]
    with pytest.raises(SimError, match="neither a name"):
        parse_mounting("sideways")


def test_cli_list_record_and_source(tmp_path: Path) -> None:
    runner = CliRunner()
    out = runner.invoke(cli, ["sim", "list"])
    assert out.exit_code == 0 and "walk-right-trendelenburg" in out.output
    out = runner.invoke(cli, ["sim", "show", "walk-left-step-time"])
    assert out.exit_code == 0 and "step_time_si_pct = -12.0" in out.output
    csv = tmp_path / "w.csv"
    args = ["sim", "record", "walk-normal", "--out", str(csv), "--seed", "3", "--duration-s", "5",
            "--mounting", "x-up-y-right", "--set", "drop_in_left_stance_deg=7"]  # fmt: skip
    out = runner.invoke(cli, args)
    assert out.exit_code == 0, out.output
    rec = read_recording(csv)
    truth = rec.meta.extra["ground_truth"]
    assert truth["seed"] == 3 and truth["params"]["drop_in_left_stance_deg"] == 7.0
    assert rec.meta.mounting == pytest.approx(MOUNTINGS["x-up-y-right"])
    assert float(rec.data["acc_x_mps2"].mean()) > 9.0  # the sensor's x axis points up
    one = tmp_path / "one.csv"
    args = ["sim", "record", "stance-eyes-open", "--out", str(one), "--duration-s", "3",
            "--set", "sides=left", "--set", "touch_downs_after_lift_s=1.5"]  # fmt: skip
    out = runner.invoke(cli, args)
    assert out.exit_code == 0, out.output
    (trial,) = read_recording(one).meta.extra["ground_truth"]["trials"]
    assert trial["stance_side"] == "left" and len(trial["touch_downs"]) == 1
    src = tmp_path / "s.bin"
    out = runner.invoke(cli, ["sim", "source", "still", "--out", str(src), "--loop",
                              "--duration-s", "3", "--rate-hz", "200"])  # fmt: skip
    assert out.exit_code == 0, out.output
    s = read_source_file(src)
    assert s.loop and s.rate_hz == 200.0 and s.acc_mps2.shape == (601, 3)


def test_source_carries_chip_errors_but_no_quantisation() -> None:
    r = simulate("still", seed=2, chip="mpu6050", duration_s=3.0, acc_range_g=16)
    lsb = 16 * 9.80665 / 32768
    counts = r.acc_continuous_mps2 / lsb
    assert not np.allclose(counts, np.round(counts), atol=1e-3)  # not on the LSB grid
    bias = np.array(r.truth["chip_errors"]["gyr_bias_dps"])
    np.testing.assert_allclose(
        (r.gyr_continuous_dps - r.gyr_true_dps).mean(axis=0), bias, atol=0.05
    )
    np.testing.assert_allclose(r.acc_mps2, r.acc_continuous_mps2, atol=lsb / 2 + 1e-9)


def test_the_virtual_boards_reader_sees_the_same_samples(tmp_path: Path, mpy: Any) -> None:
    r = simulate("walk-normal", seed=1, duration_s=5.0)
    path = write_source_file(tmp_path / "walk.bin", r.acc_continuous_mps2, r.gyr_continuous_dps,
                             r.rate_hz, loop=True)  # fmt: skip
    n = r.t_s.shape[0]
    code = (
        "import _simsource\n"
        f"s = _simsource.FileSource({str(path)!r})\n"
        "out = [0.0] * 6\n"
        f"for i in (0, 1, 250, {n - 1}, {n + 2}):\n"
        "    s.get(i, out)\n"
        "    print(' '.join('%.6g' % v for v in out))\n"
        "print(s.rate_hz, s.n, s.loop)\n"
    )
    lines = mpy(code, path=[paths.mpy_sim_dir()]).strip().splitlines()
    expected = np.hstack([r.acc_continuous_mps2, r.gyr_continuous_dps]).astype(np.float32)
    for line, i in zip(lines[:5], (0, 1, 250, n - 1, 2), strict=True):  # loops back to the start
        np.testing.assert_allclose([float(v) for v in line.split()], expected[i], rtol=1e-5,
                                   atol=1e-5)  # fmt: skip
    assert lines[5].split() == ["100.0", str(n), "True"]


def test_sim_record_refuses_an_existing_out_unless_overwrite(tmp_path: Path) -> None:
    """``sim record --out`` never replaces a file silently (issue 17), like every --out."""
    runner = CliRunner()
    out = tmp_path / "w.csv"
    out.write_text("a 30 s session\n")
    args = ["sim", "record", "still", "--out", str(out), "--duration-s", "2"]
    refused = runner.invoke(cli, args)
    assert refused.exit_code != 0
    assert "exists" in refused.output and "--overwrite" in refused.output
    assert out.read_text() == "a 30 s session\n", "the existing file is untouched"
    replaced = runner.invoke(cli, [*args, "--overwrite"])
    assert replaced.exit_code == 0, replaced.output
    assert read_recording(out).duration_s == pytest.approx(2.0, abs=0.5)

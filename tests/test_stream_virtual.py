"""The whole chain on the virtual board: the real firmware (main.py) on the MicroPython unix port
with a simulated IMU, the simulated radio, the custom bleak backend, the session and the
recording, through ``hipsense.orchestrate.stream.stream`` and the ``hipsense stream`` command."""

from __future__ import annotations

import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
from hipsense.orchestrate.stream import StreamOptions, stream
from hipsense.recording import read_recording
from hipsense.sim.scenarios import simulate
from hipsense.virtual.launch import VirtualBoardOptions


async def test_stream_survives_link_drops_and_records_every_sample(tmp_path: Path) -> None:
    out = tmp_path / "walk.parquet"
    virtual = VirtualBoardOptions(
        scenario="walk-normal", speed=4.0, drop_link_every_s=5.0, drop_link_for_s=1.5
    )
    summary = await stream(StreamOptions(virtual=virtual, seconds=24.0, out=out, test="walk"))
    assert summary.link_downs >= 3, "the forced disconnects happened"
    assert summary.lost == 0 and not summary.losses, "a drop shorter than the ring loses nothing"
    rec = read_recording(out)
    seq = rec.data["seq"].to_numpy()
    assert np.array_equal(seq, np.arange(seq[0], seq[0] + len(seq))), "every sample once, in order"
    assert rec.duration_s >= 24.0 and rec.meta.imu_chip == "mpu6886" and rec.meta.rate_hz == 100
    assert np.allclose(np.diff(rec.data["t_s"]), 0.01), "sample time from the IMU clock"

    # The board's obliquity swings at the stride frequency of the simulated walk. (Absolute
    # levels need the guided start: this scenario stands still too briefly for the filter to
    # learn the simulated chip's 3.4 deg/s gyro bias.)
    truth = simulate("walk-normal", seed=0)
    assert abs(_peak_hz(rec.data["obliquity_deg"].to_numpy()) - _peak_hz(truth.obliquity_deg)) < 0.1
    acc_norm = np.linalg.norm(rec.data[["acc_x_mps2", "acc_y_mps2", "acc_z_mps2"]], axis=1)
    sim_norm = np.linalg.norm(truth.acc_mps2, axis=1)  # with the chip's scale error
    assert abs(np.mean(acc_norm) - np.mean(sim_norm)) < 0.05


def _peak_hz(signal: np.ndarray, rate_hz: float = 100.0) -> float:
    """Frequency of the largest spectral peak between 0.5 and 3 Hz."""
    spectrum = np.abs(np.fft.rfft(signal - np.mean(signal)))
    freq = np.fft.rfftfreq(len(signal), 1.0 / rate_hz)
    band = (freq > 0.5) & (freq < 3.0)
    return float(freq[band][np.argmax(spectrum[band])])


def test_stream_command_on_the_virtual_board(tmp_path: Path) -> None:
    out = tmp_path / "stream.csv"
    hipsense = Path(sys.executable).with_name("hipsense")
    proc = subprocess.run(
        [str(hipsense), "stream", "--virtual", "--scenario", "still", "--speed", "4",
         "--seconds", "6", "--out", str(out)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "0 lost" in proc.stdout and f"recording: {out}" in proc.stdout
    rec = read_recording(out)
    assert rec.duration_s >= 6.0
    # Standing still: the board's angles are the inclination its accelerometer shows, offsets
    # of the simulated chip included (what the mounting calibration at stand-still removes).
    f = simulate("still", seed=0).acc_mps2.mean(axis=0)
    g = np.linalg.norm(f)
    expected_tilt, expected_obliquity = np.degrees([np.arcsin(-f[0] / g), np.arcsin(f[1] / g)])
    assert abs(rec.data["tilt_deg"].iloc[-100:].mean() - expected_tilt) < 0.3
    assert abs(rec.data["obliquity_deg"].iloc[-100:].mean() - expected_obliquity) < 0.3


def test_scan_command_lists_the_virtual_board() -> None:
    hipsense = Path(sys.executable).with_name("hipsense")
    proc = subprocess.run(
        [str(hipsense), "scan", "--virtual", "--timeout", "1"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "hipsense-5E4D" in proc.stdout and "02:48:53:00:5E:4D" in proc.stdout


async def test_recording_states_the_board_settings_and_marks_a_change(tmp_path: Path) -> None:
    """The recording holds what the board used at the start (mounting, gyro calibration, rate,
    firmware); a change of the board's stored settings during the session is a marker."""
    import asyncio

    from hipsense.link.protocol import PROTO_MINOR, Command
    from hipsense.recording import MARKER_SETTINGS

    out = tmp_path / "still.csv"
    quaternion = (0.5, 0.5, -0.5, 0.5)
    tasks: list[asyncio.Task[object]] = []

    def on_block(block, session) -> None:
        if not tasks and session.stats.samples_frames > 60:  # ~2 s in: the mounting changes
            args = struct.pack("<4f", *quaternion)
            tasks.append(asyncio.ensure_future(session.command(Command.SET_MOUNTING, args)))

    virtual = VirtualBoardOptions(scenario="still", speed=2.0)
    summary = await stream(StreamOptions(virtual=virtual, seconds=8.0, out=out), on_block)
    assert tasks and tasks[0].done()
    rec = read_recording(out)
    board = rec.meta.extra["board"]
    assert rec.meta.mounting is None and board["mounting_aligned"] is False
    assert board["gyro_calibrated"] is False and board["gyro_bias_dps"] is None
    assert board["rate_hz"] == 100 and board["protocol_minor"] == PROTO_MINOR
    assert rec.meta.firmware_version == "0.1.0"
    marked = rec.data.loc[rec.data["marker"] == MARKER_SETTINGS, "t_s"].to_numpy()
    assert len(marked) == 1 and 1.0 < marked[0] < 7.0
    assert len(summary.settings_changes) == 1
    t_s, settings = summary.settings_changes[0]
    assert abs(t_s - marked[0]) < 0.5
    assert settings is not None and settings.mounting_wxyz is not None
    assert np.allclose(settings.mounting_wxyz, quaternion, atol=1e-6)

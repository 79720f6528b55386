"""Walk-based mounting alignment on simulated walks: host estimate, board capture (MicroPython,
heap locked), the checked int32 twin at full scale, and the guided ``walk --align`` flow."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hipsense.motion import fixedpoint, mounting
from hipsense.sim.mounting import MOUNTINGS
from hipsense.sim.scenarios import simulate
from scipy.spatial.transform import Rotation

ACC_LSB = 16 * 9.80665 / 32768  # m/s² per LSB at +-16 g
STILL_S = 2.0
WALK_S = 8.0  # the board's ALIGN_MOUNTING phase 3
RANDOM_MOUNT = Rotation.from_euler("xyz", [37, -120, 71], degrees=True).as_quat()[[3, 0, 1, 2]]
# walks whose medio-lateral acceleration is as large as the antero-posterior one, so that the
# largest-variance axis (the method before this one) points sideways
CASES = [
    ("walk-right-trendelenburg", 0, "aligned", 100.0, -0.6),
    ("walk-right-trendelenburg", 3, "x-up-y-right", 100.0, 0.0),
    ("walk-left-trendelenburg", 1, "flat-back", 200.0, 0.3),
    ("walk-normal", 2, "upside-down", 100.0, -0.9),
    ("walk-normal", 4, "random", 200.0, 0.0),
]


def capture(
    scenario: str, seed: int, mount: str, rate_hz: float, start_s: float, **params: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(still, walk) sensor-frame accelerations [m/s²], the true forward axis (sensor frame):
    2 s standing, then WALK_S from ``start_s`` relative to the walk's start."""
    q = RANDOM_MOUNT if mount == "random" else np.array(MOUNTINGS[mount])
    r = simulate(scenario, seed=seed, rate_hz=rate_hz, mounting=list(q), **params)
    i0 = round((r.truth["bouts"][0]["start_t_s"] + start_s) * rate_hz)
    acc = r.acc_mps2
    forward = Rotation.from_quat(q[[1, 2, 3, 0]]).as_matrix()[0]  # pelvis x, sensor frame
    return acc[i0 - round(STILL_S * rate_hz) : i0], acc[i0 : i0 + round(WALK_S * rate_hz)], forward


def heading_error_deg(q_wxyz: np.ndarray, forward: np.ndarray) -> float:
    rows = Rotation.from_quat(np.asarray(q_wxyz)[[1, 2, 3, 0]]).as_matrix()
    x, z = rows[0], rows[2]
    t = forward - (forward @ z) * z
    return float(np.degrees(np.arctan2(np.cross(t, x) @ z, t @ x)))


def largest_variance_error_deg(still: np.ndarray, walk: np.ndarray, forward: np.ndarray) -> float:
    """Axis error (sign ignored) of the largest-variance horizontal axis of the walk."""
    z = still.mean(0) / np.linalg.norm(still.mean(0))
    h = walk - np.outer(walk @ z, z)
    _, vecs = np.linalg.eigh(np.cov(h.T))
    e = abs(heading_error_deg(mounting.mounting_from_axes(z, vecs[:, -1]), forward))
    return min(e, 180 - e)


def test_host_walk_alignment_finds_forward_where_largest_variance_fails() -> None:
    old = []
    for scenario, seed, mount, rate, start in CASES:
        still, walk, forward = capture(scenario, seed, mount, rate, start)
        q = mounting.estimate_mounting(still, walk, rate, "walk")
        assert abs(heading_error_deg(q, forward)) < 10.0, (scenario, seed, mount)
        old.append(largest_variance_error_deg(still, walk, forward))
    assert sum(e > 45 for e in old) >= 3, old  # these are the hard cases


@pytest.mark.parametrize("cadence_spm", [85.0, 135.0])
def test_host_walk_alignment_slow_and_fast_cadence(cadence_spm: float) -> None:
    for seed in range(2):
        still, walk, forward = capture(
            "walk-right-trendelenburg", seed, "flat-back", 100.0, 0.0, cadence_spm=cadence_spm
        )
        q = mounting.estimate_mounting(still, walk, 100.0, "walk")
        assert abs(heading_error_deg(q, forward)) < 12.0


def test_host_walk_alignment_rejects_too_short_walk() -> None:
    still, walk, _ = capture("walk-normal", 0, "aligned", 100.0, 0.0)
    with pytest.raises(mounting.MountingError, match="shorter than 3 s"):
        mounting.estimate_mounting(still, walk[:250], 100.0, "walk")


def frames(acc_mps2: np.ndarray) -> bytes:
    raw = np.clip(np.round(acc_mps2 / ACC_LSB), -32768, 32767)
    return np.concatenate([raw, np.zeros_like(raw)], 1).astype("<i2").tobytes()


def test_board_walk_capture_matches_host_and_truth(mpy, tmp_path: Path) -> None:
    """Several walks through the board's capture under MicroPython (walk phase under
    heap_lock): heading within 10° of the truth and within 0.1° of the host."""
    files = []
    expected = []
    for k, (scenario, seed, mount, rate, start) in enumerate(CASES):
        still, walk, forward = capture(scenario, seed, mount, rate, start)
        path = tmp_path / f"walk{k}.bin"
        path.write_bytes(frames(still) + frames(walk))
        files.append((str(path), rate, len(still)))
        raw_still = np.round(still / ACC_LSB) * ACC_LSB
        raw_walk = np.round(walk / ACC_LSB) * ACC_LSB
        expected.append((mounting.estimate_mounting(raw_still, raw_walk, rate, "walk"), forward))
    out = mpy(
        f"""
import mounting, pelvis
from heapcheck import alloc_error
p = pelvis.Pelvis(200.0)
for path, rate, n in {files!r}:
    with open(path, 'rb') as fh:
        data = fh.read()
    cap = mounting.MountingCapture(rate)

    def feed(a, b):
        for i in range(a, b):
            cap.add(data, 12 * i)

    feed(0, n)
    cap.phase = 2
    ok = alloc_error(lambda: feed(n, len(data) // 12)) is None
    print(ok, ' '.join(str(x) for x in cap.finish(p)))
""",
        heapsize="1M",  # the test's sample files, not the capture
    ).splitlines()
    assert len(out) == len(CASES)
    for line, (q_host, forward) in zip(out, expected, strict=True):
        ok, *q = line.split()
        assert ok == "True"
        q_board = np.array([float(x) for x in q])
        assert abs(heading_error_deg(q_board, forward)) < 10.0
        r_board = Rotation.from_quat(q_board[[1, 2, 3, 0]])
        r_host = Rotation.from_quat(q_host[[1, 2, 3, 0]])
        assert np.degrees((r_board.inv() * r_host).magnitude()) < 0.1


@pytest.mark.parametrize("rate_hz", [52.0, 104.0, 416.0])
def test_capture_state_stays_int32_at_full_scale(rate_hz: float) -> None:
    """The checked twin (int32 stores, ESP32 small ints across viper calls) on the worst
    input: full-scale samples of alternating sign for the longest capture."""
    pelvis = fixedpoint.load_firmware("pelvis", checked=True)
    cap = fixedpoint.load_firmware("mounting", checked=True).MountingCapture(rate_hz)
    still = np.tile(np.array([[0, 0, 2048, 0, 0, 0]], "<i2"), (50, 1)).tobytes()
    for i in range(50):
        cap.add(still, 12 * i)
    cap.phase = 2
    rng = np.random.default_rng(0)
    n = 16384 + 10
    worst = np.where(rng.random((n, 3)) < 0.5, -32768, 32767)
    data = np.concatenate([worst, np.zeros_like(worst)], 1).astype("<i2").tobytes()
    for i in range(n):
        cap.add(data, 12 * i)
    assert cap._walk[0] == 16384  # the capture stops at its limit
    with pytest.raises(ValueError, match="not regular"):  # noise has no step period
        cap.finish(pelvis.Pelvis(rate_hz))


def test_standing_still_or_irregular_motion_is_refused(mpy, tmp_path: Path) -> None:
    """No stored mounting from a "walk" without walking (host and board alike)."""
    r = simulate("still", seed=1, rate_hz=100.0, duration_s=12.0)
    still, fake_walk = r.acc_mps2[:200], r.acc_mps2[200:1000]
    with pytest.raises(mounting.MountingError, match="no walking"):
        mounting.estimate_mounting(still, fake_walk, 100.0, "walk")
    rng = np.random.default_rng(3)
    shaken = fake_walk + rng.normal(0.0, 2.0, fake_walk.shape)  # strong but no steps
    with pytest.raises(mounting.MountingError, match="not regular"):
        mounting.estimate_mounting(still, shaken, 100.0, "walk")
    path = tmp_path / "still.bin"
    path.write_bytes(frames(still) + frames(fake_walk))
    out = mpy(
        f"""
import mounting, pelvis
with open({str(path)!r}, 'rb') as fh:
    data = fh.read()
cap = mounting.MountingCapture(100.0)
for i in range(200):
    cap.add(data, 12 * i)
cap.phase = 2
for i in range(200, len(data) // 12):
    cap.add(data, 12 * i)
try:
    cap.finish(pelvis.Pelvis(100.0))
except ValueError as e:
    print(e)
"""
    )
    assert out.strip() == "mounting capture: no walking seen"


def test_walk_align_flow_on_the_virtual_board_recovers_the_mounting() -> None:
    """The guided alignment of ``hipsense walk --align`` (stand 2 s, walk 8 s) on the virtual
    board walking with a Trendelenburg gait and an odd mounting: the board's mounting is the
    scenario's within 10° of heading."""
    from hipsense.cli.walk import _aligner
    from hipsense.orchestrate.stream import StreamOptions, stream
    from hipsense.virtual.launch import VirtualBoardOptions
    from rich.console import Console

    w, x, y, z = (float(v) for v in RANDOM_MOUNT)
    q_true = (w, x, y, z)
    text = io.StringIO()
    aligned: list[tuple[float, ...]] = []
    options = StreamOptions(
        virtual=VirtualBoardOptions(scenario="walk-right-trendelenburg", mounting_wxyz=q_true),
        seconds=0.5,
        prepare=_aligner(Console(file=text, width=200), aligned),
    )
    asyncio.run(stream(options))
    line = next(s for s in text.getvalue().splitlines() if "Mounting aligned" in s)
    assert "from the pelvis's axes" in line and "q =" not in line  # words, not a quaternion
    (q,) = aligned
    q_board = np.array(q)
    forward = Rotation.from_quat(np.array(q_true)[[1, 2, 3, 0]]).as_matrix()[0]
    assert abs(heading_error_deg(q_board, forward)) < 10.0
    r_err = (
        Rotation.from_quat(q_board[[1, 2, 3, 0]])
        * Rotation.from_quat(np.array(q_true)[[1, 2, 3, 0]]).inv()
    )
    assert np.degrees(r_err.magnitude()) < 12.0


def test_walk_align_flow_without_walking_says_what_to_do() -> None:
    """Standing through the walk phase: the board refuses (FAILED) and the CLI's aligner turns
    that into a message saying what to do, instead of storing a random heading."""
    from hipsense.cli.walk import _aligner
    from hipsense.orchestrate.stream import StreamOptions, stream
    from hipsense.virtual.launch import VirtualBoardOptions
    from rich.console import Console

    options = StreamOptions(
        virtual=VirtualBoardOptions(scenario="still", speed=4.0),
        seconds=0.5,
        prepare=_aligner(Console(file=io.StringIO())),
    )
    with pytest.raises(mounting.MountingError, match="no regular walk"):
        asyncio.run(stream(options))

"""Scenario library: ground truth, side conventions, asymmetries, determinism, recordings."""

from __future__ import annotations

import json
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest
from hipsense.sim.errors import SimError
from hipsense.sim.scenarios import SCENARIOS, SimResult, simulate

REQUIRED = {
    "still", "sit-stand", "walk-normal", "walk-right-trendelenburg", "walk-left-trendelenburg",
    "walk-left-step-time", "walk-turns", "stance-eyes-open", "stance-eyes-closed",
    "stance-left-trendelenburg", "bridge-double", "bridge-single-weak-right", "bridge-symmetric",
}  # fmt: skip


def _window(r: SimResult, start_s: float, end_s: float) -> slice:
    return slice(int(np.ceil(start_s * r.rate_hz)), int(np.floor(end_s * r.rate_hz)) + 1)


def _peaks_by_stance(r: SimResult) -> dict[str, list[float]]:
    """Signed obliquity extreme of each single-support phase (IC to the next IC), by stance side."""
    contacts = r.truth["contacts"]
    out: dict[str, list[float]] = {"left": [], "right": []}
    for a, b in pairwise(contacts[2:-1]):
        seg = r.obliquity_deg[_window(r, a["t_s"], b["t_s"])]
        out[a["side"]].append(float(seg.min() if a["side"] == "right" else seg.max()))
    return out


def test_the_library_holds_the_required_scenarios() -> None:
    assert set(SCENARIOS) >= REQUIRED
    assert all(name == name.lower() and " " not in name for name in SCENARIOS)


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_every_scenario_runs_with_its_ground_truth(name: str) -> None:
    r = simulate(name, seed=5)
    n = r.t_s.shape[0]
    assert r.acc_mps2.shape == r.gyr_dps.shape == (n, 3)
    assert r.tilt_deg.shape == r.obliquity_deg.shape == r.rotation_deg.shape == (n,)
    assert np.all(np.isfinite(r.acc_mps2)) and np.all(np.isfinite(r.gyr_dps))
    assert r.truth["scenario"] == name and r.truth["seed"] == 5
    assert r.truth["mounting_wxyz"] == [1.0, 0.0, 0.0, 0.0]
    json.dumps(r.truth, allow_nan=False)  # the truth goes into recording metadata
    # every scenario starts from the upright calibration posture
    first = slice(0, int(r.rate_hz))
    assert abs(float(r.tilt_deg[first].mean())) < 1.0


def test_same_seed_same_data_other_seed_other_data() -> None:
    a = simulate("walk-normal", seed=3, duration_s=8.0)
    b = simulate("walk-normal", seed=3, duration_s=8.0)
    c = simulate("walk-normal", seed=4, duration_s=8.0)
    np.testing.assert_array_equal(a.acc_mps2, b.acc_mps2)
    assert a.truth == b.truth
    assert not np.array_equal(a.acc_mps2, c.acc_mps2)
    assert a.truth["contacts"] != c.truth["contacts"]


def test_any_rate_gives_the_same_events_and_angles() -> None:
    slow = simulate("walk-normal", seed=1, rate_hz=52.0, chip="ideal", duration_s=8.0)
    odd = simulate("walk-normal", seed=1, rate_hz=104.0, chip="ideal", duration_s=8.0)
    assert slow.truth["contacts"] == odd.truth["contacts"]
    np.testing.assert_allclose(np.diff(odd.t_s), 1 / 104.0)
    np.testing.assert_allclose(odd.obliquity_deg[::2], slow.obliquity_deg[: len(odd.t_s[::2])],
                               atol=0.05)  # fmt: skip


def test_normal_walking_matches_the_realism_targets() -> None:
    r = simulate("walk-normal", seed=2, chip="ideal", duration_s=30.0)
    contacts = r.truth["contacts"]
    sides = [c["side"] for c in contacts]
    assert all(a != b for a, b in pairwise(sides))  # alternating
    t = np.array([c["t_s"] for c in contacts])
    cadence = 60.0 / np.median(np.diff(t))
    assert 100.0 <= cadence <= 120.0
    cv = np.std(np.diff(t[2:-2])) / np.mean(np.diff(t[2:-2]))
    assert 0.01 < cv < 0.05  # stride-to-stride variability
    peaks = _peaks_by_stance(r)
    # during RIGHT stance the LEFT side drops (obliquity < 0), and vice versa
    assert np.all(np.array(peaks["right"]) < -1.0) and np.all(np.array(peaks["left"]) > 1.0)
    bout = r.truth["bouts"][0]
    steady = _window(r, contacts[3]["t_s"], contacts[-4]["t_s"])
    assert 2.0 <= np.ptp(r.obliquity_deg[steady]) / 2 <= 5.5
    assert 3.0 <= np.ptp(r.rotation_deg[steady]) / 2 <= 6.0
    assert 2.0 <= np.ptp(r.tilt_deg[steady]) <= 5.0
    # rotation > 0 (right side forward) at right contacts
    rot_at = {s: [float(np.interp(c["t_s"], r.t_s, r.rotation_deg)) for c in contacts[3:-3]
                  if c["side"] == s] for s in ("left", "right")}  # fmt: skip
    assert min(rot_at["right"]) > 2.0 and max(rot_at["left"]) < -2.0
    # double support about 20 % of the stride
    stances = [s for s in r.truth["stances"] if bout["start_t_s"] < s["start_t_s"]][2:-3]
    stride = 2.0 * np.median(np.diff(t))
    stance_frac = np.median([s["end_t_s"] - s["start_t_s"] for s in stances]) / stride
    assert 0.57 <= stance_frac <= 0.63  # stance 60 % = 2 × 10 % double support + 40 % single


def test_vertical_acceleration_peaks_just_after_heel_strike() -> None:
    r = simulate("walk-normal", seed=2, chip="ideal", lever_arm_m=(0, 0, 0), duration_s=20.0)
    acc_up = r.acc_mps2[:, 2]
    lags = []
    for c in r.truth["contacts"][3:-3]:
        w = _window(r, c["t_s"] - 0.1, c["t_s"] + 0.25)
        lags.append(r.t_s[w][np.argmax(acc_up[w])] - c["t_s"])
    assert 0.0 <= np.median(lags) <= 0.1
    assert np.median([acc_up[_window(r, c["t_s"], c["t_s"] + 0.1)].max()
                      for c in r.truth["contacts"][3:-3]]) > 11.5  # fmt: skip


def test_right_trendelenburg_drops_the_left_side_in_right_stance() -> None:
    r = simulate("walk-right-trendelenburg", seed=0, chip="ideal")
    peaks = _peaks_by_stance(r)
    assert r.truth["params"]["drop_in_right_stance_deg"] == 9.0
    assert np.mean(peaks["right"]) < -7.0  # left side dropped 9° (obliquity negative)
    assert 1.5 < np.mean(peaks["left"]) < 5.0  # the other side normal
    assert "RIGHT stance" in r.truth["conventions"]["trendelenburg"]
    # the per-stance truth holds each step's drop
    for st in r.truth["stances"][2:-3]:
        seg = r.obliquity_deg[_window(r, st["start_t_s"], st["start_t_s"] + 0.45)]
        measured = -float(seg.min()) if st["side"] == "right" else float(seg.max())
        assert abs(measured - st["swing_drop_deg"]) < 1.0
    left = _peaks_by_stance(simulate("walk-left-trendelenburg", seed=0, chip="ideal"))
    assert np.mean(left["left"]) > 7.0 and -5.0 < np.mean(left["right"]) < -1.5


def test_left_step_time_asymmetry() -> None:
    r = simulate("walk-left-step-time", seed=0, chip="ideal", duration_s=30.0)
    contacts = r.truth["contacts"]
    step = {"left": [], "right": []}
    for a, b in pairwise(contacts[1:]):
        step[b["side"]].append(b["t_s"] - a["t_s"])  # a side's step ends at its contact
    left, right = np.mean(step["left"]), np.mean(step["right"])
    si = (right - left) / (0.5 * (right + left)) * 100
    assert -16.0 < si < -8.0  # configured −12 %


def test_parameters_can_be_overridden() -> None:
    r = simulate("walk-normal", seed=0, chip="ideal", rotation_right_forward_deg=9.0)
    assert r.truth["params"]["rotation_right_forward_deg"] == 9.0
    assert r.rotation_deg.max() > 7.0
    with pytest.raises(SimError, match="no parameter"):
        simulate("walk-normal", drop_deg=3.0)
    with pytest.raises(SimError, match="unknown scenario"):
        simulate("walk-backwards")
    with pytest.raises(SimError, match="unknown IMU chip"):
        simulate("still", chip="bmi160")


def test_turns_starts_and_stops() -> None:
    r = simulate("walk-turns", seed=0, chip="ideal", lever_arm_m=(0, 0, 0))
    assert len(r.truth["bouts"]) == 2 and len(r.truth["turns"]) == 2
    assert abs(float(r.heading_deg[-1]) - (90.0 - 180.0)) < 1e-6
    # the vertical gyro integrates to the heading change (sensor aligned with the pelvis)
    turned = np.sum(r.gyr_dps[:, 2]) / r.rate_hz
    assert abs(turned - (-90.0)) < 5.0
    b0, b1 = r.truth["bouts"]
    assert all(b0["start_t_s"] < c["t_s"] <= b0["end_t_s"] or b1["start_t_s"] < c["t_s"] <= b1[
        "end_t_s"] for c in r.truth["contacts"])  # fmt: skip
    between = _window(r, b0["end_t_s"] + 0.5, b1["start_t_s"] - 0.2)
    assert np.std(r.acc_mps2[between, 2]) < 0.1  # standing still between bouts


def _hold(r: SimResult, trial: dict) -> slice:
    return _window(r, trial["lift_off_t_s"] + 1.0, trial["end_t_s"] - 0.5)


def test_single_leg_stance_truth_and_drop_sign() -> None:
    r = simulate("stance-left-trendelenburg", seed=0, chip="ideal")
    right, left = r.truth["trials"]
    assert (right["stance_side"], left["stance_side"]) == ("right", "left")
    assert left["free_side"] == "right" and left["free_side_drop_deg"] == 6.0
    # standing on the LEFT leg the free RIGHT side drops: left side higher, obliquity > 0
    assert 4.5 < np.median(r.obliquity_deg[_hold(r, left)]) < 7.5
    assert -3.0 < np.median(r.obliquity_deg[_hold(r, right)]) < 0.0
    for trial in (right, left):
        assert trial["baseline_start_t_s"] < trial["lift_off_t_s"] < trial["end_t_s"]
        assert trial["hold_s"] == pytest.approx(20.0)
    assert r.side == "both" and r.test == "balance" and r.condition == "eyes_open"


def test_eyes_closed_sways_more_and_touches_down() -> None:
    closed = simulate("stance-eyes-closed", seed=1, chip="ideal")
    opened = simulate("stance-eyes-open", seed=1, chip="ideal")

    def sway(r: SimResult) -> float:
        return float(np.mean([np.std(r.gyr_dps[_hold(r, t)], axis=0).sum()
                              for t in r.truth["trials"]]))  # fmt: skip

    assert sway(closed) > 1.6 * sway(opened)
    assert closed.condition == "eyes_closed"
    for trial in closed.truth["trials"]:
        (td,) = trial["touch_downs"]
        assert trial["lift_off_t_s"] < td["t_s"] < td["lift_t_s"] < trial["end_t_s"]
        # the pelvis levels out and steadies while the free foot is down
        down = _window(closed, td["t_s"] + 0.2, td["lift_t_s"])
        lifted = _window(closed, td["t_s"] - 1.5, td["t_s"])
        level = closed.obliquity_deg[down]
        assert abs(float(np.median(level)) - 0.2 * trial["hold_obliquity_deg"]) < 1.0
        assert np.std(closed.gyr_dps[down, 0]) < np.std(closed.gyr_dps[lifted, 0])


def test_bridges_weak_right_side() -> None:
    r = simulate("bridge-single-weak-right", seed=0, chip="ideal")
    reps = r.truth["reps"]
    assert [rep["support_side"] for rep in reps] == ["left"] * 3 + ["right"] * 3
    for rep in reps:
        assert rep["start_t_s"] < rep["top_t_s"] < rep["hold_end_t_s"] < rep["end_t_s"]
        top = r.obliquity_deg[_window(r, rep["top_t_s"] + 0.3, rep["hold_end_t_s"] - 0.3)]
        if rep["support_side"] == "right":  # weak: the free LEFT side sags → obliquity < 0
            assert rep["weak"] and -9.0 < float(np.median(top)) < -5.0
        else:  # strong left leg: the free right side sags a little → obliquity > 0
            assert not rep["weak"] and 0.0 < float(np.median(top)) < 2.5
    lifts = {rep["support_side"]: rep["lift_m"] for rep in reps}
    assert lifts["right"] < 0.8 * lifts["left"]
    # supine: the pelvis is turned ~90° back; lifting tilts it further back
    rep = reps[0]
    at = lambda t: float(np.interp(t, r.t_s, r.tilt_deg))  # noqa: E731
    assert -95.0 < at(rep["start_t_s"]) < -80.0 and at(rep["top_t_s"]) < at(rep["start_t_s"]) - 10


def test_double_bridge_is_level() -> None:
    r = simulate("bridge-double", seed=0, chip="ideal")
    assert len(r.truth["reps"]) == 3
    for rep in r.truth["reps"]:
        assert rep["kind"] == "double"
        top = r.obliquity_deg[_window(r, rep["top_t_s"], rep["hold_end_t_s"])]
        assert abs(float(np.median(top))) < 1.0


def test_sit_stand_transitions() -> None:
    r = simulate("sit-stand", seed=0, chip="ideal")
    kinds = [tr["kind"] for tr in r.truth["transitions"]]
    assert kinds == ["sit_down", "stand_up"] * 2
    sit, stand = r.truth["transitions"][:2]
    seated = _window(r, sit["end_t_s"] + 0.5, stand["start_t_s"] - 0.5)
    assert float(np.median(r.tilt_deg[seated])) < -5.0  # slumped: posterior tilt
    rising = _window(r, stand["start_t_s"], stand["end_t_s"])
    assert float(r.tilt_deg[rising].max()) > 15.0  # forward lean to stand up


def test_recording_round_trip_keeps_the_ground_truth(tmp_path: Path) -> None:
    from hipsense.recording import read_recording, write_recording

    r = simulate("walk-right-trendelenburg", seed=7, duration_s=6.0)
    for name in ("rec.parquet", "rec.csv"):
        path = write_recording(r.to_recording(), tmp_path / name)
        back = read_recording(path)
        assert back.meta.extra["ground_truth"]["contacts"] == r.truth["contacts"]
        assert back.meta.imu_chip == "mpu6886" and back.meta.test == "walk"
        np.testing.assert_allclose(back.data["obliquity_deg"], r.obliquity_deg)
        np.testing.assert_allclose(back.data["acc_z_mps2"], r.acc_mps2[:, 2])


def test_a_negative_drop_is_a_hike_of_the_free_side() -> None:
    r = simulate("stance-eyes-open", seed=0, chip="ideal", drop_in_right_stance_deg=-4.0,
                 sides=("right",))  # fmt: skip
    (trial,) = r.truth["trials"]
    assert r.side == "right"
    # standing on the right leg, the free left side is hiked: left higher, obliquity > 0
    assert 2.5 < float(np.median(r.obliquity_deg[_hold(r, trial)])) < 5.5


def test_per_side_rotation() -> None:
    r = simulate("walk-right-rotation", seed=0, chip="ideal", duration_s=20.0)
    lag = r.truth["params"]["rotation_lag_s"]
    peaks = {"left": [], "right": []}
    for c in r.truth["contacts"][3:-3]:
        peaks[c["side"]].append(float(np.interp(c["t_s"] + lag, r.t_s, r.rotation_deg)))
    assert 6.0 < np.mean(peaks["right"]) < 10.0  # right side forward 8°
    assert -4.5 < np.mean(peaks["left"]) < -1.5  # left side forward 3°

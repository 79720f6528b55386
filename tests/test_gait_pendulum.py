"""Step length from the inverted-pendulum model: the vertical excursion over one step and the
model's geometry."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from click.testing import CliRunner
from hipsense.cli import cli
from hipsense.detectors.walk.pendulum import GAIN, step_length_m, vertical_excursion_m
from hipsense.recording import write_recording
from hipsense.sim.scenarios import simulate
from hypothesis import given, settings
from hypothesis import strategies as st


@settings(max_examples=80, deadline=None)
@given(
    amplitude_m=st.floats(0.005, 0.05),
    step_s=st.floats(0.4, 1.4),
    phase=st.floats(0.0, 2 * math.pi),
    offset_mps2=st.floats(-0.5, 0.5),
)
def test_excursion_of_one_step_wave_is_its_peak_to_peak_whatever_the_phase(
    amplitude_m, step_s, phase, offset_mps2
):
    """The pelvis height z = A sin(ωt + φ) over one step: the excursion is 2A for any phase at
    which the step starts (a contact need not be at the lowest point), and a constant offset
    of the acceleration (gravity not fully removed) does not matter."""
    rate = 100.0
    t = np.arange(round(step_s * rate)) / rate
    w = 2 * math.pi / (len(t) / rate)
    acc = -amplitude_m * w * w * np.sin(w * t + phase) + offset_mps2
    assert vertical_excursion_m(acc, rate) == pytest.approx(2 * amplitude_m, rel=0.08)


def test_excursion_needs_samples_and_finite_values():
    assert math.isnan(vertical_excursion_m([0.1, -0.1], 100.0))
    assert math.isnan(vertical_excursion_m([0.1, np.nan, -0.1, 0.0, 0.2], 100.0))


def test_step_length_geometry():
    # rising 2 cm on a 0.9 m leg: 2 sqrt(2 l h - h^2) = 0.3768 m before the gain
    assert step_length_m(0.02, 0.9, gain=1.0) == pytest.approx(2 * math.sqrt(0.036 - 0.0004))
    assert step_length_m(0.02, 0.9) == pytest.approx(GAIN * step_length_m(0.02, 0.9, gain=1.0))
    assert math.isnan(step_length_m(math.nan, 0.9))
    assert math.isnan(step_length_m(2.0, 0.9))  # not below 2 l


def test_height_gives_step_length_and_speed_in_the_json_and_summary(tmp_path):
    path = write_recording(simulate("walk-normal", seed=1).to_recording(), tmp_path / "w.parquet")
    out = tmp_path / "w.json"
    res = CliRunner().invoke(cli, ["analyze", str(path), "--height", "175", "--json",
                                   "--out", str(out)])  # fmt: skip
    assert res.exit_code == 0, res.output
    doc = json.loads(out.read_text())
    pace = doc["pace"]
    assert pace["pendulum_m"] == pytest.approx(0.53 * 1.75, abs=1e-3)
    assert 100 < pace["cadence_steps_per_min"] < 125  # the scenario walks at 112 steps/min
    assert 0.5 < pace["speed_mps"] < 2.0
    for side in ("left", "right"):
        assert doc["per_side"][side]["step_length_m"]["n"] >= 10
    bout = doc["bouts"][0]
    assert bout["speed_mps"] is not None and bout["left"]["speed_mps"]["n"] > 0
    text = CliRunner().invoke(cli, ["analyze", str(path), "--height", "175"]).output
    assert "gait speed" in text and "steps/min" in text
    bare = CliRunner().invoke(cli, ["analyze", str(path)]).output
    assert "give the height (--height)" in bare
    bad = CliRunner().invoke(cli, ["analyze", str(path), "--height", "1.75"])
    assert bad.exit_code != 0 and "1.75" in bad.output


@pytest.mark.parametrize("stored", [170, 170.0, "170", True, None])
def test_a_walk_recorded_with_a_height_keeps_its_pace_when_analysed_again(tmp_path, stored):
    """`hipsense walk --height` gave step length and speed live, but `report`/`analyze` of the
    same file dropped them unless --height was typed again: the height is now in the recording."""
    rec = simulate("walk-normal", seed=1).to_recording()
    if stored is not None:
        rec.meta.extra["height_cm"] = stored
    path = write_recording(rec, tmp_path / "w.parquet")
    out = tmp_path / "w.json"
    res = CliRunner().invoke(cli, ["analyze", str(path), "--json", "--out", str(out)])
    assert res.exit_code == 0, res.output
    pace = json.loads(out.read_text())["pace"]
    if type(stored) in (int, float):
        assert pace["pendulum_m"] == pytest.approx(0.53 * 1.70, abs=1e-3)
        assert pace["speed_mps"] is not None
    else:  # only a number is a height
        assert pace.get("pendulum_m") is None

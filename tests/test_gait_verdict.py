"""Running statistics, symmetry indices and the asymmetry verdict on simulated walks."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hipsense.analysis.walk import analyse_walk
from hipsense.conventions.symmetry import symmetry_index_pct
from hipsense.detectors.walk.symmetry import RunningStats, SymmetryTracker, welch_ci
from hipsense.recording import Recording
from hipsense.report.layout import fmt_difference
from hipsense.sim.scenarios import simulate
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

values = st.lists(st.floats(-20, 20, allow_nan=False), min_size=3, max_size=40)


@settings(max_examples=60, deadline=None)
@given(values, values)
def test_running_stats_and_welch_interval_match_scipy(a, b):
    ra, rb = RunningStats(), RunningStats()
    for x in a:
        ra.add(x)
    for x in b:
        rb.add(x)
    assert ra.mean == pytest.approx(np.mean(a), abs=1e-9)
    assert ra.sd == pytest.approx(np.std(a, ddof=1), abs=1e-7)
    if np.std(a) < 1e-6 or np.std(b) < 1e-6:
        return
    d, lo, hi = welch_ci(ra, rb, 0.95)
    ci = stats.ttest_ind(a, b, equal_var=False).confidence_interval(0.95)
    assert d == pytest.approx(np.mean(a) - np.mean(b), abs=1e-9)
    assert (lo, hi) == pytest.approx((ci.low, ci.high), abs=1e-6)


def test_symmetry_index_definition():
    assert symmetry_index_pct(11.0, 9.0) == pytest.approx(20.0)
    assert symmetry_index_pct(0.0, 0.0) is None
    assert symmetry_index_pct(float("nan"), 1.0) is None


def test_no_verdict_before_enough_steps():
    tr = SymmetryTracker(min_steps=10)
    for _ in range(9):
        tr.add_stance("right", 9.0)
        tr.add_stance("left", 2.0)
    assert tr.verdict().status == "not_enough_data"
    tr.add_stance("right", 9.1)
    tr.add_stance("left", 2.1)
    v = tr.verdict()
    assert v.status == "asymmetric" and v.weak_side == "right"
    assert v.text.startswith(
        "Drop: beyond the minimal detectable change: the left side dropped 7.0° more during "
        "right stance"
    )
    assert "points to weaker right hip abductors" in v.text
    assert v.drop is not None and v.drop.tier == "beyond_mdc"


def _tracker(drop_r, drop_l, step_r, step_l, n=30, seed=0):
    rng = np.random.default_rng(seed)
    tr = SymmetryTracker(min_steps=10)
    for _ in range(n):
        tr.add_stance("right", drop_r + rng.normal(0, 1.0))
        tr.add_stance("left", drop_l + rng.normal(0, 1.0))
        tr.add_step_time("right", step_r + rng.normal(0, 0.03))
        tr.add_step_time("left", step_l + rng.normal(0, 0.03))
    return tr


@pytest.mark.parametrize(
    ("drop_r", "drop_l", "tier", "weak_words"),
    [(4.0, 4.0, "within_noise", False), (5.5, 4.0, "below_mdc", False),
     (9.0, 2.0, "beyond_mdc", True), (2.0, 9.0, "beyond_mdc", True)],
)  # fmt: skip
def test_drop_tiers_respect_noise_and_the_mdc(drop_r, drop_l, tier, weak_words):
    v = _tracker(drop_r, drop_l, 0.55, 0.55).verdict()
    assert v.drop is not None and v.drop.tier == tier
    assert ("points to weaker" in v.text) is weak_words
    d, (lo, hi) = v.drop.difference, v.drop.ci
    assert lo < d < hi
    assert (lo <= 0 <= hi) is (tier == "within_noise")
    if tier != "within_noise":
        assert v.drop.larger_side == ("right" if drop_r > drop_l else "left")
    doc = v.to_json()["tiers"]["drop"]
    assert doc["tier"] == tier and doc["mdc"] == 4.0 and "Youdas" in doc["mdc_source"]


def test_a_1_5_degree_difference_does_not_point_to_weak_abductors():
    v = _tracker(5.5, 4.0, 0.55, 0.55, n=60).verdict()
    assert v.drop is not None and v.drop.tier == "below_mdc"
    assert "below the minimal detectable change" in v.text
    assert "too small to point to weaker hip abductors" in v.text


def test_step_time_asymmetry_is_reported_even_when_the_drop_is_symmetric():
    v = _tracker(4.0, 4.0, 0.50, 0.60).verdict()  # SI about -18 %
    assert v.status == "symmetric"
    assert v.step_time is not None and v.step_time.tier == "beyond_noise"
    assert v.step_time.difference == pytest.approx(-18.2, abs=3.0)
    assert v.step_time.ci[1] < 0
    assert v.step_time.mdc is None
    assert "Step time: beyond measurement noise: steps ending at the right contact" in v.text
    same = _tracker(4.0, 4.0, 0.55, 0.55).verdict()
    assert same.step_time is not None and same.step_time.tier == "within_noise"


@pytest.mark.parametrize("seed", range(6))
def test_symmetric_walk_never_gives_an_asymmetry_verdict(seed):
    a = analyse_walk(simulate("walk-normal", seed=seed).to_recording())
    assert a.tracker.first_verdict_ is None
    assert a.tracker.verdict_.status == "symmetric"


@pytest.mark.parametrize(("scenario", "weak"), [("walk-right-trendelenburg", "right"),
                                                ("walk-left-trendelenburg", "left")])  # fmt: skip
@pytest.mark.parametrize("seed", range(3))
def test_trendelenburg_side_found_within_20_strides(scenario, weak, seed):
    r = simulate(scenario, seed=seed, drop_in_right_stance_deg=4.0 if weak == "right" else 2.0,
                 drop_in_left_stance_deg=4.0 if weak == "left" else 2.0)  # fmt: skip
    a = analyse_walk(r.to_recording())
    first = a.tracker.first_verdict_
    assert first is not None
    verdict, _ = first
    assert verdict.weak_side == weak
    assert max(verdict.steps_per_side) <= 20
    assert a.tracker.verdict_.difference_deg == pytest.approx(2.0 if weak == "right" else -2.0,
                                                              abs=0.6)  # fmt: skip


def test_verdict_with_the_host_filter_angles_raw_only():
    """Raw-only recording: angles from the host filter with the recorded mounting."""
    r = simulate("walk-right-trendelenburg", seed=1)
    rec = r.to_recording()
    raw = Recording(rec.meta, rec.data.drop(columns=["tilt_deg", "obliquity_deg", "rotation_deg"]))
    a = analyse_walk(raw)
    assert a.angles_source.startswith("host filter")
    assert a.tracker.verdict_.weak_side == "right"


@pytest.mark.parametrize("yaw_deg", [70.0, 200.0])
def test_unknown_mounting_is_estimated_from_the_stand_still_and_the_walk(yaw_deg):
    """Raw-only, no mounting in the metadata, sensor turned on the belt: the mounting comes
    from the recording's first still second and its walk; the weak side is still found."""
    import dataclasses

    from scipy.spatial.transform import Rotation

    x, y, z, w = Rotation.from_euler("zyx", [yaw_deg, 20.0, -10.0], degrees=True).as_quat()
    r = simulate("walk-left-trendelenburg", seed=1, mounting=[w, x, y, z])
    rec = r.to_recording()
    meta = dataclasses.replace(rec.meta, mounting=None)
    raw = Recording(meta, rec.data.drop(columns=["tilt_deg", "obliquity_deg", "rotation_deg"]))
    a = analyse_walk(raw)
    assert "mounting estimated" in a.angles_source
    assert a.tracker.verdict_.weak_side == "left"


def test_a_difference_that_rounds_to_zero_is_never_written_minus_zero():
    """-0.03° written "-0.0°" reads as a side that is not there."""
    tr = SymmetryTracker(min_steps=2)
    for drop_r, drop_l, step_r, step_l in [
        (3.0, 3.1, 0.55, 0.5502), (3.1, 3.1, 0.5501, 0.55), (3.02, 3.0, 0.55, 0.5501)
    ]:  # fmt: skip
        tr.add_stance("right", drop_r)
        tr.add_stance("left", drop_l)
        tr.add_step_time("right", step_r)
        tr.add_step_time("left", step_l)
    drop = tr.drop_tier()
    assert drop.tier == "within_noise" and -0.05 < drop.difference < 0
    assert "drop -0.1°" in drop.text  # the table's 3.0° and 3.1°: the page adds up
    assert "-0.0" not in tr.verdict().text


@pytest.mark.parametrize("scenario", ["walk-right-trendelenburg", "walk-normal"])
def test_the_verdict_made_when_read_is_the_one_made_at_every_step(scenario):
    """The tracker makes its verdict when it is read and checks only the drop's grade per step
    (issue 19): replayed step by step, the grade is the full verdict's, the verdict read after
    any step is the one made from the statistics then, and ``first_verdict_`` is the first
    asymmetric one of that replay."""
    a = analyse_walk(simulate(scenario, seed=2).to_recording())
    replay = SymmetryTracker()
    first = None
    statuses = set()
    for ev in a.events:
        step = ev.step
        if step is None or not step.valid or np.isnan(step.drop_deg):
            continue
        replay.add_stance(step.stance_side, step.drop_deg)
        replay.add_step_time(ev.contact.side, step.step_s)
        full = replay.verdict()
        statuses.add(full.status)
        assert replay.drop_grade() == replay.drop_tier().tier
        assert (replay.drop_grade() not in ("not_enough_data", "within_noise")) == (
            full.status == "asymmetric"
        )
        if first is None and full.status == "asymmetric":
            first = (full, step.t_end_s)
    assert a.tracker.verdict_ == replay.verdict()
    assert a.tracker.first_verdict_ == first
    if scenario == "walk-normal":
        assert first is None and statuses == {"not_enough_data", "symmetric"}
    else:
        assert first is not None and "asymmetric" in statuses


@given(
    st.floats(min_value=-9.0, max_value=9.0),
    st.floats(min_value=-9.0, max_value=9.0),
    st.floats(min_value=0.0, max_value=1.5),
)
def test_the_verdict_quotes_the_drop_difference_the_table_shows(
    right_deg: float, left_deg: float, spread_deg: float
) -> None:
    """The verdict said "dropped 6.7° more" beside a table of 8.8° and 2.2° (+6.6°): the
    verdict's figure is now the difference of the means as shown, so the page adds up."""
    tr = SymmetryTracker(min_steps=10)
    for k in range(12):
        wobble = spread_deg * (k % 3 - 1)
        tr.add_stance("right", right_deg + wobble)
        tr.add_stance("left", left_deg - wobble)
    tier = tr.drop_tier()
    table = fmt_difference(tr.drop_deg["right"].mean, tr.drop_deg["left"].mean, "°")
    quoted = re.search(r"(?:drop|dropped) ([+-]?\d+\.\d)°", tier.text)
    assert quoted is not None, tier.text
    assert abs(float(quoted.group(1))) == abs(float(table.rstrip("°"))), (tier.text, table)

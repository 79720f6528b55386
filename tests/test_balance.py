"""Single-leg stance: events against the simulator's truth, metrics, chunking, bad input."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hipsense.analysis import analyse
from hipsense.conventions.symmetry import symmetry_index_pct
from hipsense.detectors.balance.metrics import sway
from hipsense.detectors.balance.norms import hold_time_norm
from hipsense.motion.errors import InputError, NotWornError, PostureError, WrongTestError
from hipsense.report import write_report
from hipsense.sim.scenarios import simulate

TOL_S = 0.2  # per-event bound in the tests; docs/validation.md reports the rates within 100 ms


def _events(name: str, seed: int, **kw: object) -> tuple[dict, dict]:
    r = simulate(name, seed=seed, **kw)  # type: ignore[arg-type]
    return analyse(r.to_recording()).to_json(), r.truth


@pytest.mark.parametrize("seed", [0, 1])
def test_eyes_closed_lift_off_and_touch_downs_match_truth(seed: int) -> None:
    doc, truth = _events("stance-eyes-closed", seed)
    assert len(doc["trials"]) == len(truth["trials"]) == 2
    for got, true in zip(doc["trials"], truth["trials"], strict=True):
        assert got["stance_side"] == true["stance_side"]
        assert abs(got["lift_off_t_s"] - true["lift_off_t_s"]) < TOL_S
        assert abs(got["end_t_s"] - true["end_t_s"]) < TOL_S
        assert got["n_touch_downs"] == len(true["touch_downs"]) == 1
        assert abs(got["touch_downs"][0]["down_t_s"] - true["touch_downs"][0]["t_s"]) < TOL_S
        first = true["touch_downs"][0]["t_s"] - true["lift_off_t_s"]
        assert abs(got["hold_s"] - first) < 2 * TOL_S


@pytest.mark.parametrize(("name", "weak"), [("stance-right-trendelenburg", "right"),
                                            ("stance-left-trendelenburg", "left")])  # fmt: skip
def test_trendelenburg_drop_side_and_flag(name: str, weak: str) -> None:
    doc, truth = _events(name, 2)
    for got, true in zip(doc["trials"], truth["trials"], strict=True):
        assert abs(got["free_side_drop_deg"] - true["free_side_drop_deg"]) < 1.0
        assert got["trendelenburg"] == (true["stance_side"] == weak)
    assert doc["comparison"]["weaker_side"] == weak


def test_steady_stance_raises_no_flag_and_is_symmetric() -> None:
    doc, truth = _events("stance-eyes-open", 3)
    assert not any(t["trendelenburg"] for t in doc["trials"])
    assert doc["comparison"]["weaker_side"] is None
    assert all(t["n_touch_downs"] == 0 for t in doc["trials"])
    for got, true in zip(doc["trials"], truth["trials"], strict=True):
        assert abs(got["hold_s"] - true["hold_s"]) < 2 * TOL_S


def test_hike_is_a_negative_drop() -> None:
    doc, _ = _events("stance-eyes-open", 4, drop_in_right_stance_deg=-4.0)
    right = next(t for t in doc["trials"] if t["stance_side"] == "right")
    assert right["free_side_drop_deg"] < -3.0 and not right["trendelenburg"]


def test_eyes_closed_sways_more() -> None:
    open_, _ = _events("stance-eyes-open", 5)
    closed, _ = _events("stance-eyes-closed", 5)
    for key in ("obliquity_rms_deg", "ellipse95_area_deg2", "jerk_rms_mps3"):
        assert closed["per_side"]["right"]["sway"][key] > open_["per_side"]["right"]["sway"][key]


def test_random_chunks_give_identical_results() -> None:
    rec = simulate("stance-eyes-closed", seed=6).to_recording()
    whole = analyse(rec, chunk=100_000).to_json()
    sizes = np.random.default_rng(0).integers(1, 300, 64).tolist()
    assert analyse(rec, chunk=sizes).to_json() == whole
    json.dumps(whole, allow_nan=False)  # strict JSON


def test_json_document_shape() -> None:
    doc = analyse(simulate("stance-eyes-open", seed=0).to_recording(), age_years=65).to_json()
    assert doc["kind"] == "hipsense-balance" and doc["version"] == 1
    assert set(doc["per_side"]) == {"left", "right"}
    assert {"hold_s", "free_side_drop_deg", "sway", "weaker_side"} <= set(doc["comparison"])
    assert doc["norm"]["mean_hold_s"] == 27.0 and "Bohannon" in doc["norm"]["source"]
    assert "Youdas" in doc["thresholds"]["trendelenburg_reference"]


def test_sway_metrics_of_known_signals() -> None:
    rate = 100.0
    t = np.arange(0, 10, 1 / rate)
    tilt = np.sin(2 * np.pi * 0.5 * t)
    obl = 2 * np.cos(2 * np.pi * 0.5 * t)
    s = sway(tilt, obl, np.zeros((t.size, 2)), rate)
    assert s["tilt_rms_deg"] == pytest.approx(1 / np.sqrt(2), rel=1e-2)
    assert s["obliquity_rms_deg"] == pytest.approx(np.sqrt(2), rel=1e-2)
    # uncorrelated: area = pi * chi2 * sd1 * sd2
    assert s["ellipse95_area_deg2"] == pytest.approx(np.pi * 5.991 * np.sqrt(0.5 * 2), rel=2e-2)
    assert s["tilt_path_deg"] == pytest.approx(4 * 5, rel=2e-2)  # 5 cycles of 4° each


def test_symmetry_index_and_norms() -> None:
    assert symmetry_index_pct(11.0, 9.0) == pytest.approx(20.0)
    assert symmetry_index_pct(0.0, 0.0) is None
    assert hold_time_norm(75, "eyes_open")["mean_hold_s"] == 17.2
    assert hold_time_norm(30, "eyes_open")["mean_hold_s"] is None
    closed = hold_time_norm(45, "eyes_closed")
    assert (closed["mean_hold_s"], closed["sd_hold_s"], closed["age_band"]) == (24.1, 9.1, "40-49")
    assert "s41598-025-86514-w" in closed["source"]
    assert hold_time_norm(70, "eyes_closed")["mean_hold_s"] is None  # beyond the cohort's ages
    assert hold_time_norm(19, "eyes_closed")["mean_hold_s"] is None


def test_not_worn_is_refused() -> None:
    rec = simulate("still", seed=0, chip="ideal").to_recording()
    rec.meta.test = "balance"
    data = rec.data
    for c in ("gyr_x_dps", "gyr_y_dps", "gyr_z_dps"):
        data[c] = 0.0
    for c, v in (("acc_x_mps2", 0.0), ("acc_y_mps2", 0.0), ("acc_z_mps2", 9.80665)):
        data[c] = v
    with pytest.raises(NotWornError, match=r"not worn|flat"):
        analyse(rec)


def test_quiet_standing_has_no_lift_off() -> None:
    rec = simulate("still", seed=1).to_recording()
    with pytest.raises(NotWornError, match="no lift-off"):
        analyse(rec, "balance")  # "still" is not refused by name: no test of its own


def test_other_test_and_wrong_posture_refused() -> None:
    rec = simulate("bridge-double", seed=0).to_recording()
    with pytest.raises(WrongTestError, match="bridge"):
        analyse(rec, "balance")
    rec.meta.test = None
    with pytest.raises(PostureError):
        analyse(rec, "balance")


def test_report_written(tmp_path) -> None:  # type: ignore[no-untyped-def]
    result = analyse(simulate("stance-right-trendelenburg", seed=0).to_recording())
    page, pdf = write_report(result, tmp_path / "stance")
    assert pdf.read_bytes().startswith(b"%PDF")
    text = page.read_text()
    assert "weaker hip abductors on the right side" in text and "beyond the MDC" in text


def test_stance_leg_from_the_weight_shift_overrides_a_wrong_protocol() -> None:
    r = simulate("stance-right-trendelenburg", seed=7)
    rec = r.to_recording()
    doc = analyse(rec, sides=["left", "right"]).to_json()  # the reverse of what happened
    assert [t["stance_side"] for t in doc["trials"]] == ["right", "left"]
    assert len(doc["warnings"]) == 2 and "shifted" in doc["warnings"][0]
    assert all(3.0 < abs(t["weight_shift_cm"]) < 20.0 for t in doc["trials"])  # truth 7 cm


def test_button_is_the_fallback_when_the_recording_stops_during_the_hold() -> None:
    r = simulate("stance-eyes-open", seed=8)
    rec = r.to_recording()
    t_cut = r.truth["trials"][1]["lift_off_t_s"] + 10.0
    rec.data = rec.data.loc[rec.data["t_s"] < t_cut].reset_index(drop=True)
    no_button = analyse(rec, chunk=300).to_json()["trials"][1]
    assert no_button["end_source"] == "recording end"
    press = int(np.searchsorted(rec.data["t_s"].to_numpy(), t_cut - 2.0))
    rec.data.loc[press, "marker"] = 256  # MARKER_BUTTON
    doc = analyse(rec).to_json()
    trial = doc["trials"][1]
    assert trial["end_source"] == "button" and abs(trial["end_t_s"] - (t_cut - 2.0)) < 0.02
    assert doc["trials"][0]["end_source"] == "sensor"  # the sensor's own end is kept


def test_no_weight_shift_and_no_protocol_names_the_option_to_pass() -> None:
    """A stance leg that neither the sensor nor the file tells: the message says what a
    user types (``--sides right,left``, one leg per trial), not a Python list."""
    from hipsense.analysis.balance import trial_sides
    from hipsense.detectors.balance.events import StanceTrial

    level = [StanceTrial(lift_off_t_s=t, baseline_tilt_deg=0.0, baseline_obliquity_deg=0.0,
                         shift_m=0.0) for t in (5.0, 50.0)]  # fmt: skip
    with pytest.raises(InputError, match=r"trial 1: .*--sides right,left") as err:
        trial_sides(level, None)
    assert "[" not in str(err.value)
    assert trial_sides(level, ["left", "right"])[0] == ["left", "right"]


def test_sway_panels_share_one_scale_so_the_legs_compare_at_a_glance() -> None:
    """The two legs' sway plots use the same axis ranges, with as many degrees per unit
    length across as up: a larger ellipse is a larger sway, not another automatic scale."""
    from hipsense.analysis.balance import BalanceAnalysis
    from hipsense.report.balance import build_page

    result = analyse(simulate("stance-right-trendelenburg", seed=0).to_recording())
    assert isinstance(result, BalanceAnalysis)
    import matplotlib.pyplot as plt

    charts = build_page(result).charts
    sway = next(c for c in charts if c.title == "Sway per leg")
    left, right = sway.figure.axes
    for chart in charts:
        plt.close(chart.figure)
    assert left.get_xlim() == right.get_xlim() and left.get_ylim() == right.get_ylim()
    (x0, x1), (y0, y1) = left.get_xlim(), left.get_ylim()
    assert math.isclose(x1 - x0, y1 - y0, rel_tol=1e-9)
    for ax in (left, right):  # every trace is inside the common frame
        for line in ax.get_lines():
            xs, ys = np.asarray(line.get_xdata(), float), np.asarray(line.get_ydata(), float)
            if xs.size > 2:
                assert x0 <= xs.min() and xs.max() <= x1 and y0 <= ys.min() and ys.max() <= y1


def test_fewer_trials_than_the_protocol_says_the_recording_may_have_ended_early() -> None:
    """Ctrl-C after the first of two trials noted "the protocol lists 2 trial(s) but the
    sensor found 1", which reads as a fault of the sensor; now it says what happened."""
    from hipsense.analysis.balance import trial_sides
    from hipsense.detectors.balance.events import StanceTrial

    one = [StanceTrial(lift_off_t_s=5.0, baseline_tilt_deg=0.0, baseline_obliquity_deg=0.0,
                       shift_m=-0.05)]  # fmt: skip
    sides, notes = trial_sides(one, ["right", "left"])
    assert sides == ["right"]
    assert any("1 of the 2 trials" in n and "ended early" in n for n in notes), notes
    three = one * 3
    _, notes = trial_sides(three, ["right", "left"])
    assert any("found 3 trials, the protocol lists 2" in n for n in notes), notes


@pytest.mark.parametrize("sides", ["left", ["up", "down"], [1, 2]])
def test_a_file_whose_protocol_names_impossible_legs_is_read_without_them(sides) -> None:  # type: ignore[no-untyped-def]
    """A damaged or hostile file's protocol "sides" ("left" as a string: l, e, f, t; legs that
    are none): read as if no legs were recorded, never "the protocol asked for the down leg";
    legs given by the caller that are not legs are refused by name."""
    from hipsense.analysis.balance import protocol_sides

    rec = simulate("stance-eyes-open", seed=0).to_recording()
    expected = protocol_sides(rec, None)  # the simulator's
    rec.meta.extra["protocol"] = {"sides": sides}
    assert protocol_sides(rec, None) == expected
    assert not any("the protocol asked for" in w for w in analyse(rec).to_json()["warnings"])
    with pytest.raises(InputError, match="'up'"):
        protocol_sides(rec, ["left", "up"])

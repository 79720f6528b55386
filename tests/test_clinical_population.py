"""A fixed small sample of the simulated population (hipsense.sim.population) through the
stance and bridge analyses: a regression in the detectors or the population model fails here.
The full rates are in docs/validation.md (benchmarks/clinical_validation.py)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
from hipsense.analysis import analyse
from hipsense.sim.population import (
    Person,
    Placement,
    bridge_people,
    simulate_person,
    stance_people,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from clinical_validation import (  # pyright: ignore[reportMissingImports]
    bridge_records,
    stance_records,
)


def test_population_is_seeded_and_varied() -> None:
    a, b = stance_people(30, seed=4), stance_people(30, seed=4)
    assert [p.params for p in a] == [p.params for p in b]
    scales = [p.strata["sway_scale"] for p in a]
    assert min(scales) < 0.7 and max(scales) > 1.5
    assert {p.placement.where for p in a} == {"back", "front"}
    assert any(not p.strata["followed_protocol"] for p in stance_people(100, seed=0))
    devs = {p.strata["deviation"] for p in bridge_people(60, seed=0)}
    assert {"none", "extra rep", "missing rep", "abandoned"} <= devs


def test_placement_mounting_is_a_rotation_and_front_turns_about_up() -> None:
    q = np.array(Placement("front", 0.0, 0.0).mounting_wxyz())
    assert np.isclose(np.linalg.norm(q), 1.0)
    assert np.allclose(np.abs(q), [0.0, 0.0, 0.0, 1.0], atol=1e-9)  # 180° about z
    assert Placement("front", 0.0, 0.0).lever_arm_m()[0] > 0.0


def test_person_follows_the_plan_not_the_protocol() -> None:
    p = next(p for p in bridge_people(60, seed=0) if p.strata["deviation"] == "extra rep")
    result, rec = simulate_person(p)
    assert len(result.truth["reps"]) == len(p.params["sequence"]) * p.params["reps"] + 1
    assert rec.meta.extra["protocol"]["sets"] == list(p.params["sequence"])


def test_stance_sample_rates() -> None:
    """A regression gate at this sample's measured rates (2026-12-07: every lift-off, final
    touch-down, stance leg and drop, 16/16, since rest beside a weight shift is judged without
    the lagging offset; 14/16 lift-offs before, and 11, 14, 15, 15 before the round that added
    relative end rules); the population's rates on held-out seeds: docs/validation.md."""
    trials, _ = stance_records(stance_people(8, seed=1))
    assert len(trials) == 16
    assert all(t["lift"] for t in trials)
    assert all(t["end"] for t in trials)
    assert all(t["leg"] for t in trials)
    assert all(t["drop"] for t in trials)


def test_steady_balancer_lift_off_and_touch_down_are_found() -> None:
    """Issue 15: a person who stands still on one leg (hold sway ≈ 1.3 °/s, no drop, no tilt,
    slow foot lift) was invisible to a sway-only detector; the weight shift dates the lift-off,
    and the end is found against the person's own sway level (a fixed quiet level ended such
    holds at the first quiet second, or at a lull in the sway: 6/8 ends before)."""
    import dataclasses

    people = []
    for p in stance_people(4, seed=3):
        steady = dict(p.params, sway_scale=0.3, hip_corrections_per_min=1.0,
                      arm_moves_per_min=0.0, lift_tilt_deg=0.0, drop_in_right_stance_deg=0.0,
                      drop_in_left_stance_deg=0.0, lift_s=0.8, touch_downs_after_lift_s=(),
                      touch_down_kinds=(), end_kind="step")  # fmt: skip
        people.append(dataclasses.replace(p, params=steady))
    trials, _ = stance_records(people)
    assert len(trials) == 8
    assert all(t["lift"] for t in trials)
    assert all(t["leg"] for t in trials)
    assert all(t["end"] for t in trials)


def test_bridge_sample_rates() -> None:
    recs = bridge_records(bridge_people(6, seed=2))
    assert all(r["exact"] for r in recs)  # including an abandoned set
    # every rep's leg right (34/34, 2026-12-07, the session read as a whole), none of those
    # the sensor determined wrong (person 5: a level set, one stray twist of 2.8°, made a set
    # of its own when the twist noise was taken as 0.7°)
    assert sum(r["vis_right"] for r in recs) == sum(r["vis"] for r in recs)
    assert sum(r["legs_right"] for r in recs) == sum(r["legs"] for r in recs)
    assert sum(r["determined_wrong"] for r in recs) == 0
    assert all(r["weak_ok"] for r in recs if r["weak_case"] in ("beyond", "none"))
    assert any(r["weak_case"] == "beyond" for r in recs)


def test_bridge_tuning_people_read_by_the_whole_session() -> None:
    """Issue 15, tuning people the rep-by-rep rules got wrong (seed 11: #86 right,left done
    left,right with a level set, 3 of 4 reps wrong; #185 both,left,right done in reverse, 4 of
    6; seed 12: #66 a double-leg set whose false twist of 2-3° read as the left leg, 2 of 2)
    and one whose slow 8° lift was not counted (seed 11 #165: 9 reps of 10)."""
    people = [bridge_people(186, seed=11)[k] for k in (86, 165, 185)]
    people.append(bridge_people(67, seed=12)[66])
    recs = bridge_records(people)
    assert all(r["exact"] for r in recs)
    assert [r["legs_right"] for r in recs] == [r["legs"] for r in recs]
    assert sum(r["determined_wrong"] for r in recs) == 0


def _variants(seed: int, n: int, **changes: object) -> list[Person]:
    """The first ``n`` stance people of ``seed`` with ``changes`` to their parameters."""
    import dataclasses

    return [
        dataclasses.replace(p, params=dict(p.params, **changes))
        for p in stance_people(n, seed=seed)
    ]


def test_a_slow_weight_shift_dates_the_lift_off_at_its_end() -> None:
    """A weight shift of 1.4–1.5 s: the matched filter's templates are 20 % apart and its
    "at rest after" test rejects windows reaching into single-leg sway, so the move found
    ended up to 0.2 s early (the lift-off with it); the fit on the sample grid finds the end."""
    people = _variants(8, 4, shift_s=1.47, weight_shift_m=0.08, lift_s=0.6,
                       touch_downs_after_lift_s=(), touch_down_kinds=())  # fmt: skip
    trials, _ = stance_records(people)
    assert len(trials) == 8
    assert all(t["lift"] for t in trials)
    assert all(t["leg"] for t in trials)


def test_a_hand_to_the_wall_mid_hold_does_not_end_the_trial() -> None:
    """A brief touch-down after a weight shift (a hand to a wall, a toe tap) without the
    weight going back onto both feet is not the final touch-down: the trial goes on (a
    steady person's touch ended the trial 19 s early, and the next trial was lost)."""
    people = _variants(4, 4, sway_scale=0.5, hip_corrections_per_min=1.0,
                       arm_moves_per_min=0.0, hold_s=25.0, touch_downs_after_lift_s=(9.0,),
                       touch_down_kinds=("wall",), touch_down_s=1.1,
                       end_kind="step")  # fmt: skip
    trials, _ = stance_records(people)
    assert len(trials) == 8
    assert all(t["end"] for t in trials)
    assert all(t["lift"] for t in trials)


def _people(seed: int, ids: tuple[int, ...]) -> list[Person]:
    everyone = stance_people(max(ids) + 1, seed=seed)
    return [everyone[i] for i in ids]


def test_a_second_trials_weight_shift_is_seen_after_the_first_trials_posture_change() -> None:
    """After the first trial the gravity share of the obliquity change (and a gyroscope's
    bias) is taken out only over seconds: an offset of 0.2–0.5 m/s² made the 0.45 s "at rest
    before" margin of a clean 9 cm shift read 1.5–3 times the shift's peak speed, the shift
    was rejected and the lift-off dated by sway 0.5–0.6 s late (two people of tuning seed 12)."""
    trials, _ = stance_records(_people(12, (48, 80)))
    assert len(trials) == 4
    assert all(t["lift"] for t in trials)
    assert all(t["leg"] for t in trials)


def test_a_lull_in_a_steady_hold_does_not_end_the_trial() -> None:
    """A steady person's sway lulls mid-hold: the quiet rule ended the trial 11–22 s early and
    the rest of the hold came back as an extra trial without a weight shift (three people of
    tuning seed 11, two of them here). With no lateral move since the lull the hold resumes.
    (The third, person 96, has a 2.2 cm move after the lull: see the next test.)"""
    people = _people(11, (32, 81))
    trials, _ = stance_records(people)
    assert len(trials) == 4
    assert all(t["end"] for t in trials)
    assert all(t["lift"] for t in trials)


def _trials_found(person: Person) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The trials the analysis found in the person's recording, and the simulated truth."""
    result, rec = simulate_person(person)
    return analyse(rec).to_json()["trials"], result.truth["trials"]


def _assert_trials_start_before_they_end(found: list[dict[str, Any]]) -> None:
    for tr in found:
        lift = tr["lift_off_t_s"]
        assert tr["end_t_s"] > lift, tr
        assert tr["hold_s"] > 0.0 and tr["total_s"] > 0.0, tr
        assert all(lift < td["down_t_s"] for td in tr["touch_downs"]), tr


def test_a_move_back_reported_late_does_not_start_a_trial_ending_before_its_lift_off() -> None:
    """Person 96 of tuning seed 11: after a lull ended the first hold by quiet, a 2.2 cm move
    just before the step down started a trial; the move back onto both feet, reported late,
    began before that lift-off, and the trial was dated to end 0.34 s before it started. The
    move back withdraws it and ends the lulled hold instead."""
    found, truth = _trials_found(_people(11, (96,))[0])
    _assert_trials_start_before_they_end(found)
    assert len(found) == len(truth) == 2
    for got, want in zip(found, truth, strict=True):
        assert abs(got["lift_off_t_s"] - want["lift_off_t_s"]) <= 0.1
        assert abs(got["end_t_s"] - want["end_t_s"]) <= 0.1


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.sampled_from([11, 12]),
    index=st.integers(0, 39),
    sway_scale=st.floats(0.15, 1.5),
    hold_s=st.floats(6.0, 30.0),
)
def test_every_trial_found_ends_after_its_lift_off(
    seed: int, index: int, sway_scale: float, hold_s: float
) -> None:
    """Whatever the person (tuning seeds only), no trial ends before it starts: end after
    lift-off, a positive hold and total time, no touch-down before the lift-off."""
    import dataclasses

    p = _people(seed, (index,))[0]
    params = dict(p.params, sway_scale=sway_scale, hold_s=hold_s,
                  touch_downs_after_lift_s=tuple(x for x in p.params["touch_downs_after_lift_s"]
                                                 if x < hold_s - 2.0))  # fmt: skip
    params["touch_down_kinds"] = tuple(p.params["touch_down_kinds"])[
        : len(params["touch_downs_after_lift_s"])
    ]
    found, _ = _trials_found(dataclasses.replace(p, params=params))
    _assert_trials_start_before_they_end(found)


def test_a_hand_to_the_wall_then_the_foot_down_ends_at_the_hand() -> None:
    """A trial ended by a hand to a wall and the foot put down 0.5 s later: the motion between
    passed for a re-lift, so the hand was a brief touch-down and the end came 0.5 s late (one
    person of each tuning seed)."""
    people = _people(11, (35,)) + _people(12, (34,))
    trials, _ = stance_records(people)
    assert len(trials) == 4
    assert all(t["end"] for t in trials)


def test_the_first_trials_weight_shift_is_seen_at_the_start_of_the_recording() -> None:
    """Tuning seed 12: person 26's 3 cm shift 3.4 s into the recording was rejected as "not
    at rest" (the matched filter's gyro mean started from one sample, 0.7 °/s off the bias:
    a 0.24 m/s² offset) and the lift-off dated by sway 1.9 s late on the wrong leg; person
    27's sway rose 1.4 s after a 7 cm shift not yet reported, and the trial was lost. The
    means averaged from the start must not make a move of their own either (a 2 cm "move"
    from 0.4 s to 2.3 s started person 39's trial of seed 11 3.2 s early, one from 1.8 s to
    3.7 s person 126's of seed 12 1.2 s early)."""
    found, truth = _trials_found(_people(12, (26,))[0])
    assert len(found) == len(truth) == 2
    for got, want in zip(found, truth, strict=True):
        assert abs(got["lift_off_t_s"] - want["lift_off_t_s"]) <= 0.1
        assert got["stance_side"] == want["stance_side"]
        assert got["lift_off_cue"] == "weight shift"
    trials, _ = stance_records(_people(12, (27, 126)) + _people(11, (39,)))
    assert len(trials) == 6
    assert all(t["lift"] and t["leg"] for t in trials)


def test_a_slow_shift_ends_where_the_lift_begins() -> None:
    """Tuning seed 11, person 189: a 1.46 s shift whose end was fitted with rest after it,
    where the lift and single-leg sway begin: the lift-off came 103 ms early."""
    found, truth = _trials_found(_people(11, (189,))[0])
    assert len(found) == len(truth) == 2
    for got, want in zip(found, truth, strict=True):
        assert abs(got["lift_off_t_s"] - want["lift_off_t_s"]) <= 0.06


def test_a_step_down_is_dated_at_the_pelvis_levelling() -> None:
    """Final touch-downs dated by the quiet rule's settling onset (the largest jerk, often the
    end of the foot's move) or by the start of the weight's move back (blurred by sway) were
    0.1–0.25 s off (persons 4 and 145 of tuning seed 12, 92 of seed 11: -0.18, -0.25 and
    -0.13 s); the onset of the pelvis's levelling as the foot goes down dates them."""
    trials, _ = stance_records(_people(12, (4, 145)) + _people(11, (92,)))
    assert len(trials) == 6
    assert all(t["end"] for t in trials)
    assert all(t["lift"] for t in trials)


def test_a_light_hand_to_the_wall_at_the_end_dates_the_end() -> None:
    """A hand to a wall at the end whose jolt (28–34 m/s³) was under the jolt threshold of
    35 m/s³: the end was dated at the foot going down 0.5 s later (persons 82 and 160 of
    tuning seed 11, 191 of seed 12)."""
    people = _people(11, (82, 160)) + _people(12, (191,))
    assert all(p.params["end_kind"] == "wall" for p in people)
    trials, _ = stance_records(people)
    assert len(trials) == 6
    assert all(t["end"] for t in trials)


def test_a_trial_dated_from_a_pending_shift_takes_the_final_shifts_distance() -> None:
    """Tuning seed 12, person 121: the second trial was dated from a weight shift found but
    not yet reported (7.9 cm); the window finally reported for it was 10.8 cm, but the trial
    kept 7.9, so a smaller move back (≥ 65 % of 7.9, not of 10.8) passed for the weight going
    back onto both feet and the trial ended 1.03 s early."""
    found, truth = _trials_found(_people(12, (121,))[0])
    assert len(found) == len(truth) == 2
    for got, want in zip(found, truth, strict=True):
        assert abs(got["lift_off_t_s"] - want["lift_off_t_s"]) <= 0.1
        assert abs(got["end_t_s"] - want["end_t_s"]) <= 0.1

"""Regression tests on real lower-back walking: every folder of ``../shared/benchmarks`` in the
gait benchmark layout (mobgap's HA_001/HA_002 with INDIP contacts; the IPOL healthy adults with
hand-checked foot-IMU contacts and the semiogram patients), each recording read as a user would
(``--column-map``, its own ``--axes``), whole recordings, causal. The thresholds sit just under
the figures measured on 2026-12-07 (docs/validation.md), so a regression fails:

===============================  ======  =========
figure                           gait    gait-ipol
===============================  ======  =========
contacts F1 (strict)             0.846   0.945
contacts F1 (edge-tolerant)      0.877   0.966
left/right with --axes           0.991   0.994
left/right without --axes        0.981   0.994
===============================  ======  =========

and per participant (at least 50 contacts) left/right ≥ 0.986 for the healthy adults, 0.938 for
SEMIO_ms (0.920 without the per-walk cue weights); sides not flagged uncertain all right, pooled
and per participant (the uncertain ones 0.927, 8.2 % of the steps); the side cue's reading lag
found again when started 40 ms late (IPOL_07 0.925, IPOL_13); no recording's sides mirrored
without --axes unless the result says the forward direction is ambiguous; the distance walked on
the IPOL 10 m walkway within 0.73 m (mean absolute, gain left one participant out); contacts
emitted within 300 ms but for 11 of 2002 steps (HA_002 5, IPOL_03 2, SEMIO_ms 4; median 170 ms,
longest 440 ms), every step of every other participant; MS_001 F1 0.851 (at least mobgap's best
there, 0.848), left/right 0.915 with and without --axes, 0.971 where not flagged uncertain (26 %
flagged).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from hipsense.analysis.walk import analyse_walk
from hipsense.detectors.walk.contacts import ContactDetector
from hipsense.detectors.walk.pendulum import GAIN, LEG_PER_HEIGHT
from hipsense.detectors.walk.scoring import MISS_KINDS, ContactTally, reference_recordings
from hipsense.motion.sources import host_mounting, left_axis_sensor, raw_arrays
from hipsense.recording.importer import read_foreign_csv

COLUMN_MAP = {"t_s": "time_s", **{f"acc_{a}_mps2": f"acc_{a}" for a in "xyz"},
              **{f"gyr_{a}_dps": f"gyr_{a}" for a in "xyz"}}  # fmt: skip


@dataclass
class Tally:
    strict: ContactTally = field(default_factory=ContactTally)
    edge: ContactTally = field(default_factory=ContactTally)
    sides: list[bool] = field(default_factory=list)
    sides_no_axes: list[bool] = field(default_factory=list)
    uncertain: list[bool] = field(default_factory=list)
    latency_s: list[float] = field(default_factory=list)


@dataclass
class Results:
    sets: dict[str, Tally] = field(default_factory=dict)
    people: dict[str, Tally] = field(default_factory=dict)
    mirrored_unflagged: list[str] = field(default_factory=list)
    ambiguous: list[str] = field(default_factory=list)
    not_walking: list[str] = field(default_factory=list)  # the plausibility gate refused it
    n_recordings: int = 0
    parts_m: dict[str, list[float]] = field(default_factory=dict)  # IPOL, gain 1


def _score(root: Path) -> Results:
    res = Results()
    for folder in ("gait", "gait-ipol"):
        for r in reference_recordings(root / folder):
            rec = read_foreign_csv(r.imu, COLUMN_MAP)
            pendulum = None if r.height_m is None else LEG_PER_HEIGHT * r.height_m
            a = analyse_walk(rec, axes=r.axes, sensor_height_m=pendulum)
            b = analyse_walk(rec)
            det = [e.contact.t_s for e in a.events]
            assert det == [e.contact.t_s for e in b.events]
            person = [res.people.setdefault(f"{folder}/{r.participant}", Tally())]
            groups = (person if r.reference_ok else []) + (
                [res.sets.setdefault(folder, Tally())] if r.pooled else []
            )
            ref_side, ref_t = r.ic["side"].to_numpy(), r.ic["time_s"].to_numpy()
            ok_no_axes = []
            for g in groups:
                pairs = g.strict.add(det, r.ic, r.gs)
                g.edge.add(det, r.ic, r.gs, edge_tolerant=True)
                g.sides += [a.events[i].contact.side[0].upper() == ref_side[j] for i, j in pairs]
                g.uncertain += [abs(a.events[i].contact.side_score) < 1.0 for i, _ in pairs]
                ok_no_axes = [b.events[i].contact.side[0].upper() == ref_side[j] for i, j in pairs]
                g.sides_no_axes += ok_no_axes
                g.latency_s += [a.events[i].contact.t_detected_s - ref_t[j] for i, j in pairs]
            res.n_recordings += 1
            if not (a.walking_found and b.walking_found):
                res.not_walking.append(f"{r.participant}/{r.name}")
            if b.forward_ambiguous:
                res.ambiguous.append(f"{r.participant}/{r.name}")
            if ok_no_axes and np.mean(ok_no_axes) < 0.5 and not b.forward_ambiguous:
                res.mirrored_unflagged.append(f"{r.participant}/{r.name}")
            if r.participant.startswith("IPOL_") and r.pooled and len(r.gs) == 2:
                steps = [e.step for e in a.events if e.step is not None and e.step.valid]
                for g in r.gs.to_dict("records"):
                    inside = [s.step_length_m / GAIN for s in steps
                              if g["start_s"] - 0.25 <= s.t_start_s
                              and s.t_end_s <= g["end_s"] + 0.25]  # fmt: skip
                    if len(inside) >= 4:
                        res.parts_m.setdefault(r.participant, []).append(
                            float(np.sum(inside) + np.mean(inside))
                        )
    return res


@pytest.fixture(scope="module")
def real(shared_benchmarks_dir) -> Results:
    return _score(shared_benchmarks_dir)


@pytest.fixture(scope="module")
def shared_benchmarks_dir() -> Path:
    from hipsense import paths

    root = paths.shared_dir() / "benchmarks"
    if not (root / "gait-ipol").is_dir() or not (root / "gait").is_dir():
        pytest.skip(f"public benchmark data not found at {root} (see docs/validation.md)")
    return root


@pytest.mark.parametrize(
    ("folder", "n_ref", "f1", "f1_edge", "sides", "sides_no_axes"),
    [("gait", 127, 0.845, 0.875, 0.985, 0.975), ("gait-ipol", 2030, 0.943, 0.964, 0.993, 0.99)],
)
def test_contacts_and_sides_per_set(real, folder, n_ref, f1, f1_edge, sides, sides_no_axes):
    t = real.sets[folder]
    assert t.strict.tp + t.strict.fn == n_ref
    assert t.strict.f1 >= f1
    assert t.edge.f1 >= f1_edge
    assert np.mean(t.sides) >= sides
    assert np.mean(t.sides_no_axes) >= sides_no_axes
    # unknown mounting: within 0.02 of the figure with the mounting given
    assert abs(np.mean(t.sides) - np.mean(t.sides_no_axes)) <= 0.02


def test_the_healthy_adults_misses_are_the_windows_edges_and_the_stop(real):
    """A sequence starts at its first reference contact and ends one sample after its last, so
    a detection of the first a few ms early or of the last a few ms late is outside it: of the
    ten healthy IPOL adults' 118 misses 77 are such (31 first contacts detected early, 46 last
    ones late, by a median of 30 ms: the timing scatter of every contact, mid-walk 10 ms IQR
    either side). The detector's own misses are the stop: 33 closing steps, 5 steps before them
    (set down without a heel strike) and 3 first contacts."""
    t = ContactTally()
    for name, tally in real.people.items():
        if name.startswith("gait-ipol/IPOL_"):
            t.merge(tally.strict)
    edge = t.misses[MISS_KINDS[0]] + t.misses[MISS_KINDS[1]]
    assert sum(t.misses.values()) == t.fn
    assert t.fn - edge <= 41
    assert t.misses["last, not detected"] >= 0.75 * (t.fn - edge)  # mostly the closing step
    assert np.median(np.abs(t.edge_offsets_s)) <= 0.04


PATIENTS = ("SEMIO_ms", "SEMIO_equinovarus")
"""The gait-ipol README's patients (multiple sclerosis, equinovarus foot; algorithm references)."""


def test_sides_hold_per_participant(real):
    checked = []
    for name, t in real.people.items():
        if t.strict.tp + t.strict.fn >= 50:
            patient = name.split("/")[1] in PATIENTS
            assert np.mean(t.sides) >= (0.93 if patient else 0.98), name
            checked.append(name)
    assert len(checked) == 13  # HA_001, the ten IPOL adults, SEMIO_healthy, SEMIO_ms


def test_sides_not_flagged_uncertain_are_nearly_always_right(real):
    ok, unc = [], []
    for t in real.sets.values():
        ok += t.sides
        unc += t.uncertain
    ok_a, unc_a = np.array(ok), np.array(unc)
    assert ok_a[~unc_a].mean() >= 0.995
    assert ok_a[unc_a].mean() < 0.97  # the flag marks where the errors are
    assert unc_a.mean() <= 0.15


def test_each_participants_sides_not_flagged_uncertain_hold(real):
    """Per person, not only pooled: where the side is not flagged uncertain it is right for
    every participant with at least 50 contacts (all 1.000 on 2026-12-07, the patients SEMIO_ms
    and HA_002 with 36 % flagged), and the flag is not a blanket: at most 40 % per person."""
    for name, t in real.people.items():
        if t.strict.tp + t.strict.fn < 50:
            continue
        ok, unc = np.array(t.sides), np.array(t.uncertain)
        assert ok[~unc].mean() >= 0.99, name
        assert unc.mean() <= 0.4, name


@pytest.mark.parametrize("participant", ["IPOL_07", "IPOL_13"])
def test_sides_hold_when_the_side_cue_is_read_40_ms_late(shared_benchmarks_dir, participant):
    """A person whose weight-shift transient comes earlier than in the data the reading lag was
    chosen on: starting 40 ms off, the walk's own alternation moves the reading lag back, where
    a fixed lag would read the opposite phase (the two people most sensitive to it here)."""
    ok: dict[bool, list[bool]] = {True: [], False: []}
    for r in reference_recordings(shared_benchmarks_dir / "gait-ipol"):
        if r.participant != participant:
            continue
        rec = read_foreign_csv(r.imu, COLUMN_MAP)
        t, acc, gyr = raw_arrays(rec)
        mounting = host_mounting(rec.meta.mounting, r.axes)[0]
        assert mounting is not None
        for adaptive in (True, False):
            det = ContactDetector(
                rec.meta.rate_hz,
                left_axis=left_axis_sensor(mounting),
                ml_lag_s=0.09,
                ml_lags_s=(0.01, 0.03, 0.05, 0.07, 0.09, 0.11) if adaptive else (0.09,),
            )
            det.update(t, acc, gyr)
            c = det.contacts_
            pairs = ContactTally().add([x.t_s for x in c], r.ic, r.gs)
            ok[adaptive] += [c[i].side[0].upper() == r.ic["side"].iloc[j] for i, j in pairs]
    assert len(ok[True]) >= 150
    assert np.mean(ok[True]) >= 0.92
    assert np.mean(ok[False]) < 0.75  # the fixed late lag fails: the case is a real one


def test_cue_weights_hold_the_sides_of_a_patient_with_extra_contacts(shared_benchmarks_dir):
    """SEMIO_ms (multiple sclerosis; 83 extra contacts in slow, shuffling steps): its
    medio-lateral cue is right for 0.93 of its single steps, its yaw rate for 0.99. Weighed per
    walk by how often each cue agreed with the side the previous steps predicted, the sides
    hold; with the fixed weights the extra contacts carry the weaker cue's errors on."""
    ok: dict[float, list[bool]] = {0.0: [], 0.5: []}
    for r in reference_recordings(shared_benchmarks_dir / "gait-ipol"):
        if r.participant != "SEMIO_ms":
            continue
        rec = read_foreign_csv(r.imu, COLUMN_MAP)
        t, acc, gyr = raw_arrays(rec)
        mounting = host_mounting(rec.meta.mounting, r.axes)[0]
        for weighting in ok:
            det = ContactDetector(
                rec.meta.rate_hz, left_axis=left_axis_sensor(mounting), cue_weighting=weighting
            )
            det.update(t, acc, gyr)
            c = det.contacts_
            pairs = ContactTally().add([x.t_s for x in c], r.ic, r.gs)
            ok[weighting] += [c[i].side[0].upper() == r.ic["side"].iloc[j] for i, j in pairs]
    assert len(ok[0.5]) >= 110
    # 0.938 (0.947 before the decision deadline re-dated one contact before a step whose side
    # score is near 0, flagged uncertain either way)
    assert np.mean(ok[0.5]) >= 0.935
    assert np.mean(ok[0.0]) < 0.93  # without the weights this patient is below the target


def test_every_real_walk_passes_the_plausibility_gate(real):
    """The gate (docs/gait.md) refuses noise, never a real walk: all 71 recordings, the
    patients' included, are found to be walking."""
    assert real.n_recordings == 71
    assert real.not_walking == []


def test_no_confident_mirror_without_axes(real):
    assert real.mirrored_unflagged == []
    # ... and not by calling everything ambiguous: only the upside-down recording is
    assert real.n_recordings == 71
    assert real.ambiguous == ["SEMIO_equinovarus/M0_presurgery"]


def test_distance_on_the_ipol_walkway_leave_one_participant_out(real):
    errors = []
    for name, parts in real.parts_m.items():
        others = [d for n, v in real.parts_m.items() if n != name for d in v]
        gain = 10.0 / float(np.mean(others))
        assert abs(gain - GAIN) < 0.05, name
        errors += [gain * d - 10.0 for d in parts]
    e = np.array(errors)
    assert len(e) >= 110
    assert abs(e.mean()) < 0.1
    assert np.mean(np.abs(e)) <= 0.75


def _late(latency_s: list[float]) -> int:
    """Steps announced more than 300 ms after their reference contact (sample times on a
    10 ms grid: exactly 300 ms is within)."""
    return int(np.sum(np.round(latency_s, 6) > 0.300))


def test_contacts_are_emitted_within_300_ms(real):
    lat = np.array(real.sets["gait-ipol"].latency_s + real.sets["gait"].latency_s)
    assert _late(list(lat)) <= 11  # of 2002 (19 with the full 0.12 s confirmation)
    assert np.median(lat) <= 0.19
    assert lat.max() <= 0.45


LATE_STEPS = {"gait/HA_002": 5, "gait-ipol/IPOL_03": 2, "gait-ipol/SEMIO_ms": 4}
"""Steps announced more than 300 ms after the contact, as measured (docs/validation.md): a
bout's first steps (no rhythm yet) and slow steps after an extra contact."""


def test_every_other_participants_steps_are_announced_within_300_ms(real):
    """The rhythm's deadline (``ContactDetector.deadline_s``): with the full confirmation
    HA_001 (330 ms), IPOL_03 (8 steps) and IPOL_07 (310 ms) had steps beyond 300 ms."""
    for name, t in real.people.items():
        assert _late(t.latency_s) <= LATE_STEPS.get(name, 0), name


def test_the_deadline_keeps_contacts_chunk_invariant(shared_benchmarks_dir):
    """Windows cut by the rhythm's deadline depend on the contacts before them: any chunking
    still gives the same contacts, sides and decision times, and some windows are cut."""
    r = next(x for x in reference_recordings(shared_benchmarks_dir / "gait-ipol")
             if x.participant == "IPOL_03" and x.name == "Trial3")  # fmt: skip
    rec = read_foreign_csv(r.imu, COLUMN_MAP)
    t, acc, gyr = raw_arrays(rec)
    mounting = host_mounting(rec.meta.mounting, r.axes)[0]
    whole = ContactDetector(rec.meta.rate_hz, left_axis=left_axis_sensor(mounting))
    whole.update(t, acc, gyr)
    c = whole.contacts_
    waited = np.array([x.t_detected_s - (x.t_s + whole.delay_s) for x in c])
    assert len(c) > 20
    assert np.sum(waited < whole.confirm_s - 1e-6) >= 5
    rng = np.random.default_rng(3)
    for _ in range(2):
        chunked = ContactDetector(rec.meta.rate_hz, left_axis=left_axis_sensor(mounting))
        i = 0
        for n in rng.integers(1, 60, size=len(t)):
            chunked.update(t[i : i + n], acc[i : i + n], gyr[i : i + n])
            i += int(n)
            if i >= len(t):
                break
        assert chunked.contacts_ == c


@pytest.mark.parametrize("left_axis_known", [True, False], ids=["axes", "no-axes"])
def test_contacts_and_sides_on_held_out_data(heldout_gait, left_axis_known):
    """mobgap's MS_001 (``make heldout``), with the defaults. They were chosen on all the real
    sets, MS_001 included; chosen without it (``benchmarks/gait_lopo.py``) its sides are 0.894
    (docs/validation.md), so this checks the defaults, not a held-out figure."""
    tally, ok, unc = ContactTally(), [], []
    for r in reference_recordings(heldout_gait):
        rec = read_foreign_csv(r.imu, COLUMN_MAP)
        a = analyse_walk(rec, axes=r.axes if left_axis_known else None)
        assert a.walking_found, r.name  # the plausibility gate passes a patient's walk
        pairs = tally.add([e.contact.t_s for e in a.events], r.ic, r.gs)
        ok += [a.events[i].contact.side[0].upper() == r.ic["side"].iloc[j] for i, j in pairs]
        unc += [abs(a.events[i].contact.side_score) < 1.0 for i, _ in pairs]
    assert tally.tp + tally.fn == 109  # MS_001's reference contacts
    assert tally.f1 >= 0.848  # mobgap's best detector there (Ionescu, whole recordings)
    assert np.mean(ok) >= 0.91
    # where its side is not flagged uncertain: 0.971 (68 of 70; the two wrong ones lie between
    # two reference contacts under 0.35 s apart), 26 % flagged
    ok_a, unc_a = np.array(ok), np.array(unc)
    assert ok_a[~unc_a].mean() >= 0.97 and unc_a.mean() <= 0.3

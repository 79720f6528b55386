"""Contact scoring: one-to-one matching within the tolerance, gait-sequence windows."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hipsense.detectors.walk.scoring import MISS_KINDS, TOLERANCE_S, ContactTally, match_contacts
from hypothesis import given, settings
from hypothesis import strategies as st

times = st.lists(st.floats(0.0, 20.0, allow_nan=False), max_size=25).map(sorted)


def _max_matching(det: list[float], ref: list[float], tol: float) -> int:
    """Largest one-to-one matching on a line: greedy over sorted times is optimal."""
    used = [False] * len(det)
    n = 0
    for r in ref:
        for i, d in enumerate(det):
            if not used[i] and abs(d - r) <= tol:
                used[i] = True
                n += 1
                break
    return n


@settings(deadline=None)  # the first call imports scipy: 0.8 s on a loaded machine
@given(times, times)
def test_matching_is_one_to_one_within_tolerance_and_maximal(det, ref):
    pairs = match_contacts(det, ref)
    assert len({i for i, _ in pairs}) == len(pairs) == len({j for _, j in pairs})
    assert all(abs(det[i] - ref[j]) <= TOLERANCE_S for i, j in pairs)
    assert len(pairs) == _max_matching(det, ref, TOLERANCE_S)


@given(times, st.floats(-TOLERANCE_S, TOLERANCE_S))
def test_a_copy_shifted_within_tolerance_matches_every_contact_to_itself(ref, shift_s):
    ref = sorted(set(np.round(np.array(ref) / 0.6) * 0.6))  # steps 0.6 s apart at least
    pairs = match_contacts(np.array(ref) + shift_s, ref)
    assert sorted(pairs) == [(k, k) for k in range(len(ref))]


def _reference() -> tuple[pd.DataFrame, pd.DataFrame]:
    # one sequence [1.0, 3.01): contacts at 1.0, 1.5, 2.0 and 3.0; step id 3 was not timed
    ic = pd.DataFrame({"gs_id": 0, "step_id": [0, 1, 2, 4], "time_s": [1.0, 1.5, 2.0, 3.0]})
    gs = pd.DataFrame({"gs_id": [0], "start_s": [1.0], "end_s": [3.01]})
    return ic, gs


def test_strict_window_drops_a_late_last_contact_and_the_edge_tolerant_one_keeps_it():
    ic, gs = _reference()
    det = [0.5, 1.02, 1.5, 2.0, 2.5, 3.05, 3.6]  # 0.5 and 3.6 are outside: never false
    strict, edge = ContactTally(), ContactTally()
    assert strict.add(det, ic, gs) == [(1, 0), (2, 1), (3, 2)]
    assert (strict.tp, strict.fp, strict.fn) == (3, 1, 1)
    assert sorted(edge.add(det, ic, gs, edge_tolerant=True)) == [(1, 0), (2, 1), (3, 2), (5, 3)]
    assert (edge.tp, edge.fp, edge.fn) == (4, 1, 0)
    assert np.allclose(sorted(edge.errors_s), [0.0, 0.0, 0.02, 0.05])


def test_false_detections_in_an_untimed_gap_are_counted_apart():
    ic, gs = _reference()
    tally = ContactTally()
    tally.add([1.0, 1.5, 1.75, 2.0, 2.5, 3.0], ic, gs)  # 1.75 false, 2.5 false in the gap 2→4
    assert (tally.tp, tally.fp, tally.fp_in_untimed_gaps) == (4, 2, 1)
    assert tally.f1 == 2 * (4 / 6) * 1.0 / (4 / 6 + 1.0)
    assert tally.f1_without_untimed_gaps == 2 * 0.8 * 1.0 / 1.8


def test_misses_are_sorted_into_window_edges_and_contacts_not_detected():
    ic, gs = _reference()
    # first contact found 20 ms early (before the sequence), 2.0 not found, last 50 ms late
    tally = ContactTally()
    tally.add([0.98, 1.5, 3.05], ic, gs)
    assert (tally.tp, tally.fn) == (1, 3)
    assert tally.misses == {MISS_KINDS[0]: 1, MISS_KINDS[1]: 1, "inside, not detected": 1}
    assert np.allclose(sorted(tally.edge_offsets_s), [-0.02, 0.05])
    # nothing near the first or the last contact: the detector's own misses
    none = ContactTally()
    none.add([1.5, 2.0, 3.4], ic, gs)  # 3.4 is 0.4 s after the last contact: too far
    assert none.misses == {"first, not detected": 1, "last, not detected": 1}
    assert none.edge_offsets_s == []
    # edge-tolerant scoring matches the edge ones, so it sorts no misses
    edge = ContactTally()
    edge.add([0.98, 1.5, 3.05], ic, gs, edge_tolerant=True)
    assert (edge.fn, sum(edge.misses.values())) == (1, 0)
    # merged tallies keep the kinds
    tally.merge(none)
    assert tally.misses[MISS_KINDS[0]] == 1
    assert tally.misses["last, not detected"] == 1
    assert tally.fn == 5


def test_a_contact_dated_on_the_edge_sample_is_scored_on_the_sample_grid():
    """A contact dated ``t_peak - delay`` lands a rounding error (1e-15 s) before the sample it
    names: on the first contact's sample it is inside the sequence, on the sample after the last
    contact (the window's exclusive end) outside."""
    ic = pd.DataFrame({"gs_id": 0, "step_id": [0, 1, 2], "time_s": [5.19, 5.7, 6.22]})
    gs = pd.DataFrame({"gs_id": [0], "start_s": [5.19], "end_s": [6.23]})
    first = 5.27 - 0.08  # 5.1899999999999995 (IPOL_13 Trial6's first contact)
    after_last = 6.31 - 0.08  # the sample after the last contact: 6.2299999999999995
    assert first < 5.19 and after_last < 6.23
    tally = ContactTally()
    assert tally.add([first, 5.7, after_last], ic, gs) == [(0, 0), (1, 1)]
    assert tally.misses == {MISS_KINDS[1]: 1}

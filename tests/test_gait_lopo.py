"""The leave-one-participant-out benchmark (``benchmarks/gait_lopo.py``) measures the detector
``hipsense analyze`` runs and chooses each setting without the participant it scores.

Two short IPOL walks of two people; the full grid runs only in the benchmark (minutes)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from gait_lopo import Grid, prepare  # pyright: ignore[reportMissingImports]
from hipsense.detectors.walk.scoring import reference_recordings

GOOD, BAD = (("delay_s", 0.08),), (("delay_s", -0.2),)  # dated 0.28 s late: half a step off


def test_lopo_scores_the_analysis_detector_and_holds_the_participant_out(shared_benchmarks):
    refs = [
        r
        for r in reference_recordings(shared_benchmarks / "gait-ipol")
        if r.participant in ("IPOL_09", "IPOL_17") and r.name == "Trial1"
    ]
    assert len(refs) == 2
    # prepare() raises when the benchmark's detector differs from analyse_walk's (contacts,
    # sides and decision times, with --axes)
    recs = [prepare(r) for r in refs]
    grid = Grid(recs, [GOOD, BAD])
    ipol_09, ipol_17 = ("gait-ipol", "IPOL_09"), ("gait-ipol", "IPOL_17")
    # the choice uses only the other participant's recordings
    i17 = next(i for i, p in enumerate(recs) if p.key == ipol_17)
    assert grid.training(GOOD, {ipol_09}).tally.tp == grid.scores[GOOD][i17].tally.tp > 20
    assert grid.training(BAD, {ipol_09}).tally.f1 < 0.5 * grid.training(GOOD, {ipol_09}).tally.f1
    assert grid.choose({ipol_09}, "f1", default=BAD) == GOOD
    # nothing left to choose on (both held out): every value ties and the default is kept
    assert grid.choose({ipol_09, ipol_17}, "f1", default=BAD) == BAD
    # the dating is chosen by the timing error of the matched contacts, edges included
    assert grid.choose({ipol_09}, "timing", default=BAD) == GOOD
    assert grid.choose({ipol_09, ipol_17}, "timing", default=BAD) == BAD


def test_the_sides_where_sure_leave_out_only_the_flagged_contacts():
    """``gait_accuracy.score_contacts`` keeps every matched contact in the main left/right figure
    and scores, beside it, the contacts whose side is not flagged uncertain (|side score| below
    ``SIDE_CERTAIN_SCORE``), with the share flagged."""
    import pandas as pd
    from gait_accuracy import score_contacts  # pyright: ignore[reportMissingImports]
    from hipsense.analysis.walk import SIDE_CERTAIN_SCORE
    from hipsense.detectors.walk.contacts import Contact
    from hipsense.detectors.walk.scoring import ReferenceRecording

    ref_t = [1.0, 1.5, 2.0, 2.5, 3.0]
    ic = pd.DataFrame({"gs_id": 0, "step_id": range(5), "time_s": ref_t,
                       "side": ["L", "R", "L", "R", "L"]})  # fmt: skip
    gs = pd.DataFrame({"gs_id": [0], "start_s": [1.0], "end_s": [3.1]})
    ref = ReferenceRecording("s", "P", "T", Path("x.csv"), ic, gs, "x,y,z", 100.0, None, None,
                             True, "")  # fmt: skip
    sure, weak = 2.0 * SIDE_CERTAIN_SCORE, 0.5 * SIDE_CERTAIN_SCORE
    # (side, score): right and sure, wrong and weak, wrong and sure, right and weak, right and sure
    found = [("left", -sure), ("left", -weak), ("right", sure), ("right", weak), ("left", -sure)]
    contacts = [Contact(t + 0.02, side, t + 0.2, 0, score)
                for t, (side, score) in zip(ref_t, found, strict=True)]  # fmt: skip
    s = score_contacts(ref, contacts, contacts)
    assert s.tally.tp == 5 and s.side_ok == 3  # every matched contact in the main figure
    assert s.sure == 3 and s.side_ok_sure == 2  # the weak ones left out of the second
    assert s.sides_sure == 2 / 3 and abs(s.unsure_share - 0.4) < 1e-12
    assert s.sure_cell() == "0.667 (40 %)"


def test_the_timing_figure_chooses_the_dating_with_the_least_error_edges_included(
    shared_benchmarks,
):
    """Strict F1 rewards dating every contact later or earlier by what that does at a sequence's
    edges (a first contact early or a last one late is outside the window); the timing figure
    is the mean absolute error over the contacts matched edge-tolerantly, edges included."""
    refs = [
        r
        for r in reference_recordings(shared_benchmarks / "gait-ipol")
        if r.participant in ("IPOL_09", "IPOL_17") and r.name == "Trial1"
    ]
    recs = [prepare(r) for r in refs]
    settings = [(("delay_s", d),) for d in (0.05, 0.08, 0.11)]
    grid = Grid(recs, settings)
    pooled = {s: grid.training(s, set()) for s in settings}
    for p in pooled.values():
        assert len(p.edge.errors_s) == p.edge.tp >= p.tally.tp  # the edge contacts too
    errors = {s: float(np.mean(np.abs(p.edge.errors_s))) for s, p in pooled.items()}
    best = min(settings, key=lambda s: errors[s])
    assert max(errors.values()) > 2 * errors[best]  # the grid spans a real difference
    assert grid.choose(set(), "timing", default=settings[0]) == best

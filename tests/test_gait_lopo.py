"""The leave-one-participant-out benchmark (``benchmarks/gait_lopo.py``) measures the detector
``hipsense analyze`` runs and chooses each setting without the participant it scores.

Two short IPOL walks of two people; the full grid runs only in the benchmark (minutes)."""

from __future__ import annotations

import sys
from pathlib import Path

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

"""Regression tests on real lower-back walking (INDIP reference): the causal detector's contact
F1 and left/right accuracy inside the reference gait sequences must not fall below the figures
in docs/validation.md by more than a little.

- mobgap's healthy adults HA_001/HA_002 (``../shared/benchmarks/gait``, the detector was tuned
  on them): F1 0.843; left/right 0.953 with the pelvis's left axis from the files' documented
  axes, 0.907 with the axis learned from the walk;
- held-out MS_001 (a person with multiple sclerosis, ``make heldout``; nothing was tuned on it):
  F1 0.837; left/right 0.884 and 0.895.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hipsense.detectors.walk.contacts import ContactDetector
from hipsense.detectors.walk.scoring import ContactTally

MOBGAP_LEFT_AXIS = (0.0, -1.0, 0.0)  # mobgap sensor frame: y points right


def _score(root: Path, left_axis: tuple[float, float, float] | None) -> tuple[ContactTally, float]:
    tally = ContactTally()
    sides_ok = 0
    for imu_path in sorted(root.glob("*/*_imu.csv")):
        imu = pd.read_csv(imu_path)
        ic = pd.read_csv(str(imu_path).replace("_imu.csv", "_ic_ref.csv"))
        gs = pd.read_csv(str(imu_path).replace("_imu.csv", "_gs_ref.csv"))
        det = ContactDetector(100.0, left_axis=left_axis)
        det.update(
            imu["time_s"].to_numpy(),
            imu[["acc_x", "acc_y", "acc_z"]].to_numpy(),
            imu[["gyr_x", "gyr_y", "gyr_z"]].to_numpy(),
        )
        pairs = tally.add([c.t_s for c in det.contacts_], ic, gs)
        det_side = np.array([c.side[0].upper() for c in det.contacts_])
        ref_side = ic["side"].to_numpy()
        sides_ok += sum(det_side[i] == ref_side[j] for i, j in pairs)
    return tally, sides_ok / max(tally.tp, 1)


@pytest.mark.parametrize(
    ("left_axis", "min_side_accuracy"),
    [(MOBGAP_LEFT_AXIS, 0.93), (None, 0.88)],
    ids=["left-axis-from-mounting", "left-axis-learned"],
)
def test_contacts_and_sides_on_the_mobgap_lab_data(shared_benchmarks, left_axis, min_side_accuracy):
    tally, side_accuracy = _score(shared_benchmarks / "gait", left_axis)
    assert tally.tp + tally.fn == 127
    assert tally.f1 >= 0.82
    assert side_accuracy >= min_side_accuracy


@pytest.mark.parametrize(
    ("left_axis", "min_side_accuracy"),
    [(MOBGAP_LEFT_AXIS, 0.86), (None, 0.87)],
    ids=["left-axis-from-mounting", "left-axis-learned"],
)
def test_contacts_and_sides_on_held_out_data(heldout_gait, left_axis, min_side_accuracy):
    tally, side_accuracy = _score(heldout_gait, left_axis)
    assert tally.tp + tally.fn == 109  # MS_001's reference contacts
    assert tally.f1 >= 0.81
    assert side_accuracy >= min_side_accuracy

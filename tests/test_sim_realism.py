"""Simulated walking against the real lower-back recordings in ../shared/benchmarks/gait.

The full comparison (spectra, step patterns, figures) is benchmarks/sim_realism.py; this keeps
the simulator's per-axis signal levels during straight walking within a factor of two of the
real ones.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from hipsense.sim.rotations import quat_from_matrix, rot_y
from hipsense.sim.scenarios import simulate

AXES = ["acc_x", "acc_y", "acc_z", "gyr_x", "gyr_y", "gyr_z"]
# mobgap sensor axes (x up, y right, z forward) as columns in the pelvis frame
MOBGAP = np.array([[0.0, 0.0, 1.0], [0.0, -1.0, 0.0], [1.0, 0.0, 0.0]]).T


def _real_walking(gait: Path) -> pd.DataFrame:
    """Samples inside the reference gait sequences of the straight walks (Test5)."""
    parts = []
    for imu_path in sorted(gait.glob("HA_*/*Test5*_imu.csv")):
        gs = pd.read_csv(imu_path.with_name(imu_path.name.replace("_imu", "_gs_ref")))
        if gs.empty:
            continue
        imu = pd.read_csv(imu_path)
        parts += [
            imu.iloc[int(a) : int(b)] for a, b in zip(gs.start_sample, gs.end_sample, strict=True)
        ]
    return pd.concat(parts)


def test_simulated_walking_signal_levels_match_real_data(shared_benchmarks: Path) -> None:
    real = _real_walking(shared_benchmarks / "gait")
    pitch = np.arctan2(-real["acc_z"].mean(), real["acc_x"].mean())
    assert 0.2 < pitch < 0.5  # sensors pitched forward 12–28°
    mounting = quat_from_matrix(rot_y(np.array(pitch)) @ MOBGAP)
    sim = simulate("walk-normal", seed=0, mounting=list(mounting), duration_s=30.0)
    contacts = sim.truth["contacts"]
    i0, i1 = (round(contacts[k]["t_s"] * sim.rate_hz) for k in (0, -1))
    sim_data = np.hstack([sim.acc_mps2, sim.gyr_dps])[i0:i1]
    for i, axis in enumerate(AXES):
        ratio = np.std(sim_data[:, i]) / real[axis].std()
        assert 0.5 < ratio < 2.0, f"{axis}: simulated RMS is {ratio:.2f} × the real one"
    # gravity sits on the same axes: the sensor's x (up) and z (forward, pitched down)
    np.testing.assert_allclose(sim_data[:, 0].mean(), real["acc_x"].mean(), atol=1.0)
    np.testing.assert_allclose(sim_data[:, 2].mean(), real["acc_z"].mean(), atol=1.0)

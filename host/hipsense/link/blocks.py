"""Sample blocks as recording rows: the one pure conversion shared by the recording writer (via
the orchestration) and the live sinks, kept here so neither loads the BLE stack to get it."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from hipsense.link.protocol import ANGLE_NONE, RAW_LOST, SEQ_MODULUS
from hipsense.link.session import SampleBlock


def block_frame(block: SampleBlock, t0_device_s: float, markers: dict[int, int]) -> pd.DataFrame:
    """A block as recording rows: physical units, the board's lost-sample placeholders left
    out (their ``seq`` stays missing), ``marker`` from ``markers`` (seq mod 2**30 -> code)."""
    config = block.config
    angles_deg = block.angles_cdeg.astype(np.float64) / 100.0
    angles_deg[block.angles_cdeg == ANGLE_NONE] = np.nan
    columns: dict[str, Any] = {
        "t_s": block.t_device_s - t0_device_s,
        "seq": block.seq,
    }
    keep = np.ones(len(block.seq), dtype=bool)
    if block.raw is not None and config is not None:
        keep = ~np.all(block.raw == RAW_LOST, axis=1)
        acc = block.raw[:, :3].astype(np.float64) * config.acc_mps2_per_lsb
        gyr = block.raw[:, 3:].astype(np.float64) * config.gyr_dps_per_lsb
        for i, axis in enumerate("xyz"):
            columns[f"acc_{axis}_mps2"] = acc[:, i]
        for i, axis in enumerate("xyz"):
            columns[f"gyr_{axis}_dps"] = gyr[:, i]
    columns["tilt_deg"] = angles_deg[:, 0]
    columns["obliquity_deg"] = angles_deg[:, 1]
    columns["rotation_deg"] = angles_deg[:, 2]
    marker = np.zeros(len(block.seq), dtype=np.int32)
    if markers:
        wrapped = block.seq % SEQ_MODULUS
        for i, seq in enumerate(wrapped):
            code = markers.pop(int(seq), None)
            if code is not None:
                marker[i] = code
    columns["marker"] = marker
    frame = pd.DataFrame(columns)
    return frame.loc[keep].reset_index(drop=True)

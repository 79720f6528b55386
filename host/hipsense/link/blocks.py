"""Sample blocks as recording rows in numpy arrays (no DataFrame per notification).

The one pure conversion shared by the recording writer (via the orchestration) and the live
sinks, so that a saved recording re-analysed offline sees exactly the samples the live view
saw; kept here so neither loads the BLE stack to get it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from hipsense.link.protocol import ANGLE_NONE, RAW_LOST, SEQ_MODULUS
from hipsense.link.session import SampleBlock

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class BlockRows:
    """A block's recording rows: ``t_s`` on the recording's clock, unwrapped ``seq``, the raw
    columns in physical units ((n, 3) m/s² and deg/s, None without raw content), the board's
    angles ((n, 3) tilt, obliquity, rotation in degrees, NaN where it had none) and ``marker``.
    """

    t_s: FloatArray
    seq: npt.NDArray[np.int64]
    acc_mps2: FloatArray | None
    gyr_dps: FloatArray | None
    angles_deg: FloatArray
    marker: npt.NDArray[np.int32]

    def __len__(self) -> int:
        return int(self.seq.shape[0])

    def columns(self) -> dict[str, npt.NDArray[np.generic]]:
        """Column name -> 1-D array, in the recording's column order."""
        cols: dict[str, npt.NDArray[np.generic]] = {"t_s": self.t_s, "seq": self.seq}
        if self.acc_mps2 is not None and self.gyr_dps is not None:
            for i, axis in enumerate("xyz"):
                cols[f"acc_{axis}_mps2"] = self.acc_mps2[:, i]
            for i, axis in enumerate("xyz"):
                cols[f"gyr_{axis}_dps"] = self.gyr_dps[:, i]
        for i, name in enumerate(("tilt_deg", "obliquity_deg", "rotation_deg")):
            cols[name] = self.angles_deg[:, i]
        cols["marker"] = self.marker
        return cols


def block_rows(block: SampleBlock, t0_device_s: float, markers: dict[int, int]) -> BlockRows:
    """A block as recording rows: physical units, the board's lost-sample placeholders left
    out (their ``seq`` stays missing), ``marker`` from ``markers`` (seq mod 2**30 -> code,
    taken out of the dict when placed)."""
    config = block.config
    angles_cdeg = block.angles_cdeg
    seq = block.seq
    t_s = block.t_device_s - t0_device_s
    acc: FloatArray | None = None
    gyr: FloatArray | None = None
    raw = block.raw
    if raw is not None and config is not None:
        keep = (raw != RAW_LOST).any(axis=1)
        if not keep.all():
            raw, angles_cdeg, seq, t_s = raw[keep], angles_cdeg[keep], seq[keep], t_s[keep]
        acc = raw[:, :3].astype(np.float64) * config.acc_mps2_per_lsb
        gyr = raw[:, 3:].astype(np.float64) * config.gyr_dps_per_lsb
    angles_deg = angles_cdeg / 100.0
    angles_deg[angles_cdeg == ANGLE_NONE] = np.nan
    marker = np.zeros(seq.shape[0], dtype=np.int32)
    if markers:
        for i, wrapped in enumerate((seq % SEQ_MODULUS).tolist()):
            code = markers.pop(wrapped, None)
            if code is not None:
                marker[i] = code
    return BlockRows(t_s, seq, acc, gyr, angles_deg, marker)


def block_frame(block: SampleBlock, t0_device_s: float, markers: dict[int, int]) -> pd.DataFrame:
    """:func:`block_rows` as a DataFrame (tests and one-off use; live paths use the arrays)."""
    return pd.DataFrame(block_rows(block, t0_device_s, markers).columns())

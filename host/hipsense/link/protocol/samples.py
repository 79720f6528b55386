"""Samples in physical units, and how many samples fit in one BLE notification."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from hipsense.link.protocol.constants import (
    ANGLE_NONE,
    ATT_OVERHEAD,
    HEADER_SIZE,
    MAX_COUNT,
    MAX_MTU,
    RAW_LOST,
    SAMPLE_SIZE_ANGLES,
    SAMPLE_SIZE_RAW,
)
from hipsense.link.protocol.frames import ConfigFrame, SamplesFrame
from hipsense.link.protocol.seq import SEQ_MASK

_RAW_COLUMNS = ("acc_x_mps2", "acc_y_mps2", "acc_z_mps2", "gyr_x_dps", "gyr_y_dps", "gyr_z_dps")


def _steps_100us(steps: npt.NDArray[np.int64], config: ConfigFrame) -> npt.NDArray[np.int64]:
    """Time of each sample after the frame's first, in whole 100 µs: exact periods (protocol
    1.2) floored, within 100 µs of the board's time; before, the rounded ``period_100us``."""
    if config.exact_period and config.rate_hz:
        return (steps * 10000) // config.rate_hz
    return steps * config.period_100us


def samples_physical(
    frame: SamplesFrame, config: ConfigFrame
) -> dict[str, npt.NDArray[np.generic]]:
    """The frame's samples as arrays: ``tilt_deg``, ``obliquity_deg``, ``rotation_deg`` (NaN
    where the board had no estimate), ``seq`` and ``t_100us`` (both mod 2**30, int64) and,
    when the frame carries raw data, ``acc_{x,y,z}_mps2`` and ``gyr_{x,y,z}_dps`` in the sensor
    frame, scaled with the CONFIG that describes the frame. A sample the IMU lost (all six
    raw values -32768, docs/protocol.md) has NaN everywhere but ``seq`` and ``t_100us``.
    """
    angles_deg = frame.angles_cdeg.astype(np.float64) / 100.0
    angles_deg[frame.angles_cdeg == ANGLE_NONE] = np.nan
    steps = np.arange(frame.count, dtype=np.int64)
    out: dict[str, npt.NDArray[np.generic]] = {
        "seq": frame.seqs(),
        "t_100us": (frame.t_100us + _steps_100us(steps, config)) & SEQ_MASK,
        "tilt_deg": angles_deg[:, 0],
        "obliquity_deg": angles_deg[:, 1],
        "rotation_deg": angles_deg[:, 2],
    }
    if frame.raw is not None:
        scale = np.array([config.acc_mps2_per_lsb] * 3 + [config.gyr_dps_per_lsb] * 3)
        physical = frame.raw.astype(np.float64) * scale
        physical[np.all(frame.raw == RAW_LOST, axis=1)] = np.nan  # placeholder of a lost sample
        for i, name in enumerate(_RAW_COLUMNS):
            out[name] = physical[:, i]
    return out


def max_samples_per_notification(mtu: int, raw: bool) -> int:
    """Samples in one SAMPLES notification at ATT ``mtu`` (the board caps the MTU at 247).

    0 means the content does not fit (raw samples at the default MTU 23).
    """
    payload = min(mtu, MAX_MTU) - ATT_OVERHEAD
    size = SAMPLE_SIZE_RAW if raw else SAMPLE_SIZE_ANGLES
    return max(0, min(MAX_COUNT, (payload - HEADER_SIZE) // size))

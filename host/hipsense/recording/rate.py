"""Sample rate of a recording that carries no metadata, inferred from its first sample times."""

from __future__ import annotations

import numpy as np

from hipsense.recording.exceptions import RecordingError

#: An interval counts as irregular when its per-sample period is this far from the median.
IRREGULAR_REL = 0.10
#: More than this fraction of irregular intervals is an error.
IRREGULAR_MAX_FRACTION = 0.01
RATE_SAMPLES = 65536
"""The rate of a file without metadata comes from its first this many samples (11 min at
100 Hz), so a file read in chunks knows its rate after the first rows, whatever its length,
and the whole file and its chunks give the same rate."""


def infer_rate_hz(t_s: np.ndarray, seq: np.ndarray, source: str) -> float:
    """1 / median per-sample period, where the period is ``diff(t_s) / diff(seq)``, over the
    first :data:`RATE_SAMPLES` samples (the caller may pass more: the rest is not looked at).

    Dividing by the seq step lets lost samples (gaps in seq) count as gaps rather than as an
    irregular clock. ``t_s`` and ``seq`` must already be checked to increase.
    """
    t_s, seq = t_s[:RATE_SAMPLES], seq[:RATE_SAMPLES]
    if t_s.size < 2:
        raise RecordingError(
            f"{source}: has no metadata and fewer than 2 samples, so rate_hz cannot be inferred"
        )
    with np.errstate(over="ignore"):
        period_s = np.diff(t_s) / np.diff(seq.astype(np.float64))
    median_s = float(np.median(period_s))
    if not (np.isfinite(median_s) and median_s > 0 and np.isfinite(1.0 / median_s)):
        raise RecordingError(
            f"{source}: has no metadata and its median sample period ({median_s} s) gives no"
            " usable rate_hz"
        )
    irregular = np.abs(period_s - median_s) > IRREGULAR_REL * median_s
    if irregular.mean() > IRREGULAR_MAX_FRACTION:
        raise RecordingError(
            f"{source}: has no metadata and its sample times are irregular:"
            f" {int(irregular.sum())} of {irregular.size} intervals differ from the median"
            f" period {median_s:.6g} s by more than {IRREGULAR_REL:.0%}, so rate_hz cannot be"
            " inferred; t_s must come from the device's sample clock (see docs/recording.md)"
        )
    return float(f"{1.0 / median_s:.9g}")  # drop float noise: 100.00000000000213 -> 100.0

"""Sample blocks -> recording rows as arrays (the live path's only conversion)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hipsense.link.blocks import block_frame, block_rows
from hipsense.link.protocol import ANGLE_NONE, RAW_LOST, SEQ_MODULUS, ConfigFrame, ImuChip
from hipsense.link.session import SampleBlock
from hipsense.recording.schema import normalise_frame
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

CONFIG = ConfigFrame(1, ImuChip(3), 100, 100, 0.0048, 0.061, 1, True, True)


@settings(max_examples=60, deadline=None)
@given(
    raw=hnp.arrays(np.int16, st.tuples(st.integers(1, 12), st.just(6))),
    lost=st.lists(st.booleans(), min_size=12, max_size=12),
    angles=hnp.arrays(np.int16, st.tuples(st.just(12), st.just(3))),
    seq0=st.integers(0, 3 * SEQ_MODULUS),
    marked=st.sets(st.integers(0, 11), max_size=3),
)
def test_block_rows_drop_lost_samples_scale_and_place_markers(
    raw: np.ndarray, lost: list[bool], angles: np.ndarray, seq0: int, marked: set[int]
) -> None:
    n = raw.shape[0]
    raw = raw.copy()
    raw[np.array(lost[:n])] = RAW_LOST
    gone = (raw == RAW_LOST).all(axis=1)  # the board's placeholder (drawn at random too)
    seq = np.arange(seq0, seq0 + n, dtype=np.int64)
    t_s = seq.astype(np.float64) * 0.01
    block = SampleBlock(seq, t_s + 5.0, t_s, angles[:n], raw, 0, CONFIG)
    markers = {int(seq[i] % SEQ_MODULUS): 40 + i for i in marked if i < n}
    unplaced = {k: v for k, v in markers.items() if gone[int((k - seq0) % SEQ_MODULUS)]}
    rows = block_rows(block, 5.0, markers)
    keep = ~gone
    assert np.array_equal(rows.seq, seq[keep])
    np.testing.assert_allclose(rows.t_s, (seq * 0.01)[keep])
    assert rows.acc_mps2 is not None and rows.gyr_dps is not None
    assert np.array_equal(rows.acc_mps2, raw[keep, :3] * 0.0048)
    assert np.array_equal(rows.gyr_dps, raw[keep, 3:] * 0.061)
    ang = angles[:n][keep]
    assert np.array_equal(np.isnan(rows.angles_deg), ang == ANGLE_NONE)
    assert np.array_equal(rows.angles_deg[ang != ANGLE_NONE], ang[ang != ANGLE_NONE] / 100.0)
    placed = {int(s % SEQ_MODULUS): int(m) for s, m in zip(rows.seq, rows.marker, strict=True)}
    for i in marked:
        if i < n and keep[i]:
            assert placed[int(seq[i] % SEQ_MODULUS)] == 40 + i
    assert int(np.count_nonzero(rows.marker)) == len([i for i in marked if i < n and keep[i]])
    assert markers == unplaced  # placed markers are taken out; the lost samples' stay
    # the recording accepts the rows as they are (column names, order and types)
    frame, content = normalise_frame(pd.DataFrame(rows.columns()), "block")
    assert content == "raw+angles"
    assert list(frame.columns) == list(block_frame(block, 5.0, {}).columns)

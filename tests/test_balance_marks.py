"""Single-leg stance: a key press or the board's button marks a touch-down the sensor missed.

The sensor stays the method (a mark near a touch-down it saw is only noted); the live path fed
block by block, with the marks arriving as they do live, gives exactly the offline result.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

import numpy as np
import pandas as pd
import pytest
from hipsense.analysis import analyse
from hipsense.analysis.balance import analyse_balance
from hipsense.detectors.balance.events import StanceDetector, StanceTrial
from hipsense.link.blocks import block_frame
from hipsense.link.protocol import SEQ_MODULUS, ConfigFrame, ImuChip, MarkerFrame
from hipsense.link.session import SampleBlock, Session
from hipsense.live.balance import LiveStance
from hipsense.motion.frontend import ImuFrontEnd, chunks, mounting_of
from hipsense.motion.sources import raw_arrays
from hipsense.recording import MARKER_BUTTON, MARKER_KEY, Recording
from hipsense.sim.scenarios import simulate

ACC_LSB = 9.80665 / 8192.0  # ±4 g
GYR_LSB = 1.0 / 65.5  # ±500 °/s


def _mark_at(rec: Recording, t_s: float, code: int) -> float:
    """Put a marker on the first sample at or after ``t_s``; returns that sample's time."""
    i = int(np.searchsorted(rec.data["t_s"].to_numpy(), t_s))
    rec.data.loc[i, "marker"] = code
    return float(rec.data["t_s"].iloc[i])


def test_key_ends_a_hold_whose_touch_down_the_sensor_did_not_see() -> None:
    r = simulate("stance-eyes-open", seed=8)
    rec = r.to_recording()
    base = analyse(rec).to_json()
    lift = base["trials"][0]["lift_off_t_s"]
    t_key = _mark_at(rec, lift + 8.0, MARKER_KEY)  # mid-hold: a toe touch the sensor missed
    doc = analyse(rec).to_json()
    first = doc["trials"][0]
    assert first["end_source"] == "key" and first["end_t_s"] == round(t_key, 3)
    assert abs(first["hold_s"] - (t_key - lift)) <= 1.0 / rec.meta.rate_hz
    assert first["n_touch_downs"] == 0
    assert doc["trials"][1] == base["trials"][1]  # the next trial is the sensor's, unchanged
    assert any("the trial ends at the key" in w for w in doc["warnings"])


def test_key_ends_a_hold_when_the_recording_stops_during_it() -> None:
    r = simulate("stance-eyes-open", seed=8)
    rec = r.to_recording()
    t_cut = r.truth["trials"][1]["lift_off_t_s"] + 10.0
    rec.data = rec.data.loc[rec.data["t_s"] < t_cut].reset_index(drop=True)
    t_key = _mark_at(rec, t_cut - 1.0, MARKER_KEY)  # less than the grace before the end
    trial = analyse(rec).to_json()["trials"][1]
    assert trial["end_source"] == "key"
    assert abs(trial["hold_s"] - (t_key - trial["lift_off_t_s"])) <= 1.0 / rec.meta.rate_hz


@pytest.mark.parametrize("delay_s", [-0.5, 0.0, 1.2, 2.4])
def test_marks_near_touch_downs_the_sensor_saw_are_only_noted(delay_s: float) -> None:
    r = simulate("stance-eyes-closed", seed=0)  # one brief touch-down per trial
    rec = r.to_recording()
    base = analyse(rec).to_json()
    for tr in r.truth["trials"]:
        _mark_at(rec, tr["end_t_s"] + delay_s, MARKER_KEY)
        _mark_at(rec, tr["touch_downs"][0]["t_s"] + delay_s, MARKER_BUTTON)
    doc = analyse(rec).to_json()
    assert doc["trials"] == base["trials"]
    assert sum("only noted" in w for w in doc["warnings"]) == 4


@pytest.mark.parametrize(("name", "seed"), [("stance-eyes-open", 0), ("stance-eyes-closed", 1),
                                            ("stance-right-trendelenburg", 2)])  # fmt: skip
def test_the_grace_covers_the_sensors_own_end_decision(name: str, seed: int) -> None:
    """The sensor decides a final touch-down only after 1 s of quiet; a mark waits longer, so
    a press at the touch-down cannot pre-empt the sensor."""
    rec = simulate(name, seed=seed).to_recording()
    t, acc, gyr = raw_arrays(rec)
    det = StanceDetector()
    front = ImuFrontEnd(rec.meta.rate_hz, mounting_of(rec))
    lags = []
    for sl in chunks(t.shape[0], 10):
        n_ended = sum(tr.end_t_s is not None for tr in det.trials_)
        det.update(front.update(t[sl], acc[sl], gyr[sl]))
        for tr in det.trials_[n_ended:]:
            if tr.end_t_s is not None:
                lags.append(float(t[sl][-1]) - tr.end_t_s)
    assert len(lags) == 2
    assert max(lags) < det.mark_grace_s - 0.2, lags


def test_a_mark_before_any_lift_off_is_ignored() -> None:
    rec = simulate("stance-eyes-open", seed=3).to_recording()
    base = analyse(rec).to_json()
    _mark_at(rec, 0.5, MARKER_KEY)
    doc = analyse(rec).to_json()
    assert doc["trials"] == base["trials"]
    assert any("before any lift-off" in w for w in doc["warnings"])


# ------------------------------------------------------------------ live, block by block


def _blocks(rec: Recording, sizes: list[int]) -> list[SampleBlock]:
    """The recording as the board would stream it: int16 raw counts in blocks."""
    config = ConfigFrame(
        content=1, imu=ImuChip.MPU6500, rate_hz=int(rec.meta.rate_hz), period_100us=100,
        acc_mps2_per_lsb=ACC_LSB, gyr_dps_per_lsb=GYR_LSB, boot_id=1, aligned=False,
        gyro_calibrated=False,
    )  # fmt: skip
    d = rec.data
    acc = np.round(d[["acc_x_mps2", "acc_y_mps2", "acc_z_mps2"]].to_numpy() / ACC_LSB)
    gyr = np.round(d[["gyr_x_dps", "gyr_y_dps", "gyr_z_dps"]].to_numpy() / GYR_LSB)
    raw = np.hstack([acc, gyr]).astype(np.int16)
    t_dev = d["t_s"].to_numpy() + 1234.5
    seq = np.arange(len(d), dtype=np.int64) + SEQ_MODULUS - 300  # wraps in the first blocks
    out, i, k = [], 0, 0
    while i < len(d):
        j = min(len(d), i + sizes[k % len(sizes)])
        out.append(
            SampleBlock(
                seq=seq[i:j],
                t_device_s=t_dev[i:j],
                t_host_s=t_dev[i:j],
                angles_cdeg=np.zeros((j - i, 3), dtype=np.int16),
                raw=raw[i:j],
                lost_before=0,
                config=config,
            )
        )
        i, k = j, k + 1
    return out


def _events(trials: list[StanceTrial]) -> list[tuple[Any, ...]]:
    return [(t.lift_off_t_s, t.end_t_s, t.end_source, t.touch_downs) for t in trials]


def test_live_blocks_with_a_key_and_a_button_give_the_offline_result() -> None:
    sim = simulate("stance-eyes-closed", seed=1)
    source = sim.to_recording()
    truth = sim.truth["trials"]
    blocks = _blocks(source, [3, 7, 12, 5])
    live = LiveStance(mounting_wxyz=source.meta.mounting or (1.0, 0.0, 0.0, 0.0))
    session = SimpleNamespace(markers=[])
    t_key = truth[0]["lift_off_t_s"] + 4.0  # before the brief touch-down: the sensor saw none
    t_press = truth[1]["lift_off_t_s"] + 4.0  # 4 s before its brief touch-down: beyond the grace
    key = press = None
    rows = []
    for block in blocks:
        rows.append(block_frame(block, float(blocks[0].t_device_s[0]), {}))
        live(block, cast(Session, session))
        if key is None and live.t_s >= t_key:
            key = live.key()  # the reader's callback, between two blocks
            assert key is not None and key.t_s == live.t_s
            assert live.key() is None  # one marker per sample
        if press is None and live.t_s >= t_press:
            # the button: its MARKER frame follows the samples up to it (docs/link.md)
            press = int(block.seq[-1])
            session.markers.append(MarkerFrame(code=0, seq=press % SEQ_MODULUS))
    assert key is not None and press is not None
    assert [m.code for m in live.marks] == [MARKER_KEY, MARKER_BUTTON]
    assert live.detector.trials_[0].end_source == "key"  # decided live, 3.5 s after the key

    data = pd.concat(rows, ignore_index=True)
    rec = Recording(meta=source.meta, data=data)
    assert live.mark_recording(rec) == 2
    offline = analyse_balance(rec)
    doc = offline.to_json()
    live.detector.finish(float(data["t_s"].iloc[-1]))
    assert _events(live.detector.trials_) == _events(offline.run.detector.trials_)
    first, second = doc["trials"]
    assert first["end_source"] == "key" and first["end_t_s"] == round(key.t_s, 3)
    assert abs(first["hold_s"] - (key.t_s - first["lift_off_t_s"])) <= 1.0 / rec.meta.rate_hz
    assert second["end_source"] == "button"
    assert doc["warnings"][-len(live.detector.notes_) :] == live.detector.notes_

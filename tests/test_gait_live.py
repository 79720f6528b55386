"""Live walk analysis: the rate from the stream's configuration, constant memory, the delay
shown for each step, and a clear error below the detector's lowest rate."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest
from hipsense.analysis.walk import analyse_walk
from hipsense.detectors.walk.contacts import MIN_RATE_HZ, ContactDetector, RateTooLowError
from hipsense.detectors.walk.tracker import LIVE_CONTACTS, WalkTracker
from hipsense.link.protocol.constants import CONTENT_RAW, ImuChip
from hipsense.link.protocol.frames import ConfigFrame
from hipsense.link.session import SampleBlock
from hipsense.live.walk import LiveWalk
from hipsense.motion.errors import InputError
from hipsense.recording import Recording, RecordingMeta
from hipsense.sim.scenarios import simulate

NO_SETTINGS = SimpleNamespace(settings=None)  # a session whose board did not say its mounting
ACC_LSB = 8 * 9.80665 / 32768
GYR_LSB = 1000 / 32768


def _blocks(r, rate_hz: int, block: int):
    config = ConfigFrame(CONTENT_RAW, ImuChip.MPU6886, rate_hz, round(1e4 / rate_hz), ACC_LSB,
                         GYR_LSB, 1, True, True)  # fmt: skip
    raw = np.column_stack([r.acc_mps2 / ACC_LSB, r.gyr_dps / GYR_LSB]).round().astype(np.int16)
    ang = np.column_stack([r.tilt_deg, r.obliquity_deg, r.rotation_deg])
    cdeg = np.nan_to_num(ang * 100).round().astype(np.int16)
    for i in range(0, len(r.t_s), block):
        j = min(i + block, len(r.t_s))
        yield SampleBlock(np.arange(i, j, dtype=np.int64), r.t_s[i:j], r.t_s[i:j], cdeg[i:j],
                          raw[i:j], 0, config)  # fmt: skip


@pytest.mark.parametrize("rate_hz", [100, 200])
def test_live_walk_takes_the_rate_from_the_stream_configuration(rate_hz):
    r = simulate("walk-normal", seed=3, rate_hz=float(rate_hz), duration_s=30.0)
    n_true = len(r.truth["contacts"])
    live = LiveWalk()
    for b in _blocks(r, rate_hz, 10):
        live(b, NO_SETTINGS)  # type: ignore[arg-type]
    assert live.rate_hz == rate_hz
    assert live.tracker is not None and live.tracker.rate_hz == rate_hz
    found = live.contacts["left"] + live.contacts["right"]
    assert n_true - 2 <= found <= n_true + 1
    # the delay shown: the detector's confirmation plus at most one block
    assert 0.05 < live.max_delay_s <= 0.30 + 10 / rate_hz
    assert live.delay_s <= live.max_delay_s


def test_live_memory_is_constant_over_a_walk_of_any_length():
    r = simulate("walk-normal", seed=2, duration_s=240.0)
    tr = WalkTracker(r.rate_hz, keep_events=False)
    ang = np.column_stack([r.tilt_deg, r.obliquity_deg, r.rotation_deg])
    held = []
    for i in range(0, len(r.t_s), 25):
        s = slice(i, i + 25)
        tr.update(r.t_s[s], r.acc_mps2[s], r.gyr_dps[s], ang[s])
        held.append(len(tr.detector.contacts_))
    assert tr.n_steps_ > 300
    assert max(held) <= 2 * LIVE_CONTACTS
    # offline (events kept) the detector keeps every contact
    off = WalkTracker(r.rate_hz)
    off.update(r.t_s, r.acc_mps2, r.gyr_dps, ang)
    assert len(off.detector.contacts_) == off.n_steps_ + 1


@pytest.mark.parametrize("rate_hz", [8.0, 16.0, 25.0, MIN_RATE_HZ - 0.5, math.nan])
def test_a_rate_below_the_detector_minimum_is_a_clear_error(rate_hz):
    with pytest.raises(RateTooLowError, match=rf"at least {MIN_RATE_HZ:g} Hz"):
        ContactDetector(rate_hz)


def test_a_16_hz_recording_gets_the_clear_error_not_a_scipy_one():
    r = simulate("walk-normal", seed=1, rate_hz=100.0, duration_s=15.0)
    k = np.arange(0, len(r.t_s), 6)  # 16.7 Hz
    import pandas as pd

    data = pd.DataFrame({"t_s": r.t_s[k], "seq": np.arange(len(k))})
    for i, a in enumerate("xyz"):
        data[f"acc_{a}_mps2"] = r.acc_mps2[k, i]
    for i, a in enumerate("xyz"):
        data[f"gyr_{a}_dps"] = r.gyr_dps[k, i]
    data["marker"] = 0
    rec = Recording(meta=RecordingMeta(rate_hz=100 / 6, test="walk"), data=data)
    # the shared input check (25 Hz for every test) refuses it first; 25-30 Hz is the walk
    # detector's own RateTooLowError
    with pytest.raises((RateTooLowError, InputError), match=r"16\.(7|6667) Hz"):
        analyse_walk(rec, axes="x,y,z")


def test_at_the_minimum_rate_the_walk_is_still_found():
    r = simulate("walk-normal", seed=5, rate_hz=MIN_RATE_HZ, duration_s=30.0)
    d = ContactDetector(r.rate_hz)
    d.update(r.t_s, r.acc_mps2, r.gyr_dps)
    n_true = len(r.truth["contacts"])
    assert len(d.contacts_) >= 0.95 * n_true


def test_the_live_view_says_when_no_walking_rhythm_is_seen_yet():
    """The first contacts of a walk are shown at once, marked until the rhythm is steady."""
    from hipsense.cli.walk import _WalkView
    from rich.console import Console

    def text(view: _WalkView) -> str:
        console = Console(record=True, width=160)  # one line per row
        console.print(view.table())
        return console.export_text()

    r = simulate("walk-normal", seed=3, duration_s=20.0)
    live = LiveWalk()
    view = _WalkView(None, live)  # type: ignore[arg-type]  # no redraws: table() only
    seen_first = False
    for b in _blocks(r, 100, 10):
        live(b, NO_SETTINGS)  # type: ignore[arg-type]
        if live.last_event is not None and not seen_first:
            seen_first = True
            assert not live.last_event.contact.walking
            assert "no steady walking rhythm yet" in text(view)
    assert live.last_event is not None and live.last_event.contact.walking
    assert "no steady walking rhythm yet" not in text(view)


def test_a_known_mounting_gives_the_sides_from_the_first_step_live_and_offline():
    """The board's angles come with the mounting it used: its left axis labels the first
    steps, where a learned axis needs a few regular ones (live and offline alike)."""
    from hipsense.analysis.walk import SIDE_CERTAIN_SCORE
    from hipsense.link.protocol import BoardSettings

    r = simulate("walk-right-trendelenburg", seed=4, duration_s=20.0)
    truth = r.truth["contacts"]

    def true_side(t_s: float) -> str:
        return min(truth, key=lambda c: abs(c["t_s"] - t_s))["side"]

    rec = r.to_recording()
    assert rec.meta.mounting is not None

    def first_sides(mounting) -> tuple[int, int]:
        """(wrong sides, uncertain sides) among the first six contacts"""
        rec.meta.mounting = mounting
        events = analyse_walk(rec).tracker.events_[:6]
        wrong = sum(e.contact.side != true_side(e.contact.t_s) for e in events)
        uncertain = sum(abs(e.contact.side_score) < SIDE_CERTAIN_SCORE for e in events)
        return wrong, uncertain

    known_wrong, known_uncertain = first_sides(list(r.mounting_wxyz))
    _, learned_uncertain = first_sides(None)
    assert known_wrong == 0 and known_uncertain == 0 and learned_uncertain >= 3

    w, x, y, z = (float(v) for v in r.mounting_wxyz)
    settings = BoardSettings(100, (w, x, y, z), None)
    live, unknown = LiveWalk(), LiveWalk()
    for b in _blocks(r, 100, 10):
        live(b, SimpleNamespace(settings=settings))  # type: ignore[arg-type]
        unknown(b, NO_SETTINGS)  # type: ignore[arg-type]
    assert live.tracker is not None and unknown.tracker is not None
    assert live.tracker.detector.left_axis is not None
    assert unknown.tracker.detector.left_axis is None


def test_the_live_view_marks_a_step_whose_side_is_uncertain():
    """A board that never said its mounting: the first steps' sides rest on the yaw rate alone
    until the left axis is learned, and the view says so for each such step and counts them (as
    the offline summary does, |side score| below SIDE_CERTAIN_SCORE) instead of showing a bare
    guess."""
    from hipsense.analysis.walk import SIDE_CERTAIN_SCORE
    from hipsense.cli.walk import _WalkView
    from rich.console import Console

    def row(view: _WalkView, name: str) -> str:
        console = Console(record=True, width=160)
        console.print(view.table())
        return next(line for line in console.export_text().splitlines() if name in line)

    r = simulate("walk-normal", seed=3, duration_s=20.0)
    live = LiveWalk()
    view = _WalkView(None, live)  # type: ignore[arg-type]  # no redraws: table() only
    scores: list[float] = []
    for b in _blocks(r, 100, 10):
        before = live.last_event
        live(b, NO_SETTINGS)  # type: ignore[arg-type]
        ev = live.last_event
        if ev is None or ev is before:
            continue
        scores.append(ev.contact.side_score)
        assert ("(side uncertain)" in row(view, "last contact")) == (
            abs(ev.contact.side_score) < SIDE_CERTAIN_SCORE
        )
    n_uncertain = sum(abs(s) < SIDE_CERTAIN_SCORE for s in scores)
    assert len(scores) >= 20 and 3 <= n_uncertain < len(scores) // 2
    assert live.uncertain == n_uncertain
    assert f"(side uncertain for {n_uncertain})" in row(view, "steps")

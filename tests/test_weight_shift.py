"""The weight-shift matched filter (detectors.balance.events.WeightShift), synthetic moves."""

from __future__ import annotations

import numpy as np
from hipsense.detectors.balance.events import WeightShift
from hypothesis import given, settings
from hypothesis import strategies as st


def _min_jerk_acc(t: np.ndarray, t0: float, dur: float, dist: float) -> np.ndarray:
    s = np.clip((t - t0) / dur, 0.0, 1.0)
    inside = (t >= t0) & (t <= t0 + dur)
    return np.where(inside, dist / dur**2 * (60 * s - 180 * s**2 + 120 * s**3), 0.0)


def _run(acc: np.ndarray, t: np.ndarray, roll: np.ndarray | None = None) -> list[tuple]:
    ws = WeightShift(delay_s=0.0)
    roll = np.zeros_like(t) if roll is None else roll
    moves = [ws.step(float(a), float(b), float(c)) for a, b, c in zip(t, acc, roll, strict=True)]
    return [m for m in moves if m is not None]


@settings(max_examples=25, deadline=None)
@given(
    dur=st.floats(0.4, 1.5),
    dist=st.floats(0.03, 0.10),
    sign=st.sampled_from([-1.0, 1.0]),
    seed=st.integers(0, 2**16),
)
def test_a_weight_shift_is_found_dated_and_measured(
    dur: float, dist: float, sign: float, seed: int
) -> None:
    t = np.arange(0.0, 8.0, 0.01)
    rng = np.random.default_rng(seed)
    acc = 0.3 + _min_jerk_acc(t, 3.0, dur, sign * dist) + rng.normal(0.0, 0.01, t.size)
    moves = _run(acc, t)
    big = [m for m in moves if abs(m[2]) >= 0.02]
    assert len(big) == 1  # the constant offset (gravity's share of a tilt) is no move
    start, end, d = big[0]
    assert abs(start - 3.0) <= 0.1 and abs(end - (3.0 + dur)) <= 0.1
    assert np.sign(d) == sign and abs(abs(d) - dist) <= 0.25 * dist


def test_an_oscillation_is_no_move() -> None:
    """A hip-strategy correction (a Gaussian-windowed 1.5 Hz swing) goes out and back."""
    t = np.arange(0.0, 8.0, 0.01)
    u = t - 4.0
    pos = 0.015 * np.exp(-0.5 * (u / 0.2) ** 2) * np.sin(2 * np.pi * 1.5 * u)
    acc = np.gradient(np.gradient(pos, t), t)
    assert [m for m in _run(acc, t) if abs(m[2]) >= 0.02] == []


def test_gravity_share_of_a_frontal_rotation_is_taken_out() -> None:
    """A 5° obliquity change adds g·sin(5°) ≈ 0.85 m/s² to the lateral specific force; with the
    gyroscope it is no move, without it the step looks like one."""
    t = np.arange(0.0, 8.0, 0.01)
    s = np.clip((t - 3.0) / 0.5, 0.0, 1.0)
    obl = 5.0 * s**3 * (10 - 15 * s + 6 * s**2)
    acc = 9.80665 * np.sin(np.radians(obl))
    rate = np.gradient(obl, t)
    assert [m for m in _run(acc, t, rate) if abs(m[2]) >= 0.01] == []

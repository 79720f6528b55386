"""The walk analysis's plausibility gate: a recording that is not walking (noise, standing
still, a drifting signal, a shaken sensor) gives no contacts and says "No walking found", while
walking keeps every contact (the real sets' figures: tests/test_gait_real.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hipsense.analysis.walk import analyse_walk
from hipsense.conventions import G_MPS2
from hipsense.detectors.walk.contacts import ContactDetector
from hipsense.errors import HipsenseError
from hipsense.recording import Recording
from hipsense.sim.scenarios import simulate
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

SECONDS = 40.0
PROPERTY = settings(
    max_examples=12, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)


def _gravity_dir(rng: np.random.Generator) -> np.ndarray:
    v = rng.normal(size=3)
    return v / np.linalg.norm(v)


def _recording(acc: np.ndarray, gyr: np.ndarray, rate_hz: float) -> Recording:
    cols = {f"acc_{a}_mps2": acc[:, k] for k, a in enumerate("xyz")}
    cols |= {f"gyr_{a}_dps": gyr[:, k] for k, a in enumerate("xyz")}
    return Recording.from_frame(pd.DataFrame(cols), rate_hz=rate_hz)


def _assert_no_walk(acc: np.ndarray, gyr: np.ndarray, rate_hz: float) -> None:
    """The detector alone (no input checks before it, as live) finds no bout with a walking
    rhythm, and the analysis gives no contacts: a clear error (e.g. the accelerometer does not
    read gravity) or a result that says no walking was found."""
    det = ContactDetector(rate_hz)
    det.update(np.arange(acc.shape[0]) / rate_hz, acc, gyr)
    assert not any(c.walking for c in det.contacts_)
    try:
        result = analyse_walk(_recording(acc, gyr, rate_hz), axes="x,y,z")
    except HipsenseError:
        return
    assert not result.walking_found
    assert result.events == []
    assert result.tracker.verdict_.status != "asymmetric"
    assert result.summary_text().startswith("No walking found")
    assert result.to_json()["recording"]["walking_found"] is False


@PROPERTY
@given(
    seed=st.integers(0, 2**32 - 1),
    rate_hz=st.sampled_from([30.0, 50.0, 100.0, 200.0]),
    acc_sd=st.floats(0.2, 5.0),
    gyr_sd=st.floats(0.5, 100.0),
)
def test_white_noise_is_not_a_walk(seed, rate_hz, acc_sd, gyr_sd):
    rng = np.random.default_rng(seed)
    n = int(SECONDS * rate_hz)
    acc = G_MPS2 * _gravity_dir(rng) + acc_sd * rng.normal(size=(n, 3))
    _assert_no_walk(acc, gyr_sd * rng.normal(size=(n, 3)), rate_hz)


@PROPERTY
@given(seed=st.integers(0, 2**32 - 1), acc_sd=st.floats(0.002, 0.1))
def test_standing_still_is_not_a_walk(seed, acc_sd):
    rng = np.random.default_rng(seed)
    n = int(SECONDS * 100)
    sway = np.cumsum(rng.normal(size=(n, 3)), axis=0) * 1e-3  # slow postural sway
    acc = G_MPS2 * _gravity_dir(rng) + sway + acc_sd * rng.normal(size=(n, 3))
    _assert_no_walk(acc, 0.5 * rng.normal(size=(n, 3)), 100.0)


@PROPERTY
@given(seed=st.integers(0, 2**32 - 1), step_sd=st.floats(0.02, 1.0))
def test_a_random_walk_is_not_a_walk(seed, step_sd):
    """Every channel a random walk from rest (a drifting, broken sensor): its band-passed
    vertical peaks can come at a steady rhythm by chance, but without heel-strike impacts."""
    rng = np.random.default_rng(seed)
    n = int(SECONDS * 100)
    acc = G_MPS2 * _gravity_dir(rng) + np.cumsum(step_sd * rng.normal(size=(n, 3)), axis=0)
    gyr = np.cumsum(rng.normal(size=(n, 3)), axis=0)
    _assert_no_walk(acc, gyr, 100.0)


@PROPERTY
@given(
    seed=st.integers(0, 2**32 - 1),
    freq_hz=st.floats(2.0, 8.0),
    amp_g=st.floats(2.0, 4.0),
)
def test_a_shaken_sensor_is_not_a_walk(seed, freq_hz, amp_g):
    """Shaken by hand: 2-4 g at 2-8 Hz along a random direction, with some tremble."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(SECONDS * 100)) / 100.0
    phase = 2 * np.pi * freq_hz * t + 0.3 * np.sin(2 * np.pi * 0.2 * t)
    acc = G_MPS2 * _gravity_dir(rng) + amp_g * G_MPS2 * np.outer(np.sin(phase), _gravity_dir(rng))
    acc += 0.5 * rng.normal(size=acc.shape)
    gyr = 150.0 * np.outer(np.cos(phase), _gravity_dir(rng))
    _assert_no_walk(acc, gyr, 100.0)


@pytest.fixture(scope="module")
def walk():
    return simulate("walk-right-trendelenburg", seed=4)


def test_a_walk_is_found_and_keeps_its_contacts(walk):
    result = analyse_walk(walk.to_recording())
    assert result.walking_found and result.rejected_contacts == 0
    assert len(result.events) >= len(walk.truth["contacts"]) - 2
    assert all(e.contact.walking for e in result.events[4:])  # steady from the 5th contact on


def test_shaking_after_a_walk_adds_no_contacts(walk):
    """The gate works per peak too: a walk's contacts stay, the shaking after it adds none."""
    rate = walk.rate_hz
    t, acc, gyr = walk.t_s, walk.acc_mps2, walk.gyr_dps
    alone = ContactDetector(rate)
    alone.update(t, acc, gyr)
    rng = np.random.default_rng(3)
    t2 = t[-1] + np.arange(1, int(30 * rate) + 1) / rate
    shake = acc[-1] + 2.5 * G_MPS2 * np.outer(np.sin(2 * np.pi * 4.0 * t2), _gravity_dir(rng))
    both = ContactDetector(rate)
    both.update(np.concatenate([t, t2]), np.concatenate([acc, shake]),
                np.concatenate([gyr, 100.0 * rng.normal(size=(len(t2), 3))]))  # fmt: skip
    assert len(alone.contacts_) > 20
    assert [c.t_s for c in both.contacts_] == [c.t_s for c in alone.contacts_]

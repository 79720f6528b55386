"""Counted nouns in what the user reads: "1 sample", never "1 samples"."""

from __future__ import annotations

import numpy as np
import pytest
from hipsense.conventions.words import counted
from hipsense.motion.errors import NotWornError
from hipsense.motion.sources import RawChecks


@pytest.mark.parametrize(
    ("n", "text"), [(0, "0 samples"), (1, "1 sample"), (2, "2 samples"), (10**6, "1000000 samples")]
)
def test_counted_is_singular_for_exactly_one(n: int, text: str) -> None:
    assert counted(n, "sample") == text


def test_counted_takes_an_irregular_plural() -> None:
    assert counted(1, "person", "people") == "1 person"
    assert counted(3, "person", "people") == "3 people"


def test_a_one_sample_walk_says_one_sample() -> None:
    checks = RawChecks(100.0)
    checks.add(np.array([0.0]), np.array([[0.0, 0.0, 9.8]]), np.zeros((1, 3)))
    with pytest.raises(NotWornError, match=r"only 1 sample \(") as err:
        checks.check(final=True)
    assert "1 samples" not in str(err.value)


def test_a_stance_summary_counts_one_brief_touch_down_in_the_singular() -> None:
    from hipsense.analysis import analyse
    from hipsense.sim.scenarios import simulate

    result = analyse(simulate("stance-eyes-open", seed=0).to_recording())
    text = result.summary_text()
    counts = [tr["n_touch_downs"] for tr in result.to_json()["trials"]]
    for n in counts:
        assert f"{counted(n, 'brief touch-down')};" in text
    assert "(s)" not in text and "1 brief touch-downs" not in text

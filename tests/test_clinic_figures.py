"""Key figures taken from the analyses' JSON documents: the documented ones, with cadence and
speed once the walk gives them, and never a crash or a non-finite value on odd documents."""

from __future__ import annotations

import math
from typing import Any

from hipsense.store.figures import DEFINITIONS, describe, key_figures
from hypothesis import given, settings
from hypothesis import strategies as st


def test_walk_figures_with_pace() -> None:
    doc = {
        "per_side": {"left": {"drop_deg": {"n": 12, "mean": 2.5}},
                     "right": {"drop_deg": {"n": 11, "mean": 8.0}}},
        "symmetry": {"step_time_si_pct": {"value": -4.0, "ci": [-6.0, -2.0]}},
        "pace": {"cadence_steps_per_min": 104.5, "speed_mps": 1.12, "stride_time_s": 1.15},
    }  # fmt: skip
    got = {(f.name, f.side): (f.value, f.unit) for f in key_figures("walk", doc)}
    assert got == {
        ("drop_deg", "left"): (2.5, "°"),
        ("drop_deg", "right"): (8.0, "°"),
        ("drop_difference_deg", ""): (5.5, "°"),
        ("step_time_si_pct", ""): (-4.0, "%"),
        ("cadence_steps_per_min", ""): (104.5, "steps/min"),
        ("speed_mps", ""): (1.12, "m/s"),
    }


def test_a_side_without_steps_gives_no_drop_and_no_difference() -> None:
    doc = {"per_side": {"left": {"drop_deg": {"n": 0, "mean": None}},
                        "right": {"drop_deg": {"n": 4, "mean": 3.0}}}}  # fmt: skip
    assert [(f.name, f.side) for f in key_figures("walk", doc)] == [("drop_deg", "right")]


def test_every_figure_has_words_and_the_mdcs_are_the_cited_ones() -> None:
    mdcs = {key: mdc.value for key, (_, mdc) in DEFINITIONS.items() if mdc is not None}
    assert mdcs == {
        ("walk", "drop_deg"): 4.0, ("walk", "drop_difference_deg"): 4.0,
        ("balance", "free_side_drop_deg"): 4.0, ("balance", "drop_difference_deg"): 4.0,
        ("bridge", "sag_deg"): 6.59, ("bridge", "sag_difference_deg"): 6.59,
    }  # fmt: skip
    assert describe("walk", "unknown_figure") == ("unknown figure", None)


_KEYS = [
    "per_side",
    "left",
    "right",
    "both",
    "drop_deg",
    "n",
    "mean",
    "symmetry",
    "step_time_si_pct",
    "value",
    "pace",
    "speed_mps",
    "best_hold_s",
    "sway",
    "obliquity_rms_deg",
    "free_side_drop_deg",
    "mean_lift_deg",
    "mean_hold_s",
    "mean_free_side_drop_deg",
    "condition",
]
_json = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=True) | st.integers() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(_KEYS), inner, max_size=6)
    ),
    max_leaves=15,
)


@settings(max_examples=150, deadline=None)
@given(doc=st.dictionaries(st.sampled_from(["per_side", "symmetry", "pace", "condition"]), _json))
def test_odd_documents_give_finite_figures_and_no_error(doc: dict[str, Any]) -> None:
    """Parts missing, of the wrong type, NaN or infinite: skipped, never a crash or a NaN."""
    for test in ("walk", "balance", "bridge", "other"):
        figures = key_figures(test, doc)
        assert all(math.isfinite(f.value) and isinstance(f.condition, str) for f in figures)

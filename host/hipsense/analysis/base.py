"""What every test's result offers: one shape for walk, stance and bridge.

A result is made by an analyser (:data:`hipsense.analysis.ANALYSERS`) and never knows its HTML
(:func:`hipsense.report.write_report` does). Tables are pandas attributes ending in ``_``;
``verdict_`` is a :class:`pandas.Series` with the same keys for every test.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

import pandas as pd

from hipsense.recording import Recording

VERDICT_KEYS = ("test", "status", "weaker_side", "text")
"""``status``: ``asymmetric``, ``symmetric`` or ``not_enough_data``; ``weaker_side``:
``left``/``right``/None; ``text``: the verdict in plain words."""


@runtime_checkable
class Result(Protocol):
    """The common shape of the three results (:class:`~hipsense.analysis.walk.WalkAnalysis`,
    :class:`~hipsense.analysis.balance.BalanceAnalysis`,
    :class:`~hipsense.analysis.bridge.BridgeAnalysis`)."""

    recording: Recording

    @property
    def test(self) -> str:
        """``walk``, ``balance`` or ``bridge``."""
        ...

    @property
    def verdict_(self) -> pd.Series:
        """The verdict: a Series indexed by :data:`VERDICT_KEYS`."""
        ...

    @property
    def per_side_(self) -> pd.DataFrame:
        """One row per side (``left``, ``right``; bridges also ``both``), the test's figures."""
        ...

    def to_json(self) -> dict[str, Any]:
        """The documented, versioned JSON document (docs/gait.md, docs/clinical-tests.md)."""
        ...

    def summary_text(self) -> str:
        """The result in plain words, for the terminal."""
        ...


def verdict_series(test: str, status: str, weaker_side: str | None, text: str) -> pd.Series:
    """A verdict in the common shape."""
    return pd.Series(
        dict(zip(VERDICT_KEYS, (test, status, weaker_side, text), strict=True)), dtype=object
    )


def flat_table(
    rows: Sequence[Mapping[str, Any]], index: Sequence[str] | None = None
) -> pd.DataFrame:
    """Rows of (possibly nested) dicts as a DataFrame; nested keys joined with ``.``."""
    frame = pd.json_normalize([dict(r) for r in rows]) if rows else pd.DataFrame()
    if index is not None:
        frame.index = pd.Index(list(index), name="side")
    return frame


def json_safe(value: Any) -> Any:
    """A copy of a JSON document with every non-finite float as None (strict JSON)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return json_safe(value.item())
    return value

"""Offline analysis of a recording, one analyser per test (walk, balance, bridge).

:data:`ANALYSERS` maps each test to its analyser, a real function the type checker sees
(``recording, *, options -> Result``); :func:`analyse` picks one by the test named in the
recording (or given) and refuses, with a :class:`TypeError` naming it, any option that test does
not take. The same detector code runs live (``hipsense walk``, ``balance``, ``bridge``) and here,
so a recording gives exactly the live result. Results never know their HTML:
:func:`hipsense.report.write_report` does.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from functools import partial
from types import MappingProxyType
from typing import Any, Literal, overload

from hipsense.analysis.balance import BalanceAnalysis, analyse_balance
from hipsense.analysis.base import VERDICT_KEYS, Result
from hipsense.analysis.bridge import BridgeAnalysis, analyse_bridge
from hipsense.analysis.exercise import ExerciseAnalysis, analyse_exercise
from hipsense.analysis.walk import WalkAnalysis, analyse_walk
from hipsense.conventions.exercises import SPECS as EXERCISES
from hipsense.errors import HipsenseError
from hipsense.recording import Recording

Analyser = Callable[..., Result]
"""``analyser(recording, *, option=...) -> Result``; every option keyword-only, none swallowed."""

ANALYSERS: Mapping[str, Analyser] = MappingProxyType(
    {
        "walk": analyse_walk,
        "balance": analyse_balance,
        "bridge": analyse_bridge,
        # one test per corrective exercise: exercise:<name> (docs/exercises.md)
        **{f"exercise:{name}": partial(analyse_exercise, exercise=name) for name in EXERCISES},
    }
)

__all__ = [
    "ANALYSERS",
    "VERDICT_KEYS",
    "Analyser",
    "BalanceAnalysis",
    "BridgeAnalysis",
    "ExerciseAnalysis",
    "Result",
    "UnknownTest",
    "WalkAnalysis",
    "analyse",
    "options_of",
    "test_of",
]


class UnknownTest(HipsenseError):
    """No analyser for the requested test, or the recording does not say which test it holds."""


def options_of(test: str) -> tuple[str, ...]:
    """The keyword-only options the analyser of ``test`` takes, in its signature's order."""
    params = inspect.signature(_analyser(test)).parameters.values()
    return tuple(p.name for p in params if p.kind is inspect.Parameter.KEYWORD_ONLY)


def test_of(recording: Recording, test: str | None = None) -> str:
    """``test`` if given, else the test named in the recording's metadata (checked)."""
    name = test or recording.meta.test
    if name is None:
        raise UnknownTest(
            "the recording does not say which test it holds: pass --test "
            + "|".join(sorted(ANALYSERS))
        )
    _analyser(name)
    return name


@overload
def analyse(recording: Recording, test: Literal["walk"], **options: Any) -> WalkAnalysis: ...
@overload
def analyse(recording: Recording, test: Literal["balance"], **options: Any) -> BalanceAnalysis: ...
@overload
def analyse(recording: Recording, test: Literal["bridge"], **options: Any) -> BridgeAnalysis: ...
@overload
def analyse(recording: Recording, test: str | None = None, **options: Any) -> Result: ...
def analyse(recording: Recording, test: str | None = None, **options: Any) -> Result:
    """Analyse ``recording`` as ``test`` (default: the test named in its metadata).

    ``options`` are the analyser's keyword-only options (:func:`options_of`); one the test does
    not take raises :class:`TypeError` naming it, never ignored.
    """
    name = test_of(recording, test)
    accepted = options_of(name)
    unknown = [k for k in options if k not in accepted]
    if unknown:
        raise TypeError(
            f"analyse(): {', '.join(map(repr, unknown))} "
            f"{'is not an option' if len(unknown) == 1 else 'are not options'} of the {name} "
            f"analysis (its options: {', '.join(accepted)})"
        )
    return ANALYSERS[name](recording, **options)


def _analyser(test: str) -> Analyser:
    found = ANALYSERS.get(test)
    if found is None and test == "stream":
        raise UnknownTest(
            "this recording was made by `hipsense stream`, which names no test: say which test "
            "it holds, e.g. pass --test walk"
        )
    if found is None:
        raise UnknownTest(
            f"no analysis for test {test!r}: choose one of {', '.join(sorted(ANALYSERS))}"
        )
    return found

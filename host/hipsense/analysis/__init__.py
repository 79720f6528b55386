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
import os
from collections.abc import Callable, Mapping
from functools import partial
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal, overload

from hipsense.analysis.balance import BalanceAnalysis, analyse_balance
from hipsense.analysis.base import VERDICT_KEYS, Result
from hipsense.analysis.bridge import BridgeAnalysis, analyse_bridge
from hipsense.analysis.exercise import ExerciseAnalysis, analyse_exercise
from hipsense.analysis.walk import WalkAnalysis, analyse_walk, analyse_walk_chunks
from hipsense.conventions.exercises import SPECS as EXERCISES
from hipsense.errors import HipsenseError
from hipsense.recording import Recording

if TYPE_CHECKING:
    from hipsense.recording.chunks import RecordingChunks

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
    "analyse_file",
    "options_of",
    "test_of",
]


class UnknownTest(HipsenseError):
    """No analyser for the requested test, or the recording does not say which test it holds."""


def options_of(test: str) -> tuple[str, ...]:
    """The keyword-only options the analyser of ``test`` takes, in its signature's order."""
    params = inspect.signature(_analyser(test)).parameters.values()
    return tuple(p.name for p in params if p.kind is inspect.Parameter.KEYWORD_ONLY)


def test_of(recording: Recording | RecordingChunks, test: str | None = None) -> str:
    """``test`` if given, else the test named in the recording's metadata (checked; for
    chunks, before any sample is read)."""
    return _test_named(recording.meta.test, test)


def _test_named(named: str | None, test: str | None) -> str:
    name = test or named
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
    _check_options(name, options)
    return ANALYSERS[name](recording, **options)


def analyse_file(path: str | os.PathLike[str], test: str | None = None, **options: Any) -> Result:
    """Analyse the recording file ``path`` as ``test`` (default: the test named in it), as
    :func:`analyse` does after :func:`hipsense.recording.read_recording`, but a walk is read
    in chunks (:func:`hipsense.recording.chunks.open_chunks`), so its memory does not grow with
    the recording's length; its result keeps no per-sample data (``recording`` is None). The
    other tests, a few minutes at most, are read whole up to
    :data:`~hipsense.recording.limits.MAX_WHOLE_ROWS` samples (a longer file is a
    :class:`~hipsense.recording.RecordingError` before it fills the memory).
    """
    from hipsense.recording.chunks import open_chunks

    chunks = open_chunks(path)
    name = _test_named(chunks.meta.test, test)
    _check_options(name, options)
    if name == "walk":
        return analyse_walk_chunks(chunks, **options)
    return ANALYSERS[name](chunks.whole(why=f"the {name} analysis reads it whole"), **options)


def _check_options(name: str, options: Mapping[str, Any]) -> None:
    accepted = options_of(name)
    unknown = [k for k in options if k not in accepted]
    if unknown:
        raise TypeError(
            f"analyse(): {', '.join(map(repr, unknown))} "
            f"{'is not an option' if len(unknown) == 1 else 'are not options'} of the {name} "
            f"analysis (its options: {', '.join(accepted)})"
        )


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

"""Offline analysis of a recording, one analyser per test (walk, balance, bridge).

:data:`ANALYSERS` maps each test to its analyser, a real function the type checker sees
(``recording, *, options -> Result``); :func:`analyse` picks one by the test named in the
recording (or given) and refuses, with a :class:`TypeError` naming it, any option that test does
not take. The same detector code runs live (``hipsense walk``, ``balance``, ``bridge``) and here,
so a recording gives exactly the live result. Results never know their HTML:
:func:`hipsense.report.write_report` does.

Each analyser's module loads when its test is first asked for (an entry of :data:`ANALYSERS`,
its options, or a result class by name, PEP 562): analysing a walk loads no stance, bridge or
exercise code (docs/benchmarks.md, where the CPU of ``hipsense analyze`` goes).
"""

from __future__ import annotations

import importlib
import inspect
import os
from collections.abc import Callable, Iterator, Mapping
from functools import partial
from typing import TYPE_CHECKING, Any, Literal, overload

from hipsense.conventions.exercises import SPECS as EXERCISES
from hipsense.errors import HipsenseError

if TYPE_CHECKING:  # loaded lazily at run time (module __getattr__ below)
    from hipsense.analysis.balance import BalanceAnalysis
    from hipsense.analysis.base import VERDICT_KEYS, Result
    from hipsense.analysis.bridge import BridgeAnalysis
    from hipsense.analysis.exercise import ExerciseAnalysis
    from hipsense.analysis.walk import WalkAnalysis
    from hipsense.recording import Recording
    from hipsense.recording.chunks import RecordingChunks

Analyser = Callable[..., "Result"]
"""``analyser(recording, *, option=...) -> Result``; every option keyword-only, none swallowed."""

_MODULES: dict[str, tuple[str, str]] = {
    "walk": ("hipsense.analysis.walk", "analyse_walk"),
    "balance": ("hipsense.analysis.balance", "analyse_balance"),
    "bridge": ("hipsense.analysis.bridge", "analyse_bridge"),
    # one test per corrective exercise: exercise:<name> (docs/exercises.md)
    **{
        f"exercise:{name}": ("hipsense.analysis.exercise", "analyse_exercise") for name in EXERCISES
    },
}
"""test -> (module, analyser function); exercises also pass ``exercise=<name>``."""


class _Analysers(Mapping[str, Analyser]):
    """A read-only mapping whose keys are known at once and whose values (the analysers) load
    their module on first access."""

    def __init__(self) -> None:
        self._loaded: dict[str, Analyser] = {}

    def __getitem__(self, test: str) -> Analyser:
        found = self._loaded.get(test)
        if found is None:
            module, name = _MODULES[test]  # KeyError for an unknown test, as a dict
            func = getattr(importlib.import_module(module), name)
            if test.startswith("exercise:"):
                func = partial(func, exercise=test.removeprefix("exercise:"))
            found = self._loaded[test] = func
        return found

    def __contains__(self, test: object) -> bool:  # without loading the analyser
        return test in _MODULES

    def __iter__(self) -> Iterator[str]:
        return iter(_MODULES)

    def __len__(self) -> int:
        return len(_MODULES)

    def __repr__(self) -> str:
        return f"ANALYSERS({', '.join(_MODULES)})"


ANALYSERS: Mapping[str, Analyser] = _Analysers()

# public name -> the module that defines it (loaded on first access)
_LAZY: dict[str, str] = {
    "VERDICT_KEYS": "hipsense.analysis.base",
    "Result": "hipsense.analysis.base",
    "WalkAnalysis": "hipsense.analysis.walk",
    "BalanceAnalysis": "hipsense.analysis.balance",
    "BridgeAnalysis": "hipsense.analysis.bridge",
    "ExerciseAnalysis": "hipsense.analysis.exercise",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


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
    "modules_of",
    "options_of",
    "test_of",
]


class UnknownTest(HipsenseError):
    """No analyser for the requested test, or the recording does not say which test it holds."""


FIRST_USE_MODULES = ("hipsense.recording.chunks", "pyarrow.csv", "scipy.signal")
"""Modules loaded at first use, not at import: the chunked reader of :func:`analyse_file` (and
its CSV reader without pandas) and the detectors' filters (at their first chunk)."""


def modules_of(test: str | None = None) -> tuple[str, ...]:
    """The modules analysing ``test`` loads (None: any test), what its detectors load at first
    use included: a process pool imports them once before it forks its workers, which then
    share them instead of importing them each (``hipsense batch``)."""
    names = _MODULES.values() if test is None else [_MODULES[_test_named(None, test)]]
    return (*dict.fromkeys(module for module, _ in names), *FIRST_USE_MODULES)


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


def analyse_file(
    path: str | os.PathLike[str],
    test: str | None = None,
    *,
    column_map: Mapping[str, str] | None = None,
    rate_hz: float | None = None,
    **options: Any,
) -> Result:
    """Analyse the recording file ``path`` as ``test`` (default: the test named in it), as
    :func:`analyse` does after :func:`hipsense.recording.read_recording`, but a walk is read
    in chunks (:func:`hipsense.recording.chunks.open_chunks`), so its memory does not grow with
    the recording's length; its result keeps no per-sample data (``recording`` is None). The
    other tests, a few minutes at most, are read whole up to
    :data:`~hipsense.recording.limits.MAX_WHOLE_ROWS` samples (a longer file is a
    :class:`~hipsense.recording.RecordingError` before it fills the memory). With
    ``column_map`` (and ``rate_hz``) the file is another tool's CSV, read as ``hipsense
    analyze --column-map`` reads it (:func:`hipsense.recording.chunks.open_any_chunks`).
    """
    from hipsense.recording.chunks import open_any_chunks

    chunks = open_any_chunks(path, column_map, rate_hz, test=test)
    name = _test_named(chunks.meta.test, test)
    _check_options(name, options)
    if name == "walk":
        from hipsense.analysis.walk import analyse_walk_chunks

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
    found = ANALYSERS[test] if test in _MODULES else None
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

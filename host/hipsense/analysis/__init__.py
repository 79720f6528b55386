"""Offline analysis of a recording, one analyser per test (walk, balance, bridge).

``hipsense analyze`` and ``hipsense report`` look the test up in :data:`ANALYSERS` and call
``analyse(recording, **options)``; each returns an :class:`Analysis`. The same detector code
runs live (``hipsense walk``, ``balance``, ``bridge``) and here, so a recording gives exactly
the live result.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any, Protocol

from hipsense.errors import HipsenseError
from hipsense.recording import Recording

# test name -> "module:function" with signature (recording, **options) -> Analysis
ANALYSERS: dict[str, str] = {
    "walk": "hipsense.analysis.walk:analyse_walk",
    "balance": "hipsense.analysis.balance:analyse_balance",
    "bridge": "hipsense.analysis.bridge:analyse_bridge",
}


class Analysis(Protocol):
    """What every test's analysis offers the CLI."""

    def to_json(self) -> dict[str, Any]:
        """The documented, versioned JSON document (see docs/analysis.md)."""
        ...

    def summary_text(self) -> str:
        """The result in plain words, for the terminal."""
        ...

    def write_report(self, base: Path, patient: dict[str, Any] | None = None) -> tuple[Path, Path]:
        """The report as ``base.html`` (self-contained, figures embedded) and ``base.pdf``
        (hipsense.report.layout); ``patient`` (id, year of birth) heads every page."""
        ...


class UnknownTest(HipsenseError):
    """No analyser for the requested test."""


def analyse(recording: Recording, test: str | None = None, **options: Any) -> Analysis:
    """Analyse ``recording`` as ``test`` (default: the test named in its metadata)."""
    name = test or recording.meta.test
    if name is None:
        raise UnknownTest(
            "the recording does not say which test it holds: pass --test "
            + "|".join(sorted(ANALYSERS))
        )
    if name == "stream":
        raise UnknownTest(
            "this recording was made by `hipsense stream`, which does not know which test was "
            "done: pass --test walk (or --test balance, --test bridge)"
        )
    target = ANALYSERS.get(name)
    if target is None:
        raise UnknownTest(
            f"no analysis for test {name!r}: choose one of {', '.join(sorted(ANALYSERS))}"
        )
    module_name, function = target.split(":")
    return getattr(importlib.import_module(module_name), function)(recording, **options)

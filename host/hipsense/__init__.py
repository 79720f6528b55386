"""hipsense: pelvis motion sensing, left/right asymmetry in walking, stance and bridges.

The public API (docs/api.md), in the style of mobgap::

    import hipsense as hs
    rec = hs.read_recording("walk.parquet")
    result = hs.analyse(rec)            # the test named in the recording
    print(result.verdict_["text"])

Attributes load on first use (PEP 562), so ``import hipsense`` stays light: no numpy, pandas
or scipy until a name that needs them is touched.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:  # the names below, for the type checker (loaded lazily at run time)
    from hipsense.analysis import ANALYSERS as ANALYSERS
    from hipsense.analysis import Result as Result
    from hipsense.analysis import analyse as analyse
    from hipsense.analysis import analyse_file as analyse_file
    from hipsense.analysis import options_of as options_of
    from hipsense.analysis.balance import BalanceAnalysis as BalanceAnalysis
    from hipsense.analysis.balance import analyse_balance as analyse_balance
    from hipsense.analysis.bridge import BridgeAnalysis as BridgeAnalysis
    from hipsense.analysis.bridge import analyse_bridge as analyse_bridge
    from hipsense.analysis.walk import WalkAnalysis as WalkAnalysis
    from hipsense.analysis.walk import analyse_walk as analyse_walk
    from hipsense.conventions import G_MPS2 as G_MPS2
    from hipsense.conventions import SIDES as SIDES
    from hipsense.detectors.balance.events import StanceDetector as StanceDetector
    from hipsense.detectors.bridge.events import BridgeDetector as BridgeDetector
    from hipsense.detectors.walk.contacts import ContactDetector as ContactDetector
    from hipsense.errors import HipsenseError as HipsenseError
    from hipsense.recording import Recording as Recording
    from hipsense.recording import RecordingError as RecordingError
    from hipsense.recording import RecordingMeta as RecordingMeta
    from hipsense.recording import read_recording as read_recording
    from hipsense.recording import write_recording as write_recording
    from hipsense.recording.importer import read_foreign_csv as read_foreign_csv
    from hipsense.report import write_report as write_report

# public name -> module that defines it
_LAZY: dict[str, str] = {
    "ANALYSERS": "hipsense.analysis",
    "Result": "hipsense.analysis",
    "analyse": "hipsense.analysis",
    "analyse_file": "hipsense.analysis",
    "options_of": "hipsense.analysis",
    "BalanceAnalysis": "hipsense.analysis.balance",
    "analyse_balance": "hipsense.analysis.balance",
    "BridgeAnalysis": "hipsense.analysis.bridge",
    "analyse_bridge": "hipsense.analysis.bridge",
    "WalkAnalysis": "hipsense.analysis.walk",
    "analyse_walk": "hipsense.analysis.walk",
    "G_MPS2": "hipsense.conventions",
    "SIDES": "hipsense.conventions",
    "StanceDetector": "hipsense.detectors.balance.events",
    "BridgeDetector": "hipsense.detectors.bridge.events",
    "ContactDetector": "hipsense.detectors.walk.contacts",
    "HipsenseError": "hipsense.errors",
    "Recording": "hipsense.recording",
    "RecordingError": "hipsense.recording",
    "RecordingMeta": "hipsense.recording",
    "read_recording": "hipsense.recording",
    "write_recording": "hipsense.recording",
    "read_foreign_csv": "hipsense.recording.importer",
    "write_report": "hipsense.report",
}

__all__ = [
    "ANALYSERS",
    "G_MPS2",
    "SIDES",
    "BalanceAnalysis",
    "BridgeAnalysis",
    "BridgeDetector",
    "ContactDetector",
    "HipsenseError",
    "Recording",
    "RecordingError",
    "RecordingMeta",
    "Result",
    "StanceDetector",
    "WalkAnalysis",
    "__version__",
    "analyse",
    "analyse_balance",
    "analyse_bridge",
    "analyse_file",
    "analyse_walk",
    "options_of",
    "read_foreign_csv",
    "read_recording",
    "write_recording",
    "write_report",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'hipsense' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))

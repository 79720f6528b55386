"""What every test's result offers: one shape for walk, stance and bridge.

A result is made by an analyser (:data:`hipsense.analysis.ANALYSERS`) and never knows its HTML
(:func:`hipsense.report.write_report` does). Tables are pandas attributes ending in ``_``;
``verdict_`` is a :class:`pandas.Series` with the same keys for every test.
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Protocol, TypeVar, runtime_checkable

import numpy as np

from hipsense.recording import MARKER, MARKER_SETTINGS, Recording, RecordingMeta

if TYPE_CHECKING:
    import pandas as pd

VERDICT_KEYS = ("test", "status", "weaker_side", "text")
"""``status``: ``asymmetric``, ``symmetric`` or ``not_enough_data``; ``weaker_side``:
``left``/``right``/None; ``text``: the verdict in plain words."""


@runtime_checkable
class Result(Protocol):
    """The common shape of the three results (:class:`~hipsense.analysis.walk.WalkAnalysis`,
    :class:`~hipsense.analysis.balance.BalanceAnalysis`,
    :class:`~hipsense.analysis.bridge.BridgeAnalysis`)."""

    @property
    def recording(self) -> Recording | None:
        """The analysed recording (None for a walk read from a file in chunks)."""
        ...

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
    import pandas as pd  # the pandas views only: a walk's JSON loads no pandas (issue 19)

    return pd.Series(
        dict(zip(VERDICT_KEYS, (test, status, weaker_side, text), strict=True)), dtype=object
    )


def flat_table(
    rows: Sequence[Mapping[str, Any]], index: Sequence[str] | None = None
) -> pd.DataFrame:
    """Rows of (possibly nested) dicts as a DataFrame; nested keys joined with ``.``."""
    import pandas as pd

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


RunT = TypeVar("RunT")


class DocumentResult(Generic[RunT]):
    """A result held as its JSON document, with the front end's run (the report's figures):
    what the balance and bridge results share. Subclasses add the pandas views."""

    test: ClassVar[str]

    def __init__(self, doc: dict[str, Any], run: RunT, recording: Recording) -> None:
        self._doc = doc
        self.run = run
        self.recording = recording

    def to_json(self) -> dict[str, Any]:
        """A copy of the document (docs/clinical-tests.md)."""
        return copy.deepcopy(self._doc)


BOARD_KEYS = ("mounting_aligned", "gyro_calibrated", "rate_hz", "protocol_minor")
"""The scalar settings a streamed recording's ``extra.board`` states (docs/recording.md)."""
SHOWN_CHANGES = 5
"""Settings changes named one by one in words; more are counted."""


def board_json(recording: Recording) -> dict[str, Any]:
    """The ``board`` section of every result's JSON: what the board used at the start
    (``settings``: the recording's ``extra.board``, None for a file not streamed from a board),
    its mounting, and the stream times (s) of the changes of its stored settings during the
    session (the ``marker`` 258 rows): figures from before and after a change may differ."""
    return board_doc(recording.meta, settings_changes_t_s(recording.data))


def settings_changes_t_s(data: pd.DataFrame | Mapping[str, Any]) -> list[float]:
    """The times (s, rounded to ms) of the settings-change markers among ``data``'s rows (a
    whole recording or one chunk of it, as a frame or as columns)."""
    if MARKER not in data:
        return []
    marker = np.asarray(data[MARKER])
    times = np.asarray(data["t_s"], dtype=float)[marker == MARKER_SETTINGS]
    return [round(float(t), 3) for t in times]


def board_doc(meta: RecordingMeta, settings_changed_t_s: list[float]) -> dict[str, Any]:
    """:func:`board_json` from the metadata and the settings-change times (a recording read
    in chunks collects them chunk by chunk)."""
    board = meta.extra.get("board")
    settings = None
    if isinstance(board, Mapping):  # only known scalar keys: the metadata may be hostile
        settings = {
            k: json_safe(v) if isinstance(v, (bool, int, float)) else None
            for k in BOARD_KEYS
            for v in [board.get(k)]
        }
    return {
        "settings": settings,
        "mounting_wxyz": meta.mounting,
        "settings_changed_t_s": list(settings_changed_t_s),
    }


def settings_change_words(board: Mapping[str, Any]) -> str | None:
    """The change of the board's stored settings during the session in words, as the live
    view, the summary and the report say it (None: no change)."""
    times = board.get("settings_changed_t_s") or []
    if not times:
        return None
    shown = ", ".join(f"{t:.1f} s" for t in times[:SHOWN_CHANGES])
    if len(times) > SHOWN_CHANGES:
        shown += f" and {len(times) - SHOWN_CHANGES} more times"
    return (
        "the sensor's stored settings (mounting, gyro calibration or rate) changed during the "
        f"session, at {shown} (another computer or the USB link?): figures from before and "
        "after a change may not be comparable"
    )


GYRO_WORDS = {
    True: "gyro bias from a stored calibration, refined at rest",
    False: "gyro bias learnt at rest (no stored calibration)",
}
"""The CONFIG flag ``gyro_calibrated`` says whether the board loaded a stored bias (CALIBRATE_GYRO,
``hs_bias.json``); either way its fusion learns the bias at every rest (the 3 s stand of a
walk) and slowly in motion (docs/algorithms.md, "Gyroscope bias"), so "not calibrated" is
never said: the bias is learnt, only not stored."""


def board_phrases(aligned: bool | None, gyro_calibrated: bool | None) -> list[str]:
    """The board's mounting and gyro settings in words (None: not known, left out), as the
    live view, the summary and the report say them."""
    parts = []
    if aligned is not None:
        parts.append("mounting aligned" if aligned else "mounting NOT aligned")
    if gyro_calibrated is not None:
        parts.append(GYRO_WORDS[gyro_calibrated])
    return parts


def board_words(board: Mapping[str, Any]) -> str:
    """What the board used at the start, in words (for the report's notes)."""
    settings = board.get("settings")
    if not settings:
        return "Sensor settings: not recorded (this file was not streamed from a board)."
    aligned, gyro = (settings.get(k) for k in ("mounting_aligned", "gyro_calibrated"))
    parts = board_phrases(
        aligned if isinstance(aligned, bool) else None, gyro if isinstance(gyro, bool) else None
    )
    if isinstance(settings.get("rate_hz"), (int, float)):
        parts.append(f"{settings['rate_hz']:g} Hz")
    return "Sensor settings at the start: " + (", ".join(parts) or "unknown") + "."


def json_text(value: Any) -> str:
    """Strict JSON that people can read, as every ``--json`` writes it: two-space indents,
    non-finite floats as null (:func:`json_safe`), non-ASCII characters as themselves (the
    output is UTF-8; "°" and "Zoë", not "\\u00b0")."""
    return json.dumps(json_safe(value), indent=2, allow_nan=False, ensure_ascii=False)


def json_chunks(doc: Mapping[str, Any]) -> Iterator[str]:
    """The JSON text of a result document (as :func:`json_text`) in pieces, to be written as
    they are made: each object of a list of objects (contacts, steps) on one line, and such
    lists may be iterators, so a long walk's document is never whole in memory."""
    yield "{"
    sep = "\n"
    for key, value in doc.items():
        yield f"{sep}  {json.dumps(str(key), ensure_ascii=False)}: "
        sep = ",\n"
        if isinstance(value, Iterator) or (
            isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value)
        ):
            item_sep = "[\n    "
            for item in value:
                try:  # almost always already strict: the copy only when it is not
                    text = json.dumps(item, allow_nan=False, ensure_ascii=False)
                except ValueError:
                    text = json.dumps(json_safe(item), allow_nan=False, ensure_ascii=False)
                yield item_sep + text
                item_sep = ",\n    "
            yield "[]" if item_sep.startswith("[") else "\n  ]"
        else:
            yield json_text(value).replace("\n", "\n  ")  # strings hold no raw newline (escaped)
    yield "}\n" if sep == "\n" else "\n}\n"

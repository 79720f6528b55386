"""Session metadata stored inside every recording, and its JSON form.

The JSON object holds every :class:`RecordingMeta` field plus ``format_version`` (the
recording format's version, see docs/recording.md) and ``content`` (which column groups the
file holds). It is strict JSON (no NaN/inf) so that any tool can read it.
"""

from __future__ import annotations

import dataclasses
import json
import math
import numbers
from datetime import datetime
from typing import Any

import numpy as np

from hipsense.recording.exceptions import RecordingError
from hipsense.recording.limits import check_meta_size
from hipsense.recording.schema import CONTENTS

#: The version this code writes. A reader refuses files with a newer version.
FORMAT_VERSION = 1
#: Parquet key-value metadata key holding the metadata JSON.
META_KEY = "hipsense.recording"

_STR_FIELDS = (
    "device_name", "device_id", "firmware_version", "imu_chip",
    "test", "side", "condition", "start_time", "software_version",
)  # fmt: skip
_MOUNTING_NORM_TOLERANCE = 1e-3


@dataclasses.dataclass(kw_only=True)
class RecordingMeta:
    """What was recorded, with what and how; ``None`` means unknown.

    ``mounting`` is the mounting alignment as a unit quaternion ``[w, x, y, z]`` (w first),
    as the board and :mod:`hipsense.motion.mounting` give it (the four numbers of ALIGN_MOUNTING
    and SET_MOUNTING in docs/protocol.md); a tuple or numpy array is kept as a list of
    floats. ``extra`` holds anything else that is JSON-serialisable (simulator ground truth,
    link statistics).
    """

    rate_hz: float
    device_name: str | None = None
    device_id: str | None = None
    firmware_version: str | None = None
    protocol_version: int | None = None
    imu_chip: str | None = None
    mounting: list[float] | None = None
    test: str | None = None
    side: str | None = None
    condition: str | None = None
    start_time: str | None = None
    software_version: str | None = None
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        try:
            problem = _meta_problem(self)
        except OverflowError:  # e.g. rate_hz 10**400, a mounting of 1e308s
            problem = "a number is too large to be a rate or a quaternion"
        if problem:
            raise RecordingError(f"invalid recording metadata: {problem}")
        self.rate_hz = float(self.rate_hz)
        if self.protocol_version is not None:
            self.protocol_version = int(self.protocol_version)
        if self.mounting is not None:
            self.mounting = [float(v) for v in self.mounting]


def _meta_problem(meta: RecordingMeta) -> str | None:
    """The first problem with the metadata's values, else None."""
    rate = meta.rate_hz
    if isinstance(rate, bool) or not isinstance(rate, numbers.Real):
        return f"rate_hz must be a number, got {rate!r}"
    if not (math.isfinite(float(rate)) and rate > 0):
        return f"rate_hz must be a positive finite number, got {rate!r}"
    for name in _STR_FIELDS:
        value = getattr(meta, name)
        if value is not None and not isinstance(value, str):
            return f"{name} must be text or None, got {value!r}"
    if meta.start_time is not None:
        try:
            datetime.fromisoformat(meta.start_time.replace("Z", "+00:00"))
        except ValueError:
            return (
                "start_time must be ISO 8601 (e.g. 2026-11-21T12:00:00+00:00),"
                f" got {meta.start_time!r}"
            )
    pv = meta.protocol_version
    if pv is not None and (isinstance(pv, bool) or not isinstance(pv, numbers.Integral) or pv < 0):
        return f"protocol_version must be a non-negative integer or None, got {pv!r}"
    if meta.mounting is not None:
        q = meta.mounting
        if (
            not isinstance(q, (list, tuple, np.ndarray))
            or np.shape(q) != (4,)
            or not all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in q)
            or not all(math.isfinite(float(v)) for v in q)
        ):
            return f"mounting must be a quaternion [w, x, y, z] of 4 finite numbers, got {q!r}"
        norm = math.sqrt(sum(float(v) ** 2 for v in q))
        if abs(norm - 1.0) > _MOUNTING_NORM_TOLERANCE:
            return f"mounting must be a unit quaternion [w, x, y, z], its norm is {norm:.6g}"
    if not isinstance(meta.extra, dict) or not all(isinstance(k, str) for k in meta.extra):
        return "extra must be a dict with text keys"
    try:
        _dumps(meta.extra)
    except (TypeError, ValueError) as exc:
        return f"extra must be JSON-serialisable without NaN/inf: {exc}"
    return None


def _jsonable(value: object) -> object:
    """numpy scalars and arrays become Python numbers and lists; anything else is refused."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} {value!r} is not JSON-serialisable")


def _dumps(obj: object) -> str:
    return json.dumps(obj, allow_nan=False, ensure_ascii=False, default=_jsonable)


def meta_to_json(meta: RecordingMeta, content: str) -> str:
    """One line of strict JSON: the metadata fields, ``format_version`` and ``content``."""
    fields = dataclasses.asdict(meta)
    return _dumps({"format_version": FORMAT_VERSION, "content": content, **fields})


def meta_from_json(text: str, source: str) -> tuple[RecordingMeta, str]:
    """Parse stored metadata; return it and the stored ``content``. Errors name ``source``."""
    check_meta_size(text, source)
    try:
        obj = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise RecordingError(
            f"{source}: the recording metadata is not valid JSON ({exc}); the file is damaged"
        ) from None
    if not isinstance(obj, dict):
        raise RecordingError(f"{source}: the recording metadata is not a JSON object")
    version = obj.pop("format_version", None)
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise RecordingError(
            f"{source}: the recording metadata has no valid format_version (got {version!r})"
        )
    if version > FORMAT_VERSION:
        raise RecordingError(
            f"{source}: recording format version {version} is newer than this hipsense reads"
            f" (up to {FORMAT_VERSION}); upgrade hipsense to read it"
        )
    content = obj.pop("content", None)
    if content not in CONTENTS:
        raise RecordingError(
            f"{source}: metadata 'content' must be one of {', '.join(CONTENTS)}, got {content!r}"
        )
    names = {f.name for f in dataclasses.fields(RecordingMeta)}
    unknown = sorted(set(obj) - names)
    if unknown:
        raise RecordingError(
            f"{source}: unknown metadata keys for format version {version}: {', '.join(unknown)}"
        )
    if "rate_hz" not in obj:
        raise RecordingError(f"{source}: the recording metadata has no rate_hz")
    try:
        meta = RecordingMeta(**obj)
    except RecordingError as exc:
        raise RecordingError(f"{source}: {exc}") from None
    return meta, content

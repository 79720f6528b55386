"""Column names, units and dtypes of a recording, and the check that turns a frame into one.

The check normalises dtypes (``t_s`` float64, ``seq`` int64, sensor and angle columns
float64, ``marker`` int32) and raises :class:`RecordingError` naming the first problem it
finds, so that no reader downstream has to guess what a column means.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from hipsense.conventions import ACC_COLUMNS, GYR_COLUMNS, T_S
from hipsense.recording.exceptions import RecordingError

if TYPE_CHECKING:
    import pandas as pd

SEQ = "seq"
MARKER = "marker"
#: ``marker`` values: 0 = no marker, 1..255 = the code of a MARKER command (docs/protocol.md),
#: MARKER_BUTTON = the board's button (protocol code 0, which here would mean "none"),
#: MARKER_KEY = a key pressed on the host (e.g. ``hipsense balance``: a touch-down the sensor
#: missed), put on the newest sample the host had received; MARKER_SETTINGS = the board's
#: stored settings (mounting, gyro calibration, rate) changed during the session, put on the
#: first sample of the block that came with the board's new CONFIG.
MARKER_NONE = 0
MARKER_BUTTON = 256
MARKER_KEY = 257
MARKER_SETTINGS = 258
RAW_COLUMNS = ACC_COLUMNS + GYR_COLUMNS
ANGLE_COLUMNS = ("tilt_deg", "obliquity_deg", "rotation_deg")
ALL_COLUMNS = (T_S, SEQ, *RAW_COLUMNS, *ANGLE_COLUMNS, MARKER)

FLOAT_COLUMNS = (T_S, *RAW_COLUMNS, *ANGLE_COLUMNS)
INT_DTYPES: dict[str, type[np.integer]] = {SEQ: np.int64, MARKER: np.int32}

#: What the ``content`` metadata key says about which column groups a recording holds.
CONTENT_RAW = "raw"
CONTENT_RAW_ANGLES = "raw+angles"
CONTENT_ANGLES = "angles"
CONTENTS = (CONTENT_RAW, CONTENT_RAW_ANGLES, CONTENT_ANGLES)

DOCS_HINT = "see docs/recording.md"

# Names that look like a known quantity with a missing or wrong unit: pattern with the groups
# ``axis`` (optional) and ``unit`` (optional), the expected name template and its unit text.
_LOOKALIKES = (
    (re.compile(r"^(?:t|time|timestamp)(?:_(?P<unit>[a-z0-9]+))?$"), "t_s", "s", "seconds"),
    (
        re.compile(r"^(?:a|acc|accel|acceleration)_?(?P<axis>[xyz])(?:_(?P<unit>[a-z0-9]+))?$"),
        "acc_{axis}_mps2",
        "mps2",
        "m/s²",
    ),
    (
        re.compile(r"^(?:g|gyr|gyro|gyroscope)_?(?P<axis>[xyz])(?:_(?P<unit>[a-z0-9]+))?$"),
        "gyr_{axis}_dps",
        "dps",
        "deg/s",
    ),
    (re.compile(r"^tilt(?:_(?P<unit>[a-z0-9]+))?$"), "tilt_deg", "deg", "degrees"),
    (re.compile(r"^obliquity(?:_(?P<unit>[a-z0-9]+))?$"), "obliquity_deg", "deg", "degrees"),
    (re.compile(r"^rotation(?:_(?P<unit>[a-z0-9]+))?$"), "rotation_deg", "deg", "degrees"),
)

RowLabel = Callable[[int], str]


def row_label_0(i: int) -> str:
    """Row label for in-memory frames and Parquet files: the 0-based row index."""
    return f"row {i}"


def _lookalike(name: str) -> str | None:
    """The problem with a column name that resembles a hipsense column, else None."""
    if name in ALL_COLUMNS:
        return None
    for pattern, template, unit, unit_text in _LOOKALIKES:
        match = pattern.match(name.lower())
        if match is None:
            continue
        want = template.format(axis=match.groupdict().get("axis"))
        if name.lower() == want:
            return f"column '{name}' must be spelt in lower case: {want}"
        found = match.group("unit")
        if found is None:
            kind = "has no unit"
        elif found == unit:
            kind = "is not a hipsense name"
        else:
            kind = "has the wrong unit"
        return f"column '{name}' {kind}: expected {want} ({unit_text})"
    return None


def content_of(columns: list[str]) -> str:
    """Which column groups are present (``raw``, ``raw+angles`` or ``angles``); assumes checked."""
    has_raw = all(c in columns for c in RAW_COLUMNS)
    has_angles = all(c in columns for c in ANGLE_COLUMNS)
    if has_raw:
        return CONTENT_RAW_ANGLES if has_angles else CONTENT_RAW
    return CONTENT_ANGLES


def check_columns(columns: list[str], source: str) -> str:
    """Check column names; return the content (``raw``/``raw+angles``/``angles``)."""
    if not columns:
        raise RecordingError(f"{source}: no columns; expected {', '.join(ALL_COLUMNS)}")
    names = [str(c) for c in columns]
    dupes = sorted(c for c, k in Counter(names).items() if k > 1)  # linear: hostile widths
    if dupes:
        raise RecordingError(f"{source}: duplicate column names: {', '.join(dupes)}")
    present = set(names)
    if T_S not in present and SEQ not in present:
        raise RecordingError(
            f"{source}: the columns ({', '.join(names[:12])}{', ...' if len(names) > 12 else ''})"
            f" are not hipsense recording columns (expected {', '.join(ALL_COLUMNS)});"
            " for another tool's file, name its columns with --column-map (and --rate-hz when"
            f" it has no time column), {DOCS_HINT}"
        )
    problems = [p for p in map(_lookalike, names) if p is not None]
    missing = [c for c in (T_S, SEQ) if c not in present]
    raw_present = [c for c in RAW_COLUMNS if c in present]
    angles_present = [c for c in ANGLE_COLUMNS if c in present]
    if raw_present:
        missing += [c for c in RAW_COLUMNS if c not in present]
    if angles_present:
        missing += [c for c in ANGLE_COLUMNS if c not in present]
    if not raw_present and not angles_present:
        missing += list(RAW_COLUMNS)
    if MARKER not in present:
        missing.append(MARKER)
    if missing:
        why = (
            ""
            if raw_present or angles_present
            else (
                " (a recording needs the six raw sensor columns, the three angle columns, or both)"
            )
        )
        problems.append(f"missing columns: {', '.join(missing)}{why}")
    if problems:
        raise RecordingError(f"{source}: " + "; ".join(problems) + f" ({DOCS_HINT})")
    return content_of(names)


def numeric_column(series: pd.Series, name: str, source: str, where: RowLabel) -> np.ndarray:
    """The column as a numpy float or int array; a clear error for text or booleans."""
    import pandas as pd  # loaded with the frame it checks

    if pd.api.types.is_bool_dtype(series.dtype):
        raise RecordingError(f"{source}: column '{name}' holds true/false values, not numbers")
    if isinstance(series.dtype, np.dtype) and series.dtype.kind in "iuf":
        return series.to_numpy()
    if pd.api.types.is_numeric_dtype(series.dtype):  # pandas nullable dtypes (Int64, Float64)
        return np.asarray(series.astype("float64"), dtype=np.float64)
    converted = pd.Series(pd.to_numeric(series, errors="coerce"), dtype="float64")
    bad = converted.isna().to_numpy() & series.notna().to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise RecordingError(
            f"{source}: column '{name}' is not numeric: {where(i)} holds {series.iloc[i]!r}"
        )
    return converted.to_numpy()


def _first(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0])


def _as_float(values: np.ndarray, name: str, source: str, where: RowLabel) -> np.ndarray:
    out = values.astype(np.float64)
    if name in ANGLE_COLUMNS:
        bad = np.isinf(out)
        what = "an infinite value (NaN means 'no estimate'; inf is never valid)"
    else:
        bad = ~np.isfinite(out)
        what = "a missing, NaN or infinite value"
    if bad.any():
        i = _first(bad)
        raise RecordingError(f"{source}: column '{name}' has {what} at {where(i)} ({out[i]})")
    return out


def _as_int(values: np.ndarray, name: str, source: str, where: RowLabel) -> np.ndarray:
    dtype = INT_DTYPES[name]
    info = np.iinfo(dtype)
    if values.dtype.kind == "f":
        bad = ~np.isfinite(values)
        if bad.any():
            i = _first(bad)
            raise RecordingError(
                f"{source}: column '{name}' has a missing, NaN or infinite value at {where(i)}"
            )
        frac = values != np.floor(values)
        if frac.any():
            i = _first(frac)
            raise RecordingError(
                f"{source}: column '{name}' must hold whole numbers: {where(i)} holds {values[i]}"
            )
    if values.size:
        lo, hi = values.min(), values.max()
        # float(info.max) rounds up to 2**63 for int64, so compare floats with the exclusive
        # bound -info.min (exact: a power of two)
        too_high = hi >= -float(info.min) if values.dtype.kind == "f" else hi > info.max
        if lo < info.min or too_high:
            raise RecordingError(
                f"{source}: column '{name}' holds values outside {dtype.__name__}"
                f" ({lo}..{hi}); expected {info.min}..{info.max}"
            )
    return values.astype(dtype)


def checked_values(values: np.ndarray, name: str, source: str, where: RowLabel) -> np.ndarray:
    """A hipsense column's numbers in its dtype, checked (finite; NaN allowed in the angles;
    whole numbers in range for ``seq`` and ``marker``), or an error at the first bad row."""
    if name in FLOAT_COLUMNS:
        return _as_float(values, name, source, where)
    return _as_int(values, name, source, where)


def check_increasing(
    values: np.ndarray, name: str, unit: str, source: str, where: RowLabel
) -> None:
    """Strictly increasing, or an error at the first offending row (compares, never
    subtracts: a difference of extreme values would overflow)."""
    bad = values[1:] <= values[:-1]
    if not bad.any():
        return
    i = _first(bad) + 1
    if name == SEQ:
        earlier = np.flatnonzero(values[:i] == values[i])
        if earlier.size:
            raise RecordingError(
                f"{source}: duplicate seq {values[i]} at {where(int(earlier[0]))} and {where(i)}"
                " (each sample must appear once)"
            )
    raise RecordingError(
        f"{source}: {name} must increase from sample to sample but {where(i)} has"
        f" {name}={values[i]}{unit} after {name}={values[i - 1]}{unit} at {where(i - 1)}"
    )


def normalise_frame(
    data: pd.DataFrame, source: str, where: RowLabel = row_label_0
) -> tuple[pd.DataFrame, str]:
    """Check a frame and return it with canonical dtypes and column order, plus its content.

    Extra columns that are not hipsense's and do not look like one are kept unchanged,
    after the hipsense columns.
    """
    columns = [str(c) for c in data.columns]
    content = check_columns(columns, source)
    data = data.set_axis(columns, axis="columns").reset_index(drop=True)
    out: dict[str, np.ndarray] = {}
    for name in ALL_COLUMNS:
        if name in columns:
            values = numeric_column(data[name], name, source, where)
            out[name] = checked_values(values, name, source, where)
    check_increasing(out[SEQ], SEQ, "", source, where)  # first: a repeated sample is a
    check_increasing(out[T_S], T_S, " s", source, where)  # duplicate, not a time error
    import pandas as pd

    frame = pd.DataFrame(out)
    for name in columns:
        if name not in out:
            frame[name] = data[name]
    return frame, content

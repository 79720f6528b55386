"""``RecordingChunks.columns()`` reads a recording's numbers without pandas (pyarrow) and hands
anything else to ``frames()`` (issue 19): for any file, damaged or not, it gives exactly the
values ``frames()`` gives, or exactly its error."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hipsense.recording import (
    ANGLE_COLUMNS,
    RAW_COLUMNS,
    Recording,
    RecordingError,
    write_recording,
)
from hipsense.recording.chunks import Columns, frame_columns, open_chunks
from hipsense.recording.meta import RecordingMeta
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

N = 300


def _recording(*, angles: bool, nan_angles: bool = False, extra: bool = False) -> Recording:
    rng = np.random.default_rng(4)
    data: dict[str, np.ndarray] = {"t_s": np.arange(N) / 100.0, "seq": np.arange(N) + 7}
    data.update({c: rng.normal(0.0, 5.0, N) for c in RAW_COLUMNS})
    if angles:
        data.update({c: rng.normal(0.0, 3.0, N) for c in ANGLE_COLUMNS})
        if nan_angles:
            data["obliquity_deg"][100:140] = np.nan  # the board had no estimate: allowed
    marker = np.zeros(N, dtype=np.int32)
    marker[150] = 258
    data["marker"] = marker
    if extra:  # a user's own column, kept by frames(), not a hipsense column
        data["temp_c"] = np.linspace(20.0, 21.0, N)
    meta = RecordingMeta(rate_hz=100.0, mounting=[1.0, 0.0, 0.0, 0.0], test="walk")
    return Recording(meta, pd.DataFrame(data))


def _gathered(chunks: Iterator[Columns]) -> tuple[str, dict[str, np.ndarray]] | str:
    """The chunks joined per column, or the error's message."""
    parts: list[Columns] = []
    try:
        parts.extend(chunks)
    except RecordingError as exc:
        return str(exc)
    names = list(parts[0]) if parts else []
    return "ok", {n: np.concatenate([p[n] for p in parts]) for n in names}


def _assert_same_as_frames(path: Path, chunk_rows: int) -> str:
    try:
        chunks = open_chunks(path, chunk_rows=chunk_rows)
    except RecordingError:
        return "refused at opening"  # the metadata or header: before either reader
    plain = _gathered(chunks.columns())
    frames = _gathered(frame_columns(f) for f in chunks.frames())
    if isinstance(frames, str):
        assert plain == frames
        return "error"
    assert not isinstance(plain, str), plain
    assert list(plain[1]) == list(frames[1])
    for name, values in frames[1].items():
        assert plain[1][name].dtype == values.dtype, name
        assert np.array_equal(plain[1][name], values, equal_nan=True), name
    return "values"


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
@pytest.mark.parametrize(
    ("angles", "nan_angles", "extra"),
    [(False, False, False), (True, False, False), (True, True, False), (False, False, True)],
)
def test_plain_numbers_are_read_exactly_as_the_frames_read_them(
    tmp_path: Path, fmt: str, angles: bool, nan_angles: bool, extra: bool
) -> None:
    rec = _recording(angles=angles, nan_angles=nan_angles, extra=extra)
    path = write_recording(rec, tmp_path / f"r.{fmt}")
    for chunk_rows in (1, 7, 64, 10**6):
        assert _assert_same_as_frames(path, chunk_rows) == "values"


LINE = "{t},{s},0.5,-0.25,9.75,1.5,-2.0,3.0,0\n"
EDITS = [
    ("a blank line", "\n", "error"),
    ("text in a number", LINE.format(t="x", s=99), "error"),
    ("a missing acceleration", "2.9,99,,0,9.8,0,0,0,0\n", "error"),
    ("an extra field", LINE.format(t=2.9, s=99).replace("\n", ",5\n"), "error"),
    ("a short row", "2.9,99,0.5\n", "error"),
    ("an infinite time", LINE.format(t="inf", s=99), "error"),
    ("a fractional seq", LINE.format(t=2.9, s=99.5), "error"),
    ("a seq going back", LINE.format(t=2.9, s=3), "error"),
    ("a time going back", LINE.format(t=0.5, s=400), "error"),
    ("a true/false value", LINE.format(t=2.9, s=99).replace("0.5", "True"), "error"),
    ("a comment line", "# a note\n", "error"),
    ("spaces around numbers", " 2.991 , 400 ,0.5,-0.25,9.75,1.5,-2.0,3.0,0\n", "values"),
    ("quoted numbers", '"2.991","400",0.5,-0.25,9.75,1.5,-2.0,3.0,0\n', "values"),
    ("a whole seq written as a float", LINE.format(t=2.991, s="400.0"), "values"),
    ("a settings marker", LINE.format(t=2.991, s=400).replace(",0\n", ",258\n"), "values"),
    ("a tiny and a huge value", "2.991,400,1e-400,1e300,9.8,0,0,0,0\n", "values"),
    ("a seq past int64", LINE.format(t=2.991, s=2**63), "error"),
    ("a marker past int32", LINE.format(t=2.991, s=400).replace(",0\n", f",{2**31}\n"), "error"),
]


@pytest.mark.parametrize(("what", "line", "outcome"), EDITS, ids=[e[0] for e in EDITS])
@pytest.mark.parametrize("where", [5, 280])  # in the first chunk or a later one
def test_a_csv_line_the_plain_reader_leaves_gives_the_frames_result(
    tmp_path: Path, what: str, line: str, outcome: str, where: int
) -> None:
    path = write_recording(_recording(angles=False), tmp_path / "r.csv")
    lines = path.read_text().splitlines(keepends=True)
    at = 2 + where  # after the metadata and the header
    if "going back" not in what and "2.991" not in line and "2.9" in line:
        line = line.replace("2.9", repr(float(lines[at].split(",")[0]) + 0.001), 1)
    if "2.991" in line:  # a valid row at the end: its time and seq after the last row
        at = len(lines)
    path.write_text("".join([*lines[:at], line, *lines[at:]]))
    assert _assert_same_as_frames(path, chunk_rows=64) == outcome, what


@settings(max_examples=120, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(
    fmt=st.sampled_from(["csv", "parquet"]),
    position=st.floats(0.0, 1.0, exclude_max=True),
    value=st.integers(0, 255),
    chunk_rows=st.sampled_from([16, 100, 10**6]),
)
def test_any_changed_byte_gives_the_frames_values_or_their_error(
    tmp_path: Path, fmt: str, position: float, value: int, chunk_rows: int
) -> None:
    """A changed byte anywhere (header, metadata, numbers, Parquet pages): the plain reader
    gives exactly what the frames' reader gives, values or the same error message."""
    rec = _recording(angles=True, nan_angles=True, extra=fmt == "parquet")
    path = write_recording(rec, tmp_path / f"b.{fmt}")
    raw = bytearray(path.read_bytes())
    raw[int(position * len(raw))] = value
    path.write_bytes(bytes(raw))
    _assert_same_as_frames(path, chunk_rows)

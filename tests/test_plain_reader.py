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
    read_recording,
    write_recording,
)
from hipsense.recording.chunks import Columns, close_iterator, frame_columns, open_chunks
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


def _cr_only(path: Path, name: str) -> Path:
    """The same CSV with every line ending a lone CR (classic Mac OS)."""
    out = path.with_name(name)
    out.write_bytes(path.read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r"))
    return out


@pytest.mark.parametrize("meta", [True, False])  # a hipsense CSV; a user's CSV (inferred rate)
def test_a_csv_with_cr_only_line_ends_reads_the_values_of_the_lf_file(
    tmp_path: Path, meta: bool
) -> None:
    lf = write_recording(_recording(angles=True, nan_angles=True), tmp_path / "lf.csv")
    if not meta:
        lf.write_text("".join(lf.read_text().splitlines(keepends=True)[1:]))
    cr = _cr_only(lf, "cr.csv")
    assert b"\n" not in cr.read_bytes()
    for chunk_rows in (7, 10**6):
        want = _gathered(open_chunks(lf, chunk_rows=chunk_rows).columns())
        got = _gathered(open_chunks(cr, chunk_rows=chunk_rows).columns())
        assert not isinstance(want, str) and not isinstance(got, str), got
        assert list(got[1]) == list(want[1])
        for name, values in want[1].items():
            assert np.array_equal(got[1][name], values, equal_nan=True), name
        assert _assert_same_as_frames(cr, chunk_rows) == "values"
    whole_lf, whole_cr = read_recording(lf), read_recording(cr)
    pd.testing.assert_frame_equal(whole_cr.data, whole_lf.data)
    assert whole_cr.meta == whole_lf.meta


@pytest.mark.parametrize("header_lf", [False, True])  # CR only; LF up to the header, CR after
def test_a_cr_only_csv_is_read_a_block_at_a_time(tmp_path: Path, header_lf: bool) -> None:
    """The plain reader cut its blocks at the last LF: a body without one was gathered whole
    in memory before its first chunk. Now the first chunk costs about one block, and the
    values are those of the LF file."""
    import tracemalloc

    n = 40_000
    rng = np.random.default_rng(1)
    data = {"t_s": np.arange(n) / 100.0, "seq": np.arange(n), "marker": np.zeros(n, np.int32)}
    data.update({c: rng.normal(0.0, 5.0, n) for c in RAW_COLUMNS})
    rec = Recording(RecordingMeta(rate_hz=100.0, test="walk"), pd.DataFrame(data))
    lf = write_recording(rec, tmp_path / "lf.csv")
    cr = _cr_only(lf, "cr.csv")
    if header_lf:
        meta, header, body = cr.read_bytes().split(b"\r", 2)
        cr.write_bytes(meta + b"\n" + header + b"\n" + body)
    size = cr.stat().st_size
    assert size > 4_000_000
    chunks = open_chunks(cr, chunk_rows=1000).columns()
    tracemalloc.start()
    try:
        first = next(chunks)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        close_iterator(chunks)
    assert 0 < len(first["seq"]) < n / 4  # a block of lines (CSV_FIELD_BYTES), not the file
    assert np.array_equal(first["seq"], np.arange(len(first["seq"])))
    got = _gathered(open_chunks(cr).columns())
    want = _gathered(open_chunks(lf).columns())
    assert not isinstance(got, str) and not isinstance(want, str), got
    for name, values in want[1].items():
        assert np.array_equal(got[1][name], values), name
    assert peak < size / 4, (peak, size)


def test_another_tools_csv_with_cr_only_line_ends_imports_as_its_lf_copy(tmp_path: Path) -> None:
    """`--column-map` read the header by LF lines: a CR-only file was "unreadable header"."""
    from hipsense.recording.importer import read_foreign_csv

    rec = _recording(angles=False)
    theirs = pd.DataFrame(
        {"time": rec.data["t_s"], **{f"c{i}": rec.data[c] for i, c in enumerate(RAW_COLUMNS)}}
    )
    lf = tmp_path / "theirs.csv"
    theirs.to_csv(lf, index=False, lineterminator="\n")
    cr = _cr_only(lf, "theirs_cr.csv")
    column_map = {"t_s": "time", **{c: f"c{i}" for i, c in enumerate(RAW_COLUMNS)}}
    want = read_foreign_csv(lf, column_map)
    got = read_foreign_csv(cr, column_map)
    pd.testing.assert_frame_equal(got.data, want.data)
    assert got.meta.rate_hz == want.meta.rate_hz

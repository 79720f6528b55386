"""The recording format: round trips (Parquet, CSV) and clear errors on damaged files."""

from __future__ import annotations

import itertools
import json
import math
import signal
import subprocess
import sys
from datetime import timezone
from pathlib import Path

import hipsense
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hipsense.errors import HipsenseError
from hipsense.recording import (
    ALL_COLUMNS,
    ANGLE_COLUMNS,
    RAW_COLUMNS,
    Recording,
    RecordingError,
    RecordingMeta,
    RecordingWriter,
    read_recording,
    recover_partial,
    write_recording,
)
from hipsense.recording.meta import meta_to_json
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st


def make_meta(**changes: object) -> RecordingMeta:
    fields: dict[str, object] = dict(
        device_name="hipsense-3F2A",
        device_id="24:0a:c4:12:3f:2a",
        firmware_version="0.1.0",
        protocol_version=1,
        imu_chip="mpu6886",
        rate_hz=100.0,
        mounting=[1.0, 0.0, 0.0, 0.0],
        test="walk",
        side=None,
        condition="eyes open",
        start_time="2026-11-21T12:00:00+00:00",
        software_version=hipsense.__version__,
        extra={"lost_samples": 3},
    )
    fields.update(changes)
    return RecordingMeta(**fields)  # type: ignore[arg-type]


def make_frame(
    n: int = 200, *, raw: bool = True, angles: bool = True, seed: int = 0
) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    columns: dict[str, np.ndarray] = {"t_s": np.arange(n) / 100.0, "seq": np.arange(n) + 1000}
    if raw:
        columns.update({c: rng.normal(0.0, 5.0, n) for c in RAW_COLUMNS})
    if angles:
        columns.update({c: rng.normal(0.0, 3.0, n) for c in ANGLE_COLUMNS})
    marker = np.zeros(n, dtype=np.int32)
    marker[n // 2 : n // 2 + 1] = 7
    columns["marker"] = marker
    return pd.DataFrame(columns)


def make_recording(**kwargs: object) -> Recording:
    return Recording(meta=make_meta(), data=make_frame(**kwargs))  # type: ignore[arg-type]


def assert_same(a: Recording, b: Recording) -> None:
    pd.testing.assert_frame_equal(a.data, b.data, check_exact=True)
    assert a.meta == b.meta


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_round_trip(tmp_path: Path, suffix: str) -> None:
    rec = make_recording()
    path = write_recording(rec, tmp_path / f"walk{suffix}")
    back = read_recording(path)
    assert_same(rec, back)
    assert back.has_raw and back.has_angles
    assert back.duration_s == pytest.approx(2.0)


def test_format_chosen_by_suffix_and_by_argument(tmp_path: Path) -> None:
    rec = make_recording()
    write_recording(rec, tmp_path / "a.csv")
    write_recording(rec, tmp_path / "b.rec", fmt="csv")
    write_recording(rec, tmp_path / "c.rec")
    assert (tmp_path / "a.csv").read_text().startswith("# hipsense-recording: {")
    assert (tmp_path / "b.rec").read_text().startswith("# hipsense-recording: {")
    assert (tmp_path / "c.rec").read_bytes()[:4] == b"PAR1"
    for name in ("a.csv", "b.rec", "c.rec"):
        assert_same(rec, read_recording(tmp_path / name))
    with pytest.raises(RecordingError, match="unknown recording format 'xlsx'"):
        write_recording(rec, tmp_path / "d.xlsx", fmt="xlsx")


def test_error_is_a_hipsense_error() -> None:
    assert issubclass(RecordingError, HipsenseError)


def test_wrong_unit_column_is_named(tmp_path: Path) -> None:
    data = make_frame().rename(columns={"acc_x_mps2": "acc_x_g", "gyr_z_dps": "gyr_z_rps"})
    path = tmp_path / "units.csv"
    data.to_csv(path, index=False)
    with pytest.raises(RecordingError) as info:
        read_recording(path)
    message = str(info.value)
    assert str(path) in message
    assert "column 'acc_x_g' has the wrong unit: expected acc_x_mps2 (m/s²)" in message
    assert "column 'gyr_z_rps' has the wrong unit: expected gyr_z_dps (deg/s)" in message


def test_foreign_csv_points_to_docs(tmp_path: Path) -> None:
    path = tmp_path / "benchmark.csv"
    path.write_text("time_s,acc_x,acc_y,acc_z,gyr_x,gyr_y,gyr_z\n0.0,1,2,3,4,5,6\n")
    expected = r"not hipsense recording columns.*--column-map.*docs/recording\.md"
    with pytest.raises(RecordingError, match=expected):
        read_recording(path)


def test_nan_named_with_column_and_line(tmp_path: Path) -> None:
    data = make_frame()
    data.loc[17, "gyr_y_dps"] = np.nan
    path = tmp_path / "nan.csv"
    data.to_csv(path, index=False)
    with pytest.raises(
        RecordingError, match=r"nan\.csv: column 'gyr_y_dps' has a missing.*line 19"
    ):
        read_recording(path)


def test_non_monotonic_time(tmp_path: Path) -> None:
    data = make_frame()
    data.loc[50, "t_s"] = 0.1
    with pytest.raises(
        RecordingError, match=r"t_s must increase.*row 50 has t_s=0\.1 s after t_s=0\.49 s"
    ):
        Recording(meta=make_meta(), data=data)


def test_duplicate_seq(tmp_path: Path) -> None:
    data = make_frame()
    data.loc[10, "seq"] = data.loc[9, "seq"]
    with pytest.raises(RecordingError, match=r"duplicate seq 1009 at row 9 and row 10"):
        Recording(meta=make_meta(), data=data)


def test_empty_file(tmp_path: Path) -> None:
    for name in ("empty.csv", "empty.parquet"):
        (tmp_path / name).write_bytes(b"")
        with pytest.raises(RecordingError, match=rf"{name}: empty file"):
            read_recording(tmp_path / name)


def test_truncated_parquet(tmp_path: Path) -> None:
    path = write_recording(make_recording(), tmp_path / "full.parquet")
    raw = path.read_bytes()
    cut = tmp_path / "cut.parquet"
    cut.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(RecordingError, match=r"cut\.parquet: not a readable Parquet file"):
        read_recording(cut)


def test_newer_format_version(tmp_path: Path) -> None:
    path = write_recording(make_recording(), tmp_path / "new.csv")
    text = path.read_text().replace('"format_version": 1', '"format_version": 2', 1)
    path.write_text(text)
    with pytest.raises(RecordingError, match=r"format version 2 is newer.*upgrade hipsense"):
        read_recording(path)


def test_corrupt_metadata_json(tmp_path: Path) -> None:
    path = write_recording(make_recording(), tmp_path / "meta.csv")
    lines = path.read_text().split("\n")
    lines[0] = lines[0][:-5]
    path.write_text("\n".join(lines))
    with pytest.raises(
        RecordingError, match=r"meta\.csv: the recording metadata is not valid JSON"
    ):
        read_recording(path)


def test_csv_without_metadata_infers_rate(tmp_path: Path) -> None:
    data = make_frame(angles=False)
    data["t_s"] = np.arange(len(data)) / 52.0
    path = tmp_path / "mine.csv"
    data.to_csv(path, index=False)
    rec = read_recording(path)
    assert rec.meta.rate_hz == 52.0
    assert rec.meta.device_name is None and rec.has_raw and not rec.has_angles


def test_angles_only(tmp_path: Path) -> None:
    rec = make_recording(raw=False)
    back = read_recording(write_recording(rec, tmp_path / "angles.parquet"))
    assert back.has_angles and not back.has_raw
    assert_same(rec, back)
    data = make_frame().drop(columns=["gyr_x_dps"])
    with pytest.raises(RecordingError, match=r"missing columns: gyr_x_dps"):
        Recording(meta=make_meta(), data=data)


def test_metadata_stored_in_parquet_is_plain_json(tmp_path: Path) -> None:
    path = write_recording(make_recording(), tmp_path / "m.parquet")
    stored = json.loads(pq.read_schema(path).metadata[b"hipsense.recording"])
    assert stored["format_version"] == 1
    assert stored["content"] == "raw+angles"
    assert stored["imu_chip"] == "mpu6886"


# --- property tests: round trips of random frames and metadata --------------------------------

FINITE = st.floats(allow_nan=False, allow_infinity=False)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | FINITE | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)
OPTIONAL_TEXT = st.none() | st.text()


@st.composite
def unit_quaternions(draw: st.DrawFn) -> list[float]:
    q = np.array(draw(st.lists(st.floats(-1.0, 1.0), min_size=4, max_size=4)))
    assume(np.linalg.norm(q) > 0.1)
    return (q / np.linalg.norm(q)).tolist()


@st.composite
def metas(draw: st.DrawFn) -> RecordingMeta:
    return RecordingMeta(
        rate_hz=draw(st.floats(min_value=0.0, exclude_min=True, allow_infinity=False)),
        device_name=draw(OPTIONAL_TEXT),
        device_id=draw(OPTIONAL_TEXT),
        firmware_version=draw(OPTIONAL_TEXT),
        protocol_version=draw(st.none() | st.integers(min_value=0)),
        imu_chip=draw(OPTIONAL_TEXT),
        mounting=draw(st.none() | unit_quaternions()),
        test=draw(OPTIONAL_TEXT),
        side=draw(OPTIONAL_TEXT),
        condition=draw(OPTIONAL_TEXT),
        start_time=draw(
            st.none()
            | st.datetimes(timezones=st.sampled_from([timezone.utc, None])).map(
                lambda d: d.isoformat()
            )
        ),
        software_version=draw(OPTIONAL_TEXT),
        extra=draw(st.dictionaries(st.text(), JSON_VALUES, max_size=5)),
    )


@st.composite
def frames(draw: st.DrawFn) -> pd.DataFrame:
    n = draw(st.integers(min_value=0, max_value=40))
    t_s = sorted(draw(st.lists(FINITE, min_size=n, max_size=n, unique=True)))
    seq = sorted(
        draw(st.lists(st.integers(-(2**63), 2**63 - 1), min_size=n, max_size=n, unique=True))
    )
    columns: dict[str, object] = {"t_s": t_s, "seq": np.array(seq, dtype=np.int64)}
    raw, angles = draw(st.sampled_from([(True, False), (True, True), (False, True)]))
    for name in RAW_COLUMNS if raw else ():
        columns[name] = draw(st.lists(FINITE, min_size=n, max_size=n))
    for name in ANGLE_COLUMNS if angles else ():
        columns[name] = draw(st.lists(FINITE | st.just(math.nan), min_size=n, max_size=n))
    columns["marker"] = draw(st.lists(st.integers(-(2**31), 2**31 - 1), min_size=n, max_size=n))
    return pd.DataFrame(columns)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(meta=metas(), data=frames(), suffix=st.sampled_from([".parquet", ".csv"]))
def test_round_trip_property(
    tmp_path: Path, meta: RecordingMeta, data: pd.DataFrame, suffix: str
) -> None:
    rec = Recording(meta=meta, data=data)
    back = read_recording(write_recording(rec, tmp_path / f"r{suffix}"))
    assert_same(rec, back)
    assert back.has_raw == all(c in data for c in RAW_COLUMNS)
    assert back.has_angles == all(c in data for c in ANGLE_COLUMNS)


# --- damaged Parquet files ---------------------------------------------------------------------

PARQUET_BYTES: dict[str, bytes] = {}


def reference_parquet(tmp_path: Path) -> tuple[Recording, bytes]:
    rec = make_recording(n=300)
    if "ref" not in PARQUET_BYTES:
        PARQUET_BYTES["ref"] = write_recording(rec, tmp_path / "ref.parquet").read_bytes()
    return rec, PARQUET_BYTES["ref"]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(fraction=st.floats(0.0, 1.0, exclude_max=True))
def test_truncated_parquet_anywhere(tmp_path: Path, fraction: float) -> None:
    _, raw = reference_parquet(tmp_path)
    path = tmp_path / "cut.parquet"
    path.write_bytes(raw[: max(1, int(len(raw) * fraction))])
    with pytest.raises(RecordingError, match=r"cut\.parquet: not a (readable )?Parquet file"):
        read_recording(path)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(position=st.floats(0.0, 1.0, exclude_max=True), bit=st.integers(0, 7))
def test_byte_flip_is_an_error_or_harmless(tmp_path: Path, position: float, bit: int) -> None:
    """Data pages carry CRCs and the footer a check entry: a flipped bit is reported, or it
    hit a byte that changes nothing (statistics, padding). The one undetectable case: a flip
    that destroys the footer's whole key-value list reads as a file without metadata."""
    rec, raw = reference_parquet(tmp_path)
    damaged = bytearray(raw)
    damaged[int(position * len(raw))] ^= 1 << bit
    path = tmp_path / "flip.parquet"
    path.write_bytes(bytes(damaged))
    try:
        back = read_recording(path)
    except RecordingError as exc:
        assert str(exc).startswith(f"{path}: ")
        return
    pd.testing.assert_frame_equal(back.data, rec.data, check_exact=True)
    assert back.meta in (rec.meta, RecordingMeta(rate_hz=rec.meta.rate_hz))


def test_parquet_metadata_damage_is_detected(tmp_path: Path) -> None:
    _, raw = reference_parquet(tmp_path)
    at = raw.index(b'"test": "walk"') + len('"test": "w')
    path = tmp_path / "meta.parquet"
    path.write_bytes(raw[:at] + b"o" + raw[at + 1 :])  # "walk" -> "wolk": still valid JSON
    with pytest.raises(RecordingError, match=r"meta\.parquet: the file is damaged.*checksum"):
        read_recording(path)


def test_parquet_row_count_damage_is_detected(tmp_path: Path) -> None:
    rec = make_recording(n=300)
    path = write_recording(rec, tmp_path / "rows.parquet")
    check = json.dumps({"rows": 300}).encode()[:-1]
    raw = path.read_bytes()
    at = raw.index(check) + len(check) - 1  # the last digit of the stored row count
    path.write_bytes(raw[:at] + b"1" + raw[at + 1 :])
    with pytest.raises(RecordingError, match=r"holds 300 rows but 301 were written"):
        read_recording(path)


def write_table_with_metadata(path: Path, data: pd.DataFrame, metadata: dict[str, str]) -> None:
    table = pa.Table.from_pandas(data, preserve_index=False).replace_schema_metadata(metadata)
    pq.write_table(table, path)


def test_parquet_corrupt_metadata_json(tmp_path: Path) -> None:
    path = tmp_path / "json.parquet"
    write_table_with_metadata(path, make_frame(), {"hipsense.recording": '{"format_version": 1,'})
    with pytest.raises(RecordingError, match=r"json\.parquet: the recording metadata is not valid"):
        read_recording(path)


def stored_meta(**changes: object) -> str:
    """The metadata JSON hipsense stores, with some keys changed."""
    obj = json.loads(meta_to_json(make_meta(), "raw+angles"))
    obj.update(changes)
    return json.dumps(obj)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"format_version": 7}, r"format version 7 is newer than this hipsense reads \(up to 1\)"),
        ({"format_version": "1"}, r"no valid format_version \(got '1'\)"),
        ({"content": "video"}, r"'content' must be one of raw, raw\+angles, angles, got 'video'"),
        ({"colour": "red"}, r"unknown metadata keys for format version 1: colour"),
        ({"rate_hz": -5}, r"rate_hz must be a positive finite number, got -5"),
        ({"mounting": [1, 1, 0, 0]}, r"mounting must be a unit quaternion"),
        ({"start_time": "yesterday"}, r"start_time must be ISO 8601"),
        ({"content": "raw"}, r"says the file holds 'raw' columns but it holds 'raw\+angles'"),
    ],
)
def test_parquet_bad_metadata_values(
    tmp_path: Path, changes: dict[str, object], message: str
) -> None:
    path = tmp_path / "bad.parquet"
    write_table_with_metadata(path, make_frame(), {"hipsense.recording": stored_meta(**changes)})
    with pytest.raises(RecordingError, match=message) as info:
        read_recording(path)
    assert str(info.value).startswith(f"{path}: ")


def test_parquet_without_metadata_is_a_users_file(tmp_path: Path) -> None:
    path = tmp_path / "pandas.parquet"
    make_frame().to_parquet(path)
    rec = read_recording(path)
    assert rec.meta == RecordingMeta(rate_hz=100.0)


def test_parquet_with_text_in_a_number_column(tmp_path: Path) -> None:
    data = make_frame()
    data["acc_z_mps2"] = data["acc_z_mps2"].astype(str)
    data.loc[4, "acc_z_mps2"] = "9.81 m/s2"
    path = tmp_path / "text.parquet"
    data.to_parquet(path)
    with pytest.raises(RecordingError, match=r"column 'acc_z_mps2' is not numeric: row 4 holds"):
        read_recording(path)


def test_not_parquet_despite_suffix(tmp_path: Path) -> None:
    path = tmp_path / "x.parquet"
    path.write_text("t_s,seq\n")
    with pytest.raises(RecordingError, match=r"x\.parquet: not a Parquet file"):
        read_recording(path)


# --- damaged CSV files -------------------------------------------------------------------------


def csv_with(tmp_path: Path, text: str, name: str = "bad.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


HEADER = "t_s,seq,acc_x_mps2,acc_y_mps2,acc_z_mps2,gyr_x_dps,gyr_y_dps,gyr_z_dps,marker\n"
ROW = "{t},{s},0.1,0.2,9.8,1,2,3,0\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("\n\n  \n", r"empty file \(only whitespace\)"),
        ("# a note\n", r"empty recording: the file has no header row"),
        ('# hipsense-recording: {"format_version": 1}\n', r"metadata but no header row"),
        (HEADER.replace("acc_x_mps2", "acc_x"), r"column 'acc_x' has no unit: expected acc_x_mps2"),
        (HEADER.replace("t_s", "t_ms"), r"column 't_ms' has the wrong unit: expected t_s"),
        (HEADER.replace("t_s", "time_s"), r"'time_s' is not a hipsense name: expected t_s"),
        (HEADER.replace("gyr_z_dps", "GYR_Z_DPS"), r"'GYR_Z_DPS' must be spelt in lower case"),
        (HEADER.replace("gyr_z_dps", "gyr_x_dps"), r"duplicate column names: gyr_x_dps"),
        ("t_s,seq,marker\n0,0,0\n", r"missing columns: acc_x_mps2.*, or both\)"),
        ("t_s,seq,marker,tilt_deg\n0,0,0,1\n", r"missing columns: obliquity_deg, rotation_deg"),
        (HEADER.replace(",marker", "") + "0,0,1,2,3,4,5,6\n", r"missing columns: marker"),
        (HEADER + ROW.format(t=0, s=0) + ROW.format(t="x", s=1), r"'t_s' is not numeric: line 3"),
        (HEADER + ROW.format(t=0, s=0.5), r"'seq' must hold whole numbers: line 2 holds 0\.5"),
        (
            HEADER + ROW.format(t=0, s=0) + "\n" + ROW.format(t=1, s=2),
            r"'t_s' has a missing.*line 3",
        ),
        (HEADER + ROW.format(t=0, s=0) + "0.01,1,0.1\n", r"'acc_y_mps2' has a missing.*line 3"),
        (HEADER + ROW.format(t=0, s=0) + ROW.format(t="inf", s=1), r"'t_s' has a missing.*line 3"),
        (HEADER + ROW.format(t=0, s=0) + "0.01,1,0,0,0,0,0,0,0,0\n", r"not a readable CSV.*line 3"),
        (HEADER + ROW.format(t=0.02, s=0) + ROW.format(t=0.01, s=1), r"line 3 has t_s=0\.01 s"),
        (HEADER + ROW.format(t=0, s=5) + ROW.format(t=1, s=4), r"seq must increase.*seq=4"),
        (HEADER + ROW.format(t=0, s=0), r"fewer than 2 samples, so rate_hz cannot be inferred"),
        (
            HEADER + "".join(ROW.format(t=t, s=i) for i, t in enumerate([0, 0.01, 0.05, 0.06])),
            r"sample times are irregular: 1 of 3 intervals",
        ),
        (
            f"# hipsense-recording: {stored_meta()}\n# hipsense-recording: {{}}\n" + HEADER,
            r"line 2: a second '# hipsense-recording:' metadata line",
        ),
    ],
)
def test_bad_csv(tmp_path: Path, text: str, message: str) -> None:
    path = csv_with(tmp_path, text)
    with pytest.raises(RecordingError, match=message) as info:
        read_recording(path)
    assert str(info.value).startswith(f"{path}: ")


def test_csv_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes(HEADER.encode() + b"0,0,\xb0,0,0,0,0,0,0\n")
    with pytest.raises(RecordingError, match=r"latin\.csv: neither Parquet nor UTF-8 CSV"):
        read_recording(path)


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(RecordingError, match=r"nope\.parquet: no such recording file"):
        read_recording(tmp_path / "nope.parquet")
    with pytest.raises(RecordingError, match=r"is a directory"):
        read_recording(tmp_path)


def test_csv_gaps_in_seq_are_not_irregular(tmp_path: Path) -> None:
    """Lost samples (a seq gap with the matching time gap) keep the inferred rate."""
    rows = [(0, 0), (1, 1), (2, 2), (7, 7), (8, 8), (9, 9)]
    path = csv_with(tmp_path, HEADER + "".join(ROW.format(t=s / 200, s=s) for _, s in rows))
    assert read_recording(path).meta.rate_hz == 200.0


def test_csv_user_file_with_comments_and_extra_columns(tmp_path: Path) -> None:
    body = "".join(ROW.format(t=i / 50, s=i).rstrip("\n") + f",{20 + i}\n" for i in range(5))
    path = csv_with(tmp_path, "# exported by me\n\n" + HEADER.rstrip("\n") + ",temp_c\n" + body)
    rec = read_recording(path)
    assert rec.meta.rate_hz == 50.0
    assert list(rec.data["temp_c"]) == [20, 21, 22, 23, 24]
    back = read_recording(write_recording(rec, tmp_path / "kept.parquet"))
    assert list(back.data["temp_c"]) == [20, 21, 22, 23, 24]


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(position=st.floats(0.0, 1.0, exclude_max=True), value=st.integers(0, 255))
def test_csv_byte_change_never_crashes(tmp_path: Path, position: float, value: int) -> None:
    """CSV has no checksum: a changed byte is an error or a changed value, never a crash."""
    raw = bytearray(write_recording(make_recording(n=20), tmp_path / "c.csv").read_bytes())
    raw[int(position * len(raw))] = value
    path = tmp_path / "c.csv"
    path.write_bytes(bytes(raw))
    try:
        read_recording(path)
    except RecordingError as exc:
        assert str(exc).startswith(f"{path}: ")


# --- metadata and frames in memory -------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"rate_hz": 0.0}, "rate_hz must be a positive finite number"),
        ({"rate_hz": "100"}, "rate_hz must be a number"),
        ({"device_name": 5}, "device_name must be text or None"),
        ({"protocol_version": -1}, "protocol_version must be a non-negative integer"),
        ({"mounting": [1.0, 0.0, 0.0]}, r"mounting must be a quaternion \[w, x, y, z\]"),
        ({"mounting": [0.5, 0.5, 0.5, 0.6]}, "mounting must be a unit quaternion"),
        ({"extra": {"bias": math.nan}}, "extra must be JSON-serialisable without NaN/inf"),
        ({"extra": {"when": object()}}, "extra must be JSON-serialisable"),
    ],
)
def test_bad_meta(changes: dict[str, object], message: str) -> None:
    with pytest.raises(RecordingError, match=message):
        make_meta(**changes)


def test_numpy_values_in_extra_are_stored_as_json(tmp_path: Path) -> None:
    meta = make_meta(extra={"drop_deg": np.float32(6.25), "steps": np.arange(3)})
    rec = Recording(meta=meta, data=make_frame())
    back = read_recording(write_recording(rec, tmp_path / "np.parquet"))
    assert back.meta.extra == {"drop_deg": 6.25, "steps": [0, 1, 2]}


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("acc_x_mps2", math.inf, r"'acc_x_mps2' has a missing, NaN or infinite value at row 3"),
        ("tilt_deg", -math.inf, r"'tilt_deg' has an infinite value .* at row 3"),
        ("marker", 2**40, r"'marker' holds values outside int32"),
        ("seq", 1002, r"duplicate seq 1002 at row 2 and row 3"),
    ],
)
def test_bad_values_in_memory(column: str, value: object, message: str) -> None:
    data = make_frame()
    data[column] = data[column].astype(object)
    data.loc[3, column] = value
    with pytest.raises(RecordingError, match=message):
        Recording(meta=make_meta(), data=data)


def test_nan_angles_mean_no_estimate(tmp_path: Path) -> None:
    data = make_frame()
    data.loc[:9, list(ANGLE_COLUMNS)] = np.nan
    rec = Recording(meta=make_meta(), data=data)
    for name in ("nan.parquet", "nan.csv"):
        assert_same(rec, read_recording(write_recording(rec, tmp_path / name)))


def test_bool_column_is_refused() -> None:
    data = make_frame()
    data["marker"] = data["marker"] > 0
    with pytest.raises(RecordingError, match=r"'marker' holds true/false values"):
        Recording(meta=make_meta(), data=data)


def test_canonical_dtypes_and_order() -> None:
    data = make_frame().reindex(columns=["marker", "t_s", *ANGLE_COLUMNS, "seq", *RAW_COLUMNS])
    data["seq"] = data["seq"].astype(np.int32)
    data["acc_x_mps2"] = data["acc_x_mps2"].astype(np.float32)
    rec = Recording(meta=make_meta(), data=data)
    assert list(rec.data.columns) == list(ALL_COLUMNS)
    assert rec.data["seq"].dtype == np.int64
    assert rec.data["marker"].dtype == np.int32
    assert all(rec.data[c].dtype == np.float64 for c in (*RAW_COLUMNS, *ANGLE_COLUMNS, "t_s"))


def test_duration_and_empty_recording(tmp_path: Path) -> None:
    rec = make_recording(n=0)
    assert rec.duration_s == 0.0
    for name in ("empty.parquet", "empty.csv"):
        back = read_recording(write_recording(rec, tmp_path / name))
        assert len(back.data) == 0 and back.meta == rec.meta


def test_write_is_atomic_and_replaces(tmp_path: Path) -> None:
    path = tmp_path / "same.parquet"
    write_recording(make_recording(n=10), path)
    write_recording(make_recording(n=20), path)
    assert len(read_recording(path).data) == 20
    assert [p.name for p in tmp_path.iterdir()] == ["same.parquet"]
    with pytest.raises(RecordingError, match=r"cannot write .*no_dir"):
        write_recording(make_recording(), tmp_path / "no_dir" / "x.parquet")
    rec = make_recording(n=20)
    rec.data.loc[5, "seq"] = rec.data.loc[4, "seq"]  # damaged after the check on creation
    with pytest.raises(RecordingError, match=r"cannot write .*same\.parquet: duplicate seq"):
        write_recording(rec, path)
    assert len(read_recording(path).data) == 20


# --- streaming writer --------------------------------------------------------------------------


def chunks_of(data: pd.DataFrame, sizes: list[int]) -> list[pd.DataFrame]:
    bounds = np.cumsum([0, *sizes])
    return [data.iloc[a:b] for a, b in itertools.pairwise(bounds)]


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    sizes=st.lists(st.integers(0, 40), min_size=1, max_size=8),
    suffix=st.sampled_from([".parquet", ".csv"]),
)
def test_writer_equals_whole_write(tmp_path: Path, sizes: list[int], suffix: str) -> None:
    assume(sum(sizes) > 0)
    rec = make_recording(n=sum(sizes))
    path = tmp_path / f"stream{suffix}"
    path.unlink(missing_ok=True)
    with RecordingWriter(path, rec.meta) as writer:
        for chunk in chunks_of(rec.data, sizes):
            writer.append(chunk)
        assert writer.partial_path.exists() and not path.exists()
    assert not writer.partial_path.exists()
    assert writer.rows_written == sum(sizes)
    assert_same(rec, read_recording(path))


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    sizes=st.lists(st.integers(0, 250), min_size=1, max_size=12),
    chunk_rows=st.integers(1, 120),
    suffix=st.sampled_from([".parquet", ".csv"]),
)
def test_append_rows_in_pieces_equals_whole_write(
    tmp_path: Path, sizes: list[int], chunk_rows: int, suffix: str
) -> None:
    """Rows handed over per notification (append_rows), collected into chunks of
    ``chunk_rows``, give exactly the recording written at once."""
    assume(sum(sizes) > 0)
    rec = make_recording(n=sum(sizes))
    path = tmp_path / f"rows{suffix}"
    path.unlink(missing_ok=True)
    with RecordingWriter(path, rec.meta, chunk_rows=chunk_rows) as writer:
        for chunk in chunks_of(rec.data, sizes):
            writer.append_rows({c: chunk[c].to_numpy() for c in chunk.columns})
    assert writer.rows_written == sum(sizes)
    assert_same(rec, read_recording(path))


def test_append_rows_chunks_per_second_and_partial_stays_small(tmp_path: Path) -> None:
    """Notifications of 4 samples reach the partial file in 1 s chunks (one IPC batch each)
    and the partial file is at most 2x the final one (quantised walking; it was 12x with a
    batch per notification)."""
    from hipsense.sim.scenarios import simulate

    sim = simulate("walk-normal", seed=2, duration_s=120.0)
    acc = np.round(sim.acc_mps2 / 0.0047884) * 0.0047884  # int16 counts at +-16 g
    gyr = np.round(sim.gyr_dps / 0.061035) * 0.061035  # and +-2000 dps
    n = len(sim.t_s)
    columns: dict[str, np.ndarray] = {"t_s": sim.t_s, "seq": np.arange(n, dtype=np.int64)}
    for i, c in enumerate(RAW_COLUMNS):
        columns[c] = (acc if i < 3 else gyr)[:, i % 3]
    angles = [sim.tilt_deg, sim.obliquity_deg, sim.rotation_deg]
    for c, a in zip(ANGLE_COLUMNS, angles, strict=True):
        columns[c] = np.round(a, 2)
    columns["marker"] = np.zeros(n, dtype=np.int32)
    writer = RecordingWriter(tmp_path / "walk.parquet", make_meta(rate_hz=sim.rate_hz))
    for i in range(0, n, 4):
        writer.append_rows({c: a[i : i + 4] for c, a in columns.items()})
        assert writer.rows_written == (i + 4) // 100 * 100 or writer.rows_written == n
    partial_bytes = writer.partial_path.stat().st_size
    source = pa.CompressedInputStream(pa.OSFile(str(writer.partial_path)), "zstd")
    stream, batch_rows = pa.ipc.open_stream(source), set()
    with pytest.raises(OSError, match="Truncated"):  # the zstd stream is still open
        while True:
            batch_rows.add(stream.read_next_batch().num_rows)
    assert batch_rows == {100}
    writer.close()
    assert partial_bytes <= 2 * (tmp_path / "walk.parquet").stat().st_size
    data = read_recording(tmp_path / "walk.parquet").data
    assert np.array_equal(data["acc_z_mps2"].to_numpy(), columns["acc_z_mps2"])


def test_append_rows_bad_rows_fail_at_close_and_keep_the_rest(tmp_path: Path) -> None:
    rec = make_recording(n=300)
    cols = {c: rec.data[c].to_numpy() for c in rec.data.columns}
    writer = RecordingWriter(tmp_path / "b.parquet", rec.meta, chunk_rows=100)
    writer.append_rows({c: a[:150] for c, a in cols.items()})
    writer.append_rows({c: a[140:160] for c, a in cols.items()})  # repeats rows 140..149
    with pytest.raises(RecordingError, match=r"t_s must increase"):
        writer.close()
    assert len(read_recording(tmp_path / "b.parquet").data) == 150


def test_writer_row_groups(tmp_path: Path) -> None:
    rec = make_recording(n=140_000)
    with RecordingWriter(tmp_path / "long.parquet", rec.meta) as writer:
        for chunk in chunks_of(rec.data, [10_000] * 14):
            writer.append(chunk)
    assert pq.ParquetFile(tmp_path / "long.parquet").metadata.num_row_groups == 2
    assert_same(rec, read_recording(tmp_path / "long.parquet"))


def test_writer_finishes_on_exception(tmp_path: Path) -> None:
    rec = make_recording(n=100)
    with pytest.raises(KeyboardInterrupt), RecordingWriter(tmp_path / "i.parquet", rec.meta) as w:
        w.append(rec.data.iloc[:60])
        raise KeyboardInterrupt
    assert len(read_recording(tmp_path / "i.parquet").data) == 60


def test_writer_checks_chunks(tmp_path: Path) -> None:
    rec = make_recording(n=100)
    writer = RecordingWriter(tmp_path / "c.parquet", rec.meta)
    writer.append(rec.data.iloc[:50])
    with pytest.raises(RecordingError, match=r"row 50 \(first of a chunk\) has t_s=0\.3 s"):
        writer.append(rec.data.iloc[30:60])
    with pytest.raises(RecordingError, match=r"a chunk has columns t_s, seq, acc_x_mps2"):
        writer.append(rec.data.iloc[50:60].drop(columns=list(ANGLE_COLUMNS)))
    bad = rec.data.iloc[50:60].copy()
    bad.loc[55, "gyr_x_dps"] = np.nan
    with pytest.raises(RecordingError, match=r"'gyr_x_dps' has a missing.* at row 55"):
        writer.append(bad)
    writer.append(rec.data.iloc[50:])
    assert writer.close() == tmp_path / "c.parquet"
    with pytest.raises(RecordingError, match="the recording is closed"):
        writer.append(rec.data.iloc[:1])
    assert_same(rec, read_recording(tmp_path / "c.parquet"))


def test_writer_without_samples_writes_nothing(tmp_path: Path) -> None:
    with RecordingWriter(tmp_path / "none.parquet", make_meta()) as writer:
        writer.append(make_frame(n=0))
    assert writer.close() is None
    assert list(tmp_path.iterdir()) == []


def test_writer_refuses_to_overwrite_a_partial(tmp_path: Path) -> None:
    (tmp_path / "old.parquet.partial").write_bytes(b"unsaved samples")
    writer = RecordingWriter(tmp_path / "old.parquet", make_meta())
    with pytest.raises(RecordingError, match=r"an unfinished recording is already there"):
        writer.append(make_frame(n=5))
    assert (tmp_path / "old.parquet.partial").read_bytes() == b"unsaved samples"


KILLED_RECORDER = """
import os, signal, sys
import numpy as np, pandas as pd
from hipsense.recording import RAW_COLUMNS, RecordingMeta, RecordingWriter

writer = RecordingWriter(sys.argv[1], RecordingMeta(rate_hz=100.0, test="walk"))
for k in range(5):
    seq = np.arange(k * 10, k * 10 + 10)
    chunk = {"t_s": seq / 100.0, "seq": seq, **{c: seq * 0.5 for c in RAW_COLUMNS}, "marker": 0}
    writer.append(pd.DataFrame(chunk))
os.kill(os.getpid(), signal.SIGKILL)
"""


@pytest.mark.parametrize(("suffix", "kept"), [(".parquet", 40), (".csv", 49)])
def test_killed_recorder_is_recovered(tmp_path: Path, suffix: str, kept: int) -> None:
    """A Parquet recording keeps every complete chunk, a CSV one every complete line."""
    path = tmp_path / f"killed{suffix}"
    done = subprocess.run([sys.executable, "-c", KILLED_RECORDER, str(path)], check=False)
    assert done.returncode == -signal.SIGKILL
    partial = tmp_path / f"killed{suffix}.partial"
    assert partial.exists() and not path.exists()
    with pytest.raises(
        RecordingError, match=r"\.partial: an unfinished recording.*recover_partial"
    ):
        read_recording(partial)
    whole = partial.read_bytes()
    partial.write_bytes(whole[:-7])  # as if killed in the middle of the last chunk
    assert recover_partial(partial) == path
    rec = read_recording(path)
    assert list(rec.data["seq"]) == list(range(kept))
    assert rec.meta.test == "walk"
    assert not partial.exists()


def test_recover_partial_refusals(tmp_path: Path) -> None:
    with pytest.raises(RecordingError, match=r"not a partial recording"):
        recover_partial(tmp_path / "x.parquet")
    (tmp_path / "x.parquet.partial").write_bytes(b"")
    (tmp_path / "x.parquet").write_bytes(b"")
    with pytest.raises(RecordingError, match=r"cannot recover into .*x\.parquet: that file exists"):
        recover_partial(tmp_path / "x.parquet.partial")


@pytest.mark.parametrize("name", ["e.parquet", "e.csv"])
def test_recover_refuses_an_empty_partial_and_writes_nothing(tmp_path: Path, name: str) -> None:
    partial = tmp_path / f"{name}.partial"
    partial.write_bytes(b"")  # killed before the first chunk was written
    with pytest.raises(RecordingError, match=r"e\.\w+\.partial: empty .*nothing to recover"):
        recover_partial(partial)
    assert not (tmp_path / name).exists() and partial.exists()  # no empty "recording" made


@pytest.mark.parametrize("name", ["d.parquet", "d.csv"])
@pytest.mark.parametrize(
    "content", [b"\x7fELF\x02\x01\x01\x00" * 400, b"# some other tool\nx,y\n1,2\n"]
)
def test_recover_refuses_a_damaged_partial_and_keeps_it(
    tmp_path: Path, name: str, content: bytes
) -> None:
    """A .partial that is not one hipsense wrote (damaged, or another file renamed) is
    refused, kept byte for byte, and no empty or unreadable "recording" is left beside it."""
    partial = tmp_path / f"{name}.partial"
    partial.write_bytes(content)
    with pytest.raises(RecordingError, match=r"d\.\w+\.partial: not a partial recording.*kept"):
        recover_partial(partial)
    assert partial.read_bytes() == content
    assert not (tmp_path / name).exists()


def test_numpy_values_in_meta_fields(tmp_path: Path) -> None:
    q = np.array([np.cos(0.3), 0.0, 0.0, np.sin(0.3)])
    meta = make_meta(rate_hz=np.int64(200), protocol_version=np.int64(1), mounting=q)
    assert meta.mounting == q.tolist() and meta.rate_hz == 200.0
    back = read_recording(write_recording(Recording(meta=meta, data=make_frame()), tmp_path / "q"))
    assert back.meta == meta


def test_newer_format_is_reported_before_its_columns(tmp_path: Path) -> None:
    """A newer hipsense may change the columns: the version error comes first."""
    path = tmp_path / "v2.csv"
    path.write_text(f"# hipsense-recording: {stored_meta(format_version=2)}\ntime_ns,acc\n1,2\n")
    with pytest.raises(RecordingError, match=r"v2\.csv: recording format version 2 is newer"):
        read_recording(path)


def test_csv_with_windows_line_ends(tmp_path: Path) -> None:
    rec = make_recording(n=30)
    path = write_recording(rec, tmp_path / "crlf.csv")
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    assert_same(rec, read_recording(path))


def test_derived_columns_are_kept_and_content_is_reported(tmp_path: Path) -> None:
    data = make_frame(raw=False)
    data["tilt_deg_smoothed"] = data["tilt_deg"].rolling(5, min_periods=1).mean()
    rec = Recording(meta=make_meta(), data=data)
    assert rec.content == "angles" and list(rec.data.columns)[-1] == "tilt_deg_smoothed"
    for name in ("d.parquet", "d.csv"):
        assert_same(rec, read_recording(write_recording(rec, tmp_path / name)))

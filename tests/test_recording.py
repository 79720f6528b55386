"""The recording format: round trips (Parquet, CSV) and clear errors on damaged files."""

from __future__ import annotations

import json
import math
from datetime import timezone
from pathlib import Path

import hipsense
import numpy as np
import pandas as pd
import pytest
from hipsense.errors import HipsenseError
from hipsense.recording import (
    ANGLE_COLUMNS,
    RAW_COLUMNS,
    Recording,
    RecordingError,
    RecordingMeta,
    read_recording,
    write_recording,
)
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
    marker[n // 2] = 7
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
    with pytest.raises(RecordingError, match=r"not hipsense recording columns.*docs/recording\.md"):
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
    import pyarrow.parquet as pq

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

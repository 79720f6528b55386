"""A walk read from a file in chunks (``hipsense analyze``, ``hs.analyse_file``): exactly the
result of the whole file, whatever the chunk size, and memory that does not grow with the
recording's length."""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hipsense.analysis import analyse_file
from hipsense.analysis.base import json_chunks, json_safe
from hipsense.analysis.walk import (
    MOUNTING_PREFIX_S,
    WalkAnalysis,
    analyse_walk,
    analyse_walk_chunks,
    events_equal,
)
from hipsense.motion.angles import PelvisAngles, pelvis_angles_deg
from hipsense.recording import ANGLE_COLUMNS, Recording, RecordingError, read_recording
from hipsense.recording.chunks import open_chunks
from hipsense.recording.files import write_recording
from hipsense.sim.scenarios import simulate
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

RATE_HZ = 100.0


def _raw_walk(seconds: float, *, mounting_known: bool, scenario: str = "walk-right-trendelenburg"
              ) -> Recording:  # fmt: skip
    """Raw-only walking (the host filter runs) of ``seconds``: a simulated walk tiled."""
    base = simulate(scenario, seed=2, duration_s=min(seconds, 150.0)).to_recording()
    one = base.data.drop(columns=list(ANGLE_COLUMNS))
    n = int(seconds * RATE_HZ)
    data = pd.concat([one] * -(-n // len(one)), ignore_index=True).iloc[:n].copy()
    data["seq"] = np.arange(n, dtype=np.int64)
    data["t_s"] = np.arange(n) / RATE_HZ
    if not mounting_known:
        base.meta.mounting = None
    return Recording(base.meta, data)


@pytest.fixture(scope="module")
def long_walk(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A walk longer than the mounting prefix, with its mounting unknown, as Parquet and CSV."""
    rec = _raw_walk(MOUNTING_PREFIX_S + 40.0, mounting_known=False)
    folder = tmp_path_factory.mktemp("walk")
    return {fmt: write_recording(rec, folder / f"walk.{fmt}") for fmt in ("parquet", "csv")}


def _doc(result: WalkAnalysis) -> dict:
    return json_safe(result.to_json())


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_chunked_file_analysis_is_the_whole_file_result(long_walk: dict[str, Path], fmt: str
                                                        ) -> None:  # fmt: skip
    path = long_walk[fmt]
    whole = analyse_walk(read_recording(path))
    assert whole.angles_source.startswith("host filter, mounting estimated")
    assert len(whole.events) > 200 and whole.tracker.verdict_.status == "asymmetric"
    for rows in (61, 4999, 10**7):  # tiny, a few prefix pieces, the file in one chunk
        chunked = analyse_walk_chunks(open_chunks(path, chunk_rows=rows))
        assert chunked.recording is None and chunked.angles_deg is None
        assert events_equal(chunked.events, whole.events), rows
        assert _doc(chunked) == _doc(whole), rows
    via_api = analyse_file(path)
    assert isinstance(via_api, WalkAnalysis) and events_equal(via_api.events, whole.events)


def test_streamed_json_is_the_document(long_walk: dict[str, Path]) -> None:
    result = analyse_walk_chunks(open_chunks(long_walk["parquet"]))
    text = "".join(json_chunks(result.to_json(lazy=True)))
    assert json.loads(text) == _doc(result)


def _peak_bytes(path: Path) -> int:
    tracemalloc.start()
    try:
        analyse_walk_chunks(open_chunks(path, chunk_rows=3000))
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_does_not_grow_with_the_recording(tmp_path: Path) -> None:
    """Twice the length, the same peak (traced allocations, not time): the samples are never
    all in memory, only a chunk, the first minutes and one event per contact."""
    seconds = 2.5 * MOUNTING_PREFIX_S
    short = write_recording(_raw_walk(seconds, mounting_known=True), tmp_path / "short.csv")
    long = write_recording(_raw_walk(2 * seconds, mounting_known=True), tmp_path / "long.csv")
    _peak_bytes(short)  # first use: imports and caches
    peak_short, peak_long = _peak_bytes(short), _peak_bytes(long)
    extra_sample_bytes = int(seconds * RATE_HZ) * 11 * 8  # what reading them whole would add
    assert peak_long - peak_short < 0.1 * extra_sample_bytes, (peak_short, peak_long)
    # the in-memory analysis, for contrast, holds every sample
    tracemalloc.start()
    try:
        analyse_walk(read_recording(long))
        whole_peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert whole_peak > peak_long + extra_sample_bytes


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=st.integers(1, 2500), fmt=st.sampled_from(["parquet", "csv"]))
def test_chunks_are_the_file(tmp_path: Path, rows: int, fmt: str) -> None:
    """Any chunk size hands out exactly the checked frame of :func:`read_recording`."""
    path = tmp_path / f"r.{fmt}"
    if not path.exists():
        write_recording(simulate("walk-normal", seed=1, duration_s=12.0).to_recording(), path)
    chunks = open_chunks(path, chunk_rows=rows)
    frames = list(chunks.frames())
    assert all(len(f) <= rows for f in frames)
    whole = read_recording(path)
    assert pd.concat(frames, ignore_index=True).equals(whole.data)
    assert chunks.meta == whole.meta and chunks.content == whole.content


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_a_bad_sample_in_a_later_chunk_is_named(tmp_path: Path, fmt: str) -> None:
    """seq and t_s must increase across chunk boundaries too; the error names the row/line."""
    rec = simulate("walk-normal", seed=1, duration_s=12.0).to_recording()
    data = rec.data.copy()
    data.loc[700:, "seq"] -= 1  # row 700 repeats row 699's seq
    path = tmp_path / f"dup.{fmt}"
    # written bypassing the writer's check
    if fmt == "csv":
        from hipsense.recording.csv_io import to_csv_text
        from hipsense.recording.meta import meta_to_json

        path.write_text(to_csv_text(data, meta_to_json(rec.meta, rec.content)))
    else:
        from hipsense.recording.meta import meta_to_json
        from hipsense.recording.parquet_io import to_table, write_parquet

        table = to_table(data, meta_to_json(rec.meta, rec.content), str(path))
        with open(path, "wb") as out:
            write_parquet(table.schema, table.to_batches(), out)
    with pytest.raises(RecordingError) as whole:
        read_recording(path)
    with pytest.raises(RecordingError) as chunked:
        list(open_chunks(path, chunk_rows=700).frames())  # the duplicate spans two chunks
    first, second = ("line 702", "line 703") if fmt == "csv" else ("row 699", "row 700")
    for error in (chunked, whole):
        message = str(error.value)
        assert "duplicate seq 699" in message and first in message and second in message


@settings(max_examples=20, deadline=None)
@given(sizes=st.lists(st.integers(1, 400), min_size=1, max_size=6), seed=st.integers(0, 99))
def test_pelvis_angles_any_chunking_is_one_call(sizes: list[int], seed: int) -> None:
    rng = np.random.default_rng(seed)
    quat = rng.normal(size=(1500, 4))
    mounting = rng.normal(size=4)
    whole = pelvis_angles_deg(quat, mounting, rate_hz=RATE_HZ)
    stream = PelvisAngles(mounting, rate_hz=RATE_HZ)
    parts, i, k = [], 0, 0
    while i < len(quat):
        step = sizes[k % len(sizes)]
        parts.append(stream.update(quat[i : i + step]))
        i, k = i + step, k + 1
    for j in range(3):
        assert np.array_equal(np.concatenate([p[j] for p in parts]), whole[j])

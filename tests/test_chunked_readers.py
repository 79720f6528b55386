"""Other tools' CSVs (``--column-map``) and files without hipsense metadata are read in chunks:
exactly the whole file's frame, rate and walk result whatever the chunk size, and a walk's
memory does not grow with the file's length. The analyses that hold every sample (balance,
bridge, a walk's report) read a file whole only up to ``MAX_WHOLE_ROWS`` samples, and stop
reading as soon as it is passed (issue 17: bounded memory on any file)."""

from __future__ import annotations

import json
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from hipsense.analysis import analyse_file
from hipsense.analysis.balance import analyse_balance
from hipsense.analysis.base import json_safe
from hipsense.analysis.bridge import analyse_bridge
from hipsense.analysis.walk import (
    MOUNTING_PREFIX_S,
    WalkAnalysis,
    analyse_walk,
    analyse_walk_chunks,
    events_equal,
)
from hipsense.cli import cli
from hipsense.recording import (
    ANGLE_COLUMNS,
    RAW_COLUMNS,
    Recording,
    RecordingError,
    read_recording,
    write_recording,
)
from hipsense.recording import limits as recording_limits
from hipsense.recording.chunks import CHUNK_ROWS, RecordingChunks, TooLongError, open_chunks
from hipsense.recording.importer import open_foreign_chunks, parse_column_map
from hipsense.recording.rate import RATE_SAMPLES
from hipsense.sim.scenarios import simulate
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

RATE_HZ = 100.0
THEIRS = ("ax", "ay", "az", "gx", "gy", "gz")
MAP_TEXT = "t_s=time_s," + ",".join(f"{o}={t}" for o, t in zip(RAW_COLUMNS, THEIRS, strict=True))
AXES = "z,-y,x"
"""The foreign files hold the sensor axes this way round (as mobgap's lower-back data)."""


def _walk(seconds: float) -> pd.DataFrame:
    """Raw-only walking (t_s, seq, raw, marker) of ``seconds``: a simulated walk tiled."""
    base = simulate("walk-right-trendelenburg", seed=2, duration_s=min(seconds, 150.0))
    one = base.to_recording().data.drop(columns=list(ANGLE_COLUMNS))
    n = int(seconds * RATE_HZ)
    data = pd.concat([one] * -(-n // len(one)), ignore_index=True).iloc[:n].copy()
    data["seq"] = np.arange(n, dtype=np.int64)
    data["t_s"] = np.arange(n) / RATE_HZ
    return data


def _foreign_csv(path: Path, data: pd.DataFrame, *, with_time: bool = True) -> Path:
    """``data`` as another tool writes it: its own names, the sensor axes of ``AXES``."""
    acc, gyr = data[list(RAW_COLUMNS[:3])].to_numpy(), data[list(RAW_COLUMNS[3:])].to_numpy()
    # pelvis x = sensor z, pelvis y = -sensor y, pelvis z = sensor x
    sensor = {"ax": acc[:, 2], "ay": -acc[:, 1], "az": acc[:, 0],
              "gx": gyr[:, 2], "gy": -gyr[:, 1], "gz": gyr[:, 0]}  # fmt: skip
    frame = pd.DataFrame({**({"time_s": data["t_s"]} if with_time else {}), **sensor})
    frame.to_csv(path, index=False)
    return path


def _map(with_time: bool) -> dict[str, str]:
    column_map = parse_column_map(MAP_TEXT)
    if not with_time:
        del column_map["t_s"]
    return column_map


def _whole_foreign(path: Path, with_time: bool, axes: str | None) -> Recording:
    """The reference: the whole file read by pandas and completed by ``from_frame``."""
    column_map = _map(with_time)
    raw = pd.read_csv(path)
    frame = pd.DataFrame({ours: raw[theirs].astype(np.float64)
                          for ours, theirs in column_map.items()})  # fmt: skip
    return Recording.from_frame(
        frame, rate_hz=RATE_HZ, axes=axes, test="walk", extra={"source": str(path)}
    )


def _doc(result: WalkAnalysis) -> dict:
    return json_safe(result.to_json())


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=st.integers(1, 1500), with_time=st.booleans(), axes=st.sampled_from([None, AXES]))
def test_foreign_chunks_make_the_whole_files_recording(
    tmp_path: Path, rows: int, with_time: bool, axes: str | None
) -> None:
    """Any chunk size: each chunk renamed, filled (t_s, seq, marker) and remapped makes exactly
    the frame and metadata of the whole file completed by ``Recording.from_frame``."""
    path = tmp_path / f"foreign_{with_time}.csv"
    if not path.exists():
        _foreign_csv(path, _walk(12.0), with_time=with_time)
    rate = None if with_time else RATE_HZ  # with a time column: inferred from it
    chunks = open_foreign_chunks(path, _map(with_time), rate, test="walk", axes=axes,
                                 chunk_rows=rows)  # fmt: skip
    frames = list(chunks.frames())
    assert all(len(f) <= rows for f in frames)
    whole = _whole_foreign(path, with_time, axes)
    assert pd.concat(frames, ignore_index=True).equals(whole.data)
    assert chunks.meta == whole.meta and chunks.content == whole.content


@pytest.mark.parametrize("axes_at", ["analysis", "import"])
def test_a_foreign_walk_in_chunks_is_the_whole_files_walk(tmp_path: Path, axes_at: str) -> None:
    """Longer than the mounting prefix: any chunk size gives the events and the JSON of the
    whole file analysed in memory; ``hipsense analyze --column-map --axes`` prints the same."""
    path = _foreign_csv(tmp_path / "foreign.csv", _walk(MOUNTING_PREFIX_S + 40.0))
    at_import = AXES if axes_at == "import" else None
    option = AXES if axes_at == "analysis" else None
    whole = analyse_walk(_whole_foreign(path, True, at_import), axes=option)
    assert len(whole.events) > 200 and whole.tracker.verdict_.status == "asymmetric"
    for rows in (61, 4999, 10**7):
        chunks = open_foreign_chunks(path, _map(True), test="walk", axes=at_import,
                                     chunk_rows=rows)  # fmt: skip
        chunked = analyse_walk_chunks(chunks, axes=option)
        assert events_equal(chunked.events, whole.events), rows
        assert _doc(chunked) == _doc(whole), rows
    if axes_at == "analysis":  # what the command does
        args = ["analyze", str(path), "--test", "walk", "--column-map", MAP_TEXT, "--axes", AXES]
        res = CliRunner().invoke(cli, [*args, "--json"])
        assert res.exit_code == 0, res.output
        assert json.loads(res.output) == _doc(whole)


def _plain_file(path: Path, data: pd.DataFrame) -> Path:
    """A user's own file in hipsense's columns, without hipsense metadata."""
    if path.suffix == ".csv":
        data.to_csv(path, index=False)
    else:
        data.to_parquet(path, index=False)
    return path


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_a_file_without_metadata_in_chunks_is_the_whole_file(tmp_path: Path, fmt: str) -> None:
    """Its rate inferred once from the first samples, then read in chunks: the frame of
    ``read_recording`` and the walk of the whole file, whatever the chunk size."""
    path = _plain_file(tmp_path / f"plain.{fmt}", _walk(MOUNTING_PREFIX_S + 40.0))
    rec = read_recording(path)
    assert rec.meta.rate_hz == RATE_HZ and rec.meta.test is None
    whole = analyse_walk(rec)
    for rows in (97, 7000, 10**7):
        chunks = open_chunks(path, chunk_rows=rows)
        assert chunks.meta == rec.meta and chunks.content == rec.content
        if rows == 97:
            assert pd.concat(list(chunks.frames()), ignore_index=True).equals(rec.data)
        chunked = analyse_walk_chunks(chunks)
        assert events_equal(chunked.events, whole.events), rows
        assert _doc(chunked) == _doc(whole), rows


def test_the_rate_comes_from_the_first_samples_in_every_reader(tmp_path: Path) -> None:
    """A file whose later samples are twice as far apart (more of them than of the first):
    the median of all its periods would say 50 Hz; every reader, whole or in chunks, says the
    100 Hz of its first ``RATE_SAMPLES`` samples, so their results cannot differ."""
    n_fast, n_slow = RATE_SAMPLES, RATE_SAMPLES + 10
    t = np.concatenate([np.arange(n_fast) / 100.0, n_fast / 100.0 + np.arange(n_slow) / 50.0])
    zeros = {c: np.zeros(t.size) for c in RAW_COLUMNS}
    plain = pd.DataFrame({"t_s": t, "seq": np.arange(t.size), **zeros, "marker": 0})
    path = _plain_file(tmp_path / "plain.parquet", plain)
    assert read_recording(path).meta.rate_hz == 100.0
    assert open_chunks(path, chunk_rows=5000).meta.rate_hz == 100.0
    foreign = tmp_path / "foreign.csv"
    pd.DataFrame({"time_s": t, **dict.fromkeys(THEIRS, 0.0)}).to_csv(foreign, index=False)
    assert open_foreign_chunks(foreign, _map(True), chunk_rows=5000).meta.rate_hz == 100.0
    assert np.median(np.diff(t)) == pytest.approx(0.02), "the whole file's median differs"


def _walk_peak_bytes(open_it: object) -> int:
    tracemalloc.start()
    try:
        analyse_walk_chunks(open_it())  # type: ignore[operator]
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("kind", ["foreign", "plain"])
def test_memory_does_not_grow_with_the_files_length(tmp_path: Path, kind: str) -> None:
    """Four times the samples, about the same traced peak (allocations, not time): a chunk,
    the first minutes and one record per step are held, never the samples. The whole file
    read in memory, for contrast, holds every sample."""
    n_short = 30_000  # 5 min at 100 Hz: more than the mounting prefix
    data = _walk(4 * n_short / RATE_HZ)
    paths = {}
    for label, n in (("short", n_short), ("long", 4 * n_short)):
        if kind == "foreign":
            paths[label] = _foreign_csv(tmp_path / f"{label}.csv", data.iloc[:n])
        else:
            paths[label] = _plain_file(tmp_path / f"{label}.csv", data.iloc[:n])

    def opener(path: Path) -> object:
        if kind == "foreign":
            return lambda: open_foreign_chunks(path, _map(True), test="walk", chunk_rows=3000)
        return lambda: open_chunks(path, chunk_rows=3000)

    _walk_peak_bytes(opener(paths["short"]))  # first use: imports and caches
    peak_short = _walk_peak_bytes(opener(paths["short"]))
    peak_long = _walk_peak_bytes(opener(paths["long"]))
    extra_sample_bytes = 3 * n_short * 11 * 8  # the extra samples held as a recording
    assert peak_long - peak_short < 0.25 * extra_sample_bytes, (peak_short, peak_long)
    tracemalloc.start()
    try:
        chunks = opener(paths["long"])()  # type: ignore[operator]
        analyse_walk(chunks.whole())
        whole_peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert whole_peak > peak_long + extra_sample_bytes


def _counted(chunks: RecordingChunks, seen: list[int]) -> RecordingChunks:
    frames = chunks.frames

    def counting():
        for frame in frames():
            seen.append(len(frame))
            yield frame

    return RecordingChunks(chunks.source, chunks.meta, chunks.content, counting)


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_reading_whole_stops_at_the_limit(tmp_path: Path, fmt: str) -> None:
    """A file longer than the limit is refused after at most the limit and one chunk were
    read (its memory is bounded by the limit, not by the file), naming the limit."""
    rec = simulate("stance-eyes-open", seed=1).to_recording()
    path = write_recording(rec, tmp_path / f"stance.{fmt}")
    limit, rows = len(rec.data) // 4, 500
    seen: list[int] = []
    with pytest.raises(TooLongError, match=f"more than {limit} samples") as info:
        _counted(open_chunks(path, chunk_rows=rows), seen).whole(max_rows=limit)
    assert sum(seen) <= limit + rows < len(rec.data)
    assert isinstance(info.value, RecordingError)
    whole = _counted(open_chunks(path, chunk_rows=rows), seen).whole(max_rows=len(rec.data))
    assert whole.data.equals(read_recording(path).data) and whole.meta == rec.meta


@pytest.mark.parametrize(
    ("scenario", "analyse"),
    [("stance-eyes-open", analyse_balance), ("bridge-single-weak-right", analyse_bridge)],
)
def test_balance_and_bridge_files_read_in_chunks_give_the_whole_result(
    tmp_path: Path, scenario: str, analyse: object
) -> None:
    """``analyse_file`` (chunks gathered within the limit) gives the in-memory result."""
    rec = simulate(scenario, seed=1).to_recording()
    for fmt in ("csv", "parquet"):
        path = write_recording(rec, tmp_path / f"rec.{fmt}")
        whole = analyse(read_recording(path))  # type: ignore[operator]
        assert json_safe(analyse_file(path).to_json()) == json_safe(whole.to_json())
        gathered = open_chunks(path, chunk_rows=777).whole()
        assert json_safe(analyse(gathered).to_json()) == json_safe(whole.to_json())  # type: ignore[operator]


def test_the_commands_refuse_a_balance_or_bridge_file_past_the_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the limit below the recording: ``analyze`` and ``report`` of a balance or bridge
    file end with the message naming it (no traceback); a walk's report is made in chunks."""
    monkeypatch.setattr(recording_limits, "MAX_WHOLE_ROWS", 2000)
    runner = CliRunner()
    for scenario, test in (("stance-eyes-open", "balance"), ("bridge-double", "bridge")):
        path = write_recording(simulate(scenario, seed=1).to_recording(), tmp_path / f"{test}.csv")
        for args in (["analyze", str(path)], ["report", str(path)]):
            res = runner.invoke(cli, args)
            assert res.exit_code == 1, res.output
            assert res.output.startswith("hipsense: ") and "more than 2000 samples" in res.output
            assert f"the {test} analysis reads it whole" in res.output
    walk = write_recording(simulate("walk-normal", seed=1, duration_s=40.0).to_recording(),
                           tmp_path / "walk.parquet")  # fmt: skip
    res = runner.invoke(cli, ["report", str(walk), "--out", str(tmp_path / "walk_report")])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "walk_report.html").stat().st_size > 0


def test_a_streamed_tests_end_reads_its_recording_within_the_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The end of `walk`, `balance`, `bridge` (``finish_stream``) reads the session's
    recording as `report` does: past the limit a balance recording ends with the message
    naming it (the recording kept), a walk is analysed in chunks, never read whole (before,
    both were read whole whatever their length)."""
    from hipsense.cli.outcome import finish_stream
    from hipsense.orchestrate.stream import StreamSummary
    from rich.console import Console

    monkeypatch.setattr(recording_limits, "MAX_WHOLE_ROWS", 2000)
    console = Console(record=True, width=200)

    def end(summary: StreamSummary, test: str) -> Any:
        return finish_stream(console, summary, test, patient_id=None, store_path=None,
                             report=False, as_json=False)  # fmt: skip

    stance = simulate("stance-eyes-open", seed=1).to_recording()
    path = write_recording(stance, tmp_path / "balance.parquet")
    with pytest.raises(TooLongError, match=r"more than 2000 samples.*balance analysis reads it"):
        end(StreamSummary("board", samples=len(stance.data), recording=path), "balance")
    assert path.exists()
    walk = simulate("walk-normal", seed=1, duration_s=40.0).to_recording()
    path = write_recording(walk, tmp_path / "walk.parquet")
    result = end(StreamSummary("board", samples=len(walk.data), recording=path), "walk")
    assert result.recording is None and len(result.events) > 20  # in chunks, all of it
    assert result.to_json()["recording"]["duration_s"] == pytest.approx(walk.duration_s, abs=0.02)


def test_import_writes_the_file_in_chunks_and_nothing_when_a_row_is_bad(tmp_path: Path) -> None:
    """``hipsense import`` streams the chunks into the recording (the whole file's frame);
    a bad value in a later chunk (the first one already written) leaves neither a half
    recording nor a temporary file."""
    n = CHUNK_ROWS + 4000
    src = _foreign_csv(tmp_path / "foreign.csv", _walk(n / RATE_HZ), with_time=False)
    out = tmp_path / "walk.parquet"
    no_time = MAP_TEXT.removeprefix("t_s=time_s,")
    args = ["import", str(src), "--column-map", no_time, "--rate-hz", "100", "--axes", AXES,
            "--test", "walk"]  # fmt: skip
    res = CliRunner().invoke(cli, [*args, "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert read_recording(out).data.equals(_whole_foreign(src, False, AXES).data)
    lines = src.read_text().splitlines()
    bad_row = CHUNK_ROWS + 1000
    lines[1 + bad_row] = "x" + lines[1 + bad_row]  # a value that is not a number
    src.write_text("\n".join(lines) + "\n")
    res = CliRunner().invoke(cli, [*args, "--out", str(tmp_path / "bad.parquet")])
    assert res.exit_code == 1 and "not numeric" in res.output, res.output
    assert f"row {bad_row} " in res.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["foreign.csv", "walk.parquet"]


def _import_args(src: Path, out: Path) -> list[str]:
    no_time = MAP_TEXT.removeprefix("t_s=time_s,")
    return ["import", str(src), "--column-map", no_time, "--rate-hz", "100", "--test", "walk",
            "--out", str(out)]  # fmt: skip


def test_ctrl_c_during_import_ends_it_without_finishing_or_leaving_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C while a later chunk is read: the samples already written are thrown away, not
    first turned into a recording (about a second per million rows), so a second Ctrl-C
    meanwhile cannot leave the temporary partial file behind either."""
    from hipsense.recording import writer as writer_module

    src = _foreign_csv(tmp_path / "foreign.csv", _walk((CHUNK_ROWS + 400) / RATE_HZ),
                       with_time=False)  # fmt: skip
    finished: list[Path] = []

    def second_ctrl_c(partial: Path, target: Path, **_: object) -> None:
        finished.append(target)
        raise KeyboardInterrupt

    monkeypatch.setattr(writer_module, "_finish", second_ctrl_c)
    real_frames = RecordingChunks.frames

    def interrupted(self: RecordingChunks) -> Iterator[pd.DataFrame]:
        for k, frame in enumerate(real_frames(self)):
            if k == 1:
                raise KeyboardInterrupt  # Ctrl-C after the first chunk was written
            yield frame

    monkeypatch.setattr(RecordingChunks, "frames", interrupted)
    res = CliRunner().invoke(cli, _import_args(src, tmp_path / "walk.parquet"))
    assert res.exit_code == 1 and "Aborted" in res.output, res.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["foreign.csv"]
    assert finished == [], "nothing is finished on the way out"


KILLED_IMPORT = """
import sys, threading
from hipsense.recording import writer
append = writer.RecordingWriter.append
def append_then_hang(self, chunk):
    append(self, chunk)
    print("written", flush=True)
    threading.Event().wait()  # killed here
writer.RecordingWriter.append = append_then_hang
from hipsense.cli import main
main(sys.argv[1:])
"""


def test_an_import_killed_halfway_does_not_block_the_next_one(tmp_path: Path) -> None:
    """SIGKILL (a crash, the OOM killer) after the first chunk left its temporary partial
    file: importing again into the same ``--out`` works (it was refused with "an unfinished
    recording is already there; recover it with `hipsense recover`" of a temporary file)."""
    import os
    import signal
    import subprocess
    import sys

    src = _foreign_csv(tmp_path / "foreign.csv", _walk(3000 / RATE_HZ), with_time=False)
    out = tmp_path / "walk.parquet"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "host")}
    child = subprocess.Popen(
        [sys.executable, "-c", KILLED_IMPORT, *_import_args(src, out)],
        stdout=subprocess.PIPE, env=env, text=True,
    )  # fmt: skip
    try:
        assert child.stdout is not None and child.stdout.readline() == "written\n"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    assert any(p.name.endswith(".partial") for p in tmp_path.iterdir()), "the kill left it"
    res = CliRunner().invoke(cli, _import_args(src, out))
    assert res.exit_code == 0, res.output
    assert read_recording(out).data.equals(_whole_foreign(src, False, None).data)


def test_a_long_file_that_does_not_say_its_test_is_asked_for_the_test(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file without metadata past the limit, no ``--test``: ``analyze`` and ``report`` ask
    for the test (with ``--test walk`` it is read in chunks), not to split the recording."""
    monkeypatch.setattr(recording_limits, "MAX_WHOLE_ROWS", 2000)
    path = _plain_file(tmp_path / "plain.csv", _walk(40.0))
    runner = CliRunner()
    for args in (["analyze", str(path)], ["report", str(path), "--out", str(tmp_path / "r")]):
        res = runner.invoke(cli, args)
        assert res.exit_code == 1, res.output
        assert "does not say which test" in res.output and "pass --test" in res.output
        assert "split" not in res.output, res.output
    res = runner.invoke(cli, ["analyze", str(path), "--test", "walk"])
    assert res.exit_code == 0 and res.output.startswith("Walk: "), res.output


@pytest.mark.parametrize("bad_row", [0, 150])
def test_a_foreign_row_with_an_extra_field_is_an_error_not_shifted_values(
    tmp_path: Path, bad_row: int
) -> None:
    """A decimal comma in one row ("1,5" for 1.5) gives it one field more than the header:
    the import stops naming its line; the values after it were read shifted by one column
    (ay took the 5, az the next value, ...), silently."""
    data = _walk(3.0)
    path = _foreign_csv(tmp_path / "foreign.csv", data)
    lines = path.read_text().splitlines()
    fields = lines[1 + bad_row].split(",")
    fields[1] = fields[1].replace(".", ",", 1) if "." in fields[1] else fields[1] + ",5"
    lines[1 + bad_row] = ",".join(fields)
    path.write_text("\n".join(lines) + "\n")
    said = f"line {bad_row + 2}, saw 8" if bad_row else "first row has more fields than the"
    with pytest.raises(RecordingError, match=said):
        list(open_foreign_chunks(path, _map(True), RATE_HZ, chunk_rows=100).frames())
    with pytest.raises(RecordingError, match=said):
        open_foreign_chunks(path, _map(True), chunk_rows=100).frames()


@pytest.mark.parametrize("meta", [True, False])
def test_a_recordings_first_row_with_an_extra_field_is_an_error(tmp_path: Path, meta: bool) -> None:
    """The same in a hipsense CSV read in chunks (with or without its metadata line): pandas
    only warned and dropped the last field, so the values were shifted and the error, if any,
    was about another column (``marker`` holding the gyro's value)."""
    rec = Recording.from_frame(_walk(3.0), rate_hz=RATE_HZ)
    path = write_recording(rec, tmp_path / "rec.csv")
    lines = path.read_text().splitlines()
    first = 2 if meta else 1  # the first data line (0-based): after the metadata and header
    if not meta:
        lines = lines[1:]
    fields = lines[first].split(",")
    fields[2] = fields[2] + ",5"  # acc_x 9.8,5: one field more
    lines[first] = ",".join(fields)
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(RecordingError):
        read_recording(path)
    with pytest.raises(RecordingError, match="first row has more fields than the header"):
        list(open_chunks(path, chunk_rows=100).frames())


def test_a_missing_time_among_the_first_is_named_not_blamed_on_the_rate(tmp_path: Path) -> None:
    """An empty time cell among the samples the rate comes from: the message names the column
    and the row (it said "the time column gives no sample rate: pass --rate-hz", and with
    --rate-hz the same row was then refused)."""
    path = _foreign_csv(tmp_path / "foreign.csv", _walk(3.0))
    lines = path.read_text().splitlines()
    lines[1 + 7] = "," + lines[1 + 7].split(",", 1)[1]  # row 7: no time
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(RecordingError, match=r"column 'time_s' has a missing.* at row 7") as info:
        open_foreign_chunks(path, _map(True))
    assert "--rate-hz" not in str(info.value)


@pytest.mark.parametrize(
    ("content", "said"),
    [
        (b"PAR1" + bytes(range(256)) * 4, "a Parquet file, not a CSV"),
        (b"\xff\xfe" + bytes(range(128, 256)) * 8, "not UTF-8 CSV text (byte 0"),
        (b"time_s,ax\n\xff\xfe,1\n", None),  # bad bytes past the header: the reader's message
    ],
)
def test_column_map_on_a_parquet_or_binary_file_names_it_without_noise(
    tmp_path: Path, content: bytes, said: str | None
) -> None:
    """`analyze rec.parquet --column-map ...` printed "no column ...; it has PAR1<binary noise>":
    the header was decoded with errors replaced. Now the file's kind is named."""
    path = tmp_path / "their.csv"
    path.write_bytes(content)
    result = CliRunner().invoke(
        cli, ["analyze", str(path), "--test", "walk", "--column-map", MAP_TEXT]
    )
    assert result.exit_code == 1
    assert "\ufffd" not in result.output and "PAR1" not in result.output
    if said is not None:
        assert said in result.output


def test_a_foreign_csv_with_only_its_header_says_it_has_no_samples(tmp_path: Path) -> None:
    """A header without rows said "the time column gives no sample rate: pass --rate-hz"."""
    path = tmp_path / "their.csv"
    path.write_text("time_s," + ",".join(THEIRS) + "\n")
    with pytest.raises(RecordingError, match="no samples") as info:
        open_foreign_chunks(path, parse_column_map(MAP_TEXT))
    assert "--rate-hz" not in str(info.value)


@pytest.mark.parametrize(("sep", "named"), [(";", "';'"), ("\t", "tabs")])
def test_a_semicolon_or_tab_separated_csv_is_named_as_such(
    tmp_path: Path, sep: str, named: str
) -> None:
    """A spreadsheet export with ';' (or tab) separators said "no column time_s, ...; it has
    time_s;ax;..." without saying why; now the separator is named, with what to do."""
    path = tmp_path / "their.csv"
    path.write_text(sep.join(["time_s", *THEIRS]) + "\n" + sep.join(["0.0"] * 7) + "\n")
    with pytest.raises(RecordingError, match=rf"separated by {named}.*comma-separated") as info:
        open_foreign_chunks(path, parse_column_map(MAP_TEXT))
    assert "it has" not in str(info.value)


def test_a_rate_that_contradicts_the_time_column_is_refused(tmp_path: Path) -> None:
    """`--rate-hz 50` on a file whose time column says 100 Hz was used as given: the walk
    then had other contacts and drops, with no word. Now the two must agree (within 2 %)."""
    path = _foreign_csv(tmp_path / "foreign.csv", _walk(3.0))
    with pytest.raises(RecordingError, match=r"--rate-hz 50 .*time column 'time_s' .*100 Hz"):
        open_foreign_chunks(path, _map(True), 50.0)
    assert open_foreign_chunks(path, _map(True), 101.0).meta.rate_hz == 101.0  # within 2 %
    result = CliRunner().invoke(
        cli, ["analyze", str(path), "--test", "walk", "--column-map", MAP_TEXT,
              "--rate-hz", "50"],
    )  # fmt: skip
    assert result.exit_code == 1 and "leave out --rate-hz" in result.output

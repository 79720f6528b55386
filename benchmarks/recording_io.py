"""Size and speed of the recording format for one hour at 100 Hz.

Tiles 10 min of simulated walking (``walk-normal``, quantised as the chip reports it; each
Parquet page is compressed on its own, so the repetition does not help compression) to one
hour, then
measures: file sizes (Parquet as written, Parquet with the raw columns as float32 for
comparison, CSV), whole-file write and read times, and the streaming writer fed 1 s chunks
(time per append, time to close, peak Python and Arrow memory). Prints a markdown table
(copied into docs/recording.md "Size and speed").

    .venv/bin/python benchmarks/recording_io.py [--hours 1.0]
"""

from __future__ import annotations

import argparse
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from hipsense.recording import RAW_COLUMNS, Recording, RecordingWriter, read_recording
from hipsense.recording import write_recording as write
from hipsense.sim.scenarios import simulate


def hour_of_walking(hours: float) -> Recording:
    base = simulate("walk-normal", seed=1, duration_s=600.0).to_recording()
    rate_hz = base.meta.rate_hz
    n = int(hours * 3600 * rate_hz)
    reps = -(-n // len(base.data))
    data = pd.concat([base.data] * reps, ignore_index=True).iloc[:n].copy()
    data["seq"] = np.arange(n, dtype=np.int64)
    data["t_s"] = np.arange(n) / rate_hz
    return Recording(meta=base.meta, data=data)


def timed(action: object) -> float:
    start = time.perf_counter()
    action()  # type: ignore[operator]
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description="Size and speed of the recording format.")
    parser.add_argument("--hours", type=float, default=1.0)
    args = parser.parse_args()
    rec = hour_of_walking(args.hours)
    seconds = len(rec.data) / rec.meta.rate_hz
    mib = 1024 * 1024
    rows: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        # The streaming writer first, so that the Arrow pool's peak is the writer's alone.
        chunk_rows = int(rec.meta.rate_hz)
        chunks = [rec.data.iloc[i : i + chunk_rows] for i in range(0, len(rec.data), chunk_rows)]
        pool = pa.default_memory_pool()
        writer = RecordingWriter(folder / "s.parquet", rec.meta)
        t_append = timed(lambda: [writer.append(c) for c in chunks])
        t_close = timed(writer.close)
        arrow_peak = pool.max_memory()
        # as in a live session, each chunk is a new frame that is dropped after the append
        # (pandas caches index data on a frame, which would count against the writer)
        arrays = [{c: chunk[c].to_numpy() for c in chunk.columns} for chunk in chunks]
        tracemalloc.start()  # a second run: tracemalloc slows Python down
        writer = RecordingWriter(folder / "s2.parquet", rec.meta)
        for columns in arrays:
            writer.append(pd.DataFrame(columns))
        writer.close()
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        rows += [
            ("RecordingWriter.append of 1 s (100 rows), ms", f"{1e3 * t_append / len(chunks):.2f}"),
            ("RecordingWriter.close, s", f"{t_close:.2f}"),
            ("RecordingWriter peak Python allocations, MiB", f"{peak / mib:.1f}"),
            ("RecordingWriter peak Arrow memory, MiB", f"{arrow_peak / mib:.1f}"),
        ]
        parquet, csv = folder / "r.parquet", folder / "r.csv"
        t_write = timed(lambda: write(rec, parquet))
        t_read = timed(lambda: read_recording(parquet))
        t_write_csv = timed(lambda: write(rec, csv))
        t_read_csv = timed(lambda: read_recording(csv))
        f32 = rec.data.astype(dict.fromkeys(RAW_COLUMNS, np.float32))
        pq.write_table(pa.Table.from_pandas(f32), folder / "f32.parquet", compression="zstd")
        size_f32 = (folder / "f32.parquet").stat().st_size
        rows += [
            ("Parquet (float64, zstd), MiB", f"{parquet.stat().st_size / mib:.1f}"),
            ("Parquet, raw columns as float32, MiB", f"{size_f32 / mib:.1f}"),
            ("CSV, MiB", f"{csv.stat().st_size / mib:.1f}"),
            (
                "write_recording Parquet, s (x real time)",
                f"{t_write:.2f} ({seconds / t_write:.0f}x)",
            ),
            ("read_recording Parquet, s (x real time)", f"{t_read:.2f} ({seconds / t_read:.0f}x)"),
            ("write_recording CSV, s", f"{t_write_csv:.2f}"),
            ("read_recording CSV, s", f"{t_read_csv:.2f}"),
        ]
    print(f"| {args.hours:g} h at 100 Hz, raw + angles | value |\n|---|---|")
    for name, value in rows:
        print(f"| {name} | {value} |")


if __name__ == "__main__":
    main()

"""Damaged and hostile files through ``hipsense analyze`` and ``hipsense report``: a corpus of
more than 300 files generated here (truncations, bit flips, non-finite values, wrong types, huge
and ragged metadata, many columns, wrong time types, low rates). Every file ends in a result or
a ``hipsense: …`` message with exit status 1: never a traceback.

Bounds (generous, CPU-based, so a loaded machine does not fail them): each command within
CPU_S_PER_RUN seconds of CPU time; the whole corpus within MAX_RSS_GROWTH_MB of resident memory
beyond what the process held before it.
"""

from __future__ import annotations

import json
import random
import resource
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from hipsense.cli import cli
from hipsense.recording import write_recording
from hipsense.recording.csv_io import META_PREFIX
from hipsense.recording.meta import META_KEY, meta_to_json
from hipsense.sim.scenarios import simulate

CPU_S_PER_RUN = 30.0
MAX_RSS_GROWTH_MB = 1500.0
MIN_FILES = 300


def _base(scenario: str, seconds: float) -> tuple[pd.DataFrame, dict]:
    rec = simulate(scenario, seed=1).to_recording()
    data = rec.data.loc[rec.data["t_s"] < rec.data["t_s"].iloc[0] + seconds].reset_index(drop=True)
    return data, json.loads(meta_to_json(rec.meta, rec.content))


def _csv(path: Path, data: pd.DataFrame, meta: dict | str | None) -> Path:
    head = (
        ""
        if meta is None
        else f"{META_PREFIX} {meta if isinstance(meta, str) else json.dumps(meta)}\n"
    )
    path.write_text(head + data.to_csv(index=False), encoding="utf-8")
    return path


def _parquet(path: Path, data: pd.DataFrame, meta: dict | str | None) -> Path:
    table = pa.Table.from_pandas(data, preserve_index=False)
    if meta is not None:
        text = meta if isinstance(meta, str) else json.dumps(meta)
        table = table.replace_schema_metadata({META_KEY: text})
    pq.write_table(table, path)
    return path


def _corpus(root: Path) -> Iterator[tuple[str, Path]]:
    rnd = random.Random(17)
    walk, walk_meta = _base("walk-normal", 5.0)
    stance, stance_meta = _base("stance-eyes-open", 5.0)
    bases = {"walk": (walk, walk_meta), "stance": (stance, stance_meta)}
    good: list[Path] = []
    for name, (data, meta) in bases.items():
        from hipsense.recording import Recording, RecordingMeta

        meta_obj = RecordingMeta(**{k: v for k, v in meta.items()
                                    if k not in ("format_version", "content")})  # fmt: skip
        for fmt in ("parquet", "csv"):
            good.append(write_recording(Recording(meta_obj, data), root / f"{name}.{fmt}"))
    # truncations: 4 files x 15 cut points
    for src in good:
        blob = src.read_bytes()
        for k, frac in enumerate(np.linspace(0.0, 0.99, 15)):
            p = root / f"trunc{k}_{src.name}"
            p.write_bytes(blob[: int(len(blob) * frac)])
            yield "truncation", p
    # bit flips: 4 files x 25
    for src in good:
        blob = bytearray(src.read_bytes())
        for k in range(25):
            b = bytearray(blob)
            for _ in range(1 + k % 4):
                i = rnd.randrange(len(b))
                b[i] ^= 1 << rnd.randrange(8)
            p = root / f"flip{k}_{src.name}"
            p.write_bytes(bytes(b))
            yield "bit flip", p
    # non-finite and extreme values in every column kind, both formats
    for name, (data, meta) in bases.items():
        for col in ("t_s", "seq", "acc_z_mps2", "gyr_x_dps", "obliquity_deg", "marker"):
            for value in (np.nan, np.inf, -np.inf, 1e308, -1e308, 2.0**63):
                d = data.copy()
                d[col] = d[col].astype(float)
                d.loc[d.index[len(d) // 2 :: 7], col] = value
                writer = _csv if rnd.random() < 0.5 else _parquet
                suffix = "csv" if writer is _csv else "parquet"
                yield "non-finite", writer(root / f"nf_{name}_{col}_{value}.{suffix}", d, meta)
    # wrong types
    for name, (data, meta) in bases.items():
        for col in ("t_s", "seq", "acc_x_mps2", "marker", "tilt_deg"):
            for k, bad in enumerate(("abc", True, "2026-12-07", "1,5", "")):
                d = data.copy().astype({col: object})
                d.loc[d.index[5::11], col] = bad
                yield "wrong type", _csv(root / f"type_{name}_{col}_{k}.csv", d, meta)
    # wrong time types: timestamps, epoch ns, milliseconds, constant, reversed
    for name, (data, meta) in bases.items():
        t = data["t_s"].to_numpy()
        variants = {
            "iso": pd.Timestamp("2026-12-07") + pd.to_timedelta(t, unit="s"),
            "epoch_ns": (1.7e18 + t * 1e9),
            "epoch_s": 1.7e9 + t,
            "ms": t * 1000.0,
            "reversed": t[::-1].copy(),
            "constant": np.zeros_like(t),
        }
        for label, values in variants.items():
            d = data.copy()
            d["t_s"] = values
            yield "time type", _csv(root / f"time_{name}_{label}.csv", d, meta)
            yield "time type", _parquet(root / f"time_{name}_{label}.parquet", d, meta)
            yield "time type", _csv(root / f"time_nometa_{name}_{label}.csv", d, None)
    # huge and ragged metadata
    for name, (data, meta) in bases.items():
        ragged: list[object] = [
            {**meta, "extra": {"x": "y" * 3_000_000}},
            {**meta, "extra": {"l": list(range(200_000))}},
            "[" * 100_000 + "]" * 100_000,
            '{"a":' * 5000 + "1" + "}" * 5000,
            {**meta, "rate_hz": "fast"},
            {**meta, "rate_hz": 1e308},
            {**meta, "rate_hz": 1e-300},
            {**meta, "rate_hz": 16.0},
            {**meta, "rate_hz": 1.0},
            {**meta, "rate_hz": 10**400},
            {**meta, "mounting": [1, 2]},
            {**meta, "mounting": [1e308, 1e308, 0, 0]},
            {**meta, "mounting": "identity"},
            {**meta, "test": ["walk"]},
            {**meta, "test": "dance"},
            {**meta, "format_version": 10**30},
            {**meta, "start_time": "yesterday"},
            {**meta, "content": "everything"},
            {**meta, "unknown_key": 1},
            {**meta, "protocol_version": -1},
            "not json",
            "null",
            "[1, 2, 3]",
            '{"rate_hz": NaN}',
        ]
        for k, m in enumerate(ragged):
            yield "metadata", _csv(root / f"meta_{name}_{k}.csv", data, m)  # type: ignore[arg-type]
            yield "metadata", _parquet(root / f"meta_{name}_{k}.parquet", data, m)  # type: ignore[arg-type]
    # many columns
    for n in (300, 20_000):
        wide = pd.DataFrame(np.zeros((5, n)), columns=[f"c{i}" for i in range(n)])
        yield "many columns", _csv(root / f"wide{n}.csv", wide, None)
        yield "many columns", _parquet(root / f"wide{n}.parquet", wide, None)
        extra = pd.DataFrame(np.zeros((50, n)), columns=[f"extra{i}" for i in range(n)])
        d = pd.concat([walk.iloc[:50], extra], axis=1)
        yield "many columns", _csv(root / f"wide_walk{n}.csv", d.iloc[:50], walk_meta)
    # low and odd rates: the simulator's own recording resampled
    for name, (data, meta) in bases.items():
        for rate in (16.0, 10.0, 25.0):
            step = round(100.0 / rate)
            d = data.iloc[::step].reset_index(drop=True)
            d["seq"] = np.arange(len(d))
            m = {**meta, "rate_hz": rate}
            yield "low rate", _parquet(root / f"rate{rate:g}_{name}.parquet", d, m)
            yield "low rate", _csv(root / f"rate{rate:g}_{name}.csv", d, m)
    # empty and garbage
    for k, blob in enumerate((b"", b"\n\n", b"PAR1", b"PAR1" + bytes(100) + b"PAR1",
                              bytes(range(256)) * 40, b"\xff\xfe" + "t_s".encode("utf-16"),
                              b"t_s,seq\n", f"{META_PREFIX} {{}}\n".encode())):  # fmt: skip
        for suffix in ("csv", "parquet"):
            p = root / f"garbage{k}.{suffix}"
            p.write_bytes(blob)
            yield "garbage", p


def _run(args: list[str]) -> tuple[int, str, BaseException | None, float]:
    cpu0 = time.process_time()
    res = CliRunner().invoke(cli, args)
    return res.exit_code, res.output, res.exception, time.process_time() - cpu0


@pytest.mark.filterwarnings("ignore")
def test_hostile_files_get_a_message_or_a_result_never_a_traceback(tmp_path: Path) -> None:
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    files = list(_corpus(tmp_path))
    assert len(files) >= MIN_FILES
    tracebacks, unbounded, silent, bad_json = [], [], [], []
    kinds_failed: set[str] = set()
    for kind, path in files:
        for command in ("analyze", "report"):
            args = [command, str(path)] + (["--json"] if command == "analyze" else [])
            if command == "report":
                args += ["--out", str(tmp_path / "reports" / path.name)]
            code, out, exc, cpu_s = _run(args)
            if exc is not None and not isinstance(exc, SystemExit):
                tracebacks.append(f"{kind} {path.name} {command}: {exc!r}")
            if cpu_s > CPU_S_PER_RUN:
                unbounded.append(f"{kind} {path.name} {command}: {cpu_s:.1f} s CPU")
            if code != 0:
                kinds_failed.add(kind)
                if code != 1 or not out.startswith("hipsense: ") or len(out) > 2000:
                    silent.append(f"{kind} {path.name} {command}: exit {code}: {out[:200]!r}")
            elif command == "analyze":
                try:
                    json.loads(out, parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c)))
                except ValueError as e:
                    bad_json.append(f"{kind} {path.name}: {e}")
    rss_growth = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0 - rss0
    assert tracebacks == []
    assert unbounded == []
    assert silent == []
    assert bad_json == []
    assert rss_growth < MAX_RSS_GROWTH_MB
    # the corpus really is hostile: every kind of damage is refused at least once
    assert kinds_failed >= {"truncation", "bit flip", "non-finite", "wrong type", "time type",
                            "metadata", "many columns", "low rate", "garbage"}  # fmt: skip

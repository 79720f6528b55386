"""Many recordings analysed in parallel into one results table (``hipsense batch``).

One row per recording and per side (the ``per_side`` entries of the analysis's JSON document,
flattened to ``a.b`` columns, beside the recording's own scalar fields); a recording that
cannot be read or analysed is one row with ``status = "error"`` and the message, never the end
of the batch. Work runs in local processes (``concurrent.futures``) or, with a scheduler
address, on a Dask distributed cluster through its ``concurrent.futures`` executor: the same
code path. Finished recordings are written to ``<out>.parts/`` every ``PART_RECORDINGS`` and
when the batch stops (Ctrl-C included: then combined into the results table, as at a normal
end, and :class:`BatchInterrupted` says what was kept), so a stopped batch keeps its results
and a rerun skips every recording whose path, size and modification time are already in
the results with the same options (:func:`options_key`: the test, axes, column map and rate:
everything that changes a result); a changed option analyses the recording again and replaces
its rows. Each walk is read in chunks (:func:`hipsense.analysis.analyse_file`).

Local workers are forked (Linux) after the main process has imported what the analysis needs
(:func:`hipsense.analysis.modules_of`: about 1 CPU s, most of it ``scipy.signal``), so that
import is paid once per batch, not once per worker; a row keeps the document's scalars only,
so a walk's per-contact and per-step lists are never built (docs/benchmarks.md).
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import glob
import hashlib
import importlib
import json
import multiprocessing
import multiprocessing.context
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from hipsense.conventions.words import counted
from hipsense.errors import HipsenseError

KEY_COLUMNS = ("recording", "size_bytes", "mtime_ns", "options")
"""A row's key: the recording (absolute path, size, modification time) and the options it was
analysed with (:func:`options_key`)."""
Key = tuple[str, int, int, str]
PATTERNS = ("*.parquet", "*.csv")


class BatchError(HipsenseError):
    """The batch cannot start (no recordings, unreadable results, no scheduler)."""


class BatchInterrupted(BatchError):
    """Ctrl-C during a batch: the recordings finished so far are in the results table, the
    others were not analysed (exit status 130, as every command's Ctrl-C)."""

    exit_status = 130

    def __init__(self, finished: int, todo: int, skipped: int, out: Path) -> None:
        self.finished, self.todo, self.skipped, self.out = finished, todo, skipped, out
        left = todo - finished
        earlier = f" with the {counted(skipped, 'recording')} of earlier runs" if skipped else ""
        kept = (
            f"their results are in {out}{earlier}; nothing finished is lost"
            if finished
            else f"no recording had finished; {out} is as it was"
            if out.exists()
            else "no recording had finished; no results were written"
        )
        super().__init__(
            f"interrupted (Ctrl-C) after {finished} of {counted(todo, 'recording')}: {kept}. "
            f"{counted(left, 'recording')} {'was' if left == 1 else 'were'} not analysed: run "
            "the same command again to analyse only those (the finished ones are skipped)"
        )


@dataclass(frozen=True)
class BatchSummary:
    """``found`` recordings, ``skipped`` (already in the results), ``analysed`` now, of which
    ``failed`` became error rows; ``out``: the results table."""

    found: int
    skipped: int
    analysed: int
    failed: int
    out: Path


def find_recordings(source: str) -> list[Path]:
    """A folder (its ``*.parquet`` and ``*.csv``, recursively) or a glob pattern, sorted;
    ``.partial`` files and the results' own parts are left out."""
    folder = Path(source)
    if folder.is_dir():
        paths = [p for pattern in PATTERNS for p in folder.rglob(pattern)]
    else:
        paths = [Path(p) for p in glob.glob(source, recursive=True)]
    return sorted(
        p for p in paths if p.is_file() and not any(s.endswith(".parts") for s in p.parts)
    )


def options_key(test: str | None, options: Mapping[str, Any]) -> str:
    """The options a result depends on as they were given (``test`` and the analysis and
    reading options of :func:`hipsense.analysis.analyse_file`; None left out), as sorted JSON:
    the ``options`` key column, so a rerun with another ``--test``, ``--axes``,
    ``--column-map`` or ``--rate-hz`` analyses the recordings again."""
    given = {"test": test, **options}
    return json.dumps({k: v for k, v in given.items() if v is not None}, sort_keys=True)


def analyse_file(path: str, key: Key, test: str | None,
                 options: Mapping[str, Any]) -> list[dict[str, Any]]:  # fmt: skip
    """The result rows of one recording (runs in a worker: imports and errors stay here)."""
    base = dict(zip(KEY_COLUMNS, key, strict=True))
    try:
        from hipsense.analysis import analyse_file

        result = analyse_file(path, test, **options)  # a walk read in chunks
        doc = _document(result)
    except Exception as exc:  # any failure of one recording is a row, never the batch's end
        return [{**base, "test": test, "status": "error", "error": f"{type(exc).__name__}: {exc}"}]
    name = test or result.test
    common = {k: v for k, v in _flat(doc) if not k.startswith("per_side.")}
    per_side = doc.get("per_side") or {}
    rows = [
        {
            **base,
            "test": name,
            "status": "ok",
            "error": None,
            "side": side,
            **common,
            **dict(_flat(values or {})),
        }
        for side, values in per_side.items()
    ]
    return rows or [{**base, "test": name, "status": "ok", "error": None, **common}]


def _document(result: Any) -> Mapping[str, Any]:
    """The result's JSON document; a walk's contacts and steps stay unconsumed iterators
    (:meth:`~hipsense.analysis.walk.WalkAnalysis.to_json` ``lazy``): a row has no use for them."""
    if result.test == "walk":
        from hipsense.analysis.walk import WalkAnalysis

        if isinstance(result, WalkAnalysis):
            return result.to_json(lazy=True)
    return result.to_json()


def _flat(doc: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Scalar leaves of a JSON document as ``a.b`` keys (lists and iterators are left out)."""
    for k, v in doc.items():
        if isinstance(v, Mapping):
            yield from _flat(v, f"{prefix}{k}.")
        elif not isinstance(v, list | tuple | Iterator):
            yield f"{prefix}{k}", v


PART_RECORDINGS = 50
"""Results are written to the parts folder every this many recordings (and when the batch
stops, Ctrl-C included), so the main process does little per recording and a rerun after a
crash redoes at most this many."""


def run_batch(
    source: str,
    out: Path,
    *,
    test: str | None = None,
    options: Mapping[str, Any] | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: Callable[[int, int, Path], None] | None = None,
) -> BatchSummary:
    """Analyse every recording of ``source`` not yet in ``out``; write ``out`` (Parquet).

    workers: local processes (default: the CPU count); scheduler: a Dask distributed
    scheduler address (``tcp://host:8786``) or a ``distributed.Client`` instead.
    progress(done, total, path) is called as each recording finishes.
    """
    results = {out.resolve(), out.with_name(out.name + ".tmp").resolve()}
    paths = [p for p in find_recordings(source) if p.resolve() not in results]
    if not paths:
        raise BatchError(f"{source}: no recordings (*.parquet, *.csv) found")
    parts = out.with_name(out.name + ".parts")
    done = _done_keys(out, parts)
    given = options_key(test, options or {})
    todo = [(p, k) for p in paths if (k := _key(p, given)) not in done]
    failed = finished = 0
    pending: list[dict[str, Any]] = []  # rows not yet in a part file
    try:
        with _executor(workers, scheduler, test if todo else _NOTHING) as pool:
            futures = {
                pool.submit(analyse_file, str(p), k, test, dict(options or {})): p for p, k in todo
            }
            try:
                for future in cf.as_completed(futures):
                    rows = future.result()
                    failed += any(r["status"] == "error" for r in rows)
                    pending.extend(rows)
                    finished += 1
                    if finished % PART_RECORDINGS == 0:
                        _write_part(parts, pending)
                        pending = []
                    if progress is not None:
                        progress(finished, len(todo), futures[future])
            finally:  # Ctrl-C or an error: what finished is kept for the rerun
                if pending:
                    _write_part(parts, pending)
    except KeyboardInterrupt:  # the queued recordings are dropped (_executor)
        if finished < len(todo):  # (a Ctrl-C after the last one: the batch is done)
            _combine(out, parts)  # what finished is in the results, as at a normal end
            raise BatchInterrupted(finished, len(todo), len(paths) - len(todo), out) from None
    _combine(out, parts)
    return BatchSummary(len(paths), len(paths) - len(todo), len(todo), failed, out)


_NOTHING = "-"
"""No recording to analyse: nothing to import for the workers."""


def _local_context(test: str | None) -> multiprocessing.context.BaseContext:
    """The platform's start method for local workers, with the analysis's imports (of ``test``;
    None: any test) done once: in this process before the workers are forked from it, or in
    the fork server; spawned workers (macOS, Windows) import them each."""
    context = multiprocessing.get_context()
    if test == _NOTHING:
        return context
    from hipsense.analysis import modules_of

    try:
        modules = modules_of(test)
    except HipsenseError:
        return context  # an unknown test: every recording becomes its error row
    method = context.get_start_method()
    if method == "fork":
        for name in modules:
            importlib.import_module(name)
    elif method == "forkserver":
        context.set_forkserver_preload(list(modules))
    return context


@contextlib.contextmanager
def _executor(workers: int | None, scheduler: Any, test: str | None) -> Iterator[cf.Executor]:
    if scheduler is None:
        pool = cf.ProcessPoolExecutor(max_workers=workers, mp_context=_local_context(test))
        try:
            yield pool
        except BaseException:  # Ctrl-C: drop the queued recordings (the parts are kept)
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown()
        return
    try:
        from distributed import Client
    except ImportError:
        raise BatchError(
            "--scheduler needs Dask distributed: pip install 'hipsense[cluster]'"
        ) from None
    if isinstance(scheduler, Client):
        yield scheduler.get_executor()
        return
    try:
        client = Client(scheduler, timeout="10s")
    except OSError as exc:
        raise BatchError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
    with client:
        yield client.get_executor()


def _key(path: Path, options: str) -> Key:
    st = path.stat()
    return str(path.resolve()), st.st_size, st.st_mtime_ns, options


def _done_keys(out: Path, parts: Path) -> set[Key]:
    frames = [_read(f) for f in ([out] if out.exists() else []) + sorted(parts.glob("*.parquet"))]
    keys: set[Key] = set()
    for frame in frames:  # a table of an older hipsense (no options column): analysed again
        if all(c in frame for c in KEY_COLUMNS):
            rows = frame.loc[:, list(KEY_COLUMNS)].itertuples(index=False)
            keys.update((str(a), int(b), int(c), str(d)) for a, b, c, d in rows)
    return keys


def _read(path: Path) -> pd.DataFrame:
    try:
        return pq.read_table(path).to_pandas()
    except (pa.ArrowException, OSError) as exc:
        raise BatchError(f"{path}: not a readable results table: {exc}") from None


def _table(frame: pd.DataFrame) -> pa.Table:
    """Columns of mixed kinds (a number in one row, text in another) are stored as text."""
    for column in frame.columns:
        try:
            pa.array(frame[column])
        except (pa.ArrowException, TypeError, ValueError):
            frame[column] = [None if v is None else str(v) for v in frame[column]]
    return pa.Table.from_pandas(frame, preserve_index=False)


def _write_part(parts: Path, rows: list[dict[str, Any]]) -> None:
    parts.mkdir(parents=True, exist_ok=True)
    first_last = (rows[0]["recording"], rows[-1]["recording"], len(rows))
    name = hashlib.sha1(repr(first_last).encode()).hexdigest()[:16]
    tmp = parts / f"{name}.tmp"
    pq.write_table(_table(pd.DataFrame(rows)), tmp)
    os.replace(tmp, parts / f"{name}.parquet")


LEADING_COLUMNS = (*KEY_COLUMNS, "test", "status", "error", "side")


def _column_order(columns: pd.Index) -> list[str]:
    """The key and status columns first, then the figures by name: the same table whichever
    recording a worker finished first (the parts' column order follows completion)."""
    rest = sorted(str(c) for c in columns if c not in LEADING_COLUMNS)
    return [c for c in LEADING_COLUMNS if c in columns] + rest


def _combine(out: Path, parts: Path) -> None:
    """The previous results plus the new parts, a recording's newest rows winning."""
    files = sorted(parts.glob("*.parquet")) if parts.exists() else []
    frames = ([_read(out)] if out.exists() else []) + [_read(f) for f in files]
    if not frames:
        return
    merged = pd.concat(frames, ignore_index=True)
    merged = merged.drop_duplicates([c for c in (*KEY_COLUMNS, "side") if c in merged], keep="last")
    # a recording analysed again (changed since, or other options) keeps only its newest rows
    last = merged.drop_duplicates("recording", keep="last").set_index("recording")
    same = [
        merged[c].to_numpy() == last.loc[merged["recording"], c].to_numpy()
        for c in KEY_COLUMNS[1:]
        if c in merged
    ]
    newest = merged[np.logical_and.reduce(same)].copy()
    newest = newest.sort_values(["recording"], kind="stable")
    tmp = out.with_name(out.name + ".tmp")
    pq.write_table(_table(newest[_column_order(newest.columns)]), tmp)
    os.replace(tmp, out)
    for f in files:
        f.unlink()
    with contextlib.suppress(OSError):
        parts.rmdir()

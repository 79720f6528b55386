"""``hipsense batch`` on 1 and 2 local workers: speed-up of the whole command, and its parts.

Writes ``--recordings`` simulated walks (Parquet, 10 different ``walk-*`` simulations of
``--seconds`` each, copied under distinct names), then runs the batch with 1 and with 2 workers,
interleaved ``--rounds`` times, each into a fresh results table and each in a fresh interpreter
that does what ``hipsense batch`` does (imports its command, then ``run_batch``), so every run
pays the interpreter start and the analysis's imports as a user's does. Wall time is what
parallel work shortens: the speed-up is a ratio of medians of wall times. Printed beside it,
from the same runs: when the first and the last recording finished (the analysis phase between
them has no start-up in it), the main process's and the workers' CPU, from those parts the
best speed-up two free cores allow (a figure the machine's load does not change), and a control:
pure-Python tasks of the same count and about the same CPU on 1 and 2 processes in the same
rounds, the speed-up the machine itself gave two processes then. Last, ``--paired`` rounds of
the analyses alone (a pool forked after the imports, as the batch forks it) and the control back
to back: on a shared machine the two speed-ups move together, round by round.

    .venv/bin/python benchmarks/batch_speed.py [--recordings 200] [--seconds 60] [--rounds 3]
        [--paired 4]
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import importlib
import json
import multiprocessing
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from hipsense.analysis import modules_of
from hipsense.orchestrate.batch import analyse_file
from hipsense.recording import write_recording
from hipsense.sim.scenarios import simulate

SCENARIOS = ("walk-normal", "walk-right-trendelenburg", "walk-left-trendelenburg")

# One `hipsense batch FOLDER --out OUT --workers N` in a fresh interpreter, timed from inside:
# CPU and wall before run_batch (the interpreter and the command's imports), run_batch's
# main-process and workers' CPU, and when each recording finished (with the main process's CPU
# then).
_RUN = """
import json, resource, sys, time
from pathlib import Path
t0 = time.perf_counter()
def cpu(who):
    u = resource.getrusage(who)
    return u.ru_utime + u.ru_stime
import hipsense.cli.batch
from hipsense.orchestrate.batch import run_batch
start_cpu = cpu(resource.RUSAGE_SELF)
t1 = time.perf_counter()
done = []
summary = run_batch(sys.argv[1], Path(sys.argv[2]), workers=int(sys.argv[3]),
                    progress=lambda i, n, p: done.append((time.perf_counter(),
                                                          cpu(resource.RUSAGE_SELF))))
t2 = time.perf_counter()
print(json.dumps({
    "start_s": t1 - t0, "start_cpu_s": start_cpu, "first_s": done[0][0] - t1,
    "last_s": done[-1][0] - t1, "end_s": t2 - t1,
    "main_phase_cpu_s": done[-1][1] - done[0][1],
    "main_cpu_s": cpu(resource.RUSAGE_SELF) - start_cpu,
    "workers_cpu_s": cpu(resource.RUSAGE_CHILDREN),
    "analysed": summary.analysed, "failed": summary.failed,
}))
"""

# The control: the same number of tasks of pure-Python arithmetic, about a recording's CPU
# each, on 1 or 2 worker processes: the speed-up the machine itself gave two processes then.
_CONTROL = """
import concurrent.futures as cf, sys, time
def spin(n):
    s = 0
    for i in range(n):
        s += i * i
    return s
if __name__ == "__main__":
    t = time.perf_counter()
    with cf.ProcessPoolExecutor(int(sys.argv[2])) as pool:
        list(pool.map(spin, [int(sys.argv[3])] * int(sys.argv[1])))
    print(time.perf_counter() - t)
"""
SPINS_PER_MS = 12_000
"""Loop turns of the control per millisecond of CPU (about; the ratio is what matters)."""

# What the main process imports before a worker can analyse: the command, then (in run_batch)
# the analysis's modules, which forked workers share.
_START = (
    "import hipsense.cli.batch, hipsense.orchestrate.batch, importlib\n"
    "from hipsense.analysis import modules_of\n"
    "[importlib.import_module(m) for m in modules_of()]\n"
)


def cohort(folder: Path, n: int, seconds: float) -> None:
    sims = [
        simulate(SCENARIOS[i % len(SCENARIOS)], seed=i, duration_s=seconds).to_recording()
        for i in range(min(n, 10))
    ]
    for i in range(n):
        write_recording(sims[i % len(sims)], folder / f"r{i:04d}.parquet")


def _children_cpu() -> float:
    u = resource.getrusage(resource.RUSAGE_CHILDREN)
    return u.ru_utime + u.ru_stime


def run(folder: Path, out: Path, workers: int) -> dict[str, float]:
    """One whole batch in a fresh interpreter: its own figures, its wall and CPU from outside."""
    cpu0, t0 = _children_cpu(), time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", _RUN, str(folder), str(out), str(workers)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    figures = json.loads(done.stdout)
    figures["wall_s"] = time.perf_counter() - t0
    figures["cpu_s"] = _children_cpu() - cpu0
    return figures


def _spin(n: int) -> int:
    s = 0
    for i in range(n):
        s += i * i
    return s


def _analyse(path: str) -> int:
    return len(analyse_file(path, (path, 0, 0, "{}"), None, {}))


def _pool_wall(func: Any, items: list[Any], workers: int) -> float:
    t0 = time.perf_counter()
    with cf.ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context()) as pool:
        list(pool.map(func, items))
    return time.perf_counter() - t0


def paired(folder: Path, rounds: int) -> list[tuple[float, float]]:
    """Per round, back to back: the speed-up of 2 workers over 1 on the analyses alone (forked
    from this process after the analysis's imports, as ``hipsense batch`` forks them) and on
    the control; the load changes less within a round than between the whole commands."""
    for name in modules_of():
        importlib.import_module(name)
    paths = sorted(str(p) for p in folder.glob("*.parquet"))
    spins = [20 * SPINS_PER_MS] * len(paths)
    ratios = []
    for r in range(rounds):
        walls: dict[tuple[int, str], float] = {}
        order = [(1, "analyses"), (1, "control"), (2, "analyses"), (2, "control")]
        for workers, kind in order if r % 2 == 0 else order[::-1]:
            func, items = (_analyse, paths) if kind == "analyses" else (_spin, spins)
            walls[workers, kind] = _pool_wall(func, items, workers)
        ratios.append(tuple(walls[1, k] / walls[2, k] for k in ("analyses", "control")))
    return ratios  # type: ignore[return-value]


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--recordings", type=int, default=200)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--paired", type=int, default=4, help="back-to-back rounds of the analyses "
                    "alone against the control")  # fmt: skip
    args = ap.parse_args()
    runs: dict[int, list[dict[str, float]]] = {1: [], 2: []}
    control: dict[int, list[float]] = {1: [], 2: []}
    starts: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "cohort"
        folder.mkdir()
        cohort(folder, args.recordings, args.seconds)
        for r in range(args.rounds):
            for workers in (1, 2) if r % 2 == 0 else (2, 1):
                figures = run(folder, Path(tmp) / f"results-{workers}-{r}.parquet", workers)
                assert figures["analysed"] == args.recordings and figures["failed"] == 0
                runs[workers].append(figures)
                spins = str(20 * SPINS_PER_MS)  # about 20 ms of CPU per task
                done = subprocess.run(
                    [sys.executable, "-c", _CONTROL, str(args.recordings), str(workers), spins],
                    capture_output=True, text=True, check=True,
                )  # fmt: skip
                control[workers].append(float(done.stdout))
            cpu0 = _children_cpu()
            subprocess.run([sys.executable, "-c", _START], check=True)
            starts.append(_children_cpu() - cpu0)
        pairs = paired(folder, args.paired)
    n = args.recordings

    def med(workers: int, key: str) -> float:
        return statistics.median(f[key] for f in runs[workers])

    print(f"{n} recordings of {args.seconds:g} s (Parquet), {os.cpu_count()} CPUs (shared), "
          f"{args.rounds} interleaved round(s), medians; load average "
          f"{os.getloadavg()[0]:.1f}\n")  # fmt: skip
    print("| workers | whole command s | to the first result s | first to last result s | "
          "main process CPU s (start, then run_batch) | workers' CPU s | whole CPU s |\n"
          "|---|---|---|---|---|---|---|")  # fmt: skip
    for w in (1, 2):
        print(f"| {w} | {med(w, 'wall_s'):.2f} | {med(w, 'start_s') + med(w, 'first_s'):.2f} | "
              f"{med(w, 'last_s') - med(w, 'first_s'):.2f} | {med(w, 'start_cpu_s'):.2f} + "
              f"{med(w, 'main_cpu_s'):.2f} | {med(w, 'workers_cpu_s'):.2f} | "
              f"{med(w, 'cpu_s'):.2f} |")  # fmt: skip
    whole = med(1, "wall_s") / med(2, "wall_s")
    phase = (med(1, "last_s") - med(1, "first_s")) / (med(2, "last_s") - med(2, "first_s"))
    # the parts, in CPU seconds (what a free core spends on them whatever the load)
    start = statistics.median(starts)  # interpreter + command + the analysis's imports, once
    per_rec = med(1, "workers_cpu_s") / n
    main_per_rec = med(1, "main_phase_cpu_s") / (n - 1)  # between the first and last result
    extra_worker = max(0.0, med(2, "workers_cpu_s") - med(1, "workers_cpu_s"))
    print(f"\nparts: start (interpreter, command and the analysis's imports, paid once) "
          f"{start:.2f} CPU s; per recording: worker {1000 * per_rec:.1f} ms, main process "
          f"{1000 * main_per_rec:.1f} ms; the second worker's extra CPU "
          f"{extra_worker:.2f} s")  # fmt: skip
    work = n * (per_rec + main_per_rec)
    print(f"best speed-up of the whole command on two free cores from these parts "
          f"(the start is serial): {(start + work) / (start + work / 2):.2f}x")  # fmt: skip
    spin = statistics.median(control[1]) / statistics.median(control[2])
    print(f"\nspeed-up with 2 workers: whole command {whole:.2f}x; analysis phase (first to "
          f"last result) {phase:.2f}x; the control (pure-Python tasks of about 20 ms, same "
          f"rounds: what the machine gave two processes) {spin:.2f}x")  # fmt: skip
    if pairs:
        words = ", ".join(f"{a:.2f}x/{c:.2f}x" for a, c in pairs)
        print(f"the analyses alone (a pool forked after the imports) against the control, back "
              f"to back: {words}; median ratio of the two speed-ups "
              f"{statistics.median(a / c for a, c in pairs):.2f}")  # fmt: skip


if __name__ == "__main__":
    main()

"""``hipsense batch`` on 1 and 2 local workers (and optionally a local Dask cluster): speed-up.

Writes ``--recordings`` simulated walks (Parquet, 10 different ``walk-*`` simulations of
``--seconds`` each, copied under distinct names), then runs the batch with 1 worker and with
2 workers, interleaved ``--rounds`` times, each into a fresh results table. Wall time is what
parallel work shortens, so this benchmark reports wall time; on a shared machine the speed-up
is bounded by the cores actually free. It also prints the CPU of the main process and of the
workers, a worker's start-up cost (what a second worker costs beyond the first) and the best
speed-up that start-up cost allows on two free cores: a bound that does not depend on the load.

    .venv/bin/python benchmarks/batch_speed.py [--recordings 200] [--seconds 60] [--rounds 1]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from hipsense.orchestrate.batch import run_batch
from hipsense.recording import write_recording
from hipsense.sim.scenarios import simulate

SCENARIOS = ("walk-normal", "walk-right-trendelenburg", "walk-left-trendelenburg")


def cohort(folder: Path, n: int, seconds: float) -> None:
    sims = [
        simulate(SCENARIOS[i % len(SCENARIOS)], seed=i, duration_s=seconds).to_recording()
        for i in range(min(n, 10))
    ]
    for i in range(n):
        write_recording(sims[i % len(sims)], folder / f"r{i:04d}.parquet")


def _cpu(who: int) -> float:
    u = resource.getrusage(who)
    return u.ru_utime + u.ru_stime


def _startup_cpu() -> float:
    """CPU seconds of a fresh interpreter importing what a worker needs for a walk."""
    code = "import hipsense.analysis, hipsense.recording.chunks, pyarrow.parquet"
    before = _cpu(resource.RUSAGE_CHILDREN)
    subprocess.run([sys.executable, "-c", code], check=True)
    return _cpu(resource.RUSAGE_CHILDREN) - before


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--recordings", type=int, default=200)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--rounds", type=int, default=1)
    args = ap.parse_args()
    walls: dict[int, list[float]] = {1: [], 2: []}
    cpus: dict[int, list[tuple[float, float]]] = {1: [], 2: []}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "cohort"
        folder.mkdir()
        cohort(folder, args.recordings, args.seconds)
        for r in range(args.rounds):
            for workers in (1, 2) if r % 2 == 0 else (2, 1):
                out = Path(tmp) / f"results-{workers}-{r}.parquet"
                t0 = time.perf_counter()
                main0, kids0 = _cpu(resource.RUSAGE_SELF), _cpu(resource.RUSAGE_CHILDREN)
                summary = run_batch(str(folder), out, workers=workers)
                walls[workers].append(time.perf_counter() - t0)
                cpus[workers].append((_cpu(resource.RUSAGE_SELF) - main0,
                                      _cpu(resource.RUSAGE_CHILDREN) - kids0))  # fmt: skip
                assert summary.analysed == args.recordings and summary.failed == 0
    one, two = statistics.median(walls[1]), statistics.median(walls[2])
    print(f"{args.recordings} recordings of {args.seconds:g} s, {os.cpu_count()} CPUs "
          f"(shared), {args.rounds} round(s)\n")  # fmt: skip
    print("| workers | wall s | recordings/s | main process CPU s | workers' CPU s |\n"
          "|---|---|---|---|---|")  # fmt: skip
    for w, wall in ((1, one), (2, two)):
        main = statistics.median(c[0] for c in cpus[w])
        kids = statistics.median(c[1] for c in cpus[w])
        print(f"| {w} | {wall:.1f} | {args.recordings / wall:.1f} | {main:.1f} | {kids:.1f} |")
    # workers are forked from this process (Linux): each one imports only what the parent had
    # not; a worker's start is what 2 workers spend beyond 1
    one_cpu = statistics.median(c[1] for c in cpus[1])
    start = max(0.0, statistics.median(c[1] for c in cpus[2]) - one_cpu)
    work = one_cpu - start
    print(f"\na worker's start (the second worker's extra CPU): {start:.2f} s; the analyses: "
          f"{work:.2f} CPU s; a fresh interpreter importing what a walk needs: "
          f"{_startup_cpu():.2f} CPU s; load average {os.getloadavg()[0]:.1f}")  # fmt: skip
    print(f"best 2-worker speed-up these allow on 2 free cores (each worker starts once, the "
          f"main process aside): {(start + work) / (start + work / 2):.2f}x")  # fmt: skip
    print(f"\nspeed-up with 2 workers: {one / two:.2f}x")


if __name__ == "__main__":
    main()

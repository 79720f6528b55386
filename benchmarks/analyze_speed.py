"""``hipsense analyze`` on hours of raw 100 Hz walking (CSV), as a whole process, against
mobgap's IcdShinImproved + LrcUllrich on the same file.

Writes a raw-only hipsense CSV (``walk-normal`` simulated for 10 min, tiled; sensor mounting in
the metadata, no board angles, so the host filter runs), then runs, interleaved ``--rounds``
times, ``hipsense analyze FILE --json`` and (when ``--mobgap-python`` exists)
``benchmarks/reference/mobgap_speed.py`` in mobgap's venv. Each child's CPU time (user + system)
and peak resident memory are measured by a fresh interpreter that runs it. Prints medians,
x real time in CPU, the CPU ratio to mobgap in the same round, and hipsense's fixed cost (an
interpreter that only imports what ``analyze`` imports for a walk, the modules its detectors
load at first use included) against the rest, with the import of numpy, pandas and
``scipy.signal`` each alone in an interpreter of its own. ``--hours 10`` is the
constant-memory check (peak RSS flat from 1 h to 10 h); its CSV (450 MiB) is written to a
temporary folder and removed.

    .venv/bin/python benchmarks/analyze_speed.py [--hours 1] [--rounds 3]
        [--mobgap-python /tmp/mobgap-venv/bin/python]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from hipsense.recording import ANGLE_COLUMNS, Recording, write_recording
from hipsense.sim.scenarios import simulate

HERE = Path(__file__).resolve().parent
IMPORTS = (
    "import importlib, hipsense.cli, hipsense.cli.analyze\n"
    "from hipsense.analysis import modules_of\n"
    "[importlib.import_module(m) for m in modules_of('walk')]\n"
)
"""What ``hipsense analyze`` imports for a walk (at start or at first use): its fixed cost."""
ALONE = {"interpreter": "pass", **{m: f"import {m}" for m in ("numpy", "pandas", "scipy.signal")}}
"""Single imports, each in a fresh interpreter (the interpreter's own start included)."""


def raw_walk_csv(hours: float, path: Path) -> float:
    """Write ``hours`` of raw-only walking to ``path``; its duration in seconds."""
    base = simulate("walk-normal", seed=1, duration_s=600.0).to_recording()
    rate = base.meta.rate_hz
    n = int(hours * 3600 * rate)
    reps = -(-n // len(base.data))
    data = pd.concat([base.data.drop(columns=list(ANGLE_COLUMNS))] * reps, ignore_index=True)
    data = data.iloc[:n].copy()
    data["seq"] = np.arange(n, dtype=np.int64)
    data["t_s"] = np.arange(n) / rate
    write_recording(Recording(base.meta, data), path)
    return n / rate


# A fresh interpreter runs each measured command and reports its children's usage: a child
# forked straight from this process would inherit this process's (large) peak RSS.
_WRAP = (
    "import resource, subprocess, sys\n"
    "done = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)\n"
    "u = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
    "print(u.ru_utime + u.ru_stime, u.ru_maxrss)\n"
    "sys.stderr.write(done.stderr.decode())\n"
    "sys.exit(done.returncode)\n"
)


def child(cmd: list[str]) -> tuple[float, float]:
    """CPU seconds and peak RSS (MiB) of one command run to its end."""
    done = subprocess.run([sys.executable, "-c", _WRAP, *cmd], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{cmd[0]} failed: {done.stderr}")
    cpu, rss_kib = done.stdout.split()
    return float(cpu), float(rss_kib) / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--hours", type=float, default=1.0)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--mobgap-python", type=Path, default=Path("/tmp/mobgap-venv/bin/python"))
    args = ap.parse_args()
    hipsense = [sys.executable, "-c", "from hipsense.cli import main; main()"]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "walk.csv"
        seconds = raw_walk_csv(args.hours, path)
        mib = path.stat().st_size / 2**20
        runs: dict[str, list[tuple[float, float]]] = {"hipsense": [], "mobgap": []}
        imports: list[float] = []
        alone: dict[str, list[float]] = {name: [] for name in ALONE}
        ratios = []
        for _ in range(args.rounds):
            runs["hipsense"].append(child([*hipsense, "analyze", str(path), "--json"]))
            imports.append(child([sys.executable, "-c", IMPORTS])[0])
            for name, code in ALONE.items():
                alone[name].append(child([sys.executable, "-c", code])[0])
            if args.mobgap_python.exists():
                mob = [str(args.mobgap_python), str(HERE / "reference" / "mobgap_speed.py")]
                try:
                    runs["mobgap"].append(child([*mob, str(path)]))
                except SystemExit as exc:
                    print(f"mobgap not measured: {exc}", file=sys.stderr)
                    args.mobgap_python = Path("/nonexistent")
                    continue
                ratios.append(runs["mobgap"][-1][0] / runs["hipsense"][-1][0])
    print(f"{args.hours:g} h of raw 100 Hz walking (CSV, {mib:.0f} MiB), {args.rounds} "
          "interleaved rounds (medians)\n")  # fmt: skip
    print("| whole process | CPU s | x real time (CPU) | peak RSS MiB |\n|---|---|---|---|")
    for name, values in runs.items():
        if values:
            cpu = statistics.median(v[0] for v in values)
            rss = statistics.median(v[1] for v in values)
            print(f"| {name} | {cpu:.2f} | {seconds / cpu:.0f}x | {rss:.0f} |")
    if ratios:
        print(f"\nmobgap CPU / hipsense CPU (same round): {statistics.median(ratios):.2f}")
    floor = statistics.median(imports)
    rest = statistics.median(v[0] for v in runs["hipsense"]) - floor
    each = {name: statistics.median(v) for name, v in alone.items()}
    words = ", ".join(f"{name} {cpu:.2f}" for name, cpu in each.items())
    print(
        f"hipsense: interpreter start and the walk's imports {floor:.2f} CPU s (alone, each "
        f"with its interpreter: {words}); the rest (reading, analysis, JSON) {rest:.2f} CPU s "
        f"= {seconds / rest:.0f}x real time\nthe imports alone allow at most "
        f"{seconds / floor:.0f}x for this file"
    )


if __name__ == "__main__":
    main()

"""Held-out gait data: a participant of mobgap's lab example data, in the layout of
``../shared/benchmarks/gait/``, outside the project.

``../shared/benchmarks/gait/`` holds mobgap's healthy adults HA_001 and HA_002, on which the
contact detector was tuned. mobgap's source distribution on PyPI also carries MS_001 (a person
with multiple sclerosis, same protocol, same INDIP reference), which nothing here was tuned on.
This script downloads that sdist with pip, reads the participant with mobgap's own loader (as the
shared folder was made: ``GenericMobilisedDataset``, INDIP, walking-bout level) and writes the
same CSV files. Runs in the mobgap venv (``make heldout`` creates it); Apache 2.0 data, license
and NOTICE copied next to it.

    .venv-mobgap/bin/python benchmarks/reference/fetch_mobgap_lab.py [--out DIR] \\
        [--participant MS/001]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tarfile
import warnings
from pathlib import Path

import pandas as pd

MOBGAP_VERSION = "1.2.0"
DEFAULT_OUT = Path.home() / ".cache" / "hipsense" / "gait-heldout"
IMU_COLUMNS = ["acc_x", "acc_y", "acc_z", "gyr_x", "gyr_y", "gyr_z"]


def fetch_sdist(cache: Path) -> Path:
    """The mobgap sdist (download once with pip) unpacked under ``cache``; returns its root."""
    root = cache / f"mobgap-{MOBGAP_VERSION}"
    if (root / "example_data").is_dir():
        return root
    cache.mkdir(parents=True, exist_ok=True)
    archive = cache / f"mobgap-{MOBGAP_VERSION}.tar.gz"
    if not archive.is_file():
        print(f"downloading the mobgap {MOBGAP_VERSION} source distribution from PyPI ...")
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
             "--no-binary", ":all:", f"mobgap=={MOBGAP_VERSION}", "-d", str(cache)],
            check=True,
        )  # fmt: skip
    with tarfile.open(archive) as tar:
        keep = {"example_data", "LICENSE", "NOTICE"}
        wanted = [
            m for m in tar.getmembers() if m.name.split("/")[1:2] and m.name.split("/")[1] in keep
        ]
        tar.extractall(cache, members=wanted, filter="data")
    return root


def convert(sdist: Path, cohort: str, pid: str, out: Path) -> Path:
    """Write one participant's recordings as ``<out>/<cohort>_<pid>/<recording>_imu.csv``,
    ``_ic_ref.csv`` and ``_gs_ref.csv``."""
    from mobgap.data import GenericMobilisedDataset

    mat = sdist / "example_data" / "data" / "lab" / cohort / pid / "data.mat"
    if not mat.is_file():
        sys.exit(f"{cohort}/{pid} is not in mobgap {MOBGAP_VERSION}'s lab example data")
    dataset = GenericMobilisedDataset(
        [mat],
        test_level_names=["time_measure", "test", "trial"],
        reference_system="INDIP",
        reference_para_level="wb",
        measurement_condition="laboratory",
    )
    dst = out / f"{cohort}_{pid}"
    dst.mkdir(parents=True, exist_ok=True)
    meta: dict[str, object] = {}
    for trial in dataset:
        name = "_".join(trial.group_label)
        rate_hz = float(trial.sampling_rate_hz)
        imu = trial.data_ss.reset_index(drop=True)[IMU_COLUMNS]
        imu.insert(0, "time_s", imu.index / rate_hz)
        imu.to_csv(dst / f"{name}_imu.csv", index=False)
        ref = trial.reference_parameters_
        ic = ref.ic_list.reset_index()
        pd.DataFrame({
            "gs_id": ic["wb_id"], "step_id": ic["step_id"], "sample": ic["ic"],
            "time_s": ic["ic"] / rate_hz, "side": ic["lr_label"].str[0].str.upper(),
        }).to_csv(dst / f"{name}_ic_ref.csv", index=False)  # fmt: skip
        wb = ref.wb_list.reset_index()
        pd.DataFrame({
            "gs_id": wb["wb_id"], "start_sample": wb["start"], "end_sample": wb["end"],
            "start_s": wb["start"] / rate_hz, "end_s": wb["end"] / rate_hz,
        }).to_csv(dst / f"{name}_gs_ref.csv", index=False)  # fmt: skip
        meta = {**trial.participant_metadata, "cohort": cohort, "sampling_rate_hz": rate_hz}
        duration_s = len(imu) / rate_hz
        print(f"{dst.name} {name}: {duration_s:.1f} s, {len(wb)} sequences, {len(ic)} contacts")
    (dst / "participant.json").write_text(json.dumps(meta, indent=1, sort_keys=True) + "\n")
    return dst


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--participant", action="append", help="cohort/id (default MS/001)")
    args = parser.parse_args()
    warnings.filterwarnings("ignore", category=UserWarning, module="mobgap")  # no cohort level
    sdist = fetch_sdist(args.out / "_sdist")
    for notice in ("LICENSE", "NOTICE"):
        shutil.copy(sdist / notice, args.out / f"{notice}-mobgap.txt")
    (args.out / "README.md").write_text(
        f"Held-out walking data: mobgap {MOBGAP_VERSION} lab example data (PyPI sdist, Apache 2.0,"
        " LICENSE/NOTICE beside this file), converted by hipsense's\n"
        "benchmarks/reference/fetch_mobgap_lab.py into the layout of ../shared/benchmarks/gait/"
        " (see its README for the columns and the axis convention).\n"
    )
    for participant in args.participant or ["MS/001"]:
        cohort, pid = participant.split("/")
        convert(sdist, cohort, pid, args.out)


if __name__ == "__main__":
    main()

"""Inclination RMSE of hipsense's orientation filters and reference filters on the BROAD subset.

Runs every ``.npz`` in ``../shared/benchmarks/orientation/`` (metric and quaternion convention:
that folder's README) through: the hipsense host filter (compiled VQF with hipsense's bias
settings), the board's float64 twin, the same in float32, the
fixed-point twin of the firmware (int16-quantised input as on the board), VQF real-time and
offline, BasicVQF, imufusion and ahrs Madgwick/Mahony with their defaults. Prints a markdown
table (degrees) and each filter's speed (samples per CPU second, filters interleaved per trial)
with its ratio to the board's float twin (the host filter before issue 19); optionally writes
the table to a file.

    .venv/bin/python benchmarks/orientation_accuracy.py [--only hipsense,vqf] [--out table.md]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import numpy.typing as npt
from hipsense import paths
from hipsense.conventions import G_MPS2
from hipsense.motion import fixedpoint, orientation

Arr = npt.NDArray[np.float64]
Runner = Callable[[Arr, Arr, float], Arr]

# Full-scale ranges used to quantise the data to int16 as an IMU would deliver it
# (ICM-42688-P / MPU-6886 at +-16 g and +-2000 dps).
ACC_MPS2_PER_LSB = 16 * G_MPS2 / 32768
GYR_DPS_PER_LSB = 2000 / 32768


def up_axis(q: Arr) -> Arr:
    w, x, y, z = q.T
    return np.stack([2 * (x * z - w * y), 2 * (y * z + w * x), w * w - x * x - y * y + z * z], 1)


def inclination_rmse_deg(q_est: Arr, q_ref: Arr, mask: npt.NDArray[np.bool_]) -> float:
    a, b = up_axis(q_est[mask]), up_axis(q_ref[mask])
    a /= np.linalg.norm(a, axis=1, keepdims=True)
    b /= np.linalg.norm(b, axis=1, keepdims=True)
    e = np.arctan2(np.linalg.norm(np.cross(a, b), axis=1), np.sum(a * b, axis=1))
    return float(np.degrees(np.sqrt(np.mean(e**2))))


def run_host(acc: Arr, gyr: Arr, rate: float) -> Arr:
    return orientation.estimate_fast(acc, gyr, rate)


def run_hipsense(acc: Arr, gyr: Arr, rate: float) -> Arr:
    return orientation.estimate(acc, gyr, rate)


def run_hipsense_f32(acc: Arr, gyr: Arr, rate: float) -> Arr:
    return orientation.estimate(acc, gyr, rate, single=True)


def run_fixed(acc: Arr, gyr: Arr, rate: float) -> Arr:
    acc_raw = np.clip(np.round(acc / ACC_MPS2_PER_LSB), -32768, 32767).astype(np.int16)
    gyr_raw = np.clip(np.round(np.degrees(gyr) / GYR_DPS_PER_LSB), -32768, 32767)
    return fixedpoint.estimate_fixed(
        acc_raw, gyr_raw.astype(np.int16), rate, ACC_MPS2_PER_LSB, GYR_DPS_PER_LSB
    )


def run_vqf(acc: Arr, gyr: Arr, rate: float) -> Arr:
    from vqf import VQF

    return VQF(1.0 / rate).updateBatch(np.ascontiguousarray(gyr), np.ascontiguousarray(acc))[
        "quat6D"
    ]


def run_vqf_offline(acc: Arr, gyr: Arr, rate: float) -> Arr:
    from vqf import offlineVQF

    return offlineVQF(np.ascontiguousarray(gyr), np.ascontiguousarray(acc), None, 1.0 / rate)[
        "quat6D"
    ]


def run_basic_vqf(acc: Arr, gyr: Arr, rate: float) -> Arr:
    from vqf import BasicVQF

    return BasicVQF(1.0 / rate).updateBatch(np.ascontiguousarray(gyr), np.ascontiguousarray(acc))[
        "quat6D"
    ]


def run_imufusion(acc: Arr, gyr: Arr, rate: float) -> Arr:
    import imufusion

    ahrs = imufusion.Ahrs()  # default settings, NWU convention (z up), quaternion w first
    ahrs.set_sample_period(1.0 / rate)
    out = np.empty((acc.shape[0], 4))
    gyr_dps, acc_g = np.degrees(gyr), acc / G_MPS2
    for i in range(acc.shape[0]):
        ahrs.update_no_magnetometer(gyr_dps[i], acc_g[i])
        out[i] = ahrs.get_quaternion()
    return out


def run_madgwick(acc: Arr, gyr: Arr, rate: float) -> Arr:
    from ahrs.filters import Madgwick

    return np.asarray(Madgwick(gyr=gyr, acc=acc, frequency=rate).Q)


def run_mahony(acc: Arr, gyr: Arr, rate: float) -> Arr:
    from ahrs.filters import Mahony

    return np.asarray(Mahony(gyr=gyr, acc=acc, frequency=rate).Q)


FILTERS: dict[str, tuple[str, Runner]] = {
    "host": ("hipsense host filter (VQF compiled, bias 35 °/s)", run_host),
    "hipsense": ("hipsense float64 twin of the board", run_hipsense),
    "hipsense32": ("hipsense float32", run_hipsense_f32),
    "fixed": ("hipsense fixed point (= firmware, int16 input)", run_fixed),
    "vqf": ("VQF real-time", run_vqf),
    "vqf_offline": ("VQF offline", run_vqf_offline),
    "basic_vqf": ("BasicVQF", run_basic_vqf),
    "madgwick": ("ahrs Madgwick (default gain)", run_madgwick),
    "imufusion": ("imufusion AHRS (defaults)", run_imufusion),
    "mahony": ("ahrs Mahony (default gains)", run_mahony),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--only", default=",".join(FILTERS), help="comma-separated filter keys")
    ap.add_argument("--trials", default="", help="substring filter on trial file names")
    ap.add_argument("--out", type=Path, help="also write the markdown table here")
    ap.add_argument("--data", type=Path, default=paths.shared_dir() / "benchmarks" / "orientation")
    args = ap.parse_args()
    keys = [k for k in args.only.split(",") if k]
    files = sorted(f for f in args.data.glob("*.npz") if args.trials in f.name)
    if not files:
        raise SystemExit(f"no .npz trials in {args.data}")
    table: dict[str, list[float]] = {k: [] for k in keys}
    seconds: dict[str, float] = dict.fromkeys(keys, 0.0)
    samples = 0
    for f in files:
        z = np.load(f)
        acc, gyr = z["acc"].astype(np.float64), z["gyr"].astype(np.float64)
        q_ref, mask, rate = z["quat_ref"].astype(np.float64), z["eval_mask"], float(z["rate"])
        samples += acc.shape[0]
        for k in keys:
            t0 = time.process_time()
            q = FILTERS[k][1](acc, gyr, rate)
            seconds[k] += time.process_time() - t0
            table[k].append(inclination_rmse_deg(q, q_ref, mask))
        print(f.stem, " ".join(f"{k}={table[k][-1]:.3f}" for k in keys), flush=True)
    names = [f.stem.split("_")[0] for f in files]
    has_vqf = "vqf" in table
    lines = [
        "| filter | "
        + " | ".join(names)
        + " | mean | max |"
        + (" worst ratio to VQF real-time |" if has_vqf else ""),
        "|---" * (len(names) + 3 + has_vqf) + "|",
    ]
    for k in keys:
        v = table[k]
        cells = " | ".join(f"{x:.2f}" for x in v)
        row = f"| {FILTERS[k][0]} | {cells} | **{np.mean(v):.3f}** | {max(v):.2f} |"
        if has_vqf:
            row += f" {max(a / b for a, b in zip(v, table['vqf'], strict=True)):.2f} |"
        lines.append(row)
    text = "\n".join(lines)
    print(text)
    print("\n| filter | samples per CPU second | speed / board twin |\n|---|---|---|")
    for k in keys:
        rel = f"{seconds['hipsense'] / seconds[k]:.1f}x" if "hipsense" in seconds else "-"
        print(f"| {FILTERS[k][0]} | {samples / max(seconds[k], 1e-9):,.0f} | {rel} |")
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()

"""Simulated vs real lower-back walking: cadence, per-axis RMS and spectra, step patterns.

Real data: the mobgap lab example recordings in ``../shared/benchmarks/gait/`` (lower-back IMU,
INDIP reference initial contacts and gait sequences; see its README). Only samples inside the
reference gait sequences are used. The simulator's ``walk-normal`` scenario is recorded with the
sensor in mobgap's axes (x up, y right, z forward) and pitched forward like the real sensors.

Run: ``.venv/bin/python benchmarks/sim_realism.py [--figures docs/figures]``; prints a markdown
table (copied into docs/simulator.md) and draws the figures.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from hipsense.paths import shared_dir
from hipsense.sim.rotations import quat_from_matrix, rot_y
from hipsense.sim.scenarios import simulate
from numpy.typing import NDArray
from scipy import signal

Array = NDArray[np.float64]
RATE_HZ = 100.0
AXES = ["acc_x", "acc_y", "acc_z", "gyr_x", "gyr_y", "gyr_z"]
AXIS_LABELS = {
    "acc_x": "acc IS (up) [m/s²]",
    "acc_y": "acc ML (right) [m/s²]",
    "acc_z": "acc PA (forward) [m/s²]",
    "gyr_x": "gyr IS (yaw/rotation) [°/s]",
    "gyr_y": "gyr ML (tilt) [°/s]",
    "gyr_z": "gyr PA (obliquity) [°/s]",
}
NPERSEG = 256
# mobgap sensor axes expressed in the pelvis frame (x anterior, y left, z up):
# x_s = up, y_s = right, z_s = forward
_MOBGAP_AXES = np.array([[0.0, 0.0, 1.0], [0.0, -1.0, 0.0], [1.0, 0.0, 0.0]])


@dataclass
class Walk:
    """Samples inside gait sequences, with the contacts (sample index into ``imu``, side)."""

    label: str
    segments: list[pd.DataFrame]
    contacts: list[tuple[int, str]]
    imu: pd.DataFrame


def mobgap_mounting(pitch_deg: float) -> list[float]:
    """R_sensor→pelvis for a sensor in mobgap's axes pitched forward by ``pitch_deg``."""
    m = rot_y(np.deg2rad(np.array(pitch_deg))) @ _MOBGAP_AXES.T
    return [float(x) for x in quat_from_matrix(m)]


def load_real(root: Path) -> list[Walk]:
    walks = []
    for imu_path in sorted(root.glob("HA_*/*_imu.csv")):
        stem = imu_path.name.removesuffix("_imu.csv")
        gs = pd.read_csv(imu_path.with_name(stem + "_gs_ref.csv"))
        if gs.empty:
            continue
        imu = pd.read_csv(imu_path)
        ic = pd.read_csv(imu_path.with_name(stem + "_ic_ref.csv"))
        segments = [
            imu.iloc[int(a) : int(b)]
            for a, b in zip(gs["start_sample"], gs["end_sample"], strict=True)
        ]
        contacts = [
            (int(i), "left" if side == "L" else "right")
            for i, side in zip(ic["sample"], ic["side"], strict=True)
        ]
        walks.append(
            Walk(f"{imu_path.parent.name} {stem.split('_', 1)[1]}", segments, contacts, imu)
        )
    return walks


def simulated(seed: int, pitch_deg: float) -> Walk:
    r = simulate(
        "walk-normal",
        seed=seed,
        rate_hz=RATE_HZ,
        chip="mpu6886",
        mounting=mobgap_mounting(pitch_deg),
    )
    imu = pd.DataFrame(np.hstack([r.acc_mps2, r.gyr_dps]), columns=AXES)
    bout = r.truth["bouts"][0]
    i1 = round(bout["end_t_s"] * RATE_HZ)
    contacts = [(round(c["t_s"] * RATE_HZ), str(c["side"])) for c in r.truth["contacts"]]
    i0 = contacts[0][0]  # like the reference gait sequences: from the first contact
    return Walk(f"sim seed {seed}", [imu.iloc[i0:i1]], contacts, imu)


def cadence_spm(w: Walk) -> float:
    t = np.array([c[0] for c in w.contacts], dtype=float) / RATE_HZ
    d = np.diff(t)
    d = d[(d > 0.3) & (d < 1.0)]  # consecutive contacts of one bout
    return float(60.0 / np.median(d))


def axis_stats(w: Walk) -> dict[str, tuple[float, float]]:
    """Per axis (mean, RMS about the mean) inside the gait sequences."""
    data = pd.concat(w.segments)
    return {a: (float(data[a].to_numpy().mean()), float(data[a].to_numpy().std())) for a in AXES}


def spectra(w: Walk) -> tuple[Array, dict[str, Array]]:
    """Welch PSDs per axis averaged over the gait sequences long enough for one segment."""
    freqs = np.asarray(np.fft.rfftfreq(NPERSEG, 1.0 / RATE_HZ), dtype=np.float64)
    acc = {a: np.zeros_like(freqs) for a in AXES}
    weight = 0.0
    for seg in w.segments:
        if len(seg) < NPERSEG:
            continue
        for a in AXES:
            _, p = signal.welch(seg[a].to_numpy(), fs=RATE_HZ, nperseg=NPERSEG, detrend="constant")
            acc[a] += np.asarray(p, dtype=float) * len(seg)
        weight += len(seg)
    return freqs, {a: v / max(weight, 1.0) for a, v in acc.items()}


def step_patterns(
    w: Walk, before_s: float = 0.3, after_s: float = 0.8
) -> dict[str, dict[str, Array]]:
    """Mean IC-aligned waveform of each axis, by side of the contact."""
    i_b, i_a = int(before_s * RATE_HZ), int(after_s * RATE_HZ)
    out: dict[str, dict[str, Array]] = {}
    for side in ("left", "right"):
        rows = [
            w.imu.iloc[i - i_b : i + i_a]
            for i, s in w.contacts
            if s == side and i - i_b >= 0 and i + i_a <= len(w.imu)
        ]
        out[side] = {a: np.mean([r[a].to_numpy() for r in rows], axis=0) for a in AXES}
    return out


def step_regularity(w: Walk) -> tuple[float, float]:
    """Unbiased autocorrelation of the vertical acc at one step and one stride lag (Moe-Nilssen)."""
    d1s, d2s = [], []
    step = round(RATE_HZ * 60.0 / cadence_spm(w))
    for seg in w.segments:
        x = seg["acc_x"].to_numpy() - seg["acc_x"].mean()
        if len(x) < 3 * step:
            continue
        ac = np.correlate(x, x, "full")[len(x) - 1 :] / (len(x) - np.arange(len(x)))
        ac /= ac[0]
        win = slice(int(step * 0.7), int(step * 1.3))
        lag1 = win.start + int(np.argmax(ac[win]))
        win2 = slice(int(lag1 * 1.7), int(lag1 * 2.3))
        d1s.append(float(ac[lag1]))
        d2s.append(float(np.max(ac[win2])))
    return float(np.mean(d1s)), float(np.mean(d2s))


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument(
        "--figures", type=Path, default=Path(__file__).parent.parent / "docs" / "figures"
    )
    ap.add_argument("--seeds", type=int, default=3)
    args = ap.parse_args()
    root = shared_dir() / "benchmarks" / "gait"
    if not root.is_dir():
        raise SystemExit(f"gait benchmark data not found at {root}")
    real = load_real(root)
    pitch = float(
        np.degrees(
            np.arctan2(
                -np.mean([axis_stats(w)["acc_z"][0] for w in real]),
                np.mean([axis_stats(w)["acc_x"][0] for w in real]),
            )
        )
    )
    sims = [simulated(seed, pitch) for seed in range(args.seeds)]

    print(f"Sensor pitch of the simulated mounting (from the real mean acc): {pitch:.1f}°\n")
    header = (
        "| recording | cadence [steps/min] | "
        + " | ".join(f"{a} mean / RMS" for a in AXES)
        + " | step reg. d1 / stride reg. d2 |"
    )
    print(header)
    print("|" + "---|" * (3 + len(AXES)))
    for w in [*real, *sims]:
        st = axis_stats(w)
        d1, d2 = step_regularity(w)
        cells = " | ".join(f"{st[a][0]:.2f} / {st[a][1]:.2f}" for a in AXES)
        print(f"| {w.label} | {cadence_spm(w):.0f} | {cells} | {d1:.2f} / {d2:.2f} |")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    args.figures.mkdir(parents=True, exist_ok=True)
    fig, axs = plt.subplots(2, 3, figsize=(11, 5.5), sharex=True)
    for ax, a in zip(axs.flat, AXES, strict=True):
        for w, style in [*[(w, "-") for w in real], *[(w, "--") for w in sims[:1]]]:
            f, p = spectra(w)
            ax.semilogy(f, p[a], style, lw=1.2, label=w.label)
        ax.set_title(AXIS_LABELS[a], fontsize=9)
        ax.set_xlim(0, 10)
    axs[1, 0].set_xlabel("frequency [Hz]")
    axs[0, 0].set_ylabel("PSD [unit²/Hz]")
    axs[0, 0].legend(fontsize=7)
    fig.suptitle("Lower-back IMU while walking: real (mobgap HA, solid) vs simulated (dashed)")
    fig.tight_layout()
    fig.savefig(args.figures / "sim_realism_spectra.png", dpi=80)

    fig, axs = plt.subplots(2, 3, figsize=(11, 5.5), sharex=True)
    for ax, a in zip(axs.flat, AXES, strict=True):
        for w, color in [(real[0], "C0"), (real[-1], "C2"), (sims[0], "C3")]:
            pats = step_patterns(w)
            t = (np.arange(len(pats["left"][a])) - 30) / RATE_HZ
            ax.plot(t, pats["right"][a], color=color, lw=1.2, label=f"{w.label} right IC")
            ax.plot(t, pats["left"][a], color=color, lw=1.0, ls=":", label=f"{w.label} left IC")
        ax.axvline(0.0, color="k", lw=0.5)
        ax.set_title(AXIS_LABELS[a], fontsize=9)
    axs[1, 0].set_xlabel("time from initial contact [s]")
    axs[0, 0].legend(fontsize=6)
    fig.suptitle("Mean waveform around initial contacts (solid: right IC, dotted: left IC)")
    fig.tight_layout()
    fig.savefig(args.figures / "sim_realism_steps.png", dpi=80)
    print(f"\nfigures written to {args.figures}")


if __name__ == "__main__":
    main()

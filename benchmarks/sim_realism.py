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


def excursions_deg(w: Walk) -> dict[str, float]:
    """Half peak-to-peak of the gyro-integrated angles (high-passed 0.4 Hz) per 1.2 s window."""
    sos = signal.butter(2, 0.4, "high", fs=RATE_HZ, output="sos")
    out = {}
    for a in ("gyr_x", "gyr_y", "gyr_z"):
        vals: list[float] = []
        for seg in w.segments:
            if len(seg) < 300:
                continue
            rate = seg[a].to_numpy() - seg[a].to_numpy().mean()
            angle = signal.sosfiltfilt(sos, np.cumsum(rate) / RATE_HZ)[50:-50]
            n = int(1.2 * RATE_HZ)
            vals += [float(np.ptp(angle[i : i + n])) for i in range(0, len(angle) - n, n)]
        out[a] = float(np.median(vals)) / 2.0 if vals else float("nan")
    return out


def scenario_figure(path: Path) -> None:
    """True pelvis angles and events of three asymmetric scenarios."""
    import matplotlib.pyplot as plt

    fig, axs = plt.subplots(3, 1, figsize=(10, 7.5))
    r = simulate("walk-right-trendelenburg", seed=0, chip="ideal", duration_s=8.0)
    ax = axs[0]
    for s in r.truth["stances"]:
        if s["side"] == "right":
            ax.axvspan(s["start_t_s"], s["end_t_s"], color="C1", alpha=0.12, lw=0)
    for c in r.truth["contacts"]:
        ax.axvline(c["t_s"], color="C3" if c["side"] == "right" else "C0", lw=0.6, ls=":")
    for name, color in (("tilt_deg", "C2"), ("obliquity_deg", "k"), ("rotation_deg", "C4")):
        ax.plot(r.t_s, getattr(r, name), color=color, lw=1.0, label=name)
    ax.set_title("walk-right-trendelenburg: shaded = right stance (left side drops, obliquity < 0);"
                 " dotted = ICs (red right, blue left)", fontsize=9)  # fmt: skip
    ax.legend(fontsize=7, loc="upper right")
    r = simulate("stance-eyes-closed", seed=0, chip="ideal")
    ax = axs[1]
    for tr in r.truth["trials"]:
        ax.axvspan(tr["lift_off_t_s"], tr["end_t_s"], color="C1", alpha=0.12, lw=0)
        for td in tr["touch_downs"]:
            ax.axvspan(td["t_s"], td["lift_t_s"], color="C3", alpha=0.3, lw=0)
    ax.plot(r.t_s, r.obliquity_deg, "k", lw=0.8, label="obliquity_deg")
    ax.plot(r.t_s, r.tilt_deg, "C2", lw=0.8, label="tilt_deg")
    ax.set_title("stance-eyes-closed: right then left leg; shaded = hold, red = touch-down",
                 fontsize=9)  # fmt: skip
    ax.legend(fontsize=7, loc="upper right")
    r = simulate("bridge-single-weak-right", seed=0, chip="ideal")
    ax = axs[2]
    for rep in r.truth["reps"]:
        ax.axvspan(rep["top_t_s"], rep["hold_end_t_s"], color="C3" if rep["weak"] else "C1",
                   alpha=0.15, lw=0)  # fmt: skip
    ax.plot(r.t_s, r.obliquity_deg, "k", lw=0.8, label="obliquity_deg (sag)")
    ax.plot(r.t_s, r.rotation_deg, "C4", lw=0.8, label="rotation_deg (twist)")
    ax2 = ax.twinx()
    ax2.plot(r.t_s, r.tilt_deg, "C2", lw=0.8)
    ax2.set_ylabel("tilt_deg (green)", fontsize=8)
    ax.set_title("bridge-single-weak-right: stand, lie down, 3 left-leg then 3 right-leg bridges"
                 " (red = weak side hold)", fontsize=9)  # fmt: skip
    ax.legend(fontsize=7, loc="lower left")
    ax.set_xlabel("time [s]")
    fig.tight_layout()
    fig.savefig(path, dpi=60)


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
    print("\nGyro-integrated angle excursions (± half peak-to-peak per 1.2 s window, median):\n")
    print("| recording | rotation (gyr IS) | tilt (gyr ML) | obliquity (gyr PA) |")
    print("|---|---|---|---|")
    for w in [*real, *sims]:
        e = excursions_deg(w)
        print(f"| {w.label} | ±{e['gyr_x']:.1f}° | ±{e['gyr_y']:.1f}° | ±{e['gyr_z']:.1f}° |")

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
    fig.savefig(args.figures / "sim_realism_spectra.png", dpi=64)

    fig, axs = plt.subplots(2, 3, figsize=(11, 5.5), sharex=True)
    for ax, a in zip(axs.flat, AXES, strict=True):
        for w, color in [(real[1], "C0"), (real[-1], "C2"), (sims[0], "C3")]:
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
    fig.savefig(args.figures / "sim_realism_steps.png", dpi=64)
    scenario_figure(args.figures / "sim_scenarios.png")
    print(f"\nfigures written to {args.figures}")


if __name__ == "__main__":
    main()

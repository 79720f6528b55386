"""Pelvis kinematics on a fine internal time grid, and the small shape helpers the activities share.

Activities write angles (degrees, per the design conventions) and the pelvis-origin position
(metres, earth frame, z up) on a grid fine enough (≥ 1 kHz) that numerical derivatives are
accurate; :mod:`hipsense.sim.imu` differentiates and samples them at any output rate.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import signal

Array = NDArray[np.float64]

INTERNAL_RATE_HZ = 1000.0
"""Default grid rate of the kinematics; raised to 4× the output rate for fast outputs."""


@dataclass
class PelvisMotion:
    """True pelvis kinematics sampled at ``rate_hz`` from t = 0.

    ``rotation_deg`` is relative to the walking heading (heading drift removed, as the design
    defines it); the pelvis yaw in the earth frame is ``heading_deg + rotation_deg``.
    """

    rate_hz: float
    tilt_deg: Array
    obliquity_deg: Array
    rotation_deg: Array
    heading_deg: Array
    position_m: Array  # (N, 3) earth frame: x, y horizontal, z up

    @classmethod
    def standing(cls, duration_s: float, rate_hz: float, height_m: float = 0.95) -> PelvisMotion:
        """Upright, still, heading 0: the calibration posture, to which activities add motion."""
        n = round(duration_s * rate_hz) + 1
        pos = np.zeros((n, 3))
        pos[:, 2] = height_m
        return cls(rate_hz, np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n), pos)

    @property
    def n(self) -> int:
        return int(self.tilt_deg.shape[0])

    @property
    def t_s(self) -> Array:
        return np.arange(self.n) / self.rate_hz

    @property
    def duration_s(self) -> float:
        return (self.n - 1) / self.rate_hz


def min_jerk(x: Array) -> Array:
    """Minimum-jerk blend 0 → 1 for x in [0, 1] (zero velocity and acceleration at both ends)."""
    s = np.clip(x, 0.0, 1.0)
    return s**3 * (10.0 - 15.0 * s + 6.0 * s * s)


def keyframes(t_s: Array, times_s: Sequence[float], values: Sequence[float]) -> Array:
    """Hold-and-glide profile: minimum-jerk moves between successive (time, value) knots.

    Before the first knot the first value holds, after the last the last value holds.
    """
    tk = np.asarray(times_s, dtype=float)
    vk = np.asarray(values, dtype=float)
    if tk.size == 0:
        return np.zeros_like(t_s)
    if np.any(np.diff(tk) < 0):
        raise ValueError("keyframe times must be non-decreasing")
    out = np.full_like(t_s, vk[0])
    for i in range(tk.size - 1):
        span = tk[i + 1] - tk[i]
        if span <= 0.0:
            continue
        sel = t_s >= tk[i]
        out[sel] = vk[i] + (vk[i + 1] - vk[i]) * min_jerk((t_s[sel] - tk[i]) / span)
    return out


def band_noise(
    rng: np.random.Generator, n: int, rate_hz: float, rms: float, low_hz: float, high_hz: float
) -> Array:
    """Smooth random wander: white noise band-passed to [low_hz, high_hz], scaled to ``rms``.

    Used for postural sway; zero-phase filtering keeps it free of start-up transients.
    """
    if rms == 0.0 or n < 16:
        return np.zeros(n)
    pad = int(min(n, 4.0 * rate_hz / max(low_hz, 0.05)))
    white = rng.standard_normal(n + 2 * pad)
    nyq = 0.5 * rate_hz
    sos = signal.butter(2, [low_hz / nyq, high_hz / nyq], btype="band", output="sos")
    x = signal.sosfiltfilt(sos, white)[pad : pad + n]
    return x * (rms / max(float(np.std(x)), 1e-12))


def bursts(
    t_s: Array,
    centres_s: Sequence[float],
    amplitudes: Sequence[float],
    freq_hz: float,
    width_s: float,
) -> Array:
    """Sum of Gaussian-windowed sine bursts (quick corrective movements)."""
    out = np.zeros_like(t_s)
    for c, a in zip(centres_s, amplitudes, strict=True):
        u = t_s - c
        out += a * np.exp(-0.5 * (u / width_s) ** 2) * np.sin(2.0 * np.pi * freq_hz * u)
    return out


def quiet_standing_sway(motion: PelvisMotion, rng: np.random.Generator, scale: float = 1.0) -> None:
    """Add quiet-standing postural sway (a few mm, a few tenths of a degree) to the whole motion."""
    n, fs = motion.n, motion.rate_hz
    motion.position_m[:, 0] += band_noise(rng, n, fs, 0.002 * scale, 0.05, 0.7)
    motion.position_m[:, 1] += band_noise(rng, n, fs, 0.0012 * scale, 0.05, 0.7)
    motion.position_m[:, 2] += band_noise(rng, n, fs, 0.0002 * scale, 0.05, 0.7)
    motion.tilt_deg += band_noise(rng, n, fs, 0.2 * scale, 0.05, 0.7)
    motion.obliquity_deg += band_noise(rng, n, fs, 0.15 * scale, 0.05, 0.7)
    motion.rotation_deg += band_noise(rng, n, fs, 0.15 * scale, 0.05, 0.7)


def shaped_noise(
    rng: np.random.Generator,
    n: int,
    rate_hz: float,
    derivative_rms: float,
    order: int,
    low_hz: float,
    high_hz: float,
) -> Array:
    """A signal whose ``order``-th derivative is band-limited noise of RMS ``derivative_rms``.

    Built in the frequency domain (exact integration), so e.g. order 2 gives a displacement whose
    acceleration has a flat spectrum between ``low_hz`` and ``high_hz``.
    """
    if derivative_rms == 0.0 or n < 16:
        return np.zeros(n)
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n, 1.0 / rate_hz)
    band = (f / low_hz) ** 4 / (1.0 + (f / low_hz) ** 4) / (1.0 + (f / high_hz) ** 4)
    spec *= band
    deriv = np.fft.irfft(spec, n)
    with np.errstate(divide="ignore", invalid="ignore"):
        integ = np.where(f > 0, spec / (2j * np.pi * f) ** order, 0.0)
    x = np.fft.irfft(integ, n)
    return x * (derivative_rms / max(float(np.std(deriv)), 1e-12))

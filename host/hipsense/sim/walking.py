"""Walking: a step-by-step pelvis model with per-side drop, step time and rotation.

Each step runs from one initial contact (IC) to the next; the foot that struck at the step's start
is the stance foot. Within a step, at phase u ∈ [0, 1):

* obliquity: the swing side drops, peaking early in stance (loading response), shape
  sin(πu)(1 + 0.7 cos(πu)), amplitude ``drop_in_<stance side>_stance_deg``; during RIGHT stance
  the LEFT side drops, i.e. obliquity < 0 (DESIGN.md: obliquity > 0 = left side higher);
* rotation: peaks just after each IC (``rotation_lag_s``) with the striking side forward
  (+ at right IC, − at left IC), minimum-jerk between the peaks;
* tilt, vertical and forward speed oscillate once per step, lateral position once per stride
  (towards the stance side); a damped heel-strike transient follows every IC.

Gait initiation and termination ramp all amplitudes and the speed with a minimum-jerk envelope
over the first and last step; turns rotate the heading while walking.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
from scipy.interpolate import CubicSpline

from hipsense.sim.motion import Array, PelvisMotion, keyframes, min_jerk, shaped_noise


@dataclass(frozen=True)
class WalkParams:
    """Walking parameters; every amplitude is a mean, varied per step by ``amplitude_cv``."""

    cadence_spm: float = 112.0
    """Steps per minute (both feet)."""
    step_length_m: float = 0.68
    step_time_cv: float = 0.025
    """Step-to-step coefficient of variation of step times."""
    step_time_si_pct: float = 0.0
    """Step-time symmetry index (R − L) / (0.5 (R + L)) × 100 %; a side's step ends at its IC."""
    drop_in_right_stance_deg: float = 2.0
    """Peak drop of the LEFT (swing) side during RIGHT stance; large = weak RIGHT abductors."""
    drop_in_left_stance_deg: float = 2.0
    """Peak drop of the RIGHT (swing) side during LEFT stance; large = weak LEFT abductors."""
    rotation_right_forward_deg: float = 4.5
    """Pelvic rotation at right IC (right side forward, rotation > 0)."""
    rotation_left_forward_deg: float = 4.5
    """Pelvic rotation magnitude at left IC (left side forward, rotation < 0)."""
    rotation_lag_s: float = 0.1
    """Delay of the rotation peak after its IC (the real lower-back data peak ~0.1 s late)."""
    tilt_range_deg: float = 3.0
    """Peak-to-peak tilt oscillation per step."""
    tilt_mean_deg: float = 1.0
    """Extra anterior tilt while walking, relative to standing."""
    double_support_frac: float = 0.10
    """Each double-support period as a fraction of the stride (two per stride)."""
    vertical_m: float = 0.015
    """Half peak-to-peak vertical excursion of the pelvis per step."""
    lateral_m: float = 0.035
    """Lateral excursion towards the stance side."""
    lateral_push_mps2: float = 1.2
    """Peak of the damped lateral push after each IC (towards the other side)."""
    speed_fluct_mps: float = 0.10
    """Amplitude of the forward-speed oscillation per step (fast at IC, slow at mid-stance)."""
    heel_strike_mps2: float = 2.5
    """Peak of the damped vertical impact transient after each IC."""
    heel_strike_hz: float = 16.0
    amplitude_cv: float = 0.08
    """Step-to-step coefficient of variation of the amplitudes."""
    wobble_acc_mps2: float = 0.5
    """RMS of broadband (2–15 Hz) acceleration per axis: trunk and soft-tissue motion."""
    wobble_gyr_dps: float = 5.0
    """RMS of broadband (2–12 Hz) angular rate per axis."""

    def truth(self) -> dict[str, float]:
        return {k: float(v) for k, v in asdict(self).items()}


@dataclass(frozen=True)
class Bout:
    """One walking bout: starts from standing at ``start_s`` and stops after ``n_steps`` ICs."""

    start_s: float
    n_steps: int
    first_side: str = "right"
    """Side of the first initial contact (the first swing leg)."""


@dataclass(frozen=True)
class Turn:
    """A change of heading (> 0 to the left) over ``duration_s``, starting at ``start_s``."""

    start_s: float
    angle_deg: float
    duration_s: float = 2.0


@dataclass
class WalkTruth:
    contacts: list[dict[str, object]] = field(default_factory=list)
    stances: list[dict[str, object]] = field(default_factory=list)
    bouts: list[dict[str, float]] = field(default_factory=list)


_OTHER = {"left": "right", "right": "left"}


_DROP_PEAK_U = 0.3918  # phase of the peak of _drop_shape


def _drop_shape(u: Array) -> Array:
    """Swing-side drop within a stance step: 0 with zero slope at both ICs, peak 1 at u ≈ 0.39.

    Zero slope at the ICs keeps the angular rate continuous even when the two sides drop by
    different amounts.
    """
    g = 0.5 * (1.0 - np.cos(2.0 * np.pi * u)) * (1.0 + np.cos(np.pi * u))
    return g * (27.0 / 32.0)  # max of ½(1 − cos 2πu)(1 + cos πu) is 32/27


def bout_duration_s(params: WalkParams, n_steps: int) -> float:
    """Nominal duration of a bout of ``n_steps`` ICs (initiation step included)."""
    return (n_steps + 1) * 60.0 / params.cadence_spm


def steps_for_duration(params: WalkParams, duration_s: float) -> int:
    return max(4, int(duration_s * params.cadence_spm / 60.0) - 1)


def _step_times(
    params: WalkParams, bout: Bout, rng: np.random.Generator
) -> tuple[Array, list[str]]:
    t_step = 60.0 / params.cadence_spm
    si = params.step_time_si_pct / 200.0
    mean_by_side = {"right": t_step * (1.0 + si), "left": t_step * (1.0 - si)}
    sides = [
        bout.first_side if k % 2 == 0 else _OTHER[bout.first_side] for k in range(bout.n_steps)
    ]
    durations = np.array([mean_by_side[s] for s in sides])
    durations *= 1.0 + params.step_time_cv * rng.standard_normal(bout.n_steps)
    durations[0] *= 1.1  # the initiation step is a little slower
    ics = bout.start_s + np.cumsum(durations)
    return np.concatenate([[bout.start_s], ics]), sides


def add_walking(
    motion: PelvisMotion,
    params: WalkParams,
    bouts: Sequence[Bout],
    turns: Sequence[Turn],
    rng: np.random.Generator,
) -> WalkTruth:
    """Add walking bouts and turns to ``motion`` (in place) and return the ground truth."""
    t = motion.t_s
    fs = motion.rate_hz
    truth = WalkTruth()
    forward_speed = np.zeros(motion.n)
    lateral = np.zeros(motion.n)
    for bout in bouts:
        if bout.n_steps < 3:
            raise ValueError("a walking bout needs at least 3 steps")
        b, sides = _step_times(params, bout, rng)
        if b[-1] > motion.duration_s:
            raise ValueError("walking bout runs past the end of the scenario")
        n = bout.n_steps
        env = min_jerk((t - b[0]) / (b[2] - b[0])) * (
            1.0 - min_jerk((t - b[n - 1]) / (b[n] - b[n - 1]))
        )
        env[t >= b[n]] = 0.0
        active = (t >= b[0]) & (t < b[n])
        # smooth (C²) step phase through the ICs: rates stay continuous across steps
        phase = np.clip(CubicSpline(b, np.arange(n + 1.0))(np.where(active, t, b[0])), 0, n - 1e-9)
        if np.any(np.diff(phase[active]) <= 0.0):
            raise ValueError("step times too irregular for a monotonic step phase")
        k = phase.astype(int)
        u = np.where(active, phase - k, 0.0)
        stance_sides = [_OTHER[sides[i]] for i in range(n)]  # stance foot of step i (b_i → b_i+1)

        def per_step(mean: float, n: int = n) -> Array:
            return mean * (1.0 + params.amplitude_cv * rng.standard_normal(n))

        def smooth_amp(values: Array, b: Array = b, active: Array = active) -> Array:
            mids = 0.5 * (b[:-1] + b[1:])
            return np.where(active, CubicSpline(mids, values, bc_type="natural")(t), 0.0)

        # obliquity: swing side drops during each stance
        drop = np.array(
            [
                params.drop_in_right_stance_deg if s == "right" else params.drop_in_left_stance_deg
                for s in stance_sides
            ]
        ) * (1.0 + params.amplitude_cv * rng.standard_normal(n))
        sign = np.array([-1.0 if s == "right" else 1.0 for s in stance_sides])
        motion.obliquity_deg += np.where(active, env * sign[k] * drop[k] * _drop_shape(u), 0.0)

        # rotation: the striking side forward at each IC
        rot_knots = [0.0] + [
            (
                params.rotation_right_forward_deg
                if s == "right"
                else -params.rotation_left_forward_deg
            )
            * (1.0 + params.amplitude_cv * float(rng.standard_normal()))
            for s in sides
        ]
        rot_knots[-1] = 0.0  # feet together at the end
        motion.rotation_deg += env * keyframes(t, list(b + params.rotation_lag_s), rot_knots)

        # once-per-step oscillations (continuous: amplitudes interpolated between steps)
        tilt_amp = smooth_amp(per_step(0.5 * params.tilt_range_deg))
        motion.tilt_deg += env * (params.tilt_mean_deg - tilt_amp * np.cos(2 * np.pi * (u - 0.1)))
        vert_amp = smooth_amp(per_step(params.vertical_m))
        motion.position_m[:, 2] += env * -vert_amp * np.cos(2 * np.pi * (u - 0.08))
        speed = params.step_length_m * params.cadence_spm / 60.0
        fluct = smooth_amp(per_step(params.speed_fluct_mps))
        forward_speed += env * (speed + fluct * np.cos(2 * np.pi * u))
        lat_sign = np.array([-1.0 if s == "right" else 1.0 for s in stance_sides])
        lat_amp = smooth_amp(per_step(params.lateral_m))
        lateral += np.where(active, env * lat_sign[k] * lat_amp * np.sin(np.pi * u), 0.0)

        # heel-strike transients: displacement B e^(-τ/τd) (1 - cos 2πfτ) has acceleration
        # B (2πf)² at contact, decaying within ~2 cycles
        omega = 2 * np.pi * params.heel_strike_hz
        for i in range(1, n + 1):
            tau = t - b[i]
            sel = (tau >= 0.0) & (tau < 0.25)
            a_ic = params.heel_strike_mps2 * float(np.interp(b[i] - 1e-3, t, env))
            bump = (a_ic / omega**2) * np.exp(-tau[sel] / 0.03) * (1.0 - np.cos(omega * tau[sel]))
            motion.position_m[sel, 2] += bump
            forward_speed[sel] -= 0.3 * np.gradient(bump, 1.0 / fs)

        # lateral push: the striking foot stops the sideways travel towards it
        for i in range(1, n + 1):
            tau = t - b[i]
            sel = (tau >= 0.0) & (tau < 0.4)
            push = params.lateral_push_mps2 * float(np.interp(b[i] - 1e-3, t, env))
            direction = 1.0 if sides[i - 1] == "right" else -1.0  # right IC pushes to the left
            w = 2 * np.pi * 6.0
            lateral[sel] += (
                direction * (push / w**2) * np.exp(-tau[sel] / 0.06) * (1.0 - np.cos(w * tau[sel]))
            )

        # broadband trunk and soft-tissue wobble
        for axis in range(3):
            motion.position_m[:, axis] += env * shaped_noise(
                rng, motion.n, fs, params.wobble_acc_mps2, 2, 2.0, 15.0
            )
        for angle in (motion.tilt_deg, motion.obliquity_deg, motion.rotation_deg):
            angle += env * shaped_noise(rng, motion.n, fs, params.wobble_gyr_dps, 1, 2.0, 12.0)

        # ground truth
        ds = params.double_support_frac * 2.0 * 60.0 / params.cadence_spm
        for i in range(1, n + 1):
            side = sides[i - 1]
            truth.contacts.append({"t_s": round(float(b[i]), 4), "side": side})
            end = b[i + 1] + ds if i + 1 < n else b[n]
            stance: dict[str, object] = {
                "side": side, "start_t_s": round(float(b[i]), 4), "end_t_s": round(float(end), 4)
            }  # fmt: skip
            if i < n:  # the swing side's peak drop in this step, before the wobble
                t_peak = b[i] + _DROP_PEAK_U * (b[i + 1] - b[i])
                stance["swing_drop_deg"] = round(float(drop[i] * np.interp(t_peak, t, env)), 3)
            truth.stances.append(stance)
        truth.bouts.append(
            {"start_t_s": round(float(b[0]), 4), "end_t_s": round(float(b[n]), 4), "n_steps": n}
        )

    heading = np.zeros(motion.n)
    for turn in turns:
        heading += turn.angle_deg * min_jerk((t - turn.start_s) / turn.duration_s)
    motion.heading_deg += heading
    psi = np.deg2rad(motion.heading_deg)
    step = forward_speed / fs
    motion.position_m[:, 0] += np.cumsum(step * np.cos(psi)) - lateral * np.sin(psi)
    motion.position_m[:, 1] += np.cumsum(step * np.sin(psi)) + lateral * np.cos(psi)
    return truth

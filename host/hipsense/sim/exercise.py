"""Simulated corrective exercises with ground truth: every rep's rep amplitude and fault peaks.

A person (:class:`Person`: amplitude, tempo, sway, sensor tilt on the belt) stands still (the
calibration posture), moves into the exercise's start posture, keeps still (the baseline), does a
set, and for the next side stands up and moves into the mirrored posture. Each rep is a
minimum-jerk move out and back on the spec's rep channel; each fault is a bump on its channel in
time with the rep, of a chosen peak (in the fault's counted direction); "rocking" is a quick
sine burst about the pelvis's long axis scaled to a chosen peak rate.

The pelvis orientation is R_pelvis→earth = R_posture · R_exercise, R_exercise = Rz(rotation) ·
Rx(obliquity) · Ry(tilt) in pelvis axes: the design's Cardan sequence relative to the posture, so
side-lying and four-point postures (obliquity or tilt of 90° in earth-referred angles, a gimbal
lock for :mod:`hipsense.sim.imu`) are free of singularities. The IMU signals are synthesised from
that rotation series with the same formulas as :mod:`hipsense.sim.imu` (specific force with the
lever arm, body rate), then pass the same chip path (anti-alias filter, errors, quantisation:
:mod:`hipsense.sim.chips`). The movement amplitudes are the documented assumptions of each spec
(:mod:`hipsense.conventions.exercises`, docs/exercises.md): simulated, not measured on people.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from scipy import signal
from scipy.spatial.transform import Rotation

from hipsense.conventions.exercises import (
    SPECS,
    ExerciseSpec,
    channel_sign,
    get_spec,
)
from hipsense.sim.chips import CHIPS, G_MPS2, apply_errors, draw_errors, get_chip, quantise
from hipsense.sim.errors import SimError
from hipsense.sim.motion import Array, band_noise, keyframes

GRID_HZ = 1000.0
BACK_LEVER_ARM_M = (-0.12, 0.0, 0.03)
FRONT_LEVER_ARM_M = (0.12, 0.0, 0.03)
ROCK_HZ = 3.0

REP_AMPLITUDE_DEG: dict[str, tuple[float, float]] = {
    "clamshell": (2.0, 4.0),
    "side-lying-leg-raise": (2.5, 5.0),
    "lateral-walk": (2.5, 5.0),
    "single-leg-rdl": (40.0, 70.0),
    "step-up": (8.0, 15.0),
    "bird-dog": (2.0, 4.0),
    "dead-bug": (2.0, 4.0),
    "hip-flexor-stretch": (6.0, 10.0),
    "butt-squeeze": (5.0, 8.0),
}
"""Good-form rep amplitude on the rep channel (assumed ranges, docs/exercises.md)."""

# posture rotations R_pelvis->earth for the RIGHT side, and the pelvis height change (m)
_POSTURES: dict[tuple[float, float, float], tuple[Rotation, float]] = {
    (0.0, 0.0, 1.0): (Rotation.identity(), 0.0),
    (0.0, -1.0, 0.0): (Rotation.from_euler("x", -90.0, degrees=True), -0.75),
    (1.0, 0.0, 0.0): (Rotation.from_euler("y", -90.0, degrees=True), -0.83),
    (-1.0, 0.0, 0.0): (Rotation.from_euler("y", 90.0, degrees=True), -0.40),
}


@dataclass(frozen=True)
class Person:
    """One simulated person (the population varies these)."""

    amplitude_scale: float = 1.0
    """× the middle of the exercise's good-form rep range."""
    rep_s: float = 2.0
    """Out-and-back time of one rep."""
    pause_s: float = 1.0
    sway_scale: float = 1.0
    sensor_tilt_deg: float = 0.0
    """The sensor sits tilted on the belt by this much (the mounting calibration knows it)."""
    sensor_tilt_axis_deg: float = 0.0
    """Direction of that tilt's axis in the horizontal plane."""


def draw_person(rng: np.random.Generator) -> Person:
    return Person(
        amplitude_scale=float(rng.uniform(0.0, 1.0)),
        rep_s=float(rng.uniform(1.6, 3.0)),
        pause_s=float(rng.uniform(0.6, 1.5)),
        sway_scale=float(rng.uniform(0.5, 1.5)),
        sensor_tilt_deg=float(rng.uniform(0.0, 15.0)),
        sensor_tilt_axis_deg=float(rng.uniform(0.0, 360.0)),
    )


@dataclass(frozen=True)
class SetPlan:
    """One set: its side and, per rep, each fault's peak (fault key -> value in the fault's
    unit and counted direction; faults not named get a small good-form value)."""

    side: str
    reps: list[dict[str, float]] = field(default_factory=list)
    hold_s: float = 20.0


def good_form_plan(spec: ExerciseSpec, side: str, reps: int, hold_s: float = 20.0) -> SetPlan:
    n = 1 if spec.mode == "hold" else reps
    return SetPlan(side, [{} for _ in range(n)], hold_s)


def _bump(t: Array, start: float, up_s: float, hold_s: float, down_s: float) -> Array:
    """0 → 1 → 0 with minimum-jerk moves (the shape of a rep)."""
    return keyframes(
        t,
        [start, start + up_s, start + up_s + hold_s, start + up_s + hold_s + down_s],
        [0.0, 1.0, 1.0, 0.0],
    )


def _rates(rot: Rotation, dt: float) -> Array:
    """Body angular rate (rad/s, body axes) of a rotation series by central differences."""
    n = len(rot)
    w = np.zeros((n, 3))
    w[1:-1] = (rot[:-2].inv() * rot[2:]).as_rotvec() / (2.0 * dt)
    w[0], w[-1] = w[1], w[-2]
    return w


def simulate_exercise(
    name: str,
    plans: list[SetPlan],
    person: Person | None = None,
    seed: int = 0,
    rate_hz: float = 100.0,
    chip: str = "mpu6886",
    scenario: str | None = None,
) -> Any:
    """Simulate sets of exercise ``name``; returns a :class:`hipsense.sim.scenarios.SimResult`
    whose ``truth`` holds every rep's times, rep amplitude and fault peaks."""
    from hipsense.sim.scenarios import CONVENTIONS, SimResult

    spec = get_spec(name)
    person = person or Person()
    if chip != "ideal":
        get_chip(chip)
    rng_motion, rng_chip = np.random.default_rng(seed).spawn(2)
    lo, hi = REP_AMPLITUDE_DEG[name]
    rep_amp = lo + (hi - lo) * person.amplitude_scale
    up_s = 0.5 * person.rep_s
    # ---- timeline
    t = 3.0  # standing still: calibration
    segments: list[tuple[str, float, float]] = []  # (kind, start, end) of posture moves
    rep_windows: list[tuple[int, float, float, float, float]] = []  # set, start, up, hold, down
    set_times: list[tuple[float, float]] = []
    for k, plan in enumerate(plans):
        segments.append((f"into:{k}", t, t + 3.0))
        t += 3.0 + 3.0  # move into the posture, keep still (baseline)
        t0 = t
        for _ in plan.reps:
            hold = plan.hold_s if spec.mode == "hold" else 0.3
            up = 2.0 if spec.mode == "hold" else up_s
            rep_windows.append((k, t, up, hold, up))
            t += 2 * up + hold + person.pause_s
        set_times.append((t0, t))
        segments.append((f"out:{k}", t, t + 3.0))
        t += 3.0 + 2.0
    total = t
    n = round(total * GRID_HZ) + 1
    tt = np.arange(n) / GRID_HZ
    ch = {c: np.zeros(n) for c in ("tilt", "obliquity", "rotation")}
    for c in ch:
        ch[c] += band_noise(rng_motion, n, GRID_HZ, 0.15 * person.sway_scale, 0.05, 0.7)
    # ---- reps and faults (channel values relative to the posture, counted for the side)
    truth_sets: list[dict[str, Any]] = []
    rep_truth: list[dict[str, Any]] = []
    for (k, start, up, hold, down), faults in zip(
        rep_windows, [r for p in plans for r in p.reps], strict=True
    ):
        side = plans[k].side if spec.sided else "both"
        shape = _bump(tt, start, up, hold, down)
        targets: dict[str, float] = {}
        # the rep itself
        rep_dir = channel_sign(spec.channel, spec.sign, side)
        ch[spec.channel] += rep_dir * rep_amp * shape
        for f in spec.faults:
            fs = channel_sign(f.channel, f.sign, side)
            value = faults.get(f.key)
            if value is None:
                value = float(rng_motion.uniform(0.0, 0.3 * f.threshold))
            targets[f.key] = value
            if f.channel.startswith("rate_"):
                centre = start + up + 0.5 * hold
                burst = np.exp(-0.5 * ((tt - centre) / 0.15) ** 2) * np.sin(
                    2 * np.pi * ROCK_HZ * (tt - centre)
                )
                peak_rate = float(np.max(np.abs(np.gradient(burst, 1.0 / GRID_HZ))))
                axis = {"rate_x": "obliquity", "rate_y": "tilt", "rate_z": "rotation"}[f.channel]
                ch[axis] += np.radians(value) / np.radians(peak_rate) * burst
                continue
            direction = fs if fs != 0.0 else float(rng_motion.choice([-1.0, 1.0]))
            if f.channel == spec.channel and direction == rep_dir:
                # the fault is more of the rep's own motion: its peak replaces the rep's
                ch[f.channel] += direction * max(value - rep_amp, 0.0) * shape
            else:
                ch[f.channel] += direction * value * shape
        rep_truth.append(
            {"set": k, "side": side, "start_t_s": round(start, 4),
             "end_t_s": round(start + up + hold + down, 4), "target": targets}
        )  # fmt: skip
    # ---- posture: R = R_move(t) · R_exercise(t)
    r_ex = Rotation.from_euler(
        "ZXY", np.radians(np.column_stack([ch["rotation"], ch["obliquity"], ch["tilt"]]))
    )
    rotvec = np.zeros((n, 3))
    height = np.zeros(n)
    pos = np.zeros((n, 3))
    for k, plan in enumerate(plans):
        (_, a_in, b_in), (_, a_out, b_out) = segments[2 * k], segments[2 * k + 1]
        post, drop = _posture(spec, plan.side if spec.sided else "both")
        s = keyframes(tt, [a_in, b_in, a_out, b_out], [0.0, 1.0, 1.0, 0.0])
        rotvec += s[:, None] * post.as_rotvec()
        height += s * drop
    pos[:, 2] = 0.95 + height
    if spec.name == "step-up":
        for _k, start, up, hold, down in rep_windows:
            pos[:, 2] += 0.18 * _bump(tt, start, up, hold, down)
    if spec.name == "lateral-walk":
        for k, start, up, hold, down in rep_windows:
            side = plans[k].side
            pos[:, 1] += (-0.3 if side == "right" else 0.3) * keyframes(
                tt, [start, start + up + hold + down], [0.0, 1.0]
            )
    rot = Rotation.from_rotvec(rotvec) * r_ex
    dt = 1.0 / GRID_HZ
    omega = _rates(rot, dt)
    alpha = np.gradient(omega, dt, axis=0)
    acc_earth = np.gradient(np.gradient(pos, dt, axis=0), dt, axis=0)
    lever = np.asarray(FRONT_LEVER_ARM_M if spec.placement == "front" else BACK_LEVER_ARM_M)
    f_p = rot.inv().apply(acc_earth - np.array([0.0, 0.0, -G_MPS2]))
    f_p += np.cross(alpha, lever) + np.cross(omega, np.cross(omega, lever))
    # ---- sensor mounting: tilted on the belt (calibrated), turned to the front for floor work
    tilt_axis = np.radians(person.sensor_tilt_axis_deg)
    m_back = Rotation.from_rotvec(
        np.radians(person.sensor_tilt_deg) * np.array([np.cos(tilt_axis), np.sin(tilt_axis), 0])
    )
    m_true = Rotation.from_euler("z", 180.0, degrees=True) * m_back if (
        spec.placement == "front") else m_back  # fmt: skip
    f_s = m_true.inv().apply(f_p)
    w_s = np.degrees(m_true.inv().apply(omega))
    if chip != "ideal":
        sos = signal.butter(2, 0.4 * rate_hz, fs=GRID_HZ, output="sos")
        zi = signal.sosfilt_zi(sos)
        f_s = np.stack([signal.sosfilt(sos, f_s[:, i], zi=zi * f_s[0, i])[0] for i in range(3)], 1)
        w_s = np.stack([signal.sosfilt(sos, w_s[:, i], zi=zi * w_s[0, i])[0] for i in range(3)], 1)
    t_out = np.arange(int(np.floor(total * rate_hz)) + 1) / rate_hz
    idx = np.clip(np.round(t_out * GRID_HZ).astype(int), 0, n - 1)
    acc, gyr = f_s[idx], w_s[idx]
    if chip == "ideal":
        acc_c, gyr_c, acc_q, gyr_q, errors_truth = acc, gyr, acc, gyr, {}
    else:
        model = CHIPS[chip]
        errors = draw_errors(model, rng_chip)
        acc_c, gyr_c = apply_errors(model, errors, acc, gyr, rate_hz, rng_chip)
        acc_lsb, gyr_lsb = model.lsb(8, 1000)
        acc_q, gyr_q = quantise(acc_c, acc_lsb), quantise(gyr_c, gyr_lsb)
        errors_truth = errors.truth()
    # ---- truth per rep, from the exercise channels and the true body rate (output grid)
    rates_dps = np.degrees(omega)
    values = {
        **{c: ch[c] for c in ch},
        "rate_x": rates_dps[:, 0], "rate_y": rates_dps[:, 1], "rate_z": rates_dps[:, 2],
    }  # fmt: skip
    for rep in rep_truth:
        side = rep["side"]
        win = (tt >= rep["start_t_s"] - 0.2) & (tt <= rep["end_t_s"] + 0.2)
        tw = tt[win]
        rep["rep_deg"] = round(
            float(np.max(channel_sign(spec.channel, spec.sign, side) * values[spec.channel][win])),
            3,
        )
        rep["faults"], rep["fault_cross_t_s"] = {}, {}
        for f in spec.faults:
            s = channel_sign(f.channel, f.sign, side)
            v = values[f.channel][win]
            v = np.abs(v) if s == 0.0 else s * v
            rep["faults"][f.key] = round(float(np.max(v)), 3)
            above = np.flatnonzero(v > f.threshold)
            rep["fault_cross_t_s"][f.key] = round(float(tw[above[0]]), 4) if above.size else None
    for k, plan in enumerate(plans):
        truth_sets.append({
            "side": plan.side if spec.sided else "both",
            "start_t_s": round(set_times[k][0], 4), "end_t_s": round(set_times[k][1], 4),
            "reps": [r for r in rep_truth if r["set"] == k],
        })  # fmt: skip
    rot_out = Rotation.from_matrix(rot.as_matrix()[idx])
    euler = rot_out.as_euler("ZXY", degrees=True)
    quat = (rot_out * m_true).as_quat()
    side_meta = plans[0].side if spec.sided and len({p.side for p in plans}) == 1 else "both"
    truth: dict[str, Any] = {
        "scenario": scenario or f"exercise-{name}",
        "exercise": name,
        "seed": seed,
        "rate_hz": rate_hz,
        "chip": chip,
        "person": asdict(person),
        "rep_amplitude_deg": round(rep_amp, 3),
        "mounting_wxyz": _wxyz(m_back),
        "mounting_true_wxyz": _wxyz(m_true),
        "placement": spec.placement,
        "sets": truth_sets,
        "conventions": CONVENTIONS,
        "chip_errors": errors_truth,
        "params": {"sides": [p.side for p in plans], "reps": len(plans[0].reps),
                   "hold_s": plans[0].hold_s},
    }  # fmt: skip
    return SimResult(
        name=truth["scenario"], seed=seed, rate_hz=rate_hz, chip=chip,
        mounting_wxyz=_wxyz(m_back), lever_arm_m=[float(x) for x in lever], truth=truth,
        test=f"exercise:{name}", side=side_meta, condition=None, t_s=t_out,
        acc_mps2=acc_q, gyr_dps=gyr_q, acc_continuous_mps2=acc_c, gyr_continuous_dps=gyr_c,
        acc_true_mps2=acc, gyr_true_dps=gyr,
        tilt_deg=euler[:, 2], obliquity_deg=euler[:, 1], rotation_deg=euler[:, 0],
        heading_deg=np.zeros(t_out.shape[0]),
        quat_wxyz=np.column_stack([quat[:, 3], quat[:, :3]]),
    )  # fmt: skip


def _wxyz(r: Rotation) -> list[float]:
    x, y, z, w = r.as_quat()
    return [float(w), float(x), float(y), float(z)]


def _posture(spec: ExerciseSpec, side: str) -> tuple[Rotation, float]:
    rot, drop = _POSTURES[spec.up_pelvis]
    if side == "left" and spec.up_pelvis[1] != 0.0:  # mirrored side-lying
        rot = Rotation.from_euler("x", 90.0, degrees=True)
    return rot, drop


# ------------------------------------------------------------------- named scenarios


def scenario_names() -> dict[str, str]:
    """``exercise-<name>`` (good form, right then left) and ``exercise-<name>-<fault>-right``
    (that fault 4 above its threshold on every right rep)."""
    out: dict[str, str] = {}
    for name, spec in SPECS.items():
        out[f"exercise-{name}"] = f"{spec.title}: good form, a set on each side."
        for f in spec.faults:
            out[f"exercise-{name}-{f.key}-right"] = (
                f"{spec.title}: {f.label} ({f.threshold + 4:g}{f.unit}) on every right-side rep, "
                "left side good."
            )
    return out


def simulate_named(scenario: str, seed: int = 0, rate_hz: float = 100.0,
                   chip: str = "mpu6886", reps: int = 5) -> Any:  # fmt: skip
    """One of :func:`scenario_names` (the virtual board's and ``hipsense sim``'s entry)."""
    if scenario not in scenario_names():
        raise SimError(f"unknown exercise scenario {scenario!r}")
    rest = scenario.removeprefix("exercise-")
    name = next(n for n in sorted(SPECS, key=len, reverse=True) if rest.startswith(n))
    spec = SPECS[name]
    fault_key = rest[len(name) + 1 :].removesuffix("-right") if rest != name else ""
    fault = next((f for f in spec.faults if f.key == fault_key), None)
    sides = ["right", "left"] if spec.sided else ["both"]
    plans = []
    for side in sides:
        plan = good_form_plan(spec, side, reps)
        if fault is not None and side == "right":
            plan = SetPlan(side, [{fault.key: fault.threshold + 4.0} for _ in plan.reps],
                           plan.hold_s)  # fmt: skip
        plans.append(plan)
    return simulate_exercise(name, plans, Person(amplitude_scale=0.5), seed, rate_hz, chip,
                             scenario)  # fmt: skip

"""Named, seeded scenarios with ground truth: the library tests and demos run on.

``simulate(name, seed=0, ...)`` builds the scenario's pelvis kinematics, synthesises the IMU
signals for a chip, mounting and lever arm, and returns a :class:`SimResult` whose ``truth`` dict
holds the events (contacts, stances, lift-offs, touch-downs, reps), the parameters and the
conventions used. Parameters can be overridden by keyword (``drop_in_right_stance_deg=8``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from hipsense import __version__
from hipsense.sim import bridge, exercise, posture, stance, walking
from hipsense.sim.chips import CHIPS, ChipErrors, apply_errors, draw_errors, get_chip, quantise
from hipsense.sim.errors import SimError
from hipsense.sim.imu import synthesize
from hipsense.sim.motion import INTERNAL_RATE_HZ, Array, PelvisMotion, quiet_standing_sway

if TYPE_CHECKING:
    from hipsense.recording import Recording

DEFAULT_LEVER_ARM_M = (-0.12, 0.0, 0.03)
"""Belt clip over the sacrum: 12 cm behind and 3 cm above the pelvis origin (pelvis frame)."""
CONVENTIONS = {
    "pelvis_frame": "x anterior, y left, z up",
    "orientation": "R_pelvis->earth = Rz(heading + rotation) Rx(obliquity) Ry(tilt)",
    "tilt_deg": "> 0 anterior tilt (front of the pelvis down)",
    "obliquity_deg": "> 0 left side higher (right side dropped)",
    "rotation_deg": "> 0 pelvis turned left (right side forward), relative to the walking heading",
    "heading_deg": "walking direction, > 0 to the left (turns)",
    "mounting_wxyz": "R_sensor->pelvis, w-first",
    "trendelenburg": "walk-right-trendelenburg = weak RIGHT abductors: the LEFT side drops more "
    "during RIGHT stance (obliquity more negative)",
    "angles": "the angle columns are the TRUE pelvis angles, not estimates",
}


@dataclass(frozen=True)
class Built:
    motion: PelvisMotion
    truth: dict[str, Any]
    test: str
    side: str | None = None
    condition: str | None = None


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    params_type: type
    defaults: Mapping[str, Any]
    build: Callable[[Any, float | None, float, np.random.Generator], Built]


@dataclass
class SimResult:
    """A simulated recording: IMU signals (sensor frame) with the true angles and ground truth.

    ``acc_mps2``/``gyr_dps`` are what the chip reports (errors, clipping, quantisation);
    ``acc_continuous_mps2``/``gyr_continuous_dps`` carry the same errors before clipping and
    quantisation (the virtual board's sample source); ``acc_true_mps2``/``gyr_true_dps`` are
    error-free.
    """

    name: str
    seed: int
    rate_hz: float
    chip: str
    mounting_wxyz: list[float]
    lever_arm_m: list[float]
    truth: dict[str, Any]
    test: str
    side: str | None
    condition: str | None
    t_s: Array
    acc_mps2: Array
    gyr_dps: Array
    acc_continuous_mps2: Array
    gyr_continuous_dps: Array
    acc_true_mps2: Array
    gyr_true_dps: Array
    tilt_deg: Array
    obliquity_deg: Array
    rotation_deg: Array
    heading_deg: Array
    quat_wxyz: Array = field(repr=False)

    def to_recording(self) -> Recording:
        """A :class:`hipsense.recording.Recording` with the truth in ``meta.extra``."""
        import pandas as pd

        from hipsense.recording import Recording, RecordingMeta

        n = self.t_s.shape[0]
        data = pd.DataFrame(
            {
                "t_s": self.t_s,
                "seq": np.arange(n, dtype=np.int64),
                "acc_x_mps2": self.acc_mps2[:, 0],
                "acc_y_mps2": self.acc_mps2[:, 1],
                "acc_z_mps2": self.acc_mps2[:, 2],
                "gyr_x_dps": self.gyr_dps[:, 0],
                "gyr_y_dps": self.gyr_dps[:, 1],
                "gyr_z_dps": self.gyr_dps[:, 2],
                "tilt_deg": self.tilt_deg,
                "obliquity_deg": self.obliquity_deg,
                "rotation_deg": self.rotation_deg,
                "marker": np.zeros(n, dtype=np.int64),
            }
        )
        meta = RecordingMeta(
            device_name="virtual",
            device_id="sim",
            firmware_version="sim",
            protocol_version=1,
            imu_chip=self.chip,
            rate_hz=self.rate_hz,
            mounting=list(self.mounting_wxyz),
            test=self.test,
            side=self.side,
            condition=self.condition,
            start_time="2026-01-01T00:00:00Z",
            software_version=__version__,
            extra={"simulated": True, "ground_truth": self.truth},
        )
        return Recording(meta=meta, data=data)


EXERCISE_SCENARIOS = exercise.scenario_names()

# ---------------------------------------------------------------------------------- builders


def _internal_motion(duration_s: float, rate_hz: float) -> PelvisMotion:
    return PelvisMotion.standing(duration_s, max(INTERNAL_RATE_HZ, 4.0 * rate_hz))


def _build_still(
    p: Any, duration_s: float | None, rate_hz: float, rng: np.random.Generator
) -> Built:
    dur = duration_s or 30.0
    m = _internal_motion(dur, rate_hz)
    quiet_standing_sway(m, rng)
    return Built(m, {"still_intervals": [[0.0, dur]]}, "still")


@dataclass(frozen=True)
class SitStandParams:
    stand_s: float = 5.0
    sit_s: float = 6.0
    cycles: int = 2

    def truth(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _build_sit_stand(
    p: SitStandParams, duration_s: float | None, rate_hz: float, rng: np.random.Generator
) -> Built:
    sit_s = duration_s or p.sit_s
    c = posture.Choreography()
    t = 0.0
    transitions: list[dict[str, Any]] = []
    still: list[list[float]] = []
    for _ in range(p.cycles):
        still.append([round(t, 4), round(t + p.stand_s, 4)])
        t0 = t + p.stand_s
        t = posture.sit_down(c, t0)
        transitions.append({"kind": "sit_down", "start_t_s": round(t0, 4), "end_t_s": round(t, 4)})
        t0 = t + sit_s
        t = posture.stand_up(c, t0)
        transitions.append({"kind": "stand_up", "start_t_s": round(t0, 4), "end_t_s": round(t, 4)})
    still.append([round(t, 4), round(t + p.stand_s, 4)])
    m = _internal_motion(t + p.stand_s, rate_hz)
    c.apply(m)
    quiet_standing_sway(m, rng)
    return Built(m, {"transitions": transitions, "still_intervals": still}, "sit_stand")


def _walk_builder(turns: bool) -> Callable[..., Built]:
    def build(
        p: walking.WalkParams, duration_s: float | None, rate_hz: float, rng: np.random.Generator
    ) -> Built:
        stand = 3.0
        if not turns:
            n_steps = walking.steps_for_duration(p, duration_s or 20.0)
            bouts = [walking.Bout(stand, n_steps, "right")]
            turn_list: list[walking.Turn] = []
        else:
            n_steps = walking.steps_for_duration(p, (duration_s or 30.0) / 2.0)
            t2 = stand + walking.bout_duration_s(p, n_steps) * 1.15 + stand
            bouts = [walking.Bout(stand, n_steps, "right"), walking.Bout(t2, n_steps, "left")]
            half = 0.5 * walking.bout_duration_s(p, n_steps)
            turn_list = [
                walking.Turn(stand + half - 1.0, 90.0, 2.0),
                walking.Turn(t2 + half - 1.5, -180.0, 3.0),
            ]
        end = bouts[-1].start_s + walking.bout_duration_s(p, bouts[-1].n_steps) * 1.15 + stand
        m = _internal_motion(end, rate_hz)
        quiet_standing_sway(m, rng)
        wt = walking.add_walking(m, p, bouts, turn_list, rng)
        truth = {
            "contacts": wt.contacts,
            "stances": wt.stances,
            "bouts": wt.bouts,
            "turns": [dataclasses.asdict(t) for t in turn_list],
        }
        return Built(m, truth, "walk")

    return build


@dataclass(frozen=True)
class StanceScenario(stance.StanceParams):
    sides: tuple[str, ...] = ("right", "left")
    """Stance legs, one trial each, in order."""

    def truth(self) -> dict[str, Any]:
        d = super().truth()
        d["sides"] = list(self.sides)
        return d


def _build_stance(
    p: StanceScenario, duration_s: float | None, rate_hz: float, rng: np.random.Generator
) -> Built:
    if duration_s is not None:
        p = dataclasses.replace(p, hold_s=duration_s)
    per_trial = stance.trial_duration_s(p)
    m = _internal_motion(per_trial * len(p.sides) + 1.0, rate_hz)
    quiet_standing_sway(m, rng)
    c = posture.Choreography()
    trials = []
    for i, side in enumerate(p.sides):
        trials.append(stance.add_stance_trial(m, c, i * per_trial, side, p, rng))
    c.apply(m)
    side = p.sides[0] if len(p.sides) == 1 else "both"
    return Built(m, {"trials": trials}, "balance", side, p.condition)


@dataclass(frozen=True)
class BridgeScenario(bridge.BridgeParams):
    sequence: tuple[str, ...] = ("both",)
    """Supporting side of each block of ``reps`` reps: 'both' (double-leg), 'left', 'right'."""
    plan: tuple[str, ...] = ()
    """Supporting side of every rep in order, when the person does not follow ``sequence``
    (reps out of order, an extra or a missing rep, a set abandoned); empty: the protocol."""

    def truth(self) -> dict[str, Any]:
        d = super().truth()
        d["sequence"] = list(self.sequence)
        d["plan"] = list(self.plan)
        return d

    def rep_plan(self) -> list[str]:
        return list(self.plan) or [s for s in self.sequence for _ in range(self.reps)]


def _build_bridge(
    p: BridgeScenario, duration_s: float | None, rate_hz: float, rng: np.random.Generator
) -> Built:
    if duration_s is not None:
        p = dataclasses.replace(p, hold_s=duration_s)
    c = posture.Choreography()
    t_sit = posture.sit_down(c, 3.0)
    t_supine = posture.lie_back(c, t_sit + 1.0)
    # lying still before the first rep: 6 s, so that a stream that starts a little late (a
    # virtual board at --speed 8 runs 6 s in 0.75 s) still sees the 1.5 s supine rest
    t = t_supine + 6.0
    reps = []
    plan = p.rep_plan()
    total = t + len(plan) * bridge.rep_duration_s(p) + 1.0
    m = _internal_motion(total, rate_hz)
    quiet_standing_sway(m, rng, scale=0.5)
    for support in plan:
        reps.append(bridge.add_bridge_rep(m, c, t, support, p, rng))
        t += bridge.rep_duration_s(p)
    c.apply(m)
    truth = {"still_intervals": [[0.0, 3.0]], "supine_t_s": round(t_supine, 4), "reps": reps}
    sides = set(p.sequence)
    side = "both" if sides == {"both"} or len(sides) > 1 else next(iter(sides))
    return Built(m, truth, "bridge", side)


def _scenario(
    name: str, description: str, params_type: type, build: Callable[..., Built], **defaults: Any
) -> Scenario:
    return Scenario(name, description, params_type, defaults, build)


@dataclass(frozen=True)
class StillParams:
    def truth(self) -> dict[str, Any]:
        return {}


_walk = _walk_builder(turns=False)
_REGISTRY: dict[str, Scenario] = {
    s.name: s
    for s in (
        _scenario(
            "still",
            "Standing still (calibration, negative case); duration_s = total.",
            StillParams,
            _build_still,
        ),
        _scenario(
            "sit-stand",
            "Stand, sit down, sit, stand up, twice; duration_s = sitting time.",
            SitStandParams,
            _build_sit_stand,
        ),
        _scenario(
            "walk-normal",
            "Straight level walking, symmetric; duration_s = walking time.",
            walking.WalkParams,
            _walk,
        ),
        _scenario(
            "walk-right-trendelenburg",
            "Weak RIGHT abductors: the left side drops 9° during right stance (2° on the "
            "other side).",
            walking.WalkParams,
            _walk,
            drop_in_right_stance_deg=9.0,
        ),
        _scenario(
            "walk-left-trendelenburg",
            "Weak LEFT abductors: the right side drops 9° during left stance.",
            walking.WalkParams,
            _walk,
            drop_in_left_stance_deg=9.0,
        ),
        _scenario(
            "walk-left-step-time",
            "Left steps 12 % longer than right (step-time SI −12 %).",
            walking.WalkParams,
            _walk,
            step_time_si_pct=-12.0,
        ),
        _scenario(
            "walk-right-rotation",
            "Rotation asymmetry: 8° right side forward at right IC, 3° the other way.",
            walking.WalkParams,
            _walk,
            rotation_right_forward_deg=8.0,
            rotation_left_forward_deg=3.0,
        ),
        _scenario(
            "walk-turns",
            "Two bouts with starts and stops, a 90° left turn and a 180° right turn; "
            "duration_s = total walking time.",
            walking.WalkParams,
            _walk_builder(turns=True),
        ),
        _scenario(
            "stance-eyes-open",
            "Single-leg stance, right then left leg, eyes open, 20 s holds; "
            "duration_s = hold time.",
            StanceScenario,
            _build_stance,
        ),
        _scenario(
            "stance-eyes-closed",
            "Single-leg stance, right then left leg, eyes closed, 15 s holds, one brief "
            "touch-down each.",
            StanceScenario,
            _build_stance,
            condition="eyes_closed",
            hold_s=15.0,
            touch_downs_after_lift_s=(8.0,),
        ),
        _scenario(
            "stance-left-trendelenburg",
            "Weak LEFT abductors: standing on the left leg the free right side drops 6°.",
            StanceScenario,
            _build_stance,
            drop_in_left_stance_deg=6.0,
        ),
        _scenario(
            "stance-right-trendelenburg",
            "Weak RIGHT abductors: standing on the right leg the free left side drops 6°.",
            StanceScenario,
            _build_stance,
            drop_in_right_stance_deg=6.0,
        ),
        _scenario(
            "bridge-double",
            "Stand (calibration), lie down, 3 double-leg bridges with 5 s holds; "
            "duration_s = hold time.",
            BridgeScenario,
            _build_bridge,
        ),
        _scenario(
            "bridge-symmetric",
            "Single-leg bridges, 3 on the left leg then 3 on the right, both sides strong.",
            BridgeScenario,
            _build_bridge,
            sequence=("left", "right"),
        ),
        _scenario(
            "bridge-single-weak-right",
            "Single-leg bridges left then right; on the weak right leg the pelvis lifts "
            "less, the free left side sags 7° and twists.",
            BridgeScenario,
            _build_bridge,
            sequence=("left", "right"),
            weak_side="right",
        ),
        _scenario(
            "bridge-single-weak-left",
            "Single-leg bridges left then right; the left leg is weak.",
            BridgeScenario,
            _build_bridge,
            sequence=("left", "right"),
            weak_side="left",
        ),
    )
}

SCENARIOS: dict[str, str] = {
    **{name: s.description for name, s in _REGISTRY.items()},
    **exercise.scenario_names(),
}
"""Scenario name → one-line description (the exercises' scenarios: :mod:`hipsense.sim.exercise`)."""


def scenario_params(name: str, **overrides: Any) -> Any:
    """The parameter object of a scenario with its defaults and ``overrides`` applied."""
    if name in EXERCISE_SCENARIOS and not overrides:
        return StillParams()  # fixed person and sets: no parameters to set
    sc = _get(name)
    fields = {f.name for f in dataclasses.fields(sc.params_type)}
    unknown = sorted(set(overrides) - fields)
    if unknown:
        raise SimError(
            f"scenario {name!r} has no parameter {', '.join(unknown)}; "
            f"its parameters are: {', '.join(sorted(fields)) or '(none)'}"
        )
    tuple_fields = {
        f.name for f in dataclasses.fields(sc.params_type) if isinstance(f.default, tuple)
    }
    coerced = {k: _as_tuple(v) if k in tuple_fields else v for k, v in overrides.items()}
    return sc.params_type(**{**sc.defaults, **coerced})


def _as_tuple(value: Any) -> tuple[Any, ...]:
    """Tuple parameters from the CLI: ``"left,right"`` → ("left", "right"), 8.0 → (8.0,)."""
    if isinstance(value, str):
        return tuple(v.strip() for v in value.split(",") if v.strip())
    if isinstance(value, (int, float)):
        return (value,)
    return tuple(value)


def _get(name: str) -> Scenario:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise SimError(
            f"unknown scenario {name!r}; `hipsense sim list` shows the {len(SCENARIOS)} scenarios"
        ) from None


def simulate(
    name: str,
    seed: int = 0,
    rate_hz: float = 100.0,
    chip: str = "mpu6886",
    mounting: Sequence[float] | None = None,
    duration_s: float | None = None,
    lever_arm_m: Sequence[float] = DEFAULT_LEVER_ARM_M,
    acc_range_g: int = 8,
    gyr_range_dps: int = 1000,
    **params: Any,
) -> SimResult:
    """Simulate a named scenario. ``chip='ideal'`` gives error-free, unquantised signals.

    ``mounting`` is R_sensor→pelvis as a w-first quaternion (None: aligned with the pelvis);
    ``duration_s`` sets the length of the scenario's main activity (see its description);
    ``params`` override the scenario's parameters.
    """
    if name in EXERCISE_SCENARIOS:
        turned = mounting is not None and not np.allclose(mounting, (1.0, 0.0, 0.0, 0.0))
        if params or turned or duration_s is not None:
            raise SimError(
                f"{name} takes no parameters, mounting or duration (its person and sets are "
                "fixed; hipsense.sim.exercise.simulate_exercise takes any)"
            )
        return exercise.simulate_named(name, seed, rate_hz, chip)
    sc = _get(name)
    p = scenario_params(name, **params)
    if chip != "ideal":
        get_chip(chip)
    if duration_s is not None and not duration_s > 0:
        raise SimError(f"duration must be positive, got {duration_s} s")
    rng = np.random.default_rng(seed)
    rng_motion, rng_chip = rng.spawn(2)
    try:
        built = sc.build(p, duration_s, rate_hz, rng_motion)
    except ValueError as exc:
        raise SimError(f"scenario {name!r}: {exc}") from exc
    mount = [1.0, 0.0, 0.0, 0.0] if mounting is None else [float(x) for x in mounting]
    if chip == "ideal":
        ideal = synthesize(built.motion, rate_hz, mount, lever_arm_m)
        acc_c, gyr_c, acc_q, gyr_q = ideal.acc_mps2, ideal.gyr_dps, ideal.acc_mps2, ideal.gyr_dps
        errors_truth: dict[str, Any] = {}
    else:
        model = CHIPS[chip]
        ideal = synthesize(built.motion, rate_hz, mount, lever_arm_m, bandwidth_hz=0.4 * rate_hz)
        errors: ChipErrors = draw_errors(model, rng_chip)
        acc_c, gyr_c = apply_errors(model, errors, ideal.acc_mps2, ideal.gyr_dps, rate_hz, rng_chip)
        acc_lsb, gyr_lsb = model.lsb(acc_range_g, gyr_range_dps)
        acc_q, gyr_q = quantise(acc_c, acc_lsb), quantise(gyr_c, gyr_lsb)
        errors_truth = {
            **errors.truth(),
            "acc_range_g": acc_range_g,
            "gyr_range_dps": gyr_range_dps,
            "acc_noise_ug_rthz": model.acc_noise_ug_rthz,
            "gyr_noise_mdps_rthz": model.gyr_noise_mdps_rthz,
            "bandwidth_hz": 0.4 * rate_hz,
        }
    truth: dict[str, Any] = {
        "scenario": name,
        "description": sc.description,
        "seed": seed,
        "rate_hz": rate_hz,
        "chip": chip,
        "mounting_wxyz": mount,
        "lever_arm_m": [float(x) for x in lever_arm_m],
        "params": p.truth(),
        "conventions": CONVENTIONS,
        "chip_errors": errors_truth,
        **built.truth,
    }
    return SimResult(
        name=name,
        seed=seed,
        rate_hz=rate_hz,
        chip=chip,
        mounting_wxyz=mount,
        lever_arm_m=[float(x) for x in lever_arm_m],
        truth=truth,
        test=built.test,
        side=built.side,
        condition=built.condition,
        t_s=ideal.t_s,
        acc_mps2=acc_q,
        gyr_dps=gyr_q,
        acc_continuous_mps2=acc_c,
        gyr_continuous_dps=gyr_c,
        acc_true_mps2=ideal.acc_mps2,
        gyr_true_dps=ideal.gyr_dps,
        tilt_deg=ideal.tilt_deg,
        obliquity_deg=ideal.obliquity_deg,
        rotation_deg=ideal.rotation_deg,
        heading_deg=ideal.heading_deg,
        quat_wxyz=ideal.quat_wxyz,
    )

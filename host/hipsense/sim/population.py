"""Seeded populations of simulated people for the single-leg stance and bridge tests.

One scenario is one kind of person; a population is many: ``stance_people(n, seed)`` and
``bridge_people(n, seed)`` draw ``n`` people (ranges, sources and assumptions in
docs/simulator.md, "Populations"), each with a sensor placement and the protocol they were
asked to follow, which they may not follow. :func:`simulate_person` turns one into a
:class:`~hipsense.sim.scenarios.SimResult` and a recording whose metadata holds the protocol
asked for (``protocol``) while the ground truth holds what the person did.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from hipsense.sim.rotations import quat_from_matrix, rot_x, rot_y, rot_z
from hipsense.sim.scenarios import DEFAULT_LEVER_ARM_M, SimResult, simulate

if TYPE_CHECKING:
    from hipsense.recording import Recording

SWAY_SCALE_RANGE = (0.3, 3.0)
"""Hold sway multiplier, log-uniform: 0.3 gives a pelvis angular rate of ≈ 1.3 °/s RMS during
the hold (a very steady young adult), 3 about 11 °/s (an unsteady older adult)."""


@dataclass(frozen=True)
class Placement:
    """Where the sensor sits: ``back`` or ``front`` of the belt, tilted about the pelvis's
    left axis by ``tilt_deg`` and turned in the belt's plane by ``roll_deg``."""

    where: str
    tilt_deg: float
    roll_deg: float

    def mounting_wxyz(self) -> list[float]:
        """R_sensor→pelvis: the sensor's axes start aligned with the pelvis's (on the back),
        turn 180° about up for the front, then tilt and roll in the belt's plane."""
        yaw = np.pi if self.where == "front" else 0.0
        r = (
            rot_z(np.array(yaw))
            @ rot_y(np.radians(np.array(self.tilt_deg)))
            @ rot_x(np.radians(np.array(self.roll_deg)))
        )
        return [float(v) for v in quat_from_matrix(r)]

    def lever_arm_m(self) -> tuple[float, float, float]:
        x, y, z = DEFAULT_LEVER_ARM_M
        return (-x if self.where == "front" else x, y, z)

    @property
    def stratum(self) -> str:
        tilted = "tilted" if abs(self.tilt_deg) > 10.0 else "level"
        return f"{self.where}, {tilted}"


@dataclass(frozen=True)
class Person:
    """One simulated person: scenario parameters, placement, protocol asked for, strata."""

    test: str
    seed: int
    scenario: str
    params: dict[str, Any]
    placement: Placement
    protocol: dict[str, Any]
    chip: str = "mpu6886"
    strata: dict[str, Any] = field(default_factory=dict)


def _placement(rng: np.random.Generator) -> Placement:
    where = "front" if rng.random() < 0.3 else "back"
    tilt = float(rng.uniform(-25.0, 25.0)) if rng.random() < 0.4 else float(rng.normal(0, 3))
    return Placement(where, tilt, float(rng.uniform(-180.0, 180.0)))


def stance_people(n: int, seed: int = 0) -> list[Person]:
    """``n`` single-leg stance people (two trials each), seeded."""
    rng = np.random.default_rng([seed, 15, 1])
    people = []
    for k in range(n):
        age = float(rng.uniform(20.0, 85.0))
        # unsteadiness grows with age, with a wide spread at every age (u in [0, 1])
        u = float(np.clip(0.6 * (age - 20.0) / 65.0 + 0.4 * rng.random(), 0.0, 1.0))
        lo, hi = SWAY_SCALE_RANGE
        sway = lo * (hi / lo) ** u
        closed = rng.random() < 0.35
        hold = float(np.clip(30.0 - 24.0 * u + rng.normal(0.0, 3.0), 4.0, 30.0))
        n_td = int(rng.poisson(1.5 * u * hold / 20.0)) if hold > 6.0 else 0
        after = sorted(float(x) for x in rng.uniform(1.5, hold - 2.0, n_td))
        after = [a for i, a in enumerate(after) if i == 0 or a - after[i - 1] > 2.5]
        kinds = [str(rng.choice(["toe_tap", "toe_tap", "step", "wall"])) for _ in after]
        symmetric = rng.random() < 0.6
        base_drop = float(rng.uniform(-1.0, 3.0))
        weak_extra = 0.0 if symmetric else float(rng.uniform(2.0, 8.0))
        weak = "" if symmetric else str(rng.choice(["left", "right"]))
        sides = ("right", "left") if rng.random() < 0.5 else ("left", "right")
        asked = sides
        if rng.random() < 0.05:  # stood on the other leg than asked in one trial
            swap = int(rng.integers(0, 2))
            other = "left" if sides[swap] == "right" else "right"
            sides = tuple(other if i == swap else s for i, s in enumerate(sides))
        params: dict[str, Any] = {
            "condition": "eyes_closed" if closed else "eyes_open",
            "sides": sides,
            "hold_s": round(hold, 2),
            "baseline_s": float(rng.uniform(2.5, 5.0)),
            "sway_scale": sway / (2.0 if closed else 1.0),
            "hip_corrections_per_min": 1.0 + 5.0 * u,
            "weight_shift_m": float(rng.uniform(0.03, 0.10)),
            "shift_s": float(rng.uniform(0.4, 1.5)),
            "lift_s": float(rng.uniform(0.2, 0.8)),
            "lift_tilt_deg": float(rng.uniform(0.0, 4.0)),
            "arm_moves_per_min": float(rng.uniform(0.0, 6.0 * u)),
            "drop_in_right_stance_deg": base_drop + (weak_extra if weak == "right" else 0.0),
            "drop_in_left_stance_deg": base_drop + (weak_extra if weak == "left" else 0.0),
            "touch_downs_after_lift_s": tuple(after),
            "touch_down_kinds": tuple(kinds),
            "touch_down_s": float(rng.uniform(0.4, 1.5)),
            "end_kind": str(rng.choice(["step"] * 8 + ["hop", "wall"])),
        }
        people.append(
            Person(
                "balance", k, "stance-eyes-closed" if closed else "stance-eyes-open", params,
                _placement(rng), {"sides": list(asked), "duration_s": 30.0},
                chip="mpu6050" if rng.random() < 0.25 else "mpu6886",
                strata={"age": round(age), "sway_scale": sway, "weak_side": weak,
                        "followed_protocol": sides == asked},
            )
        )  # fmt: skip
    return people


BRIDGE_SEQUENCES = (("left", "right"), ("right", "left"), ("both", "left", "right"), ("both",))


def bridge_people(n: int, seed: int = 0) -> list[Person]:
    """``n`` bridge people (a protocol of sets; some deviate from it), seeded."""
    rng = np.random.default_rng([seed, 15, 2])
    people = []
    for k in range(n):
        sequence = BRIDGE_SEQUENCES[int(rng.integers(0, len(BRIDGE_SEQUENCES)))]
        reps = int(rng.integers(2, 6))
        plan = [s for s in sequence for _ in range(reps)]
        deviation = "none"
        if rng.random() < 0.3:
            deviation = str(rng.choice(["out of order", "extra rep", "missing rep", "abandoned"]))
            sets = [[s] * reps for s in sequence]
            if deviation == "out of order" and len(sets) > 1:
                sets = sets[::-1]
            elif deviation == "extra rep":
                sets[int(rng.integers(0, len(sets)))].append(sets[0][0])
            elif deviation == "missing rep" and reps > 1:
                sets[int(rng.integers(0, len(sets)))].pop()
            elif deviation == "abandoned" and reps > 1:
                sets[-1] = sets[-1][:1]
            else:
                deviation = "none"
            plan = [s for st in sets for s in st]
        lift_deg = float(rng.uniform(10.0, 40.0))
        symmetric = rng.random() < 0.5
        sag = float(rng.uniform(0.0, 4.0))
        weak = "" if symmetric else str(rng.choice(["left", "right"]))
        params: dict[str, Any] = {
            "sequence": sequence,
            "reps": reps,
            "plan": tuple(plan),
            "bridge_tilt_deg": lift_deg,
            "lift_m": 0.16 * lift_deg / 22.0,
            "hold_s": float(rng.uniform(1.0, 10.0)),
            "lift_s": float(rng.uniform(0.8, 3.0)),
            "lower_s": float(rng.uniform(0.8, 3.0)),
            "rest_s": float(rng.uniform(1.5, 4.0)),
            "weak_side": weak,
            "sag_deg": sag,
            "weak_sag_deg": sag + float(rng.uniform(0.0, 6.0)),
            "weak_lift_frac": float(rng.uniform(0.8, 1.0)),
            "twist_deg": float(rng.uniform(0.0, 3.0)),
            "weak_twist_deg": float(rng.uniform(0.0, 5.0)),
            "hold_shake_deg": float(rng.uniform(0.2, 0.8)),
        }
        people.append(
            Person(
                "bridge", k, "bridge-symmetric", params, _placement(rng),
                {"sets": list(sequence), "reps": reps},
                chip="mpu6050" if rng.random() < 0.25 else "mpu6886",
                strata={"deviation": deviation, "weak_side": weak},
            )
        )  # fmt: skip
    return people


def simulate_person(person: Person) -> tuple[SimResult, Recording]:
    """The person's simulation and its recording (protocol asked for in ``meta.extra``)."""
    result = simulate(
        person.scenario,
        seed=person.seed,
        chip=person.chip,
        mounting=person.placement.mounting_wxyz(),
        lever_arm_m=person.placement.lever_arm_m(),
        **person.params,
    )
    rec = result.to_recording()
    rec.meta.extra["protocol"] = dict(person.protocol)
    if person.test == "balance":
        sides = person.protocol["sides"]
        rec.meta.side = sides[0] if len(sides) == 1 else "both"
    return result, rec

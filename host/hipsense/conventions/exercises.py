"""One data-driven spec per corrective exercise: placement, posture, rep (or hold) signal, faults.

Angles are the pelvis's rotation since the baseline (the still start posture), in anatomical
pelvis axes (x anterior, y left, z head-ward; docs/architecture.md) as the Cardan sequence of the
design (rotation–obliquity–tilt): ``tilt`` about y (> 0 anterior, front down), ``obliquity``
about x (> 0 left side up), ``rotation`` about z (> 0 turned left, right side forward). In a
side-lying or four-point posture the z axis is horizontal, so "rotation" is the pelvis rolling
about its long axis. ``rate_<axis>`` is the angular rate about that pelvis axis (°/s).

Every spec is written for the RIGHT side (the working leg: the top leg when side-lying, the
stance leg of the RDL, the leading leg, the kneeling knee); the left side mirrors it (obliquity,
rotation and the y axis change sign). No threshold here is standardised: each states its
assumption (docs/exercises.md). The positional faults use 10°, the failure rule of single-leg
bridge endurance testing ("more than 10° hip deviation", shared/CLINICAL.md); the rocking speed
uses 30 °/s, an assumption (three times the angular rate of a slow 2 s, 10° roll).
"""

from __future__ import annotations

from dataclasses import dataclass


class UnknownExercise(ValueError):
    """No spec for the exercise asked for (conventions import nothing from hipsense)."""


CHANNELS = ("tilt", "obliquity", "rotation", "rate_x", "rate_y", "rate_z")
MIRRORED = frozenset({"obliquity", "rotation", "rate_x", "rate_z"})
"""Channels whose sign flips between the right and the left side (mirror in the sagittal plane)."""

BRIDGE_RULE = (
    "assumption: the > 10° hip-deviation failure rule of single-leg bridge endurance testing "
    "as practised; no threshold for this exercise is standardised"
)
ROCK_RULE = (
    "assumption: 30 °/s, three times the peak rate of a slow, controlled 10° roll over 2 s; "
    "no threshold for rocking is standardised"
)


@dataclass(frozen=True)
class Fault:
    """A pelvic fault an instruction names, measured as a peak over each rep (or hold).

    sign: +1 / -1 counts only that direction (for the right side; mirrored for the left when
    the channel is mirrored), 0 counts both directions.
    """

    key: str
    label: str
    channel: str
    sign: int
    threshold: float
    cue: str
    source: str
    unit: str = "°"


@dataclass(frozen=True)
class ExerciseSpec:
    name: str
    title: str
    instructions: str
    """The instructions as the clinical material words them (shared/CLINICAL.md)."""
    placement: str
    """'back' (back of the belt) or 'front' (front of the belt: floor work on the back)."""
    posture: str
    up_pelvis: tuple[float, float, float]
    """The up direction in pelvis axes in the start posture, for the RIGHT side."""
    setup: str
    """What to do to get into the start posture (the message when the posture is wrong)."""
    mode: str
    """'reps' or 'hold'."""
    channel: str
    """The pelvis angle that carries the rep (or the hold)."""
    sign: int
    """Direction of the rep on ``channel`` for the right side."""
    on_deg: float
    """A rep (hold) starts when the signal passes this."""
    off_deg: float
    """... and ends when it falls back below this."""
    rep_basis: str
    """Why the rep shows in the pelvis (documented assumption)."""
    faults: tuple[Fault, ...]
    sided: bool = True
    min_hold_s: float = 0.0
    default_reps: int = 10
    default_hold_s: float = 30.0


def _f(key: str, label: str, channel: str, sign: int, cue: str, threshold: float = 10.0,
       source: str = BRIDGE_RULE, unit: str = "°") -> Fault:  # fmt: skip
    return Fault(key, label, channel, sign, threshold, cue, source, unit)


SIDE_LYING = (0.0, -1.0, 0.0)  # lying on the LEFT side (working right leg on top): left side down
STANDING = (0.0, 0.0, 1.0)
SUPINE = (1.0, 0.0, 0.0)  # front of the pelvis up
FOUR_POINT = (-1.0, 0.0, 0.0)  # on all fours: front of the pelvis down

SPECS: dict[str, ExerciseSpec] = {
    s.name: s
    for s in (
        ExerciseSpec(
            "clamshell", "Clamshell",
            "side-lying, knees bent 90°, feet stacked; \"keep hips stacked\", lift the top knee "
            "from the glute, \"not the lower back or torso rotation\"",
            "back", "lying on the side, the working leg on top", SIDE_LYING,
            "lie on your side, the working leg on top, knees bent 90°, and keep still",
            "reps", "rotation", -1, 1.5, 0.75,
            "the knee's lift pulls the top hip back a little even with good form "
            "(simulated 2-4°); the pelvis's roll about its long axis carries the rep",
            (
                _f("roll_back", "top hip rolls back", "rotation", -1,
                   "keep your hips stacked: the top hip is rolling back"),
                _f("hike", "top hip hikes (lower back)", "obliquity", -1,
                   "lift from the glute, not the lower back"),
            ),
        ),
        ExerciseSpec(
            "side-lying-leg-raise", "Side-lying leg raise",
            "legs straight and stacked; \"maintaining a stable torso; avoid rocking or letting "
            "the hip roll forward/backward\"",
            "back", "lying on the side, the working leg on top", SIDE_LYING,
            "lie on your side, legs straight and stacked, the working leg on top, and keep still",
            "reps", "obliquity", -1, 1.5, 0.75,
            "raising the leg hikes the top hip a little (simulated 2.5-5°)",
            (
                _f("roll", "hip rolls forward/back", "rotation", 0,
                   "keep the top hip still: it is rolling"),
                _f("rocking", "rocking", "rate_z", 0, "slower: the pelvis is rocking",
                   30.0, ROCK_RULE, "°/s"),
            ),
        ),
        ExerciseSpec(
            "lateral-walk", "Banded lateral walk",
            "slight knee and hip bend; \"keeping the toes pointing forward, avoiding hip "
            "rotation, and staying low\"; 10-20 steps each direction",
            "back", "standing, knees and hips slightly bent", STANDING,
            "stand with the band on, knees and hips slightly bent, and keep still",
            "reps", "obliquity", -1, 1.5, 0.75,
            "each step lifts the leading leg, which hikes its side of the pelvis (simulated "
            "2.5-5°); one rep = one step towards the side",
            (
                _f("rotation", "hip rotation", "rotation", 0,
                   "toes and hips forward: the pelvis is turning"),
                _f("rise", "rising out of the crouch", "tilt", -1, "stay low"),
            ),
        ),
        ExerciseSpec(
            "single-leg-rdl", "Single-leg Romanian deadlift",
            "hinge on one leg; \"keep hips level\"",
            "back", "standing on the working leg", STANDING,
            "stand tall on the working leg and keep still",
            "reps", "tilt", 1, 15.0, 7.5,
            "the hinge tilts the pelvis forward (simulated 40-70°)",
            (
                _f("not_level", "hips not level", "obliquity", 0, "keep your hips level"),
                _f("opens", "hip opens (rotation)", "rotation", 0,
                   "square the hips to the floor: the free hip is opening"),
            ),
        ),
        ExerciseSpec(
            "step-up", "Step-up",
            "drive through the heel, control the descent with the same leg",
            "back", "standing in front of the step", STANDING,
            "stand in front of the step and keep still",
            "reps", "tilt", 1, 5.0, 2.5,
            "stepping up leans the pelvis forward (simulated 8-15°) while it rises",
            (
                _f("drop", "hip drops", "obliquity", 0, "keep the hips level as you rise"),
                _f("rotation", "pelvis rotates", "rotation", 0, "hips facing the step"),
            ),
        ),
        ExerciseSpec(
            "bird-dog", "Bird-dog",
            "on all fours, opposite arm and leg; \"keeping your back flat and hips level\"; "
            "anti-rotation, \"avoid rocking the hips or arching the back\"",
            "back", "on all fours", FOUR_POINT,
            "get on all fours, back flat, and keep still",
            "reps", "tilt", 1, 1.5, 0.75,
            "extending the leg pulls the pelvis into a little anterior tilt (simulated 2-4°)",
            (
                _f("not_level", "hips not level (rotation)", "rotation", 0,
                   "keep your hips level"),
                _f("arch", "back arches", "tilt", 1, "keep your back flat"),
                _f("rocking", "rocking", "rate_z", 0, "slower: the hips are rocking",
                   30.0, ROCK_RULE, "°/s"),
            ),
        ),
        ExerciseSpec(
            "dead-bug", "Dead bug",
            "supine, hips and knees at 90°; lower back stays pressed to the floor (no anterior "
            "tilt) while the opposite arm and leg extend",
            "front", "lying on the back, hips and knees at 90°", SUPINE,
            "lie on your back, hips and knees at 90°, the sensor at the FRONT of the belt, and "
            "keep still",
            "reps", "tilt", 1, 1.5, 0.75,
            "the extending leg pulls the pelvis into a little anterior tilt (simulated 2-4°)",
            (
                _f("arch", "lower back lifts (anterior tilt)", "tilt", 1,
                   "press your lower back to the floor"),
                _f("not_level", "hips not level", "rotation", 0, "keep your hips level"),
            ),
        ),
        ExerciseSpec(
            "hip-flexor-stretch", "Kneeling hip-flexor stretch",
            "\"tuck your tailbone\" (posterior pelvic tilt), squeeze the glute, avoid arching "
            "the back; 30-60 s per side",
            "back", "half-kneeling on the stretched side's knee", STANDING,
            "kneel on the stretched side's knee, the other foot in front, upright, and keep still",
            "hold", "tilt", -1, 5.0, 3.0,
            "the tuck is a posterior pelvic tilt: the hold lasts while it is kept at 5° or more "
            "(released below 3°)",
            (
                _f("not_level", "hips not level", "obliquity", 0, "keep your hips level"),
                _f("rotation", "pelvis turns", "rotation", 0, "square your hips forward"),
            ),
            min_hold_s=2.0, default_reps=1, default_hold_s=30.0,
        ),
        ExerciseSpec(
            "butt-squeeze", "Butt squeeze",
            "\"butt squeezes\": a posterior tilt",
            "back", "standing", STANDING,
            "stand tall and keep still",
            "reps", "tilt", -1, 3.0, 1.5,
            "the squeeze tilts the pelvis back (simulated 5-8°)",
            (), sided=False,
        ),
    )
}  # fmt: skip


def mirror(side: str) -> float:
    """+1 for the right side (and unsided exercises), -1 for the left."""
    return -1.0 if side == "left" else 1.0


def channel_sign(channel: str, sign: int, side: str) -> float:
    """The sign of a directional channel for ``side``."""
    return float(sign) * (mirror(side) if channel in MIRRORED else 1.0)


def up_for(spec: ExerciseSpec, side: str) -> tuple[float, float, float]:
    x, y, z = spec.up_pelvis
    return (x, y * mirror(side), z)


def get_spec(name: str) -> ExerciseSpec:
    try:
        return SPECS[name]
    except KeyError:
        raise UnknownExercise(f"no exercise {name!r}: choose one of {', '.join(SPECS)}") from None

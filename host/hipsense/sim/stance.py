"""Single-leg stance trials: baseline, weight shift, lift-off, hold with sway, touch-downs, end.

Standing on the RIGHT leg the LEFT side is free; a drop of the free side is then obliquity < 0
(DESIGN.md: obliquity > 0 = left side higher). A negative drop is a hike of the free side.
Eyes closed multiplies the sway and the rate of corrective hip-strategy bursts (fast opposite
moves of pelvis obliquity and lateral position).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from hipsense.conventions import SIDES
from hipsense.sim.motion import PelvisMotion, band_noise, bursts, min_jerk
from hipsense.sim.posture import Choreography


@dataclass(frozen=True)
class StanceParams:
    """Single-leg stance parameters (one trial per stance side)."""

    condition: str = "eyes_open"
    """``eyes_open`` or ``eyes_closed``."""
    baseline_s: float = 3.0
    """Quiet bipedal standing before the weight shift."""
    hold_s: float = 20.0
    """Lift-off to the final touch-down, not counting the brief touch-downs."""
    drop_in_right_stance_deg: float = 1.5
    """Drop of the free LEFT side while standing on the RIGHT leg (< 0: hike)."""
    drop_in_left_stance_deg: float = 1.5
    """Drop of the free RIGHT side while standing on the LEFT leg (< 0: hike)."""
    weight_shift_m: float = 0.07
    """Lateral shift of the pelvis over the stance foot."""
    sway_scale: float = 1.0
    """Multiplier of the hold sway (eyes closed multiplies it by a further 2)."""
    hip_corrections_per_min: float = 4.0
    """Corrective hip-strategy bursts per minute with eyes open (× 3 with eyes closed)."""
    touch_downs_after_lift_s: tuple[float, ...] = ()
    """Times after lift-off at which the free foot briefly touches down."""
    touch_down_s: float = 0.6
    touch_down_kinds: tuple[str, ...] = ()
    """Kind of each brief touch-down (``toe_tap`` when not given): ``toe_tap`` (the toes dab
    the floor, the weight stays on the stance leg), ``step`` (the free foot is put down and
    takes part of the weight), ``wall`` (a hand goes to a wall: no foot contact, the pelvis
    steadies)."""
    end_kind: str = "step"
    """How the trial ends: ``step`` (the free foot down for good, the weight shifts back),
    ``hop`` (the stance foot hops to regain balance, then both feet down) or ``wall`` (a hand
    to a wall, then the foot down)."""
    shift_s: float = 0.8
    """Duration of the weight shift onto the stance leg before the lift-off."""
    lift_s: float = 0.4
    """Duration of the frontal-plane posture change as the foot leaves the floor (foot speed)."""
    lift_tilt_deg: float = 1.0
    """Tilt change as the free hip flexes to lift the foot (a higher lift tilts more)."""
    arm_moves_per_min: float = 0.0
    """Arm movements during the hold (arms uncrossing briefly for balance): each one a small
    lateral jolt of the upper body that the pelvis feels."""
    rest_s: float = 3.0
    """Quiet standing after the trial."""

    def truth(self) -> dict[str, object]:
        d = asdict(self)
        d["touch_downs_after_lift_s"] = list(self.touch_downs_after_lift_s)
        d["touch_down_kinds"] = list(self.touch_down_kinds)
        return d


TOUCH_DOWN_KINDS = ("toe_tap", "step", "wall")
END_KINDS = ("step", "hop", "wall")


def trial_duration_s(p: StanceParams) -> float:
    return (
        p.baseline_s
        + p.shift_s
        + p.hold_s
        + 1.6
        + p.rest_s
        + p.touch_down_s * len(p.touch_downs_after_lift_s)
    )


def add_stance_trial(
    motion: PelvisMotion,
    c: Choreography,
    start_s: float,
    stance_side: str,
    p: StanceParams,
    rng: np.random.Generator,
) -> dict[str, object]:
    """Add one trial standing on ``stance_side`` (moves into ``c``, sway into ``motion``)."""
    if stance_side not in SIDES:
        raise ValueError("stance_side must be 'left' or 'right'")
    if p.condition not in ("eyes_open", "eyes_closed"):
        raise ValueError("condition must be 'eyes_open' or 'eyes_closed'")
    kinds = list(p.touch_down_kinds) + ["toe_tap"] * len(p.touch_downs_after_lift_s)
    if not set(kinds) <= set(TOUCH_DOWN_KINDS) or p.end_kind not in END_KINDS:
        raise ValueError(f"touch-down kinds are {TOUCH_DOWN_KINDS}, end kinds {END_KINDS}")
    free_side = "left" if stance_side == "right" else "right"
    drop = p.drop_in_right_stance_deg if stance_side == "right" else p.drop_in_left_stance_deg
    hold_obl = -drop if stance_side == "right" else drop
    shift = -p.weight_shift_m if stance_side == "right" else p.weight_shift_m
    closed = p.condition == "eyes_closed"

    t_shift = start_s + p.baseline_s
    t_lift = c.move(t_shift, p.shift_s, y_m=shift)
    c.move(t_lift, p.lift_s, obliquity_deg=hold_obl, z_m=-0.005, tilt_deg=p.lift_tilt_deg)
    touch_downs: list[dict[str, object]] = []
    t = t_lift
    for after, kind in zip(sorted(p.touch_downs_after_lift_s), kinds, strict=False):
        t_td = t_lift + after
        if kind == "toe_tap":
            c.move(t_td, 0.15, obliquity_deg=0.2 * hold_obl, y_m=0.6 * shift)
        elif kind == "step":
            c.move(t_td, 0.2, obliquity_deg=0.0, y_m=0.3 * shift, z_m=0.0, tilt_deg=0.0)
        else:  # wall: the hand steadies the body, the pelvis levels a little
            c.move(t_td, 0.15, obliquity_deg=0.6 * hold_obl, y_m=0.85 * shift)
        t_up = t_td + p.touch_down_s
        c.move(t_up, p.lift_s, obliquity_deg=hold_obl, y_m=shift, z_m=-0.005,
               tilt_deg=p.lift_tilt_deg)  # fmt: skip
        touch_downs.append({"t_s": round(t_td, 4), "lift_t_s": round(t_up, 4), "kind": kind})
        t = t_up + p.lift_s
    t_end = t_lift + p.hold_s + p.touch_down_s * len(touch_downs)
    if t_end < t:
        raise ValueError("touch-downs must happen before the end of the hold")
    if p.end_kind == "hop":  # the stance foot leaves the floor, lands, then both feet down
        t_up = c.move(t_end, 0.12, z_m=0.03, obliquity_deg=0.5 * hold_obl)
        t_land = c.move(t_up, 0.12, z_m=-0.01)
        c.move(t_land, 0.3, obliquity_deg=0.0, z_m=0.0, tilt_deg=0.0)
        c.move(t_land, 0.8, y_m=0.0)
    elif p.end_kind == "wall":
        c.move(t_end, 0.15, obliquity_deg=0.6 * hold_obl, y_m=0.85 * shift)
        c.move(t_end + 0.5, 0.2, obliquity_deg=0.0, z_m=0.0, tilt_deg=0.0)
        c.move(t_end + 0.5, 0.8, y_m=0.0)
    else:
        c.move(t_end, 0.2, obliquity_deg=0.0, z_m=0.0, tilt_deg=0.0)
        c.move(t_end, 0.8, y_m=0.0)

    # sway and corrective bursts during the hold
    tt = motion.t_s
    window = min_jerk((tt - t_lift) / 0.5) * (1.0 - min_jerk((tt - t_end) / 0.3))
    for after in sorted(p.touch_downs_after_lift_s):  # supported: the sway settles
        t_td = t_lift + after
        window *= 1.0 - 0.8 * min_jerk((tt - t_td) / 0.15) * (
            1.0 - min_jerk((tt - t_td - p.touch_down_s) / 0.3)
        )
    scale = p.sway_scale * (2.0 if closed else 1.0)
    n, fs = motion.n, motion.rate_hz
    motion.position_m[:, 1] += window * band_noise(rng, n, fs, 0.004 * scale, 0.1, 1.5)
    motion.position_m[:, 0] += window * band_noise(rng, n, fs, 0.003 * scale, 0.1, 1.5)
    motion.obliquity_deg += window * band_noise(rng, n, fs, 0.4 * scale, 0.1, 1.5)
    motion.tilt_deg += window * band_noise(rng, n, fs, 0.3 * scale, 0.1, 1.5)
    motion.rotation_deg += window * band_noise(rng, n, fs, 0.4 * scale, 0.1, 1.5)
    rate_per_s = p.hip_corrections_per_min * (3.0 if closed else 1.0) / 60.0
    n_bursts = int(rng.poisson(rate_per_s * p.hold_s))
    centres = list(rng.uniform(t_lift + 1.0, max(t_lift + 1.0, t_end - 0.5), n_bursts))
    amps = list(rng.choice([-1.0, 1.0], n_bursts) * rng.uniform(1.0, 2.5, n_bursts))
    motion.obliquity_deg += window * bursts(tt, centres, amps, 1.5, 0.2)
    motion.position_m[:, 1] -= window * bursts(tt, centres, [0.006 * a for a in amps], 1.5, 0.2)
    n_arms = int(rng.poisson(p.arm_moves_per_min / 60.0 * p.hold_s))
    arms = list(rng.uniform(t_lift + 1.0, max(t_lift + 1.0, t_end - 0.5), n_arms))
    arm_amps = list(rng.choice([-1.0, 1.0], n_arms) * rng.uniform(0.002, 0.006, n_arms))
    motion.position_m[:, 1] += window * bursts(tt, arms, arm_amps, 2.0, 0.15)
    motion.rotation_deg += window * bursts(tt, arms, [300.0 * a for a in arm_amps], 2.0, 0.15)

    return {
        "stance_side": stance_side,
        "free_side": free_side,
        "condition": p.condition,
        "baseline_start_t_s": round(start_s, 4),
        "weight_shift_t_s": round(t_shift, 4),
        "lift_off_t_s": round(t_lift, 4),
        "touch_downs": touch_downs,
        "end_t_s": round(t_end, 4),
        "hold_s": round(t_end - t_lift, 4),
        "free_side_drop_deg": drop,
        "hold_obliquity_deg": hold_obl,
        "hip_corrections_t_s": sorted(round(float(x), 4) for x in centres),
        "arm_moves_t_s": sorted(round(float(x), 4) for x in arms),
        "end_kind": p.end_kind,
    }

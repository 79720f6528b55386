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
    rest_s: float = 3.0
    """Quiet standing after the trial."""

    def truth(self) -> dict[str, object]:
        d = asdict(self)
        d["touch_downs_after_lift_s"] = list(self.touch_downs_after_lift_s)
        return d


def trial_duration_s(p: StanceParams) -> float:
    return (
        p.baseline_s
        + 0.8
        + p.hold_s
        + 0.8
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
    free_side = "left" if stance_side == "right" else "right"
    drop = p.drop_in_right_stance_deg if stance_side == "right" else p.drop_in_left_stance_deg
    hold_obl = -drop if stance_side == "right" else drop
    shift = -p.weight_shift_m if stance_side == "right" else p.weight_shift_m
    closed = p.condition == "eyes_closed"

    t_shift = start_s + p.baseline_s
    t_lift = c.move(t_shift, 0.8, y_m=shift)
    c.move(t_lift, 0.4, obliquity_deg=hold_obl, z_m=-0.005, tilt_deg=1.0)
    touch_downs: list[dict[str, float]] = []
    t = t_lift
    for after in sorted(p.touch_downs_after_lift_s):
        t_td = t_lift + after
        c.move(t_td, 0.15, obliquity_deg=0.2 * hold_obl, y_m=0.6 * shift)
        t_up = t_td + p.touch_down_s
        c.move(t_up, 0.4, obliquity_deg=hold_obl, y_m=shift)
        touch_downs.append({"t_s": round(t_td, 4), "lift_t_s": round(t_up, 4)})
        t = t_up
    t_end = t_lift + p.hold_s + p.touch_down_s * len(touch_downs)
    if t_end < t:
        raise ValueError("touch-downs must happen before the end of the hold")
    c.move(t_end, 0.2, obliquity_deg=0.0, z_m=0.0, tilt_deg=0.0)
    c.move(t_end, 0.8, y_m=0.0)

    # sway and corrective bursts during the hold
    tt = motion.t_s
    window = min_jerk((tt - t_lift) / 0.5) * (1.0 - min_jerk((tt - t_end) / 0.3))
    for td in touch_downs:  # two feet on the ground: the sway settles
        window *= 1.0 - 0.8 * min_jerk((tt - td["t_s"]) / 0.15) * (
            1.0 - min_jerk((tt - td["lift_t_s"]) / 0.3)
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
    }

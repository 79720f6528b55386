"""Glute bridges from supine: lift, hold, lower; double-leg and single-leg (left or right).

Supine, the pelvis is turned ≈ 88° backwards (tilt ≈ −88°); lifting into the bridge raises it and
tilts it further back (``bridge_tilt_deg``), so shoulders–hip–knee form a line. With the Cardan
order rotation–obliquity–tilt the obliquity channel stays "left side higher > 0" when supine:
it carries the **sag** (the free side sinking towards the floor, about the body's long axis),
and the rotation channel carries the **twist** (the pelvis swinging about the vertical).
A single-leg bridge "on the right" is pushed up by the right leg; the left leg is extended.
A weak side lifts less, sags more on the free side and shakes more during the hold.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from hipsense.sim.motion import PelvisMotion, band_noise, min_jerk
from hipsense.sim.posture import SUPINE_DROP_M, SUPINE_TILT_DEG, Choreography


@dataclass(frozen=True)
class BridgeParams:
    """Bridge parameters; "weak" values apply to reps supported by ``weak_side``."""

    lift_m: float = 0.16
    """Pelvis rise at the top of a double-leg bridge (single-leg: × 0.9)."""
    bridge_tilt_deg: float = 22.0
    """Extra backward tilt at the top (hip extension)."""
    lift_s: float = 1.5
    hold_s: float = 5.0
    lower_s: float = 1.5
    rest_s: float = 2.5
    reps: int = 3
    """Reps per bridge kind in the scenario."""
    weak_side: str = ""
    """'' (none), 'left' or 'right': the supporting side that is weak."""
    weak_lift_frac: float = 0.7
    sag_deg: float = 1.0
    """Drop of the free side at the top of a single-leg bridge on a normal side."""
    weak_sag_deg: float = 7.0
    twist_deg: float = 0.5
    """Twist (rotation towards the free side) at the top of a single-leg bridge, normal side."""
    weak_twist_deg: float = 3.0
    hold_shake_deg: float = 0.4
    """RMS of the hold wobble in obliquity (× 2.5 on a weak side)."""

    def truth(self) -> dict[str, object]:
        return asdict(self)


def rep_duration_s(p: BridgeParams) -> float:
    return p.lift_s + p.hold_s + p.lower_s + p.rest_s


def add_bridge_rep(
    motion: PelvisMotion,
    c: Choreography,
    start_s: float,
    support: str,
    p: BridgeParams,
    rng: np.random.Generator,
) -> dict[str, object]:
    """One rep supported by ``support`` ('both', 'left', 'right'); returns its ground truth."""
    if support not in ("both", "left", "right"):
        raise ValueError("support must be 'both', 'left' or 'right'")
    weak = support != "both" and support == p.weak_side
    lift = p.lift_m * (1.0 if support == "both" else 0.9) * (p.weak_lift_frac if weak else 1.0)
    tilt_top = SUPINE_TILT_DEG - p.bridge_tilt_deg * lift / p.lift_m
    sag = 0.0 if support == "both" else (p.weak_sag_deg if weak else p.sag_deg)
    twist = 0.0 if support == "both" else (p.weak_twist_deg if weak else p.twist_deg)
    # the free side sinks: free LEFT (right support) → left lower → obliquity < 0
    obl_top = -sag if support == "right" else sag
    rot_top = twist if support == "right" else -twist

    t_top = c.move(
        start_s,
        p.lift_s,
        z_m=SUPINE_DROP_M + lift,
        tilt_deg=tilt_top,
        obliquity_deg=obl_top,
        rotation_deg=rot_top,
    )
    t_hold_end = t_top + p.hold_s
    t_down = c.move(
        t_hold_end,
        p.lower_s,
        z_m=SUPINE_DROP_M,
        tilt_deg=SUPINE_TILT_DEG,
        obliquity_deg=0.0,
        rotation_deg=0.0,
    )

    tt = motion.t_s
    window = min_jerk((tt - t_top + 0.3) / 0.3) * (1.0 - min_jerk((tt - t_hold_end) / 0.3))
    shake = p.hold_shake_deg * (2.5 if weak else 1.0)
    motion.obliquity_deg += window * band_noise(rng, motion.n, motion.rate_hz, shake, 0.3, 4.0)
    motion.tilt_deg += window * band_noise(rng, motion.n, motion.rate_hz, 0.5 * shake, 0.3, 4.0)
    motion.position_m[:, 2] += window * band_noise(
        rng, motion.n, motion.rate_hz, 0.002 * shake, 0.3, 3.0
    )
    return {
        "kind": "double" if support == "both" else "single",
        "support_side": support,
        "start_t_s": round(start_s, 4),
        "top_t_s": round(t_top, 4),
        "hold_end_t_s": round(t_hold_end, 4),
        "end_t_s": round(t_down, 4),
        "lift_m": round(lift, 4),
        "lift_deg": round(p.bridge_tilt_deg * lift / p.lift_m, 3),
        "free_side_sag_deg": sag,
        "top_obliquity_deg": obl_top,
        "twist_deg": twist,
        "top_rotation_deg": rot_top,
        "weak": weak,
    }

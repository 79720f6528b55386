"""Posture changes as keyframed moves: sitting down, standing up, lying back, getting up.

A :class:`Choreography` collects minimum-jerk moves per channel (angles in degrees, position
offsets in metres from the standing calibration posture) and adds them to a motion.
"""

from __future__ import annotations

from hipsense.sim.motion import PelvisMotion, keyframes

CHANNELS = ("tilt_deg", "obliquity_deg", "rotation_deg", "x_m", "y_m", "z_m")

SEAT_DROP_M = -0.45
"""Pelvis height change from standing to sitting on a chair."""
SUPINE_TILT_DEG = -88.0
"""Lying supine: the pelvis turned 88° backwards from upright (front facing up)."""
SUPINE_DROP_M = -0.83
"""Pelvis height change from standing (≈ 0.95 m) to lying on the floor (≈ 0.12 m)."""


class Choreography:
    """Chronological minimum-jerk moves per channel; channels hold their value between moves."""

    def __init__(self) -> None:
        self._now: dict[str, float] = dict.fromkeys(CHANNELS, 0.0)
        self._knots: dict[str, list[tuple[float, float]]] = {c: [(0.0, 0.0)] for c in CHANNELS}

    def now(self, channel: str) -> float:
        return self._now[channel]

    def move(self, start_s: float, duration_s: float, **targets: float) -> float:
        """Glide the named channels to their targets over [start_s, start_s + duration_s].

        Returns the end time, so moves chain: ``t = c.move(t, 1.0, z_m=-0.4)``.
        """
        for channel, target in targets.items():
            if channel not in self._now:
                raise ValueError(f"unknown channel {channel!r}; use one of {CHANNELS}")
            knots = self._knots[channel]
            if start_s < knots[-1][0] - 1e-9:
                raise ValueError(f"move of {channel} at {start_s} s overlaps the previous move")
            knots.append((start_s, self._now[channel]))
            knots.append((start_s + duration_s, float(target)))
            self._now[channel] = float(target)
        return start_s + duration_s

    def apply(self, motion: PelvisMotion) -> None:
        """Add the moves to ``motion`` (in place)."""
        t = motion.t_s
        targets = {
            "tilt_deg": motion.tilt_deg,
            "obliquity_deg": motion.obliquity_deg,
            "rotation_deg": motion.rotation_deg,
        }
        for channel, knots in self._knots.items():
            times, values = zip(*knots, strict=True)
            profile = keyframes(t, times, values)
            if channel in targets:
                targets[channel] += profile
            else:
                motion.position_m[:, "xyz".index(channel[0])] += profile


def sit_down(c: Choreography, start_s: float) -> float:
    """Standing → seated: lean forward (anterior tilt), lower backwards, settle slumped."""
    c.move(start_s, 0.8, tilt_deg=18.0, z_m=-0.08, x_m=-0.04)
    c.move(start_s + 0.8, 1.0, tilt_deg=8.0, z_m=SEAT_DROP_M + 0.03, x_m=-0.20)
    return c.move(start_s + 1.8, 0.7, tilt_deg=-8.0, z_m=SEAT_DROP_M, x_m=-0.22)


def stand_up(c: Choreography, start_s: float) -> float:
    """Seated → standing: flexion momentum (anterior tilt), rise, extend to upright."""
    c.move(start_s, 0.7, tilt_deg=25.0, z_m=SEAT_DROP_M + 0.02, x_m=-0.15)
    c.move(start_s + 0.7, 0.8, tilt_deg=12.0, z_m=-0.15, x_m=-0.05)
    return c.move(start_s + 1.5, 0.7, tilt_deg=0.0, z_m=0.0, x_m=0.0)


def lie_back(c: Choreography, start_s: float) -> float:
    """Seated on the floor edge → supine: roll back onto the back, pelvis front facing up."""
    c.move(start_s, 1.5, tilt_deg=-40.0, z_m=-0.65, x_m=-0.35)
    return c.move(start_s + 1.5, 1.5, tilt_deg=SUPINE_TILT_DEG, z_m=SUPINE_DROP_M, x_m=-0.45)

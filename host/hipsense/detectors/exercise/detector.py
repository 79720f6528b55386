"""Causal exercise detector: start posture -> baseline -> pelvis rotation since it -> reps, faults.

Arrays in (time, accelerometer, gyroscope in sensor axes, chunk by chunk), events out; no I/O, so
the same code runs on live blocks and on a recording, and any chunk sizes give the same events.

1. Start: the first still moment (gyroscope spread < ``still_dps`` for ``rest_s``) whose up
   direction (the low-passed accelerometer in pelvis axes, through the mounting calibration and,
   for front placement, the sensor turned 180° about the vertical) lies within
   ``posture_tol_deg`` of the exercise's posture sets the baseline: the up direction and the
   gyroscope bias. A still moment in another posture gives a ``posture`` event with what to do.
2. After it the pelvis's rotation since the baseline is the gyroscope (minus that bias)
   integrated as a quaternion, its two gravity-observable components pulled slowly (time
   constant ``tau_gravity_s``) towards the accelerometer's up direction, so they do not drift;
   the rotation about the vertical is gyroscope-only. It is given as the design's Cardan angles
   (tilt, obliquity, rotation) in pelvis axes, plus the angular rates about the pelvis axes.
3. Reps (or holds): hysteresis on the spec's channel (start above ``on_deg``, end below
   ``off_deg``). Each fault's peak over the rep is its magnitude; a ``fault`` event fires the
   sample a fault passes its threshold (re-armed once it is back below 80 % of it).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hipsense.conventions import G_MPS2
from hipsense.conventions.exercises import (
    ExerciseSpec,
    Fault,
    channel_sign,
    mirror,
    up_for,
)
from hipsense.motion.frontend import FloatArray, rotate

IDENTITY = (1.0, 0.0, 0.0, 0.0)
FRONT_FLIP = np.diag([-1.0, -1.0, 1.0])
"""The sensor moved from the back to the front of the belt: turned 180° about the vertical."""
REARM_FRACTION = 0.8


@dataclass(frozen=True)
class ExerciseEvent:
    """kind: posture | baseline | start (rep or hold begins) | fault | rep | hold."""

    kind: str
    t_s: float
    text: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class RepRecord:
    """One rep (or hold): its times, the rep channel's peak and every fault's peak."""

    index: int
    start_t_s: float
    end_t_s: float = math.nan
    peak_deg: float = -math.inf
    """Peak of the rep signal (the spec's channel in the rep's direction)."""
    mean_deg: float = 0.0
    """Mean of the rep signal over the rep (the depth of a hold)."""
    faults: dict[str, float] = field(default_factory=dict)
    fault_t_s: dict[str, float] = field(default_factory=dict)
    """When each fault first passed its threshold in this rep."""
    _sum: float = 0.0
    _n: int = 0

    @property
    def duration_s(self) -> float:
        return self.end_t_s - self.start_t_s

    def flagged(self, faults: Sequence[Fault]) -> list[str]:
        return [f.key for f in faults if self.faults.get(f.key, -math.inf) > f.threshold]


class ExerciseDetector:
    """See the module docstring. ``side``: 'left', 'right' (or 'both' for unsided exercises)."""

    def __init__(
        self,
        spec: ExerciseSpec,
        side: str,
        mounting_wxyz: Sequence[float] = IDENTITY,
        still_dps: float = 1.5,
        rest_s: float = 2.0,
        posture_tol_deg: float = 35.0,
        tau_gravity_s: float = 2.0,
        tau_rest_bias_s: float = 5.0,
        min_rep_s: float = 0.3,
        max_reps: int | None = None,
    ) -> None:
        if spec.sided and side not in ("left", "right"):
            raise ValueError(f"{spec.name} is done on one side: side must be left or right")
        self.spec = spec
        self.side = side if spec.sided else "both"
        self.still_dps = still_dps
        self.rest_s = rest_s
        self.posture_cos = math.cos(math.radians(posture_tol_deg))
        self.tau_gravity_s = tau_gravity_s
        self.tau_rest_bias_s = tau_rest_bias_s
        self._bias_i = [0.0, 0.0, 0.0]
        self._recent: deque[tuple[float, float, float]] = deque()
        self._rest_level = 0.0
        self._vertical_at_rest = 0.0
        self._rep_ref: dict[str, float] = {}
        self.vertical_channel_: str | None = None
        """The pelvis angle about the axis nearest the vertical at the start: it has no gravity
        reference, so its faults are taken relative to the rep's start (drift-free)."""
        self.min_rep_s = max(min_rep_s, spec.min_hold_s)
        self.max_reps = max_reps
        """Stop taking samples once this many reps (holds) are complete (a guided set)."""
        self.used_ = 0
        """Samples of the last chunk taken (fewer than given once the set is complete)."""
        q = np.asarray(mounting_wxyz, dtype=np.float64)
        m = rotate(np.broadcast_to(q / np.linalg.norm(q), (3, 4)), np.eye(3)).T  # sensor->pelvis
        self._to_pelvis = (FRONT_FLIP @ m) if spec.placement == "front" else m
        self._up_expected = np.asarray(up_for(spec, self.side), dtype=np.float64)
        self._rep_sign = channel_sign(spec.channel, spec.sign, self.side)
        self._fault_signs = [channel_sign(f.channel, f.sign, self.side) for f in spec.faults]
        self._armed = [True] * len(spec.faults)
        # state
        self.state_ = "waiting"  # waiting | ready | in
        self.baseline_t_s_: float | None = None
        self.up0_: FloatArray | None = None
        self.bias_dps_: list[float] | None = None
        self.angles_: dict[str, float] = dict.fromkeys(
            ("tilt", "obliquity", "rotation", "rate_x", "rate_y", "rate_z"), 0.0
        )
        self.reps_: list[RepRecord] = []
        self.events_: list[ExerciseEvent] = []
        self.current_: RepRecord | None = None
        self.t_s_ = 0.0
        self._window: deque[tuple[float, float, float, float, float, float, float]] = deque()
        self._acc_lp: list[float] | None = None
        self._t_prev: float | None = None
        self._q = [1.0, 0.0, 0.0, 0.0]
        self._posture_said: tuple[str, float] | None = None

    # ------------------------------------------------------------------ feeding
    def update(
        self, t_s: FloatArray, acc_mps2: FloatArray, gyr_dps: FloatArray
    ) -> list[ExerciseEvent]:
        """Feed one chunk (sensor axes); returns the events it produced."""
        n0 = len(self.events_)
        if t_s.shape[0] == 0:
            return []
        acc_p = np.einsum("ij,nj->ni", self._to_pelvis, acc_mps2).tolist()
        gyr_p = np.einsum("ij,nj->ni", self._to_pelvis, gyr_dps).tolist()
        self.used_ = 0
        for t, a, g in zip(t_s.tolist(), acc_p, gyr_p, strict=True):
            if self.complete:
                break
            self._sample(t, a, g)
            self.used_ += 1
        return self.events_[n0:]

    @property
    def complete(self) -> bool:
        """The guided set's reps (holds) are all done."""
        return self.max_reps is not None and len(self.reps_) >= self.max_reps

    def finish(self) -> list[ExerciseEvent]:
        """Close a rep or hold still open at the end of the recording."""
        n0 = len(self.events_)
        if self.state_ == "in":
            self._close(self.t_s_)
        return self.events_[n0:]

    def _sample(self, t: float, a: list[float], g: list[float]) -> None:
        dt = 0.0 if self._t_prev is None else max(0.0, t - self._t_prev)
        self._t_prev = self.t_s_ = t
        if self._acc_lp is None:
            self._acc_lp = list(a)
        else:
            k = 1.0 - math.exp(-dt / 0.1) if dt > 0 else 0.0
            lp = self._acc_lp
            lp[0] += k * (a[0] - lp[0])
            lp[1] += k * (a[1] - lp[1])
            lp[2] += k * (a[2] - lp[2])
        if self.state_ == "waiting":
            self._wait(t, g)
            return
        self._integrate(dt, g)
        self._track(t)

    # ------------------------------------------------------------------ start posture
    def _wait(self, t: float, g: list[float]) -> None:
        lp = self._acc_lp
        assert lp is not None
        w = self._window
        w.append((t, g[0], g[1], g[2], lp[0], lp[1], lp[2]))
        while w and w[0][0] < t - self.rest_s:
            w.popleft()
        if t - w[0][0] < self.rest_s - 1e-9 or len(w) < 5:
            return
        arr = np.asarray(w)
        spread = float(np.sqrt(np.sum(np.var(arr[:, 1:4], axis=0))))
        acc = arr[:, 4:7].mean(axis=0)
        norm = float(np.linalg.norm(acc))
        if spread > self.still_dps or abs(norm - G_MPS2) > 1.5:
            return
        up = acc / norm
        cos = float(up @ self._up_expected)
        if cos >= self.posture_cos:
            self.up0_ = up
            self.bias_dps_ = [float(v) for v in arr[:, 1:4].mean(axis=0)]
            axis = int(np.argmax(np.abs(up)))
            self.vertical_channel_ = ("obliquity", "tilt", "rotation")[axis]
            self.baseline_t_s_ = t
            self.state_ = "ready"
            self._emit("baseline", t, "baseline set: start the exercise")
            return
        self._say_posture(t, up, cos)
        w.clear()

    def _say_posture(self, t: float, up: FloatArray, cos: float) -> None:
        spec = self.spec
        off_deg = math.degrees(math.acos(max(-1.0, min(1.0, cos))))
        other_side = self._up_expected * np.array([1.0, -1.0, 1.0])
        flipped = FRONT_FLIP @ self._up_expected
        if spec.placement == "front" and float(up @ flipped) >= self.posture_cos:
            text = (f"the sensor is at the back of the belt: for the {spec.title.lower()} move "
                    "it to the FRONT of the belt (you would lie on it)")  # fmt: skip
        elif self.spec.sided and float(up @ other_side) >= self.posture_cos:
            other = "left" if self.side == "right" else "right"
            text = (f"this is the start posture for the {other} side: {spec.setup} "
                    f"(set for the {self.side} side)")  # fmt: skip
        else:
            text = f"not in the start posture ({off_deg:.0f}° from it): {spec.setup}"
        said = self._posture_said
        if said is None or said[0] != text or t - said[1] >= 5.0:
            self._posture_said = (text, t)
            self._emit("posture", t, text, {"off_deg": round(off_deg, 1)})

    # ------------------------------------------------------------------ orientation
    def _integrate(self, dt: float, g: list[float]) -> None:
        b = self.bias_dps_
        u0 = self.up0_
        lp = self._acc_lp
        assert b is not None and u0 is not None and lp is not None
        d2r = math.pi / 180.0
        rx, ry, rz = g[0] - b[0], g[1] - b[1], g[2] - b[2]
        if self.state_ == "ready" and rx * rx + ry * ry + rz * rz < 4.0 and dt > 0:
            # resting between reps: the bias keeps being learnt (the one about the vertical
            # has no other reference)
            k_rest = dt / self.tau_rest_bias_s
            b[0] += k_rest * rx
            b[1] += k_rest * ry
            b[2] += k_rest * rz
        bi = self._bias_i
        rx, ry, rz = rx - bi[0], ry - bi[1], rz - bi[2]
        wx, wy, wz = rx * d2r, ry * d2r, rz * d2r
        qw, qx, qy, qz = self._q
        norm = math.sqrt(lp[0] * lp[0] + lp[1] * lp[1] + lp[2] * lp[2])
        if abs(norm - G_MPS2) < 0.8 and dt > 0:
            # predicted up in body axes: R(q)^T u0
            px, py, pz = _rotate_t(qw, qx, qy, qz, u0[0], u0[1], u0[2])
            ux, uy, uz = lp[0] / norm, lp[1] / norm, lp[2] / norm
            ex, ey, ez = uy * pz - uz * py, uz * px - ux * pz, ux * py - uy * px
            k = 1.0 / self.tau_gravity_s
            wx += k * ex
            wy += k * ey
            wz += k * ez
            # integral term: the bias about the horizontal axes, from gravity (°/s)
            ki = dt * k * k / 4.0 / d2r
            bi[0] -= ki * ex
            bi[1] -= ki * ey
            bi[2] -= ki * ez
        h = 0.5 * dt
        qw, qx, qy, qz = (
            qw - h * (qx * wx + qy * wy + qz * wz),
            qx + h * (qw * wx + qy * wz - qz * wy),
            qy + h * (qw * wy + qz * wx - qx * wz),
            qz + h * (qw * wz + qx * wy - qy * wx),
        )
        n = math.sqrt(qw * qw + qx * qx + qy * qy + qz * qz)
        self._q = [qw / n, qx / n, qy / n, qz / n]
        qw, qx, qy, qz = self._q
        r21 = 2.0 * (qy * qz + qw * qx)
        r20 = 2.0 * (qx * qz - qw * qy)
        r22 = 1.0 - 2.0 * (qx * qx + qy * qy)
        r01 = 2.0 * (qx * qy - qw * qz)
        r11 = 1.0 - 2.0 * (qx * qx + qz * qz)
        ang = self.angles_
        ang["obliquity"] = math.degrees(math.asin(max(-1.0, min(1.0, r21))))
        ang["tilt"] = math.degrees(math.atan2(-r20, r22))
        ang["rotation"] = math.degrees(math.atan2(-r01, r11))
        ang["rate_x"], ang["rate_y"], ang["rate_z"] = rx, ry, rz

    # ------------------------------------------------------------------ reps and faults
    def fault_value(self, i: int) -> float:
        """Fault ``i``'s current value in its counted direction (|value| for both)."""
        f = self.spec.faults[i]
        v = self.angles_[f.channel] - self._rep_ref.get(f.channel, 0.0)
        s = self._fault_signs[i]
        return abs(v) if s == 0.0 else s * v

    def rep_signal(self) -> float:
        return self._rep_sign * self.angles_[self.spec.channel]

    def _track(self, t: float) -> None:
        spec = self.spec
        r = self.rep_signal()
        vc = self.vertical_channel_
        if self.state_ == "ready":
            rec = self._recent
            rec.append((t, r, self.angles_[vc] if vc else 0.0))
            while rec[0][0] < t - 2.0:
                rec.popleft()
            rest = min(rec, key=lambda x: x[1])
            self._rest_level = rest[1]
            self._vertical_at_rest = rest[2]
        rel = r - self._rest_level
        if self.state_ == "ready" and rel > spec.on_deg:
            self.state_ = "in"
            self._recent.clear()
            self._rep_ref = {vc: self._vertical_at_rest} if vc else {}
            self.current_ = RepRecord(len(self.reps_) + 1, t)
            self._emit("start", t, "hold" if spec.mode == "hold" else "rep",
                       {"rep": self.current_.index})  # fmt: skip
        cur = self.current_ if self.state_ == "in" else None
        if cur is not None:
            cur.peak_deg = max(cur.peak_deg, rel)
            cur._sum += rel
            cur._n += 1
        for i, f in enumerate(spec.faults):
            v = self.fault_value(i)
            if cur is not None:
                cur.faults[f.key] = max(cur.faults.get(f.key, -math.inf), v)
            if self._armed[i] and v > f.threshold:
                self._armed[i] = False
                if cur is not None and f.key not in cur.fault_t_s:
                    cur.fault_t_s[f.key] = t
                self._emit("fault", t, f.cue, {"fault": f.key, "value": round(v, 2),
                                               "threshold": f.threshold})  # fmt: skip
            elif not self._armed[i] and v < REARM_FRACTION * f.threshold:
                self._armed[i] = True
        if cur is not None:
            end = spec.off_deg if spec.mode == "hold" else max(spec.off_deg, 0.5 * cur.peak_deg)
            if rel < end:
                self._close(t)

    def _close(self, t: float) -> None:
        cur = self.current_
        self.state_ = "ready"
        self.current_ = None
        self._rep_ref = {}
        if cur is None:
            return
        cur.end_t_s = t
        cur.mean_deg = cur._sum / max(cur._n, 1)
        if cur.duration_s < self.min_rep_s:
            return
        cur.index = len(self.reps_) + 1
        self.reps_.append(cur)
        kind = "hold" if self.spec.mode == "hold" else "rep"
        flagged = cur.flagged(self.spec.faults)
        self._emit(kind, t, f"{kind} {cur.index}" + (f": {', '.join(flagged)}" if flagged else ""),
                   {"rep": cur.index, "faults": flagged})  # fmt: skip

    def _emit(self, kind: str, t: float, text: str, data: dict[str, Any] | None = None) -> None:
        self.events_.append(ExerciseEvent(kind, t, text, data or {}))

    @property
    def mirror(self) -> float:
        return mirror(self.side)


def _rotate_t(
    w: float, x: float, y: float, z: float, vx: float, vy: float, vz: float
) -> tuple[float, float, float]:
    """R(q)^T v for a unit quaternion (w, x, y, z): v in the baseline frame -> body axes."""
    # R^T v = R(q*) v
    x, y, z = -x, -y, -z
    tx = 2.0 * (y * vz - z * vy)
    ty = 2.0 * (z * vx - x * vz)
    tz = 2.0 * (x * vy - y * vx)
    return (
        vx + w * tx + y * tz - z * ty,
        vy + w * ty + z * tx - x * tz,
        vz + w * tz + x * ty - y * tx,
    )

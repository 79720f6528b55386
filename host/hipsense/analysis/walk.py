"""Offline walk analysis: a recording fed through the streaming :class:`WalkTracker` in chunks,
so a file gives exactly the live result; the JSON document (``SCHEMA``, ``VERSION``) and the
summary in words."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from hipsense import __version__
from hipsense.analysis.base import (
    board_doc,
    flat_table,
    settings_change_words,
    settings_changes_t_s,
    verdict_series,
)
from hipsense.conventions import SIDES
from hipsense.conventions.words import counted
from hipsense.detectors.walk.contacts import ContactDetector
from hipsense.detectors.walk.pendulum import LEG_PER_HEIGHT
from hipsense.detectors.walk.symmetry import RunningStats
from hipsense.detectors.walk.tracker import (
    PACE_METRICS,
    RANGE_METRICS,
    STEP_FIELDS,
    Step,
    WalkEvent,
    WalkTracker,
)
from hipsense.motion.sources import (
    FloatArray,
    HostAngles,
    InputError,
    RawChecks,
    check_raw_content,
    chunk_arrays,
    host_mounting,
    left_axis_sensor,
)
from hipsense.recording import Recording, RecordingMeta
from hipsense.recording.chunks import CHUNK_ROWS, Columns, RecordingChunks
from hipsense.recording.schema import CONTENT_ANGLES

if TYPE_CHECKING:
    import pandas as pd

SCHEMA = "hipsense.walk"
VERSION = 3
"""2: ``verdict.tiers`` (drop and step time graded against noise and the MDC), cadence, speed;
3: ``recording.walking_found`` and ``recording.rejected_contacts`` (the plausibility gate)."""
SIDE_CERTAIN_SCORE = 1.0
"""A contact's side is called uncertain below this side score (its evidence, in units of the
cues' running mean size): on the shared real walks 0.927 of such sides were right (165 of 2002
matched contacts), 1.000 of the others (docs/validation.md)."""
CHUNK_SAMPLES = 1000
"""Offline chunk size; any size gives the same events (tested)."""


FORWARD_AMBIGUOUS = (
    "the sensor's forward direction could not be told from this recording, so left and right "
    "may be swapped: pass --axes"
)
"""What the summary and the report say when the mounting's forward sign is ambiguous."""


@dataclass
class WalkAnalysis:
    """The walk analysis of one recording (see :func:`analyse_walk`)."""

    meta: RecordingMeta
    duration_s: float
    """Time covered: last minus first ``t_s`` plus one sample period."""
    tracker: WalkTracker
    angles_source: str
    forward_ambiguous: bool = False
    """The mounting was estimated and its forward direction is ambiguous: sides may be swapped."""
    recording: Recording | None = field(default=None, repr=False)
    """The recording when it was analysed in memory (None when read from a file in chunks)."""
    angles_deg: FloatArray | None = field(default=None, repr=False)
    """(N, 3) tilt, obliquity, rotation per sample, with ``recording`` (for the report)."""
    settings_changed_t_s: list[float] = field(default_factory=list)
    """Times (s) of the board's settings changes during the session (``marker`` 258)."""
    walking_found: bool = True
    """Some bout showed a walking rhythm (``Contact.walking``); when none did, the recording is
    not analysed as a walk: no contacts, steps or verdict (docs/gait.md, plausibility gate)."""
    rejected_contacts: int = 0
    """Peaks the detector took for contacts in a recording without walking (then discarded)."""

    test = "walk"

    @property
    def events(self) -> list[WalkEvent]:
        return self.tracker.events_

    @property
    def contacts_(self) -> pd.DataFrame:
        """One row per initial contact: ``t_s``, ``side``, ``bout``, ``t_detected_s``."""
        import pandas as pd  # the pandas views only: the JSON loads no pandas (issue 19)

        cols = ["t_s", "side", "bout", "t_detected_s"]
        return pd.DataFrame([[getattr(e.contact, c) for c in cols] for e in self.events],
                            columns=cols)  # fmt: skip

    @property
    def steps_(self) -> pd.DataFrame:
        """One row per step (contact to the next contact), columns as in the JSON ``steps``."""
        return flat_table([e.step.to_json() for e in self.events if e.step is not None])

    @property
    def per_side_(self) -> pd.DataFrame:
        """Per stance side: contacts, steps, drop and step-time statistics, ranges."""
        doc = self.to_json()["per_side"]
        return flat_table([doc[s] for s in SIDES], index=SIDES)

    @property
    def verdict_(self) -> pd.Series:
        """The verdict (:data:`hipsense.analysis.base.VERDICT_KEYS`)."""
        v = self.tracker.verdict_
        return verdict_series("walk", v.status, v.weak_side, v.text)

    def bouts(self) -> list[dict[str, Any]]:
        """Bouts with at least one valid step: start and end contact times, step count, cadence
        (steps/min), stride time, gait speed (when a pendulum length was given) and per side
        the mean and SD of the swing side's drop in that side's stance, and of the step time,
        step length and speed of the steps ending at that side's contact."""
        steps: dict[int, list[Step]] = {}
        for ev in self.events:
            if ev.step is not None and ev.step.valid:
                steps.setdefault(ev.step.bout, []).append(ev.step)
        out = []
        for bout, items in steps.items():
            entry: dict[str, Any] = {
                "bout": bout,
                "start_t_s": round(items[0].t_start_s, 4),
                "end_t_s": round(items[-1].t_end_s, 4),
                "n_steps": len(items),
                **pace_json(items),
            }
            for side in SIDES:
                drop, step_s = RunningStats(), RunningStats()
                length, speed = RunningStats(), RunningStats()
                for st in items:
                    if st.stance_side == side and not math.isnan(st.drop_deg):
                        drop.add(st.drop_deg)
                    if st.stance_side != side:  # the step ends at this side's contact
                        step_s.add(st.step_s)
                        if not math.isnan(st.step_length_m):
                            length.add(st.step_length_m)
                            speed.add(st.speed_mps)
                entry[side] = {
                    "drop_deg": drop.to_json(),
                    "step_time_s": step_s.to_json(),
                    "step_length_m": length.to_json(),
                    "speed_mps": speed.to_json(),
                }
            out.append(entry)
        return out

    def to_json(self, *, lazy: bool = False) -> dict[str, Any]:
        """The JSON document (docs/gait.md); ``lazy``: ``contacts`` and ``steps`` are
        iterators, made as they are written (:func:`hipsense.analysis.base.json_chunks`), so a
        long walk's document is never whole in memory."""
        tr = self.tracker
        sym = tr.symmetry_
        per_side = {}
        for side in SIDES:
            per_side[side] = {
                "contacts": sum(1 for e in self.events if e.contact.side == side),
                "steps": sym.step_s[side].n,
                "drop_deg": sym.drop_deg[side].to_json(),
                "step_time_s": sym.step_s[side].to_json(),
                **{m: tr.ranges_[m][side].to_json() for m in RANGE_METRICS},
                **{m: tr.pace_[m][side].to_json() for m in PACE_METRICS},
            }
        drop_si, step_si = sym.drop_si(), sym.step_time_si()
        first = tr.first_verdict_
        contacts = (
            {
                "t_s": round(e.contact.t_s, 4),
                "side": e.contact.side,
                "bout": e.contact.bout,
                "t_detected_s": round(e.contact.t_detected_s, 4),
                "side_score": round(e.contact.side_score, 3),
                "side_uncertain": abs(e.contact.side_score) < SIDE_CERTAIN_SCORE,
            }
            for e in self.events
        )
        steps = (e.step.to_json() for e in self.events if e.step is not None)
        meta = self.meta
        return {
            "schema": SCHEMA,
            "version": VERSION,
            "software_version": __version__,
            "recording": {
                "duration_s": round(self.duration_s, 3),
                "rate_hz": meta.rate_hz,
                "device_name": meta.device_name,
                "angles_source": self.angles_source,
                "forward_ambiguous": self.forward_ambiguous,
                "walking_found": self.walking_found,
                "rejected_contacts": self.rejected_contacts,
            },
            "contacts": contacts if lazy else list(contacts),
            "steps": steps if lazy else list(steps),
            "bouts": self.bouts(),
            "per_side": per_side,
            "pace": {
                **pace_json([e.step for e in self.events if e.step is not None and e.step.valid]),
                "pendulum_m": None if tr.pendulum_m is None else round(tr.pendulum_m, 3),
                "model": "step length = 1.35 x inverted pendulum (Zijlstra & Hof 2003), "
                "pendulum = sensor height or 0.53 x body height; error vs the IPOL 10 m "
                "walkway in docs/validation.md",
            },
            "symmetry": {
                "drop_si_pct": _si_json(drop_si),
                "step_time_si_pct": _si_json(step_si),
                "confidence": sym.confidence,
                "definition": "SI = (R - L) / (0.5 (R + L)) * 100; R = right stance drop / right "
                "step time",
            },
            "verdict": tr.verdict_.to_json(),
            "first_asymmetric_verdict": None
            if first is None
            else {"t_s": round(first[1], 4), **first[0].to_json()},
            "board": board_doc(self.meta, self.settings_changed_t_s),
        }

    @property
    def uncertain_sides(self) -> int:
        """Contacts whose side is uncertain (|side score| under ``SIDE_CERTAIN_SCORE``): what
        the live view, the summary and the report count."""
        return sum(abs(e.contact.side_score) < SIDE_CERTAIN_SCORE for e in self.events)

    def summary_text(self) -> str:
        tr = self.tracker
        sym = tr.symmetry_
        d = {s: sym.drop_deg[s] for s in SIDES}
        st = {s: sym.step_s[s] for s in SIDES}
        step_si = sym.step_time_si()
        if not self.walking_found:
            return self.no_walking_text()
        uncertain = self.uncertain_sides
        lines = [
            f"Walk: {counted(len(self.events), 'contact')} "
            f"({sum(e.contact.side == 'left' for e in self.events)} left, "
            f"{sum(e.contact.side == 'right' for e in self.events)} right), "
            f"{counted(len(self.bouts()), 'bout')}, {self.duration_s:.1f} s"
            + (f"; side uncertain for {uncertain} of them" if uncertain else ""),
            f"Drop of the swing side: right stance {_ms(d['right'], '°')}, "
            f"left stance {_ms(d['left'], '°')}; {drop_difference_words(sym)}",
            f"Step time: right {_ms(st['right'], ' s', 3)}, left {_ms(st['left'], ' s', 3)}; "
            f"{step_time_words(step_si)}",
            self._pace_text(),
            f"Verdict: {tr.verdict_.text}",
        ]
        if self.forward_ambiguous:
            lines.append(f"Warning: {FORWARD_AMBIGUOUS} (docs/gait.md).")
        changed = settings_change_words(board_doc(self.meta, self.settings_changed_t_s))
        if changed:
            lines.append(f"Note: {changed}.")
        return "\n".join(lines)

    def no_walking_text(self) -> str:
        """What the summary and the report say instead of a verdict when no walking was
        found (the plausibility gate)."""
        n = self.rejected_contacts
        return (
            f"No walking found in {self.duration_s:.1f} s: no steady rhythm of steps "
            f"({n} isolated peak{'' if n == 1 else 's'} discarded), so no contacts, steps "
            "or verdict. Is this a walking recording, with the sensor on the pelvis?"
        )

    def _pace_text(self) -> str:
        steps = [e.step for e in self.events if e.step is not None and e.step.valid]
        pace = pace_json(steps)
        if pace["cadence_steps_per_min"] is None:
            return "Cadence: —"
        text = f"Cadence {pace['cadence_steps_per_min']:.0f} steps/min, stride time " + (
            "—" if pace["stride_time_s"] is None else f"{pace['stride_time_s']:.2f} s"
        )
        if pace["speed_mps"] is None:
            return text + "; step length and speed: give the height (--height) to estimate them"
        tr = self.tracker
        sl = {s: tr.pace_["step_length_m"][s] for s in SIDES}
        return (
            text + f"; gait speed {pace['speed_mps']:.2f} m/s; step length right "
            f"{_ms(sl['right'], ' m', 2)}, left {_ms(sl['left'], ' m', 2)} (about ±7 % over "
            "10 m: docs/validation.md)"
        )


def pace_json(steps: list[Step]) -> dict[str, Any]:
    """Cadence (steps/min, from the mean step time), mean stride time (s) and gait speed
    (m/s: total step length over total step time; None without step lengths) of valid steps."""
    step_s = [s.step_s for s in steps]
    stride = [s.stride_s for s in steps if not math.isnan(s.stride_s)]
    with_length = [s for s in steps if not math.isnan(s.step_length_m)]
    speed = (
        sum(s.step_length_m for s in with_length) / sum(s.step_s for s in with_length)
        if with_length
        else None
    )
    return {
        "cadence_steps_per_min": round(60.0 / float(np.mean(step_s)), 2) if step_s else None,
        "stride_time_s": round(float(np.mean(stride)), 4) if stride else None,
        "speed_mps": None if speed is None else round(float(speed), 3),
    }


def _ms(s: Any, unit: str, digits: int = 1) -> str:
    if s.n == 0:
        return "—"
    sd = "" if math.isnan(s.sd) else f" ± {s.sd:.{digits}f}"
    return f"{s.mean:.{digits}f}{sd}{unit} (n={s.n})"


def _si_json(si: tuple[float, float, float]) -> dict[str, Any]:
    v, lo, hi = (None if math.isnan(x) else round(x, 3) for x in si)
    return {"value": v, "ci": [lo, hi]}


def drop_difference_words(sym: Any) -> str:
    """The drop difference as the live view and the summary both say it: which side's swing
    side dropped more, by how much, with the interval of that same amount."""
    r, l_ = sym.drop_deg["right"], sym.drop_deg["left"]
    if r.n == 0 or l_.n == 0:
        return "difference: not yet measured"
    d = r.mean - l_.mean
    if abs(d) < 0.05:
        return "the same drop in both stances"
    swing, stance = ("left", "right") if d > 0 else ("right", "left")
    return f"the {swing} side dropped {abs(d):.1f}° more (during {stance} stance)"


def step_time_words(si: tuple[float, float, float]) -> str:
    """Step-time asymmetry in words with its interval (same sign convention throughout)."""
    v, lo, hi = si
    if math.isnan(v):
        return "asymmetry: not yet measured"
    if abs(v) < 0.05:  # shows as 0.0 %: neither side is longer
        return f"steps equally long on both sides (95 % CI {lo:.1f} to {hi:.1f} %, + right longer)"
    longer, a, b = ("right", lo, hi) if v >= 0 else ("left", -hi, -lo)
    return f"{longer} steps {abs(v):.1f} % longer (95 % CI {a:.1f} to {b:.1f} %)"


MOUNTING_PREFIX_S = 120.0
"""A recording's first 2 minutes are held (at 100 Hz about 7 MB) until the angles' source and
mounting are decided: whether the board's angles are there, the still second and the walk
that locate an unknown mounting, the contact detector's learned left axis (a hint to the
forward sign). A recording no longer than this is checked whole before it is analysed."""
MOUNTING_PREFIX_MAX_S = 600.0
"""An unknown mounting is estimated from the first walk; the prefix grows to at most this
until that walk (the detector's first contact plus the walk window) is in it."""
WALK_WINDOW_S = 8.0
"""Seconds of walking, from 0.5 s before the first contact, that give an unknown mounting."""


def analyse_walk(
    recording: Recording,
    *,
    axes: str | None = None,
    chunk_samples: int = CHUNK_SAMPLES,
    min_steps: int = 10,
    min_difference_deg: float = 1.0,
    height_cm: float | None = None,
    sensor_height_m: float | None = None,
) -> WalkAnalysis:
    """Analyse ``recording`` as a walk (registered as ``walk`` in :mod:`hipsense.analysis`).

    axes: the pelvis axes in sensor axes (``z,-y,x``) when the recording's mounting is unknown;
    without it a raw-only recording's mounting comes from its metadata or from its first still
    second and walk. ``sensor_height_m`` (the sensor's height above the floor, standing) or
    ``height_cm`` (the person's height; the leg is 0.53 of it) gives the inverted pendulum's
    length for step length and gait speed; without either they are not estimated.
    ``chunk_samples``: samples fed per update (any size gives the same events); ``min_steps``
    per side before a verdict; ``min_difference_deg``: the smallest drop difference called
    asymmetric. The same code reads a file chunk by chunk (:func:`analyse_walk_chunks`); here
    the per-sample angles are kept too (``angles_deg``, for the report's gait cycles).
    """
    return analyse_walk_chunks(
        RecordingChunks.of(recording, CHUNK_ROWS), axes=axes, chunk_samples=chunk_samples,
        min_steps=min_steps, min_difference_deg=min_difference_deg, height_cm=height_cm,
        sensor_height_m=sensor_height_m, recording=recording,
    )  # fmt: skip


def analyse_walk_chunks(
    chunks: RecordingChunks,
    *,
    axes: str | None = None,
    chunk_samples: int = CHUNK_SAMPLES,
    min_steps: int = 10,
    min_difference_deg: float = 1.0,
    height_cm: float | None = None,
    sensor_height_m: float | None = None,
    recording: Recording | None = None,
) -> WalkAnalysis:
    """:func:`analyse_walk` on a recording read chunk by chunk (``hipsense analyze`` on a
    file): memory holds one chunk, the first :data:`MOUNTING_PREFIX_S` and the results (one
    event per contact), whatever the length. ``recording``: the same recording in memory, whose
    per-sample angles are then kept for the report."""
    meta = chunks.meta
    stored_cm = meta.extra.get("height_cm")  # the height `hipsense walk` was given
    if (
        height_cm is None
        and isinstance(stored_cm, (int, float))
        and not isinstance(stored_cm, bool)
    ):
        height_cm = float(stored_cm)
    pendulum_m = sensor_height_m
    if pendulum_m is None and height_cm is not None:
        pendulum_m = LEG_PER_HEIGHT * height_cm / 100.0
    if pendulum_m is not None and not 0.3 <= pendulum_m <= 1.5:
        raise InputError(
            f"a sensor height of {pendulum_m:.2f} m is not plausible: give the height in cm "
            "(e.g. --height 172)"
        )
    rate = meta.rate_hz
    check_raw_content(chunks.content != CONTENT_ANGLES, rate)
    checks = RawChecks(rate)
    frames = chunks.columns()  # numpy arrays: no pandas for a file of plain numbers
    needs_walk = axes is None and meta.mounting is None
    changes: list[float] = []
    prefix, rest, ended = _prefix(frames, checks, rate, changes, needs_walk=needs_walk)
    if ended:
        checks.check(final=True)  # the whole recording is in: checked before it is analysed
    t, acc, gyr, ang = _joined(prefix)
    mounting: FloatArray | None = None
    ambiguous = False
    if ang is not None and axes is None and not np.isnan(ang[:, 1]).all():
        source = "recording"
    else:
        ang = None
        contacts_s = left_hint = None
        if axes is None and meta.mounting is None:  # estimated from the prefix
            probe = ContactDetector(rate)
            probe.update(t, acc, gyr)
            contacts_s = np.array([c.t_s for c in probe.contacts_])
            left_hint = probe.learned_left_axis()
        mounting, source, ambiguous = host_mounting(
            meta.mounting, axes, t, acc, rate, walk_s=WALK_WINDOW_S, contacts_s=contacts_s,
            left_hint=left_hint,
        )  # fmt: skip
    host = None if mounting is None else HostAngles(rate, mounting)
    # the board's angles come with the mounting it used: its left axis labels the first steps
    # (as the live view does), where a learned axis needs a few regular steps first
    side_mounting = mounting if mounting is not None else meta.mounting
    tracker = WalkTracker(
        rate,
        min_steps=min_steps,
        min_difference_deg=min_difference_deg,
        detector=ContactDetector(rate, left_axis=None if side_mounting is None else
                                 left_axis_sensor(side_mounting)),
        pendulum_m=pendulum_m,
    )  # fmt: skip
    kept: list[FloatArray] = []

    def feed(t: FloatArray, acc: FloatArray, gyr: FloatArray, ang: FloatArray | None) -> None:
        angles = host.update(acc, gyr) if host is not None else ang
        assert angles is not None
        for i in range(0, t.shape[0], chunk_samples):
            j = i + chunk_samples
            tracker.update(t[i:j], acc[i:j], gyr[i:j], angles[i:j])
        if recording is not None:
            kept.append(angles)

    feed(t, acc, gyr, ang)
    t_first = float(t[0])
    del prefix, t, acc, gyr, ang
    if rest is not None:
        feed(*rest)
        del rest
    if not ended:
        for frame in frames:
            t, acc, gyr, ang = chunk_arrays(frame)
            changes += settings_changes_t_s(frame)
            checks.add(t, acc, gyr)
            checks.check(final=False)
            feed(t, acc, gyr, ang if host is None else None)
        checks.check(final=True)
    duration_s = checks.t_last_s - t_first + 1.0 / rate
    angles_deg = np.concatenate(kept) if kept else None
    rejected = 0
    if not any(e.contact.walking for e in tracker.events_):  # the plausibility gate
        rejected = len(tracker.events_)
        tracker = WalkTracker(rate, min_steps=min_steps, min_difference_deg=min_difference_deg,
                              pendulum_m=pendulum_m)  # fmt: skip
    return WalkAnalysis(
        meta, duration_s, tracker, source, ambiguous, recording, angles_deg, changes,
        walking_found=rejected == 0 and bool(tracker.events_), rejected_contacts=rejected,
    )  # fmt: skip


Arrays = tuple[FloatArray, FloatArray, FloatArray, FloatArray | None]


def _prefix(
    frames: Iterator[Columns],
    checks: RawChecks,
    rate_hz: float,
    changes: list[float],
    *,
    needs_walk: bool,
) -> tuple[list[Arrays], Arrays | None, bool]:
    """The recording's first :data:`MOUNTING_PREFIX_S` of samples (more, up to
    :data:`MOUNTING_PREFIX_MAX_S`, until an unknown mounting's first walk window is in it),
    the rest of the chunk it ends in, and whether it is the whole recording (``changes``
    collects the settings-change times of the chunks read). Where it ends
    depends on the samples only (the first contact is found causally), never on the chunks;
    it is counted in samples, so a damaged time column cannot shrink it."""
    held: list[Arrays] = []
    n_held = 0
    n_min = max(1, round(min(MOUNTING_PREFIX_S * rate_hz, 1e15)))  # a huge rate_hz: all
    n_max = max(n_min, round(min(MOUNTING_PREFIX_MAX_S * rate_hz, 1e15)))
    probe = ContactDetector(rate_hz) if needs_walk else None
    for frame in frames:
        arrays = chunk_arrays(frame)
        changes += settings_changes_t_s(frame)
        t = arrays[0]
        checks.add(t, arrays[1], arrays[2])
        checks.check(final=False)
        n_end = n_min
        if probe is not None:
            probe.update(t, arrays[1], arrays[2])
            if probe.contacts_:
                end_s = probe.contacts_[0].t_s - 0.5 + WALK_WINDOW_S
                n_end = max(n_min, _index_at(held, n_held, t, end_s))
            else:
                n_end = n_max
            n_end = min(n_end, n_max)
        cut = n_end - n_held
        if cut >= t.shape[0]:
            held.append(arrays)
            n_held += t.shape[0]
            continue
        if cut > 0:
            held.append(_rows(arrays, slice(0, cut)))
        return held, _rows(arrays, slice(max(cut, 0), None)), False
    if not held:
        raise InputError("the recording holds no samples")
    return held, None, True


def _index_at(held: list[Arrays], n_held: int, t: FloatArray, time_s: float) -> int:
    """The index in the recording of the first sample at or after ``time_s``, among the held
    chunks (``n_held`` samples) and the current chunk's times ``t``."""
    if t.shape[0] == 0 or time_s >= t[0]:
        return n_held + int(np.searchsorted(t, time_s))
    start = n_held
    for arrays in reversed(held):
        start -= arrays[0].shape[0]
        if time_s >= arrays[0][0]:
            return start + int(np.searchsorted(arrays[0], time_s))
    return 0


def _joined(parts: list[Arrays]) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray | None]:
    t = np.concatenate([p[0] for p in parts])
    acc = np.concatenate([p[1] for p in parts])
    gyr = np.concatenate([p[2] for p in parts])
    angles = [p[3] for p in parts]
    ang = None if any(a is None for a in angles) else np.concatenate(angles)  # type: ignore[arg-type]
    return t, acc, gyr, ang


def _rows(arrays: Arrays, rows: slice) -> Arrays:
    t, acc, gyr, ang = arrays
    return t[rows], acc[rows], gyr[rows], None if ang is None else ang[rows]


def events_equal(a: list[WalkEvent], b: list[WalkEvent]) -> bool:
    """Exact equality of two event lists (NaN equal to NaN)."""
    if len(a) != len(b):
        return False
    for x, y in zip(a, b, strict=True):
        if x.contact != y.contact:
            return False
        if (x.step is None) != (y.step is None):
            return False
        if x.step is not None and y.step is not None:
            vx = np.array([v for f in STEP_FIELDS if isinstance(v := getattr(x.step, f), float)])
            vy = np.array([v for f in STEP_FIELDS if isinstance(v := getattr(y.step, f), float)])
            if not np.array_equal(vx, vy, equal_nan=True):
                return False
    return True

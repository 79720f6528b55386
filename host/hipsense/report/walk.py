"""The walk report on the shared layout (:mod:`hipsense.report.layout`): the verdict in words,
the drop per side against the MDC band, gait-cycle curves left vs right and the per-step drop."""

from __future__ import annotations

import itertools
import math
from typing import TYPE_CHECKING, Any

import numpy as np

from hipsense.conventions import SIDES
from hipsense.conventions.words import counted
from hipsense.motion.sources import FloatArray
from hipsense.report.layout import (
    SIDE_COLOURS,
    Chart,
    Page,
    Row,
    board_lines,
    fmt,
    fmt_difference,
    header_for,
    pyplot,
)

if TYPE_CHECKING:
    from hipsense.analysis.walk import WalkAnalysis
    from hipsense.detectors.walk.tracker import Step

CYCLE_POINTS = 101
_ANGLES = ("tilt_deg", "obliquity_deg", "rotation_deg")


def gait_cycles(analysis: WalkAnalysis) -> dict[str, FloatArray]:
    """Per side: (cycles, 101, 3) angles over the normalised stride from that side's contact
    to its next contact (two valid steps of one bout), angles relative to the contact."""
    if analysis.recording is None or analysis.angles_deg is None:  # analysed in chunks
        return {s: np.empty((0, CYCLE_POINTS, 3)) for s in SIDES}
    t = analysis.recording.data["t_s"].to_numpy()
    ang = analysis.angles_deg
    steps = [e.step for e in analysis.events if e.step is not None]
    out: dict[str, list[FloatArray]] = {s: [] for s in SIDES}
    grid = np.linspace(0.0, 1.0, CYCLE_POINTS)
    for a, b in itertools.pairwise(steps):
        if not (a.valid and b.valid and a.bout == b.bout and a.t_end_s == b.t_start_s):
            continue
        t0, t1 = a.t_start_s, b.t_end_s
        i0, i1 = np.searchsorted(t, [t0, t1])
        if i1 - i0 < 4:
            continue
        u = (t[i0:i1] - t0) / (t1 - t0)
        cyc = np.column_stack([np.interp(grid, u, ang[i0:i1, k]) for k in range(3)])
        out[a.stance_side].append(cyc)
    return {s: np.array(v) if v else np.empty((0, CYCLE_POINTS, 3)) for s, v in out.items()}


MDC_DEG = 4.0
MDC_SOURCE = "Youdas et al. 2007, static Trendelenburg test"
DROP_STATUS = {
    "not_enough_data": "too few stances to judge",
    "within_noise": "within measurement noise",
    "below_mdc": "within the MDC",
    "beyond_mdc": "beyond the MDC",
}
"""The drop row's status for each grade of the verdict (detectors.walk.symmetry.TIERS)."""


def build_page(analysis: WalkAnalysis, patient: dict[str, Any] | None = None) -> Page:
    """The walk report's page."""
    tr = analysis.tracker
    sym = tr.symmetry_
    doc = analysis.to_json()
    drop = {s: sym.drop_deg[s] for s in SIDES}
    step = {s: sym.step_s[s] for s in SIDES}
    rows: list[Row] = []
    tiers = doc["verdict"]["tiers"]
    if drop["left"].n and drop["right"].n:
        rows.append(Row(
            "drop of the swing side (during this side's stance)",
            fmt(drop["left"].mean, "°"), fmt(drop["right"].mean, "°"),
            fmt_difference(drop["right"].mean, drop["left"].mean, "°"),
            f"difference within ±{MDC_DEG:g}° (MDC, {MDC_SOURCE})",
            DROP_STATUS[tiers["drop"]["tier"]],  # the verdict's grade, never another rule
        ))  # fmt: skip
    if step["left"].n and step["right"].n:
        si = doc["symmetry"]["step_time_si_pct"]["value"]
        rows.append(Row(
            "step time (step ending at this side's contact)",
            fmt(step["left"].mean, "s", 3), fmt(step["right"].mean, "s", 3),
            fmt_difference(step["right"].mean, step["left"].mean, "s", 3),
            "no validated reference band",
            "too few steps to judge" if tiers["step_time"]["tier"] == "not_enough_data"
            else "" if si is None else "steps equally long" if abs(si) < 0.05
            else f"right steps {abs(si):.1f} % " + ("longer" if si >= 0 else "shorter"),
        ))  # fmt: skip
    length = {s: tr.pace_["step_length_m"][s] for s in SIDES}
    if length["left"].n and length["right"].n:  # with the height: as the summary gives them
        rows.append(Row(
            "step length", fmt(length["left"].mean, "m", 2), fmt(length["right"].mean, "m", 2),
            fmt_difference(length["right"].mean, length["left"].mean, "m", 2),
            "no reference band; about ±7 % over 10 m (docs/validation.md)",
        ))  # fmt: skip
    for key, label, unit, digits in (("cadence_steps_per_min", "cadence", "steps/min", 0),
                                     ("speed_mps", "walking speed", "m/s", 2)):  # fmt: skip
        value = doc.get(key, (doc.get("pace") or {}).get(key))
        if isinstance(value, (int, float)):
            rows.append(Row(label, whole=fmt(float(value), unit, digits)))
    n_left = sum(e.contact.side == "left" for e in analysis.events)
    n_right = sum(e.contact.side == "right" for e in analysis.events)
    verdict = [tr.verdict_.text if analysis.walking_found else analysis.no_walking_text(),
               f"{n_left} left and {n_right} right foot contacts over "
               f"{analysis.duration_s:.0f} s of recording"
               + (f"; the side is uncertain for {analysis.uncertain_sides} of them."
                  if analysis.uncertain_sides else ".")]  # fmt: skip
    caution, board_notes = board_lines(doc)
    if analysis.forward_ambiguous:  # beside the left/right figures, not only in the notes
        from hipsense.analysis.walk import FORWARD_AMBIGUOUS

        caution.insert(0, f"Caution: {FORWARD_AMBIGUOUS}.")
    verdict += caution
    angles = analysis.angles_source
    if angles == "recording":
        angles = "the sensor's own, as recorded"
    notes = [
        "There is no validated cut-off for a positive Trendelenburg sign in walking measured "
        "with a sensor; the static test's minimal detectable change (4°, Youdas et al. 2007) "
        "is the band shown.",
        "Obliquity > 0: left side higher; tilt > 0: anterior; rotation > 0: turned left. "
        f"Angles: {angles}.",
        *board_notes,
    ]
    return Page("Walk report", header_for(analysis.meta, patient), verdict, rows,
                [_cycle_chart(analysis), _drop_chart(analysis)], notes)  # fmt: skip


def _cycle_chart(analysis: WalkAnalysis) -> Chart:
    title = "Pelvis over the gait cycle, left vs right (mean ± SD)"
    cycles = gait_cycles(analysis)
    if all(cycles[s].shape[0] == 0 for s in SIDES):
        return Chart(title, not_applicable="no complete stride was found")
    plt = pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    pct = np.linspace(0, 100, CYCLE_POINTS)
    for k, (ax, name) in enumerate(zip(axes, _ANGLES, strict=True)):
        for side in SIDES:
            c = cycles[side]
            if c.shape[0] == 0:
                continue
            rel = c[:, :, k] - c[:, :1, k]
            mean, sd = rel.mean(axis=0), rel.std(axis=0)
            ax.plot(
                pct,
                mean,
                color=SIDE_COLOURS[side],
                label=f"{side} ({counted(c.shape[0], 'stride')})",
            )
            ax.fill_between(pct, mean - sd, mean + sd, color=SIDE_COLOURS[side], alpha=0.2)
        ax.set_title(name.replace("_deg", "") + " (° from the contact)")
        ax.set_xlabel("% of the stride from the side's contact")
        ax.grid(alpha=0.3)
    axes[0].legend()
    fig.tight_layout()
    return Chart(title, fig, caption="Each curve starts at that side's initial contact.")


def _drop_chart(analysis: WalkAnalysis) -> Chart:
    title = "Drop of the swing side, step by step"
    series = {}
    for side in SIDES:
        steps = [e.step for e in analysis.events
                 if e.step is not None and e.step.valid and e.step.stance_side == side
                 and not math.isnan(e.step.drop_deg)]  # fmt: skip
        if steps:
            series[side] = steps
    if not series:
        return Chart(title, not_applicable="no valid step was found")
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(10, 3.5))
    for side, steps in series.items():
        for k, run in enumerate(consecutive_runs(steps)):
            label = f"{side} stance" if k == 0 else None
            x, y = [s.t_start_s for s in run], [s.drop_deg for s in run]
            ax.plot(x, y, "o-", color=SIDE_COLOURS[side], label=label)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("drop of the swing side (°)")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    return Chart(title, fig)


def consecutive_runs(steps: list[Step]) -> list[list[Step]]:
    """One side's steps split where they are not consecutive (another bout, or a step between
    left out: a turn, an invalid step), so a chart's line does not bridge the gap."""
    runs: list[list[Step]] = []
    for s in steps:
        if runs and runs[-1][-1].bout == s.bout and s.index - runs[-1][-1].index == 2:
            runs[-1].append(s)
        else:
            runs.append([s])
    return runs

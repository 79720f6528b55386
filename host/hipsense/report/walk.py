"""The walk report: an HTML page with matplotlib figures (gait-cycle curves left vs right,
per-step drop over time) and the verdict in words."""

from __future__ import annotations

import html
import itertools
import math
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from hipsense.conventions import SIDES
from hipsense.motion.sources import FloatArray

if TYPE_CHECKING:
    from hipsense.analysis.walk import WalkAnalysis

CYCLE_POINTS = 101
_COLOURS = {"left": "tab:blue", "right": "tab:red"}
_ANGLES = ("tilt_deg", "obliquity_deg", "rotation_deg")


def gait_cycles(analysis: WalkAnalysis) -> dict[str, FloatArray]:
    """Per side: (cycles, 101, 3) angles over the normalised stride from that side's contact
    to its next contact (two valid steps of one bout), angles relative to the contact."""
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


def write_report(analysis: WalkAnalysis, out_dir: Path) -> Path:
    """Write ``walk_report.html`` and its PNG figures into ``out_dir``; returns the HTML path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir.mkdir(parents=True, exist_ok=True)
    cycles = gait_cycles(analysis)
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    pct = np.linspace(0, 100, CYCLE_POINTS)
    for k, (ax, name) in enumerate(zip(axes, _ANGLES, strict=True)):
        for side in SIDES:
            c = cycles[side]
            if c.shape[0] == 0:
                continue
            rel = c[:, :, k] - c[:, :1, k]
            mean, sd = rel.mean(axis=0), rel.std(axis=0)
            ax.plot(pct, mean, color=_COLOURS[side], label=f"{side} ({c.shape[0]} strides)")
            ax.fill_between(pct, mean - sd, mean + sd, color=_COLOURS[side], alpha=0.2)
        ax.set_title(name.replace("_deg", "") + " (° from the contact)")
        ax.set_xlabel("% of the stride from the side's contact")
        ax.grid(alpha=0.3)
    axes[0].legend()
    fig.tight_layout()
    fig.savefig(out_dir / "walk_cycles.png", dpi=90)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(10, 3.5))
    for side in SIDES:
        pts = [(e.step.t_start_s, e.step.drop_deg) for e in analysis.events
               if e.step is not None and e.step.valid and e.step.stance_side == side
               and not math.isnan(e.step.drop_deg)]  # fmt: skip
        if pts:
            x, y = zip(*pts, strict=True)
            ax.plot(x, y, "o-", color=_COLOURS[side], label=f"{side} stance")
    ax.set_xlabel("time (s)")
    ax.set_ylabel("drop of the swing side (°)")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out_dir / "walk_drop.png", dpi=90)
    plt.close(fig)

    summary = html.escape(analysis.summary_text()).replace("\n", "<br>\n")
    verdict = html.escape(analysis.tracker.verdict_.text)
    page = f"""<!doctype html>
<html><head><meta charset="utf-8"><title>hipsense walk report</title>
<style>body{{font-family:sans-serif;max-width:1100px;margin:2em auto}}</style></head><body>
<h1>Walk report</h1>
<h2>Verdict</h2><p><strong>{verdict}</strong></p>
<h2>Summary</h2><p>{summary}</p>
<h2>Pelvis over the gait cycle, left vs right (mean ± SD)</h2>
<img src="walk_cycles.png" alt="tilt, obliquity and rotation over the gait cycle">
<p>Each curve starts at that side's initial contact; obliquity &gt; 0: left side higher;
tilt &gt; 0: anterior; rotation &gt; 0: turned left (right side forward).
Angles: {html.escape(analysis.angles_source)}.</p>
<h2>Drop of the swing side per step</h2>
<img src="walk_drop.png" alt="per-step drop over time">
<p>There is no validated IMU cut-off for a positive Trendelenburg sign in walking; the
static test's minimal detectable change is 4° (Youdas et al. 2007). See docs/gait.md.</p>
</body></html>
"""
    path = out_dir / "walk_report.html"
    path.write_text(page, encoding="utf-8")
    return path

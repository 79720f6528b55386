"""HTML report of a bridge analysis: lift over time with the reps marked, per-side bars."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from hipsense.detectors.bridge.frame import unit_rows

if TYPE_CHECKING:
    from hipsense.analysis.bridge import BridgeAnalysis


def write_bridge_report(analysis: BridgeAnalysis, out_dir: Path) -> Path:
    """Write ``bridge.html`` and its PNG figures into ``out_dir``; return the HTML path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir.mkdir(parents=True, exist_ok=True)
    run, doc = analysis.run, analysis.doc
    det = run.detector
    assert det.frame_ is not None
    t = run.cat("t_s")
    lift, drop = det.frame_.angles_deg(unit_rows(run.cat("acc_pelvis_mps2")))
    keep = t >= (det.rest_t_s_ or 0.0) - 1.0
    fig, ax = plt.subplots(2, 1, figsize=(10, 5), sharex=True)
    ax[0].plot(t[keep], lift[keep], lw=0.8)
    ax[0].set_ylabel("lift (°)")
    ax[1].plot(t[keep], drop[keep], lw=0.8, color="tab:orange")
    ax[1].set_ylabel("hip drop (°, + left higher)")
    ax[1].set_xlabel("time (s)")
    colours = {"both": "tab:green", "left": "tab:blue", "right": "tab:red"}
    for i, rep in enumerate(doc["reps"], 1):
        for a in ax:
            a.axvspan(rep["top_t_s"], rep["hold_end_t_s"], alpha=0.15,
                      color=colours[rep["support_side"]])  # fmt: skip
        ax[0].text(rep["top_t_s"], rep["lift_deg"] + 1, str(i), fontsize=8)
    ax[0].set_title("bridges: holds shaded (green double-leg, blue left leg, red right leg)")
    fig.tight_layout()
    trace_png = out_dir / "bridge_lift.png"
    fig.savefig(trace_png, dpi=100)
    plt.close(fig)

    sides = list(doc["per_side"])
    keys = (("mean_lift_deg", "lift (°)"), ("mean_hold_s", "hold (s)"),
            ("mean_free_side_drop_deg", "free-side drop (°)"))  # fmt: skip
    fig, axes = plt.subplots(1, 3, figsize=(10, 3.5))
    for a, (key, label) in zip(axes, keys, strict=True):
        vals = [doc["per_side"][s][key] for s in sides]
        a.bar(sides, [np.nan if v is None else v for v in vals],
              color=[colours[s] for s in sides])  # fmt: skip
        a.set_title(label)
    fig.tight_layout()
    bars_png = out_dir / "bridge_sides.png"
    fig.savefig(bars_png, dpi=100)
    plt.close(fig)

    page = out_dir / "bridge.html"
    page.write_text(
        "<!doctype html><meta charset='utf-8'><title>hipsense bridges</title><h1>Bridges</h1>"
        f"<pre>{html.escape(analysis.summary_text())}</pre>"
        f"<img src='{trace_png.name}'><h2>Per side</h2><img src='{bars_png.name}'>"
        f"<h2>JSON</h2><pre>{html.escape(json.dumps(doc, indent=1))}</pre>",
        encoding="utf-8",
    )
    return page

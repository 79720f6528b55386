"""HTML report of a stance analysis: obliquity/tilt traces and sway ellipses per side."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from hipsense.analysis.balance import BalanceAnalysis


def write_balance_report(analysis: BalanceAnalysis, out_dir: Path) -> Path:
    """Write ``balance.html`` and its PNG figures into ``out_dir``; return the HTML path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir.mkdir(parents=True, exist_ok=True)
    run, doc = analysis.run, analysis.doc
    t, tilt, obl = run.cat("t_s"), run.cat("tilt_deg"), run.cat("obliquity_deg")
    fig, ax = plt.subplots(2, 1, figsize=(10, 5), sharex=True)
    ax[0].plot(t, obl, lw=0.8)
    ax[0].set_ylabel("obliquity (°, + left higher)")
    ax[1].plot(t, tilt, lw=0.8, color="tab:orange")
    ax[1].set_ylabel("tilt (°, + anterior)")
    ax[1].set_xlabel("time (s)")
    for tr in doc["trials"]:
        for a in ax:
            a.axvspan(
                tr["lift_off_t_s"],
                tr["end_t_s"],
                alpha=0.12,
                color="tab:blue" if tr["stance_side"] == "left" else "tab:red",
            )
            for td in tr["touch_downs"]:
                a.axvline(td["down_t_s"], color="k", lw=0.8, ls="--")
    ax[0].set_title("single-leg stance (blue: on the left leg, red: on the right leg)")
    fig.tight_layout()
    trace_png = out_dir / "balance_trace.png"
    fig.savefig(trace_png, dpi=100)
    plt.close(fig)

    fig, axes = plt.subplots(1, 2, figsize=(9, 4.5), sharex=True, sharey=True)
    for a, side in zip(axes, ("left", "right"), strict=True):
        for tr in (x for x in doc["trials"] if x["stance_side"] == side):
            sel = (t >= tr["lift_off_t_s"]) & (t < tr["end_t_s"])
            x = obl[sel] - tr["baseline_obliquity_deg"]
            y = tilt[sel] - tr["baseline_tilt_deg"]
            a.plot(x, y, lw=0.5)
            if x.size > 2:
                _ellipse(a, x, y)
        a.set_title(f"on the {side} leg")
        a.set_xlabel("obliquity change (°)")
        a.axhline(0, color="grey", lw=0.5)
        a.axvline(0, color="grey", lw=0.5)
    axes[0].set_ylabel("tilt change (°)")
    fig.tight_layout()
    sway_png = out_dir / "balance_sway.png"
    fig.savefig(sway_png, dpi=100)
    plt.close(fig)

    page = out_dir / "balance.html"
    page.write_text(
        "<!doctype html><meta charset='utf-8'><title>hipsense single-leg stance</title>"
        "<h1>Single-leg stance</h1>"
        f"<pre>{html.escape(analysis.summary_text())}</pre>"
        f"<img src='{trace_png.name}'><h2>Sway (95 % ellipse)</h2><img src='{sway_png.name}'>"
        f"<h2>JSON</h2><pre>{html.escape(json.dumps(doc, indent=1))}</pre>",
        encoding="utf-8",
    )
    return page


def _ellipse(ax: object, x: np.ndarray, y: np.ndarray) -> None:
    """Draw the 95 % confidence ellipse of (x, y)."""
    cov = np.cov(np.vstack([x, y]))
    vals, vecs = np.linalg.eigh(cov)
    ang = np.linspace(0, 2 * np.pi, 100)
    circle = np.vstack([np.cos(ang), np.sin(ang)]) * np.sqrt(5.991 * np.maximum(vals, 0))[:, None]
    pts = vecs @ circle
    ax.plot(pts[0] + x.mean(), pts[1] + y.mean(), color="k", lw=1.2)  # type: ignore[attr-defined]

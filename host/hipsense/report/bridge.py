"""The bridge report on the shared layout (:mod:`hipsense.report.layout`): the verdict in
words, lift, hold and sag per leg against the MDC band, the lift trace with the reps and the
per-side bars."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hipsense.detectors.bridge.frame import unit_rows
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
    from hipsense.analysis.bridge import BridgeAnalysis

MDC_DEG = 6.59
MDC_SOURCE = "MDC95, Andrade et al. 2012"


def verdict_lines(doc: dict[str, Any]) -> list[str]:
    given = doc.get("verdict")
    if isinstance(given, dict) and given.get("text"):
        return [str(given["text"])]
    if isinstance(given, str) and given:
        return [given]
    c = doc.get("comparison") or {}
    lines = []
    if c:
        if c.get("weaker_side"):
            lines.append(f"The {c['weaker_side']} leg is weaker in the bridge: {c['reason']}.")
        else:
            lines.append(f"No leg stands out: {c['reason']}.")
    else:
        legs = sorted({s["support_side"] for s in doc["sets"]} - {"both"})
        if legs:  # one leg only: a set cut short, or the protocol asked for one side
            lines.append(f"Only the {legs[0]} leg was tested: no left-right comparison.")
        elif doc["sets"]:
            lines.append("Double-leg bridges only: no left-right comparison.")
        else:
            lines.append("No bridge was found in the recording.")
    for s in doc["sets"]:
        who = "both feet" if s["support_side"] == "both" else f"the {s['support_side']} leg"
        reps = f"{s['n_reps']} rep" + ("" if s["n_reps"] == 1 else "s")
        lines.append(f"{reps} on {who}: lift {s['mean_lift_deg']:.1f}°, "
                     f"hold {s['mean_hold_s']:.1f} s.")  # fmt: skip
    return lines


def build_page(analysis: BridgeAnalysis, patient: dict[str, Any] | None = None) -> Page:
    doc = analysis.to_json()
    per = doc["per_side"]
    left, right = per.get("left"), per.get("right")

    def val(s: dict[str, Any] | None, key: str, unit: str) -> str:
        if s is None:
            return "not tested"
        return fmt(s[key], unit)

    def diff(key: str, unit: str) -> str:
        if left is None or right is None or left[key] is None or right[key] is None:
            return "—"
        return fmt_difference(right[key], left[key], unit)

    sag_status = ""
    if left is not None and right is not None:
        d = right["mean_free_side_drop_deg"] - left["mean_free_side_drop_deg"]
        sag_status = "beyond the MDC" if abs(d) > MDC_DEG else "within the MDC"
    rows = [
        Row("lift", val(left, "mean_lift_deg", "°"), val(right, "mean_lift_deg", "°"),
            diff("mean_lift_deg", "°"), "no reference band"),
        Row("hold at the top", val(left, "mean_hold_s", "s"), val(right, "mean_hold_s", "s"),
            diff("mean_hold_s", "s"), "no reference band"),
        Row("sag of the free side", val(left, "mean_free_side_drop_deg", "°"),
            val(right, "mean_free_side_drop_deg", "°"), diff("mean_free_side_drop_deg", "°"),
            f"difference within ±{MDC_DEG:g}° ({MDC_SOURCE})", sag_status),
    ]  # fmt: skip
    both = per.get("both")
    if both is not None:
        rows.append(Row("double-leg bridge: lift, hold",
                        whole=f"{fmt(both['mean_lift_deg'], '°')}, "
                        f"{fmt(both['mean_hold_s'], 's')}"))  # fmt: skip
    notes = ["Lift: pelvis angle above the supine rest at the top of the rep. Sag: how far the "
             "side of the extended leg drops during the hold (positive = drops).",
             *doc.get("warnings", [])]  # fmt: skip
    caution, board_notes = board_lines(doc)
    return Page("Bridge report", header_for(analysis.recording.meta, patient),
                verdict_lines(doc) + caution, rows,
                [_lift_chart(analysis), _bars_chart(analysis)], notes + board_notes)  # fmt: skip


def _lift_chart(analysis: BridgeAnalysis) -> Chart:
    run, doc = analysis.run, analysis.to_json()
    det = run.detector
    assert det.frame_ is not None
    plt = pyplot()
    t = run.cat("t_s")
    lift, drop = det.frame_.angles_deg(unit_rows(run.cat("acc_pelvis_mps2")))
    keep = t >= (det.rest_t_s_ or 0.0) - 1.0
    fig, ax = plt.subplots(2, 1, figsize=(10, 5), sharex=True)
    ax[0].plot(t[keep], lift[keep], lw=0.8, color="k")
    ax[0].set_ylabel("lift (°)")
    ax[1].plot(t[keep], drop[keep], lw=0.8, color="k")
    ax[1].set_ylabel("hip drop (°, + left higher)")
    ax[1].set_xlabel("time (s)")
    for i, rep in enumerate(doc["reps"], 1):
        for a in ax:
            a.axvspan(rep["top_t_s"], rep["hold_end_t_s"], alpha=0.18,
                      color=SIDE_COLOURS[rep["support_side"]])  # fmt: skip
        ax[0].text(rep["top_t_s"], rep["lift_deg"] + 1, str(i), fontsize=8)
    fig.tight_layout()
    return Chart("Lift and hip drop, rep by rep", fig,
                 caption="Holds shaded: on the left leg red, on the right leg green, "
                 "double-leg grey.")  # fmt: skip


def _bars_chart(analysis: BridgeAnalysis) -> Chart:
    per = analysis.to_json()["per_side"]
    title = "Left against right"
    sides = [s for s in ("left", "right") if s in per]
    if len(sides) < 2:
        return Chart(title, not_applicable="the single-leg bridge was not done on both legs")
    plt = pyplot()
    keys = (("mean_lift_deg", "lift (°)"), ("mean_hold_s", "hold (s)"),
            ("mean_free_side_drop_deg", "sag of the free side (°)"))  # fmt: skip
    fig, axes = plt.subplots(1, 3, figsize=(10, 3.5))
    for a, (key, label) in zip(axes, keys, strict=True):
        a.bar(sides, [per[s][key] for s in sides], color=[SIDE_COLOURS[s] for s in sides])
        a.set_title(label)
    fig.tight_layout()
    return Chart(title, fig)

"""The exercise report on the shared layout (:mod:`hipsense.report.layout`): the verdict in
words (reps or holds per side, the faults past their thresholds, the harder side), per-fault
rows left against right with the threshold and its source, and each fault's peak per rep."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hipsense.analysis.exercise import count_words, fault_words, past_words, set_words
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
    from hipsense.analysis.exercise import ExerciseAnalysis


def verdict_lines(doc: dict[str, Any]) -> list[str]:
    lines = []
    words = fault_words(doc)
    for s in doc["sets"]:
        who = "" if s["side"] == "both" else f" on the {s['side']} side"
        flagged = [f"{words[k]} in {v['count']} of {s['n_reps']}"
                   for k, v in s["faults"].items() if v["count"]]  # fmt: skip
        held = f", {s['total_hold_s']:.0f} s held" if doc["mode"] == "hold" else ""
        lines.append(
            f"{count_words(s['n_reps'], doc['mode'])}{who}{held}: "
            + ("; ".join(flagged) if flagged else "no fault past its threshold")
            + "."
        )
    c = doc["comparison"]
    if c.get("fault"):
        lines.append(
            f"The {c['harder_side']} side is harder: {c['reason']}."
            if c["harder_side"]
            else f"No side is harder beyond measurement noise on the main fault ({c['reason']})."
        )
    return lines


def build_page(analysis: ExerciseAnalysis, patient: dict[str, Any] | None = None) -> Page:
    doc = analysis.doc
    per = doc["per_side"]
    left, right, both = per.get("left"), per.get("right"), per.get("both")
    rows = []
    for th in doc["thresholds"]:
        key, unit = th["fault"], th["unit"]

        def val(s: dict[str, Any] | None, key: str = key, unit: str = unit) -> str:
            if s is None:
                return "not done"
            f = s["faults"][key]
            return f"{fmt(f['mean'], unit)} mean, {past_words(f['count'], s['n_reps'])}"

        diff = ""
        if left and right and left["faults"][key]["mean"] is not None and (
                right["faults"][key]["mean"] is not None):  # fmt: skip
            diff = fmt_difference(right["faults"][key]["mean"], left["faults"][key]["mean"], unit)
        rows.append(Row(th["label"], val(left), val(right), diff,
                        f"threshold {th['threshold']:g}{'' if unit == '°' else ' '}{unit} "
                        f"({th['source']})"))  # fmt: skip
    if both is not None and left is None and right is None:  # one set without sides
        count = (("time held", fmt(both["total_hold_s"], "s")) if doc["mode"] == "hold"
                 else ("reps", str(both["n_reps"])))  # fmt: skip
        rows.append(Row(count[0], whole=count[1]))
    elif doc["mode"] == "hold":
        rows.append(Row("time held", fmt(left["total_hold_s"], "s") if left else "not done",
                        fmt(right["total_hold_s"], "s") if right else "not done"))  # fmt: skip
    else:
        rows.append(Row("reps",
                        str(left["n_reps"]) if left else "not done",
                        str(right["n_reps"]) if right else "not done"))  # fmt: skip
    charts = [_fault_chart(doc)] if doc["thresholds"] else []
    notes = [
        f"Instructions: {doc['instructions']}.",
        f"Sensor: {doc['placement']} of the belt. Each fault is the peak over a rep of the "
        "pelvis's rotation since the still start posture; no threshold for these exercises is "
        "standardised (docs/exercises.md).",
        *doc["warnings"],
    ]
    caution, board_notes = board_lines(doc)
    return Page(f"{doc['title']}", header_for(analysis.recording.meta, patient),
                verdict_lines(doc) + caution, rows, charts, notes + board_notes)  # fmt: skip


def _fault_chart(doc: dict[str, Any]) -> Chart:
    plt = pyplot()
    from matplotlib.ticker import MaxNLocator

    ths = doc["thresholds"]
    fig, axes = plt.subplots(len(ths), 1, figsize=(8.0, 2.2 * len(ths)), squeeze=False)
    for ax, th in zip(axes[:, 0], ths, strict=True):
        for s in doc["sets"]:
            xs = [r["index"] for r in s["reps"]]
            ys = [r["faults"].get(th["fault"], float("nan")) for r in s["reps"]]
            ax.plot(
                xs, ys, "o-", color=SIDE_COLOURS.get(s["side"], "0.3"), label=set_words(s["side"])
            )
        ax.axhline(th["threshold"], color="0.3", ls="--", lw=1, label="threshold")
        ax.set_ylabel(f"{th['label']} ({th['unit']})", fontsize=8)
        # outside, right of the axes: over the data it hid the threshold line
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # reps are whole
        lo, hi = ax.get_ylim()
        ax.set_ylim(min(lo, 0.0), max(hi, 0.0))  # from 0: a small peak looks small
    axes[-1, 0].set_xlabel("rep")
    fig.tight_layout()
    return Chart("Fault peak per rep", fig, caption="Each rep's peak of each fault against its "
                 "threshold (dashed); left red, right green.")  # fmt: skip

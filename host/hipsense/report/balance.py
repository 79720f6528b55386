"""The single-leg stance report on the shared layout (:mod:`hipsense.report.layout`): the
verdict in words, hold time against the age norm, the free-side drop against the MDC band,
the obliquity/tilt trace and the sway ellipses per side."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from hipsense.conventions.words import counted
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
    from hipsense.analysis.balance import BalanceAnalysis

MDC_DEG = 4.0


def verdict_lines(doc: dict[str, Any]) -> list[str]:
    """The result in plain words (the analysis's own verdict text when it gives one)."""
    given = doc.get("verdict")
    if isinstance(given, dict) and given.get("text"):
        return [str(given["text"])]
    if isinstance(given, str) and given:
        return [given]
    lines = []
    cmp_ = doc.get("comparison") or {}
    if cmp_:
        if cmp_.get("drop_difference_beyond_mdc"):
            lines.append(
                f"Standing on the {cmp_['weaker_side']} leg the free side drops more than on "
                f"the other leg, by more than the {MDC_DEG:g}° measurement noise (MDC, Youdas "
                f"et al. 2007): this points to weaker hip abductors on the {cmp_['weaker_side']} "
                "side."
            )
        else:
            lines.append(
                "The free-side drop differs between the legs by less than the "
                f"{MDC_DEG:g}° measurement noise (MDC, Youdas et al. 2007): no side stands out."
            )
    for side in ("left", "right"):
        s = (doc.get("per_side") or {}).get(side)
        if s:
            lines.append(
                f"On the {side} leg: best hold {s['best_hold_s']:.1f} s, "
                f"{counted(s['touch_downs'], 'brief touch-down')}."
            )
    if not cmp_:
        lines.append("Only one leg was tested: no left-right comparison.")
    norm = doc.get("norm") or {}
    if isinstance(norm.get("verdict"), str) and norm["verdict"]:
        lines.append(f"Age reference: {norm['verdict']}.")  # the verdict names the age band
    elif norm.get("mean_hold_s") is not None:
        for side in ("left", "right"):
            s = (doc.get("per_side") or {}).get(side)
            if s:
                lines.append(
                    f"Hold on the {side} leg against the age {norm['age_band']} reference "
                    f"({norm['mean_hold_s']:g} s): {hold_against_norm(s['best_hold_s'], norm)}."
                )
    return lines


def sway_rms(side: dict[str, Any]) -> float:
    """A leg's side-to-side sway RMS (°), NaN when no hold was long enough to measure it."""
    return float(side["sway"].get("obliquity_rms_deg", math.nan))


def cut_short_lines(doc: dict[str, Any]) -> list[str]:
    """A trial the recording stopped during (e.g. Ctrl-C) has no end: said, whatever the
    verdict."""
    from hipsense.analysis.balance import cut_short

    return [
        f"Trial {i} on the {tr['stance_side']} leg was cut short: the recording stopped "
        f"{tr['hold_s']:.1f} s into the hold, so its hold time is a lower bound."
        for i, tr in enumerate(doc.get("trials") or [], 1) if cut_short(tr)
    ]  # fmt: skip


def hold_against_norm(hold_s: float, norm: dict[str, Any], ceiling_s: float | None = None) -> str:
    """A hold time against the age reference, in words; ``ceiling_s``: the hold the protocol
    asked for (a full hold shorter than the reference is not called below it)."""
    mean, sd = norm["mean_hold_s"], norm.get("sd_hold_s")
    if ceiling_s is not None and ceiling_s < mean and hold_s >= ceiling_s - 0.5:  # as norms.py
        return f"held the full {ceiling_s:g} s asked for (shorter than the reference)"
    cut = norm.get("fall_risk_below_s")
    if cut is not None and hold_s < cut:
        return f"below the {cut:g} s fall-risk cut-off"
    if sd is not None:
        return "below the norm (more than 1 SD)" if hold_s < mean - sd else "within the norm"
    return "below the age group's mean" if hold_s < mean else "at or above the age group's mean"


def build_page(analysis: BalanceAnalysis, patient: dict[str, Any] | None = None) -> Page:
    doc = analysis.to_json()
    per = doc["per_side"]
    left, right = per.get("left"), per.get("right")
    norm = doc.get("norm") or {}

    def val(s: dict[str, Any] | None, key: str, unit: str, digits: int = 1) -> str:
        return "not tested" if s is None else fmt(s[key], unit, digits)

    def best_hold(side: str, s: dict[str, Any] | None) -> str:
        """The best hold; "at least" when it is a trial the recording stopped during."""
        from hipsense.analysis.balance import cut_short

        shown = val(s, "best_hold_s", "s")
        bounded = s is not None and any(
            cut_short(tr) and tr["stance_side"] == side
            and math.isclose(tr["hold_s"], s["best_hold_s"], abs_tol=1e-6)
            for tr in doc.get("trials") or []
        )  # fmt: skip
        return f"at least {shown}" if bounded else shown

    def diff(key: str, unit: str, digits: int = 1) -> str:
        if left is None or right is None:
            return "—"
        return fmt_difference(right[key], left[key], unit, digits)

    if norm.get("mean_hold_s") is not None:
        from hipsense.analysis.balance import protocol_duration_s

        ceiling_s = protocol_duration_s(analysis.recording)
        sd = f" ± {norm['sd_hold_s']:g}" if norm.get("sd_hold_s") is not None else ""
        hold_ref = f"age {norm['age_band']}: {norm['mean_hold_s']:g}{sd} s ({norm['source']})"
        hold_status = "; ".join(
            f"{side}: {hold_against_norm(v['best_hold_s'], norm, ceiling_s)}"
            for side, v in (("left", left), ("right", right)) if v is not None
        )  # fmt: skip
    else:
        hold_ref = (
            "no age norm (pass --age; none for eyes open under 60 y)"
            if norm.get("age_years") is None
            else f"no checked reference for age {norm['age_years']:g} with "
            f"{(doc.get('condition') or 'this condition').replace('_', ' ')}"
        )
        hold_status = ""
    drop_status = ""
    if left is not None and right is not None:
        d = right["free_side_drop_deg"] - left["free_side_drop_deg"]
        drop_status = "beyond the MDC" if abs(d) > MDC_DEG else "within the MDC"
    rows = [
        Row("best hold", best_hold("left", left), best_hold("right", right),
            diff("best_hold_s", "s"), hold_ref, hold_status),
        Row("drop of the free side", val(left, "free_side_drop_deg", "°"),
            val(right, "free_side_drop_deg", "°"), diff("free_side_drop_deg", "°"),
            f"difference within ±{MDC_DEG:g}° (MDC, Youdas et al. 2007)", drop_status),
        Row("brief touch-downs", val(left, "touch_downs", "", 0),
            val(right, "touch_downs", "", 0), "", "no reference band"),
    ]  # fmt: skip
    if left is not None or right is not None:
        rows.append(Row(
            "sway, side-to-side (RMS)",
            "not tested" if left is None else fmt(sway_rms(left), "°", 2),
            "not tested" if right is None else fmt(sway_rms(right), "°", 2),
            "—" if left is None or right is None else fmt_difference(
                sway_rms(right), sway_rms(left), "°", 2),
            "no MDC known for sensor sway (Mancini et al. 2012 describe the measures)",
        ))  # fmt: skip
    condition = (doc.get("condition") or "condition not given").replace("_", " ")
    notes = [f"Condition: {condition}. Hold = time from lifting the foot to the first "
             "touch-down (best of the trials on each leg).", *doc.get("warnings", [])]  # fmt: skip
    caution, board_notes = board_lines(doc)
    return Page("Single-leg stance report", header_for(analysis.recording.meta, patient),
                verdict_lines(doc) + cut_short_lines(doc) + caution, rows,
                [_trace_chart(analysis), _sway_chart(analysis)], notes + board_notes)  # fmt: skip


def _trace_chart(analysis: BalanceAnalysis) -> Chart:
    plt = pyplot()
    run, doc = analysis.run, analysis.to_json()
    t, tilt, obl = run.cat("t_s"), run.cat("tilt_deg"), run.cat("obliquity_deg")
    fig, ax = plt.subplots(2, 1, figsize=(10, 5), sharex=True)
    ax[0].plot(t, obl, lw=0.8, color="k")
    ax[0].set_ylabel("obliquity (°, + left higher)")
    ax[1].plot(t, tilt, lw=0.8, color="k")
    ax[1].set_ylabel("tilt (°, + anterior)")
    ax[1].set_xlabel("time (s)")
    for tr in doc["trials"]:
        for a in ax:
            a.axvspan(tr["lift_off_t_s"], tr["end_t_s"], alpha=0.15,
                      color=SIDE_COLOURS[tr["stance_side"]])  # fmt: skip
            for td in tr["touch_downs"]:
                a.axvline(td["down_t_s"], color="k", lw=0.8, ls="--")
    fig.tight_layout()
    return Chart("Pelvis during the trials", fig,
                 caption="Shaded: standing on the left leg (red) or the right leg (green); "
                 "dashed: a brief touch-down.")  # fmt: skip


def _sway_chart(analysis: BalanceAnalysis) -> Chart:
    run, doc = analysis.run, analysis.to_json()
    sides = [s for s in ("left", "right") if any(x["stance_side"] == s for x in doc["trials"])]
    plt = pyplot()
    t, tilt, obl = run.cat("t_s"), run.cat("tilt_deg"), run.cat("obliquity_deg")
    fig, axes = plt.subplots(1, len(sides), figsize=(4.5 * len(sides), 4.5), squeeze=False)
    drawn: list[np.ndarray] = []  # every (x, y) drawn, for one common scale
    for a, side in zip(axes[0], sides, strict=True):
        for tr in (x for x in doc["trials"] if x["stance_side"] == side):
            sel = (t >= tr["lift_off_t_s"]) & (t < tr["end_t_s"])
            x = obl[sel] - tr["baseline_obliquity_deg"]
            y = tilt[sel] - tr["baseline_tilt_deg"]
            a.plot(x, y, lw=0.5, color=SIDE_COLOURS[side])
            drawn.append(np.vstack([x, y]))
            if x.size > 2:
                drawn.append(_ellipse(a, x, y))
        a.set_title(f"on the {side} leg")
        a.set_xlabel("obliquity change (°)")
        a.axhline(0, color="grey", lw=0.5)
        a.axvline(0, color="grey", lw=0.5)
    axes[0][0].set_ylabel("tilt change (°)")
    _common_square_limits(axes[0], drawn)
    fig.tight_layout()
    caption = "Black: the 95 % ellipse of the sway."
    if len(sides) < 2:
        caption += " The other leg was not tested: a left-right comparison is not applicable."
    return Chart("Sway per leg", fig, caption=caption)


def _common_square_limits(axes: Any, drawn: list[np.ndarray]) -> None:
    """The same ranges on every panel, as many degrees across as up (so a larger ellipse is a
    larger sway, on either leg and in either direction), holding everything drawn and 0."""
    xy = np.hstack([np.zeros((2, 1)), *drawn])
    xy = xy[:, np.isfinite(xy).all(axis=0)]
    lo, hi = xy.min(axis=1), xy.max(axis=1)
    half = 0.55 * max(float(np.max(hi - lo)), 0.2)  # 10 % margin; at least ±0.11°
    mid = 0.5 * (lo + hi)
    for a in axes:
        a.set_xlim(mid[0] - half, mid[0] + half)
        a.set_ylim(mid[1] - half, mid[1] + half)
        a.set_aspect("equal", adjustable="box")


def _ellipse(ax: Any, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Draw the 95 % confidence ellipse of (x, y); return its points (2 x n)."""
    cov = np.cov(np.vstack([x, y]))
    vals, vecs = np.linalg.eigh(cov)
    ang = np.linspace(0, 2 * np.pi, 100)
    circle = np.vstack([np.cos(ang), np.sin(ang)]) * np.sqrt(5.991 * np.maximum(vals, 0))[:, None]
    pts = vecs @ circle
    pts = pts + np.array([[x.mean()], [y.mean()]])
    ax.plot(pts[0], pts[1], color="k", lw=1.2)
    return pts

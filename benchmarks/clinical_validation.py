"""Single-leg stance and bridge analyses over a simulated population (hipsense.sim.population).

Every person has their own sway, weight shift, foot lift, touch-downs, trial end, drop, sensor
placement and chip, and may not follow the protocol asked for; the analysis gets only the
recording (IMU, mounting, the protocol asked for). Reported per stratum:

- stance: lift-off and final touch-down within 100 ms, stance leg, free-side drop within 1°,
  per sway decile, placement and protocol kept/not kept; for symmetric people the left − right
  difference of every sway metric (mean and 95 % CI);
- bridge: reps counted exactly, supporting leg of each rep (the leg reported, scored whether
  the sensor determined it or the protocol's was kept: a rep "not determined by the sensor"
  counts right only when the protocol's leg was right), the share of reps whose leg the sensor
  determined and how many of those are wrong, weaker side named right where the simulated sag
  difference exceeds 3° and never named for symmetric people, per deviation.

Run: ``nice .venv/bin/python benchmarks/clinical_validation.py [--people 200] [--seed 0]
[--test balance|bridge]``; prints the markdown tables of docs/validation.md.
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np
from hipsense.analysis import analyse
from hipsense.analysis.balance import BalanceAnalysis, trial_json
from hipsense.detectors.balance.events import StanceTrial
from hipsense.detectors.bridge.compare import SUPPORT_DROP_DEG, SUPPORT_TWIST_DEG
from hipsense.motion.frontend import Frame
from hipsense.sim.population import Person, bridge_people, simulate_person, stance_people

SWAY_KEYS = ("obliquity_rms_deg", "tilt_rms_deg", "ellipse95_area_deg2", "acc_rms_mps2")
BEYOND_DEG = 3.0
"""Simulated sag difference (weak side minus the other) from which the weaker side must be
named: twice the 1.5° within-session floor of a rep mean's spread seen in the population."""


def true_event_sway(analysis: BalanceAnalysis, truth: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Sway of each true trial by stance side, measured on the same samples as the analysis
    but between the simulated lift-off, touch-downs and end: what the metrics give when the
    events are right (the person's own left − right, without the detector's share)."""
    run = analysis.run
    t = run.cat("t_s")
    static = Frame(**{k: run.cat(k) for k in vars(run.frames[0])}).static_angles_deg()
    gyr_p, acc_p = run.cat("gyr_pelvis_dps"), run.cat("acc_pelvis_mps2")
    rate = float(analysis.to_json()["rate_hz"])
    out: dict[str, Any] = {}
    for tr in truth:
        trial = StanceTrial(tr["lift_off_t_s"], 0.0, 0.0, 0.0,
                            [(td["t_s"], td["lift_t_s"]) for td in tr["touch_downs"]],
                            tr["end_t_s"])  # fmt: skip
        side = tr["stance_side"]
        out[side] = trial_json(trial, side, t, gyr_p, acc_p, static, rate)["sway"]
    return out


def stance_records(people: Sequence[Person]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """One record per true trial, and one per symmetric person (left − right sway, as
    detected and with the true events)."""
    trials: list[dict[str, Any]] = []
    sym: list[dict[str, Any]] = []
    for p in people:
        result, rec = simulate_person(p)
        truth = result.truth["trials"]
        base = {"sway_scale": p.strata["sway_scale"], "placement": p.placement.stratum,
                "protocol": "kept" if p.strata["followed_protocol"] else "other leg"}  # fmt: skip
        analysis = None
        try:
            analysis = analyse(rec)
            doc = analysis.to_json()
            error = ""
        except Exception as exc:  # a miss, counted
            doc, error = {"trials": []}, f"{type(exc).__name__}: {exc}"
        got = doc["trials"]
        for tr in truth:
            match = [g for g in got if abs(g["lift_off_t_s"] - tr["lift_off_t_s"]) <= 1.0]
            g = match[0] if match else None
            trials.append({
                **base, "error": error,
                "lift": g is not None and abs(g["lift_off_t_s"] - tr["lift_off_t_s"]) <= 0.1,
                "end": g is not None and abs(g["end_t_s"] - tr["end_t_s"]) <= 0.1,
                "end_kind": tr["end_kind"],
                "leg": g is not None and g["stance_side"] == tr["stance_side"],
                "drop": g is not None
                and abs(g["free_side_drop_deg"] - tr["free_side_drop_deg"]) <= 1.0,
            })  # fmt: skip
        if (
            not p.strata["weak_side"]
            and len(got) == 2
            and {g["stance_side"] for g in got}
            == {
                "left",
                "right",
            }
        ):
            by = {g["stance_side"]: g["sway"] for g in got}
            true_by = (
                true_event_sway(analysis, truth)
                if isinstance(analysis, BalanceAnalysis) and len(truth) == 2
                else {}
            )
            both = (by, true_by)
            if set(true_by) != {"left", "right"} or not all(
                k in d[side] for k in SWAY_KEYS for d in both for side in d
            ):
                continue
            first = got[0]["stance_side"]
            sym.append({
                "first": first, **{k: by["left"][k] - by["right"][k] for k in SWAY_KEYS},
                **{f"true {k}": true_by["left"][k] - true_by["right"][k] for k in SWAY_KEYS},
            })  # fmt: skip
    return trials, sym


def bridge_records(people: Sequence[Person]) -> list[dict[str, Any]]:
    """One record per person."""
    out: list[dict[str, Any]] = []
    for p in people:
        result, rec = simulate_person(p)
        truth = result.truth["reps"]
        try:
            doc = analyse(rec).to_json()
            error = ""
        except Exception as exc:
            doc, error = {"reps": [], "comparison": {}}, f"{type(exc).__name__}: {exc}"
        got = doc["reps"]
        exact = len(got) == len(truth)
        legs = [g["support_side"] == t["support_side"] for g, t in zip(got, truth, strict=False)]
        # reps whose leg the analysis says the sensor determined (not the protocol's, kept)
        determined = [
            "not determined" not in g["support_source"] for g in got
        ] if exact else [False] * len(truth)  # fmt: skip
        # a single-leg rep the sensor can tell: the free side sinks or the pelvis twists
        visible = [
            t["support_side"] == "both"
            or t["free_side_sag_deg"] >= SUPPORT_DROP_DEG
            or t["twist_deg"] >= SUPPORT_TWIST_DEG
            for t in truth
        ]
        prm = p.params
        weak = p.strata["weak_side"]
        singles = {t["support_side"] for t in truth} >= {"left", "right"}
        diff = prm["weak_sag_deg"] - prm["sag_deg"] if weak else 0.0
        named = (doc["comparison"] or {}).get("weaker_side")
        out.append({
            "deviation": p.strata["deviation"], "error": error, "exact": exact,
            "legs_right": sum(legs) if exact else 0, "legs": len(truth),
            "vis_right": sum(ok for ok, v in zip(legs, visible, strict=False) if v) if exact
            else 0, "vis": sum(visible),
            "determined": sum(determined),
            "determined_wrong": sum(d and not ok for d, ok in zip(determined, legs, strict=False)),
            "weak_case": ("beyond" if weak and diff >= BEYOND_DEG else
                          "none" if not weak else "grey") if singles else "n/a",
            "weak_ok": named == (weak or None),
        })  # fmt: skip
    return out


def _pct(x: Sequence[bool]) -> str:
    return f"{100.0 * np.mean(x):.1f} % ({sum(x)}/{len(x)})" if len(x) else "–"


def _frac(k: int, n: int) -> str:
    return f"{100.0 * k / n:.1f} % ({k}/{n})" if n else "–"


def _ci(x: Sequence[float]) -> str:
    a = np.asarray(x, dtype=float)
    if a.size < 2:
        return "–"
    half = 1.96 * a.std(ddof=1) / np.sqrt(a.size)
    return f"{a.mean():+.3f} [{a.mean() - half:+.3f}, {a.mean() + half:+.3f}]"


def stance_tables(trials: list[dict[str, Any]], sym: list[dict[str, Any]]) -> list[str]:
    scales = np.array([t["sway_scale"] for t in trials])
    edges = np.quantile(scales, np.linspace(0, 1, 11)) if len(trials) else np.zeros(11)
    rows = ["| stratum | trials | lift-off ≤ 100 ms | final touch-down ≤ 100 ms | stance leg "
            "| free-side drop within 1° |", "|---|---|---|---|---|---|"]  # fmt: skip
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for t in trials:
        d = int(np.clip(np.searchsorted(edges, t["sway_scale"], side="right") - 1, 0, 9))
        groups[f"sway decile {d + 1} ({edges[d]:.2f}–{edges[d + 1]:.2f})"].append(t)
        groups[f"placement: {t['placement']}"].append(t)
        groups[f"protocol: {t['protocol']}"].append(t)
        groups[f"trial end: {t['end_kind']}"].append(t)
        groups["all"].append(t)
    for name in sorted(groups, key=lambda k: (k != "all", k)):
        g = groups[name]
        rows.append(f"| {name} | {len(g)} | {_pct([t['lift'] for t in g])} | "
                    f"{_pct([t['end'] for t in g])} | {_pct([t['leg'] for t in g])} | "
                    f"{_pct([t['drop'] for t in g])} |")  # fmt: skip
    rows += [
        "",
        f"Symmetric people ({len(sym)}): left − right sway difference, mean [95 % CI]",
        "",
        "| metric | all | left leg first | right leg first |",
        "|---|---|---|---|",
    ]
    for k in SWAY_KEYS:
        lf = [s[k] for s in sym if s["first"] == "left"]
        rf = [s[k] for s in sym if s["first"] == "right"]
        rows.append(f"| {k} | {_ci([s[k] for s in sym])} | {_ci(lf)} | {_ci(rf)} |")
    rows += [
        "",
        "The same people: the left − right difference with the true events (the person's own, "
        "the simulated sway of each trial being a draw of its own), and the detector's share "
        "(detected minus true events, person by person)",
        "",
        "| metric | true events | detector's share, all | left leg first | right leg first |",
        "|---|---|---|---|---|",
    ]
    for k in SWAY_KEYS:
        share = {s["first"]: [] for s in sym}
        for s in sym:
            share[s["first"]].append(s[k] - s[f"true {k}"])
        rows.append(
            f"| {k} | {_ci([s[f'true {k}'] for s in sym])} | "
            f"{_ci([s[k] - s[f'true {k}'] for s in sym])} | {_ci(share.get('left', []))} | "
            f"{_ci(share.get('right', []))} |"
        )
    return rows


def bridge_tables(recs: list[dict[str, Any]]) -> list[str]:
    rows = [
        "| stratum | people | reps exact | supporting leg, every rep | supporting leg, reps "
        "with a sag ≥ 1.5° or twist ≥ 2° (or double-leg) | weaker side named right (difference "
        "≥ 3°) | none named (symmetric) | leg determined by the sensor | of which wrong |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in recs:
        groups["all"].append(r)
        groups[f"deviation: {r['deviation']}"].append(r)
    for name in sorted(groups, key=lambda k: (k != "all", k)):
        g = groups[name]
        legs = sum(r["legs_right"] for r in g), sum(r["legs"] for r in g)
        beyond = [r["weak_ok"] for r in g if r["weak_case"] == "beyond"]
        none = [r["weak_ok"] for r in g if r["weak_case"] == "none"]
        vis = sum(r["vis_right"] for r in g), sum(r["vis"] for r in g)
        det = sum(r["determined"] for r in g)
        rows.append(f"| {name} | {len(g)} | {_pct([r['exact'] for r in g])} | {_frac(*legs)} | "
                    f"{_frac(*vis)} | {_pct(beyond)} | {_pct(none)} | {_frac(det, legs[1])} | "
                    f"{sum(r['determined_wrong'] for r in g)} |")  # fmt: skip
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--people", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--test", choices=["both", "balance", "bridge"], default="both")
    args = ap.parse_args()
    if args.test != "bridge":
        stance_report(args.people, args.seed)
    if args.test != "balance":
        bridge_report(args.people, args.seed)


def stance_report(people: int, seed: int) -> None:
    trials, sym = stance_records(stance_people(people, seed))
    print(f"### Single-leg stance, {people} simulated people (seed {seed})\n")
    print("\n".join(stance_tables(trials, sym)))
    errors = defaultdict(int)
    for t in trials:
        if t["error"]:
            errors[t["error"].split(":")[0]] += 1
    print(f"\nanalysis errors (trials): {dict(errors)}\n")


def bridge_report(people: int, seed: int) -> None:
    recs = bridge_records(bridge_people(people, seed))
    print(f"### Bridges, {people} simulated people (seed {seed})\n")
    print("\n".join(bridge_tables(recs)))
    errors = defaultdict(int)
    for r in recs:
        if r["error"]:
            errors[r["error"].split(":")[0]] += 1
    print(f"\nanalysis errors (people): {dict(errors)}")


if __name__ == "__main__":
    main()

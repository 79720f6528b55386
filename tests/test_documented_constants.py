"""The figures the docs state for time constants, limits and thresholds equal the code's: each
entry names a constant (or parameter default) and a pattern that finds its figure in the doc."""

from __future__ import annotations

import ast
import inspect
import math
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from hipsense.cli.bridge import MAX_SETS
from hipsense.detectors.balance import metrics as balance_metrics
from hipsense.detectors.bridge import compare as bridge_compare
from hipsense.detectors.walk.contacts import ContactDetector
from hipsense.detectors.walk.tracker import LIVE_CONTACTS
from hipsense.link.session import MAX_HOLD_S, RESEND_ATTEMPTS, RESEND_TIMEOUT_S
from hipsense.orchestrate.stream import GIVE_UP_S, MAX_SILENCE_S
from hipsense.recording import limits as recording_limits
from hipsense.recording.rate import RATE_SAMPLES

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


def _default(func: Callable[..., object], name: str) -> float:
    return float(inspect.signature(func).parameters[name].default)  # type: ignore[arg-type]


def _firmware_const(module: str, name: str) -> float:
    tree = ast.parse((ROOT / "firmware" / module).read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == name for t in node.targets
        ):
            return float(ast.literal_eval(node.value))
    raise AssertionError(f"{name} not in firmware/{module}")


WALK = ContactDetector.__init__
CASES: list[tuple[str, str, float]] = [
    # doc, regex with one number group, the code's value
    ("gait.md", r"above both ([\d.]+) m/s²", _default(WALK, "min_peak_mps2")),
    ("gait.md", r"and ([\d.]+) × its\s+running RMS", _default(WALK, "rel_peak")),
    ("gait.md", r"running RMS \(τ = ([\d.]+) s\)", _default(WALK, "rms_tau_s")),
    ("gait.md", r"at least ([\d.]+) s after the previous contact", _default(WALK, "min_step_s")),
    ("gait.md", r"high-passed at ([\d.]+) Hz", _default(WALK, "impact_hz")),
    ("gait.md", r"must reach ([\d.]+) × its running", _default(WALK, "min_impact")),
    ("gait.md", r"to ([\d.]+) s after it", _default(WALK, "confirm_s")),
    ("gait.md", r"the largest sample from ([\d.]+) s before", _default(WALK, "before_s")),
    ("gait.md", r"somewhere from ([\d.]+) s before", _default(WALK, "side_lag_s")),
    ("gait.md", r"largest over the last ([\d.]+) running step", _default(WALK, "before_steps")),
    ("gait.md", r"μ = ([\d.]+) after a regular interval", _default(WALK, "side_memory")),
    ("gait.md", r"\*\*([\d.]+)\*\*\s+after an interval off", _default(WALK, "irregular_memory")),
    ("gait.md", r"last `LIVE_CONTACTS` \((\d+)\)", LIVE_CONTACTS),
    ("gait.md", r"own impact test\) is at least ([\d.]+)", _default(WALK, "walk_impact")),
    # the impact envelope: a 0.2 Hz first-order low-pass, documented as its time constant
    ("gait.md", r"τ = 1/\(2π · 0.2 Hz\) ≈ ([\d.]+) s", round(1.0 / (2.0 * math.pi * 0.2), 1)),
    ("algorithms.md", r"\|b\| > ([\d.]+) °/s per axis", 5 * _firmware_const("fusion.py",
                                                                          "REST_BIAS_MAX_DPS")),
    ("algorithms.md", r"below ([\d.]+) °/s in norm", _firmware_const("fusion.py",
                                                                      "REST_BIAS_MAX_DPS")),
    ("clinical-tests.md", r"`free_side_drop_deg > ([\d.]+)°`",
     balance_metrics.TRENDELENBURG_DROP_DEG),
    ("clinical-tests.md", r"rep-to-rep spread, ([\d.]+)°\)", bridge_compare.LIFT_FLOOR_DEG),
    ("clinical-tests.md", r"knee extended, \*\*([\d.]+)°\*\*", bridge_compare.DROP_MDC95_DEG),
    ("clinical-tests.md", r"about each set \(drop ([\d.]+)°", bridge_compare.NOISE_DROP_DEG),
    ("clinical-tests.md", r"about each set \(drop [\d.]+°, twist ([\d.]+)°",
     bridge_compare.NOISE_TWIST_DEG),
    ("clinical-tests.md", r"twist [\d.]+°, lift ([\d.]+) %\)",
     100 * bridge_compare.NOISE_LIFT_FRAC),
    ("clinical-tests.md", r"prior spread ([\d.]+) % and", 100 * bridge_compare.BIAS_DROP_FRAC),
    ("clinical-tests.md", r"prior spread [\d.]+ % and ([\d.]+) %",
     100 * bridge_compare.BIAS_TWIST_FRAC),
    ("clinical-tests.md", r"at most ([\d.]+) × the double-leg", bridge_compare.SINGLE_LIFT_MAX),
    ("clinical-tests.md", r"another order ([\d.]+),", bridge_compare.PRIOR_ORDER),
    ("clinical-tests.md", r"of another length ([\d.]+),", bridge_compare.PRIOR_LENGTH),
    ("clinical-tests.md", r"on another support ([\d.]+),", bridge_compare.PRIOR_LABEL),
    ("clinical-tests.md", r"extra one-rep set ([\d.]+),", bridge_compare.PRIOR_EXTRA),
    ("clinical-tests.md", r"measures worse by ([\d.]+) \(", bridge_compare.DETERMINED),
    ("user-guide.md", r"at most (\d+) sets a session", MAX_SETS),
    ("recording.md", r"`MAX_WHOLE_ROWS` = ([\d,]+) samples", recording_limits.MAX_WHOLE_ROWS),
    ("recording.md", r"inferred from the times of its first ([\d,]+)", RATE_SAMPLES),
    ("link.md", r"`MAX_SILENCE_S` \(([\d.]+) s\)", MAX_SILENCE_S),
    ("link.md", r"no link change for `GIVE_UP_S` \(([\d.]+) s\)", GIVE_UP_S),
    ("link.md", r"`RESEND_ATTEMPTS`, ([\d.]+) tries", RESEND_ATTEMPTS),
    ("link.md", r"`RESEND_TIMEOUT_S`, ([\d.]+) s each", RESEND_TIMEOUT_S),
    ("link.md", r"`MAX_HOLD_S` = ([\d.]+) s", MAX_HOLD_S),
]  # fmt: skip


@pytest.mark.parametrize(("doc", "pattern", "value"), CASES, ids=[c[1][:40] for c in CASES])
def test_the_doc_states_the_codes_figure(doc: str, pattern: str, value: float) -> None:
    text = re.sub(r"\s+", " ", (DOCS / doc).read_text(encoding="utf-8"))
    found = re.findall(re.sub(r"\\s\+|\s+", r"\\s+", pattern), text)
    assert found, f"docs/{doc}: no match for {pattern!r}"
    assert all(float(f.replace(",", "")) == pytest.approx(value) for f in found), (
        doc,
        found,
        value,
    )


def test_the_envelope_really_is_a_0_2_hz_corner() -> None:
    src = inspect.getsource(ContactDetector.__init__)
    assert '_butter(1, 0.2, "low", rate_hz)' in src


def _chip_odrs_hz() -> set[int]:
    """Every ODR the firmware's drivers configure (the last number of each ``_RATE`` entry)."""
    odrs: set[int] = set()
    for module in ("mpu6x.py", "icm42688.py", "lsm6ds.py"):
        tree = ast.parse((ROOT / "firmware" / "imu" / module).read_text(encoding="utf-8"))
        for node in tree.body:
            if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "_RATE" for t in node.targets
            ):
                odrs |= {entry[-1] for entry in ast.literal_eval(node.value).values()}
    return odrs


def test_the_sample_periods_in_the_protocol_doc_are_the_boards() -> None:
    """docs/protocol.md lists ``period_100us`` for every ODR the drivers set, as the board
    computes it (firmware/app.py: ``(10000 + rate // 2) // rate``)."""
    text = (DOCS / "protocol.md").read_text(encoding="utf-8")
    sentence = re.search(r"stepped by\s+`period_100us`.*?\(the LSM6 chips\)\)", text, re.S)
    assert sentence is not None
    found = re.findall(r"(\d+)\s+at\s+(\d+)\s+Hz", sentence.group(0))
    pairs = [(int(n), int(hz)) for n, hz in found]
    assert {hz for _, hz in pairs} == _chip_odrs_hz()
    assert "(10000 + rate // 2) // rate" in (ROOT / "firmware" / "app.py").read_text()
    for period, hz in pairs:
        assert period == (10000 + hz // 2) // hz, (period, hz)

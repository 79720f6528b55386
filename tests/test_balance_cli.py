"""``hipsense balance --virtual``: the guided live test on the virtual board, end to end."""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
from hipsense.analysis import analyse
from hipsense.recording import MARKER_KEY, read_recording


def test_balance_command_on_the_virtual_board(tmp_path: Path) -> None:
    out = tmp_path / "stance.parquet"
    hipsense = Path(sys.executable).with_name("hipsense")
    proc = subprocess.run(
        [str(hipsense), "balance", "--virtual", "--speed", "8", "--duration", "20",
         "--out", str(out), "--age", "65", "--json"],
        capture_output=True, text=True, timeout=180, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    # --json: only the JSON document on stdout; the people's view on stderr
    assert json.loads(proc.stdout)["kind"] == "hipsense-balance" and "held 20." in proc.stderr
    rec = read_recording(out)
    assert rec.meta.test == "balance" and rec.meta.condition == "eyes_open"
    assert rec.meta.extra["protocol"]["sides"] == ["right", "left"]
    doc = analyse(rec, age_years=65).to_json()
    # the virtual board loops its scenario from boot, so the sensor (weight shift) names the legs
    assert sorted(t["stance_side"] for t in doc["trials"]) == ["left", "right"]
    assert all(abs(t["hold_s"] - 20.0) < 0.3 for t in doc["trials"])
    assert doc["norm"]["mean_hold_s"] == 27.0


def test_enter_from_a_pipe_marks_touch_downs_that_land_in_the_recording(tmp_path: Path) -> None:
    """Enter presses from a pipe every 2 s of stream time: every hold ends at a key soon after
    its lift-off (the sensor saw no touch-down there); live, recording and analysis agree."""
    out = tmp_path / "keys.parquet"
    hipsense = Path(sys.executable).with_name("hipsense")
    with (tmp_path / "stdout").open("w") as so, (tmp_path / "stderr").open("w") as se:
        proc = subprocess.Popen(
            [str(hipsense), "balance", "--virtual", "--speed", "8", "--duration", "20",
             "--out", str(out), "--json"],
            stdin=subprocess.PIPE, stdout=so, stderr=se, text=True, cwd=tmp_path,
        )  # fmt: skip

    def press_enter() -> None:
        assert proc.stdin is not None
        with contextlib.suppress(BrokenPipeError, ValueError, OSError):
            while proc.poll() is None:
                proc.stdin.write("\n")
                proc.stdin.flush()
                # at most 2 s of stream time at --speed 8: the lockstep board never runs
                # faster than --speed (a loaded machine only makes the keys come more often)
                time.sleep(0.25)

    presser = threading.Thread(target=press_enter, daemon=True)
    presser.start()
    try:
        proc.wait(timeout=180)
    finally:
        proc.kill()
        presser.join(timeout=5)
        assert proc.stdin is not None
        with contextlib.suppress(OSError):
            proc.stdin.close()
    shown = (tmp_path / "stderr").read_text()  # --json: the live view is on stderr
    assert proc.returncode == 0, shown
    rec = read_recording(out)
    data = rec.data
    keys_t = data.loc[data["marker"] == MARKER_KEY, "t_s"].to_numpy()
    assert keys_t.size >= 2
    doc = analyse(rec).to_json()
    assert len(doc["trials"]) == 2
    for trial in doc["trials"]:
        # the first key after the sensor had seen the lift-off (it is dated back before that)
        assert trial["end_source"] == "key"
        assert np.min(np.abs(keys_t - trial["end_t_s"])) < 0.0006
        # keys come every 2 s of stream time or more often (the board runs at most at
        # --speed, slower on a loaded machine); the sensor confirms a lift-off dated by the
        # weight shift up to 2.75 s after the shift began (WeightShift.wait_s): one of the
        # first keys after that ends the hold
        assert trial["end_t_s"] - trial["lift_off_t_s"] < 5.0  # the hold itself lasts 20 s
        assert abs(trial["hold_s"] - (trial["end_t_s"] - trial["lift_off_t_s"])) < 0.0015
    live = [float(x) for x in re.findall(r"(\d+\.\d) s \(key press\)", shown)]
    assert len(live) >= 2  # the live table's trials row, drawn at the end
    for got, trial in zip(live[-2:], doc["trials"], strict=True):
        assert abs(got - trial["total_s"]) <= 0.051


def test_the_live_trials_row_gives_the_summarys_hold() -> None:
    """The live view read "trials 10.6 s" (lift-off to the final touch-down) where the summary
    read "held 8.0 s" (to the first touch-down): it now names both, the hold first."""
    from hipsense.cli.balance import trial_words
    from hipsense.detectors.balance.events import StanceTrial

    trial = StanceTrial(10.0, 0.0, 0.0, 0.05, touch_downs=[(18.0, 18.4)], end_t_s=20.6)
    assert trial_words(trial) == "held 8.0 s to the first touch-down (10.6 s on one leg in all)"
    clean = StanceTrial(10.0, 0.0, 0.0, 0.05, end_t_s=40.0, end_source="key")
    assert trial_words(clean) == "held 30.0 s (key press)"

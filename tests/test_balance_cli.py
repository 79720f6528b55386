"""``hipsense balance --virtual``: the guided live test on the virtual board, end to end."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from hipsense.analysis import analyse
from hipsense.recording import read_recording


def test_balance_command_on_the_virtual_board(tmp_path: Path) -> None:
    out = tmp_path / "stance.parquet"
    hipsense = Path(sys.executable).with_name("hipsense")
    proc = subprocess.run(
        [str(hipsense), "balance", "--virtual", "--speed", "8", "--duration", "20",
         "--out", str(out), "--age", "65", "--json"],
        capture_output=True, text=True, timeout=180, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "held 20." in proc.stdout and '"kind": "hipsense-balance"' in proc.stdout
    rec = read_recording(out)
    assert rec.meta.test == "balance" and rec.meta.condition == "eyes_open"
    assert rec.meta.extra["protocol"]["sides"] == ["right", "left"]
    doc = analyse(rec, age_years=65).to_json()
    # the virtual board loops its scenario from boot, so the sensor (weight shift) names the legs
    assert sorted(t["stance_side"] for t in doc["trials"]) == ["left", "right"]
    assert all(abs(t["hold_s"] - 20.0) < 0.3 for t in doc["trials"])
    assert doc["norm"]["mean_hold_s"] == 27.0

"""``hipsense analyze`` and ``hipsense report`` on recordings and on the foreign mobgap CSVs."""

from __future__ import annotations

import json

from click.testing import CliRunner
from hipsense.analysis.walk import SCHEMA, VERSION
from hipsense.cli import cli
from hipsense.recording import write_recording
from hipsense.sim.scenarios import simulate

MOBGAP_MAP = ("t_s=time_s,acc_x_mps2=acc_x,acc_y_mps2=acc_y,acc_z_mps2=acc_z,"
              "gyr_x_dps=gyr_x,gyr_y_dps=gyr_y,gyr_z_dps=gyr_z")  # fmt: skip


def test_analyze_json_document(tmp_path):
    path = write_recording(simulate("walk-left-trendelenburg", seed=2).to_recording(),
                           tmp_path / "walk.parquet")  # fmt: skip
    out = tmp_path / "walk.json"
    res = CliRunner().invoke(cli, ["analyze", str(path), "--json", "--out", str(out)])
    assert res.exit_code == 0, res.output
    doc = json.loads(out.read_text())
    assert doc["schema"] == SCHEMA and doc["version"] == VERSION
    sides = {c["side"] for c in doc["contacts"]}
    assert sides == {"left", "right"}
    assert all(isinstance(c["t_s"], float) for c in doc["contacts"])
    for side in ("left", "right"):
        assert doc["per_side"][side]["steps"] >= 10
        assert doc["per_side"][side]["drop_deg"]["mean"] > 1.0
        assert doc["per_side"][side]["step_time_s"]["mean"] > 0.4
    assert doc["symmetry"]["drop_si_pct"]["value"] < 0
    assert doc["verdict"]["status"] == "asymmetric" and doc["verdict"]["weak_side"] == "left"


def test_analyze_text_and_report(tmp_path):
    path = write_recording(simulate("walk-normal", seed=1).to_recording(), tmp_path / "w.csv")
    res = CliRunner().invoke(cli, ["analyze", str(path)])
    assert res.exit_code == 0, res.output
    assert "Drop: within measurement noise" in res.output
    res = CliRunner().invoke(cli, ["report", str(path), "--out", str(tmp_path / "rep")])
    assert res.exit_code == 0, res.output
    html = (tmp_path / "rep.html").read_text()
    assert html.count("data:image/png;base64,") == 2 and (tmp_path / "rep.pdf").exists()
    assert "Drop: within measurement noise" in html


def test_analyze_reads_the_mobgap_files_through_options(shared_benchmarks):
    imu = shared_benchmarks / "gait" / "HA_001" / "TimeMeasure1_Test5_Trial1_imu.csv"
    res = CliRunner().invoke(cli, ["analyze", str(imu), "--test", "walk", "--json",
                                   "--column-map", MOBGAP_MAP, "--axes", "z,-y,x"])  # fmt: skip
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    gs = (imu.parent / imu.name.replace("_imu", "_gs_ref")).read_text().splitlines()[1].split(",")
    start_s, end_s = float(gs[3]), float(gs[4])
    inside = [c for c in doc["contacts"] if start_s - 0.25 <= c["t_s"] < end_s]
    assert 8 <= len(inside) <= 10  # 9 reference contacts in this gait sequence
    assert "--axes z,-y,x" in doc["recording"]["angles_source"]


def test_analyze_names_a_missing_foreign_column(tmp_path):
    f = tmp_path / "x.csv"
    f.write_text("time_s,ax\n0,1\n")
    res = CliRunner().invoke(cli, ["analyze", str(f), "--test", "walk", "--column-map", MOBGAP_MAP])
    assert res.exit_code != 0
    assert "no column" in str(res.exception) or "no column" in res.output


def test_json_bouts_carry_per_side_means(tmp_path):
    path = write_recording(simulate("walk-turns", seed=0).to_recording(), tmp_path / "t.parquet")
    res = CliRunner().invoke(cli, ["analyze", str(path), "--json"])
    assert res.exit_code == 0, res.output
    bouts = json.loads(res.output)["bouts"]
    assert len(bouts) == 2  # walk-turns: two bouts with a stop between them
    for b in bouts:
        assert b["left"]["drop_deg"]["n"] >= 5 and b["right"]["step_time_s"]["mean"] > 0.4


def test_analyze_a_noise_csv_says_no_walking_found(tmp_path):
    """Random numbers given as a walk (once 18152 "contacts"): no contacts, said in words."""
    import numpy as np

    rng = np.random.default_rng(5)
    n = 20000
    cols = {"time_s": np.arange(n) / 100.0}
    for k, a in enumerate("xyz"):
        cols[f"acc_{a}"] = 2.0 * rng.normal(size=n) + (9.80665 if k == 2 else 0.0)
        cols[f"gyr_{a}"] = 20.0 * rng.normal(size=n)
    f = tmp_path / "noise.csv"
    f.write_text(
        ",".join(cols) + "\n"
        + "\n".join(",".join(f"{v:.5f}" for v in row) for row in zip(*cols.values(), strict=True))
    )  # fmt: skip
    args = ["analyze", str(f), "--test", "walk", "--column-map", MOBGAP_MAP, "--axes", "x,y,z"]
    text = CliRunner().invoke(cli, args)
    assert text.exit_code == 0, text.output
    assert text.output.startswith("No walking found in 200.0 s")
    doc = json.loads(CliRunner().invoke(cli, [*args, "--json"]).output)
    assert doc["recording"]["walking_found"] is False
    assert doc["contacts"] == [] and doc["steps"] == []

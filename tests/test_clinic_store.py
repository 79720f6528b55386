"""The session store on a real SQLite file: patients, sessions, runs, discards, migration from
schema v1, a writer killed mid-transaction, history against the MDC, export."""

from __future__ import annotations

import itertools
import json
import sqlite3
import string
import subprocess
import sys
import textwrap
from pathlib import Path

import hipsense
import pandas as pd
import pytest
from click.testing import CliRunner
from hipsense.analysis import analyse
from hipsense.cli import cli
from hipsense.recording import Recording
from hipsense.sim.scenarios import simulate
from hipsense.store import StoreError, open_store
from hipsense.store.db import check_patient_id
from hipsense.store.history import history
from hipsense.store.schema import SCHEMA_VERSION, V1_DDL
from hypothesis import given, settings
from hypothesis import strategies as st

VISITS = ("2026-11-02", "2026-11-09", "2026-11-16", "2026-11-23")
# weak right abductors improving: the left side drops 12, 9, 6, 4° in right stance (left
# stance: 2° each week); single-leg stance and bridge unchanged week to week
WALK_RIGHT_DROP = (12.0, 9.0, 6.0, 4.0)


def _dated(rec: Recording, day: str) -> Recording:
    rec.meta.start_time = f"{day}T10:00:00"  # local time: the visit is that day
    return rec


def _file(store_path: Path, patient: str, rec: Recording, name: str, tmp: Path) -> int:
    doc = analyse(rec).to_json()
    with open_store(store_path) as store:
        return store.file_run(patient, rec.meta.test or "", tmp / name, rec.meta, doc).run_id


@pytest.fixture(scope="module")
def four_visits(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store with patient P1 and four weekly sessions of simulated walk, stance, bridge."""
    tmp = tmp_path_factory.mktemp("visits")
    path = tmp / "store.sqlite"
    with open_store(path) as store:
        store.add_patient("P1", year_of_birth=1961, height_cm=172, sex="female")
    for k, (day, drop) in enumerate(zip(VISITS, WALK_RIGHT_DROP, strict=True)):
        walk = simulate("walk-normal", seed=k, duration_s=20, drop_in_right_stance_deg=drop)
        _file(path, "P1", _dated(walk.to_recording(), day), f"walk{k}.parquet", tmp)
        stance = simulate("stance-right-trendelenburg", seed=k)
        _file(path, "P1", _dated(stance.to_recording(), day), f"stance{k}.parquet", tmp)
        bridge = simulate("bridge-single-weak-right", seed=k)
        _file(path, "P1", _dated(bridge.to_recording(), day), f"bridge{k}.parquet", tmp)
    return path


def test_history_names_exactly_the_changes_beyond_the_mdc(four_visits: Path) -> None:
    with open_store(four_visits) as store:
        assert [d for _, d, _ in store.sessions("P1")] == list(VISITS)
        series = history(store.runs("P1"))
    beyond = {(s.test, s.name, s.side) for s in series if s.beyond_mdc}
    # the walking drop in right stance and the walking difference improved by ~8°: beyond the
    # 4° MDC; the left-stance drop, the stance and bridge drops stayed: within their MDC
    assert beyond == {("walk", "drop_deg", "right"), ("walk", "drop_difference_deg", "")}
    by_key = {(s.test, s.name, s.side, s.condition): s for s in series}
    diff = by_key[("walk", "drop_difference_deg", "", "")]
    assert len(diff.points) == 4 and diff.change is not None and diff.change < -4.0
    assert "beyond the MDC of 4°" in diff.verdict() and "Youdas" in diff.verdict()
    sag = by_key[("bridge", "sag_difference_deg", "", "")]
    assert not sag.beyond_mdc and "within the MDC of 6.59°" in sag.verdict()
    hold = by_key[("balance", "hold_s", "left", "eyes_open")]
    assert "no MDC known" in hold.verdict()


def test_history_command_reports_the_same(four_visits: Path) -> None:
    res = CliRunner().invoke(cli, ["history", "P1", "--store", str(four_visits), "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    flagged = sorted((s["test"], s["figure"], s["side"]) for s in doc["series"] if s["beyond_mdc"])
    assert flagged == [("walk", "drop_deg", "right"), ("walk", "drop_difference_deg", "")]
    text = CliRunner().invoke(cli, ["history", "P1", "--store", str(four_visits)]).output
    assert text.count("beyond the MDC") == 2 and "no MDC known" in text


def test_a_discarded_trial_is_kept_but_left_out(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    with open_store(path) as store:
        store.add_patient("P2")
    good = _dated(simulate("walk-normal", seed=1, duration_s=15).to_recording(), "2026-11-02")
    bad = simulate("walk-right-trendelenburg", seed=2, duration_s=15).to_recording()
    _file(path, "P2", good, "a.parquet", tmp_path)
    run_bad = _file(path, "P2", _dated(bad, "2026-11-09"), "b.parquet", tmp_path)
    res = CliRunner().invoke(cli, ["discard", str(run_bad), "--store", str(path)])
    assert res.exit_code != 0 and "--reason" in res.output  # a reason is required
    res = CliRunner().invoke(
        cli, ["discard", str(run_bad), "--reason", "stumbled", "--store", str(path)]
    )
    assert res.exit_code == 0, res.output
    with open_store(path) as store:
        runs = store.runs("P2")
        assert [r.discard_reason for r in runs] == [None, "stumbled"]
        assert runs[1].figures  # kept with its figures
        series = history(runs)
        table = store.results_table("P2")
    assert all(len(s.points) == 1 and s.points[0][0] == "2026-11-02" for s in series)
    assert set(table.loc[table["discarded"], "run_id"]) == {run_bad}
    shown = CliRunner().invoke(cli, ["patients", "show", "P2", "--store", str(path)]).output
    assert "DISCARDED: stumbled" in shown


def test_migration_from_schema_v1(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    conn = sqlite3.connect(path)
    conn.executescript(V1_DDL)
    conn.execute("INSERT INTO patients VALUES ('P3', 1950, NULL, NULL, '', '2026-01-01')")
    conn.execute("INSERT INTO sessions VALUES (1, 'P3', '2026-01-05', 'first', '2026-01-05')")
    figures = [{"name": "drop_deg", "side": "left", "value": 3.5, "unit": "°"},
               {"name": "drop_deg", "side": "right", "value": 7.25, "unit": "°"}]  # fmt: skip
    conn.execute(
        "INSERT INTO runs (id, session_id, test, recorded_utc, recording_path, figures_json) "
        "VALUES (1, 1, 'walk', '2026-01-05T10:00:00', '/x/walk.parquet', ?)",
        (json.dumps(figures),),
    )
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()
    with open_store(path) as store:
        assert store.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 2
        (run,) = store.runs("P3")
        assert {(f.side, f.value) for f in run.figures} == {("left", 3.5), ("right", 7.25)}
        assert run.discard_reason is None and run.recording_path == "/x/walk.parquet"
        assert run.analysed_with is None  # not known for runs filed before version 2
        assert store.sessions("P3") == [(1, "2026-01-05", "first")]
        cols = {r[1] for r in store.conn.execute("PRAGMA table_info(runs)")}
        assert "figures_json" not in cols
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    with pytest.raises(StoreError, match="newer"), open_store(path):
        pass


def test_a_writer_killed_mid_transaction_leaves_the_store_consistent(tmp_path: Path) -> None:
    """SIGKILL after the session row is written, before the run and its figures: the store
    comes back as before the write (no session without its run)."""
    path = tmp_path / "k.sqlite"
    with open_store(path) as store:
        store.add_patient("P4")
    rec_path = tmp_path / "w.parquet"
    from hipsense.recording import write_recording

    write_recording(simulate("walk-normal", seed=3, duration_s=12).to_recording(), rec_path)
    before = rec_path.read_bytes()
    child = textwrap.dedent(f"""
        import os, signal
        from hipsense.analysis import analyse
        from hipsense.recording import read_recording
        from hipsense.store import db
        rec = read_recording({str(rec_path)!r})
        doc = analyse(rec).to_json()
        real = db.Store._session
        def die_after_session(c, *a):
            sid = real(c, *a)
            os.kill(os.getpid(), signal.SIGKILL)
        db.Store._session = staticmethod(die_after_session)
        with db.open_store({str(path)!r}) as store:
            store.file_run("P4", "walk", {str(rec_path)!r}, rec.meta, doc)
    """)
    proc = subprocess.run([sys.executable, "-c", child], capture_output=True, timeout=120)
    assert proc.returncode == -9, proc.stderr
    with open_store(path) as store:
        assert store.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert store.sessions("P4") == [] and store.runs("P4") == []
        assert store.conn.execute("SELECT count(*) FROM figures").fetchone()[0] == 0
        # and the store still takes writes
        store.file_run("P4", "walk", rec_path, simulate("still").to_recording().meta, None,
                       analysis_error="test")  # fmt: skip
        assert len(store.runs("P4")) == 1
    assert rec_path.read_bytes() == before  # the store never touches the recording


def test_patients_commands_and_export(four_visits: Path, tmp_path: Path) -> None:
    store = ["--store", str(four_visits)]
    runner = CliRunner()
    assert (
        "P1\tborn 1961\t4 sessions\tlast visit 2026-11-23"
        in runner.invoke(cli, ["patients", "list", *store]).output
    )
    res = runner.invoke(cli, ["patients", "add", "P1", *store])
    assert res.exit_code == 1 and "already exists" in res.output
    res = runner.invoke(cli, ["patients", "add", "P9", "--year-of-birth", "1850", *store])
    assert res.exit_code == 1 and "1900" in res.output
    res = runner.invoke(cli, ["note", "1", "knee sore, shorter walk", *store])
    assert res.exit_code == 0
    assert (
        "session 1, 2026-11-02: knee sore"
        in runner.invoke(cli, ["patients", "show", "P1", *store]).output
    )
    for suffix in ("parquet", "csv"):
        out = tmp_path / f"all.{suffix}"
        res = runner.invoke(cli, ["export", "--patient", "P1", "--out", str(out), *store])
        assert res.exit_code == 0, res.output
        table = pd.read_parquet(out) if suffix == "parquet" else pd.read_csv(out)
        assert set(table["test"]) == {"walk", "balance", "bridge"}
        assert set(table["analysed_with"]) == {hipsense.__version__}
        assert table["run_id"].nunique() == 12 and set(table["visit_date"]) == set(VISITS)
        right = (table["figure"] == "drop_deg") & (table["side"] == "right")
        drops = sorted(zip(table.loc[right, "visit_date"], table.loc[right, "value"], strict=True))
        assert [d for d, _ in drops] == list(VISITS)
        assert all(a[1] > b[1] for a, b in itertools.pairwise(drops))


def test_unknown_patient_is_refused_before_a_test_starts(tmp_path: Path) -> None:
    res = CliRunner().invoke(
        cli, ["walk", "--virtual", "--patient", "nobody", "--store", str(tmp_path / "s.sqlite")]
    )
    assert (
        res.exit_code == 1
        and "hipsense: " in res.output
        and "patients add nobody" not in res.output
    )
    assert "'nobody' cannot be one: patient ids are pseudonymous codes" in res.output


def test_ctrl_c_mid_write_rolls_the_whole_run_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """KeyboardInterrupt after the session row, before the run: nothing of it stays, and the
    connection is usable again at once."""
    from hipsense.store import db

    path = tmp_path / "c.sqlite"
    rec = simulate("bridge-single-weak-left", seed=0).to_recording()
    doc = analyse(rec).to_json()
    real = db.Store._session

    def interrupt(c: sqlite3.Connection, patient_id: str, visit_date: str) -> int:
        real(c, patient_id, visit_date)
        raise KeyboardInterrupt

    with open_store(path) as store:
        store.add_patient("P5")
        monkeypatch.setattr(db.Store, "_session", staticmethod(interrupt))
        with pytest.raises(KeyboardInterrupt):
            store.file_run("P5", "bridge", tmp_path / "b.parquet", rec.meta, doc)
        assert store.sessions("P5") == [] and store.runs("P5") == []
        monkeypatch.setattr(db.Store, "_session", staticmethod(real))
        filed = store.file_run("P5", "bridge", tmp_path / "b.parquet", rec.meta, doc)
        (run,) = store.runs("P5")
    assert run.id == filed.run_id and {f.name for f in run.figures} >= {"sag_deg", "lift_deg"}


def test_the_store_lives_in_the_user_data_folder_unless_told(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hipsense.store import default_path

    monkeypatch.delenv("HIPSENSE_STORE", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert default_path() == tmp_path / "data" / "hipsense" / "store.sqlite"
    res = CliRunner().invoke(cli, ["patients", "add", "P6"])
    assert res.exit_code == 0 and (tmp_path / "data" / "hipsense" / "store.sqlite").is_file()
    monkeypatch.setenv("HIPSENSE_STORE", str(tmp_path / "elsewhere.sqlite"))
    assert default_path() == tmp_path / "elsewhere.sqlite"
    assert "no patients" in CliRunner().invoke(cli, ["patients", "list"]).output


def test_reading_a_missing_store_creates_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`patients list` (and every command that only reads or changes what is stored) with
    HIPSENSE_STORE in a missing folder says so and leaves the disk as it was."""
    monkeypatch.setenv("HIPSENSE_STORE", str(tmp_path / "missing" / "store.sqlite"))
    runner = CliRunner()
    res = runner.invoke(cli, ["patients", "list"])
    assert res.exit_code == 0, res.output
    assert "no patients: no session store at" in res.output and "patients add ID" in res.output
    for args in (["patients", "show", "P1"], ["history", "P1"], ["note", "1", "x"]):
        res = runner.invoke(cli, args)
        assert res.exit_code == 1 and "no session store at" in res.output, args
    assert list(tmp_path.iterdir()) == []
    res = runner.invoke(cli, ["patients", "add", "P1"])  # adding creates it
    assert res.exit_code == 0 and (tmp_path / "missing" / "store.sqlite").is_file()
    assert "P1\tborn —\t0 sessions" in runner.invoke(cli, ["patients", "list"]).output


@settings(max_examples=60, deadline=None)
@given(
    code=st.text(alphabet=string.ascii_letters + string.digits + "-_äöüéëŁ", max_size=31),
    digit=st.sampled_from(string.digits),
)
def test_a_pseudonymous_code_is_accepted_as_given(code: str, digit: str) -> None:
    """Any 1-32 letters (any alphabet), digits, '-', '_' with a digit is an id, kept as typed
    (blanks around it dropped)."""
    pid = code + digit
    assert check_patient_id(f" {pid} ") == pid


@pytest.mark.parametrize("name", ["Jane Doe", "Jane", "O'Brien 1", "Zoë°7", "P" * 32 + "1"])
def test_a_personal_name_is_refused_as_a_patient_id(name: str, tmp_path: Path) -> None:
    """`patients add "Jane Doe"` was accepted although the store holds no names: an id with a
    space, without a digit, or with other characters is refused, saying why; nothing is added."""
    store = ["--store", str(tmp_path / "s.sqlite")]
    res = CliRunner().invoke(cli, ["patients", "add", name, *store])
    assert res.exit_code == 1 and "never names" in res.output and "P-0417" in res.output
    assert "no patients" in CliRunner().invoke(cli, ["patients", "list", *store]).output


@settings(max_examples=60, deadline=None)
@given(
    st.one_of(
        st.sampled_from(["nobody", "Jane Doe", "P-0417", "P 7", "Zoë1", "x" * 40 + "1", "p_2"]),
        st.text(alphabet=string.ascii_letters + string.digits + "-_ 'é;", min_size=1, max_size=36),
    )
)
def test_an_unknown_patients_hint_suggests_only_a_command_that_works(patient_id: str) -> None:
    """The unknown-patient message suggested `hipsense patients add nobody`, which the id rule
    refuses: a suggested `patients add` must be accepted; an id that cannot be one gets the
    rule instead."""
    import shlex
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        runner = CliRunner(env={"HIPSENSE_STORE": str(Path(tmp) / "s.sqlite")})
        assert runner.invoke(cli, ["patients", "add", "P0"]).exit_code == 0
        res = runner.invoke(cli, ["patients", "show", "--", patient_id])
        if patient_id.strip() == "P0":
            return
        assert res.exit_code == 1 and f"no patient {patient_id.strip()!r}" in res.output, res.output
        suggested = [
            c for c in res.output.split("`")[1::2] if c.startswith("hipsense patients add ")
        ]
        try:
            check_patient_id(patient_id)
        except StoreError:
            assert "cannot be one: patient ids are pseudonymous codes" in res.output
            assert suggested == ["hipsense patients add ID"], res.output
            return
        assert len(suggested) == 1, res.output
        add = runner.invoke(cli, shlex.split(suggested[0])[1:])
        assert add.exit_code == 0, add.output
        assert runner.invoke(cli, ["patients", "show", "--", patient_id]).exit_code == 0


def test_patients_show_names_each_runs_protocol_in_words(tmp_path: Path) -> None:
    """`patients show` said "bridge (both)" for single-leg bridges on the left then the right
    leg ("both" is the double-leg bridge) and "balance (both, eyes_open)": now the legs, sets
    and condition as the clinician chose them."""
    path = tmp_path / "s.sqlite"
    with open_store(path) as store:
        store.add_patient("P5")
    runs = {
        "stance": (simulate("stance-right-trendelenburg", seed=0), {"sides": ["right", "left"]}),
        "bridge": (simulate("bridge-single-weak-right", seed=0), {"sets": ["left", "right"]}),
        "double": (simulate("bridge-double", seed=0), {"sets": ["both", "both"]}),
    }
    for name, (sim, protocol) in runs.items():
        rec = sim.to_recording()
        rec.meta.extra["protocol"] = protocol
        _file(path, "P5", rec, f"{name}.parquet", tmp_path)
    shown = CliRunner().invoke(cli, ["patients", "show", "P5", "--store", str(path)]).output
    lines = [line for line in shown.splitlines() if line.startswith("  run ")]
    assert "balance (right leg, then left leg; eyes open)" in lines[0]
    assert "bridge (sets: left leg, right leg)" in lines[1]
    assert "bridge (sets: double-leg, double-leg)" in lines[2]
    assert "eyes_open" not in shown and "(both" not in shown


def test_a_run_is_filed_under_the_patient_id_without_its_blanks(tmp_path: Path) -> None:
    """``--patient " P7 "`` finds P7 (blanks ignored, as when it was added), so its run is filed
    under P7 too: not a session for " P7 ", which the store refused (a traceback)."""
    path = tmp_path / "store.sqlite"
    rec = simulate("bridge-single-weak-left", seed=0).to_recording()
    doc = analyse(rec).to_json()
    with open_store(path) as store:
        store.add_patient("P7")
        filed = store.file_run(" P7 ", "bridge", tmp_path / "b.parquet", rec.meta, doc)
        (run,) = store.runs("P7")
        assert run.id == filed.run_id and run.patient_id == "P7"
        assert [s[0] for s in store.sessions("P7")] == [filed.session_id]
        assert store.sessions(" P7 ") == store.sessions("P7") and store.runs(" P7 ") == [run]
    res = CliRunner().invoke(cli, ["history", " P7 ", "--store", str(path)])
    assert res.exit_code == 0 and res.output.startswith("History of P7 ") and "bridge" in res.output

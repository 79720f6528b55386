"""The session store: patients, their visits (sessions) and every test run, in one SQLite file.

A sink: it takes an analysis's JSON document and the recording's metadata and keeps the key
figures (:mod:`hipsense.store.figures`); it never reads or writes the recording file itself,
only its path. Every write is one transaction, so a process killed mid-write leaves the
previous state (SQLite's rollback journal).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shlex
import sqlite3
import string
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hipsense import __version__
from hipsense.conventions import HEIGHT_RANGE_CM
from hipsense.errors import HipsenseError
from hipsense.store.figures import Figure, analysis_identity, key_figures
from hipsense.store.schema import SchemaTooNew, migrate

ENV_VAR = "HIPSENSE_STORE"
SEXES = ("female", "male", "other")


class StoreError(HipsenseError):
    """A store request that cannot be met (unknown patient, duplicate id, bad value)."""


PATIENT_ID_MAX = 32
"""A patient id: a pseudonymous code of 1-32 letters (any alphabet), digits, '-' and '_' with at
least one digit (P1, PX-17, P-0417): the store holds no names, and a space or a code without a
digit is what a personal name ("Jane Doe", "Jane") looks like."""


ID_RULE = f"1-{PATIENT_ID_MAX} letters, digits, '-' or '_' with at least one digit (e.g. P-0417)"
"""The patient-id rule in words, for messages."""


def check_patient_id(patient_id: str) -> str:
    """``patient_id`` without surrounding blanks, or a :class:`StoreError` saying the rule."""
    pid = patient_id.strip()
    if not pid:
        raise StoreError("a patient needs an id or pseudonym")
    allowed = all(c.isalpha() or c in string.digits or c in "-_" for c in pid)
    if not allowed or len(pid) > PATIENT_ID_MAX or not any(c in string.digits for c in pid):
        raise StoreError(
            f"{pid!r} is not a patient id: the store holds pseudonymous codes, never names; use "
            f"{ID_RULE}, and keep the key from code to person outside hipsense"
        )
    return pid


def add_hint(patient_id: str) -> str:
    """What to do about an unknown ``patient_id``: the command that adds it when it is a valid
    id, else the id rule (``patients add`` would refuse it: never suggested)."""
    try:
        pid = check_patient_id(patient_id)
    except StoreError:
        return (
            f"{patient_id.strip()!r} cannot be one: patient ids are pseudonymous codes of "
            f"{ID_RULE}; `hipsense patients add ID` adds one, `hipsense patients list` shows "
            "the store's"
        )
    end_of_options = "-- " if pid.startswith("-") else ""  # not an option: `add -- -7`
    return f"add one with `hipsense patients add {end_of_options}{shlex.quote(pid)}`"


def default_path() -> Path:
    """``$HIPSENSE_STORE``, else ``store.sqlite`` in the user's data folder (platformdirs)."""
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env).expanduser()
    import platformdirs

    return platformdirs.user_data_path("hipsense", appauthor=False) / "store.sqlite"


@dataclass(frozen=True)
class Patient:
    id: str
    year_of_birth: int | None
    height_cm: float | None
    sex: str | None
    notes: str
    created_utc: str


@dataclass(frozen=True)
class Run:
    """One test run as filed (figures as stored)."""

    id: int
    session_id: int
    patient_id: str
    visit_date: str
    test: str
    recorded_utc: str
    recording_path: str
    side: str | None
    condition: str | None
    protocol: dict[str, Any]
    device_name: str | None
    firmware_version: str | None
    software_version: str | None
    analysis_kind: str | None
    analysis_version: int | None
    discard_reason: str | None
    analysis_error: str | None
    analysed_with: str | None
    figures: tuple[Figure, ...]


@dataclass(frozen=True)
class Filed:
    """Where a run was filed."""

    run_id: int
    session_id: int
    visit_date: str


def _now_utc() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def _visit_date(recorded_utc: str) -> str:
    """The local calendar date of a timestamp: runs of one day form one session."""
    t = dt.datetime.fromisoformat(recorded_utc.replace("Z", "+00:00"))
    if t.tzinfo is None:
        return t.date().isoformat()
    return t.astimezone().date().isoformat()


class Store:
    """An open store; use :func:`open_store`."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self.conn = conn
        self.path = path

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One transaction: committed whole or rolled back whole."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    # -- patients --------------------------------------------------------------------------
    def add_patient(
        self,
        patient_id: str,
        *,
        year_of_birth: int | None = None,
        height_cm: float | None = None,
        sex: str | None = None,
        notes: str = "",
    ) -> Patient:
        pid = check_patient_id(patient_id)
        this_year = dt.date.today().year
        if year_of_birth is not None and not 1900 <= year_of_birth <= this_year:
            raise StoreError(f"year of birth {year_of_birth} is not between 1900 and {this_year}")
        low_cm, high_cm = HEIGHT_RANGE_CM
        if height_cm is not None and not low_cm <= height_cm <= high_cm:
            raise StoreError(
                f"height {height_cm:g} cm is not between {low_cm:g} and {high_cm:g} cm"
            )
        if sex is not None and sex not in SEXES:
            raise StoreError(f"sex must be one of {', '.join(SEXES)}, got {sex!r}")
        with self._write() as c:
            if c.execute("SELECT 1 FROM patients WHERE id = ?", (pid,)).fetchone():
                raise StoreError(f"patient {pid!r} already exists (hipsense patients show {pid})")
            c.execute(
                "INSERT INTO patients (id, year_of_birth, height_cm, sex, notes, created_utc) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (pid, year_of_birth, height_cm, sex, notes, _now_utc()),
            )
        return self.patient(pid)

    def patient(self, patient_id: str) -> Patient:
        """The patient ``patient_id`` (surrounding blanks ignored, as when it was added)."""
        patient_id = patient_id.strip()
        row = self.conn.execute(
            "SELECT id, year_of_birth, height_cm, sex, notes, created_utc FROM patients "
            "WHERE id = ?",
            (patient_id,),
        ).fetchone()
        if row is None:
            raise StoreError(
                f"no patient {patient_id!r} in the store {self.path}: {add_hint(patient_id)}"
            )
        return Patient(*row)

    def patients(self) -> list[Patient]:
        rows = self.conn.execute(
            "SELECT id, year_of_birth, height_cm, sex, notes, created_utc FROM patients ORDER BY id"
        ).fetchall()
        return [Patient(*r) for r in rows]

    # -- runs ------------------------------------------------------------------------------
    def file_run(
        self,
        patient_id: str,
        test: str,
        recording_path: Path,
        meta: Any,
        doc: dict[str, Any] | None,
        *,
        analysis_error: str | None = None,
    ) -> Filed:
        """File one test run under the patient's session of the recording's day (created when
        needed); ``doc`` is the analysis's JSON document (None when the analysis failed, then
        ``analysis_error`` says why)."""
        pid = self.patient(patient_id).id  # as stored: the lookup ignores surrounding blanks
        recorded = meta.start_time or _now_utc()
        protocol = meta.extra.get("protocol") if isinstance(meta.extra, dict) else None
        kind, version = analysis_identity(doc) if doc is not None else (None, None)
        figures = key_figures(test, doc) if doc is not None else []
        with self._write() as c:
            session_id = self._session(c, pid, _visit_date(recorded))
            cur = c.execute(
                "INSERT INTO runs (session_id, test, recorded_utc, recording_path, side, "
                "condition, protocol_json, device_name, device_id, firmware_version, "
                "software_version, analysis_kind, analysis_version, analysis_error, "
                "analysed_with) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    session_id, test, recorded, str(Path(recording_path).resolve()), meta.side,
                    meta.condition, json.dumps(protocol or {}), meta.device_name,
                    meta.device_id, meta.firmware_version, meta.software_version, kind,
                    version, analysis_error, __version__,
                ),
            )  # fmt: skip
            run_id = int(cur.lastrowid or 0)
            c.executemany(
                "INSERT INTO figures (run_id, name, side, condition, value, unit) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [(run_id, f.name, f.side, f.condition, f.value, f.unit) for f in figures],
            )
        return Filed(run_id, session_id, _visit_date(recorded))

    @staticmethod
    def _session(c: sqlite3.Connection, patient_id: str, visit_date: str) -> int:
        row = c.execute(
            "SELECT id FROM sessions WHERE patient_id = ? AND visit_date = ?",
            (patient_id, visit_date),
        ).fetchone()
        if row is not None:
            return int(row[0])
        cur = c.execute(
            "INSERT INTO sessions (patient_id, visit_date, created_utc) VALUES (?, ?, ?)",
            (patient_id, visit_date, _now_utc()),
        )
        return int(cur.lastrowid or 0)

    def discard(self, run_id: int, reason: str) -> None:
        """Leave a run out of summaries, with the reason; the run and its figures stay."""
        if not reason.strip():
            raise StoreError("say why the trial is discarded (--reason), e.g. 'stumbled'")
        with self._write() as c:
            cur = c.execute("UPDATE runs SET discard_reason = ? WHERE id = ?", (reason, run_id))
            if cur.rowcount != 1:
                raise StoreError(f"no run {run_id} in the store")

    def restore(self, run_id: int) -> None:
        """Take a discarded run back into the summaries."""
        with self._write() as c:
            cur = c.execute("UPDATE runs SET discard_reason = NULL WHERE id = ?", (run_id,))
            if cur.rowcount != 1:
                raise StoreError(f"no run {run_id} in the store")

    def set_note(self, session_id: int, note: str) -> None:
        with self._write() as c:
            cur = c.execute("UPDATE sessions SET note = ? WHERE id = ?", (note, session_id))
            if cur.rowcount != 1:
                raise StoreError(f"no session {session_id} in the store")

    def sessions(self, patient_id: str) -> list[tuple[int, str, str]]:
        """(id, visit date, note) of the patient's sessions, oldest first (blanks around
        ``patient_id`` ignored, as by :meth:`patient`)."""
        rows = self.conn.execute(
            "SELECT id, visit_date, note FROM sessions WHERE patient_id = ? ORDER BY visit_date",
            (patient_id.strip(),),
        ).fetchall()
        return [(int(a), str(b), str(c)) for a, b, c in rows]

    def runs(self, patient_id: str | None = None, *, include_discarded: bool = True) -> list[Run]:
        """Runs (of one patient or all), oldest first (blanks around ``patient_id`` ignored)."""
        where, args = [], []
        if patient_id is not None:
            where.append("s.patient_id = ?")
            args.append(patient_id.strip())
        if not include_discarded:
            where.append("r.discard_reason IS NULL")
        sql = (
            "SELECT r.id, r.session_id, s.patient_id, s.visit_date, r.test, r.recorded_utc, "
            "r.recording_path, r.side, r.condition, r.protocol_json, r.device_name, "
            "r.firmware_version, r.software_version, r.analysis_kind, r.analysis_version, "
            "r.discard_reason, r.analysis_error, r.analysed_with FROM runs r JOIN sessions s "
            "ON s.id = r.session_id"
            + (" WHERE " + " AND ".join(where) if where else "")
            + " ORDER BY r.recorded_utc, r.id"
        )
        runs = []
        for row in self.conn.execute(sql, args).fetchall():
            figs = self.conn.execute(
                "SELECT name, side, condition, value, unit FROM figures WHERE run_id = ? "
                "ORDER BY name, side, condition",
                (row[0],),
            ).fetchall()
            figures = tuple(Figure(row[4], n, s, c, float(v), u) for n, s, c, v, u in figs)
            runs.append(Run(*row[:9], json.loads(row[9]), *row[10:], figures))  # type: ignore[misc]
        return runs

    def results_table(self, patient_id: str | None = None) -> Any:
        """Every figure of every run (discarded ones too, flagged) as a pandas DataFrame:
        one row per figure, for researchers (``hipsense export``)."""
        import pandas as pd

        rows: list[dict[str, Any]] = []
        for r in self.runs(patient_id):
            base = {
                "patient_id": r.patient_id, "session_id": r.session_id,
                "visit_date": r.visit_date, "run_id": r.id, "test": r.test,
                "recorded_utc": r.recorded_utc, "recording_path": r.recording_path,
                "protocol_side": r.side, "protocol_condition": r.condition,
                "device_name": r.device_name, "firmware_version": r.firmware_version,
                "software_version": r.software_version, "analysis_kind": r.analysis_kind,
                "analysis_version": r.analysis_version, "analysed_with": r.analysed_with,
                "discarded": r.discard_reason is not None,
                "discard_reason": r.discard_reason,
            }  # fmt: skip
            for f in r.figures:
                figure = {"figure": f.name, "side": f.side, "condition": f.condition,
                          "value": f.value, "unit": f.unit}  # fmt: skip
                rows.append({**base, **figure})
        columns = [
            "patient_id", "session_id", "visit_date", "run_id", "test", "recorded_utc",
            "recording_path", "protocol_side", "protocol_condition", "device_name",
            "firmware_version", "software_version", "analysis_kind", "analysis_version",
            "analysed_with", "discarded", "discard_reason", "figure", "side", "condition",
            "value", "unit",
        ]  # fmt: skip
        return pd.DataFrame(rows, columns=columns)


class StoreMissing(StoreError):
    """There is no store file at ``path`` yet (for commands that only read or change what is
    in it: they create nothing)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        super().__init__(
            f"no session store at {path} yet: `hipsense patients add ID` creates it "
            f"(--store or ${ENV_VAR} choose another)"
        )


@contextmanager
def open_store(path: Path | None = None, *, create: bool = True) -> Iterator[Store]:
    """Open (migrating) the store at ``path`` (default: :func:`default_path`); a missing one is
    created with ``create``, else :class:`StoreMissing` (nothing is made on the disk)."""
    target = Path(path) if path is not None else default_path()
    if create:
        target.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(target, isolation_level=None, timeout=10.0)
    else:
        try:  # mode=rw: opens the file only if it exists, never creates one
            uri = f"{target.resolve().as_uri()}?mode=rw"
            conn = sqlite3.connect(uri, uri=True, isolation_level=None, timeout=10.0)
        except sqlite3.OperationalError as exc:
            if target.exists():
                raise StoreError(f"cannot open the store {target}: {exc}") from None
            raise StoreMissing(target) from None
    try:
        conn.execute("PRAGMA foreign_keys = ON")
        try:
            migrate(conn)
        except SchemaTooNew as exc:
            raise StoreError(f"{target}: {exc}") from None
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{target} is not a hipsense store ({exc})") from None
        yield Store(conn, target)
    finally:
        conn.close()

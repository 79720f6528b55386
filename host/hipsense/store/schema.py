"""The session store's tables, one migration per schema version.

``PRAGMA user_version`` holds the version a database is at; :func:`migrate` brings it to
:data:`SCHEMA_VERSION` in one transaction per step. Version 1 kept each run's key figures as a
JSON text in ``runs.figures_json``; version 2 keeps them one row each in ``figures`` (so that
history and export are plain queries), lets a run be discarded with a reason, and records the
hipsense version that analysed the run (``analysed_with``) and why an analysis failed.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable

SCHEMA_VERSION = 2

V1_DDL = """
CREATE TABLE patients (
    id TEXT PRIMARY KEY,
    year_of_birth INTEGER,
    height_cm REAL,
    sex TEXT CHECK (sex IN ('female', 'male', 'other') OR sex IS NULL),
    notes TEXT NOT NULL DEFAULT '',
    created_utc TEXT NOT NULL
);
CREATE TABLE sessions (
    id INTEGER PRIMARY KEY,
    patient_id TEXT NOT NULL REFERENCES patients(id),
    visit_date TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    created_utc TEXT NOT NULL,
    UNIQUE (patient_id, visit_date)
);
CREATE TABLE runs (
    id INTEGER PRIMARY KEY,
    session_id INTEGER NOT NULL REFERENCES sessions(id),
    test TEXT NOT NULL,
    recorded_utc TEXT NOT NULL,
    recording_path TEXT NOT NULL,
    side TEXT,
    condition TEXT,
    protocol_json TEXT NOT NULL DEFAULT '{}',
    device_name TEXT,
    device_id TEXT,
    firmware_version TEXT,
    software_version TEXT,
    analysis_kind TEXT,
    analysis_version INTEGER,
    figures_json TEXT NOT NULL DEFAULT '[]'
);
"""


def _script(conn: sqlite3.Connection, sql: str) -> None:
    """Run ``;``-separated statements inside the caller's transaction (``executescript``
    would commit it first)."""
    for statement in sql.split(";"):
        if statement.strip():
            conn.execute(statement)


def _v1_to_v2(conn: sqlite3.Connection) -> None:
    _script(
        conn,
        """
        CREATE TABLE figures (
            run_id INTEGER NOT NULL REFERENCES runs(id),
            name TEXT NOT NULL,
            side TEXT NOT NULL DEFAULT '',
            condition TEXT NOT NULL DEFAULT '',
            value REAL NOT NULL,
            unit TEXT NOT NULL,
            PRIMARY KEY (run_id, name, side, condition)
        );
        ALTER TABLE runs ADD COLUMN discard_reason TEXT;
        ALTER TABLE runs ADD COLUMN analysis_error TEXT;
        ALTER TABLE runs ADD COLUMN analysed_with TEXT;
        """,
    )
    rows = conn.execute("SELECT id, figures_json FROM runs").fetchall()
    for run_id, text in rows:
        for f in json.loads(text or "[]"):
            conn.execute(
                "INSERT INTO figures (run_id, name, side, condition, value, unit) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (run_id, f["name"], f.get("side") or "", f.get("condition") or "",
                 float(f["value"]), f.get("unit", "")),
            )  # fmt: skip
    conn.execute("ALTER TABLE runs DROP COLUMN figures_json")


def _create_v1(conn: sqlite3.Connection) -> None:
    _script(conn, V1_DDL)


#: MIGRATIONS[k] takes a database from version k to k + 1 (version 0 = empty file).
MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [_create_v1, _v1_to_v2]
assert len(MIGRATIONS) == SCHEMA_VERSION


class SchemaTooNew(Exception):
    """The database was written by a newer hipsense."""


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the database to :data:`SCHEMA_VERSION`; returns the version it was at."""
    found = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if found > SCHEMA_VERSION:
        raise SchemaTooNew(
            f"the store's schema is version {found}, newer than this hipsense reads "
            f"(up to {SCHEMA_VERSION}); upgrade hipsense"
        )
    for version in range(found, SCHEMA_VERSION):
        # DDL inside an explicit transaction: sqlite rolls a failed step back whole
        conn.execute("BEGIN IMMEDIATE")
        try:
            MIGRATIONS[version](conn)
            conn.execute(f"PRAGMA user_version = {version + 1}")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
    return found

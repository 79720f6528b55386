"""The clinic's commands: ``hipsense patients add|list|show``, ``history``, ``discard``,
``note``, ``export``; and the ``--patient``/``--store`` options the test commands share to
file their run in the session store (docs/user-guide.md)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from hipsense.cli.outputs import echo_json, overwrite_option, refuse_existing
from hipsense.conventions.words import counted

if TYPE_CHECKING:
    from hipsense.store import Patient
    from hipsense.store.db import Run


def store_option(func: Any) -> Any:
    return click.option(
        "--store",
        "store_path",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="Session store file (default: $HIPSENSE_STORE, else store.sqlite in the user's "
        "data folder).",
    )(func)


def patient_options(func: Any) -> Any:
    """``--patient ID`` and ``--store``: file the run under a patient (optional)."""
    func = store_option(func)
    return click.option(
        "--patient",
        "patient_id",
        default=None,
        metavar="ID",
        help="File this run under the patient ID in the session store "
        "(see `hipsense patients add`).",
    )(func)


def check_patient(patient_id: str | None, store_path: Path | None) -> Patient | None:
    """The ``--patient`` (None without one); fails before a test starts when it names nobody
    in the store."""
    if patient_id is None:
        return None
    from hipsense.store import StoreError, StoreMissing, open_store
    from hipsense.store.db import add_hint

    try:
        with open_store(store_path, create=False) as store:
            return store.patient(patient_id)
    except StoreMissing as exc:
        raise StoreError(
            f"no patient {patient_id!r}: there is no session store at {exc.path} yet; "
            f"{add_hint(patient_id)}"
        ) from None


def height_for(patient: Patient | None, height_cm: float | None) -> tuple[float | None, str]:
    """The height a walk uses: ``--height``, else the patient's stored height; and the line
    that says it came from the store ("" when it did not)."""
    if height_cm is not None or patient is None or not patient.height_cm:
        return height_cm, ""
    return patient.height_cm, (
        f"height {patient.height_cm:g} cm from patient {patient.id}'s record (step length and "
        "speed; --height to use another)"
    )


def patient_context(patient_id: str | None, store_path: Path | None) -> dict[str, Any] | None:
    """What a report shows about the patient (id, year of birth, height, sex), or None."""
    if patient_id is None:
        return None
    from hipsense.store import open_store

    with open_store(store_path, create=False) as store:
        p = store.patient(patient_id)
    return {"id": p.id, "year_of_birth": p.year_of_birth, "height_cm": p.height_cm, "sex": p.sex}


def file_run(
    patient_id: str | None,
    store_path: Path | None,
    test: str,
    recording_path: Path,
    meta: Any,
    doc: dict[str, Any] | None,
    error: str | None = None,
) -> str | None:
    """File the run when a patient was given; returns the line to print (None without)."""
    if patient_id is None:
        return None
    from hipsense.store import open_store

    with open_store(store_path) as store:
        filed = store.file_run(patient_id, test, recording_path, meta, doc, analysis_error=error)
    return (
        f"filed as run {filed.run_id} of {patient_id}, session {filed.session_id} "
        f"({filed.visit_date}) in {store.path}"
    )


@click.group()
def patients() -> None:
    """Patients in the session store: add, list, show."""


@patients.command("add")
@click.argument("patient_id", metavar="ID")
@click.option("--year-of-birth", type=int, default=None)
@click.option("--height-cm", type=float, default=None)
@click.option("--sex", type=click.Choice(["female", "male", "other"]), default=None)
@click.option("--notes", default="", help="Free text (no names or contact details).")
@store_option
def patients_add(patient_id: str, year_of_birth: int | None, height_cm: float | None,
                 sex: str | None, notes: str, store_path: Path | None) -> None:  # fmt: skip
    """Add a patient by a pseudonymous ID: 1-32 letters, digits, '-' or '_' with at least one
    digit, e.g. P-0417 (no names: the store keeps only what tests need)."""
    from hipsense.store import open_store

    with open_store(store_path) as store:
        p = store.add_patient(patient_id, year_of_birth=year_of_birth, height_cm=height_cm,
                              sex=sex, notes=notes)  # fmt: skip
        click.echo(f"added patient {p.id} to {store.path}")


@patients.command("list")
@store_option
def patients_list(store_path: Path | None) -> None:
    """List the patients with their number of sessions and latest visit."""
    from hipsense.store import StoreMissing, open_store

    try:
        with open_store(store_path, create=False) as store:
            rows = store.patients()
            if not rows:
                click.echo(f"no patients in {store.path} yet: `hipsense patients add ID`")
                return
            for p in rows:
                sessions = store.sessions(p.id)
                last = sessions[-1][1] if sessions else "—"
                visits = counted(len(sessions), "session")
                click.echo(f"{p.id}\tborn {p.year_of_birth or '—'}\t{visits}\t"
                           f"last visit {last}")  # fmt: skip
    except StoreMissing as exc:  # listing creates nothing: an empty list, and why
        click.echo(f"no patients: {exc}")


@patients.command("show")
@click.argument("patient_id", metavar="ID")
@click.option("--json", "as_json", is_flag=True, help="Only JSON on stdout.")
@store_option
def patients_show(patient_id: str, as_json: bool, store_path: Path | None) -> None:
    """The patient, each session with its note, and each run (discarded ones marked)."""
    from hipsense.store import open_store

    with open_store(store_path, create=False) as store:
        p = store.patient(patient_id)
        sessions = store.sessions(patient_id)
        runs = store.runs(patient_id)
    if as_json:
        doc = {
            "patient": dataclasses.asdict(p),
            "sessions": [
                {"id": sid, "visit_date": d, "note": note,
                 "runs": [{"id": r.id, "test": r.test, "recording": r.recording_path,
                           "side": r.side, "condition": r.condition,
                           "discard_reason": r.discard_reason,
                           "figures": [{"name": f.name, "side": f.side,
                                        "condition": f.condition, "value": f.value,
                                        "unit": f.unit} for f in r.figures]}
                          for r in runs if r.session_id == sid]}
                for sid, d, note in sessions
            ],
        }  # fmt: skip
        echo_json(doc)
        return
    facts = [f"born {p.year_of_birth}" if p.year_of_birth else None,
             f"{p.height_cm:g} cm" if p.height_cm else None, p.sex]  # fmt: skip
    click.echo(f"{p.id}: {', '.join(x for x in facts if x) or 'no details'}")
    if p.notes:
        click.echo(f"  notes: {p.notes}")
    for sid, date, note in sessions:
        click.echo(f"session {sid}, {date}" + (f": {note}" if note else ""))
        for r in runs:
            if r.session_id != sid:
                continue
            what = _protocol_words(r)
            flag = f"  DISCARDED: {r.discard_reason}" if r.discard_reason else ""
            err = f"  (not analysed: {r.analysis_error})" if r.analysis_error else ""
            click.echo(f"  run {r.id}: {r.test}" + (f" ({what})" if what else "")
                       + f", {r.recording_path}{flag}{err}")  # fmt: skip


def _protocol_words(run: Run) -> str:
    """The run's protocol as the clinician chose it: "right leg, then left leg; eyes open",
    "sets: left leg, right leg" ("both" alone would read as the double-leg bridge)."""
    protocol = run.protocol or {}
    sides = protocol.get("sets") if run.test == "bridge" else protocol.get("sides")
    limb = "side" if run.test.startswith("exercise:") else "leg"
    parts: list[str] = []
    if isinstance(sides, list) and sides and all(isinstance(x, str) for x in sides):
        named = ["double-leg" if x == "both" else f"{x} {limb}" for x in sides]
        parts.append("sets: " + ", ".join(named) if run.test == "bridge" else ", then ".join(named))
    elif run.side:
        parts.append(run.side)
    if run.condition:
        parts.append(run.condition.replace("_", " "))
    return "; ".join(parts)


@click.command()
@click.argument("run_id", type=int)
@click.option("--reason", default=None, help="Why (a stumble, a wrong instruction).")
@click.option("--undo", is_flag=True, help="Take the run back into the summaries.")
@store_option
def discard(run_id: int, reason: str | None, undo: bool, store_path: Path | None) -> None:
    """Leave test run RUN_ID out of summaries and history (it is kept, never deleted)."""
    from hipsense.store import open_store

    with open_store(store_path, create=False) as store:
        if undo:
            store.restore(run_id)
            click.echo(f"run {run_id} is counted again")
            return
        if reason is None:
            raise click.UsageError("say why with --reason (e.g. --reason 'stumbled at 12 s')")
        store.discard(run_id, reason)
    click.echo(f"run {run_id} discarded ({reason}); it stays in the store")


@click.command()
@click.argument("session_id", type=int)
@click.argument("text")
@store_option
def note(session_id: int, text: str, store_path: Path | None) -> None:
    """Set the note of session SESSION_ID (see `hipsense patients show`)."""
    from hipsense.store import open_store

    with open_store(store_path, create=False) as store:
        store.set_note(session_id, text)
    click.echo(f"note saved on session {session_id}")


@click.command()
@click.argument("patient_id", metavar="ID")
@click.option("--json", "as_json", is_flag=True, help="Only JSON on stdout.")
@click.option(
    "--report",
    "report_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    metavar="PATH",
    help="Also write the progress report: PATH.html and PATH.pdf.",
)
@click.option(
    "--overwrite", is_flag=True, help="Replace the --report files if they exist (else refused)."
)
@store_option
def history(patient_id: str, as_json: bool, report_path: Path | None, overwrite: bool,
            store_path: Path | None) -> None:  # fmt: skip
    """Each key figure of the patient over time, per test and side, and whether the change
    exceeds the figure's minimal detectable change (MDC)."""
    from hipsense.store import open_store
    from hipsense.store.history import history as build
    from hipsense.store.history import history_text

    if report_path is not None:
        base = report_path.with_suffix("") if report_path.suffix.lower() in (".html", ".pdf") \
            else report_path  # fmt: skip
        refuse_existing([base.with_name(base.name + ext) for ext in (".html", ".pdf")],
                        overwrite, flag="--report")  # fmt: skip
    with open_store(store_path, create=False) as store:
        patient = store.patient(patient_id)
        patient_id = patient.id  # as stored (the lookup ignores surrounding blanks)
        runs = store.runs(patient_id)
        sessions = store.sessions(patient_id)
    series = build(runs)
    if as_json:
        echo_json({"patient": patient_id, "series": [s.to_json() for s in series]})
    else:
        click.echo(history_text(patient_id, series))
    if report_path is not None:
        from hipsense.report.progress import write_progress_report

        paths = write_progress_report(patient, sessions, runs, series, report_path)
        click.echo(f"report: {', '.join(map(str, paths))}", err=as_json)


@click.command()
@click.option("--patient", "patient_id", default=None, metavar="ID", help="Only this patient.")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Results table: .parquet or .csv.",
)
@overwrite_option
@store_option
def export(patient_id: str | None, out: Path, overwrite: bool, store_path: Path | None) -> None:
    """Export the results table (one row per key figure of every run) for research.

    An existing --out is refused unless --overwrite."""
    from hipsense.store import open_store

    suffix = out.suffix.lower()
    if suffix not in (".parquet", ".csv"):
        raise click.BadParameter("--out must end in .parquet or .csv")
    refuse_existing([out], overwrite)
    with open_store(store_path, create=False) as store:
        if patient_id is not None:
            store.patient(patient_id)
        table = store.results_table(patient_id)
    out.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".parquet":
        table.to_parquet(out, index=False)
    else:
        table.to_csv(out, index=False)
    click.echo(f"{counted(len(table), 'row')} written to {out}")

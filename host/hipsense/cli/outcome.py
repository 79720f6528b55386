"""What every test command does once its recording is closed, the same way for walk, balance,
bridge and analyze: analyse, print the summary (or only the JSON with ``--json``), write the
report (``<recording>_report.html`` and ``.pdf`` beside the recording) and file the run in the
session store when ``--patient`` was given."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console

from hipsense.cli.clinic import file_run, patient_context
from hipsense.cli.outputs import echo_json, refuse_existing
from hipsense.conventions.words import counted
from hipsense.errors import HipsenseError

if TYPE_CHECKING:
    from hipsense.orchestrate.stream import StreamSummary


def result_options(func: Any) -> Any:
    """``--json`` and ``--report/--no-report``: how every test command ends (:func:`finish`)."""
    func = click.option(
        "--report/--no-report",
        default=True,
        show_default=True,
        help="Write the report (<recording>_report.html and .pdf).",
    )(func)
    return click.option(
        "--json", "as_json", is_flag=True, help="Only the JSON document on stdout."
    )(func)


def console_for(as_json: bool) -> Console:
    """The console for people: stderr when stdout carries only the JSON document."""
    return Console(stderr=as_json)


def report_base(recording: Path) -> Path:
    """``recordings/walk-20261207-101500`` -> ``recordings/walk-20261207-101500_report``."""
    return recording.with_name(recording.stem + "_report")


def refuse_existing_report(out: Path | None, report: bool, overwrite: bool) -> None:
    """Before the first prompt: the report beside ``--out`` would replace an existing one
    (``--overwrite`` allows it, as it allows replacing the recording)."""
    if out is not None and report:
        base = report_base(out)
        refuse_existing([base.with_name(base.name + ext) for ext in (".html", ".pdf")], overwrite)


def say(console: Console, text: str) -> None:
    """Plain text on its own line(s): no wrapping into the live table, no highlighting."""
    console.print(text, soft_wrap=True, highlight=False, markup=False)


def finish(
    console: Console,
    test: str | None,
    recording_path: Path,
    *,
    patient_id: str | None,
    store_path: Path | None,
    report: bool,
    as_json: bool,
    options: dict[str, Any] | None = None,
) -> Any:
    """Analyse the recording at ``recording_path``, show, report and file; returns the
    analysis. It is read whole up to :data:`~hipsense.recording.limits.MAX_WHOLE_ROWS`
    samples, a longer walk in chunks, a longer recording of another test is an error
    (:func:`~hipsense.cli.analyze.analyse_for_report`). An analysis error is filed with the
    run (the recording is kept) and then raised."""
    from hipsense.cli.analyze import analyse_for_report
    from hipsense.recording.chunks import open_chunks

    chunks = open_chunks(recording_path)
    meta = chunks.meta
    name = test or meta.test or "unknown"
    try:
        result = analyse_for_report(chunks, test, **(options or {}))
    except HipsenseError as exc:
        line = file_run(patient_id, store_path, name, recording_path, meta, None, str(exc))
        if line:
            say(console, line)
        raise
    say(console, result.summary_text())  # on stderr with --json (see console_for)
    if as_json:  # strict JSON, as `analyze --json`: non-finite values as null
        echo_json(result.to_json())
    if report and importlib.util.find_spec("matplotlib") is None:
        say(console, "no report: matplotlib is not installed (pip install 'hipsense[report]')")
    elif report:
        from hipsense.report import write_report

        paths = write_report(
            result,
            report_base(recording_path),
            patient_context(patient_id, store_path),
            recording_path,
        )
        say(console, "report: " + ", ".join(str(p) for p in paths))
    line = file_run(patient_id, store_path, name, recording_path, meta, result.to_json())
    if line:
        say(console, line)
    return result


def finish_stream(
    console: Console,
    summary: StreamSummary,
    test: str,
    *,
    patient_id: str | None,
    store_path: Path | None,
    report: bool,
    as_json: bool,
    options: dict[str, Any] | None = None,
) -> Any | None:
    """A test command's end once its stream is over: how it ended, what was recorded, then
    :func:`finish` on the recording; None when nothing was recorded. The caller then calls
    ``end_status`` (after anything of its own)."""
    from hipsense.cli.stream import print_end  # the stream's modules only for a streamed test

    print_end(console, summary)
    if summary.recording is None:
        say(console, "no samples were recorded")
        return None
    say(
        console,
        f"{counted(summary.samples, 'sample')} over {summary.duration_s:.1f} s, "
        f"{summary.lost} lost; "
        f"recording: {summary.recording}",
    )
    return finish(
        console, test, summary.recording,
        patient_id=patient_id, store_path=store_path, report=report, as_json=as_json,
        options=options,
    )  # fmt: skip

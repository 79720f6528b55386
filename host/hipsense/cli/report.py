"""``hipsense report FILE``: the report of a recording, as one self-contained HTML file and a
PDF of the same (hipsense.report.layout)."""

from __future__ import annotations

from pathlib import Path

import click

from hipsense.cli.analyze import analyse_for_report, open_file, recording_options
from hipsense.cli.clinic import check_patient, height_for, patient_context, store_option
from hipsense.cli.outcome import report_base
from hipsense.cli.outputs import overwrite_option, refuse_existing


@click.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@recording_options
@click.option(
    "--out",
    "out_base",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Report name without extension (default: FILE's name + '_report' beside it); "
    "writes .html and .pdf.",
)
@overwrite_option
@click.option(
    "--patient", "patient_id", default=None, metavar="ID",
    help="Name this patient (from the session store) on every page.",
)  # fmt: skip
@store_option
def report(
    file: Path, test: str | None, column_map: str | None, rate_hz: float | None,
    axes: str | None, sides: list[str] | None, sets: list[str] | None, height_cm: float | None,
    age_years: float | None, out_base: Path | None, overwrite: bool, patient_id: str | None,
    store_path: Path | None,
) -> None:  # fmt: skip
    """Write the report of the recording FILE: FILE_report.html (self-contained) and .pdf.

    An existing report is refused unless --overwrite."""
    base = out_base if out_base is not None else report_base(file)
    if base.suffix.lower() in (".html", ".pdf"):
        base = base.with_suffix("")
    patient = patient_context(patient_id, store_path)
    refuse_existing([base.with_name(base.name + ext) for ext in (".html", ".pdf")], overwrite)
    from hipsense.report import write_report

    chunks = open_file(file, column_map, rate_hz, test)
    if (test or chunks.meta.test) == "walk":
        height_cm, height_from = height_for(check_patient(patient_id, store_path), height_cm)
        if height_from:
            click.echo(height_from, err=True)
    result = analyse_for_report(
        chunks,
        test,
        axes=axes,
        sides=sides,
        sets=sets,
        height_cm=height_cm,
        age_years=age_years,
    )
    paths = write_report(result, base, patient, file)
    click.echo("report: " + ", ".join(str(p) for p in paths))

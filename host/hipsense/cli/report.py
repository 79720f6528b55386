"""``hipsense report FILE``: an HTML report with figures for a recording."""

from __future__ import annotations

from pathlib import Path

import click

from hipsense.cli.analyze import recording_options, run_analysis


@click.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@recording_options
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Report folder (default: FILE's name + '_report' beside it).",
)
def report(
    file: Path, test: str | None, column_map: str | None, rate_hz: float | None,
    axes: str | None, height_cm: float | None, out_dir: Path | None,
) -> None:  # fmt: skip
    """Write an HTML report (with matplotlib figures) for the recording FILE."""
    result = run_analysis(file, test, column_map, rate_hz, axes, height_cm)
    target = out_dir or file.with_name(file.stem + "_report")
    path = result.write_report(target)
    click.echo(f"report: {path}")

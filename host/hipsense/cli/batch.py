"""``hipsense batch FOLDER|GLOB --out results.parquet``: many recordings into one table."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from hipsense.cli.analyze import TEST_NAMES
from hipsense.conventions.axes import AxesError, parse_axes


def _check_axes(value: str | None) -> str | None:
    """Refuse axes that are not a right-handed frame before any recording is read (else every
    recording would become the same error row)."""
    if value is not None:
        try:
            parse_axes(value)
        except AxesError as exc:
            raise click.BadParameter(str(exc).removeprefix("--axes ")) from None
    return value


@click.command()
@click.argument("source")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="The results table (Parquet); a rerun skips the recordings already in it.",
)
@click.option(
    "--test",
    type=click.Choice(TEST_NAMES),
    default=None,
    help="Test to analyse every recording as (default: each file's own).",
)
@click.option(
    "--axes",
    default=None,
    metavar="X,Y,Z",
    callback=lambda ctx, param, value: _check_axes(value),
    help="Sensor axes along the pelvis's anterior, left and up axes (as for analyze).",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Local worker processes (default: one per CPU).",
)
@click.option(
    "--scheduler",
    default=None,
    metavar="tcp://HOST:PORT",
    help="Run on this Dask distributed scheduler (pip install 'hipsense[cluster]').",
)
def batch(source: str, out: Path, test: str | None, axes: str | None, workers: int | None,
          scheduler: str | None) -> None:  # fmt: skip
    """Analyse every recording in SOURCE (a folder or a glob pattern) in parallel into one
    results table: one row per recording and side; recordings that fail are rows too."""
    from hipsense.orchestrate.batch import run_batch

    def progress(done: int, total: int, path: Path) -> None:
        click.echo(f"[{done}/{total}] {path.name}", err=True)

    options: dict[str, Any] = {} if axes is None else {"axes": axes}
    summary = run_batch(source, out, test=test, options=options, workers=workers,
                        scheduler=scheduler, progress=progress)  # fmt: skip
    failed = f", {summary.failed} failed (error rows)" if summary.failed else ""
    click.echo(
        f"{summary.found} recordings: {summary.analysed} analysed{failed}, {summary.skipped} "
        f"already in the results; results: {summary.out}"
    )

"""``hipsense batch FOLDER|GLOB --out results.parquet``: many recordings into one table."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from hipsense.cli.analyze import import_options, import_settings
from hipsense.conventions.words import counted


@click.command()
@click.argument("source")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="The results table (Parquet); a rerun with the same options skips the recordings "
    "already in it.",
)
@import_options
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
def batch(source: str, out: Path, test: str | None, column_map: str | None,
          rate_hz: float | None, axes: str | None, workers: int | None,
          scheduler: str | None) -> None:  # fmt: skip
    """Analyse every recording in SOURCE (a folder or a glob pattern) in parallel into one
    results table: one row per recording and side; recordings that fail are rows too.
    --test, --column-map, --rate-hz and --axes read the files as `analyze` reads them."""
    from hipsense.orchestrate.batch import run_batch

    def progress(done: int, total: int, path: Path) -> None:
        click.echo(f"[{done}/{total}] {path.name}", err=True)

    options: dict[str, Any] = {**import_settings(column_map, rate_hz)}
    if axes is not None:
        options["axes"] = axes
    summary = run_batch(source, out, test=test, options=options, workers=workers,
                        scheduler=scheduler, progress=progress)  # fmt: skip
    rows = "an error row" if summary.failed == 1 else "error rows"
    failed = f", {summary.failed} failed ({rows})" if summary.failed else ""
    ok = summary.analysed - summary.failed  # the failed ones apart: the counts add up
    click.echo(
        f"{counted(summary.found, 'recording')}: {ok} analysed{failed}, {summary.skipped} "
        f"already in the results; results: {summary.out}"
    )

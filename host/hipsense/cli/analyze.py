"""``hipsense analyze FILE``: the analysis of a recording (walk, balance, bridge) as text or JSON.

Foreign CSV files (other column names, e.g. the mobgap lower-back data) are read with
``--column-map`` and, when the sensor axes are not the pelvis axes, ``--axes``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from hipsense.cli.clinic import check_patient, file_run, patient_options
from hipsense.errors import HipsenseError
from hipsense.recording import Recording


def recording_options(func: Any) -> Any:
    """The options that say which test a file holds and how to read a foreign file."""
    options = [
        click.option("--test", default=None, help="Test to analyse as (default: from the file)."),
        click.option("--column-map", default=None, metavar="OURS=THEIRS,...",
                     help="Read a foreign CSV: hipsense column = the file's column, comma-"
                          "separated (e.g. t_s=time_s,acc_x_mps2=acc_x,...,gyr_z_dps=gyr_z)."),
        click.option("--rate-hz", type=click.FloatRange(min=1.0, max=10_000.0), default=None,
                     help="Sampling rate of a foreign CSV without a time column."),
        click.option("--axes", default=None, metavar="X,Y,Z",
                     help="Sensor axes along the pelvis's anterior, left and up axes "
                          "(mobgap's frame: z,-y,x); default: from the recording."),
        click.option("--height", "height_cm", type=click.FloatRange(80, 250), default=None,
                     help="The person's height in cm: walk step length and gait speed."),
    ]  # fmt: skip
    for option in reversed(options):
        func = option(func)
    return func


def load(path: Path, column_map: str | None, rate_hz: float | None) -> Recording:
    """A hipsense recording, or a foreign CSV read with ``column_map``."""
    if column_map is None:
        from hipsense.recording import read_recording

        return read_recording(path)
    from hipsense.recording.importer import ForeignFileError, read_foreign_csv

    pairs = [p.split("=", 1) for p in column_map.split(",") if p.strip()]
    if any(len(p) != 2 for p in pairs):
        raise ForeignFileError(
            f"--column-map {column_map!r}: use OURS=THEIRS pairs separated by ','"
        )
    return read_foreign_csv(path, {a.strip(): b.strip() for a, b in pairs}, rate_hz)


def analyse_loaded(
    rec: Recording, test: str | None, axes: str | None, height_cm: float | None = None
) -> Any:
    from hipsense.analysis import analyse

    options: dict[str, Any] = {} if axes is None else {"axes": axes}
    if height_cm is not None:
        options["height_cm"] = height_cm
    return analyse(rec, test, **options)


def run_analysis(file: Path, test: str | None, column_map: str | None, rate_hz: float | None,
                 axes: str | None, height_cm: float | None = None) -> Any:  # fmt: skip
    return analyse_loaded(load(file, column_map, rate_hz), test, axes, height_cm)


@click.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@recording_options
@click.option("--json", "as_json", is_flag=True, help="Write the JSON document (docs/gait.md).")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the output to this file instead of the terminal.",
)
@patient_options
def analyze(
    file: Path, test: str | None, column_map: str | None, rate_hz: float | None,
    axes: str | None, height_cm: float | None, as_json: bool, out: Path | None,
    patient_id: str | None,
    store_path: Path | None,
) -> None:  # fmt: skip
    """Analyse the recording FILE and print the result (or its JSON document).

    With --patient the run is filed in the session store under the recording's day (the
    recording file is not changed)."""
    check_patient(patient_id, store_path)
    rec = load(file, column_map, rate_hz)
    try:
        result = analyse_loaded(rec, test, axes, height_cm)
    except HipsenseError as exc:
        line = file_run(patient_id, store_path, test or rec.meta.test or "unknown", file,
                        rec.meta, None, str(exc))  # fmt: skip
        if line:
            click.echo(line, err=True)
        raise
    line = file_run(patient_id, store_path, test or rec.meta.test or "unknown", file, rec.meta,
                    result.to_json())  # fmt: skip
    if line:
        click.echo(line, err=True)
    text = json.dumps(result.to_json(), indent=2) if as_json else result.summary_text()
    if out is None:
        click.echo(text)
    else:
        out.write_text(text + "\n", encoding="utf-8")
        click.echo(f"written: {out}")

"""``hipsense analyze FILE``: the analysis of a recording (walk, balance, bridge) as text or JSON.

Foreign CSV files (other column names, e.g. the mobgap lower-back data) are read with
``--column-map`` for every test and, when the sensor axes are not the pelvis axes, ``--axes``.
An option that does not apply (to the file or to the test) is refused with a message.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from hipsense.cli.clinic import check_patient, file_run, height_for, patient_options
from hipsense.cli.outputs import echo_utf8, overwrite_option, refuse_existing
from hipsense.conventions import HEIGHT_RANGE_CM, SIDES
from hipsense.conventions.axes import AxesError, parse_axes
from hipsense.conventions.exercises import SPECS as EXERCISES
from hipsense.errors import HipsenseError
from hipsense.recording import Recording, RecordingMeta
from hipsense.recording.chunks import RecordingChunks

TEST_NAMES = ("walk", "balance", "bridge", *(f"exercise:{name}" for name in EXERCISES))

# analysis option -> the command-line flag that sets it
FLAGS: dict[str, str] = {
    "axes": "--axes", "sides": "--sides", "sets": "--sets", "height_cm": "--height",
}  # fmt: skip


def _side_list(ctx: click.Context, param: click.Parameter, value: str | None) -> list[str] | None:
    if value is None:
        return None
    allowed = (*SIDES, "both") if param.name == "sets" else SIDES
    items = [v.strip().lower() for v in value.split(",") if v.strip()]
    if not items or any(v not in allowed for v in items):
        raise click.BadParameter(f"{value!r}: a comma-separated list of {', '.join(allowed)}")
    return items


def _check_axes(value: str | None) -> str | None:
    """Refuse axes that are not a right-handed frame before any recording is read (``batch``
    would else make every recording the same error row)."""
    if value is not None:
        try:
            parse_axes(value)
        except AxesError as exc:
            raise click.BadParameter(str(exc).removeprefix("--axes ")) from None
    return value


IMPORT_OPTIONS = [
    click.option("--test", type=click.Choice(TEST_NAMES), default=None,
                 help="Test to analyse as (default: from the file)."),
    click.option("--column-map", default=None, metavar="OURS=THEIRS,...",
                 help="Read a foreign CSV: hipsense column = the file's column, comma-"
                      "separated (e.g. t_s=time_s,acc_x_mps2=acc_x,...,gyr_z_dps=gyr_z)."),
    click.option("--rate-hz", type=click.FloatRange(min=1.0, max=10_000.0), default=None,
                 help="Sampling rate of a foreign CSV (with --column-map)."),
    click.option("--axes", default=None, metavar="X,Y,Z",
                 callback=lambda ctx, param, value: _check_axes(value),
                 help="Sensor axes along the pelvis's anterior, left and up axes "
                      "(mobgap's frame: z,-y,x); default: from the recording."),
]  # fmt: skip
"""Which test a file holds and how to read it: ``analyze``, ``report`` and ``batch``."""


def import_options(func: Any) -> Any:
    """The options of :data:`IMPORT_OPTIONS` (``--test``, ``--column-map``, ``--rate-hz``,
    ``--axes``), checked by :func:`import_settings`."""
    for option in reversed(IMPORT_OPTIONS):
        func = option(func)
    return func


def recording_options(func: Any) -> Any:
    """The options that say which test a file holds, how to read a foreign file and how to
    analyse it."""
    options = [
        *IMPORT_OPTIONS,
        click.option("--sides", default=None, callback=_side_list, metavar="LEFT|RIGHT,...",
                     help="balance: the stance leg of each trial; exercise:NAME: the side of each "
                          "set (default: from the file)."),
        click.option("--sets", default=None, callback=_side_list, metavar="BOTH|LEFT|RIGHT,...",
                     help="bridge: the supporting side of each set (default: from the file)."),
        click.option("--height", "height_cm", type=click.FloatRange(*HEIGHT_RANGE_CM), default=None,
                     help="walk: the person's height in cm, for step length and gait speed."),
        click.option("--age", "age_years", type=click.FloatRange(1, 120), default=None,
                     help="balance: age in years, for the single-leg stance hold-time reference "
                          "(default: the age stored in the recording)."),
    ]  # fmt: skip
    for option in reversed(options):
        func = option(func)
    return func


def import_settings(column_map: str | None, rate_hz: float | None) -> dict[str, Any]:
    """``--column-map`` and ``--rate-hz`` checked before any file is read, as the keywords of
    :func:`~hipsense.recording.chunks.open_any_chunks` (and of
    :func:`hipsense.analysis.analyse_file`); {} for a hipsense recording."""
    if column_map is None:
        if rate_hz is not None:
            raise click.UsageError("--rate-hz applies only to a foreign CSV read with --column-map")
        return {}
    from hipsense.recording.importer import check_column_map, parse_column_map

    mapping = parse_column_map(column_map)
    check_column_map(mapping)
    return {"column_map": mapping, **({} if rate_hz is None else {"rate_hz": rate_hz})}


def open_file(
    path: Path, column_map: str | None, rate_hz: float | None, test: str | None = None
) -> RecordingChunks:
    """A hipsense recording, or a foreign CSV read with ``column_map`` (stamped with ``test``),
    opened for reading in chunks: its metadata and columns checked now."""
    from hipsense.recording.chunks import open_any_chunks

    return open_any_chunks(path, **import_settings(column_map, rate_hz), test=test)


def analyse_loaded(rec: Recording, test: str | None, **given: Any) -> Any:
    """Analyse a loaded recording; ``given`` are the analysis options from the command line
    (None = not given). An option the test does not take is refused, naming its flag."""
    from hipsense.analysis import analyse, test_of

    name = test_of(rec, test)
    return analyse(rec, name, **checked_options(name, rec.meta, given))


def checked_options(name: str, meta: RecordingMeta, given: dict[str, Any]) -> dict[str, Any]:
    """The options given on the command line that ``name`` takes; one it does not take is a
    usage error naming its flag. ``--age`` goes into the metadata (read by the balance
    analysis)."""
    from hipsense.analysis import options_of

    age_years = given.pop("age_years", None)
    if age_years is not None:
        if name != "balance":
            raise click.UsageError(f"--age does not apply to the {name} test")
        meta.extra["age_years"] = age_years  # read by hipsense.analysis.balance
    options = {k: v for k, v in given.items() if v is not None}
    accepted = options_of(name)
    for key in options:
        if key not in accepted:
            raise click.UsageError(f"{FLAGS.get(key, key)} does not apply to the {name} test")
    return options


def analyse_for_report(chunks: RecordingChunks, test: str | None, **given: Any) -> Any:
    """Analyse an opened recording for a report: read whole (the report's figures need every
    sample) up to :data:`~hipsense.recording.limits.MAX_WHOLE_ROWS` samples; a longer walk is
    analysed in chunks instead (its report then draws no gait cycles: any length, bounded
    memory), a longer recording of another test is refused with a message naming the limit."""
    from hipsense.analysis import test_of
    from hipsense.recording.chunks import TooLongError

    name = test or chunks.meta.test
    try:
        rec = chunks.whole(why=f"the {name or 'file'} analysis reads it whole")
    except TooLongError:
        if test_of(chunks, test) != "walk":  # a file that does not say its test: asked for it
            raise
        from hipsense.analysis.walk import analyse_walk_chunks

        return analyse_walk_chunks(chunks, **checked_options("walk", chunks.meta, given))
    return analyse_loaded(rec, test, **given)


def batched(pieces: Iterator[str], size: int = 1 << 16) -> Iterator[str]:
    """The pieces joined into texts of about ``size`` characters: one write to the terminal per
    text, not one per contact (a 1 h walk's JSON is some 12,000 pieces)."""
    batch: list[str] = []
    n = 0
    for piece in pieces:
        batch.append(piece)
        n += len(piece)
        if n >= size:
            yield "".join(batch)
            batch, n = [], 0
    if batch:
        yield "".join(batch)


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
@overwrite_option
@patient_options
def analyze(
    file: Path, test: str | None, column_map: str | None, rate_hz: float | None,
    axes: str | None, sides: list[str] | None, sets: list[str] | None, height_cm: float | None,
    age_years: float | None, as_json: bool, out: Path | None, overwrite: bool,
    patient_id: str | None, store_path: Path | None,
) -> None:  # fmt: skip
    """Analyse the recording FILE and print the result (or its JSON document).

    With --patient the run is filed in the session store under the recording's day (the
    recording file is not changed)."""
    from hipsense.analysis.base import json_chunks

    if out is not None:
        refuse_existing([out], overwrite)  # before the analysis: a refusal costs nothing
    patient = check_patient(patient_id, store_path)
    given = dict(axes=axes, sides=sides, sets=sets, height_cm=height_cm, age_years=age_years)
    chunks = open_file(file, column_map, rate_hz, test)
    meta = chunks.meta
    name = test or meta.test or "unknown"
    if name == "walk":  # read in chunks: memory bounded at any length
        from hipsense.analysis.walk import analyse_walk_chunks

        given["height_cm"], height_from = height_for(patient, height_cm)
        if height_from:
            click.echo(height_from, err=True)

        def run() -> Any:
            return analyse_walk_chunks(chunks, **checked_options(name, meta, given))

    else:
        from hipsense.analysis import test_of
        from hipsense.recording.chunks import TooLongError

        why = f"the {name} analysis reads it whole" if name != "unknown" else ""

        def run() -> Any:
            try:
                rec = chunks.whole(why=why)
            except TooLongError:
                test_of(chunks, test)  # a file that does not say its test: asked for it
                raise
            return analyse_loaded(rec, test, **given)

    try:
        result = run()
    except HipsenseError as exc:
        line = file_run(patient_id, store_path, name, file, meta, None, str(exc))
        if line:
            click.echo(line, err=True)
        raise
    doc = result.to_json() if patient_id is not None else None
    line = file_run(patient_id, store_path, name, file, meta, doc)
    if line:
        click.echo(line, err=True)
    if as_json:
        from hipsense.analysis.walk import WalkAnalysis

        # a walk's contacts and steps are encoded as they are written: never whole in memory
        lazy = result.to_json(lazy=True) if isinstance(result, WalkAnalysis) else result.to_json()
        pieces = json_chunks(lazy)
    else:
        pieces = iter([result.summary_text() + "\n"])
    if out is None:
        echo_utf8(batched(pieces))
    else:
        with open(out, "w", encoding="utf-8") as f:
            f.writelines(pieces)
        click.echo(f"written: {out}")

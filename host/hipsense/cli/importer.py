"""``hipsense import FILE``: another tool's CSV as a hipsense recording, for any test, read and
written in chunks (any length, bounded memory)."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import click

from hipsense.cli.analyze import TEST_NAMES
from hipsense.cli.outputs import overwrite_option
from hipsense.conventions.words import counted

if TYPE_CHECKING:
    from hipsense.recording.chunks import RecordingChunks


@click.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--column-map",
    required=True,
    metavar="OURS=THEIRS,...",
    help="hipsense column = the file's column, comma-separated "
    "(t_s=time_s,acc_x_mps2=acc_x,...,gyr_z_dps=gyr_z); units m/s² and deg/s.",
)
@click.option(
    "--rate-hz",
    type=click.FloatRange(min=1.0, max=10_000.0),
    default=None,
    help="Sampling rate (needed when the map has no t_s).",
)
@click.option(
    "--axes",
    default=None,
    metavar="X,Y,Z",
    help="Sensor axes along the pelvis's anterior, left and up axes (mobgap: z,-y,x); "
    "the raw columns are stored in pelvis axes.",
)
@click.option(
    "--test",
    type=click.Choice(TEST_NAMES),
    required=True,
    help="The test the file holds (stored in the recording).",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="The recording to write (.parquet, or .csv).",
)
@overwrite_option
def import_command(
    file: Path, column_map: str, rate_hz: float | None, axes: str | None, test: str, out: Path,
    overwrite: bool,
) -> None:  # fmt: skip
    """Import FILE (a CSV of another tool) as a recording of TEST, ready for analyze/report."""
    from hipsense.orchestrate.stream import check_out
    from hipsense.recording.importer import open_foreign_chunks, parse_column_map

    check_out(out, overwrite)  # as every command that writes a recording
    chunks = open_foreign_chunks(file, parse_column_map(column_map), rate_hz, test=test, axes=axes)
    rows = write_chunks(chunks, out)
    click.echo(f"written: {out} ({counted(rows, 'sample')} at {chunks.meta.rate_hz:g} Hz, {test})")


def write_chunks(chunks: RecordingChunks, out: Path) -> int:
    """Write the chunks to ``out`` as they are read (memory: one chunk, at any length) through
    a temporary file beside it, renamed over ``out`` only when every chunk was read and
    written: a bad row halfway leaves no half recording. Returns the number of samples."""
    from hipsense.recording import RecordingWriter

    # a name of its own: the partial file of an import killed earlier is not in the way
    tmp = out.with_name(f".{out.stem}.{uuid.uuid4().hex[:12]}.importing{out.suffix}")
    writer = RecordingWriter(tmp, chunks.meta)
    try:
        for frame in chunks.frames():
            writer.append(frame)
        writer.close()
        os.replace(tmp, out)
    except BaseException:
        try:
            writer.discard()  # at once: what was written is not first made a recording
        finally:
            tmp.unlink(missing_ok=True)
        raise
    return writer.rows_written

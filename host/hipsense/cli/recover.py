"""``hipsense recover FILE.partial``: turn the unfinished file of an interrupted recorder
(killed, power lost) into a recording, keeping every chunk that was written completely."""

from __future__ import annotations

from pathlib import Path

import click

from hipsense.conventions.words import counted


@click.command()
@click.argument("partial", type=click.Path(dir_okay=False, path_type=Path))
def recover(partial: Path) -> None:
    """Restore the recording from PARTIAL (the .partial file beside the missing recording)."""
    from hipsense.recording import RecordingError, recover_partial
    from hipsense.recording.chunks import open_chunks

    candidate = partial.with_name(partial.name + ".partial")
    if not partial.name.endswith(".partial") and candidate.exists():
        partial = candidate  # the recording's own name was given
    elif not partial.exists():
        raise RecordingError(f"{partial}: no such file (nothing to recover)")
    elif not partial.name.endswith(".partial"):
        raise RecordingError(f"{partial}: nothing to recover: no {candidate.name} beside it "
                             "(the recording was closed normally)")  # fmt: skip
    target = recover_partial(partial)
    samples, duration_s = open_chunks(target).extent()  # checked, a chunk at a time
    click.echo(f"recovered {counted(samples, 'sample')} ({duration_s:.1f} s): {target}")

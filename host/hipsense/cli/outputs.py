"""Output files (reports, JSON, tables, source files) are refused when they exist, unless
``--overwrite``: the same rule and flag as the recording commands, so no command replaces a
file the user did not ask it to replace."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import click

from hipsense.errors import HipsenseError


def overwrite_option(func: Callable[..., Any]) -> Callable[..., Any]:
    """``--overwrite``: replace an existing ``--out`` (refused otherwise)."""
    return click.option(
        "--overwrite", is_flag=True, help="Replace the --out file if it exists (else refused)."
    )(func)


def refuse_existing(paths: list[Path], overwrite: bool, flag: str = "--out") -> None:
    """Stop before any work when one of ``paths`` exists and ``overwrite`` is not given; the
    message names the file and both ways out."""
    for path in paths:
        if path.exists() and not overwrite:
            raise HipsenseError(
                f"{path} exists: choose another {flag}, or add --overwrite to replace it"
            )


def echo_utf8(pieces: Iterable[str]) -> None:
    """Write ``pieces`` to stdout as UTF-8 whatever the locale's encoding (a JSON document
    keeps its non-ASCII characters, and a pipe on a Latin-1 or cp1252 console cannot fail)."""
    for piece in pieces:
        click.echo(piece.encode("utf-8"), nl=False)


def echo_json(doc: Any) -> None:
    """``--json``: the document on stdout as :func:`~hipsense.analysis.base.json_text` (the
    same form for every command)."""
    from hipsense.analysis.base import json_text

    echo_utf8([json_text(doc) + "\n"])

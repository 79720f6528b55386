"""``hipsense version``: what this host software is and which protocol it speaks."""

from __future__ import annotations

import platform

import click

from hipsense import __version__


@click.command()
def version() -> None:
    """Print the host software version and platform."""
    click.echo(f"hipsense {__version__} (Python {platform.python_version()}, {platform.system()})")

"""``hipsense pair``: bond this computer with a sensor over BLE (docs/user-guide.md)."""

from __future__ import annotations

import asyncio

import click

from hipsense.link.transport.bonding import Paired, pair_board
from hipsense.virtual.launch import VirtualBoardOptions, virtual_board


async def _pair_virtual(device: str | None) -> Paired:
    from hipsense.virtual.bleak_backend import VirtualClient, VirtualScanner

    # A new virtual board, not bonded to anyone: its first pairing window is open.
    async with virtual_board(VirtualBoardOptions(scenario="still", bond_host=False)) as running:
        return await pair_board(
            device or running.name,
            scanner_backend=VirtualScanner,
            client_backend=VirtualClient,
            backend_kwargs={"radio": running.radio},
        )


@click.command()
@click.argument("device", required=False)
@click.option("--virtual", is_flag=True, help="Pair with a new virtual board (a demonstration).")
@click.option("--timeout", "timeout_s", default=10.0, show_default=True, help="Scan seconds.")
def pair(device: str | None, virtual: bool, timeout_s: float) -> None:
    """Bond this computer with the sensor DEVICE (its name such as hipsense-5E4D, just 5E4D,
    or its address; default: the first one found). Hold the sensor's button for 3 s first (its
    pairing window opens for 60 s); a new sensor's window is open for 60 s after it is switched
    on."""
    if virtual:
        paired = asyncio.run(_pair_virtual(device))
    else:
        paired = asyncio.run(pair_board(device, scan_timeout_s=timeout_s))
    if paired.already:
        click.echo(f"this computer is already paired with {paired.name} ({paired.address})")
    else:
        click.echo(f"paired with {paired.name} ({paired.address}): its data and commands are "
                   "now encrypted and only bonded computers can use it")  # fmt: skip
    if virtual:
        click.echo("(a virtual board: it and its bond end with this command)")

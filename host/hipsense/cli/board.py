"""``hipsense board``: information, log, settings and reset of a connected board."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import click
from rich.console import Console
from rich.table import Table

from hipsense.deploy.link import BoardLink

_port_option = click.option(
    "--port", help="Serial port of the board (default: the one ESP32 found on USB)."
)


@contextmanager
def _connected(port: str | None) -> Iterator[BoardLink]:
    from hipsense.deploy.ports import choose_port, list_candidates

    with BoardLink(port or choose_port(list_candidates())) as link:
        link.enter_raw()
        yield link


@click.group()
def board() -> None:
    """Inspect and configure a board running hipsense over USB serial."""


@board.command()
@_port_option
def info(port: str | None) -> None:
    """Chip, MicroPython, firmware, profile, IMU, battery and calibration."""
    from hipsense.deploy.board_ops import read_info

    with _connected(port) as link:
        details = read_info(link)
    table = Table(show_header=False, box=None)
    for label, value in details.rows():
        table.add_row(f"[bold]{label}[/bold]", value)
    Console().print(table)


@board.command()
@_port_option
def logs(port: str | None) -> None:
    """Print the firmware's log (hs_log.txt on the board), oldest line first."""
    from hipsense.deploy.board_ops import read_logs

    with _connected(port) as link:
        text = read_logs(link)
    click.echo(text.rstrip("\n") if text else "(the log is empty)")


@board.command()
@_port_option
@click.option("--name", help="Name advertised over BLE (1-20 letters, digits, - or _).")
@click.option("--rate-hz", type=click.Choice(["100", "200", "400"]), help="Output data rate.")
@click.option("--profile", help="Board profile from hardware/boards to install as board.json.")
def config(port: str | None, name: str | None, rate_hz: str | None, profile: str | None) -> None:
    """Show the settings, or change the ones given."""
    from hipsense.deploy.board_ops import read_config, validate_settings, write_config
    from hipsense.deploy.deploy import read_facts
    from hipsense.deploy.profiles import check_profile_chip, chip_from_machine, load_profile

    rate = int(rate_hz) if rate_hz else None
    validate_settings(name, rate)
    # a mistyped --profile is named before the board is looked for, as a bad name or rate is
    parsed, profile_bytes = load_profile(profile) if profile is not None else (None, None)
    with _connected(port) as link:
        if name is None and rate is None and profile is None:
            settings = read_config(link)
        else:
            if parsed is not None:
                check_profile_chip(parsed, chip_from_machine(read_facts(link).machine))
            settings = write_config(link, name=name, rate_hz=rate, profile_json=profile_bytes)
            click.echo("saved; the firmware uses them from its next start (hipsense board reset)")
    for key in ("profile", "name", "rate_hz"):
        click.echo(f"{key}: {settings.get(key, 'default')}")


@board.command()
@_port_option
@click.option("--soft", is_flag=True, help="Soft reset (restart MicroPython, keep the chip on).")
def reset(port: str | None, soft: bool) -> None:
    """Restart the board so the firmware starts again."""
    from hipsense.deploy.board_ops import reset as reset_board

    with _connected(port) as link:
        reset_board(link, hard=not soft)
    click.echo("reset")


async def _forget(port: str | None, device: str | None, virtual: bool) -> str:
    from hipsense.link.transport.ble import BleTransport
    from hipsense.link.transport.bonding import forget_bonds

    if port is not None:
        from hipsense.link.transport.serial import SerialTransport

        await forget_bonds(SerialTransport(port))
        return f"the board on {port} forgot every computer it was paired with"
    if virtual:
        from hipsense.virtual.bleak_backend import VirtualClient, VirtualScanner
        from hipsense.virtual.launch import VirtualBoardOptions, virtual_board

        async with virtual_board(VirtualBoardOptions(scenario="still")) as running:
            await forget_bonds(
                BleTransport(
                    device or running.name,
                    scanner_backend=VirtualScanner,
                    client_backend=VirtualClient,
                    backend_kwargs={"radio": running.radio},
                    reconnect=False,
                )
            )
            return f"{running.name} (virtual) forgot every computer it was paired with"
    transport = BleTransport(device, reconnect=False)
    await forget_bonds(transport)
    return f"{transport.device_name or device} forgot every computer it was paired with"


@board.command()
@click.argument("device", required=False)
@click.option("--port", help="Over USB serial (the board's port) instead of Bluetooth.")
@click.option("--virtual", is_flag=True, help="Use a virtual board (a demonstration).")
def forget(device: str | None, port: str | None, virtual: bool) -> None:
    """Make the sensor forget every paired computer (over BLE from a paired computer, or over
    USB with --port). Pair again with `hipsense pair`."""
    import asyncio

    click.echo(asyncio.run(_forget(port, device, virtual)))
    click.echo("pair again with `hipsense pair` (hold the sensor's button for 3 s first)")


@board.command()
@_port_option
@click.option("--seconds", type=click.IntRange(0, 120), default=60, show_default=True,
              help="How long the window stays open (0 closes it).")  # fmt: skip
def pairing(port: str | None, seconds: int) -> None:
    """Open the sensor's BLE pairing window over USB (instead of holding its button)."""
    import asyncio

    from hipsense.deploy.ports import choose_port, list_candidates
    from hipsense.link.transport.bonding import open_pairing_window
    from hipsense.link.transport.serial import SerialTransport

    serial_port = port or choose_port(list_candidates())
    asyncio.run(open_pairing_window(SerialTransport(serial_port), seconds))
    if seconds:
        click.echo(f"pairing window open for {seconds} s: run `hipsense pair` now")
    else:
        click.echo("pairing window closed")

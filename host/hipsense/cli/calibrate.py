"""``hipsense calibrate``: measure the sensor's gyro bias at rest and store it on the sensor."""

from __future__ import annotations

import asyncio
from typing import Any

import click

from hipsense.cli import UserError, UserInterrupt
from hipsense.cli.stream import virtual_board_options, virtual_options

SECONDS = 5
"""Default rest: the board's bias estimate is within 0.1 °/s of a still sensor's in 5 s."""


@click.command()
@click.argument("device", required=False)
@click.option("--seconds", type=click.IntRange(1, 30), default=SECONDS, show_default=True,
              help="How long the sensor lies still (1-30 s).")  # fmt: skip
@click.option("--port", default=None, metavar="PORT",
              help="USB serial link on PORT (/dev/ttyUSB0, COM3), not Bluetooth.")  # fmt: skip
@click.option(
    "--take-over", is_flag=True, help="Stop the stream another computer runs from the sensor."
)
@virtual_options
def calibrate(
    device: str | None, seconds: int, port: str | None, take_over: bool, **kwargs: Any
) -> None:
    """Calibrate the gyroscope of DEVICE (name or address; default: the first found): put
    the sensor down on a table, not worn, and keep it still; it measures its gyro bias over
    --seconds and stores it, and uses it from then on (it also keeps learning at every rest).
    """
    from hipsense.orchestrate.stream import StreamOptions, calibrate_gyro

    virtual = virtual_board_options(kwargs, "still")
    if port is not None and virtual is not None:
        raise click.UsageError("--port and --virtual exclude each other")
    options = StreamOptions(device=device, virtual=virtual, port=port, take_over=take_over)
    sent: list[bool] = []

    def measuring() -> None:
        sent.append(True)
        click.echo(f"measuring for {seconds} s: keep it still…", err=True)

    try:
        click.echo("Gyro calibration: put the sensor down on a table, not worn, and keep it "
                   "still.", err=True)  # fmt: skip
        done = asyncio.run(calibrate_gyro(options, seconds, measuring))
    except KeyboardInterrupt:
        raise UserInterrupt(_interrupted(bool(sent), seconds, virtual is not None)) from None
    x, y, z = done.bias_dps
    click.echo(
        f"{done.device_name}: gyro bias x {x:+.3f}, y {y:+.3f}, z {z:+.3f} deg/s stored on the "
        "sensor"
    )
    stored = done.settings.gyro_bias_dps if done.settings is not None else None
    if stored is None:
        raise UserError(
            f"{done.device_name} does not report a stored gyro calibration after storing one: "
            "run `hipsense calibrate` again, and `hipsense board logs` if it persists"
        )
    sx, sy, sz = stored
    click.echo(
        f"{done.device_name} reports it calibrated and uses this bias (now x {sx:+.3f}, "
        f"y {sy:+.3f}, z {sz:+.3f} deg/s: it keeps refining it at every rest)"
    )
    if virtual is not None:
        click.echo("(a virtual board: it and its calibration end with this command)")


def _interrupted(sent: bool, seconds: int, virtual: bool) -> str:
    """What a Ctrl-C left: nothing before the command went out; after it, the board measures
    and stores on its own (its job does not end with the link), unless it is virtual."""
    if not sent:
        return "interrupted (Ctrl-C) before the calibration started: nothing was changed"
    if virtual:
        return "interrupted (Ctrl-C): the virtual board ends with this command, nothing is kept"
    return (
        f"interrupted (Ctrl-C) during the calibration: the sensor finishes its {seconds} s "
        "measurement on its own and stores the bias only if it stayed still; run `hipsense "
        "calibrate` again to be sure"
    )

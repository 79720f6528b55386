"""``hipsense sim``: list the simulator's scenarios, record them, write virtual-board sources."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import click

from hipsense.cli.outputs import overwrite_option, refuse_existing
from hipsense.sim.chips import CHIPS
from hipsense.sim.errors import SimError
from hipsense.sim.mounting import MOUNTINGS, parse_mounting
from hipsense.sim.scenarios import (
    DEFAULT_LEVER_ARM_M,
    SCENARIOS,
    SimResult,
    scenario_params,
    simulate,
)


def _value(text: str) -> Any:
    """A --set value: int, float, comma-separated floats (a tuple) or text."""
    for convert in (int, float):
        try:
            return convert(text)
        except ValueError:
            pass
    if "," in text:
        try:
            return tuple(float(v) for v in text.split(",") if v)
        except ValueError:
            pass
    return text


def _params(pairs: tuple[str, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise SimError(f"--set expects NAME=VALUE, got {pair!r}")
        out[key.strip().replace("-", "_")] = _value(value.strip())
    return out


def _lever_arm(text: str) -> list[float]:
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        values = []
    if len(values) != 3:
        raise SimError(f"--lever-arm expects x,y,z in metres (pelvis frame), got {text!r}")
    return values


_scenario_arg = click.argument("scenario", metavar="SCENARIO", type=click.Choice(sorted(SCENARIOS)))


def _sim_options(func: Any) -> Any:
    options = [
        click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True),
        click.option("--rate-hz", type=click.FloatRange(min=1.0, max=10_000.0), default=100.0,
                     show_default=True),
        click.option(
            "--chip", type=click.Choice([*CHIPS, "ideal"]), default="mpu6886", show_default=True
        ),
        click.option(
            "--mounting", default="aligned", show_default=True,
            help=f"sensor→pelvis: {', '.join(MOUNTINGS)} or a quaternion w,x,y,z",
        ),
        click.option(
            "--lever-arm", default=",".join(str(v) for v in DEFAULT_LEVER_ARM_M),
            show_default=True, help="sensor position from the pelvis origin, pelvis frame [m]",
        ),
        click.option("--duration-s", type=click.FloatRange(min=0.0, min_open=True, max=86_400.0),
                     default=None,
                     help="length of the main activity (see `hipsense sim list`)"),
        click.option("--set", "sets", multiple=True, metavar="NAME=VALUE",
                     help="override a scenario parameter, e.g. drop_in_right_stance_deg=8"),
    ]  # fmt: skip
    for option in reversed(options):
        func = option(func)
    return func


def _run(
    scenario: str, seed: int, rate_hz: float, chip: str, mounting: str, lever_arm: str,
    duration_s: float | None, sets: tuple[str, ...],
) -> SimResult:  # fmt: skip
    return simulate(
        scenario, seed=seed, rate_hz=rate_hz, chip=chip, mounting=parse_mounting(mounting),
        lever_arm_m=_lever_arm(lever_arm), duration_s=duration_s, **_params(sets),
    )  # fmt: skip


@click.group()
def sim() -> None:
    """Motion simulator: seeded scenarios with ground truth (docs/simulator.md)."""


@sim.command("list")
def list_scenarios() -> None:
    """Show the named scenarios."""
    width = max(map(len, SCENARIOS))
    for name, description in SCENARIOS.items():
        click.echo(f"{name:<{width}}  {description}")


@sim.command()
@_scenario_arg
def show(scenario: str) -> None:
    """Show SCENARIO's description and its parameters with their values (for --set)."""
    click.echo(f"{scenario}: {SCENARIOS[scenario]}")
    params = scenario_params(scenario)
    for field in dataclasses.fields(params):
        value = getattr(params, field.name)
        if isinstance(value, tuple):
            value = ",".join(str(v) for v in value) or "(empty)"
        click.echo(f"  {field.name} = {value}")


@sim.command()
@_scenario_arg
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--format", "fmt", type=click.Choice(["parquet", "csv"]), default=None,
              help="default: from the file suffix (.csv), else parquet")  # fmt: skip
@overwrite_option
@_sim_options
def record(scenario: str, out: Path, fmt: str | None, overwrite: bool, **kw: Any) -> None:
    """Simulate SCENARIO and write it as a recording (true angles, ground truth in the metadata).

    An existing --out is refused unless --overwrite."""
    from hipsense.orchestrate.stream import check_out
    from hipsense.recording import write_recording

    check_out(out, overwrite)  # before simulating: a refusal costs nothing
    result = _run(scenario, **kw)
    path = write_recording(result.to_recording(), out, fmt=fmt)
    click.echo(f"{scenario}: {result.t_s.shape[0]} samples at {result.rate_hz:g} Hz → {path}")


@sim.command()
@_scenario_arg
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--loop", is_flag=True, help="the virtual board restarts the file at its end")
@overwrite_option
@_sim_options
def source(scenario: str, out: Path, loop: bool, overwrite: bool, **kw: Any) -> None:
    """Write SCENARIO as a sample-source file for the virtual board's simulated chip.

    An existing --out is refused unless --overwrite."""
    from hipsense.sim.source import write_source_file

    refuse_existing([out], overwrite)  # before simulating: a refusal costs nothing
    result = _run(scenario, **kw)
    write_source_file(out, result.acc_continuous_mps2, result.gyr_continuous_dps,
                      result.rate_hz, loop=loop)  # fmt: skip
    click.echo(f"{scenario}: {result.t_s.shape[0]} samples at {result.rate_hz:g} Hz → {out}")

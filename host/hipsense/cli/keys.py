"""Key presses from the terminal while the event loop streams: the touch-down fallback of
``hipsense balance``.

On a POSIX terminal, stdin is put in cbreak mode (one key at a time, no echo; Ctrl-C still
interrupts) and restored on exit, also after Ctrl-C or an error. From a pipe every line is one
press. Without a usable stdin (closed, ``/dev/null``, a regular file, an event loop that cannot
watch it) the reader does nothing and says so in :attr:`KeyReader.mode`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import Callable
from types import TracebackType
from typing import Any

KEYS = "\r\n t"
"""Enter, space or ``t`` (touch-down)."""


def stdin_fd() -> int | None:
    """Standard input's file descriptor, or None when there is none (closed, replaced)."""
    try:
        return sys.stdin.fileno()
    except (AttributeError, ValueError, OSError):
        return None


class KeyReader:
    """``with KeyReader(on_key) as keys:`` inside a running event loop; ``keys.mode`` is
    ``"keys"`` (a terminal, cbreak), ``"lines"`` (a pipe: one press per line) or None.

    on_key: called on the event loop with the key (``"\\n"`` for a line).
    keys: the keys that count in cbreak mode; other keys are ignored.
    fd: the file descriptor to read (default: stdin's).
    """

    def __init__(
        self, on_key: Callable[[str], None], keys: str = KEYS, fd: int | None = None
    ) -> None:
        self.on_key = on_key
        self.keys = keys
        self.fd = fd
        self.mode: str | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._saved: list[Any] | None = None

    def __enter__(self) -> KeyReader:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        """Start watching the fd (call from a coroutine: needs the running loop)."""
        fd = self.fd if self.fd is not None else stdin_fd()
        if fd is None or self.mode is not None:
            return
        self.fd = fd
        self._saved = _cbreak(fd)
        loop = asyncio.get_running_loop()
        try:
            loop.add_reader(fd, self._readable)
        except (OSError, ValueError, NotImplementedError):
            # /dev/null and regular files cannot be watched (epoll: EPERM); nor can anything
            # on Windows' proactor loop: no key fallback then
            self._restore()
            return
        self._loop = loop
        self.mode = "keys" if self._saved is not None else "lines"

    def stop(self) -> None:
        """Stop watching and give the terminal its settings back."""
        if self._loop is not None and self.fd is not None:
            with contextlib.suppress(OSError, ValueError, RuntimeError):
                self._loop.remove_reader(self.fd)
        self._loop = None
        self.mode = None
        self._restore()

    def _readable(self) -> None:
        assert self.fd is not None
        try:
            data = os.read(self.fd, 256)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:  # end of input (the pipe was closed): nothing more will come
            if self._loop is not None:
                self._loop.remove_reader(self.fd)
            return
        if self.mode == "keys":
            for ch in data.decode(errors="ignore"):
                if ch in self.keys:
                    self.on_key(ch)
        else:
            for _ in range(data.count(b"\n")):
                self.on_key("\n")

    def _restore(self) -> None:
        if self._saved is None or self.fd is None:
            return
        import termios

        with contextlib.suppress(termios.error, OSError):
            termios.tcsetattr(self.fd, termios.TCSADRAIN, self._saved)
        self._saved = None


def _cbreak(fd: int) -> list[Any] | None:
    """Put a terminal in cbreak mode; returns its previous settings (None: not a terminal, or
    no termios on this system)."""
    if not os.isatty(fd):
        return None
    try:
        import termios
        import tty
    except ImportError:
        return None
    try:
        saved = termios.tcgetattr(fd)
        tty.setcbreak(fd, termios.TCSAFLUSH)  # keys typed before the test are dropped
    except (termios.error, OSError):
        return None
    return saved

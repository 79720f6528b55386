"""A MicroPython unix-port process behind a pty, behaving like a board on a serial port.

``mpremote`` (and pyserial) need a device path; the unix port sits on a pty slave and exits
on a soft reset. The relay owns two ptys: A for the ``micropython`` child, B whose slave path
it prints for the host. It copies bytes both ways and respawns the child when it exits, like
a board rebooting: a reboot from the raw REPL skips ``main.py`` (as MicroPython does); any
other boot runs ``main.py`` from the board directory when it exists. Ctrl-C from the host
becomes SIGINT for the child while it runs code (the unix port only notices Ctrl-C as a
signal; at a prompt, after ``-i main.py``, SIGINT would end the process).

Run ``python -m hipsense.virtual.pty_board BOARD_DIR [micropython options]``; the first line
on stdout is the port. SIGTERM stops the child and the relay (no orphans). See
docs/flashing.md and /work/shared/TOOLCHAIN.md section 2.
"""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import sys
import time
import tty
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from hipsense.virtual.runner import micropython_argv

_CTRL_A, _CTRL_B, _CTRL_C = 1, 2, 3
_PROMPT_TIMEOUT_S = 5.0
_POLL_S = 0.05


def _spawn(argv: Sequence[str], cwd: str) -> tuple[subprocess.Popen[bytes], int]:
    master, slave = pty.openpty()
    tty.setraw(slave)
    proc = subprocess.Popen(
        list(argv), stdin=slave, stdout=slave, stderr=slave, cwd=cwd, start_new_session=True
    )
    os.close(slave)
    return proc, master


def relay(board_dir: str, mp_argv: Sequence[str], max_lifetime_s: float) -> None:
    """Serve the board until SIGTERM or ``max_lifetime_s`` (a safety net against leaks)."""
    host_master, host_slave = pty.openpty()
    tty.setraw(host_slave)
    print(os.ttyname(host_slave), flush=True)
    state: dict[str, subprocess.Popen[bytes] | None] = {"proc": None}

    def stop(_signum: int = 0, _frame: FrameType | None = None) -> None:
        proc = state["proc"]
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    deadline = time.monotonic() + max_lifetime_s
    raw = False
    while time.monotonic() < deadline:
        argv = list(mp_argv)
        if not raw and (Path(board_dir) / "main.py").exists():
            argv += ["-i", "main.py"]
        proc, child = _spawn(argv, board_dir)
        state["proc"] = proc
        if raw:  # wait for the prompt, then re-enter the raw REPL (the port flushes early input)
            seen = b""
            t_end = time.monotonic() + _PROMPT_TIMEOUT_S
            while not seen.endswith(b">>> ") and time.monotonic() < t_end:
                if not select.select([child], [], [], _POLL_S)[0]:
                    continue
                try:
                    chunk = os.read(child, 4096)
                except OSError:
                    break
                seen += chunk
                os.write(host_master, chunk)
            os.write(child, b"\x01")
        tail = b""  # the child's latest output: a prompt at the end means it is idle
        while time.monotonic() < deadline:
            readable, _, _ = select.select([child, host_master], [], [], _POLL_S)
            if child in readable:
                try:
                    data = os.read(child, 4096)
                except OSError:
                    data = b""
                if not data:
                    break
                tail = (tail + data)[-8:]
                os.write(host_master, data)
            if host_master in readable:
                data = os.read(host_master, 4096)
                idle = tail.rstrip().endswith(b">")
                for byte in data:
                    if byte == _CTRL_A:
                        raw = True
                    elif byte == _CTRL_B:
                        raw = False
                    elif byte == _CTRL_C and proc.poll() is None and not idle:
                        os.kill(proc.pid, signal.SIGINT)  # at a prompt SIGINT would kill it
                os.write(child, data)
            if proc.poll() is not None and child not in readable:
                break
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        os.close(child)
        os.write(host_master, b"MPY: soft reboot\r\n")  # what mpremote waits for
    stop()


class PtyBoard:
    """Start the relay as a subprocess; ``port`` is its serial device path.

    ``extra_path`` goes before the board directory's own modules on MicroPython's path
    (e.g. the simulated ``machine``). Use as a context manager; ``stop()`` is idempotent.
    """

    def __init__(
        self,
        board_dir: Path,
        *,
        extra_path: Sequence[Path] = (),
        heapsize: str = "120K",
        start_timeout_s: float = 10.0,
        max_lifetime_s: float = 300.0,
    ) -> None:
        mp_path = [*map(str, extra_path), ".frozen"]
        env = dict(os.environ, MICROPYPATH=os.pathsep.join(["", *mp_path]))
        argv = [
            sys.executable,
            "-m",
            "hipsense.virtual.pty_board",
            "--max-s",
            str(max_lifetime_s),
            str(board_dir),
            *micropython_argv(heapsize),
        ]
        self.board_dir = board_dir
        self._proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True, env=env)
        assert self._proc.stdout is not None
        ready = select.select([self._proc.stdout], [], [], start_timeout_s)[0]
        line = self._proc.stdout.readline().strip() if ready else ""
        if not line.startswith("/dev/"):
            self.stop()
            raise RuntimeError(f"pty board relay did not start (got {line!r})")
        self.port = line

    @property
    def returncode(self) -> int | None:
        """The relay's exit status once stopped (0 after a clean SIGTERM shutdown)."""
        return self._proc.returncode

    def stop(self) -> None:
        if self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        if self._proc.stdout is not None:
            self._proc.stdout.close()

    def __enter__(self) -> PtyBoard:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()


def main(argv: Sequence[str]) -> None:
    """``[--max-s S] [--bare] DIR MP_ARGV...``: without ``--bare`` (and unless MICROPYPATH is
    set) the simulated ``machine``/``bluetooth`` come first on the board's path, so the
    firmware finds ``machine.Pin``, its I2C bus and the profile's IMU as on a board."""
    args = list(argv)
    max_s = 300.0
    bare = False
    while args[:1] in (["--max-s"], ["--bare"]):
        if args[0] == "--bare":
            bare = True
            args = args[1:]
        else:
            max_s = float(args[1])
            args = args[2:]
    if len(args) < 2:
        raise SystemExit(
            "usage: python -m hipsense.virtual.pty_board [--max-s S] [--bare] DIR MP_ARGV..."
        )
    if not bare and "MICROPYPATH" not in os.environ:
        from hipsense import paths

        os.environ["MICROPYPATH"] = os.pathsep.join(["", str(paths.mpy_sim_dir()), ".frozen"])
    relay(args[0], args[1:], max_s)


if __name__ == "__main__":
    main(sys.argv[1:])

"""Start the virtual board: the unmodified firmware (``firmware/main.py``) on the MicroPython
unix port, its IMU fed by a simulated scenario, its Bluetooth bridged to the host's
:class:`~hipsense.virtual.radio.VirtualRadio` (docs/virtual-board.md).

The firmware runs as a child process with the simulated ``machine``/``bluetooth`` modules first
on its path and a temporary folder as its flash (``board.json``, calibration files, log).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hipsense import paths
from hipsense.errors import HipsenseError
from hipsense.virtual.radio import VirtualBoard, VirtualRadio
from hipsense.virtual.runner import micropython_argv, micropython_env, run_micropython

DEFAULT_ADDRESS = "02:48:53:00:5E:4D"
DEFAULT_PROFILE = "m5stickc-plus2"
# The firmware sizes its ring from the heap left after its code (firmware/memory.py): up to
# 216 kB (120 s at 100 Hz raw) on a profile with PSRAM, 54 kB without; the simulated machine
# and bluetooth modules add about 70 kB and 4 kB socket buffers that a real board does not
# spend, and the unix port's objects are twice an ESP32's (docs/virtual-board.md).
DEFAULT_HEAPSIZE = "512K"
BONDS_FILE = "hs_bonds.bin"  # firmware/bonds.py
CLOCKS = ("lockstep", "wall")
"""The virtual board's clock modes (``VirtualBoardOptions.clock``)."""


class VirtualBoardFailed(HipsenseError):
    """The virtual board's MicroPython process ended or never came up."""


@dataclass(frozen=True)
class VirtualBoardOptions:
    """What the virtual board simulates.

    ``scenario``: a name from ``hipsense sim list``; ``speed``: simulated seconds per second
    (1 = real time); ``drop_link_every_s``/``drop_link_for_s``: forced disconnects (fault
    injection, simulated seconds); ``chip``: the IMU model on the I2C bus; ``bond_host``:
    the board starts bonded to the radio's own central (this host), as after ``hipsense
    pair``: its flash holds the bond (``bond_file``), so its pairing window stays closed and
    no start-up time is spent pairing (False: the board comes up new and unbonded, its
    pairing window open for 60 s); ``clock``: ``"lockstep"`` (the board's clock, ``time``
    included, moves only as far as the host has taken in its data, at most ``speed`` times
    wall time: no result depends on the machine's load) or ``"wall"`` (wall time x ``speed``,
    the board runs free; docs/virtual-board.md "Time").
    """

    scenario: str = "walk-normal"
    seed: int = 0
    rate_hz: float = 100.0
    chip: str = "mpu6886"
    profile: str = DEFAULT_PROFILE
    mounting_wxyz: tuple[float, float, float, float] | None = None
    duration_s: float | None = None
    speed: float = 1.0
    drop_link_every_s: float | None = None
    drop_link_for_s: float = 3.0
    address: str = DEFAULT_ADDRESS
    heapsize: str = DEFAULT_HEAPSIZE
    params: tuple[tuple[str, Any], ...] = ()
    """Scenario parameters to override (``(("sides", ("left",)), ("hold_s", 20.0))``): the
    guided tests make the simulated person follow the protocol the user asked for."""
    bond_host: bool = True
    clock: str = "lockstep"

    def __post_init__(self) -> None:
        if self.clock not in CLOCKS:
            raise HipsenseError(f"virtual board clock {self.clock!r}: use {' or '.join(CLOCKS)}")


@dataclass
class RunningVirtualBoard:
    """``process`` is the firmware's current process (a new one after each reset)."""

    radio: VirtualRadio
    board: VirtualBoard
    process: subprocess.Popen[bytes]
    flash_dir: Path
    name: str
    reboots: int = 0
    stopping: bool = False

    def current_board(self) -> VirtualBoard:
        """The board as the radio sees it now (after a reset it says hello again)."""
        address = self.board.address
        return self.radio.find(address) or self.board

    def log(self) -> str:
        """What the firmware printed so far (its console)."""
        out = self.flash_dir / "console.txt"
        return out.read_text(errors="replace") if out.exists() else ""


def _write_source(options: VirtualBoardOptions, flash_dir: Path) -> Path:
    from hipsense.sim.scenarios import simulate
    from hipsense.sim.source import write_source_file

    result = simulate(
        options.scenario,
        seed=options.seed,
        rate_hz=options.rate_hz,
        chip=options.chip,
        mounting=options.mounting_wxyz,
        duration_s=options.duration_s,
        **dict(options.params),
    )
    path = flash_dir / "source.hsim"
    write_source_file(
        path, result.acc_continuous_mps2, result.gyr_continuous_dps, options.rate_hz, loop=True
    )
    return path


def check_names(options: VirtualBoardOptions) -> None:
    """Refuse an unknown scenario, IMU chip or board profile at once, before any prompt or
    start-up work (each message lists the names there are)."""
    from hipsense.sim.chips import CHIPS
    from hipsense.sim.scenarios import SCENARIOS

    if options.scenario not in SCENARIOS:
        raise HipsenseError(f"unknown scenario {options.scenario!r}; `hipsense sim list` shows "
                            f"the {len(SCENARIOS)} scenarios")  # fmt: skip
    if options.chip not in CHIPS:  # a register-level model: the simulator's 'ideal' has none
        raise HipsenseError(f"unknown IMU chip {options.chip!r} for the virtual board; use one "
                            f"of {', '.join(CHIPS)}")  # fmt: skip
    _profile_path(options.profile)


def _profile_path(name: str) -> Path:
    path = paths.boards_dir() / f"{name}.json"
    if not path.is_file():
        known = sorted(p.stem for p in paths.boards_dir().glob("*.json") if p.stem != "schema")
        raise HipsenseError(f"no board profile {name!r}: choose one of {', '.join(known)}")
    return path


def deploy_firmware(
    dest: Path, source_dir: Path | None = None, executable: Path | None = None
) -> Path:
    """Compile the firmware (or ``source_dir``) for the unix port (or the MicroPython build
    ``executable``) into ``dest`` as ``.mpy``, as a board holds it: a board never compiles its
    source, so the virtual board's heap is not charged for that."""
    from hipsense.deploy.compile import BytecodeTarget, collect_sources, compile_firmware

    sys_mpy = int(
        run_micropython("import sys; print(sys.implementation._mpy)", executable=executable).stdout
    )
    sources = collect_sources(source_dir or paths.firmware_dir())
    compiled = compile_firmware(sources, BytecodeTarget.from_sys_mpy(sys_mpy))
    for rel, data in compiled.items():
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return dest


def board_name(address: str) -> str:
    """The advertised name: ``hipsense-`` and the last two address bytes."""
    return "hipsense-" + address.replace(":", "")[-4:].upper()


@contextlib.asynccontextmanager
async def virtual_board(options: VirtualBoardOptions) -> AsyncIterator[RunningVirtualBoard]:
    """Run the virtual board until the block ends; yields once it advertises."""
    lockstep = options.clock == "lockstep"
    radio = VirtualRadio(speed=options.speed if lockstep else None)
    endpoint = await radio.start()
    with tempfile.TemporaryDirectory(prefix="hipsense-vboard-") as tmp:
        flash_dir = Path(tmp)
        profile = json.loads(_profile_path(options.profile).read_text())
        profile["imu"]["expected"] = options.chip
        (flash_dir / "board.json").write_text(json.dumps(profile))
        if options.bond_host:
            ltk = os.urandom(16)
            (flash_dir / BONDS_FILE).write_bytes(bond_file(radio.central.address, ltk))
            radio.central.bonds[options.address.upper()] = ltk
        source = await asyncio.to_thread(_write_source, options, flash_dir)
        app_dir = await asyncio.to_thread(deploy_firmware, flash_dir / "slot")
        sim_dir = await asyncio.to_thread(deploy_firmware, flash_dir / "sim", paths.mpy_sim_dir())
        # lockstep: the board's ``time`` is the simulation's (sim/lockstep/time.py first)
        path = [sim_dir / "lockstep", sim_dir, app_dir] if lockstep else [sim_dir, app_dir]
        env = micropython_env(path)
        env.update(
            HIPSENSE_SIM_CLOCK=options.clock,
            HIPSENSE_VBLE_ENDPOINT=endpoint,
            HIPSENSE_VBLE_ADDR=options.address,
            HIPSENSE_SIM_SOURCE=str(source),
            HIPSENSE_SIM_SPEED=str(options.speed),
            HIPSENSE_SIM_IMU=options.chip,
        )
        argv = [*micropython_argv(options.heapsize), "-c", "import main; main.main()"]
        with (flash_dir / "console.txt").open("wb") as console:

            def boot() -> subprocess.Popen[bytes]:
                # Its own session: Ctrl-C in the terminal is for the host, which ends the
                # stream and then the board; the board must not die first.
                return subprocess.Popen(
                    argv,
                    cwd=flash_dir,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=console,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                    preexec_fn=_die_with_parent,
                )

            process = boot()
            booted = time.monotonic()
            reaper = _Reaper(flash_dir)
            reaper.watch(process.pid)
            running = None
            supervisor = None
            drops: asyncio.Future[None] | None = None
            try:
                board = await _wait_for_board(radio, process, flash_dir)
                await _advertising(board)
                running = RunningVirtualBoard(
                    radio, board, process, flash_dir, board_name(options.address)
                )
                supervisor = asyncio.ensure_future(_reboot_on_reset(running, boot, reaper))
                if options.drop_link_every_s:
                    drops = asyncio.ensure_future(_schedule_drops(running, options, booted))
                yield running
            finally:
                if drops is not None:
                    drops.cancel()
                if running is not None:
                    running.stopping = True
                    process = running.process
                process.kill()
                await asyncio.to_thread(process.wait, 10)
                if supervisor is not None:
                    with contextlib.suppress(asyncio.TimeoutError, Exception):
                        await asyncio.wait_for(supervisor, 5.0)
                reaper.stop()
                await radio.close()


RESET_EXIT_STATUSES = (17, 18)
"""How the simulated ``machine.reset()``, a watchdog reset (17) and ``soft_reset()`` (18) end
the MicroPython process (``_vboard.RESET_EXIT_STATUS``)."""


async def _reboot_on_reset(
    running: RunningVirtualBoard,
    boot: Callable[[], subprocess.Popen[bytes]],
    reaper: _Reaper,
) -> None:
    """Start the firmware again after a reset, as a real board boots again (same flash)."""
    while True:
        status = await asyncio.to_thread(running.process.wait)
        if running.stopping or status not in RESET_EXIT_STATUSES:
            return
        running.process = boot()
        running.reboots += 1
        reaper.watch(running.process.pid)


class _Reaper:
    """A small watcher process that outlives a killed host: when the host ends without
    stopping the board (SIGKILL, a crash), its pipe closes and the watcher kills the board's
    processes and removes the temporary flash folder."""

    def __init__(self, flash_dir: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-I", "-c", _REAPER, str(flash_dir)],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )

    def watch(self, pid: int) -> None:
        assert self.process.stdin is not None
        with contextlib.suppress(OSError):
            self.process.stdin.write(f"{pid}\n".encode())
            self.process.stdin.flush()

    def stop(self) -> None:
        """The host stopped the board itself: the watcher leaves."""
        assert self.process.stdin is not None
        with contextlib.suppress(OSError):
            self.process.stdin.write(b"done\n")
            self.process.stdin.close()
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


_REAPER = """
import os, shutil, signal, sys
folder = sys.argv[1]
pids = []
for line in sys.stdin:
    if line.strip() == "done":
        sys.exit(0)  # the host stopped the board itself
    pids.append(int(line))
for pid in pids:  # the host died: end its virtual board (a pid still running in its folder)
    try:
        if os.path.realpath("/proc/%d/cwd" % pid) == os.path.realpath(folder):
            os.kill(pid, signal.SIGKILL)
    except OSError:
        pass
shutil.rmtree(folder, ignore_errors=True)
"""


def _die_with_parent() -> None:  # pragma: no cover (runs in the child before exec)
    """Linux: the board gets SIGKILL when the host process ends, however it ends."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


_PR_SET_PDEATHSIG = 1


def _start_reaper(pid: int, flash_dir: Path) -> subprocess.Popen[bytes]:
    """A small watcher that outlives a killed host: when the host ends without stopping the
    board (SIGKILL, a crash), its pipe closes and the watcher kills the board and removes the
    temporary flash folder."""
    return subprocess.Popen(
        [sys.executable, "-I", "-c", _REAPER, str(pid), str(flash_dir)],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def _stop_reaper(reaper: subprocess.Popen[bytes]) -> None:
    assert reaper.stdin is not None
    with contextlib.suppress(OSError):
        reaper.stdin.write(b"done")
        reaper.stdin.close()
    try:
        reaper.wait(5)
    except subprocess.TimeoutExpired:
        reaper.kill()
        reaper.wait()


async def _wait_for_board(
    radio: VirtualRadio, process: subprocess.Popen[bytes], flash_dir: Path
) -> VirtualBoard:
    waiter = asyncio.ensure_future(radio.wait_for_board(20.0))
    while not waiter.done():
        if process.poll() is not None:
            waiter.cancel()
            console = (flash_dir / "console.txt").read_text(errors="replace")
            raise VirtualBoardFailed(
                f"the virtual board stopped (status {process.returncode}):\n{console[-3000:]}"
            )
        await asyncio.sleep(0.05)
    try:
        return waiter.result()
    except TimeoutError as exc:
        raise VirtualBoardFailed("the virtual board did not start advertising in 20 s") from exc


async def _advertising(board: VirtualBoard, timeout_s: float = 10.0) -> None:
    """Until the board advertises (its main loop runs)."""

    async def wait() -> None:
        while board.adv_data is None:
            await asyncio.sleep(0.02)

    await asyncio.wait_for(wait(), timeout_s)


def bond_file(central_address: bytes, ltk: bytes) -> bytes:
    """The board's bond store (``firmware/bonds.py``, version 1) holding one host: NimBLE's
    "peer" and "our" security records for ``central_address`` as the simulated security
    manager writes them (80 bytes, key size at 7, the 16-byte key at 8; docs/virtual-board.md)."""
    key = b"\x00" + central_address  # address type (public) + address
    record = bytearray(80)
    record[0:7] = key
    record[7] = 16
    record[8:24] = ltk
    record[25] = 1  # LE Secure Connections
    entries = b"".join(bytes((sec_type, 7, 80)) + key + record for sec_type in (2, 1))
    return b"HSB\x01\x02" + entries


async def bond_host(radio: VirtualRadio, board: VirtualBoard, timeout_s: float = 10.0) -> None:
    """Pair the radio's central with a new board while its first pairing window is open (what
    ``hipsense pair`` does; ``VirtualBoardOptions.bond_host`` writes the bond instead)."""

    await _advertising(board, timeout_s)  # the loop runs: the window is open
    link = await board.connect(timeout_s, radio.central)
    try:
        bonded = await link.pair(timeout_s=timeout_s)
    finally:
        link.disconnect()
    await _advertising(board, timeout_s)  # advertising again after the disconnect
    if not bonded:
        raise VirtualBoardFailed("the virtual board did not bond with this host")


async def _schedule_drops(
    running: RunningVirtualBoard, options: VirtualBoardOptions, booted_s: float
) -> None:
    """Forced disconnects every ``drop_link_every_s`` simulated seconds, each sent to the board
    shortly before it is due: a whole schedule at once (a hundred messages) exhausted the
    board's heap, which then could not read its socket (MemoryError, connects unanswered)."""
    assert options.drop_link_every_s
    every_ms = int(options.drop_link_every_s * 1000)
    down_ms = int(options.drop_link_for_s * 1000)
    at_ms = every_ms
    while True:
        if options.clock == "lockstep":
            now_ms = running.radio.clock_s() * 1000.0
        else:
            now_ms = (time.monotonic() - booted_s) * 1000.0 * options.speed
        if at_ms - now_ms < 2000.0 * options.speed:  # about 2 s (real time) ahead
            with contextlib.suppress(HipsenseError):
                running.radio.disconnect_at(running.current_board(), at_ms, down_ms)
            at_ms += every_ms + down_ms
            continue
        await asyncio.sleep(0.1)


def copy_flash(running: RunningVirtualBoard, dest: Path) -> None:
    """Keep the virtual board's flash (log, calibration) after it stops, for a bug report."""
    shutil.copytree(running.flash_dir, dest, dirs_exist_ok=True)

"""The firmware as it boots and lives on a board (issue 16), on both MicroPython builds.

Boot order and the ring sized from the free heap; boot.py's power hold before the app; the
button on its pin IRQ; the loop surviving exceptions and failed flash writes; control frames
within MTU - 3. Each script runs the deployed ``.mpy`` with the simulated machine/bluetooth.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hipsense import paths
from hipsense.link.protocol import (
    Command,
    ErrorFrame,
    MarkerFrame,
    ReplyFrame,
    Result,
    SamplesFrame,
    cmd_get_status,
    cmd_set_mounting,
    cmd_set_rate,
    cmd_start,
    decode_frame,
)
from hipsense.virtual.launch import deploy_firmware
from hipsense.virtual.runner import run_micropython

HEAP = "256K"
RESET_EXIT_STATUS = 17  # machine.reset() on the virtual board (_vboard.py)


@pytest.fixture(scope="module")
def deployed(tmp_path_factory, mpy_exe) -> Path:
    return deploy_firmware(tmp_path_factory.mktemp("board"), executable=mpy_exe)


def _flash(tmp_path: Path, profile: str) -> Path:
    prof = json.loads((paths.boards_dir() / f"{profile}.json").read_text())
    (tmp_path / "board.json").write_text(json.dumps(prof))
    return tmp_path


def _frames(out: str) -> list:
    return [decode_frame(bytes.fromhex(ln.split()[1])) for ln in out.splitlines() if ln[:2] == "F "]


# ---- boot: BLE first, the ring from the free heap, serial only on USB ------------------------

BOOT = """
import sys, gc, bluetooth, memory, app
seen = {}
make_ring = memory.make_ring
def spy(profile, cls):
    seen["ble_active"] = bluetooth.BLE().active()
    return make_ring(profile, cls)
memory.make_ring = spy
a, usb = app.boot(with_ble=True, with_serial=False)
print("RES", seen["ble_active"], a.ring.nbytes, len(a.links), "link_serial" in sys.modules,
      "cobs" in sys.modules, a.memory_error)
class Usb:
    def __init__(self): self.bytes = [-1, 0]
    def first_byte(self): return self.bytes.pop(0)
u = Usb()
u = app.poll_usb(a, u)
n1 = len(a.links)
u = app.poll_usb(a, u)
print("USB", n1, len(a.links), u is None, "link_serial" in sys.modules)
a.stop()
"""


def _boot(mpy, deployed, flash, heap):
    out = mpy(BOOT, path=[paths.mpy_sim_dir(), deployed], cwd=flash, heapsize=heap)
    res = next(ln for ln in out.splitlines() if ln.startswith("RES ")).split()
    usb = next(ln for ln in out.splitlines() if ln.startswith("USB ")).split()
    return res, usb, out


def test_boot_turns_ble_on_first_and_leaves_serial_for_usb(mpy, deployed, tmp_path) -> None:
    res, usb, _ = _boot(mpy, deployed, _flash(tmp_path, "devkitc-gy521"), "400K")
    assert res[1] == "True", "BLE was active before the ring was sized"
    assert int(res[2]) == 30 * 100 * 18 and res[6] == "None", "capped at 30 s without PSRAM"
    assert res[3] == "1" and res[4] == "False" and res[5] == "False", "no serial link yet"
    assert usb[1:] == ["1", "2", "True", "True"], "the serial link comes with the first byte"


# heaps (small, large) at which the simulated board boots, per interpreter (the unix port's
# objects are about twice as large)
_HEAPS = {"micropython": ("215K", "400K"), "micropython-esp32like": ("164K", "400K")}


def test_the_ring_follows_the_free_heap_and_a_short_one_is_reported(
    mpy, mpy_exe, deployed, tmp_path
) -> None:
    flash = _flash(tmp_path, "devkitc-gy521")
    rings = []
    for heap in _HEAPS[mpy_exe.name]:
        res, _, out = _boot(mpy, deployed, flash, heap)
        ring = int(res[2])
        rings.append(ring)
        below = ring < 10 * 100 * 18  # the profile's ring_min_s at 100 Hz raw
        assert (res[6] != "None") == below
        assert ("memory budget: ring holds" in out) == below
    assert rings[0] < rings[1] == 30 * 100 * 18


NAMES = """
import micropython, app
a, usb = app.boot(with_ble=True, with_serial=False)
micropython.qstr_info()
import setup_cmds, mounting
micropython.qstr_info()
a.stop()
"""


def test_the_code_loaded_on_demand_adds_no_names_after_boot(mpy, deployed, tmp_path) -> None:
    """setup_cmds and mounting load into the memory the ring lends them; the names they bring
    are interned at boot (memory.intern_names, before the ring), so loading them later adds
    none: interned names are never freed and would stay inside the ring's block."""
    out = mpy(
        NAMES,
        path=[paths.mpy_sim_dir(), deployed],
        cwd=_flash(tmp_path, "devkitc-gy521"),
        heapsize="400K",
    )
    counts = [int(n) for n in re.findall(r"n_qstr=(\d+)", out)]
    assert len(counts) == 2 and counts[0] > 0
    assert counts[1] == counts[0]


# ---- power hold and button ----------------------------------------------------------------


def test_boot_py_holds_the_power_before_anything_imports_the_app(mpy_exe, tmp_path) -> None:
    flash = _flash(tmp_path, "m5stickc-plus2")
    boot_py = (paths.firmware_dir() / "launcher" / "boot.py").read_text()
    code = (
        boot_py
        + """
import sys, _vboard, machine
print("HOLD", _vboard.pin_level(4), 4 in _vboard.pin_holds,
      [m for m in ("app", "board", "main", "hs_boot") if m in sys.modules])
machine.Pin(4, machine.Pin.OUT, value=0)  # a later write cannot drop a held pad
print("AFTER", _vboard.pin_level(4))
"""
    )
    out = run_micropython(
        code, path=[paths.mpy_sim_dir()], cwd=flash, heapsize=HEAP, executable=mpy_exe
    ).stdout
    assert "HOLD 1 True []" in out
    assert "AFTER 1" in out


PRESS = """
import time, _vboard, board, app
from testlink import TestLink, Clock
clock = Clock(SOURCE)
a = app.App(board.open_board(), ring_bytes=6000)
link = a.add_link(TestLink)
a.start()
link._cmd_in(START, len(START))
clock.run(a, PRESS_AT)
pin = a.board.profile["button"]["pin"]
for i in range(PRESSES):
    seq = a.ring.head_seq
    _vboard.set_pin(pin, 0)  # press, with contact bounce
    _vboard.set_pin(pin, 1)
    _vboard.set_pin(pin, 0)
    for _ in range(HOLD_MS // 10):
        clock.run(a, 1, 1)
        time.sleep_ms(10)
    _vboard.set_pin(pin, 1)  # release, with bounce
    _vboard.set_pin(pin, 0)
    _vboard.set_pin(pin, 1)
    print("PRESSED", seq)
    time.sleep_ms(60)
    clock.run(a, 30)
a.stop()
"""


@pytest.mark.parametrize("hold_ms", [50, 120, 200])
def test_a_short_button_press_is_one_marker_on_the_sample_of_the_press(
    mpy, deployed, tmp_path, hold_ms
) -> None:
    flash = _flash(tmp_path, "m5stickc-plus2")
    code = (
        PRESS.replace("SOURCE", repr([0.0, 0.0, 9.80665, 0.0, 0.0, 0.0]))
        .replace("START", repr(cmd_start(1)))
        .replace("PRESS_AT", "37")
        .replace("PRESSES", "2")
        .replace("HOLD_MS", str(hold_ms))
    )
    out = mpy(code, path=[paths.mpy_sim_dir(), deployed], cwd=flash, heapsize=HEAP)
    pressed = [int(ln.split()[1]) for ln in out.splitlines() if ln.startswith("PRESSED")]
    markers = [f for f in _frames(out) if isinstance(f, MarkerFrame) and f.code == 0]
    assert [m.seq for m in markers] == pressed, "one marker per press, on its first sample"
    assert len(pressed) == 2 and 0 < pressed[0] < pressed[1]


# ---- the loop survives --------------------------------------------------------------------

SURVIVE = """
import _vboard, board, app
from testlink import TestLink, Clock
clock = Clock(SOURCE)
a = app.App(board.open_board(), ring_bytes=6000)
link = a.add_link(TestLink)
a.start()
link._cmd_in(START, len(START))
now = 0
def steps(n):
    global now
    for _ in range(n):
        _vboard.advance(4)
        now += 40
        a.safe_step(now)
steps(10)
read = a.imu.read
faults = [MemoryError("injected"), OSError(12)]
def flaky(buf, n):
    if faults:
        raise faults.pop(0)
    return read(buf, n)
a.imu.read = flaky
steps(30)
print("ERRORS", a.loop_errors)
FLASH
a.stop()
"""


def test_an_exception_in_the_loop_is_logged_and_the_stream_goes_on(mpy, deployed, tmp_path) -> None:
    code = (
        SURVIVE.replace("SOURCE", repr([0.0, 0.0, 9.80665, 0.0, 0.0, 0.0]))
        .replace("START", repr(cmd_start(1)))
        .replace("FLASH", "")
    )
    out = mpy(code, path=[paths.mpy_sim_dir(), deployed], cwd=tmp_path, heapsize=HEAP)
    assert "ERRORS 2" in out and "loop: MemoryError('injected',)" in out.replace(
        "MemoryError('injected')", "MemoryError('injected',)"
    )
    samples = [f for f in _frames(out) if isinstance(f, SamplesFrame)]
    seqs = [f.seq + i for f in samples for i in range(len(f.angles_cdeg))]
    assert seqs == list(range(len(seqs))) and len(seqs) >= 150, "every sample, in order"


def test_a_failed_flash_write_is_an_error_reply_and_the_stream_goes_on(
    mpy, deployed, tmp_path
) -> None:
    flash_fault = f"""
def full(path, obj):
    raise OSError(28)  # ENOSPC
app._write_json = full
m = {cmd_set_mounting(2, (1.0, 0.0, 0.0, 0.0))!r}
link._cmd_in(m, len(m))
steps(20)
print("ALIGNED", a.aligned)
"""
    code = (
        SURVIVE.replace("SOURCE", repr([0.0, 0.0, 9.80665, 0.0, 0.0, 0.0]))
        .replace("START", repr(cmd_start(1)))
        .replace("FLASH", flash_fault)
    )
    out = mpy(code, path=[paths.mpy_sim_dir(), deployed], cwd=tmp_path, heapsize=HEAP)
    replies = {f.token: f.result for f in _frames(out) if isinstance(f, ReplyFrame)}
    assert replies == {1: Result.OK, 2: Result.FAILED}
    assert "ALIGNED False" in out, "nothing applied that could not be saved"
    samples = [f for f in _frames(out) if isinstance(f, SamplesFrame)]
    last = samples[-1]
    assert last.seq + len(last.angles_cdeg) >= 200, "still streaming after the failed write"


def test_exceptions_that_keep_coming_reset_the_board_cleanly(mpy_exe, deployed, tmp_path) -> None:
    code = """
import _vboard, board, app
_vboard.set_manual(True)
a = app.App(board.open_board(), ring_bytes=6000)
a.start()
def broken(buf, n):
    raise OSError(5)
a.imu.read = broken
for k in range(100):
    a.safe_step(k * 10)
print("not reset")
"""
    result = run_micropython(
        code,
        path=[paths.mpy_sim_dir(), deployed],
        cwd=tmp_path,
        heapsize=HEAP,
        check=False,
        executable=mpy_exe,
    )
    assert "not reset" not in result.stdout and "errors in 10000 ms: reset" in result.stdout
    assert result.returncode == RESET_EXIT_STATUS


# ---- MTU 23: nothing cut by the stack ------------------------------------------------------

MTU = """
import binascii, bluetooth, _vboard, board, app
from link_ble import BleLink
_vboard.set_manual(True)
_vboard.set_arrays(100, [0.0, 0.0, 9.80665, 0.0, 0.0, 0.0], loop=True)
now = [0]
bluetooth.sim_set_clock(lambda: now[0])
bluetooth.sim_set_central_mtu(CENTRAL_MTU)
central = bluetooth.sim_central()
ble = bluetooth.BLE()
ble.active(True)
a = app.App(board.open_board(), ring_bytes=6000)
link = a.add_link(lambda ring, on_command: BleLink(ble, ring, "TEST", on_command))
a.start()
def steps(n):
    for _ in range(n):
        _vboard.advance(4)
        now[0] += 40
        a.step(now[0])
        bluetooth.sim_service()
        for p in central.take(7):
            if p[2] | (p[3] << 8) == link._h_data:
                print("F", binascii.hexlify(p[4:]).decode())
steps(1)
central.connect()
bluetooth.sim_service()
steps(1)
assert central.secure() == 0  # bond (a new board's pairing window is open), encrypted link
steps(1)
for c in COMMANDS:
    central.write(link._h_ctrl, c)
    steps(2)
central.write(link._h_ctrl, b"\\x01\\x01")  # not a COMMAND: an ERROR frame
steps(40)
print("MTU", link.mtu, "TRUNCATED", bluetooth.sim_stats()["truncated"], "SHORT", link.shortened)
a.stop()
"""


@pytest.mark.parametrize("central_mtu", [23, 517])
def test_no_notification_is_truncated_at_mtu_23(mpy, deployed, tmp_path, central_mtu) -> None:
    """A central that never exchanges the MTU: the board asks after 1 s; one that refuses
    (answers 23) leaves MTU 23, where every control frame still fits 20 bytes."""
    commands = [cmd_start(1), cmd_get_status(2), cmd_set_rate(3, 150)]
    code = MTU.replace("CENTRAL_MTU", str(central_mtu)).replace("COMMANDS", repr(commands))
    out = mpy(code, path=[paths.mpy_sim_dir(), deployed], cwd=tmp_path, heapsize=HEAP)
    last = out.splitlines()[-1].split()
    mtu, truncated, shortened = int(last[1]), int(last[3]), int(last[5])
    assert truncated == 0, "the stack never had to cut a notification"
    assert mtu == (23 if central_mtu == 23 else 247), "the board asked for its MTU"
    frames = _frames(out)
    replies = {f.token: f for f in frames if isinstance(f, ReplyFrame)}
    assert replies[1].result == Result.OK and replies[3].result == Result.BAD_VALUE
    assert any(isinstance(f, ErrorFrame) for f in frames)
    if central_mtu == 23:
        assert replies[2].command == Command.GET_STATUS and replies[2].payload == b""
        assert shortened >= 1
        assert all(
            len(bytes.fromhex(ln.split()[1])) <= 20
            for ln in out.splitlines()[:-1]
            if ln[:2] == "F "
        )
    assert any(isinstance(f, SamplesFrame) for f in frames)


# ---- smaller ones: serial output that takes nothing, BLE name length ----------------------


def test_serial_output_that_takes_nothing_does_not_hang_the_loop(mpy, tmp_path) -> None:
    code = """
import sys
from ring import Ring
from link_serial import SerialLink
class Stuck:  # a host that keeps the port open but stopped reading
    def write(self, b):
        return 0
r = Ring(1800)
link = SerialLink(r, lambda b, n: None, stream_in=open("/dev/null", "rb"), stream_out=Stuck())
link.active = True
link.ready = True
link.send_reply(1, 1, 0)
link.pump(0)
link.pump(10)
print("STALLED", link.stalled, link._ctl_r != link._ctl_w)
"""
    out = mpy(code, heapsize=HEAP)
    assert "STALLED 2 True" in out, "gave up twice, the reply still queued"


@pytest.mark.parametrize(("name", "kept"), [("Hip-L", True), ("x" * 20, True), ("x" * 21, False)])
def test_a_ble_name_that_does_not_fit_the_scan_response_is_ignored(
    mpy, deployed, tmp_path, name, kept
) -> None:
    (tmp_path / "hs_config.json").write_text(json.dumps({"schema": 1, "name": name}))
    code = "import board, app\na = app.App(board.open_board(), ring_bytes=1800)\nprint('N', a.name)"
    out = mpy(code, path=[paths.mpy_sim_dir(), deployed], cwd=tmp_path, heapsize=HEAP)
    assert (f"N {name}" in out) == kept and ("N None" in out) == (not kept)

"""``hipsense flash`` and ``hipsense board`` end to end: the CLI against the unix port on a pty,
and the bare-board path (no MicroPython answering) with esptool replaced at its API boundary."""

from __future__ import annotations

import json
import os
import pty
import sys
import tty
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hipsense.cli import main
from hipsense.deploy import flow, image, ports
from hipsense.deploy.deploy import BoardFacts
from hipsense.deploy.errors import DeployError, NoNetwork, ToolMissing, WrongChip
from hipsense.deploy.flow import FlashOptions
from hipsense.deploy.link import BoardLink
from hipsense.virtual.pty_board import PtyBoard
from test_deploy import make_firmware
from test_flash import FakeEsp, merged_image


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    """Run the real entry point in-process; returns (exit status, stdout + stderr)."""
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out + out.err


@pytest.fixture
def board(tmp_path: Path) -> Iterator[PtyBoard]:
    (tmp_path / "board").mkdir()
    with PtyBoard(tmp_path / "board", max_lifetime_s=120) as b:
        yield b


def test_flash_deploys_verifies_and_a_second_run_copies_nothing(
    tmp_path: Path, board: PtyBoard, capsys: pytest.CaptureFixture[str]
) -> None:
    fw = str(make_firmware(tmp_path, (0, 1, 0)))
    args = ("flash", "--port", board.port, "--firmware-dir", fw, "--settle-s", "0.4")
    code, out = run_cli(capsys, *args, "--board", "devkitc-gy521")
    assert code == 0, out
    assert "firmware 0.1.0 runs from slot hs_a; IMU: fake6050; 4 files copied" in out
    profile = json.loads((board.board_dir / "board.json").read_text())
    assert profile["name"] == "devkitc-gy521"
    code, out = run_cli(capsys, *args)  # the profile on the board is kept
    assert code == 0, out
    assert "0 files copied" in out


def test_dry_run_prints_the_plan_and_changes_nothing(
    tmp_path: Path, board: PtyBoard, capsys: pytest.CaptureFixture[str]
) -> None:
    fw = str(make_firmware(tmp_path, (0, 1, 0)))
    code, out = run_cli(
        capsys, "flash", "--port", board.port, "--board", "m5stickc-plus2",
        "--firmware-dir", fw, "--dry-run",
    )  # fmt: skip
    assert code == 0, out
    assert "dry run" in out and "send   main.mpy" in out and "write board.json" in out
    assert sorted(p.name for p in board.board_dir.iterdir()) == []


def test_flash_without_a_profile_on_a_fresh_board_asks_for_one(
    tmp_path: Path, board: PtyBoard, capsys: pytest.CaptureFixture[str]
) -> None:
    fw = str(make_firmware(tmp_path, (0, 1, 0)))
    code, out = run_cli(capsys, "flash", "--port", board.port, "--firmware-dir", fw)
    assert code == 1
    assert "choose one with --board (devkitc-gy521" in out


def test_board_commands(
    tmp_path: Path, board: PtyBoard, capsys: pytest.CaptureFixture[str]
) -> None:
    fw = str(make_firmware(tmp_path, (0, 1, 0)))
    port = board.port
    code, out = run_cli(
        capsys, "flash", "--port", port, "--board", "devkitc-gy521", "--firmware-dir", fw,
        "--settle-s", "0.4",
    )  # fmt: skip
    assert code == 0, out

    code, out = run_cli(capsys, "board", "info", "--port", port)
    assert code == 0, out
    assert "0.1.0" in out and "devkitc-gy521" in out and "hs_a" in out

    code, out = run_cli(
        capsys, "board", "config", "--port", port, "--name", "IMU_01", "--rate-hz", "200"
    )
    assert code == 0, out
    assert json.loads((board.board_dir / "hs_config.json").read_text()) == {
        "name": "IMU_01",
        "rate_hz": 200,
        "schema": 1,
    }
    code, out = run_cli(capsys, "board", "config", "--port", port, "--profile", "m5stickc-plus2")
    assert code == 0, out
    assert "profile: m5stickc-plus2" in out and "name: IMU_01" in out and "rate_hz: 200" in out

    code, out = run_cli(capsys, "board", "config", "--port", port, "--name", "bad name!")
    assert code == 1 and "1-20 letters" in out
    code, out = run_cli(capsys, "board", "config", "--port", port, "--rate-hz", "150")
    assert code == 2 and "150" in out

    code, out = run_cli(capsys, "board", "logs", "--port", port)
    assert code == 0 and "I boot: starting slot hs_a" in out and "confirmed" in out

    code, out = run_cli(capsys, "board", "reset", "--soft", "--port", port)
    assert code == 0 and "reset" in out


def test_missing_port_and_no_board(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out = run_cli(capsys, "flash", "--port", "/dev/ttyUSB97")
    assert code == 1 and "/dev/ttyUSB97 does not exist" in out
    monkeypatch.setattr(
        ports, "list_candidates", lambda: [ports.PortCandidate("/dev/ttyS0", "n/a", None, None)]
    )
    code, out = run_cli(capsys, "board", "info")
    assert code == 1 and "no ESP32 board found" in out and "/dev/ttyS0" in out


def test_missing_tools_say_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    master, slave = pty.openpty()
    try:
        monkeypatch.setitem(sys.modules, "mpremote.transport_serial", None)
        with pytest.raises(ToolMissing, match=r"pip install 'hipsense\[flash\]'"):
            BoardLink(os.ttyname(slave))
    finally:
        os.close(master)
        os.close(slave)


# -- a bare board: nothing answers on the REPL ---------------------------------------------


class RecordingUI:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def step(self, text: str) -> None:
        self.lines.append(text)

    def info(self, text: str) -> None:
        self.lines.append(text)

    def progress(self, task: str, done: int, total: int) -> None:
        pass


@pytest.fixture
def bare_board(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, list[Any]]]:
    """A silent port whose ROM bootloader answers as an ESP32 (esptool.cmds replaced)."""
    import esptool.cmds

    calls: list[Any] = []
    monkeypatch.setattr(esptool.cmds, "detect_chip", lambda port, **kw: FakeEsp("ESP32", calls))
    for name in ("run_stub", "erase_flash", "attach_flash", "write_flash", "reset_chip"):
        monkeypatch.setattr(esptool.cmds, name, lambda *a, _n=name, **k: calls.append(_n))
    master, slave = pty.openpty()
    tty.setraw(slave)
    try:
        yield os.ttyname(slave), calls
    finally:
        os.close(master)
        os.close(slave)


def test_bare_board_dry_run_names_the_image_and_offset(
    bare_board: tuple[str, list[Any]], tmp_path: Path
) -> None:
    port, calls = bare_board
    path = tmp_path / "ESP32_GENERIC-20250911-v1.26.1.bin"
    path.write_bytes(merged_image("esp32"))
    ui = RecordingUI()
    opts = FlashOptions(
        port=port, board="devkitc-gy521", image=path, dry_run=True, repl_timeout_s=0.3
    )
    result = flow.flash(opts, ui)
    assert result.chip == "esp32" and result.deploy is None
    assert "installing MicroPython (no MicroPython answers)" in ui.lines
    assert f"would erase the flash and write {path.name} at 0x1000" in ui.lines
    assert "erase_flash" not in calls and "write_flash" not in calls


def test_bare_board_without_network_says_where_to_get_the_image(
    bare_board: tuple[str, list[Any]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    port, calls = bare_board
    monkeypatch.setattr(image, "FIRMWARE_BASE_URL", "http://127.0.0.1:9/")
    opts = FlashOptions(port=port, board="devkitc-gy521", cache_dir=tmp_path, repl_timeout_s=0.3)
    with pytest.raises(NoNetwork, match=r"ESP32_GENERIC-20250911-v1\.26\.1\.bin.*--image FILE"):
        flow.flash(opts, RecordingUI())
    assert "erase_flash" not in calls  # nothing written to a board we cannot finish


def test_bare_board_with_a_profile_for_another_chip_is_refused(
    bare_board: tuple[str, list[Any]],
) -> None:
    port, calls = bare_board
    opts = FlashOptions(port=port, board="feathers3-icm42688", repl_timeout_s=0.3)
    with pytest.raises(WrongChip, match=r"for an ESP32S3 but the board is an ESP32"):
        flow.flash(opts, RecordingUI())
    assert "erase_flash" not in calls


def test_missing_old_or_foreign_micropython_needs_an_image() -> None:
    def facts(version: tuple[int, int, int], sys_mpy: int | None) -> BoardFacts:
        return BoardFacts(sys_mpy, version, "Generic ESP32 module with ESP32", "esp32")

    esp32_mpy_62 = 6 | 2 << 8 | 10 << 10
    assert flow.image_needed(None) == "no MicroPython answers"
    assert flow.image_needed(facts((1, 21, 0), 6 | 1 << 8 | 10 << 10)) == (
        "MicroPython 1.21.0 is older than 1.22.0"
    )
    assert flow.image_needed(facts((1, 22, 2), esp32_mpy_62)) is None
    assert flow.image_needed(facts((1, 24, 0), None)) == "its .mpy format is not 6.x"
    assert flow.image_needed(facts((1, 24, 0), 5)) == "its .mpy format is not 6.x"


def test_chip_from_micropython_machine_string() -> None:
    from hipsense.deploy.profiles import chip_from_machine

    assert chip_from_machine("Generic ESP32 module with ESP32") == "esp32"
    assert chip_from_machine("Generic ESP32S3 module with Octal-SPIRAM with ESP32S3") == "esp32s3"
    assert chip_from_machine("M5STACK_STICKC_PLUS2 with ESP32-PICO-V3-02") == "esp32"
    assert chip_from_machine("linux [GCC 14.2.1] version") is None


def test_bare_board_without_a_profile_is_asked_for_one_before_anything_is_erased(
    bare_board: tuple[str, list[Any]],
) -> None:
    port, calls = bare_board
    with pytest.raises(DeployError, match=r"erases the flash.*--board \(devkitc-gy521"):
        flow.flash(FlashOptions(port=port, repl_timeout_s=0.3), RecordingUI())
    assert calls == []


def test_force_image_reinstalls_micropython_and_keeps_the_board_profile(
    tmp_path: Path, board: PtyBoard, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A working board, --force-image: esptool (replaced) writes the image, the deploy follows."""
    import esptool.cmds

    calls: list[Any] = []
    monkeypatch.setattr(esptool.cmds, "detect_chip", lambda port, **kw: FakeEsp("ESP32", calls))
    monkeypatch.setattr(esptool.cmds, "run_stub", lambda esp: esp)
    for name in ("erase_flash", "attach_flash", "reset_chip"):
        monkeypatch.setattr(esptool.cmds, name, lambda *a, _n=name, **k: calls.append(_n))
    monkeypatch.setattr(esptool.cmds, "write_flash", lambda esp, ad: calls.append(ad))
    (board.board_dir / "board.json").write_text('{"schema": 1, "name": "kept"}\n')
    img = tmp_path / "ESP32_GENERIC-20250911-v1.26.1.bin"
    img.write_bytes(merged_image("esp32"))
    fw = make_firmware(tmp_path, (0, 1, 0))
    ui = RecordingUI()
    opts = FlashOptions(port=board.port, image=img, force_image=True, firmware_dir=fw, settle_s=0.4)
    result = flow.flash(opts, ui)
    assert [(0x1000, str(img))] in calls and "erase_flash" in calls
    assert result.flashed_image == img.name
    assert result.deploy is not None and result.deploy.running is not None
    assert result.deploy.running.fw_version == "0.1.0"
    assert "installing MicroPython (--force-image given)" in ui.lines
    assert json.loads((board.board_dir / "board.json").read_text())["name"] == "kept"


def test_real_firmware_on_the_simulated_board_reports_its_imu_and_battery(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The real firmware modules (board.py, imu/) with the simulated ``machine`` on the board's
    path: the read-back finds the profile's IMU with the firmware's own probe."""
    import shutil

    from hipsense import paths

    fw = tmp_path / "fw"
    shutil.copytree(paths.firmware_dir(), fw, ignore=shutil.ignore_patterns("__pycache__"))
    (fw / "main.py").write_text("def main():\n    print('app started')\n")  # a stand-in app
    (tmp_path / "board").mkdir()
    # 200K: the simulated machine compiles from source on this heap (a board has no such cost)
    with PtyBoard(
        tmp_path / "board", extra_path=[paths.mpy_sim_dir()], heapsize="200K", max_lifetime_s=120
    ) as b:
        code, out = run_cli(
            capsys, "flash", "--port", b.port, "--board", "m5stickc-plus2",
            "--firmware-dir", str(fw), "--settle-s", "0.5",
        )  # fmt: skip
        assert code == 0, out
        assert "firmware 0.1.0 runs from slot hs_a; IMU: mpu6886" in out
        code, out = run_cli(capsys, "board", "info", "--port", b.port)
    assert code == 0, out
    assert "mpu6886" in out and "m5stickc-plus2" in out
    assert "3900 mV" in out  # the simulated ADC (1950 mV) behind the profile's 1:2 divider


def test_flash_verifies_the_real_firmware_on_the_documented_pty_board(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """docs/flashing.md "Without hardware": ``python -m hipsense.virtual.pty_board DIR
    micropython`` with no MICROPYPATH; the verify step starts the real app and reads its IMU
    (it failed with ``machine has no attribute 'Pin'`` when the simulation was not on the
    path)."""
    import os
    import select
    import subprocess
    import sys

    from hipsense.virtual.runner import micropython_argv

    board_dir = tmp_path / "board"
    board_dir.mkdir()
    (board_dir / "hs_dev").write_text("")  # development switch: no machine.WDT
    env = {k: v for k, v in os.environ.items() if k != "MICROPYPATH"}
    relay = subprocess.Popen(
        [sys.executable, "-m", "hipsense.virtual.pty_board", "--max-s", "120", str(board_dir),
         *micropython_argv("512K")],
        stdout=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        assert relay.stdout is not None
        assert select.select([relay.stdout], [], [], 10)[0], "relay did not start"
        port = relay.stdout.readline().strip()
        code, out = run_cli(
            capsys, "flash", "--port", port, "--board", "m5stickc-plus2", "--settle-s", "1.5"
        )
    finally:
        relay.terminate()
        relay.wait(10)
    assert code == 0, out
    assert "runs from slot hs_a; IMU: mpu6886" in out


@pytest.mark.parametrize(
    ("board", "name"),
    [
        ("m5stickc-plus2", "ESP32_GENERIC-SPIRAM-20250911-v1.26.1.bin"),
        ("devkitc-gy521", "ESP32_GENERIC-20250911-v1.26.1.bin"),
    ],
)
def test_a_board_with_psram_gets_the_spiram_image(
    bare_board: tuple[str, list[Any]], tmp_path: Path, board: str, name: str
) -> None:
    """The profile's memory.image_variant picks the image: the Plus2's 2 MB PSRAM holds the
    Python heap only with MicroPython's SPIRAM build."""
    port, calls = bare_board
    ui = RecordingUI()
    opts = FlashOptions(
        port=port, board=board, cache_dir=tmp_path, dry_run=True, repl_timeout_s=0.3
    )
    flow.flash(opts, ui)
    assert any(f"would download {image.FIRMWARE_BASE_URL}{name}" in line for line in ui.lines)
    assert any(f"would erase the flash and write {name}" in line for line in ui.lines)
    assert "erase_flash" not in calls


def test_a_mistyped_board_profile_is_named_before_the_board_is_looked_for(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`flash --dry-run --board m5stick` (or `board config --profile m5stick`) without a board
    said "no ESP32 board found" (or "the port does not exist"): the typo surfaced only once a
    board was plugged in."""
    port = ("--port", "/dev/ttyUSB97")
    for command in (("flash", "--dry-run", "--board"), ("board", "config", "--profile")):
        code, out = run_cli(capsys, *command, "m5stick", *port)
        assert code == 1 and "unknown board profile 'm5stick'" in out and "m5stickc-plus2" in out
        assert "does not exist" not in out

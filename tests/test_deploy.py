"""Deploy and verify end to end against the MicroPython unix port on a pty (no hardware).

A small fake firmware (protocol.py with FW_VERSION, an imu package, main.py) goes through the
real path: mpy-cross for the board's ``sys.implementation._mpy``, mpremote's raw REPL, the A/B
slots, the launcher from ``firmware/launcher``, the atomic switch and the read-back.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from hipsense import paths
from hipsense.deploy.compile import BytecodeTarget, collect_sources, compile_firmware
from hipsense.deploy.deploy import (
    BoardState,
    Bundle,
    DeployReport,
    build_bundle,
    deploy_firmware,
    plan_deploy,
    read_facts,
)
from hipsense.deploy.errors import BoardBootLoop, BoardNotResponding, DeployError, DeployFailed
from hipsense.deploy.link import BoardLink, looks_like_boot_loop
from hipsense.virtual.pty_board import PtyBoard
from hipsense.virtual.runner import micropython_argv
from hypothesis import given, settings
from hypothesis import strategies as st

PROFILE = b'{"schema": 1, "name": "test-board"}\n'


def make_firmware(root: Path, version: tuple[int, int, int], *, crash: bool = False) -> Path:
    """A firmware tree shaped like ``firmware/``: a package, the launcher, non-.py files."""
    fw = root / ("fw_" + "_".join(map(str, version)) + ("_crash" if crash else ""))
    (fw / "imu").mkdir(parents=True)
    shutil.copytree(paths.firmware_dir() / "launcher", fw / "launcher")
    (fw / "protocol.py").write_text(f"FW_VERSION = {version!r}\nVERSION = 1\n")
    (fw / "imu" / "__init__.py").write_text("from imu.fake import CHIP\n")
    (fw / "imu" / "fake.py").write_text("CHIP = 'fake6050'\n")
    body = "    raise RuntimeError('boom')\n" if crash else ""
    (fw / "main.py").write_text(
        "import hs_boot\nimport protocol\nimport imu\n\n\ndef main():\n"
        "    hs_boot.status['imu'] = imu.CHIP\n"
        "    print('APP RUNNING', protocol.FW_VERSION)\n" + body
    )
    (fw / "pyrightconfig.json").write_text("{}\n")
    (fw / "notes.txt").write_text("not deployed\n")
    return fw


def boot(board_dir: Path) -> str:
    """Power the board on without a host: the unix port runs the root main.py (launcher)."""
    proc = subprocess.run(
        [*micropython_argv("120K"), "main.py"],
        cwd=board_dir,
        capture_output=True,
        text=True,
        timeout=20,
        env=dict(os.environ, MICROPYPATH=":.frozen"),
        check=False,
    )
    return proc.stdout + proc.stderr


@pytest.fixture
def board_dir(tmp_path: Path) -> Path:
    d = tmp_path / "board"
    d.mkdir()
    return d


@pytest.fixture
def board(board_dir: Path) -> Iterator[PtyBoard]:
    with PtyBoard(board_dir, max_lifetime_s=120) as b:
        yield b


def run_deploy(port: str, fw: Path, **kwargs: object) -> DeployReport:
    with BoardLink(port) as link:
        link.enter_raw()
        facts = read_facts(link)
        assert facts.sys_mpy is not None
        bundle = build_bundle(fw, BytecodeTarget.from_sys_mpy(facts.sys_mpy), PROFILE)
        return deploy_firmware(link, bundle, settle_s=0.4, **kwargs)  # type: ignore[arg-type]


def board_hashes(slot_dir: Path) -> dict[str, str]:
    return {
        p.relative_to(slot_dir).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in slot_dir.rglob("*")
        if p.is_file()
    }


def test_first_deploy_lands_files_hashes_match_and_version_is_read_back(
    tmp_path: Path, board: PtyBoard, board_dir: Path
) -> None:
    fw = make_firmware(tmp_path, (0, 1, 0))
    report = run_deploy(board.port, fw)
    assert report.running is not None
    assert report.running.fw_version == "0.1.0"
    assert report.running.imu == "fake6050"
    assert report.running.slot == "hs_a"
    assert sorted(report.plan.send) == [
        "imu/__init__.mpy",
        "imu/fake.mpy",
        "main.mpy",
        "protocol.mpy",
    ]
    # what landed is exactly what mpy-cross produced for the board's bytecode version
    expected = compile_firmware(collect_sources(fw), BytecodeTarget.from_sys_mpy(2822))
    assert board_hashes(board_dir / "hs_a") == {
        rel: hashlib.sha256(data).hexdigest() for rel, data in expected.items()
    }
    assert (board_dir / "hs_slot").read_text() == "hs_a"
    assert not (board_dir / "hs_trial").exists()  # confirmed by the read-back
    assert (board_dir / "board.json").read_bytes() == PROFILE
    assert (board_dir / "main.py").read_bytes() == (fw / "launcher" / "main.py").read_bytes()
    assert "starting slot hs_a" in (board_dir / "hs_log.txt").read_text()
    assert "APP RUNNING (0, 1, 0)" in boot(board_dir)


def test_second_run_copies_nothing(tmp_path: Path, board: PtyBoard, board_dir: Path) -> None:
    fw = make_firmware(tmp_path, (0, 1, 0))
    run_deploy(board.port, fw)
    before = {p: p.stat().st_mtime_ns for p in board_dir.rglob("*.mpy")}
    files: list[str] = []
    report = run_deploy(board.port, fw, on_file=lambda n, total, rel: files.append(rel))
    assert report.plan.up_to_date
    assert files == []
    assert {p: p.stat().st_mtime_ns for p in board_dir.rglob("*.mpy")} == before
    assert report.running is not None and report.running.fw_version == "0.1.0"


def test_new_version_is_staged_in_the_other_slot_and_reuses_unchanged_files(
    tmp_path: Path, board: PtyBoard, board_dir: Path
) -> None:
    run_deploy(board.port, make_firmware(tmp_path, (0, 1, 0)))
    report = run_deploy(board.port, make_firmware(tmp_path, (0, 2, 0)))
    assert report.plan.target_slot == "hs_b"
    assert report.plan.send == ["protocol.mpy"]  # the only changed file crosses the wire
    assert sorted(report.plan.reuse) == ["imu/__init__.mpy", "imu/fake.mpy", "main.mpy"]
    assert report.running is not None and report.running.fw_version == "0.2.0"
    assert "(0, 1, 0)" in (board_dir / "hs_a" / "protocol.mpy").read_bytes().decode("latin-1") or (
        board_hashes(board_dir / "hs_a") != board_hashes(board_dir / "hs_b")
    )
    assert "APP RUNNING (0, 2, 0)" in boot(board_dir)


def test_interrupted_copy_leaves_the_previous_firmware_booting(
    tmp_path: Path, board_dir: Path
) -> None:
    v1, v2 = make_firmware(tmp_path, (0, 1, 0)), make_firmware(tmp_path, (0, 2, 0))
    (v2 / "extra.py").write_text("X = 1\n")  # makes v2 send two files
    with PtyBoard(board_dir, max_lifetime_s=120) as first:
        run_deploy(first.port, v1)
        with pytest.raises(BoardNotResponding):
            # the cable is pulled after the first file of the new version landed
            run_deploy(first.port, v2, on_file=lambda n, total, rel: first.stop())
    assert (board_dir / "hs_slot").read_text() == "hs_a"
    assert any((board_dir / "hs_b").iterdir())  # the copy really was half done
    out = boot(board_dir)
    assert "APP RUNNING (0, 1, 0)" in out and "Traceback" not in out
    with PtyBoard(board_dir, max_lifetime_s=120) as second:
        report = run_deploy(second.port, v2)
    assert report.running is not None and report.running.fw_version == "0.2.0"
    assert report.plan.keep  # the file that landed before the cut is checked, not sent again
    assert "APP RUNNING (0, 2, 0)" in boot(board_dir)


def test_firmware_that_crashes_on_start_is_rolled_back(
    tmp_path: Path, board: PtyBoard, board_dir: Path
) -> None:
    run_deploy(board.port, make_firmware(tmp_path, (0, 1, 0)))
    with pytest.raises(DeployFailed, match=r"(?s)did not start.*RuntimeError: boom.*hs_a"):
        run_deploy(board.port, make_firmware(tmp_path, (0, 2, 0), crash=True))
    assert (board_dir / "hs_slot").read_text() == "hs_a"
    assert not (board_dir / "hs_trial").exists()
    assert "APP RUNNING (0, 1, 0)" in boot(board_dir)


def test_launcher_falls_back_after_repeated_failed_starts(tmp_path: Path, board_dir: Path) -> None:
    """Boot-loop protection without a host: three unconfirmed crashing starts, then slot A."""
    target = BytecodeTarget.from_sys_mpy(2822)
    good = compile_firmware(collect_sources(make_firmware(tmp_path, (0, 1, 0))), target)
    bad_fw = make_firmware(tmp_path, (0, 2, 0), crash=True)
    bad = compile_firmware(collect_sources(bad_fw), target)
    for slot, files in (("hs_a", good), ("hs_b", bad)):
        for rel, data in files.items():
            (board_dir / slot / rel).parent.mkdir(parents=True, exist_ok=True)
            (board_dir / slot / rel).write_bytes(data)
    for name in ("main.py", "hs_boot.py"):
        shutil.copy(bad_fw / "launcher" / name, board_dir / name)
    (board_dir / "hs_slot").write_text("hs_b")
    (board_dir / "hs_trial").write_text("hs_b 0")
    for start in range(1, 4):
        out = boot(board_dir)
        assert "RuntimeError: boom" in out
        assert (board_dir / "hs_trial").read_text() == f"hs_b {start}"
    out = boot(board_dir)
    assert "APP RUNNING (0, 1, 0)" in out
    assert (board_dir / "hs_slot").read_text() == "hs_a"
    log = (board_dir / "hs_log.txt").read_text()
    assert "slot hs_b failed 3 starts: back to hs_a" in log
    assert "RuntimeError: boom" in log  # the crash traceback is in the board's log


def test_bundle_excludes_launcher_and_non_python_files(tmp_path: Path) -> None:
    fw = make_firmware(tmp_path, (0, 1, 0))
    bundle = build_bundle(fw, BytecodeTarget.from_sys_mpy(2822), None)
    assert isinstance(bundle, Bundle)
    assert sorted(bundle.slot_files) == [
        "imu/__init__.mpy",
        "imu/fake.mpy",
        "main.mpy",
        "protocol.mpy",
    ]
    assert sorted(bundle.root_files) == ["boot.py", "hs_boot.py", "main.py"]


def test_boot_loop_output_is_recognised() -> None:
    banner = b"ets Jun  8 2016 00:22:57\r\n\r\nrst:0x1 (POWERON_RESET),boot:0x13\r\n"
    assert looks_like_boot_loop(banner * 2)
    assert looks_like_boot_loop(b"Guru Meditation Error: Core  0 panic'ed (LoadProhibited)")
    assert not looks_like_boot_loop(banner)  # one reset is a normal start
    assert not looks_like_boot_loop(b"MicroPython v1.25.0 on 2025-04-15; Generic ESP32\r\n>>> ")


def test_boot_looping_board_gets_a_boot_loop_error() -> None:
    """A pty that only ever prints ROM reset banners, like a board whose firmware crashes."""
    import pty
    import time
    import tty

    master, slave = pty.openpty()
    tty.setraw(slave)
    stop = threading.Event()

    def rom() -> None:
        while not stop.is_set():
            os.write(master, b"ets Jun  8 2016 00:22:57\r\n\r\nrst:0xc (SW_CPU_RESET)\r\n")
            time.sleep(0.1)

    thread = threading.Thread(target=rom, daemon=True)
    thread.start()
    try:
        with (
            BoardLink(os.ttyname(slave)) as link,
            pytest.raises(BoardBootLoop, match="--force-image"),
        ):
            link.enter_raw(timeout_s=1.0)
    finally:
        stop.set()
        thread.join(2)
        os.close(master)
        os.close(slave)


def test_silent_port_says_no_repl(tmp_path: Path) -> None:
    import pty
    import tty

    master, slave = pty.openpty()
    tty.setraw(slave)
    try:
        with (
            BoardLink(os.ttyname(slave)) as link,
            pytest.raises(BoardNotResponding, match="no MicroPython REPL"),
        ):
            link.enter_raw(timeout_s=0.5)
    finally:
        os.close(master)
        os.close(slave)


def test_board_with_old_bytecode_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DeployError, match=r"1\.22 or newer"):
        build_bundle(make_firmware(tmp_path, (0, 1, 0)), BytecodeTarget(5, 0, "xtensawin"), None)


def test_firmware_without_main_is_refused(tmp_path: Path) -> None:
    fw = make_firmware(tmp_path, (0, 1, 0))
    (fw / "main.py").unlink()
    with pytest.raises(DeployError, match=r"main\.py is missing"):
        build_bundle(fw, BytecodeTarget.from_sys_mpy(2822), None)


def test_sys_mpy_decoding() -> None:
    assert BytecodeTarget.from_sys_mpy(2822) == BytecodeTarget(6, 3, "x64")  # the unix port here
    assert BytecodeTarget.from_sys_mpy(6 | 3 << 8 | 10 << 10) == BytecodeTarget(6, 3, "xtensawin")
    assert BytecodeTarget.from_sys_mpy(6 | 2 << 8 | 10 << 10) == BytecodeTarget(6, 2, "xtensawin")
    assert BytecodeTarget.from_sys_mpy(6) == BytecodeTarget(6, 0, None)


def test_native_code_gets_the_board_arch_and_sub_version(tmp_path: Path) -> None:
    """A 1.22 ESP32 (mpy 6.2) needs native code compiled as 6.2 for xtensawin."""
    src = tmp_path / "fast.py"
    src.write_text("import micropython\n\n@micropython.native\ndef f(x):\n    return x + 1\n")
    plain = tmp_path / "plain.py"
    plain.write_text("X = 1\n")
    for sub in (3, 2):
        out = compile_firmware(
            {"fast.py": src, "plain.py": plain}, BytecodeTarget(6, sub, "xtensawin")
        )
        assert out["fast.mpy"][:3] == bytes([ord("M"), 6, 10 << 2 | sub])
        assert out["plain.mpy"][:3] == b"M\x06\x00"  # bytecode only: loads on any 6.x


def test_the_real_firmware_compiles_for_the_esp32() -> None:
    sources = collect_sources(paths.firmware_dir())
    assert all(rel.endswith(".py") and not rel.startswith("launcher/") for rel in sources)
    assert "protocol.py" in sources
    out = compile_firmware(sources, BytecodeTarget(6, 3, "xtensawin"))
    assert sorted(out) == sorted(rel[:-3] + ".mpy" for rel in sources)
    assert all(data[:2] == b"M\x06" for data in out.values())


_FILES = st.sampled_from(["main.mpy", "protocol.mpy", "imu/__init__.mpy", "imu/a.mpy", "x.mpy"])
_CONTENT = st.sampled_from([b"1", b"2", b"3"])


@settings(max_examples=200, deadline=None)
@given(
    wanted=st.dictionaries(_FILES, _CONTENT, min_size=1),
    slot_a=st.dictionaries(_FILES, _CONTENT),
    slot_b=st.dictionaries(_FILES, _CONTENT),
    active=st.sampled_from([None, "hs_a", "hs_b"]),
)
def test_plan_properties(
    wanted: dict[str, bytes],
    slot_a: dict[str, bytes],
    slot_b: dict[str, bytes],
    active: str | None,
) -> None:
    """Whatever is on the board: never write the active slot, every wanted file is accounted
    for exactly once, nothing is sent that the board already holds, and "up to date" means
    the active slot is exactly the new firmware."""
    files = {f"hs_a/{r}": hashlib.sha256(d).hexdigest() for r, d in slot_a.items()}
    files |= {f"hs_b/{r}": hashlib.sha256(d).hexdigest() for r, d in slot_b.items()}
    plan = plan_deploy(Bundle(wanted, {}), BoardState(active, None, files))
    slots = {"hs_a": slot_a, "hs_b": slot_b}
    if plan.up_to_date:
        assert active is not None and slots[active] == wanted
        return
    assert plan.switch and plan.target_slot != active and plan.previous_slot == active
    assert sorted(plan.send + plan.reuse + plan.keep) == sorted(wanted)
    target = slots[str(plan.target_slot)]
    for rel in plan.keep:
        assert target.get(rel) == wanted[rel]
    for rel in plan.reuse:
        assert active is not None and slots[active].get(rel) == wanted[rel]
    for rel in plan.send:
        on_board = {slots[s].get(rel) for s in slots if s in (active, plan.target_slot)}
        assert wanted[rel] not in on_board
    assert set(plan.remove) == set(target) - set(wanted)


@settings(max_examples=100, deadline=None)
@given(sub=st.integers(0, 3), arch=st.integers(0, 12))
def test_sys_mpy_round_trip(sub: int, arch: int) -> None:
    target = BytecodeTarget.from_sys_mpy(6 | sub << 8 | arch << 10)
    assert (target.mpy_version, target.sub_version) == (6, sub)
    assert (target.arch is None) == (arch == 0)


def _processes_in(folder: Path) -> list[int]:
    pids = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if Path(os.readlink(proc / "cwd")) == folder:
                    pids.append(int(proc.name))
            except OSError:
                pass
    return pids


def test_pty_board_stops_cleanly_on_sigterm(board_dir: Path) -> None:
    """The relay ends its MicroPython child on SIGTERM: nothing is left running."""
    b = PtyBoard(board_dir, max_lifetime_s=60)
    try:
        with BoardLink(b.port) as link:
            link.enter_raw()
            assert link.eval("6 * 7") == 42
        assert _processes_in(board_dir)  # the unix port runs in the board directory
    finally:
        b.stop()
    assert b.returncode == 0  # SIGTERM handled, not killed
    assert _processes_in(board_dir) == []

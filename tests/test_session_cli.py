"""How a session ends, as a user sees it from the command line (issue 17): Ctrl-C gives the
summary, a closed recording and (for the tests) the analysis and report; an existing --out
is never overwritten silently; ``hipsense recover`` restores a killed recorder's file; the
virtual board dies with its host; numeric options are range-checked; ``stream --port`` uses
the USB serial link (the firmware on a pty, as a board on a serial port)."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from hipsense import paths
from hipsense.cli import cli
from hipsense.recording import RecordingMeta, RecordingWriter, read_recording, write_recording

HIPSENSE = str(Path(sys.executable).with_name("hipsense"))


def wait_for(predicate, timeout_s: float, what: str) -> None:  # type: ignore[no-untyped-def]
    t_end = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > t_end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def start(args: list[str], cwd: Path) -> subprocess.Popen[str]:
    tmp = cwd / "tmp"  # the virtual board's flash folder appears here (TMPDIR)
    tmp.mkdir(exist_ok=True)
    return subprocess.Popen(
        [HIPSENSE, *args],
        cwd=cwd,
        env=dict(os.environ, TMPDIR=str(tmp)),
        stdin=subprocess.DEVNULL,
        stdout=(cwd / "stdout.txt").open("w"),
        stderr=(cwd / "stderr.txt").open("w"),
        text=True,
    )


def partial_rows(partial: Path) -> int:
    """Bytes in the recorder's partial file (it grows as chunks are written)."""
    return partial.stat().st_size if partial.exists() else 0


def recorded_s(partial: Path, scratch: Path) -> float:
    """Stream seconds in the recorder's partial file so far (a recovered copy)."""
    from hipsense.errors import HipsenseError
    from hipsense.recording import recover_partial

    copy = scratch / f"probe-{time.monotonic_ns()}.parquet.partial"
    try:
        shutil.copyfile(partial, copy)
        return read_recording(recover_partial(copy)).duration_s
    except (HipsenseError, OSError):
        return 0.0


def analysable(partial: Path, test: str, scratch: Path) -> bool:
    """Whether what the recorder has written so far already holds a test to analyse (a copy
    of its partial file, recovered and analysed offline)."""
    from hipsense.analysis import analyse
    from hipsense.errors import HipsenseError
    from hipsense.recording import recover_partial

    copy = scratch / f"probe-{time.monotonic_ns()}.parquet.partial"
    try:
        shutil.copyfile(partial, copy)
        analyse(read_recording(recover_partial(copy)), test)
    except (HipsenseError, OSError):
        return False
    return True


def interrupt_after(
    proc: subprocess.Popen[str], partial: Path, grow_s: float, test: str | None = None
) -> None:
    """SIGINT once the recorder has written ``grow_s`` seconds of stream time (and, for
    ``test``, once what it wrote can be analysed): counted in stream time, not wall time, so
    a loaded machine only makes the wait longer."""
    wait_for(lambda: partial_rows(partial) > 0, 90.0, "the recording to start")
    scratch = partial.parent / "probe"
    scratch.mkdir(exist_ok=True)
    wait_for(lambda: recorded_s(partial, scratch) >= grow_s, 90.0, f"{grow_s} s recorded")
    if test is not None:
        wait_for(lambda: analysable(partial, test, scratch), 60.0, f"a {test} to analyse")
    assert proc.poll() is None, "the command is still running when Ctrl-C comes"
    proc.send_signal(signal.SIGINT)
    proc.wait(60)


def outputs(cwd: Path) -> tuple[str, str]:
    return (cwd / "stdout.txt").read_text(), (cwd / "stderr.txt").read_text()


def stopped_count(stdout: str) -> int:
    match = re.search(r"stopped \(Ctrl-C\) after (\d+) samples", stdout)
    assert match, stdout
    return int(match.group(1))


@pytest.mark.parametrize(
    ("command", "args", "grow_s"),
    [
        ("stream", ["--scenario", "still"], 1.5),
        ("walk", [], 4.0),
        ("balance", ["--duration", "20", "--report"], 1.0),
        ("bridge", ["--scenario", "bridge-double", "--sets", "both", "--report"], 1.0),
    ],
)
def test_ctrl_c_ends_with_summary_closed_recording_and_report(
    tmp_path: Path, command: str, args: list[str], grow_s: float
) -> None:
    out = tmp_path / f"{command}.parquet"
    partial = out.with_name(out.name + ".partial")
    proc = start([command, "--virtual", "--speed", "6", "--out", str(out), *args], tmp_path)
    interrupt_after(proc, partial, grow_s, None if command == "stream" else command)
    stdout, stderr = outputs(tmp_path)
    assert proc.returncode == 0, stderr + stdout
    assert "Traceback" not in stderr and "never retrieved" not in stderr, stderr
    rec = read_recording(out)  # closed and valid: no .partial left
    assert not partial.exists()
    assert len(rec.data) == stopped_count(stdout), "every sample counted is in the file"
    assert rec.duration_s > grow_s, "the samples up to the Ctrl-C are kept"
    assert rec.meta.test == command
    if command != "stream":
        report = re.search(r"report: ([^\s,]+)", stdout)
        assert report and Path(report.group(1)).exists(), stdout


def test_ctrl_c_while_connecting_ends_at_once_with_status_130(tmp_path: Path) -> None:
    out = tmp_path / "never.parquet"
    proc = start(["stream", "--virtual", "--out", str(out)], tmp_path)
    # the virtual board is being prepared (its flash folder exists; the scenario is simulated
    # and the firmware compiled, seconds of work before it can connect)
    wait_for(lambda: any((tmp_path / "tmp").glob("hipsense-vboard-*")), 60.0, "the board")
    proc.send_signal(signal.SIGINT)
    proc.wait(30)
    _, stderr = outputs(tmp_path)
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr and not out.exists()


def test_existing_out_is_refused_without_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "kept.csv"
    out.write_text("precious")
    for command in ("stream", "walk", "balance", "bridge"):
        result = CliRunner().invoke(cli, [command, "--virtual", "--out", str(out)])
        assert result.exit_code != 0
        assert "exists" in result.output and "--overwrite" in result.output
    assert out.read_text() == "precious"


def test_overwrite_replaces_the_recording(tmp_path: Path) -> None:
    out = tmp_path / "again.csv"
    out.write_text("old")
    proc = subprocess.run(
        [HIPSENSE, "stream", "--virtual", "--scenario", "still", "--speed", "8",
         "--seconds", "2", "--out", str(out), "--overwrite"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert read_recording(out).duration_s >= 2.0
    # the summary on a line of its own after the live table (stdout is not a terminal here)
    assert any(re.match(r"hipsense-\w+: \d+ samples over ", line)
               for line in proc.stdout.splitlines()), proc.stdout  # fmt: skip


def test_out_into_a_missing_folder_creates_it_or_says_why(tmp_path: Path) -> None:
    from hipsense.orchestrate.stream import check_out

    deep = tmp_path / "a" / "b" / "rec.parquet"
    check_out(deep, overwrite=False)
    assert deep.parent.is_dir()
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    result = subprocess.run(
        [HIPSENSE, "walk", "--virtual", "--out", str(blocker / "rec.parquet")],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.startswith("hipsense: cannot create the folder"), result.stderr
    assert "Traceback" not in result.stderr


def test_recover_command_restores_what_was_written(tmp_path: Path) -> None:
    out = tmp_path / "rec.parquet"
    writer = RecordingWriter(out, RecordingMeta(rate_hz=100.0, test="walk"))
    chunks = []
    for k in range(3):
        n = np.arange(k * 50, (k + 1) * 50)
        chunk = pd.DataFrame(
            {"t_s": n / 100.0, "seq": n, "tilt_deg": 1.0, "obliquity_deg": -1.0,
             "rotation_deg": 0.5, "marker": 0}
        )  # fmt: skip
        writer.append(chunk)
        chunks.append(chunk)
    # the recorder dies here: the partial file is all there is
    assert not out.exists() and writer.partial_path.exists()
    result = CliRunner().invoke(cli, ["recover", str(writer.partial_path)])
    assert result.exit_code == 0, result.output
    assert "recovered 150 samples" in result.output
    rec = read_recording(out)
    assert rec.data["seq"].tolist() == list(range(150)) and rec.meta.test == "walk"
    again = CliRunner().invoke(cli, ["recover", str(writer.partial_path)])
    assert again.exit_code != 0 and "no such file" in again.output
    # the recording's own name, now closed: nothing to recover, said in those words
    closed = CliRunner().invoke(cli, ["recover", str(out)])
    assert closed.exit_code == 1
    assert f"hipsense: {out}: nothing to recover: no rec.parquet.partial beside it" in closed.output


def _recover_peak_bytes(tmp_path: Path, n: int, suffix: str) -> int:
    """The traced peak of `hipsense recover` on the partial file of a recorder killed after
    ``n`` samples (checking its report of them)."""
    out = tmp_path / f"rec{n}{suffix}"
    writer = RecordingWriter(out, RecordingMeta(rate_hz=100.0, test="walk"))
    for k in range(0, n, 20_000):
        seq = np.arange(k, min(k + 20_000, n))
        writer.append(
            pd.DataFrame(
                {
                    "t_s": seq / 100.0,
                    "seq": seq,
                    "tilt_deg": 1.0,
                    "obliquity_deg": -1.0,
                    "rotation_deg": 0.5,
                    "marker": 0,
                }
            )
        )
    tracemalloc.start()
    try:
        result = CliRunner().invoke(cli, ["recover", str(writer.partial_path)])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert result.exit_code == 0, result.output
    assert f"recovered {n} samples ({n / 100:.1f} s): {out}" in result.output
    return peak


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_recover_memory_does_not_grow_with_the_recordings_length(
    tmp_path: Path, suffix: str
) -> None:
    """Four times the samples, about the same traced peak: the partial file is copied and the
    recovered recording counted a chunk at a time (both were read whole before)."""
    _recover_peak_bytes(tmp_path, 1_000, suffix)  # first use: imports and caches
    n = 100_000
    short = _recover_peak_bytes(tmp_path, n, suffix)
    long = _recover_peak_bytes(tmp_path, 4 * n, suffix)
    extra_bytes = 3 * n * 6 * 8  # the extra samples as float64 columns
    assert long - short < 0.25 * extra_bytes, (short, long)


def _children(pid: int) -> list[tuple[int, str, str]]:
    """(pid, command line, cwd) of the processes whose parent is ``pid``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            if ppid != pid:
                continue
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            found.append((int(entry.name), cmd, os.readlink(entry / "cwd")))
        except (OSError, ValueError, IndexError):
            continue
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_sigkill_of_the_host_ends_the_virtual_board_and_leaves_a_recoverable_file(
    tmp_path: Path,
) -> None:
    out = tmp_path / "killed.parquet"
    partial = out.with_name(out.name + ".partial")
    proc = start(["stream", "--virtual", "--speed", "4", "--out", str(out)], tmp_path)
    wait_for(lambda: partial_rows(partial) > 0, 90.0, "the recording to start")
    boards = [c for c in _children(proc.pid) if "micropython" in c[1]]
    assert len(boards) == 1, _children(proc.pid)
    board_pid, _, flash_dir = boards[0]
    assert Path(flash_dir).name.startswith("hipsense-vboard-")
    time.sleep(1.0)
    proc.kill()
    proc.wait(10)
    wait_for(lambda: not _alive(board_pid), 10.0, "the virtual board to end")
    wait_for(lambda: not Path(flash_dir).exists(), 10.0, "its flash folder to go")
    result = CliRunner().invoke(cli, ["recover", str(partial)])
    assert result.exit_code == 0, result.output
    assert len(read_recording(out).data) > 0


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["walk", "--seconds", "0"], "--seconds"),
        (["walk", "--seconds", "-1"], "--seconds"),
        (["stream", "--seconds", "0"], "--seconds"),
        (["balance", "--duration", "0"], "--duration"),
        (["balance", "--age", "-3"], "--age"),
        (["bridge", "--hold", "-1"], "--hold"),
        (["bridge", "--reps", "0"], "--reps"),
        (["stream", "--virtual", "--speed", "0"], "--speed"),
        (["walk", "--virtual", "--drop-link-every", "0"], "--drop-link-every"),
        (["scan", "--timeout", "0"], "--timeout"),
        (["stream", "--virtual", "--seed", "-1"], "--seed"),
        (["sim", "record", "walk-normal", "--rate-hz", "0", "--out", "x.csv"], "--rate-hz"),
        (["sim", "record", "walk-normal", "--duration-s", "-5", "--out", "x.csv"], "--duration-s"),
        (["analyze", "--rate-hz", "-100", "x.csv"], "--rate-hz"),
    ],
)
def test_numeric_options_are_range_checked(args: list[str], option: str) -> None:
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2, result.output
    assert f"Invalid value for '{option}'" in result.output
    assert "is not in the range" in result.output, result.output


def test_stream_over_usb_serial_on_the_pty_board(tmp_path: Path) -> None:
    from hipsense.virtual.pty_board import PtyBoard

    board_dir = tmp_path / "board"
    shutil.copytree(
        paths.firmware_dir(), board_dir, ignore=shutil.ignore_patterns("__pycache__", "*.json")
    )
    profile = json.loads((paths.boards_dir() / "m5stickc-plus2.json").read_text())
    (board_dir / "board.json").write_text(json.dumps(profile))
    out = tmp_path / "serial.csv"
    with PtyBoard(
        board_dir, extra_path=[paths.mpy_sim_dir()], heapsize="384K", max_lifetime_s=90
    ) as board:
        proc = subprocess.run(
            [HIPSENSE, "stream", "--port", board.port, "--seconds", "3", "--out", str(out)],
            capture_output=True, text=True, timeout=90, check=False,
        )  # fmt: skip
    assert proc.returncode == 0, proc.stderr + proc.stdout
    assert f"{board.port}: " in proc.stdout and "0 lost" in proc.stdout
    rec = read_recording(out)
    seq = rec.data["seq"].to_numpy()
    assert rec.duration_s >= 3.0 and np.array_equal(seq, np.arange(seq[0], seq[0] + len(seq)))
    assert rec.meta.extra["source"] == "serial" and rec.meta.imu_chip == "mpu6886"


def test_the_json_of_a_test_command_is_strict_json(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """``walk/balance/bridge --json`` print strict JSON like ``analyze --json``: a non-finite
    figure is null, never ``NaN`` or ``Infinity``."""
    import hipsense.analysis
    from hipsense.cli.outcome import finish
    from hipsense.sim.scenarios import simulate
    from rich.console import Console

    class _Result:
        test = "walk"

        def to_json(self) -> dict[str, object]:
            return {"drop_deg": float("nan"), "ci": [float("-inf"), 1.5]}

        def summary_text(self) -> str:
            return "summary"

    monkeypatch.setattr(hipsense.analysis, "analyse", lambda *_a, **_k: _Result())
    rec = simulate("still", seed=0, duration_s=1.0).to_recording()
    path = write_recording(rec, tmp_path / "r.parquet")
    finish(Console(stderr=True), "walk", path, patient_id=None, store_path=None, report=False,
           as_json=True)  # fmt: skip
    out = capsys.readouterr().out
    assert json.loads(out) == {"drop_deg": None, "ci": [None, 1.5]}
    assert "NaN" not in out and "Infinity" not in out

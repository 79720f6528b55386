"""``hipsense walk --virtual``: the real firmware on the virtual board, through the BLE path,
live analysis, recording, summary and report; live and offline analyses agree (a developer's
check, kept out of what a clinician reads)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from hipsense.analysis import analyse
from hipsense.recording import read_recording


def test_walk_command_finds_the_right_trendelenburg_live(tmp_path: Path) -> None:
    out = tmp_path / "walk.parquet"
    hipsense = Path(sys.executable).with_name("hipsense")
    proc = subprocess.run(
        [str(hipsense), "walk", "--virtual", "--scenario", "walk-right-trendelenburg",
         "--speed", "4", "--seconds", "26", "--out", str(out)],
        capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "points to weaker right hip abductors" in proc.stdout
    assert "analyses agree" not in proc.stdout  # a developer's message, not a clinician's
    assert "differs from the live one" not in proc.stdout  # live and offline agree
    assert "report: " in proc.stdout
    assert (tmp_path / "walk_report.html").exists() and (tmp_path / "walk_report.pdf").exists()
    result = analyse(read_recording(out))  # the recording says test=walk
    assert result.to_json()["verdict"]["weak_side"] == "right"


def test_stream_runs_prepare_on_the_stopped_session_before_start(tmp_path: Path) -> None:
    import asyncio

    from hipsense.link.protocol import Command, Result
    from hipsense.link.session import SampleBlock, Session
    from hipsense.orchestrate.stream import StreamOptions, stream
    from hipsense.virtual.launch import VirtualBoardOptions

    calls: list[str] = []

    async def prepare(session: Session) -> None:
        reply = await session.command(Command.ALIGN_MOUNTING, bytes([1]), timeout_s=15.0)
        calls.append(f"prepare ok={reply.result == Result.OK}")

    def on_block(block: SampleBlock, session: Session) -> None:
        calls.append("block")

    options = StreamOptions(
        virtual=VirtualBoardOptions(scenario="still", speed=4.0),
        seconds=1.0,
        prepare=prepare,
    )
    summary = asyncio.run(stream(options, on_block))
    assert calls[0] == "prepare ok=True"  # the stand-still capture ran before START
    assert calls[1:] and set(calls[1:]) == {"block"}
    assert summary.samples >= 100

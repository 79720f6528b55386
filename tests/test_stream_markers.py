"""stream() writes a marker on its sample even when the MARKER frame arrives after that
sample's notification (the board marks the newest sample, which may already be on its way)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest
from conftest import config
from hipsense.link.protocol import (
    CommandFrame,
    MarkerFrame,
    ReplyFrame,
    Result,
    SamplesFrame,
    decode_frame,
    encode_frame,
)
from hipsense.link.protocol.constants import Command
from hipsense.link.transport.base import Transport
from hipsense.orchestrate import stream as streaming
from hipsense.recording import MARKER, MARKER_BUTTON, read_recording
from hypothesis import given, settings
from hypothesis import strategies as st

RATE_HZ = 100
BLOCK = 7


class MarkingBoard(Transport):
    """Answers commands; after START sends ``n_blocks`` blocks of 7 samples and, ``lag_blocks``
    blocks after each marked sample's block, the MARKER frame for it."""

    def __init__(self, n_blocks: int, marks: dict[int, int], lag_blocks: int) -> None:
        super().__init__()
        self.n_blocks = n_blocks
        self.marks = marks  # seq -> code
        self.lag_blocks = lag_blocks
        self.up = False
        self._task: asyncio.Task[None] | None = None

    async def open(self) -> None:
        self.up = True
        self._put_state(True, "")

    @property
    def connected(self) -> bool:
        return self.up

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
        self.up = False

    async def send(self, frame: bytes) -> None:
        cmd = decode_frame(frame)
        assert isinstance(cmd, CommandFrame)
        self._put_frame(encode_frame(ReplyFrame(cmd.token, cmd.command, Result(0), b"")))
        if cmd.command == Command.GET_CONFIG:
            self._put_frame(config())  # 100 Hz, angles only (RATE_HZ)
        if cmd.command == Command.START and self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        due: list[tuple[int, MarkerFrame]] = []
        for b in range(self.n_blocks):
            seq0 = b * BLOCK
            self._put_frame(_samples(seq0))
            for seq, code in self.marks.items():
                if seq0 <= seq < seq0 + BLOCK:
                    due.append((b + self.lag_blocks, MarkerFrame(code, seq)))
            for _when, marker in [d for d in due if d[0] == b]:
                self._put_frame(encode_frame(marker))
            due = [d for d in due if d[0] > b]
            await asyncio.sleep(0)


def _samples(seq0: int) -> bytes:
    seq = np.arange(seq0, seq0 + BLOCK)
    angles = np.stack([seq % 3000, -(seq % 3000), seq % 7], axis=1).astype(np.int16)
    return encode_frame(SamplesFrame(flags=0, seq=seq0, t_100us=seq0 * 100, angles_cdeg=angles))


def _run(tmp_path: Path, marks: dict[int, int], lag: int):
    board = MarkingBoard(n_blocks=60, marks=marks, lag_blocks=lag)
    out = tmp_path / "marks.csv"
    options = streaming.StreamOptions(
        transport=board, device="scripted", seconds=(60 * BLOCK - 1) / RATE_HZ, out=out, raw=False
    )
    summary = asyncio.run(streaming.stream(options))
    return summary, read_recording(out)


@pytest.mark.parametrize("lag_blocks", [0, 1, 3])
def test_a_marker_sent_after_its_sample_lands_on_that_sample(tmp_path, lag_blocks):
    marks = {10: 0, 200: 5, 401: 0}  # seq -> code (0: the board's button)
    summary, rec = _run(tmp_path, marks, lag_blocks)
    marker = rec.data[MARKER].to_numpy()
    assert summary.markers == len(marks) - (1 if 401 // BLOCK + lag_blocks >= 60 else 0)
    assert summary.markers_unplaced == 0
    expected = np.zeros(len(marker), dtype=np.int64)
    for seq, code in marks.items():
        if seq // BLOCK + lag_blocks < 60:  # the board sent the marker before the stream ended
            expected[seq] = MARKER_BUTTON if code == 0 else code
    assert np.array_equal(marker, expected)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.booleans(), min_size=1, max_size=60), st.integers(0, 10**6))
def test_board_placeholders_are_counted_once_as_runs(lost: list[bool], first: int) -> None:
    """The board's lost-sample placeholders (FIFO overflow, I2C errors) count in the summary:
    one run per stretch, every placeholder once, none of the real samples."""
    from hipsense.link.protocol import RAW_LOST
    from hipsense.link.session import SampleBlock
    from hipsense.orchestrate.stream import board_losses

    n = len(lost)
    raw = np.ones((n, 6), dtype=np.int16)
    raw[np.array(lost)] = RAW_LOST
    block = SampleBlock(
        seq=np.arange(first, first + n, dtype=np.int64),
        t_device_s=np.zeros(n),
        t_host_s=np.zeros(n),
        angles_cdeg=np.zeros((n, 3), dtype=np.int16),
        raw=raw,
        lost_before=0,
        config=None,
    )
    runs = board_losses(block, "lost on the board")
    assert sum(c for _, c, _ in runs) == sum(lost)
    covered = {s for f, c, _ in runs for s in range(f, f + c)}
    assert covered == {first + i for i, x in enumerate(lost) if x}
    assert len(runs) == sum(1 for i, x in enumerate(lost) if x and (i == 0 or not lost[i - 1]))

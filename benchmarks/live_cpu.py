"""Host CPU of a live 100 Hz walk session with recording, against the bare session.

Replays simulated walking (``walk-normal``, raw + angles, quantised as the chip reports it) as
SAMPLES notifications of 4 samples (the board's 30 ms batching at 100 Hz) through
:func:`hipsense.orchestrate.stream.stream`, with no pauses between notifications, in four set-ups:

- ``bare``: the session alone (decode, order, clock mapping): the anchor;
- ``record``: + the recording writer (Parquet target);
- ``live``: + the live walk view (:class:`hipsense.live.walk.LiveWalk`), no recording;
- ``live+record``: both, as ``hipsense walk --out``.

CPU time (``time.process_time``) per second of data is the share of one core the host needs per
100 Hz sensor. The set-ups run interleaved, ``--rounds`` times; medians are reported with the
ratio to the bare session of the same round. Also the ``.partial`` file's size at the end of the
recording (before ``close()``) against the final Parquet file.

    .venv/bin/python benchmarks/live_cpu.py [--seconds 600] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
from hipsense.conventions import G_MPS2
from hipsense.link.protocol import (
    CommandFrame,
    ConfigFrame,
    ImuChip,
    ReplyFrame,
    Result,
    SamplesFrame,
    decode_frame,
    encode_frame,
)
from hipsense.link.protocol.constants import FLAG_RAW, Command
from hipsense.link.transport.base import Transport
from hipsense.live.walk import LiveWalk
from hipsense.orchestrate import stream as streaming
from hipsense.recording import RecordingWriter
from hipsense.sim.scenarios import simulate

RATE_HZ = 100
PER_NOTIFICATION = 4
ACC_LSB = 16 * G_MPS2 / 32768
GYR_LSB = 2000 / 32768


class ReplayBoard(Transport):
    """Answers commands; after START sends the pre-encoded notifications, yielding to the
    event loop after each (as notifications arriving one by one)."""

    def __init__(self, config: bytes, frames: list[bytes]) -> None:
        super().__init__()
        self.config, self.frames = config, frames
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
            self._put_frame(self.config)
        if cmd.command == Command.START and self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._play())

    async def _play(self) -> None:
        for f in self.frames:
            self._put_frame(f)
            await asyncio.sleep(0)


def notifications(seconds: float) -> tuple[bytes, list[bytes]]:
    """The CONFIG frame and the SAMPLES notifications of ``seconds`` of simulated walking."""
    sim = simulate("walk-normal", seed=1, duration_s=seconds)
    acc = np.clip(np.round(sim.acc_mps2 / ACC_LSB), -32767, 32767)
    gyr = np.clip(np.round(sim.gyr_dps / GYR_LSB), -32767, 32767)
    raw = np.hstack([acc, gyr]).astype(np.int16)
    ang = np.stack([sim.tilt_deg, sim.obliquity_deg, sim.rotation_deg], 1)
    angles = np.round(ang * 100).clip(-32767, 32767).astype(np.int16)
    config = ConfigFrame(1, ImuChip(3), RATE_HZ, 10000 // RATE_HZ, ACC_LSB, GYR_LSB, 1, True, True)
    frames = []
    for i in range(0, raw.shape[0] - PER_NOTIFICATION + 1, PER_NOTIFICATION):
        sl = slice(i, i + PER_NOTIFICATION)
        frames.append(encode_frame(SamplesFrame(FLAG_RAW, i, i * 100, angles[sl], raw[sl])))
    return encode_frame(config), frames


def run(mode: str, config: bytes, frames: list[bytes], folder: Path) -> tuple[float, int, int]:
    """CPU seconds of one streamed replay; partial and final file sizes (0 without recording)."""
    board = ReplayBoard(config, frames)

    @contextlib.asynccontextmanager
    async def replay(_: streaming.StreamOptions) -> AsyncIterator[tuple[Transport, str]]:
        yield board, "replay"

    streaming._transport = replay  # type: ignore[assignment]
    out = folder / f"{mode}.parquet"
    out.unlink(missing_ok=True)
    seconds = (len(frames) * PER_NOTIFICATION - 1) / RATE_HZ
    options = streaming.StreamOptions(seconds=seconds, out=out if "record" in mode else None)
    live = LiveWalk(RATE_HZ) if "live" in mode else None
    partial = [0]
    close = RecordingWriter.close

    def measured_close(writer: RecordingWriter) -> Path | None:
        if writer.partial_path.exists():
            writer.flush()
            partial[0] = writer.partial_path.stat().st_size
        return close(writer)

    RecordingWriter.close = measured_close  # type: ignore[method-assign]
    try:
        c0 = time.process_time()
        asyncio.run(streaming.stream(options, live))
        cpu = time.process_time() - c0
    finally:
        RecordingWriter.close = close  # type: ignore[method-assign]
    final = out.stat().st_size if out.exists() else 0
    return cpu, partial[0], final


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--seconds", type=float, default=600.0)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    config, frames = notifications(args.seconds)
    data_s = len(frames) * PER_NOTIFICATION / RATE_HZ
    modes = ["bare", "record", "live", "live+record"]
    cpu: dict[str, list[float]] = {m: [] for m in modes}
    ratio: dict[str, list[float]] = {m: [] for m in modes}
    sizes = (0, 0)
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            order = modes if r % 2 == 0 else modes[::-1]
            got = {m: run(m, config, frames, Path(tmp)) for m in order}
            for m in modes:
                cpu[m].append(got[m][0])
                ratio[m].append(got[m][0] / got["bare"][0])
            sizes = got["live+record"][1:]
    print(f"{data_s:.0f} s of 100 Hz raw walking, {len(frames)} notifications of "
          f"{PER_NOTIFICATION} samples, {args.rounds} interleaved rounds (medians)\n")  # fmt: skip
    print("| set-up | CPU s | % of a core per 100 Hz sensor | / bare session |\n|---|---|---|---|")
    for m in modes:
        c = statistics.median(cpu[m])
        print(f"| {m} | {c:.2f} | {100 * c / data_s:.2f} % | {statistics.median(ratio[m]):.2f} |")
    partial, final = sizes
    hour = 3600 / data_s / 2**20
    print(f"\n.partial at the end: {partial * hour:.1f} MiB/h; final Parquet: {final * hour:.1f} "
          f"MiB/h; ratio {partial / max(final, 1):.2f}")  # fmt: skip


if __name__ == "__main__":
    main()

"""firmware/ring.py against a plain model, on random operation sequences (hypothesis).

One MicroPython process serves all examples: it reads a JSON list of operations per line,
runs them on a fresh ring and prints the ring's state after each one.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from hipsense import paths
from hipsense.virtual.runner import micropython_argv, micropython_env
from hypothesis import example, given, settings
from hypothesis import strategies as st

MASK = (1 << 30) - 1

SERVER = r"""
import sys, json
from ring import Ring
buf = bytearray(244)
while True:
    line = sys.stdin.readline()
    if not line:
        break
    start, nbytes, raw, ops = json.loads(line)
    r = Ring(nbytes)
    r.configure(raw, 100, 0)
    r.head_seq = start
    out = []
    for op, arg in ops:
        res = None
        if op == "push":
            for _ in range(arg):
                r.push_raw(r.head_seq & 0x7FFF, 0, 0, 1, 2, 3, 4, 5, 6)
        elif op == "gap":  # an IMU outage of arg samples, as app._on_lost stores it
            held = arg if arg < r.capacity else r.capacity
            for _ in range(held):
                r.push_raw(-32768, -32768, -32768, -32768, -32768, -32768, -32768, -32768, -32768)
            if arg > held:
                r.skip(arg - held)
        elif op == "configure":  # new content or rate (also what release() does first)
            r.configure(True, 100, r.head_t)
        elif op == "send":
            x = r.fill_frame(buf, arg, True)
            if x:
                r.commit(x & 0xFF)
                res = [buf[2], x & 0xFF, buf[4] | (buf[5] << 8) | (buf[6] << 16) | (buf[7] << 24)]
        elif op == "rewind":
            ok = r.rewind((r.head_seq + arg) & 0x3FFFFFFF)
            res = [r.resend_first, r.resend_lost] if ok else False
        out.append([r.unsent, r.resent, r.held, r.lost, res])
    print(json.dumps(out))
"""


@dataclass
class Model:
    """The ring's meaning in absolute sample numbers (protocol.md "Resend")."""

    start: int
    capacity: int
    produced: int = 0  # samples pushed
    cursor: int = 0  # next sample to send (absolute index)
    mark: int = 0  # high-water mark: samples below it were sent once
    lost: int = 0  # real samples overwritten before they were sent (not placeholders)
    placeholders: set[int] = field(default_factory=set)  # absolute indices of lost samples
    cleared: int = 0  # samples before this were cleared by ``configure``

    @property
    def oldest(self) -> int:
        return max(self.cleared, self.produced - self.capacity)

    def state(self, res: object) -> list[object]:
        unsent = self.produced - self.cursor
        resent = max(0, min(self.mark, self.produced) - self.cursor)
        return [unsent, resent, self.produced - self.oldest, self.lost, res]

    def push(self, n: int, placeholder: bool = False) -> None:
        for _ in range(n):
            if placeholder:
                self.placeholders.add(self.produced)
            self.produced += 1
            if self.cursor < self.oldest:
                if self.cursor >= self.mark and self.cursor not in self.placeholders:
                    self.lost += 1  # a real sample overwritten before it was ever sent
                self.cursor = self.oldest

    def configure(self) -> None:
        """The ring is cleared: its real samples never sent count as lost."""
        never_sent = range(max(self.cursor, self.mark), self.produced)
        self.lost += sum(1 for i in never_sent if i not in self.placeholders)
        self.cleared = self.cursor = self.mark = self.produced

    def send(self, max_count: int) -> list[int] | None:
        n = min(self.produced - self.cursor, max_count)
        resent = max(0, self.mark - self.cursor)
        if resent:
            n = min(n, resent)
        if n <= 0:
            return None
        seq = (self.start + self.cursor) & MASK
        self.cursor += n
        self.mark = max(self.mark, self.cursor)
        return [3 if resent else 1, n, seq]  # flags: RAW, RESENT

    def rewind(self, delta: int) -> list[int] | bool:
        target = self.produced + delta  # delta <= 0: back from the newest; > 0: ahead
        if delta > 0:
            return False
        first = max(target, self.oldest)
        self.cursor = first
        self.mark = max(self.mark, first)  # the host has everything before from_seq
        return [(self.start + first) & MASK, first - target]


@pytest.fixture(scope="module")
def ring_server() -> Iterator[subprocess.Popen[str]]:
    env = micropython_env([paths.mpy_sim_dir(), paths.firmware_dir()])
    proc = subprocess.Popen(
        [*micropython_argv("120K"), "-c", SERVER],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    yield proc
    proc.kill()
    proc.wait()


ops = st.lists(
    st.one_of(
        st.tuples(st.just("push"), st.integers(1, 60)),
        st.tuples(st.just("send"), st.integers(1, 12)),
        st.tuples(st.just("gap"), st.integers(1, 200)),
        st.tuples(st.just("rewind"), st.integers(-120, 2)),
        st.tuples(st.just("configure"), st.just(0)),
    ),
    max_size=40,
)


@settings(max_examples=150, deadline=None)
# sent, resent from the start, then placeholders never sent, then cleared: no real sample lost
@example(
    ops=[("push", 5), ("send", 12), ("rewind", -5), ("gap", 3), ("configure", 0)],
    start=0,
    capacity=10,
)
@given(ops=ops, start=st.sampled_from([0, 12345, MASK - 40]), capacity=st.integers(5, 50))
def test_ring_matches_the_model(
    ring_server: subprocess.Popen[str], ops: list[tuple[str, int]], start: int, capacity: int
) -> None:
    assert ring_server.stdin is not None and ring_server.stdout is not None
    ring_server.stdin.write(json.dumps([start, capacity * 18, True, ops]) + "\n")
    ring_server.stdin.flush()
    got = json.loads(ring_server.stdout.readline())
    model = Model(start, capacity)
    expected = []
    for op, arg in ops:
        res: object = None
        if op == "push":
            model.push(arg)
        elif op == "gap":
            model.push(arg, placeholder=True)
        elif op == "send":
            res = model.send(arg)
        elif op == "configure":
            model.configure()
        else:
            res = model.rewind(arg)
        expected.append(model.state(res))
    assert got == expected


@pytest.mark.parametrize("rate_hz", [100, 104, 208, 416, 500])
def test_sample_times_are_exact_at_every_chip_rate(mpy, rate_hz: int) -> None:
    """104, 208 and 416 Hz (LSM6DS3) are no whole number of 100 µs: each frame's first sample
    carries the floor of its exact time k * 10000 / rate (from a start with a fraction), also
    across an outage longer than the ring (``skip``) and the 2**30 wrap (docs/protocol.md)."""
    t0, frac0 = MASK - 50_000, 7
    out = mpy(
        f"""
from ring import Ring
r = Ring(18 * 50)
r.configure(True, {rate_hz}, {t0}, {frac0})
buf = bytearray(244)
for step in range(60):
    for _ in range(13):
        r.push_raw(0, 0, 0, 1, 2, 3, 4, 5, 6)
    if step == 30:
        r.skip(123_457)
    while True:
        x = r.fill_frame(buf, 11, True)
        if not x:
            break
        r.commit(x & 0xFF)
        seq = buf[4] | (buf[5] << 8) | (buf[6] << 16) | (buf[7] << 24)
        t = buf[8] | (buf[9] << 8) | (buf[10] << 16) | (buf[11] << 24)
        print(seq, t)
"""
    )
    pairs = [tuple(int(v) for v in line.split()) for line in out.splitlines()]
    assert len(pairs) > 60 and any(seq > 123_457 for seq, _ in pairs)
    for seq, t in pairs:
        assert t == (t0 + (frac0 + seq * 10000) // rate_hz) & MASK, (seq, t)

"""The key reader of ``hipsense balance``: pipes, a pseudo-terminal (cbreak and restore), and
inputs it cannot use (which must not crash the command)."""

from __future__ import annotations

import asyncio
import io
import os
import sys
import termios
from pathlib import Path

import pytest
from hipsense.cli.keys import KeyReader


async def _settle() -> None:
    """A few turns of the event loop (for checks that nothing more arrives)."""
    for _ in range(5):
        await asyncio.sleep(0.01)


async def _until(got: list[str], expected: list[str]) -> None:
    """Until the reader has handed over ``expected`` (a pty passes its input on through a
    kernel worker, late on a loaded machine; the bound only stops a broken reader)."""
    for _ in range(500):
        if len(got) >= len(expected):
            break
        await asyncio.sleep(0.01)
    await _settle()  # and nothing more
    assert got == expected


async def test_a_pipe_gives_one_press_per_line() -> None:
    r, w = os.pipe()
    got: list[str] = []
    try:
        with KeyReader(got.append, fd=r) as keys:
            assert keys.mode == "lines"
            os.write(w, b"\n")
            await _until(got, ["\n"])
            os.write(w, b"t\nxyz\n")  # a line is a press, whatever it says
            await _until(got, ["\n"] * 3)
            os.close(w)  # end of input: the reader stops watching, nothing breaks
            w = -1
            await _settle()
        assert keys.mode is None
    finally:
        os.close(r)
        if w >= 0:
            os.close(w)


async def test_a_terminal_is_read_key_by_key_and_restored() -> None:
    master, slave = os.openpty()
    before = termios.tcgetattr(slave)
    got: list[str] = []
    try:
        with KeyReader(got.append, fd=slave) as keys:
            assert keys.mode == "keys"
            mode = termios.tcgetattr(slave)
            assert not mode[3] & termios.ICANON and not mode[3] & termios.ECHO
            assert mode[3] & termios.ISIG  # Ctrl-C still interrupts
            os.write(master, b"t")  # no Enter needed
            await _until(got, ["t"])
            os.write(master, b"a \rq")  # only the touch-down keys count
            await _until(got, ["t", " ", "\n"])  # the terminal turns Enter's \r into \n (ICRNL)
        assert termios.tcgetattr(slave) == before
    finally:
        os.close(master)
        os.close(slave)


async def test_the_terminal_is_restored_when_the_stream_is_interrupted() -> None:
    master, slave = os.openpty()
    before = termios.tcgetattr(slave)
    try:
        with pytest.raises(KeyboardInterrupt), KeyReader(lambda _k: None, fd=slave):
            raise KeyboardInterrupt
        assert termios.tcgetattr(slave) == before
    finally:
        os.close(master)
        os.close(slave)


async def test_unusable_inputs_do_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    plain = tmp_path / "keys.txt"
    plain.write_text("\n\n")
    for path in (os.devnull, str(plain)):
        fd = os.open(path, os.O_RDONLY)
        try:
            with KeyReader(lambda _k: pytest.fail("no key expected"), fd=fd) as keys:
                assert keys.mode is None
                await _settle()
        finally:
            os.close(fd)
    r, w = os.pipe()
    os.close(r)
    os.close(w)
    with KeyReader(lambda _k: None, fd=r) as keys:  # a closed descriptor
        assert keys.mode is None
    monkeypatch.setattr(sys, "stdin", io.StringIO())  # stdin without a descriptor (as in tests)
    with KeyReader(lambda _k: None) as keys:
        assert keys.mode is None

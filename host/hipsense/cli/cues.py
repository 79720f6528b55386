"""Sound prompts for tests where the patient cannot look at the screen (standing on one leg,
lying in a bridge): start, lift, hold and end, each a short tone pattern.

The tones are small WAV files made once with the standard library and played by the first
player found (``paplay``, ``pw-play``, ``aplay``, ``afplay``) without waiting; with no player,
or when the player fails (no audio device), the terminal bell is rung instead, and with no
terminal nothing is played. ``--quiet`` turns the cues off.
"""

from __future__ import annotations

import math
import shutil
import struct
import subprocess
import sys
import tempfile
import wave
from pathlib import Path

RATE_HZ = 16000
#: cue -> (frequency Hz, duration s) tones in order, with 60 ms gaps
PATTERNS: dict[str, tuple[tuple[float, float], ...]] = {
    "start": ((660.0, 0.15),),
    "lift": ((660.0, 0.12), (880.0, 0.12)),
    "hold": ((880.0, 0.35),),
    "end": ((880.0, 0.12), (660.0, 0.12), (440.0, 0.25)),
    "fault": ((330.0, 0.1), (330.0, 0.1)),
}
PLAYERS = ("paplay", "pw-play", "aplay", "afplay")


def tone_wav(pattern: tuple[tuple[float, float], ...], path: Path) -> Path:
    """Write the pattern as 16-bit mono PCM with 5 ms fades (no clicks)."""
    frames = bytearray()
    fade = int(0.005 * RATE_HZ)
    for freq, dur in pattern:
        n = int(dur * RATE_HZ)
        for i in range(n):
            env = min(1.0, i / fade, (n - 1 - i) / fade)
            frames += struct.pack(
                "<h", int(0.4 * 32767 * env * math.sin(2 * math.pi * freq * i / RATE_HZ))
            )
        frames += b"\0\0" * int(0.06 * RATE_HZ)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE_HZ)
        w.writeframes(bytes(frames))
    return path


class Cues:
    """``cues("lift")`` plays the lift prompt (or rings the bell, or nothing)."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self.player = next((p for p in PLAYERS if shutil.which(p)), None) if enabled else None
        self._dir: tempfile.TemporaryDirectory[str] | None = None
        self._files: dict[str, Path] = {}
        self._procs: list[subprocess.Popen[bytes]] = []
        self.played: list[str] = []  # what was cued, in order (shown in tests)

    def _file(self, cue: str) -> Path:
        if cue not in self._files:
            if self._dir is None:
                self._dir = tempfile.TemporaryDirectory(prefix="hipsense-cues-")
            self._files[cue] = tone_wav(PATTERNS[cue], Path(self._dir.name) / f"{cue}.wav")
        return self._files[cue]

    def __call__(self, cue: str) -> None:
        if not self.enabled:
            return
        if cue not in PATTERNS:
            raise ValueError(f"unknown cue {cue!r}")
        self.played.append(cue)
        for proc in list(self._procs):  # a failed player (no audio device): use the bell
            if proc.poll() is not None:
                self._procs.remove(proc)
                if proc.returncode != 0:
                    self.player = None
        if self.player is not None:
            try:
                self._procs.append(subprocess.Popen(
                    [self.player, str(self._file(cue))],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                ))  # fmt: skip
                return
            except OSError:
                self.player = None
        if sys.stderr.isatty():
            sys.stderr.write("\a" * len(PATTERNS[cue]))
            sys.stderr.flush()

    def close(self) -> None:
        for proc in self._procs:
            try:
                proc.wait(timeout=2.0)
            except subprocess.TimeoutExpired:
                proc.kill()
        self._procs.clear()
        if self._dir is not None:
            self._dir.cleanup()
            self._dir = None

    def __enter__(self) -> Cues:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

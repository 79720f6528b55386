"""Sound prompts: WAV tones made with the standard library, played by a found player, the
terminal bell when the player fails (no audio device), nothing with --quiet."""

from __future__ import annotations

import stat
import wave
from pathlib import Path

import pytest
from hipsense.cli.cues import PATTERNS, RATE_HZ, Cues, tone_wav


@pytest.mark.parametrize("cue", sorted(PATTERNS))
def test_each_cue_is_a_short_mono_wav_of_its_pattern(tmp_path: Path, cue: str) -> None:
    path = tone_wav(PATTERNS[cue], tmp_path / f"{cue}.wav")
    with wave.open(str(path)) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, RATE_HZ)
        seconds = w.getnframes() / RATE_HZ
    assert seconds == pytest.approx(sum(d + 0.06 for _, d in PATTERNS[cue]), abs=2 / RATE_HZ)
    assert seconds < 1.0  # a prompt, not a tune


def _fake_player(folder: Path, name: str, exit_status: int, log: Path) -> None:
    script = folder / name
    script.write_text(f'#!/bin/sh\necho "$1" >> {log}\nexit {exit_status}\n')
    script.chmod(script.stat().st_mode | stat.S_IEXEC)


def test_cues_play_through_the_player_and_fall_back_when_it_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "played.log"
    _fake_player(tmp_path, "aplay", 0, log)
    monkeypatch.setenv("PATH", str(tmp_path))
    with Cues() as cues:
        assert cues.player == "aplay"
        cues("start")
        cues("lift")
    assert [Path(p).name for p in log.read_text().split()] == ["start.wav", "lift.wav"]

    failing = tmp_path / "failing"
    failing.mkdir()
    _fake_player(failing, "aplay", 1, log)  # like aplay with no sound card
    monkeypatch.setenv("PATH", str(failing))
    with Cues() as cues:
        cues("hold")
        for proc in cues._procs:
            proc.wait(timeout=10)
        cues("end")  # the failure is seen: no player from now on
        assert cues.player is None and cues.played == ["hold", "end"]


def test_quiet_and_no_player_play_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no player at all
    with Cues() as cues:
        assert cues.player is None
        cues("end")  # no terminal in tests: no bell either, and no error
        assert cues.played == ["end"]
    with Cues(enabled=False) as quiet:
        quiet("start")
        assert quiet.played == [] and quiet.player is None
    with pytest.raises(ValueError, match="unknown cue"):
        Cues()("beep")

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
        assert cues.played == ["start", "lift"]
    # the two players run at once: each sound was played, in whichever order they logged it
    assert sorted(Path(p).name for p in log.read_text().split()) == ["lift.wav", "start.wav"]

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


class _Recorder:
    """Stands in for the live display and for the sound player."""

    def __init__(self) -> None:
        self.cues: list[str] = []

    def update(self, _table: object) -> None:
        pass

    def __call__(self, cue: str) -> None:
        self.cues.append(cue)


def test_the_stance_view_cues_start_lift_hold_and_end_per_trial() -> None:
    """Two simulated 20 s holds, 10 s asked: per trial the start (stand still), lift, hold and
    time-up prompts sound once each, in that order, and the end of the test sounds last."""
    import asyncio
    from types import SimpleNamespace

    from hipsense.cli.balance import _StanceView
    from hipsense.sim.scenarios import simulate
    from test_balance_marks import _blocks

    rec = simulate("stance-eyes-open", seed=2).to_recording()
    rec_ = _Recorder()
    view = _StanceView(rec_, ["right", "left"], 10.0, asyncio.Event(), rec_)  # type: ignore[arg-type]
    session = SimpleNamespace(markers=[])
    for block in _blocks(rec, [10]):
        view(block, session)  # type: ignore[arg-type]
    assert rec_.cues[-1] == "end" and rec_.cues.count("hold") == 2
    first, second = rec_.cues[:4], rec_.cues[4:8]
    assert first == ["start", "lift", "hold", "end"]
    assert second[-2:] == ["hold", "end"] and "lift" in second


def test_the_bridge_view_cues_each_rep() -> None:
    """Three reps per leg, 5 s holds asked: lie still (start), then per rep push up (lift),
    hold and lower (end); the last cue is the end of the sets."""
    import asyncio
    from types import SimpleNamespace

    from hipsense.cli.bridge import _BridgeView
    from hipsense.sim.scenarios import simulate
    from test_balance_marks import _blocks

    rec = simulate("bridge-single-weak-right", seed=0).to_recording()
    rec_ = _Recorder()
    view = _BridgeView(rec_, ["left", "right"], 3, 4.0, asyncio.Event(), rec_)  # type: ignore[arg-type]
    session = SimpleNamespace(markers=[])
    for block in _blocks(rec, [10]):
        view(block, session)  # type: ignore[arg-type]
    assert rec_.cues[0] == "start" and rec_.cues[-1] == "end"
    assert rec_.cues.count("hold") == 6 and rec_.cues.count("lift") == 6
    reps = rec_.cues[1:-1]
    assert reps == ["lift", "hold", "end"] * 6, reps

"""Sound prompts: WAV tones made with the standard library, played by a found player, the
terminal bell when the player fails (no audio device), nothing with --quiet."""

from __future__ import annotations

import itertools
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


def test_a_lull_in_a_steady_hold_shows_as_a_pause_never_as_an_end() -> None:
    """Person 32 of tuning seed 11 (docs/validation.md): a steady right-leg hold lulls 6.5 s
    in; the detector ends the trial by quiet and reopens it when the sway comes back. The live
    view showed that end, asked for trial 2 (lift the right foot!) and sounded start, lift
    and hold again. Now the lull is a pause: no end shown and then withdrawn, trial 2 asked
    for only after trial 1 really ended, each cue once per trial, and the resumed hold says
    so."""
    import asyncio
    from types import SimpleNamespace

    from hipsense.cli.balance import _StanceView
    from hipsense.live.balance import LiveStance
    from hipsense.sim.population import simulate_person, stance_people
    from test_balance_marks import _blocks

    truth, rec = simulate_person(stance_people(33, seed=11)[32])
    first_end_s = truth.truth["trials"][0]["end_t_s"]
    rec_ = _Recorder()
    view = _StanceView(rec_, ["right", "left"], 30.0, asyncio.Event(), rec_)  # type: ignore[arg-type]
    view.stance = LiveStance(rec.meta.mounting or (1.0, 0.0, 0.0, 0.0))
    session = SimpleNamespace(markers=[])
    shown: list[list[str]] = []
    prompts: list[tuple[float, str]] = []
    holding: list[str] = []
    for block in _blocks(rec, [10]):
        view(block, session)  # type: ignore[arg-type]
        table = view.table()
        rows = dict(zip(table.columns[0]._cells, table.columns[1]._cells, strict=True))
        shown.append([t for t in str(rows["trials"]).split("; ") if t != "—"])
        prompts.append((view.stance.t_s, view.prompt()))
        holding.append(str(rows.get("holding", "")))
        if view.stop.is_set():
            break
    assert view.stop.is_set()
    assert any("no sway on the RIGHT leg: foot still up? keep holding" in p for _, p in prompts)
    assert any(h.startswith("paused at 6.") for h in holding), "the lull this test is about"
    for before, after in itertools.pairwise(shown):
        assert after[: len(before)] == before, (before, after)  # an end shown stays shown
    asked_2 = min(t for t, p in prompts if p.startswith("trial 2"))
    assert asked_2 > first_end_s, (asked_2, first_end_s)
    assert any("(resumed after a pause)" in h for h in holding)
    assert rec_.cues == ["start", "lift", "hold", "end"] * 2 + ["end"]


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

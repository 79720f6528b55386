"""Live single-leg stance: blocks from the board -> the same front end and detector as offline.

:class:`LiveStance` is an ``on_block`` callback for :func:`hipsense.orchestrate.stream.stream`. It
turns each block into recording rows (:func:`hipsense.link.blocks.block_rows`, same clock origin
as the
recording), so its events are exactly those of ``hipsense analyze FILE --test balance``. A key
press (:meth:`LiveStance.key`) and the board's button mark a touch-down the sensor may have
missed; :meth:`LiveStance.mark_recording` puts those marks in the saved recording, where the
analysis finds them on the same samples.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from hipsense.analysis.balance import MARK_SOURCES
from hipsense.detectors.balance.events import StanceDetector, StanceTrial
from hipsense.link.protocol import SEQ_MODULUS, MarkerFrame
from hipsense.link.session import SampleBlock, Session
from hipsense.live.settings import SettingsWatch
from hipsense.motion.blocks import BlockFrontEnd
from hipsense.recording import MARKER, MARKER_BUTTON, MARKER_KEY, SEQ, Recording

SPARK = "▁▂▃▄▅▆▇█"
BUTTON_CODE = 0
"""The MARKER frame's code for the board's button (docs/protocol.md)."""


@dataclass(frozen=True)
class LiveMark:
    """A touch-down marked by hand on sample ``seq`` (unwrapped, as the recording's ``seq``)
    at ``t_s``; ``code`` is the recording's marker value (MARKER_KEY or MARKER_BUTTON)."""

    seq: int
    t_s: float
    code: int


class LiveStance:
    """Feeds blocks to the stance detector and keeps what the live view shows.

    mounting_wxyz: sensor -> pelvis calibration (the front end is built at the first block).
    trace_s: length of the sway trace kept for the view.
    lookup_s: how far back a button press's sample is looked for (its MARKER frame follows
        the samples up to it).
    """

    def __init__(
        self,
        mounting_wxyz: Sequence[float] = (1.0, 0.0, 0.0, 0.0),
        trace_s: float = 10.0,
        lookup_s: float = 5.0,
    ) -> None:
        self.blocks = BlockFrontEnd(mounting_wxyz)
        self.trace_s = trace_s
        self.lookup_s = lookup_s
        self.detector = StanceDetector()
        self.settings = SettingsWatch()
        self.t_s = 0.0
        self.obliquity_deg = float("nan")
        self.tilt_deg = float("nan")
        self.trace: deque[tuple[float, float]] = deque()
        self.marks: list[LiveMark] = []
        self._newest: tuple[int, float] | None = None
        self._recent: deque[tuple[np.ndarray, np.ndarray, np.ndarray]] = deque()
        self._seen_markers = 0
        self._buttons: list[MarkerFrame] = []

    def __call__(self, block: SampleBlock, session: Session) -> None:
        self.settings(block, session)
        frame = self.blocks.update(block)
        rows = self.blocks.rows
        if rows is not None and len(rows) > 0:
            seq, t_rows = rows.seq, rows.t_s
            self._recent.append((seq % SEQ_MODULUS, seq, t_rows))
            while self._recent and self._recent[0][2][-1] < t_rows[-1] - self.lookup_s:
                self._recent.popleft()
        self._button_presses(session.markers)
        if frame is None:
            return
        t = frame.t_s
        self.detector.update(frame)
        self.t_s = float(t[-1])
        if rows is not None and len(rows) > 0:
            self._newest = (int(rows.seq[-1]), float(rows.t_s[-1]))
        tilt_s, obl_s = frame.static_angles_deg()
        self.obliquity_deg = float(obl_s[-1])
        self.tilt_deg = float(tilt_s[-1])
        for ti, ob in zip(t[::10].tolist(), obl_s[::10].tolist(), strict=True):
            self.trace.append((ti, ob))
        while self.trace and self.trace[0][0] < self.t_s - self.trace_s:
            self.trace.popleft()

    def key(self) -> LiveMark | None:
        """A key press: a touch-down marked on the newest sample the detector has seen (None
        before the first sample, or when that sample is already marked)."""
        if self._newest is None:
            return None
        return self._mark(*self._newest, MARKER_KEY)

    def _mark(self, seq: int, t_s: float, code: int) -> LiveMark | None:
        if any(m.seq == seq for m in self.marks):
            return None  # a sample holds one marker
        mark = LiveMark(seq, t_s, code)
        self.marks.append(mark)
        self.detector.mark(t_s, MARK_SOURCES[code])
        return mark

    def _button_presses(self, markers: Sequence[MarkerFrame]) -> None:
        """The board's button presses (MARKER code 0) -> marks on their samples; a press
        whose sample is not among the recent blocks yet waits for the next block."""
        self._buttons += [m for m in markers[self._seen_markers :] if m.code == BUTTON_CODE]
        self._seen_markers = len(markers)
        waiting = []
        for press in self._buttons:
            found = self._sample_of(press.seq)
            if found is None:
                waiting.append(press)
            else:
                self._mark(*found, MARKER_BUTTON)
        self._buttons = waiting

    def _sample_of(self, seq_wrapped: int) -> tuple[int, float] | None:
        for wrapped, seq, t_rows in self._recent:
            hit = np.flatnonzero(wrapped == seq_wrapped)
            if hit.size:
                return int(seq[hit[0]]), float(t_rows[hit[0]])
        return None

    def mark_recording(self, recording: Recording) -> int:
        """Put the marks on their samples in the saved recording: key presses exist only on the
        host; a button press normally lands through the stream's write delay, this places one
        whose MARKER frame came later still. Returns how many were placed."""
        data = recording.data
        placed = 0
        for mark in self.marks:
            rows = data.index[data[SEQ] == mark.seq]
            if len(rows):
                data.loc[rows, MARKER] = mark.code
                placed += 1
        return placed

    def paused(self, hold_asked_s: float) -> StanceTrial | None:
        """The last trial when the sensor's end of it may still be withdrawn (it ended by quiet
        alone: :attr:`StanceDetector.end_provisional_`) and the hold asked for is not over: a
        steady hold's lull, or the foot down; shown as a pause, never as an end."""
        det = self.detector
        if not det.end_provisional_:
            return None
        trial = det.trials_[-1]
        return trial if self.t_s < trial.lift_off_t_s + hold_asked_s else None

    def ended_trials(self, hold_asked_s: float) -> int:
        """Trials whose end is shown as an end: every ended trial but a :meth:`paused` one."""
        ended = sum(1 for tr in self.detector.trials_ if tr.end_t_s is not None)
        return ended - (self.paused(hold_asked_s) is not None)

    def relative_deg(self) -> tuple[float, float]:
        """Obliquity and tilt relative to the current trial's bipedal baseline (or raw)."""
        trial = self.detector.current_trial_
        if trial is None:
            return self.obliquity_deg, self.tilt_deg
        return (
            self.obliquity_deg - trial.baseline_obliquity_deg,
            self.tilt_deg - trial.baseline_tilt_deg,
        )

    def sparkline(self, width: int = 50) -> str:
        """The obliquity trace as a one-line sparkline (±5° full scale)."""
        values = [v for _, v in self.trace][-width:]
        if not values:
            return ""
        mid = float(np.median(values))
        idx = [
            int(np.clip((v - mid + 5.0) / 10.0 * (len(SPARK) - 1), 0, len(SPARK) - 1))
            for v in values
        ]
        return "".join(SPARK[i] for i in idx)

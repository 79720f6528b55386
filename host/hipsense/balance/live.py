"""Live single-leg stance: blocks from the board -> the same front end and detector as offline.

:class:`LiveStance` is an ``on_block`` callback for :func:`hipsense.streaming.stream`. It turns
each block into recording rows (:func:`hipsense.streaming.block_frame`, same clock origin as the
recording), so its events are exactly those of ``hipsense analyze FILE --test balance``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

import numpy as np

from hipsense.balance.blocks import BlockFrontEnd
from hipsense.balance.events import StanceDetector
from hipsense.session import SampleBlock, Session

SPARK = "▁▂▃▄▅▆▇█"


class LiveStance:
    """Feeds blocks to the stance detector and keeps what the live view shows.

    rate_hz: the board's rate (the front end is built at the first block from its config).
    mounting_wxyz: sensor -> pelvis calibration.
    trace_s: length of the sway trace kept for the view.
    """

    def __init__(
        self, mounting_wxyz: Sequence[float] = (1.0, 0.0, 0.0, 0.0), trace_s: float = 10.0
    ) -> None:
        self.blocks = BlockFrontEnd(mounting_wxyz)
        self.trace_s = trace_s
        self.detector = StanceDetector()
        self.t_s = 0.0
        self.obliquity_deg = float("nan")
        self.tilt_deg = float("nan")
        self.trace: deque[tuple[float, float]] = deque()

    def __call__(self, block: SampleBlock, session: Session) -> None:
        frame = self.blocks.update(block)
        if frame is None:
            return
        t = frame.t_s
        self.detector.update(frame)
        self.t_s = float(t[-1])
        tilt_s, obl_s = frame.static_angles_deg()
        self.obliquity_deg = float(obl_s[-1])
        self.tilt_deg = float(tilt_s[-1])
        for ti, ob in zip(t[::10].tolist(), obl_s[::10].tolist(), strict=True):
            self.trace.append((ti, ob))
        while self.trace and self.trace[0][0] < self.t_s - self.trace_s:
            self.trace.popleft()

    @property
    def completed_trials(self) -> int:
        return sum(1 for tr in self.detector.trials_ if tr.end_t_s is not None)

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

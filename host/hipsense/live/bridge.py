"""Live bridges: blocks from the board -> the same front end and rep detector as offline.

:class:`LiveBridge` is an ``on_block`` callback for :func:`hipsense.orchestrate.stream.stream`; its
reps are exactly those of ``hipsense analyze FILE --test bridge``.
"""

from __future__ import annotations

from collections.abc import Sequence

from hipsense.detectors.bridge.events import BridgeDetector
from hipsense.link.session import SampleBlock, Session
from hipsense.live.settings import SettingsWatch
from hipsense.motion.blocks import BlockFrontEnd


class LiveBridge:
    """Feeds blocks to the rep detector; ``t_s``, the detector's state and angles for the view.

    mounting_wxyz: sensor -> pelvis calibration.
    """

    def __init__(self, mounting_wxyz: Sequence[float] = (1.0, 0.0, 0.0, 0.0)) -> None:
        self.detector = BridgeDetector(mounting_wxyz)
        self.blocks = BlockFrontEnd(mounting_wxyz)
        self.t_s = 0.0
        self.up_since_t_s: float | None = None
        self.settings = SettingsWatch()

    def __call__(self, block: SampleBlock, session: Session) -> None:
        self.settings(block, session)
        frame = self.blocks.update(block)
        if frame is None:
            return
        t = frame.t_s
        was_up = self.detector.state_ == "up"
        self.detector.update(frame)
        self.t_s = float(t[-1])
        if self.detector.state_ == "up" and not was_up:
            self.up_since_t_s = self.t_s
        elif self.detector.state_ != "up":
            self.up_since_t_s = None

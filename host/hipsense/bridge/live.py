"""Live bridges: blocks from the board -> the same front end and rep detector as offline.

:class:`LiveBridge` is an ``on_block`` callback for :func:`hipsense.streaming.stream`; its reps
are exactly those of ``hipsense analyze FILE --test bridge``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from hipsense.balance.frontend import ImuFrontEnd
from hipsense.bridge.events import BridgeDetector
from hipsense.recording.schema import ACC_COLUMNS, GYR_COLUMNS
from hipsense.session import SampleBlock, Session
from hipsense.streaming import block_frame


class LiveBridge:
    """Feeds blocks to the rep detector; ``t_s``, the detector's state and angles for the view.

    mounting_wxyz: sensor -> pelvis calibration.
    """

    def __init__(self, mounting_wxyz: Sequence[float] = (1.0, 0.0, 0.0, 0.0)) -> None:
        self.detector = BridgeDetector(mounting_wxyz)
        self.mounting_wxyz = tuple(mounting_wxyz)
        self.front: ImuFrontEnd | None = None
        self.t0_device_s: float | None = None
        self.t_s = 0.0
        self.up_since_t_s: float | None = None

    def __call__(self, block: SampleBlock, session: Session) -> None:
        if block.raw is None or block.config is None:
            return
        if self.t0_device_s is None:
            self.t0_device_s = float(block.t_device_s[0])
            self.front = ImuFrontEnd(float(block.config.rate_hz), self.mounting_wxyz)
        rows = block_frame(block, self.t0_device_s, {})
        if len(rows) == 0 or self.front is None:
            return
        t = rows["t_s"].to_numpy(dtype=np.float64)
        frame = self.front.update(
            t,
            rows[list(ACC_COLUMNS)].to_numpy(dtype=np.float64),
            rows[list(GYR_COLUMNS)].to_numpy(dtype=np.float64),
        )
        was_up = self.detector.state_ == "up"
        self.detector.update(frame)
        self.t_s = float(t[-1])
        if self.detector.state_ == "up" and not was_up:
            self.up_since_t_s = self.t_s
        elif self.detector.state_ != "up":
            self.up_since_t_s = None

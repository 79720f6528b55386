"""Live walk analysis on a stream: each :class:`~hipsense.session.SampleBlock` goes through
:func:`~hipsense.streaming.block_frame` (the rows the recorder writes) into a
:class:`~hipsense.gait.tracker.WalkTracker`, so the saved recording re-analysed offline gives
exactly the live events."""

from __future__ import annotations

import math

import numpy as np

from hipsense.gait.sources import ACC_COLUMNS, GYR_COLUMNS
from hipsense.gait.tracker import WalkEvent, WalkTracker
from hipsense.recording import ANGLE_COLUMNS
from hipsense.session import SampleBlock, Session
from hipsense.streaming import block_frame


class LiveWalk:
    """Callback for :func:`hipsense.streaming.stream`: feeds the tracker, keeps the latest
    obliquity and the step counts. ``tracker`` keeps no event list (constant memory)."""

    def __init__(self, rate_hz: float = 100.0) -> None:
        self.tracker = WalkTracker(rate_hz, keep_events=False)
        self.t0_device_s: float | None = None
        self.t_s = 0.0
        self.obliquity_deg = math.nan
        self.contacts = {"left": 0, "right": 0}
        self.last_event: WalkEvent | None = None
        self.latency_s = 0.0

    def __call__(self, block: SampleBlock, session: Session) -> None:
        if block.raw is None:
            return
        if self.t0_device_s is None:
            self.t0_device_s = float(block.t_device_s[0])
        frame = block_frame(block, self.t0_device_s, {})
        if len(frame) == 0:
            return
        t = frame["t_s"].to_numpy()
        events = self.tracker.update(
            t,
            frame[list(ACC_COLUMNS)].to_numpy(),
            frame[list(GYR_COLUMNS)].to_numpy(),
            frame[list(ANGLE_COLUMNS)].to_numpy(),
        )
        self.t_s = float(t[-1])
        obl = frame["obliquity_deg"].to_numpy()
        if not np.isnan(obl[-1]):
            self.obliquity_deg = float(obl[-1])
        for ev in events:
            self.contacts[ev.contact.side] += 1
            self.last_event = ev
            self.latency_s = self.t_s - ev.contact.t_s

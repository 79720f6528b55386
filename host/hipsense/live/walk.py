"""Live walk analysis on a stream: each :class:`~hipsense.link.session.SampleBlock` goes through
:func:`~hipsense.link.blocks.block_frame` (the rows the recorder writes) into a
:class:`~hipsense.detectors.walk.tracker.WalkTracker`, so the
saved recording re-analysed offline gives
exactly the live events."""

from __future__ import annotations

import math

import numpy as np

from hipsense.detectors.walk.tracker import WalkEvent, WalkTracker
from hipsense.link.blocks import block_frame
from hipsense.link.session import SampleBlock, Session
from hipsense.motion.sources import ACC_COLUMNS, GYR_COLUMNS
from hipsense.recording import ANGLE_COLUMNS


class LiveWalk:
    """Callback for :func:`hipsense.orchestrate.stream.stream`: feeds the tracker, keeps the latest
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

"""Live walk analysis on a stream: each :class:`~hipsense.link.session.SampleBlock` goes through
:func:`~hipsense.link.blocks.block_rows` (the rows the recorder writes, as arrays) into a
:class:`~hipsense.detectors.walk.tracker.WalkTracker`, so the saved recording re-analysed
offline gives exactly the live events."""

from __future__ import annotations

import math

from hipsense.analysis.walk import SIDE_CERTAIN_SCORE
from hipsense.detectors.walk.contacts import ContactDetector
from hipsense.detectors.walk.pendulum import LEG_PER_HEIGHT
from hipsense.detectors.walk.tracker import LIVE_CONTACTS, WalkEvent, WalkTracker
from hipsense.link.blocks import block_rows
from hipsense.link.session import SampleBlock, Session
from hipsense.live.settings import SettingsWatch
from hipsense.motion.sources import left_axis_sensor


class LiveWalk:
    """Callback for :func:`hipsense.orchestrate.stream.stream`: feeds the tracker, keeps the latest
    obliquity, the step counts and how many of them had their side flagged uncertain
    (``uncertain``: |side score| below :data:`~hipsense.analysis.walk.SIDE_CERTAIN_SCORE`, as
    the offline summary counts them), in constant memory (the tracker keeps no event list and its
    detector only recent contacts).

    The sampling rate comes from the stream's configuration frame (the first block that carries
    one); ``tracker`` is None until then. ``delay_s``: how long after its contact (stream time)
    the last contact was shown, i.e. the detector's confirmation delay plus the block's length.
    ``height_cm``: the person's height, for step length and gait speed (None: not estimated).
    The mounting the board said it uses at the start (``session.settings``) gives the steps'
    sides from the first step, as the offline analysis of the recording does.
    """

    def __init__(self, height_cm: float | None = None) -> None:
        self.pendulum_m = None if height_cm is None else LEG_PER_HEIGHT * height_cm / 100.0
        self.tracker: WalkTracker | None = None
        self.rate_hz: float | None = None
        self.t0_device_s: float | None = None
        self.t_s = 0.0
        self.obliquity_deg = math.nan
        self.contacts = {"left": 0, "right": 0}
        self.uncertain = 0
        self.last_event: WalkEvent | None = None
        self.delay_s = math.nan
        self.max_delay_s = 0.0
        self.settings = SettingsWatch()

    def __call__(self, block: SampleBlock, session: Session) -> None:
        self.settings(block, session)
        if block.raw is None or block.config is None:
            return
        tracker = self.tracker
        if tracker is None:
            self.rate_hz = float(block.config.rate_hz)
            board = session.settings
            mounting = board.mounting_wxyz if board is not None else None
            detector = ContactDetector(
                self.rate_hz,
                keep_contacts=LIVE_CONTACTS,
                left_axis=None if mounting is None else left_axis_sensor(mounting),
            )
            tracker = self.tracker = WalkTracker(
                self.rate_hz, detector=detector, keep_events=False, pendulum_m=self.pendulum_m
            )
        if self.t0_device_s is None:
            self.t0_device_s = float(block.t_device_s[0])
        rows = block_rows(block, self.t0_device_s, {})
        if len(rows) == 0 or rows.acc_mps2 is None or rows.gyr_dps is None:
            return
        events = tracker.update(rows.t_s, rows.acc_mps2, rows.gyr_dps, rows.angles_deg)
        self.t_s = float(rows.t_s[-1])
        obl = float(rows.angles_deg[-1, 1])
        if not math.isnan(obl):
            self.obliquity_deg = obl
        for ev in events:
            self.contacts[ev.contact.side] += 1
            self.uncertain += abs(ev.contact.side_score) < SIDE_CERTAIN_SCORE
            self.last_event = ev
            self.delay_s = self.t_s - ev.contact.t_s
            self.max_delay_s = max(self.max_delay_s, self.delay_s)

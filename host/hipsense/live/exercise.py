"""Live exercise coaching: blocks from the board -> the same session of detectors as offline.

:class:`LiveExercise` is an ``on_block`` callback for :func:`hipsense.orchestrate.stream.stream`;
it hands every event (posture advice, baseline, rep, fault cue) to ``on_event`` the block it
happens in, and its reps are exactly those of ``hipsense analyze FILE --test exercise:NAME``
(the same samples on the recording's clock, lost samples left out as the analysis does).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from hipsense.conventions.exercises import ExerciseSpec
from hipsense.detectors.exercise.detector import IDENTITY, ExerciseEvent
from hipsense.detectors.exercise.session import ExerciseSession
from hipsense.link.blocks import block_frame
from hipsense.link.session import SampleBlock, Session
from hipsense.live.settings import SettingsWatch
from hipsense.recording.schema import ACC_COLUMNS, GYR_COLUMNS


class LiveExercise:
    """Feeds blocks to an :class:`ExerciseSession`; ``events`` holds every event so far."""

    def __init__(
        self,
        spec: ExerciseSpec,
        sides: Sequence[str],
        reps: int,
        mounting_wxyz: Sequence[float] = IDENTITY,
        on_event: Callable[[ExerciseEvent], None] | None = None,
    ) -> None:
        self.session = ExerciseSession(spec, sides, reps, mounting_wxyz)
        self.on_event = on_event
        self.events: list[ExerciseEvent] = []
        self.t_s = 0.0
        self._t0_device_s: float | None = None
        self.settings = SettingsWatch()

    def __call__(self, block: SampleBlock, session: Session) -> None:
        self.settings(block, session)
        if block.raw is None or block.config is None:
            return
        if self._t0_device_s is None:
            self._t0_device_s = float(block.t_device_s[0])
        rows = block_frame(block, self._t0_device_s, {})
        if len(rows) == 0:
            return
        t = rows["t_s"].to_numpy(dtype=np.float64)
        acc = rows[list(ACC_COLUMNS)].to_numpy(dtype=np.float64)
        gyr = rows[list(GYR_COLUMNS)].to_numpy(dtype=np.float64)
        keep = np.all(np.isfinite(acc), axis=1) & np.all(np.isfinite(gyr), axis=1)
        self.t_s = float(t[-1])
        for event in self.session.update(t[keep], acc[keep], gyr[keep]):
            self.events.append(event)
            if self.on_event is not None:
                self.on_event(event)

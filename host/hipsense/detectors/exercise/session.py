"""A guided exercise session: sets in order (one side each), one detector per set.

Set k's detector gets the samples until it has counted the set's reps (or its hold), then set
k+1's detector takes over and waits for its own still start posture (the person changes side),
so live and offline split a recording into sets the same way.
"""

from __future__ import annotations

from collections.abc import Sequence

from hipsense.conventions.exercises import ExerciseSpec
from hipsense.detectors.exercise.detector import IDENTITY, ExerciseDetector, ExerciseEvent
from hipsense.motion.frontend import FloatArray


class ExerciseSession:
    """``sides``: the side of each set in order; ``reps``: reps per set (holds: 1 per set)."""

    def __init__(
        self,
        spec: ExerciseSpec,
        sides: Sequence[str],
        reps: int,
        mounting_wxyz: Sequence[float] = IDENTITY,
    ) -> None:
        if not sides:
            raise ValueError("at least one set")
        self.spec = spec
        self.reps_per_set = 1 if spec.mode == "hold" else max(1, int(reps))
        self.sets = [
            ExerciseDetector(spec, s, mounting_wxyz, max_reps=self.reps_per_set) for s in sides
        ]
        self.current = 0

    @property
    def detector(self) -> ExerciseDetector:
        return self.sets[self.current]

    @property
    def done(self) -> bool:
        return all(d.complete for d in self.sets)

    def update(
        self, t_s: FloatArray, acc_mps2: FloatArray, gyr_dps: FloatArray
    ) -> list[ExerciseEvent]:
        """Feed one chunk; a chunk that completes a set is split at that sample."""
        events: list[ExerciseEvent] = []
        i, n = 0, t_s.shape[0]
        while i < n and not self.done:
            det = self.detector
            events += det.update(t_s[i:], acc_mps2[i:], gyr_dps[i:])
            i += det.used_
            if det.complete and self.current < len(self.sets) - 1:
                self.current += 1
        return events

    def finish(self) -> list[ExerciseEvent]:
        return self.detector.finish()

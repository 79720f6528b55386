"""Device clock to host clock, with drift correction.

Each SAMPLES frame gives a pair (device time of its newest sample, host arrival time). The
arrival is the device time plus an offset plus a delay that is never negative (batching,
connection interval, queueing, OS scheduling). The lower envelope of ``host - device`` is the
offset with the least delay, so per window of ``window_s`` device seconds the minimum is kept,
and a least-squares line through the last ``windows`` minima gives offset and drift. Frames
that arrive late (a backlog after a reconnect, resent samples) never pull the line up.
"""

from __future__ import annotations

from collections import deque

import numpy as np
import numpy.typing as npt


class ClockMap:
    def __init__(self, window_s: float = 2.0, windows: int = 60) -> None:
        self.window_s = window_s
        self._minima: deque[tuple[float, float]] = deque(maxlen=windows)  # (device, offset)
        self._window: int | None = None
        self._offset_s = 0.0
        self._slope = 0.0
        self._t_ref_s = 0.0

    @property
    def ready(self) -> bool:
        return bool(self._minima)

    @property
    def drift_ppm(self) -> float:
        """How much faster the host clock runs than the device clock, in parts per million."""
        return self._slope * 1e6

    def reset(self) -> None:
        self._minima.clear()
        self._window = None

    def add(self, t_device_s: float, t_host_s: float) -> None:
        offset = t_host_s - t_device_s
        window = int(t_device_s // self.window_s)
        if self._minima and window == self._window:
            if offset < self._minima[-1][1]:
                self._minima[-1] = (t_device_s, offset)
                self._fit()
        elif self._window is None or window > self._window:
            self._window = window
            self._minima.append((t_device_s, offset))
            self._fit()

    def _fit(self) -> None:
        d = np.array([m[0] for m in self._minima])
        o = np.array([m[1] for m in self._minima])
        self._t_ref_s = float(d[-1])
        if len(d) >= 3 and d[-1] - d[0] > 0:
            slope, intercept = np.polyfit(d - self._t_ref_s, o, 1)
            self._slope, self._offset_s = float(slope), float(intercept)
        else:
            self._slope, self._offset_s = 0.0, float(o.min())

    def to_host(self, t_device_s: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """Host times (``time.monotonic()`` scale) of device times; NaN before the first pair."""
        if not self._minima:
            return np.full_like(t_device_s, np.nan)
        return t_device_s + self._offset_s + self._slope * (t_device_s - self._t_ref_s)

"""The board's ``time`` in lockstep mode (virtual board only; docs/virtual-board.md "Time").

First on the module path when ``HIPSENSE_SIM_CLOCK=lockstep``: it shadows the built-in
``time`` (an extensible built-in), so the unmodified firmware's ``ticks_ms``/``ticks_us`` read
the simulation clock (:mod:`_simclock`) and its ``sleep_ms``/``sleep_us``/``sleep`` are where
simulated time passes, as far as the host has granted. Tick values wrap at the built-in's
period, and ``ticks_add``/``ticks_diff`` are the built-in's own.
"""

import sys

# The built-in module: look it up with an empty path (this file is not found there).
_self = sys.modules["time"]
_saved_path = sys.path[:]
del sys.path[:]
del sys.modules["time"]
import time as _rt  # noqa: E402  # the built-in, found with the path empty

sys.path.extend(_saved_path)
sys.modules["time"] = _rt  # _simclock keeps the built-in (its wall mode reads it)
import _simclock  # noqa: E402  # pyright: ignore[reportMissingImports]

sys.modules["time"] = _self

ticks_add = _rt.ticks_add
ticks_diff = _rt.ticks_diff
time = _rt.time
localtime = getattr(_rt, "localtime", None)
gmtime = getattr(_rt, "gmtime", None)
mktime = getattr(_rt, "mktime", None)
time_ns = getattr(_rt, "time_ns", None)
# the tick period minus one (2**30 - 1 on a 32-bit port)
_MASK = _rt.ticks_add(0, -1)  # pyright: ignore[reportArgumentType]


def ticks_us():
    return _simclock.now_us() & _MASK


def ticks_ms():
    return (_simclock.now_us() // 1000) & _MASK


def ticks_cpu():
    return ticks_us()


def sleep_us(us):
    _simclock.sleep_us(us)


def sleep_ms(ms):
    _simclock.sleep_us(int(ms) * 1000)


def sleep(seconds):
    _simclock.sleep_us(int(seconds * 1000000))

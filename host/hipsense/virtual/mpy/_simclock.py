"""Simulation clock shared by the simulated chips, timers and watchdog (virtual board only).

Real time (``time.ticks_us``) times a speed factor (env ``HIPSENSE_SIM_SPEED``, default 1.0),
accumulated in small steps so that the 30-bit tick counter may wrap any number of times.
The clock is kept in whole microseconds (an int): on a float32 build (the ESP32-like port)
a float sum of small steps would lose them once the clock passes a few seconds.
In manual mode the clock stands still and only moves when a test advances it.
The ``time`` module itself is never replaced (the frozen asyncio needs the real one).
"""

import os
import time

_speed = 1.0
_env = os.getenv("HIPSENSE_SIM_SPEED")
if _env:
    _speed = float(_env)
_manual = False
_last_us = time.ticks_us()
_now_us = 0  # simulated time since start, whole microseconds
_frac_us = 0.0  # the part of a microsecond a speed other than 1 left over


def now_us():
    """Microseconds of simulated time since start (int)."""
    global _last_us, _now_us, _frac_us
    if _manual:
        return _now_us
    t = time.ticks_us()
    d = time.ticks_diff(t, _last_us)
    if d > 0:
        _last_us = t
        if _speed == 1.0:
            _now_us += d
        else:
            x = d * _speed + _frac_us
            i = int(x)
            _frac_us = x - i
            _now_us += i
    return _now_us


def now_s():
    """Seconds of simulated time since start (float)."""
    return now_us() / 1000000


def set_speed(speed):
    global _speed
    now_s()
    _speed = float(speed)


def speed():
    return _speed


def set_manual(on):
    """Manual mode: the clock only moves with :func:`advance_s` (deterministic tests)."""
    global _manual, _last_us
    now_s()
    _manual = bool(on)
    _last_us = time.ticks_us()


def manual():
    return _manual


def advance_s(dt_s):
    """Move the manual clock forward by ``dt_s`` seconds."""
    advance_us(int(dt_s * 1000000 + 0.5))


def advance_us(dt_us):
    """Move the manual clock forward by ``dt_us`` whole microseconds."""
    global _now_us
    _now_us += dt_us

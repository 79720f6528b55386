"""Simulation clock shared by the simulated chips, timers and watchdog (virtual board only).

Real time (``time.ticks_us``) times a speed factor (env ``HIPSENSE_SIM_SPEED``, default 1.0),
accumulated in small steps so that the 30-bit tick counter may wrap any number of times.
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
_now_s = 0.0


def now_s():
    """Seconds of simulated time since start (float)."""
    global _last_us, _now_s
    if _manual:
        return _now_s
    t = time.ticks_us()
    d = time.ticks_diff(t, _last_us)
    if d > 0:
        _last_us = t
        _now_s += d * _speed * 1e-6
    return _now_s


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
    global _now_s
    _now_s += dt_s

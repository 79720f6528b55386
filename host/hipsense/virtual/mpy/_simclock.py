"""Simulation clock shared by the simulated chips, timers and watchdog (virtual board only).

Three modes (docs/virtual-board.md "Time"):

- **wall** (default): real time (``time.ticks_us``) times a speed factor (env
  ``HIPSENSE_SIM_SPEED``, default 1.0), accumulated in small steps so that the 30-bit tick
  counter may wrap any number of times;
- **lockstep** (env ``HIPSENSE_SIM_CLOCK=lockstep``): the board's whole clock, ``time``
  included (``lockstep/time.py`` shadows the built-in), moves only when the firmware sleeps
  (:func:`sleep_us`) or a bus transfer takes its time (:func:`charge_us`), and never past the
  time the host has granted (the ``_wait`` hook of the simulated radio): the simulation
  advances with the test, not with the load of the machine;
- **manual** (``set_manual``): the clock stands still and only moves when a test advances it.

The clock is kept in whole microseconds (an int): on a float32 build (the ESP32-like port)
a float sum of small steps would lose them once the clock passes a few seconds.
The frozen ``asyncio`` keeps the real ``time`` in wall mode; the firmware does not use it.
"""

import os
import time

time = getattr(time, "_rt", time)  # lockstep: the built-in behind the board's shadow ``time``

_speed = 1.0
_env = os.getenv("HIPSENSE_SIM_SPEED")
if _env:
    _speed = float(_env)
_lockstep = os.getenv("HIPSENSE_SIM_CLOCK") == "lockstep"
_manual = False
_last_us = time.ticks_us()
_now_us = 0  # simulated time since start, whole microseconds
_frac_us = 0.0  # the part of a microsecond a speed other than 1 left over
# Lockstep hooks, set by the simulated radio once it talks to the host: ``_wait(target_us)``
# blocks until the host granted that much simulated time; ``_services`` run after each sleep
# (the radio's link and IRQ delivery: what its ticker thread does in wall mode).
_wait = None
_services = []


def now_us():
    """Microseconds of simulated time since start (int)."""
    global _last_us, _now_us, _frac_us
    if _manual or _lockstep:
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


def lockstep():
    """True when the clock moves only with the board's sleeps, as far as the host granted."""
    return _lockstep


def sleep_us(dt_us):
    """Lockstep: the board idles ``dt_us`` of simulated time (``time.sleep_*``): wait for the
    host's grant, move the clock, then service the radio."""
    global _now_us
    target = _now_us + max(0, int(dt_us))
    wait = _wait
    if wait is not None:
        wait(target)
    if target > _now_us:
        _now_us = target
    for service in _services:
        service()


def charge_us(dt_us):
    """Lockstep: a busy wait of the hardware (an I2C transfer) takes ``dt_us`` of simulated
    time; no wait for the host (the next sleep catches up)."""
    global _now_us
    _now_us += max(0, int(dt_us))


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

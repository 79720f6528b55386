"""Test-control API of the virtual board: NOT part of the real ``machine`` API.

Tests and the virtual-board runner use it to choose what sits on the simulated I2C buses, what
the IMU models measure (sample source), the clock (speed, manual stepping), injected I2C faults,
pin levels, ADC voltages, and to observe timers and the watchdog. Firmware never imports it.

Environment (read once, at first use):
- ``HIPSENSE_SIM_IMU``: chips on I2C bus 0, comma-separated ``kind[@addr]`` (``mpu6886``,
  ``icm42688p@0x69``, ``none``). Default: ``imu.expected`` and the first address of
  ``board.json`` in the working directory, else ``mpu6886@0x68``.
- ``HIPSENSE_SIM_SOURCE``: path of an ``HSIM`` sample-source file fed to every chip.
- ``HIPSENSE_SIM_SPEED``: simulation speed factor (see :mod:`_simclock`).
"""

import errno
import os
import time

import _simchips
import _simclock
import _simsource

RESET_EXIT_STATUS = 17  # process exit status of machine.reset() / a watchdog reset
SOFT_RESET_EXIT_STATUS = 18
DEFAULT_ADC_MV = 1950  # about 3.9 V behind a 1:2 divider: a healthy LiPo
_DEFAULT_ADDR = {"lsm6ds3": 0x6A, "lsm6dsox": 0x6A}

_buses = {}
_populated = False
_tx = 0
_fail_next = 0
_fail_errno = errno.ETIMEDOUT
_fail_addr = -1
_absent = {}
_p_fail = 0.0
_rng = 1
_p_errno = errno.EIO
_faults = 0
pins = {}  # pin id -> [mode, level, pull, driven from outside]
pin_irqs = {}  # pin id -> (Pin, handler, trigger)
pin_holds = {}  # pin id -> level latched by Pin(..., hold=True) (ESP32 gpio_hold_en)
_adc_mv = {}
timers = []
_wdt = None
hang = False  # test control: the next machine call never returns (a stuck bus)
stall_until_us = 0  # test control: the next machine call returns at this simulated time (µs)
wdt_action = "reset"  # or "record": count expiries in wdt_expiries instead of resetting
wdt_expiries = 0
timer_overruns = 0


# ---- I2C bus population ------------------------------------------------------------------
def _parse_spec(spec):
    for part in spec.split(","):
        part = part.strip().lower()
        if not part or part == "none":
            continue
        if "@" in part:
            kind, addr = part.split("@")
            add_chip(kind, int(addr, 0))
        else:
            add_chip(part)


def _populate():
    global _populated
    if _populated:
        return
    _populated = True
    spec = os.getenv("HIPSENSE_SIM_IMU")
    if spec is None:
        spec = "mpu6886@0x68"
        try:
            import json

            with open("board.json") as f:
                prof = json.load(f)
            kind = prof["imu"]["expected"]
            if kind in _simchips.MODELS:
                spec = "%s@%d" % (kind, prof["imu"]["addresses"][0])
        except (OSError, ValueError, KeyError, TypeError, IndexError):
            pass
    _parse_spec(spec)
    path = os.getenv("HIPSENSE_SIM_SOURCE")
    if path:
        set_source(_simsource.FileSource(path))


def bus(bus_id=0):
    """The ``{addr: chip}`` dict of simulated I2C bus ``bus_id``."""
    _populate()
    b = _buses.get(bus_id)
    if b is None:
        b = _buses[bus_id] = {}
    return b


def clear_bus(bus_id=0):
    """Remove every device from a bus (and skip the default population)."""
    global _populated
    _populated = True
    _buses[bus_id] = {}


def add_chip(kind, addr=None, bus_id=0):
    """Put a chip model (``mpu6050 mpu6500 mpu6886 icm42688p lsm6ds3 lsm6dsox``) on a bus."""
    global _populated
    _populated = True
    cls = _simchips.model(kind)
    if addr is None:
        addr = _DEFAULT_ADDR.get(kind, 0x68)
    chip = cls(addr)
    b = _buses.get(bus_id)
    if b is None:
        b = _buses[bus_id] = {}
    b[addr] = chip
    return chip


def chip(addr=None, bus_id=0):
    """The chip model at ``addr`` (or the only/first one on the bus)."""
    b = bus(bus_id)
    if addr is None:
        for a in sorted(b):
            return b[a]
        raise ValueError("no chip on simulated I2C bus %d" % bus_id)
    return b[addr]


def set_source(source, addr=None, bus_id=0):
    """Feed ``source`` to one chip, or to every chip on the bus when ``addr`` is None."""
    b = bus(bus_id)
    for a in b:
        if addr is None or a == addr:
            b[a].set_source(source)


def set_arrays(rate_hz, flat, addr=None, bus_id=0, loop=False):
    """Feed a flat list ``[ax, ay, az, gx, gy, gz, ...]`` (m/s², deg/s) at ``rate_hz``."""
    set_source(_simsource.Arrays(rate_hz, flat, loop), addr, bus_id)


def set_clock_error(err, addr=None, bus_id=0):
    """Relative ODR error of the chips' oscillators (e.g. 0.002 = +0.2 %)."""
    b = bus(bus_id)
    for a in b:
        if addr is None or a == addr:
            b[a].clock_error = float(err)


# ---- clock ------------------------------------------------------------------------------
def set_manual(on=True):
    """Manual mode: chips produce samples only through :func:`advance`."""
    _simclock.set_manual(on)


def set_speed(speed):
    _simclock.set_speed(speed)


def advance(n, addr=None, bus_id=0):
    """Manual mode: every chip (or the one at ``addr``) produces ``n`` samples now."""
    b = bus(bus_id)
    for a in b:
        if addr is None or a == addr:
            b[a].advance(n)


def advance_ms(ms):
    """Manual mode: move the timer/watchdog clock by ``ms`` and run what falls due."""
    _simclock.advance_us(int(ms * 1000))
    service()


# ---- fault injection --------------------------------------------------------------------
def fail_next(n, err=errno.ETIMEDOUT, addr=None):
    """Fail the next ``n`` I2C transactions (to ``addr`` or any) with ``OSError(err)``."""
    global _fail_next, _fail_errno, _fail_addr
    _fail_next = n
    _fail_errno = err
    _fail_addr = -1 if addr is None else addr


def set_absent(addr, absent=True, bus_id=0):
    """A device that does not acknowledge: ``OSError(ENODEV)``, as the ESP32 port raises."""
    _absent[(bus_id, addr)] = absent


def fail_random(p, seed=1, err=errno.EIO):
    """Fail each transaction with probability ``p`` (deterministic for a given seed)."""
    global _p_fail, _rng, _p_errno
    _p_fail = p
    _rng = (seed & 0x7FFFFFFF) or 1
    _p_errno = err


def faults_injected():
    return _faults


def transactions():
    return _tx


def check(bus_id, addr):
    """Called by ``machine.I2C`` at the start of each transaction; returns the device."""
    global _tx, _fail_next, _faults, _rng
    _tx += 1
    if timers or _wdt is not None:
        service()
    if _fail_next > 0 and (_fail_addr < 0 or _fail_addr == addr):
        _fail_next -= 1
        _faults += 1
        raise OSError(_fail_errno)
    if _p_fail > 0.0:
        _rng = (_rng * 1103515245 + 12345) & 0x7FFFFFFF
        if _rng < _p_fail * 0x7FFFFFFF:
            _faults += 1
            raise OSError(_p_errno)
    dev = bus(bus_id).get(addr)
    if dev is None or (_absent and _absent.get((bus_id, addr))):
        raise OSError(errno.ENODEV)  # address NACK on the ESP32 port
    dev.pump()
    return dev


# ---- pins and ADC -------------------------------------------------------------------------
def pin_state(pin_id):
    st = pins.get(pin_id)
    if st is None:
        st = pins[pin_id] = [-1, 0, -1, False]
    return st


def pin_level(pin_id):
    """The level of a pin (what an output drives, or what an input sees)."""
    return pin_state(pin_id)[1]


def set_pin(pin_id, level):
    """Drive an input from outside (a button); runs the pin's IRQ handler on a matching edge."""
    st = pin_state(pin_id)
    old = st[1]
    st[1] = 1 if level else 0
    st[3] = True
    irq = pin_irqs.get(pin_id)
    if irq is not None and old != st[1]:
        pin, handler, trigger = irq
        if (st[1] and trigger & 1) or (not st[1] and trigger & 2):
            handler(pin)


def set_adc_mv(pin_id, mv):
    """Voltage at an ADC pin, in mV (after the board's divider)."""
    _adc_mv[pin_id] = mv


def adc_mv(pin_id):
    return _adc_mv.get(pin_id, DEFAULT_ADC_MV)


# ---- timers and watchdog ------------------------------------------------------------------
def service():
    """Run due timer callbacks (through ``micropython.schedule``) and check the watchdog.

    Called from the simulated ``machine`` functions (I2C, ADC, idle, WDT.feed) and by
    :func:`advance_ms`: on the virtual board, timers and the watchdog only advance there.
    """
    global timer_overruns, wdt_expiries
    if _reset_why is not None:  # a reset asked for inside a scheduled callback
        raise SystemExit(RESET_EXIT_STATUS)
    global stall_until_us
    # the main program is stuck here (for good, or until stall_until_us); timers still fire
    while hang or (stall_until_us > 0 and _simclock.now_us() < stall_until_us):
        _fire_timers(_simclock.now_us())
        time.sleep_ms(5)
        if _reset_why is not None:
            raise SystemExit(RESET_EXIT_STATUS)
    stall_until_us = 0
    if not timers and _wdt is None:
        return
    now_us = _simclock.now_us()
    _fire_timers(now_us)
    if _wdt is not None and now_us - _wdt.fed_us > _wdt.timeout_ms * 1000:
        wdt_expiries += 1
        _wdt.fed_us = now_us
        if wdt_action == "reset":
            hard_reset("watchdog timeout")


def _fire_timers(now_us):
    for t in timers:
        if t.due_us is not None and now_us >= t.due_us:
            t.fire(now_us)


def register_wdt(wdt):
    global _wdt
    _wdt = wdt


def wdt_status():
    """``(running, timeout_ms, ms_since_feed, expiries)`` of the watchdog."""
    if _wdt is None:
        return (False, 0, 0, wdt_expiries)
    return (True, _wdt.timeout_ms, (_simclock.now_us() - _wdt.fed_us) // 1000, wdt_expiries)


_reset_why = None


def hard_reset(why):
    """End the process like a reset ends the firmware. Inside a ``micropython.schedule``
    callback (timers) the scheduler swallows the ``SystemExit``, so the reset is also
    remembered and the next ``machine`` call of the main program ends the process."""
    import sys

    global _reset_why
    _reset_why = why
    sys.stderr.write("virtual board: reset (%s)\n" % why)
    raise SystemExit(RESET_EXIT_STATUS)

"""Simulated ``machine`` module for the MicroPython unix port (the virtual board).

Placed first on the module path it replaces the built-in ``machine``, so the unmodified
firmware runs against it. It mimics the ESP32 port's API and error behaviour:
``I2C``/``SoftI2C`` on simulated buses with register-level IMU models (:mod:`_simchips`),
``Pin``, ``ADC``, ``Timer``, ``WDT``, ``reset``, ``soft_reset``, ``unique_id``, ``freq``.
I2C errors are ``OSError(code)``: ``ENODEV`` (19) for an address NACK, ``ETIMEDOUT`` (110)
for a bus timeout, or whatever code a test injects (the real port passes other ESP-IDF error
codes through, e.g. 259). The test-control API is :mod:`_vboard`.
"""

import os
import time

import _simclock
import _vboard

PWRON_RESET = 1
HARD_RESET = 2
WDT_RESET = 3
DEEPSLEEP_RESET = 4
SOFT_RESET = 5
PIN_WAKE = 2
EXT0_WAKE = 2
EXT1_WAKE = 3
TIMER_WAKE = 4
TOUCHPAD_WAKE = 5
ULP_WAKE = 6
SLEEP = 2
DEEPSLEEP = 4

_freq_hz = 160000000
_uid = os.getenv("HIPSENSE_SIM_UID") or "240ac4a1b2c3"


def unique_id():
    """6 bytes (the ESP32's base MAC); ``HIPSENSE_SIM_UID`` (12 hex digits) overrides it."""
    return bytes(int(_uid[i : i + 2], 16) for i in range(0, 12, 2))


def freq(hz=None):
    global _freq_hz
    if hz is None:
        return _freq_hz
    if hz not in (20000000, 40000000, 80000000, 160000000, 240000000):
        raise ValueError("frequency must be 20MHz, 40MHz, 80Mhz, 160MHz or 240MHz")
    _freq_hz = hz


def reset():
    """Hard reset: ends the process with ``_vboard.RESET_EXIT_STATUS`` (17)."""
    _vboard.hard_reset("machine.reset()")


def soft_reset():
    """Soft reset: ends the process with ``_vboard.SOFT_RESET_EXIT_STATUS`` (18)."""
    raise SystemExit(_vboard.SOFT_RESET_EXIT_STATUS)


def reset_cause():
    cause = os.getenv("HIPSENSE_SIM_RESET_CAUSE")
    return int(cause) if cause else PWRON_RESET


def wake_reason():
    return 0


def idle():
    _vboard.service()


def lightsleep(time_ms=None):
    if time_ms:
        time.sleep_ms(time_ms)
    _vboard.service()


def deepsleep(time_ms=None):
    _vboard.hard_reset("deepsleep")


def disable_irq():
    return 0


def enable_irq(state=0):
    pass


def _pin_id(p):
    return p.id if isinstance(p, Pin) else p


class Pin:
    IN = 1
    OUT = 3
    OPEN_DRAIN = 7
    PULL_UP = 2
    PULL_DOWN = 1
    PULL_HOLD = 4
    IRQ_RISING = 1
    IRQ_FALLING = 2
    WAKE_LOW = 4
    WAKE_HIGH = 5
    DRIVE_0 = 0
    DRIVE_1 = 1
    DRIVE_2 = 2
    DRIVE_3 = 3

    def __init__(self, id, mode=-1, pull=-1, *, value=None, drive=-1, hold=False):
        self.id = id
        self._st = _vboard.pin_state(id)
        self.init(mode, pull, value=value, hold=hold)

    def init(self, mode=-1, pull=-1, *, value=None, drive=-1, hold=False):
        """Inputs nobody drives (``_vboard.set_pin``) idle high unless pulled down."""
        st = self._st
        if pull != -1:
            st[2] = pull
        if mode != -1:
            st[0] = mode
            if mode == Pin.IN and not st[3]:
                st[1] = 0 if st[2] == Pin.PULL_DOWN else 1
        if value is not None and self.id not in _vboard.pin_holds:
            st[1] = 1 if value else 0
        if hold:  # gpio_hold_en: the pad keeps its level through resets; writes are ignored
            _vboard.pin_holds[self.id] = st[1]

    def value(self, x=None):
        st = self._st
        if x is None:
            return st[1]
        if self.id not in _vboard.pin_holds:
            st[1] = 1 if x else 0
        return None

    def __call__(self, x=None):
        return self.value(x)

    def on(self):
        self._st[1] = 1

    def off(self):
        self._st[1] = 0

    def toggle(self):
        self._st[1] ^= 1

    def mode(self, mode=None):
        if mode is None:
            return self._st[0]
        self._st[0] = mode
        return None

    def pull(self, pull=None):
        if pull is None:
            return self._st[2]
        self._st[2] = pull
        return None

    def irq(self, handler=None, trigger=3, *, priority=1, wake=None, hard=False):
        if handler is None:
            _vboard.pin_irqs.pop(self.id, None)
        else:
            _vboard.pin_irqs[self.id] = (self, handler, trigger)
        return None

    def __repr__(self):
        return "Pin(%s)" % self.id


def _bus_time(freq, nbytes):
    """Block like the ESP32's I2C driver does for a register read: 9 clocks per byte for the
    data, the device address twice and the register (real-time mode; manual mode is instant)."""
    us = (nbytes + 3) * 9000000 // freq
    if _simclock.lockstep():  # the transfer takes its time on the simulated clock
        _simclock.charge_us(us)
        return
    speed = _simclock.speed()
    time.sleep_us(int(us / speed) if speed != 1.0 else us)


class I2C:
    """Hardware I2C on a simulated bus; devices are chip models from ``_vboard``."""

    def __init__(self, id=0, *, scl=None, sda=None, freq=400000, timeout=50000):
        self.id = id
        self.freq = freq
        self.timeout = timeout
        self._ptr = {}
        self._bus = _vboard.bus(id)

    def init(self, *, scl=None, sda=None, freq=400000):
        self.freq = freq

    def deinit(self):
        pass

    def scan(self):
        found = []
        for addr in sorted(self._bus):
            try:
                _vboard.check(self.id, addr)
            except OSError:
                continue
            found.append(addr)
        return found

    def readfrom_mem_into(self, addr, memaddr, buf, *, addrsize=8):
        # Index loop only: this runs inside heap_lock in the allocation tests.
        dev = _vboard.check(self.id, addr)
        reg = memaddr
        for i in range(len(buf)):
            buf[i] = dev.read(reg)
            reg = dev.next_reg(reg)
        if not _simclock.manual():
            _bus_time(self.freq, len(buf))

    def readfrom_mem(self, addr, memaddr, nbytes, *, addrsize=8):
        buf = bytearray(nbytes)
        self.readfrom_mem_into(addr, memaddr, buf)
        return bytes(buf)

    def writeto_mem(self, addr, memaddr, buf, *, addrsize=8):
        dev = _vboard.check(self.id, addr)
        reg = memaddr
        for i in range(len(buf)):
            dev.write(reg, buf[i])
            reg = dev.next_reg(reg)

    def writeto(self, addr, buf, stop=True):
        """First byte sets the register pointer, the rest are written from there."""
        dev = _vboard.check(self.id, addr)
        if len(buf):
            reg = buf[0]
            for i in range(1, len(buf)):
                dev.write(reg, buf[i])
                reg = dev.next_reg(reg)
            self._ptr[addr] = buf[0] if len(buf) == 1 else reg
        return len(buf)

    def writevto(self, addr, vector, stop=True):
        data = bytearray()
        for part in vector:
            data.extend(part)
        return self.writeto(addr, data, stop)

    def readfrom_into(self, addr, buf, stop=True):
        dev = _vboard.check(self.id, addr)
        reg = self._ptr.get(addr, 0)
        for i in range(len(buf)):
            buf[i] = dev.read(reg)
            reg = dev.next_reg(reg)
        self._ptr[addr] = reg

    def readfrom(self, addr, nbytes, stop=True):
        buf = bytearray(nbytes)
        self.readfrom_into(addr, buf, stop)
        return bytes(buf)


class SoftI2C(I2C):
    """Bit-banged I2C on any pins: on the virtual board it reaches the devices of bus 0."""

    def __init__(self, scl=None, sda=None, *, freq=400000, timeout=50000):
        I2C.__init__(self, 0, scl=scl, sda=sda, freq=freq, timeout=timeout)


# ADC full-scale voltage per attenuation (ESP32 recommended ranges, MicroPython quickref)
_ADC_FULL_MV = (950, 1250, 1750, 2450)


class ADC:
    ATTN_0DB = 0
    ATTN_2_5DB = 1
    ATTN_6DB = 2
    ATTN_11DB = 3
    WIDTH_9BIT = 9
    WIDTH_10BIT = 10
    WIDTH_11BIT = 11
    WIDTH_12BIT = 12

    def __init__(self, pin, *, atten=0):
        self.pin = _pin_id(pin)
        self._atten = atten
        self._bits = 12

    def init(self, *, sample_ns=0, atten=None):
        if atten is not None:
            self._atten = atten

    def atten(self, atten):
        self._atten = atten

    def width(self, bits):
        self._bits = bits

    def _mv(self):
        _vboard.service()
        mv = _vboard.adc_mv(self.pin)
        full = _ADC_FULL_MV[self._atten]
        return 0 if mv < 0 else (full if mv > full else mv)

    def read_uv(self):
        return int(self._mv() * 1000)

    def read_u16(self):
        return int(self._mv() * 65535 // _ADC_FULL_MV[self._atten])

    def read(self):
        return int(self._mv() * ((1 << self._bits) - 1) // _ADC_FULL_MV[self._atten])


class Timer:
    """Periodic / one-shot timer. Callbacks are queued with ``micropython.schedule`` when the
    simulation services timers (any ``machine`` call, ``idle()``, ``_vboard.advance_ms``)."""

    ONE_SHOT = 0
    PERIODIC = 1

    def __init__(self, id, *, mode=PERIODIC, period=-1, freq=-1, callback=None, hard=None):
        if not 0 <= id <= 3:  # the ESP32's four hardware timers; no virtual ones (-1) since 1.26
            raise ValueError("id must be from 0 to 3")
        self.id = id
        self.due_us = None  # whole microseconds: float32 sums of periods drift (ESP32-like port)
        self.callback = None
        self.period_us = 0
        self.mode = Timer.PERIODIC
        if period != -1 or freq != -1:
            self.init(mode=mode, period=period, freq=freq, callback=callback)

    def init(self, *, mode=PERIODIC, period=-1, freq=-1, tick_hz=1000, callback=None, hard=None):
        if freq != -1:
            self.period_us = max(1, round(1000000 / freq))
        elif period != -1:
            self.period_us = max(1, period * 1000000 // tick_hz)
        else:
            raise ValueError("Timer.init needs period= or freq=")
        self.mode = mode
        self.callback = callback
        self.due_us = _simclock.now_us() + self.period_us
        if self not in _vboard.timers:
            _vboard.timers.append(self)

    def deinit(self):
        self.due_us = None
        if self in _vboard.timers:
            _vboard.timers.remove(self)

    def fire(self, now_us):
        if self.mode == Timer.PERIODIC and self.due_us is not None:
            self.due_us += self.period_us
            if self.due_us <= now_us:  # missed periods are not replayed
                self.due_us = now_us + self.period_us
        else:
            self.due_us = None
        cb = self.callback
        if cb is not None:
            import micropython

            try:
                micropython.schedule(cb, self)
            except RuntimeError:  # schedule queue full
                _vboard.timer_overruns += 1


class WDT:
    """Watchdog: a missed ``feed()`` is noticed at the next serviced ``machine`` call and then
    resets the board (``_vboard.wdt_action = "record"`` only counts it)."""

    def __init__(self, *, id=0, timeout=5000):
        self.timeout_ms = timeout
        self.fed_us = _simclock.now_us()
        _vboard.register_wdt(self)

    def feed(self):
        _vboard.service()
        self.fed_us = _simclock.now_us()

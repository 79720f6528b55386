"""Board profile: pins, I2C bus, button, LED and battery of the build, from ``board.json``.

``board.json`` (a copy of ``hardware/boards/<build>.json``, schema 1) sits in the flash root.
``open_board()`` never raises: with the file missing or invalid it falls back to a generic
ESP32 profile (I2C0 on SCL 22 / SDA 21, every IMU address, no LED, button or battery) and says
why in ``Board.error`` for the status report. ``load_profile()`` raises
:class:`BoardProfileError` with a message saying what to fix.
"""

import json
import time

import machine
from micropython import const

_PROFILE_PATH = const("board.json")
SCHEMA = const(1)
GENERIC = {
    "schema": 1,
    "name": "generic-esp32",
    "title": "Generic ESP32 (no board.json)",
    "mcu": "esp32",
    "i2c": {"id": 0, "scl": 22, "sda": 21, "freq_hz": 400000},
    "imu": {"addresses": [0x68, 0x69, 0x6A, 0x6B], "expected": None},
    "button": None,
    "led": None,
    "battery": None,
    "power_hold": None,
}
_BATTERY_READS = const(8)
_DEBOUNCE_MS = const(50)  # an edge this soon after the previous one is contact bounce


class BoardProfileError(ValueError):
    pass


def _need(d, key, kind, where):
    if not isinstance(d, dict) or key not in d:
        raise BoardProfileError("board profile: %s.%s is missing" % (where, key))
    v = d[key]
    if kind is not None and not isinstance(v, kind):
        raise BoardProfileError("board profile: %s.%s has the wrong type" % (where, key))
    return v


def validate(prof):
    """Check the fields the firmware uses; returns ``prof`` or raises BoardProfileError."""
    if not isinstance(prof, dict):
        raise BoardProfileError("board profile: top level must be a JSON object")
    schema = prof.get("schema")
    if schema != SCHEMA:
        raise BoardProfileError("board profile: schema %r is not supported (need 1)" % (schema,))
    _need(prof, "name", str, "profile")
    i2c = _need(prof, "i2c", dict, "profile")
    for k in ("id", "scl", "sda", "freq_hz"):
        _need(i2c, k, int, "i2c")
    imu = _need(prof, "imu", dict, "profile")
    addrs = _need(imu, "addresses", list, "imu")
    if not addrs or not all(isinstance(a, int) and 0 < a < 128 for a in addrs):
        raise BoardProfileError("board profile: imu.addresses must list 7-bit I2C addresses")
    for part in ("button", "led", "power_hold"):
        v = prof.get(part)
        if v is not None:
            _need(v, "pin", int, part)
    return prof


def load_profile(path=_PROFILE_PATH):
    """Read and validate the board profile JSON at ``path``."""
    try:
        with open(path) as f:
            prof = json.load(f)
    except OSError:
        raise BoardProfileError(
            "%s not found: copy hardware/boards/<build>.json to the board as %s" % (path, path)
        ) from None
    except ValueError as e:
        raise BoardProfileError("%s is not valid JSON (%s): copy it again" % (path, e)) from None
    return validate(prof)


class Board:
    """The build's hardware, created from a validated profile.

    ``i2c`` (machine.I2C), ``imu_addresses``, ``expected_imu``, ``led(on)``,
    ``button_pressed()``, ``battery_mv()`` / ``battery_pct()`` (-1 when unknown).
    """

    def __init__(self, prof, error=None):
        # only what is read after boot stays resident (docs/firmware.md "Memory budget")
        self.profile = {
            k: prof.get(k) for k in ("name", "led", "button", "battery", "memory", "power_hold")
        }
        self.name = prof["name"]
        self.title = prof.get("title", self.name)
        self.error = error
        hold = prof.get("power_hold")
        if hold:  # boot.py held it already; again here for a board without that boot.py
            self._hold = machine.Pin(  # ESP32 port: hold= latches the pad (gpio_hold_en)
                hold["pin"],
                machine.Pin.OUT,
                value=hold.get("value", 1),
                hold=True,  # pyright: ignore[reportCallIssue]  (missing in the stubs)
            )
        c = prof["i2c"]
        self.i2c = machine.I2C(
            c["id"], scl=machine.Pin(c["scl"]), sda=machine.Pin(c["sda"]), freq=c["freq_hz"]
        )
        self.imu_addresses = tuple(prof["imu"]["addresses"])
        self.expected_imu = prof["imu"].get("expected")
        self._led = None
        self._led_active_low = False
        led = prof.get("led")
        if led:
            self._led_active_low = bool(led.get("active_low", False))
            self._led = machine.Pin(led["pin"], machine.Pin.OUT)
            self.led(False)
        self._button = None
        self._button_active_low = True
        btn = prof.get("button")
        if btn:
            self._button_active_low = bool(btn.get("active_low", True))
            # no internal pull: GPIO34-39 have none; the reference boards pull up externally
            self._button = machine.Pin(btn["pin"], machine.Pin.IN)
        self._on_press = None
        self._edge_ms = 0
        self._adc = None
        bat = prof.get("battery")
        if isinstance(bat, dict) and isinstance(bat.get("adc_pin"), int):
            self._divider = float(bat.get("divider", 1.0))
            self._full_mv = int(bat.get("full_mv", 4150))
            self._empty_mv = int(bat.get("empty_mv", 3300))
            self._adc = machine.ADC(machine.Pin(bat["adc_pin"]), atten=machine.ADC.ATTN_11DB)

    @property
    def has_led(self):
        return self._led is not None

    @property
    def has_button(self):
        return self._button is not None

    @property
    def has_battery(self):
        return self._adc is not None

    def led(self, on):
        if self._led is not None:
            self._led.value((not on) if self._led_active_low else bool(on))

    def button_pressed(self):
        if self._button is None:
            return False
        v = self._button.value()
        return v == 0 if self._button_active_low else v == 1

    def on_press(self, callback):
        """Call ``callback()`` once per button press, from the pin's IRQ (both edges): a press
        is an edge to "pressed" after at least 50 ms without any edge, so the contact bounce
        of both the press and the release is ignored."""
        if self._button is None:
            return
        self._on_press = callback
        self._edge_ms = time.ticks_add(time.ticks_ms(), -_DEBOUNCE_MS)
        self._button.irq(
            handler=self._button_irq, trigger=machine.Pin.IRQ_FALLING | machine.Pin.IRQ_RISING
        )

    def _button_irq(self, _pin):
        now = time.ticks_ms()
        quiet = time.ticks_diff(now, self._edge_ms) >= _DEBOUNCE_MS
        self._edge_ms = now
        if quiet and self.button_pressed() and self._on_press is not None:
            self._on_press()

    def battery_mv(self):
        """Battery voltage in mV (mean of 8 calibrated ADC reads x divider), -1 if unknown."""
        if self._adc is None:
            return -1
        uv = 0
        for _ in range(_BATTERY_READS):
            uv += self._adc.read_uv()
        return int(uv * self._divider / (1000 * _BATTERY_READS) + 0.5)

    def battery_pct(self, mv=None):
        """Charge estimate 0..100 %, linear between empty_mv and full_mv; -1 if unknown."""
        if mv is None:
            mv = self.battery_mv()
        if mv < 0:
            return -1
        span = self._full_mv - self._empty_mv
        pct = (mv - self._empty_mv) * 100 // span
        return 0 if pct < 0 else (100 if pct > 100 else pct)


def open_board(path=_PROFILE_PATH):
    """The board from ``path``, or the generic fallback with ``error`` set (never raises)."""
    try:
        return Board(load_profile(path))
    except BoardProfileError as e:
        return Board(GENERIC, str(e))

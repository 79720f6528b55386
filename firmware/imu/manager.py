"""IMU manager: owns the driver, survives I2C errors, reports state for the status frame.

``read()`` never raises for bus trouble: an ``OSError`` is counted in ``i2c_errors``, the
state becomes ``"error"`` and the chip is re-probed and re-configured with exponential
back-off (10 ms doubling to 2 s). With no IMU the state is ``"no_imu"`` and probing continues
every 2 s at most. Samples lost to a FIFO overflow or a re-initialisation gap are counted;
``take_lost()`` tells the caller how far to advance its sample index (IMU clock) before the
samples of the current ``read()``.
"""

import time

from micropython import const

import imu

_STATE_OK = const(0)
STATE_NO_IMU = const(1)
STATE_ERROR = const(2)
_STATE_NAMES = const(("ok", "no_imu", "error"))
_BACKOFF_FIRST_MS = const(10)
_BACKOFF_MAX_MS = const(2000)
_DEFAULT_RATE_HZ = const(100)
# LED patterns, alternating on/off durations in ms (one period, starting with "on").
_LED_NO_IMU = const((100, 150, 100, 650))  # double blink each second: no IMU found
_LED_ERROR = const((50, 50))  # fast flicker while the IMU is being re-initialised


class ImuManager:
    def __init__(
        self, i2c, addresses=imu.ALL_ADDRESSES, rate_hz=_DEFAULT_RATE_HZ, acc_g=8, gyr_dps=1000
    ):
        from imu._base import check_config

        check_config(rate_hz, acc_g, gyr_dps)
        self.i2c = i2c
        self.addresses = tuple(addresses)
        self.req_rate_hz = rate_hz
        self.acc_g = acc_g
        self.gyr_dps = gyr_dps
        self.drv = imu.NoImu("not started")
        self.state_code = STATE_NO_IMU
        self.state = "no_imu"
        self.i2c_errors = 0
        self.last_errno = 0
        self.reinits = 0
        self.fifo_overflows = 0
        self.samples_lost = 0
        self._lost_pending = 0
        self._drv_overflows = 0
        self._drv_lost = 0
        self._backoff_ms = 0
        self._retry_at_ms = time.ticks_ms()
        self._was_ok = False
        self._gap_drv = None  # driver that was streaming when the error happened

    # ---- public --------------------------------------------------------------------------
    @property
    def chip(self):
        return self.drv.chip

    @property
    def chip_id(self):
        return self.drv.chip_id

    @property
    def rate_hz(self):
        return self.drv.rate_hz

    def start(self):
        """First probe + configure; returns True when an IMU streams."""
        return self._init()

    def read(self, buf, max_samples):
        """Read samples like ``drv.read``; 0 while there is no working IMU. Never raises
        ``OSError``. Allocation-free while the state is ``"ok"``."""
        if self.state_code != _STATE_OK and (
            time.ticks_diff(time.ticks_ms(), self._retry_at_ms) < 0 or not self._init()
        ):
            return 0
        drv = self.drv
        try:
            n = drv.read(buf, max_samples)
        except OSError as e:
            self._failed(e)
            self._gap_drv = drv
            return 0
        if drv.samples_lost != self._drv_lost:
            d = drv.samples_lost - self._drv_lost
            self._drv_lost = drv.samples_lost
            self.samples_lost += d
            self._lost_pending += d
            self.fifo_overflows += drv.fifo_overflows - self._drv_overflows
            self._drv_overflows = drv.fifo_overflows
        return n

    def take_lost(self):
        """Samples lost since the last call (they come before the samples just read)."""
        n = self._lost_pending
        self._lost_pending = 0
        return n

    def led_level(self, now_ms):
        """1/0 for the LED in the "no_imu"/"error" patterns, -1 when the IMU is fine."""
        if self.state_code == _STATE_OK:
            return -1
        pattern = _LED_NO_IMU if self.state_code == STATE_NO_IMU else _LED_ERROR
        period = 0
        for d in pattern:
            period += d
        t = now_ms % period
        on = 1
        for d in pattern:
            if t < d:
                return on
            t -= d
            on ^= 1
        return 0

    # ---- internals -------------------------------------------------------------------------
    def _set_state(self, code):
        self.state_code = code
        self.state = _STATE_NAMES[code]

    def _schedule_retry(self):
        b = self._backoff_ms
        b = _BACKOFF_FIRST_MS if b == 0 else (b * 2 if b * 2 < _BACKOFF_MAX_MS else _BACKOFF_MAX_MS)
        self._backoff_ms = b
        self._retry_at_ms = time.ticks_add(time.ticks_ms(), b)

    def _failed(self, e):
        self.i2c_errors += 1
        self.last_errno = e.args[0] if e.args else -1
        self._set_state(STATE_ERROR)
        self._schedule_retry()

    def _init(self):
        try:
            drv = imu.probe(self.i2c, self.addresses)
            if isinstance(drv, imu.NoImu):
                self.drv = drv
                self.i2c_errors += drv.errors
                if self.state_code != STATE_ERROR:
                    self._set_state(STATE_NO_IMU)
                self._schedule_retry()
                return False
            drv.configure(self.req_rate_hz, self.acc_g, self.gyr_dps)
        except OSError as e:
            self._failed(e)
            return False
        if self._gap_drv is not None:
            # samples produced between the last good read and the restarted FIFO are gone
            gap = self._gap_drv.lost_until(time.ticks_us())
            self.samples_lost += gap
            self._lost_pending += gap
            self._gap_drv = None
        if self._was_ok:
            self.reinits += 1
        self._was_ok = True
        self.drv = drv
        self._drv_lost = 0
        self._drv_overflows = 0
        self._backoff_ms = 0
        self._set_state(_STATE_OK)
        return True

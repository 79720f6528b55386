"""Shared FIFO-driver machinery for the IMU drivers (see docs/firmware.md, "IMU drivers").

A driver owns no bus: it gets the ``machine.I2C`` object and an address. ``read()`` moves whole
samples from the chip's hardware FIFO into the caller's bytearray as little-endian int16
``ax ay az gx gy gz`` (chip axes), allocation-free: every buffer and memoryview is made once.
"""

import time

import micropython
from micropython import const

_LONG_GAP_MS = const(60000)  # longer gaps are measured in ms (no ticks_us wrap)

SAMPLE_BYTES = const(12)
G_MPS2 = 9.80665  # standard gravity (hipsense.conventions.G_MPS2, checked equal by a test)
RATES_HZ = (100, 200, 400)
_ACC_RANGES_G = const((2, 4, 8, 16))
_GYR_RANGES_DPS = const((250, 500, 1000, 2000))
_DEFAULT_ACC_G = const(8)
_DEFAULT_GYR_DPS = const(1000)


def check_config(rate_hz, acc_g, gyr_dps):
    """``ValueError`` naming the bad setting; rates are 100, 200 or 400 Hz."""
    if rate_hz not in RATES_HZ:
        raise ValueError("IMU rate_hz must be 100, 200 or 400, not %r" % (rate_hz,))
    if acc_g not in _ACC_RANGES_G:
        raise ValueError("IMU acc_g must be 2, 4, 8 or 16, not %r" % (acc_g,))
    if gyr_dps not in _GYR_RANGES_DPS:
        raise ValueError("IMU gyr_dps must be 250, 500, 1000 or 2000, not %r" % (gyr_dps,))


@micropython.viper
def unpack16(src_buf, n: int, pkt: int, acc: int, gyr: int, big: int, dst_buf, d0: int):
    """Copy ``n`` packets of ``pkt`` bytes (accel words at byte ``acc``, gyro at ``gyr``) into
    ``dst`` at byte ``d0`` as 6 little-endian int16 per sample; ``big`` swaps byte order.
    All indices stay below 2**16 (int32-safe on the ESP32)."""
    src = ptr8(src_buf)  # noqa: F821 (viper built-in)
    dst = ptr8(dst_buf)  # noqa: F821 (viper built-in)
    for k in range(n):
        a = k * pkt + acc
        g = k * pkt + gyr
        d = d0 + k * 12
        if big:
            for _ in range(3):
                dst[d] = src[a + 1]
                dst[d + 1] = src[a]
                dst[d + 6] = src[g + 1]
                dst[d + 7] = src[g]
                a += 2
                g += 2
                d += 2
        else:
            for _ in range(3):
                dst[d] = src[a]
                dst[d + 1] = src[a + 1]
                dst[d + 6] = src[g]
                dst[d + 7] = src[g + 1]
                a += 2
                g += 2
                d += 2


class FifoDriver:
    """Base of the chip drivers: register access, chunked FIFO reads, overflow accounting.

    Subclasses set ``chip``, ``chip_id``, ``PKT`` (bytes per FIFO sample), ``FIFO_REG``,
    ``ACC_OFF``/``GYR_OFF``/``BIG`` (packet layout), ``FIFO_SAMPLES`` (capacity) and implement
    ``configure()``, ``_available()`` (whole samples waiting, or -1 on overflow) and
    ``_reset_fifo()``.
    """

    chip = ""
    chip_id = 0
    PKT = 12
    CHUNK = 16  # samples per I2C burst: 16 x 16 B = 256 B at most, fine for the ESP32 driver
    FIFO_REG = 0
    ACC_OFF = 0
    GYR_OFF = 6
    BIG = 1
    FIFO_SAMPLES = 1

    def __init__(self, i2c, addr):
        self.i2c = i2c
        self.addr = addr
        self.rate_hz = 0
        self.acc_mps2_per_lsb = 0.0
        self.gyr_dps_per_lsb = 0.0
        self.acc_g = 0
        self.gyr_dps = 0
        self.fifo_overflows = 0
        self.samples_lost = 0
        self._b1 = bytearray(1)
        self._b2 = bytearray(2)
        self._b4 = bytearray(4)
        self._raw = bytearray(self.CHUNK * self.PKT)
        mv = memoryview(self._raw)
        self._views = tuple(mv[0 : k * self.PKT] for k in range(self.CHUNK + 1))
        self._t_read_us = time.ticks_us()
        self._t_read_ms = time.ticks_ms()
        self._backlog = 0

    # ---- register access -------------------------------------------------------------
    def _w(self, reg, val):
        self._b1[0] = val
        self.i2c.writeto_mem(self.addr, reg, self._b1)

    def _r(self, reg):
        self.i2c.readfrom_mem_into(self.addr, reg, self._b1)
        return self._b1[0]

    def _scales(self, acc_lsb_per_g, gyr_lsb_per_dps):
        self.acc_mps2_per_lsb = G_MPS2 / acc_lsb_per_g
        self.gyr_dps_per_lsb = 1.0 / gyr_lsb_per_dps

    def _started(self):
        """Call at the end of ``configure()``: the FIFO is empty and running now."""
        self._t_read_us = time.ticks_us()
        self._t_read_ms = time.ticks_ms()
        self._backlog = 0

    # ---- FIFO ------------------------------------------------------------------------
    def read(self, buf, max_samples):
        """Read up to ``max_samples`` whole samples into ``buf``; returns the count."""
        room = len(buf) // SAMPLE_BYTES
        if max_samples > room:
            max_samples = room
        now = time.ticks_us()
        avail = self._available()
        if avail < 0:
            self._overflowed()
            return 0
        n = avail if avail < max_samples else max_samples
        done = 0
        chunk = self.CHUNK
        while done < n:
            k = n - done
            if k > chunk:
                k = chunk
            self.i2c.readfrom_mem_into(self.addr, self.FIFO_REG, self._views[k])
            unpack16(
                self._raw,
                k,
                self.PKT,
                self.ACC_OFF,
                self.GYR_OFF,
                self.BIG,
                buf,
                done * SAMPLE_BYTES,
            )
            done += k
        self._backlog = avail - n
        self._t_read_us = now
        self._t_read_ms = time.ticks_ms()
        return n

    def lost_until(self, t_us):
        """Samples produced since the last read that were not delivered, up to ``t_us``
        (an estimate on the MCU clock: the IMU cannot count samples it did not store)."""
        dt_ms = time.ticks_diff(time.ticks_ms(), self._t_read_ms)
        if dt_ms > _LONG_GAP_MS:  # ticks_us wraps every 17.9 min (diffs valid to 8.9 min)
            return self._backlog + int(dt_ms * self.rate_hz / 1000 + 0.5)
        dt_us = time.ticks_diff(t_us, self._t_read_us)
        if dt_us < 0:
            dt_us = 0
        return self._backlog + int(dt_us * self.rate_hz / 1000000 + 0.5)

    def _overflowed(self):
        # The FIFO overflowed: its content is stale or misaligned, so drop it all and
        # restart. Everything produced since the last read is lost (not the hot path).
        self._reset_fifo()
        lost = self.lost_until(time.ticks_us())
        if lost < self.FIFO_SAMPLES:
            lost = self.FIFO_SAMPLES
        self.fifo_overflows += 1
        self.samples_lost += lost
        self._started()

    def _available(self) -> int:
        return 0

    def _reset_fifo(self):
        pass

"""Register-level models of the supported IMU chips on the simulated I2C bus (virtual board).

Each model has a register file, a hardware FIFO of the chip's size and byte layout, and a sample
clock: ODR (from the chip's own rate registers) x (1 + clock error). The FIFO fills as the
simulation clock (:mod:`_simclock`) advances, from a sample source (:mod:`_simsource`).
Values are quantised with the configured sensitivity and clipped to int16, like the chip.

Anti-alias model: a chip sample covering [t, t + 1/ODR) is the mean of the source samples whose
index falls in that window (ODR below the source rate); when the ODR is above the source rate
the current source sample is repeated.

Register facts are cited from: InvenSense RM-MPU-6000A-00 rev 4.2 (MPU-6050), RM-MPU-6500A-00
rev 2.1 (MPU-6500), TDK DS-000193 rev 1.1 (MPU-6886), TDK DS-000347 rev 1.7 (ICM-42688-P),
ST DocID026899 (LSM6DS3, "DS3") and DS12814 (LSM6DSOX, "DSOX").
Unknown register writes are stored; reads of unimplemented registers return the reset value.
"""

from array import array

import _simclock
import _simsource

G_MPS2 = 9.80665  # standard gravity (hipsense.conventions.G_MPS2, checked equal by a test)


class Chip:
    NAME = ""
    WHO_REG = 0
    WHO_VAL = 0
    FIFO_BYTES = 0
    PKT_BYTES = 12
    CLOCK_ERROR = 0.002
    RESET = {}

    def __init__(self, addr):
        self.addr = addr
        self.regs = bytearray(256)
        self.fifo = bytearray(self.FIFO_BYTES)
        self.pkt = bytearray(self.PKT_BYTES)
        self.clock_error = self.CLOCK_ERROR
        self.source = _simsource.Still()
        self.src_t0 = 0.0
        self.phys = array("d", [0.0] * 6)
        self.tmp = array("d", [0.0] * 6)
        self.raw = array("i", [0] * 6)
        self.produced = 0  # samples produced by the sample clock while the FIFO was on
        self.dropped = 0  # samples that never reached the host: not stored, overwritten, flushed
        self.flushes = 0
        self.power_on_reset()

    # ---- state -------------------------------------------------------------------------
    def power_on_reset(self):
        r = self.regs
        for i in range(256):
            r[i] = 0
        for k in self.RESET:
            r[k] = self.RESET[k]
        r[self.WHO_REG] = self.WHO_VAL
        self.fhead = 0
        self.fcount = 0
        self.odr_hz = 0.0
        self.k = 0
        self.t_start = self.chip_time()
        self.on_reset()
        self.reconfigure()

    def on_reset(self):
        pass

    def chip_time(self):
        """Simulated time of this chip: the global clock, or in manual mode its own samples."""
        if _simclock.manual():
            return getattr(self, "t_manual", 0.0)
        return _simclock.now_s()

    def set_source(self, source):
        self.source = source
        self.src_t0 = self.sample_time(self.k) if self.odr_hz else self.chip_time()

    def sample_time(self, k):
        return self.t_start + k / (self.odr_hz * (1.0 + self.clock_error))

    def set_rate(self, odr_hz):
        """Called by a model when its rate registers change: restart the sample clock."""
        if odr_hz == self.odr_hz:
            return
        t = self.sample_time(self.k) if self.odr_hz else self.chip_time()
        if not _simclock.manual():
            t = _simclock.now_s()
        self.t_start = t
        self.t_manual = t
        self.k = 0
        self.odr_hz = odr_hz

    # ---- sample clock ------------------------------------------------------------------
    def pump(self):
        """Produce every sample that is due by the simulation clock (real-time mode)."""
        if self.odr_hz <= 0 or _simclock.manual():
            return
        due = int((_simclock.now_s() - self.t_start) * self.odr_hz * (1.0 + self.clock_error))
        n = due - self.k
        if n <= 0:
            return
        cap = self.FIFO_BYTES // self.PKT_BYTES + 2
        if n > cap:
            skip = n - cap
            self.k += skip
            if self.fifo_enabled():
                self.produced += skip
                self.dropped += skip
                self.overflow()
                self.skipped(skip)
            n = cap
        for _ in range(n):
            self.produce()

    def advance(self, n):
        """Manual mode: produce ``n`` samples now (the chip's clock moves by n / ODR)."""
        for _ in range(n):
            if self.odr_hz <= 0:
                return
            self.produce()
            self.t_manual = self.sample_time(self.k)

    def produce(self):
        k = self.k
        self.k = k + 1
        if not self.fifo_enabled():
            return
        self.produced += 1
        src = self.source
        phys = self.phys
        t_a = self.sample_time(k) - self.src_t0
        rate = src.rate_hz
        if rate <= 0:
            src.get(0, phys)
        else:
            t_b = self.sample_time(k + 1) - self.src_t0
            # 1e-3 of a source sample: the rounding of float32 times (ESP32-like build)
            i0 = int(t_a * rate + 1e-3)
            i1 = int(t_b * rate + 1e-3)
            if i0 < 0:
                i0 = 0
            if i1 <= i0:
                src.get(i0, phys)
            else:
                tmp = self.tmp
                for j in range(6):
                    phys[j] = 0.0
                for i in range(i0, i1):
                    src.get(i, tmp)
                    for j in range(6):
                        phys[j] += tmp[j]
                for j in range(6):
                    phys[j] /= i1 - i0
        raw = self.raw
        acc_lsb_per_mps2 = self.acc_lsb_per_g() / G_MPS2
        gyr_lsb_per_dps = self.gyr_lsb_per_dps()
        for j in range(6):
            v = phys[j] * (acc_lsb_per_mps2 if j < 3 else gyr_lsb_per_dps)
            q = round(v)
            raw[j] = -32768 if q < -32768 else (32767 if q > 32767 else q)
        self.store(raw)

    # ---- FIFO byte ring ------------------------------------------------------------------
    def fifo_clear(self):
        if self.fcount:
            self.dropped += self.fcount // self.PKT_BYTES
        self.fhead = 0
        self.fcount = 0
        self.flushes += 1

    def fifo_push(self, data, n, stop_when_full, unit, off=0):
        """Append ``n`` bytes of ``data[off:]``; when full drop them or overwrite ``unit`` bytes."""
        size = self.FIFO_BYTES
        if self.fcount + n > size:
            self.overflow()
            self.dropped += 1
            if stop_when_full:
                return
            excess = self.fcount + n - size
            excess = ((excess + unit - 1) // unit) * unit
            self.fhead = (self.fhead + excess) % size
            self.fcount -= excess
        pos = (self.fhead + self.fcount) % size
        fifo = self.fifo
        for i in range(off, off + n):
            fifo[pos] = data[i]
            pos += 1
            if pos == size:
                pos = 0
        self.fcount += n

    def fifo_pop(self):
        if self.fcount == 0:
            return 0xFF
        b = self.fifo[self.fhead]
        self.fhead += 1
        if self.fhead == self.FIFO_BYTES:
            self.fhead = 0
        self.fcount -= 1
        return b

    def fifo_peek(self, i):
        return self.fifo[(self.fhead + i) % self.FIFO_BYTES]

    # ---- bus interface (called by machine.I2C) --------------------------------------------
    def read(self, reg):
        return self.regs[reg]

    def write(self, reg, val):
        self.regs[reg] = val
        self.reconfigure()

    def next_reg(self, reg):
        return (reg + 1) & 0xFF

    # ---- per-chip hooks ----------------------------------------------------------------
    def reconfigure(self):
        pass

    def fifo_enabled(self) -> bool:
        return False

    def overflow(self):
        pass

    def skipped(self, n):
        """``n`` samples were produced while the FIFO was full (a long pause)."""

    def acc_lsb_per_g(self):
        return 1.0

    def gyr_lsb_per_dps(self):
        return 1.0

    def store(self, raw):
        pass

    def stats(self):
        return {
            "chip": self.NAME,
            "addr": self.addr,
            "odr_hz": self.odr_hz,
            "odr_true_hz": self.odr_hz * (1.0 + self.clock_error),
            "acc_lsb_per_g": self.acc_lsb_per_g(),
            "gyr_lsb_per_dps": self.gyr_lsb_per_dps(),
            "fifo_bytes": self.fcount,
            "fifo_enabled": self.fifo_enabled(),
            "produced": self.produced,
            "dropped": self.dropped,
            "flushes": self.flushes,
        }


def _put_be(buf, off, v):
    v &= 0xFFFF
    buf[off] = v >> 8
    buf[off + 1] = v & 0xFF


def _put_le(buf, off, v):
    v &= 0xFFFF
    buf[off] = v & 0xFF
    buf[off + 1] = v >> 8


# kind -> (module, class); a model's module is imported only when such a chip is created
MODELS = {
    "mpu6050": ("_sim_mpu", "Mpu6050"),
    "mpu6500": ("_sim_mpu", "Mpu6500"),
    "mpu6886": ("_sim_mpu", "Mpu6886"),
    "icm42688p": ("_sim_icm", "Icm42688"),
    "lsm6ds3": ("_sim_lsm", "Lsm6ds3"),
    "lsm6dsox": ("_sim_lsm", "Lsm6dsox"),
}


def model(kind):
    """The model class of a chip kind (``ValueError`` for an unknown kind)."""
    where = MODELS.get(kind)
    if where is None:
        raise ValueError("unknown simulated chip %r (known: %s)" % (kind, " ".join(MODELS)))
    mod = __import__(where[0])
    return getattr(mod, where[1])

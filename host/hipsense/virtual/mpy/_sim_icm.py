"""ICM-42688-P register model for the virtual board (see :mod:`_simchips`)."""

from _simchips import Chip, _put_be, _put_le

# ======================================================================================
# TDK ICM-42688-P (user bank 0)
# ======================================================================================
_ICM_DEVICE_CONFIG = 0x11
_ICM_FIFO_CONFIG = 0x16
_ICM_INT_STATUS = 0x2D
_ICM_FIFO_COUNTH = 0x2E
_ICM_FIFO_COUNTL = 0x2F
_ICM_FIFO_DATA = 0x30
_ICM_SIGNAL_PATH_RESET = 0x4B
_ICM_INTF_CONFIG0 = 0x4C
_ICM_PWR_MGMT0 = 0x4E
_ICM_GYRO_CONFIG0 = 0x4F
_ICM_ACCEL_CONFIG0 = 0x50
_ICM_FIFO_CONFIG1 = 0x5F
_ICM_FIFO_LOST_PKT0 = 0x6C
_ICM_FIFO_LOST_PKT1 = 0x6D
_ICM_REG_BANK_SEL = 0x76
# ACCEL_ODR / GYRO_ODR codes (DS-000347 14.35/14.36)
_ICM_ODR = {
    1: 32000.0,
    2: 16000.0,
    3: 8000.0,
    4: 4000.0,
    5: 2000.0,
    6: 1000.0,
    7: 200.0,
    8: 100.0,
    9: 50.0,
    10: 25.0,
    11: 12.5,
    15: 500.0,
}
_ICM_GYRO_LSB = (16.4, 32.8, 65.5, 131.0, 262.0, 524.3, 1048.6, 2097.2)


class Icm42688(Chip):
    """ICM-42688-P: WHO_AM_I 0x47; 2 KiB FIFO of 16-byte packets (header, accel, gyro, temp,
    timestamp; section 6.1 "packet 3"); FIFO_FULL_INT in INT_STATUS bit 1."""

    NAME = "icm42688p"
    WHO_REG = 0x75
    WHO_VAL = 0x47
    FIFO_BYTES = 2048
    PKT_BYTES = 16
    CLOCK_ERROR = 0.001
    RESET = {
        _ICM_GYRO_CONFIG0: 0x06,
        _ICM_ACCEL_CONFIG0: 0x06,
        _ICM_INTF_CONFIG0: 0x30,
        0x52: 0x11,
        _ICM_INT_STATUS: 0x10,
    }

    def on_reset(self):
        self.bank = 0
        self.other_banks = {}
        self.latched_count = 0
        self.lost_pkts = 0

    def fifo_enabled(self):
        return (self.regs[_ICM_FIFO_CONFIG] >> 6) != 0 and (self.regs[_ICM_FIFO_CONFIG1] & 3) == 3

    def reconfigure(self):
        r = self.regs
        pm = r[_ICM_PWR_MGMT0]
        if (pm & 0x0C) == 0 or (pm & 0x03) == 0:
            self.set_rate(0.0)
            return
        self.set_rate(_ICM_ODR.get(r[_ICM_ACCEL_CONFIG0] & 0x0F, 0.0))

    def acc_lsb_per_g(self):
        return 2048.0 * (1 << min((self.regs[_ICM_ACCEL_CONFIG0] >> 5) & 7, 3))

    def gyr_lsb_per_dps(self):
        return _ICM_GYRO_LSB[(self.regs[_ICM_GYRO_CONFIG0] >> 5) & 7]

    def overflow(self):
        self.regs[_ICM_INT_STATUS] |= 0x02  # FIFO_FULL_INT

    def store(self, raw):
        p = self.pkt
        big = self.regs[_ICM_INTF_CONFIG0] & 0x10  # SENSOR_DATA_ENDIAN
        put = _put_be if big else _put_le
        p[0] = 0x60 | (0x08 if self.regs[_ICM_FIFO_CONFIG1] & 0x08 else 0)
        for j in range(6):
            put(p, 1 + 2 * j, raw[j])
        p[13] = 0  # temperature 25 degC
        put(p, 14, int(self.k * 1e6 / self.odr_hz) & 0xFFFF)
        stop = (self.regs[_ICM_FIFO_CONFIG] >> 6) >= 2
        before = self.dropped
        self.fifo_push(p, 16, stop, 16)
        if stop and self.dropped != before:
            self.skipped(1)

    def skipped(self, n):
        if (self.regs[_ICM_FIFO_CONFIG] >> 6) >= 2:  # stop-on-full refuses them: count
            self.lost_pkts = min(self.lost_pkts + n, 0xFFFF)

    def count(self):
        if self.regs[_ICM_INTF_CONFIG0] & 0x40:  # FIFO_COUNT_REC
            return self.fcount // 16
        return self.fcount

    def read(self, reg):
        if self.bank != 0 and reg != _ICM_REG_BANK_SEL:
            return self.other_banks.get((self.bank, reg), 0)
        if reg == _ICM_INT_STATUS:
            v = self.regs[reg]
            self.regs[reg] = 0
            return v
        big = self.regs[_ICM_INTF_CONFIG0] & 0x20  # FIFO_COUNT_ENDIAN
        if reg == _ICM_FIFO_COUNTH:
            self.latched_count = self.count()
            return self.latched_count >> 8 if big else self.latched_count & 0xFF
        if reg == _ICM_FIFO_COUNTL:
            return self.latched_count & 0xFF if big else self.latched_count >> 8
        if reg == _ICM_FIFO_DATA:
            return self.fifo_pop()
        if reg == _ICM_FIFO_LOST_PKT0:
            return self.lost_pkts & 0xFF
        if reg == _ICM_FIFO_LOST_PKT1:
            return (self.lost_pkts >> 8) & 0xFF
        return self.regs[reg]

    def write(self, reg, val):
        if reg == _ICM_REG_BANK_SEL:
            self.bank = val & 7
            self.regs[reg] = val & 7
            return
        if self.bank != 0:
            self.other_banks[(self.bank, reg)] = val
            return
        if reg == _ICM_DEVICE_CONFIG and val & 0x01:
            self.power_on_reset()  # SOFT_RESET_CONFIG
            return
        if reg == _ICM_SIGNAL_PATH_RESET:
            if val & 0x02:
                self.fifo_clear()  # FIFO_FLUSH
                self.lost_pkts = 0
            return
        if reg in (
            self.WHO_REG,
            _ICM_INT_STATUS,
            _ICM_FIFO_COUNTH,
            _ICM_FIFO_COUNTL,
            _ICM_FIFO_DATA,
        ):
            return
        self.regs[reg] = val
        self.reconfigure()

    def next_reg(self, reg):
        return reg if reg == _ICM_FIFO_DATA else (reg + 1) & 0xFF

"""LSM6DS3 / LSM6DSOX register model for the virtual board (see :mod:`_simchips`)."""

from _simchips import Chip, _put_le

# ======================================================================================
# ST LSM6DS3 / LSM6DSOX
# ======================================================================================
_LSM_FIFO_CTRL3_DS3 = 0x08
_LSM_FIFO_CTRL5_DS3 = 0x0A
_LSM_FIFO_CTRL3_DSOX = 0x09
_LSM_FIFO_CTRL4_DSOX = 0x0A
_LSM_CTRL1_XL = 0x10
_LSM_CTRL2_G = 0x11
_LSM_CTRL3_C = 0x12
_LSM_FIFO_STATUS1 = 0x3A
_LSM_FIFO_STATUS2 = 0x3B
_LSM_FIFO_STATUS3 = 0x3C
_LSM_FIFO_STATUS4 = 0x3D
_LSM_DS3_DATA_L = 0x3E
_LSM_DS3_DATA_H = 0x3F
_LSM_DSOX_TAG = 0x78
_LSM_DSOX_LAST = 0x7E
# ODR_XL / ODR_G / ODR_FIFO / BDR codes 1..10 (DS3 table 52, DSOX table 52)
_LSM_ODR = (0.0, 12.5, 26.0, 52.0, 104.0, 208.0, 416.0, 833.0, 1660.0, 3330.0, 6660.0)
_LSM_ACC_MG_PER_LSB = (0.061, 0.488, 0.122, 0.244)  # FS_XL 00 2g, 01 16g, 10 4g, 11 8g
_LSM_GYR_MDPS_PER_LSB = (8.75, 17.5, 35.0, 70.0)  # FS_G 245/250, 500, 1000, 2000 dps


def _lsm_odr(code):
    return _LSM_ODR[code] if code < len(_LSM_ODR) else 0.0


class _Lsm6(Chip):
    WHO_REG = 0x0F
    RESET = {_LSM_CTRL3_C: 0x04}  # IF_INC

    def sensors_on(self):
        return (self.regs[_LSM_CTRL1_XL] >> 4) and (self.regs[_LSM_CTRL2_G] >> 4)

    def acc_lsb_per_g(self):
        return 1000.0 / _LSM_ACC_MG_PER_LSB[(self.regs[_LSM_CTRL1_XL] >> 2) & 3]

    def gyr_lsb_per_dps(self):
        if self.regs[_LSM_CTRL2_G] & 0x02:  # FS_125
            return 1000.0 / 4.375
        return 1000.0 / _LSM_GYR_MDPS_PER_LSB[(self.regs[_LSM_CTRL2_G] >> 2) & 3]

    def write(self, reg, val):
        if reg == _LSM_CTRL3_C and val & 0x01:
            self.power_on_reset()  # SW_RESET
            return
        if reg == self.WHO_REG or _LSM_FIFO_STATUS1 <= reg <= _LSM_FIFO_STATUS4:
            return
        old_mode = self.fifo_mode()
        self.regs[reg] = val
        if old_mode != 0 and self.fifo_mode() == 0:
            self.fifo_clear()  # bypass mode empties the FIFO
            self.on_fifo_reset()
        self.reconfigure()

    def on_fifo_reset(self):
        self.ovr = False

    def on_reset(self):
        self.ovr = False
        self.latched = 0

    def overflow(self):
        self.ovr = True

    def fifo_enabled(self):
        return self.fifo_mode() != 0

    def fifo_mode(self) -> int:
        return 0

    def stop_when_full(self):
        return self.fifo_mode() == 1


class Lsm6ds3(_Lsm6):
    """LSM6DS3: WHO_AM_I 0x69; 8 KiB FIFO of untagged 16-bit words in a pattern
    (data set 1 gyro XYZ, data set 2 accel XYZ, DS3 8.1); FIFO_STATUS1..4 give the unread word
    count, OVER_RUN and the pattern index of the next word."""

    NAME = "lsm6ds3"
    WHO_VAL = 0x69
    FIFO_BYTES = 8192
    PKT_BYTES = 12
    CLOCK_ERROR = -0.0025

    def on_reset(self):
        _Lsm6.on_reset(self)
        self.head_word = 0  # pattern index of the oldest word

    def on_fifo_reset(self):
        self.ovr = False
        self.head_word = 0

    def fifo_mode(self):
        return self.regs[_LSM_FIFO_CTRL5_DS3] & 7

    def fifo_enabled(self):
        return self.fifo_mode() != 0 and self.regs[_LSM_FIFO_CTRL3_DS3] == 0x09

    def reconfigure(self):
        if not self.sensors_on():
            self.set_rate(0.0)
            return
        self.set_rate(_lsm_odr((self.regs[_LSM_FIFO_CTRL5_DS3] >> 3) & 0x0F))

    def store(self, raw):
        p = self.pkt
        for j in range(3):
            _put_le(p, 2 * j, raw[3 + j])  # gyro first (data set 1)
            _put_le(p, 6 + 2 * j, raw[j])
        # overwriting drops whole 12-byte samples, so the head's pattern index is unchanged
        self.fifo_push(p, 12, self.stop_when_full(), 12)

    def read(self, reg):
        words = self.fcount // 2
        if reg == _LSM_FIFO_STATUS1:
            self.latched = words
            return words & 0xFF
        if reg == _LSM_FIFO_STATUS2:
            v = (self.latched >> 8) & 0x0F
            if self.ovr:
                v |= 0x40
            if self.fcount + 12 > self.FIFO_BYTES:
                v |= 0x20
            if self.fcount == 0:
                v |= 0x10
            return v
        if reg == _LSM_FIFO_STATUS3:
            return self.head_word & 0xFF
        if reg == _LSM_FIFO_STATUS4:
            return 0
        if reg == _LSM_DS3_DATA_L:
            return self.fifo_peek(0) if self.fcount else 0
        if reg == _LSM_DS3_DATA_H:
            if self.fcount < 2:
                return 0
            v = self.fifo_peek(1)
            self.fifo_pop()
            self.fifo_pop()
            self.head_word = (self.head_word + 1) % 6
            return v
        return self.regs[reg]

    def next_reg(self, reg):
        if reg == _LSM_DS3_DATA_H:
            return _LSM_DS3_DATA_L  # the output register pair rolls over in a burst
        return (reg + 1) & 0xFF


class Lsm6dsox(_Lsm6):
    """LSM6DSOX: WHO_AM_I 0x6C; FIFO of 512 tagged 7-byte words (3 KiB of data, DSOX 9):
    TAG (sensor << 3 | counter << 1 | parity) then X, Y, Z little-endian; gyro tag 0x01,
    accel tag 0x02. FIFO_STATUS2: FIFO_OVR_IA bit 6, FIFO_FULL_IA bit 5, DIFF_FIFO[9:8]."""

    NAME = "lsm6dsox"
    WHO_VAL = 0x6C
    FIFO_BYTES = 512 * 7
    PKT_BYTES = 14
    CLOCK_ERROR = 0.0025

    def fifo_mode(self):
        return self.regs[_LSM_FIFO_CTRL4_DSOX] & 7

    def fifo_enabled(self):
        c = self.regs[_LSM_FIFO_CTRL3_DSOX]
        return self.fifo_mode() != 0 and (c & 0x0F) != 0 and (c >> 4) != 0

    def reconfigure(self):
        if not self.sensors_on():
            self.set_rate(0.0)
            return
        self.set_rate(_lsm_odr(self.regs[_LSM_FIFO_CTRL3_DSOX] & 0x0F))

    def store(self, raw):
        p = self.pkt
        cnt = (self.k & 3) << 1
        for w, tag, base in ((0, 0x01, 3), (7, 0x02, 0)):
            t = (tag << 3) | cnt
            par = 0
            x = t
            while x:
                par ^= x & 1
                x >>= 1
            p[w] = t | par
            for j in range(3):
                _put_le(p, w + 1 + 2 * j, raw[base + j])
        stop = self.stop_when_full()
        before = self.dropped
        for w in (0, 7):
            self.fifo_push(p, 7, stop, 7, w)
        if self.dropped - before > 1:
            self.dropped = before + 1  # count samples, not words

    def read(self, reg):
        words = self.fcount // 7
        if reg == _LSM_FIFO_STATUS1:
            self.latched = words
            return words & 0xFF
        if reg == _LSM_FIFO_STATUS2:
            v = (self.latched >> 8) & 0x03
            if self.ovr:
                v |= 0x40 | 0x08
            if self.fcount + 7 > self.FIFO_BYTES:
                v |= 0x20
            return v
        if _LSM_DSOX_TAG <= reg <= _LSM_DSOX_LAST:
            if self.fcount < 7:
                return 0
            v = self.fifo_peek(reg - _LSM_DSOX_TAG)
            if reg == _LSM_DSOX_LAST:
                for _ in range(7):
                    self.fifo_pop()
            return v
        return self.regs[reg]

    def next_reg(self, reg):
        if reg == _LSM_DSOX_LAST:
            return _LSM_DSOX_TAG  # FIFO output registers roll over to the tag in a burst
        return (reg + 1) & 0xFF

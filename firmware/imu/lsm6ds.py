"""ST LSM6DS3 and LSM6DSOX drivers (FIFO, I2C).

Common registers (LSM6DS3 DocID026899 = "DS3", LSM6DSOX DS12814 = "DSOX"): WHO_AM_I 0x0F
(0x69 / 0x6C), CTRL1_XL 0x10 (ODR_XL 7:4, FS_XL 3:2: 00 2 g, 01 16 g, 10 4 g, 11 8 g),
CTRL2_G 0x11 (ODR_G 7:4, FS_G 3:2: 250/500/1000/2000 dps), CTRL3_C 0x12 (BOOT, BDU bit 6,
IF_INC bit 2, SW_RESET bit 0), FIFO_STATUS1/2 0x3A/0x3B. ODR codes 4/5/6 = 104/208/416 Hz.
Sensitivity (DS3 table 3, DSOX table 2): 0.061/0.122/0.244/0.488 mg/LSB for 2/4/8/16 g,
8.75/17.5/35/70 mdps/LSB for 250/500/1000/2000 dps.

The FIFOs differ: the DS3 stores untagged 16-bit words in a pattern (gyro XYZ, then accel
XYZ; FIFO_STATUS3/4 give the pattern index of the next word) read from FIFO_DATA_OUT_L/H
0x3E/0x3F; the DSOX stores tagged 7-byte words (tag, X, Y, Z little-endian; tag 0x01 gyro,
0x02 accel) read from FIFO_DATA_OUT_TAG 0x78. Both are read in bursts: the output registers
roll over (as the Linux st_lsm6dsx driver relies on).
"""

import time

import micropython
from micropython import const

from imu._base import SAMPLE_BYTES, FifoDriver, check_config

_CTRL1_XL = const(0x10)
_CTRL2_G = const(0x11)
_CTRL3_C = const(0x12)
_CTRL4_C = const(0x13)
_CTRL8_XL = const(0x17)
_FIFO_STATUS1 = const(0x3A)
# DS3
_DS3_FIFO_CTRL3 = const(0x08)
_DS3_FIFO_CTRL5 = const(0x0A)
_DS3_FIFO_DATA_OUT_L = const(0x3E)
# DSOX
_DSOX_FIFO_CTRL3 = const(0x09)
_DSOX_FIFO_CTRL4 = const(0x0A)
_DSOX_FIFO_DATA_OUT_TAG = const(0x78)

_RATE = {100: (4, 104), 200: (5, 208), 400: (6, 416)}  # ODR code, Hz
_ACC_CODE = {2: 0, 16: 1, 4: 2, 8: 3}
_ACC_MG = {2: 0.061, 4: 0.122, 8: 0.244, 16: 0.488}
_GYR_CODE = {250: 0, 500: 1, 1000: 2, 2000: 3}
_GYR_MDPS = {250: 8.75, 500: 17.5, 1000: 35.0, 2000: 70.0}
# DS3 accel anti-alias filter BW_XL (CTRL1_XL 1:0, with CTRL4_C XL_BW_SCAL_ODR = 1):
# 104 Hz -> 50 Hz (11), 208 Hz -> 100 Hz (10), 416 Hz -> 200 Hz (01)
_DS3_BW = {4: 3, 5: 2, 6: 1}


class _Lsm6(FifoDriver):
    def _setup(self, rate_hz, acc_g, gyr_dps, acc_bw_bits):
        check_config(rate_hz, acc_g, gyr_dps)
        code, odr = _RATE[rate_hz]
        self._req_hz = rate_hz
        self._w(_CTRL3_C, 0x01)  # SW_RESET
        time.sleep_ms(10)
        self._w(_CTRL3_C, 0x44)  # BDU | IF_INC
        self._w(_CTRL1_XL, (code << 4) | (_ACC_CODE[acc_g] << 2) | acc_bw_bits)
        self._w(_CTRL2_G, (code << 4) | (_GYR_CODE[gyr_dps] << 2))
        time.sleep_ms(70)  # gyro turn-on time before the FIFO starts (DS3/DSOX table 3)
        self.rate_hz = odr
        self.acc_g = acc_g
        self.gyr_dps = gyr_dps
        self._scales(1000.0 / _ACC_MG[acc_g], 1000.0 / _GYR_MDPS[gyr_dps])
        return code


class Lsm6ds3(_Lsm6):
    """LSM6DS3: 8 KiB FIFO = 4096 words = 682 samples; continuous mode; OVER_RUN flag."""

    chip = "lsm6ds3"
    chip_id = 5
    PKT = 12
    FIFO_REG = _DS3_FIFO_DATA_OUT_L
    ACC_OFF = 6  # data set 2
    GYR_OFF = 0  # data set 1
    BIG = 0
    FIFO_SAMPLES = 4096 // 6

    def __init__(self, i2c, addr, who=0x69):
        _Lsm6.__init__(self, i2c, addr)

    def configure(self, rate_hz, acc_g=8, gyr_dps=1000):
        """Set ODR (104/208/416 Hz for 100/200/400), ranges and anti-alias filter; start FIFO."""
        code = self._setup(rate_hz, acc_g, gyr_dps, _DS3_BW[_RATE[rate_hz][0]])
        self._w(_CTRL4_C, 0x80)  # XL_BW_SCAL_ODR: use BW_XL
        self._w(_DS3_FIFO_CTRL5, 0x00)  # bypass: empties the FIFO
        self._w(_DS3_FIFO_CTRL3, 0x09)  # gyro and accel in the FIFO, no decimation
        self._w(_DS3_FIFO_CTRL5, (code << 3) | 0x06)  # FIFO ODR, continuous mode
        self._started()

    def _available(self):
        b = self._b4
        self.i2c.readfrom_mem_into(self.addr, _FIFO_STATUS1, b)
        if b[1] & 0x40:  # OVER_RUN
            return -1
        words = b[0] | ((b[1] & 0x0F) << 8)
        pattern = b[2] | ((b[3] & 0x03) << 8)
        if pattern != 0 and words:
            # realign on the first word of a sample (gyro X)
            skip = 6 - pattern
            if skip > words:
                skip = words
            for _ in range(skip):
                self.i2c.readfrom_mem_into(self.addr, _DS3_FIFO_DATA_OUT_L, self._b2)
            words -= skip
        return words // 6

    def _reset_fifo(self):
        self._w(_DS3_FIFO_CTRL5, 0x00)
        self._w(_DS3_FIFO_CTRL5, (_RATE[self._req_hz][0] << 3) | 0x06)


@micropython.viper
def _unpack_tagged(src_buf, nwords: int, st_buf, dst_buf, d0: int) -> int:
    """Pair tagged words (gyro tag 0x01, accel tag 0x02) into samples at ``dst[d0:]``.
    ``st[0]`` holds which halves are pending (bit 0 accel, bit 1 gyro), ``st[1:13]`` the
    pending sample, so a pair split across two reads is kept. Other tags are skipped."""
    src = ptr8(src_buf)  # noqa: F821 (viper built-in)
    st = ptr8(st_buf)  # noqa: F821 (viper built-in)
    dst = ptr8(dst_buf)  # noqa: F821 (viper built-in)
    out = 0
    for w in range(nwords):
        s = w * 7
        tag = src[s] >> 3
        if tag == 2:
            base = 1
            st[0] = st[0] | 1
        elif tag == 1:
            base = 7
            st[0] = st[0] | 2
        else:
            continue
        for j in range(6):
            st[base + j] = src[s + 1 + j]
        if st[0] == 3:
            d = d0 + out * 12
            for j in range(12):
                dst[d + j] = st[1 + j]
            st[0] = 0
            out += 1
    return out


class Lsm6dsox(_Lsm6):
    """LSM6DSOX: tagged FIFO of 512 words (3 KiB data) = 256 samples; continuous mode;
    FIFO_OVR_IA flag (FIFO_STATUS2 bit 6)."""

    chip = "lsm6dsox"
    chip_id = 6
    PKT = 7  # one tagged word
    CHUNK = 32  # words per burst: 224 bytes
    FIFO_REG = _DSOX_FIFO_DATA_OUT_TAG
    FIFO_SAMPLES = 256

    def __init__(self, i2c, addr, who=0x6C):
        _Lsm6.__init__(self, i2c, addr)
        self._pair = bytearray(13)

    def configure(self, rate_hz, acc_g=8, gyr_dps=1000):
        """Set ODR (104/208/416 Hz for 100/200/400), ranges and LPF2 (ODR/4); start FIFO."""
        code = self._setup(rate_hz, acc_g, gyr_dps, 0x02)  # LPF2_XL_EN
        self._w(_CTRL8_XL, 0x00)  # HPCF_XL = 000: LPF2 at ODR/4
        self._w(_DSOX_FIFO_CTRL4, 0x00)  # bypass: empties the FIFO
        self._w(_DSOX_FIFO_CTRL3, (code << 4) | code)  # BDR gyro | BDR accel
        self._w(_DSOX_FIFO_CTRL4, 0x06)  # continuous mode
        self._pair[0] = 0
        self._started()

    def _words(self):
        b = self._b2
        self.i2c.readfrom_mem_into(self.addr, _FIFO_STATUS1, b)
        if b[1] & 0x40:  # FIFO_OVR_IA
            return -1
        return b[0] | ((b[1] & 0x03) << 8)

    def _available(self):
        w = self._words()
        return w if w < 0 else w // 2

    def read(self, buf, max_samples):
        """Read up to ``max_samples`` samples (gyro/accel word pairs) into ``buf``."""
        room = len(buf) // SAMPLE_BYTES
        if max_samples > room:
            max_samples = room
        now = time.ticks_us()
        words = self._words()
        if words < 0:
            self._overflowed()
            self._pair[0] = 0
            return 0
        # at most 2 * max_samples words: with one half pending that still fits max_samples
        todo = words if words < 2 * max_samples else 2 * max_samples
        done = 0
        left = todo
        chunk = self.CHUNK
        while left > 0:
            k = left if left < chunk else chunk
            self.i2c.readfrom_mem_into(self.addr, _DSOX_FIFO_DATA_OUT_TAG, self._views[k])
            done += _unpack_tagged(self._raw, k, self._pair, buf, done * SAMPLE_BYTES)
            left -= k
        self._backlog = (words - todo) // 2
        self._t_read_us = now
        self._t_read_ms = time.ticks_ms()
        return done

    def _reset_fifo(self):
        self._w(_DSOX_FIFO_CTRL4, 0x00)
        self._w(_DSOX_FIFO_CTRL4, 0x06)
        self._pair[0] = 0

"""TDK ICM-42688-P driver (FIFO, I2C, user bank 0). DS-000347 rev 1.7:
DEVICE_CONFIG 0x11 (bit 0 SOFT_RESET_CONFIG, wait 1 ms), FIFO_CONFIG 0x16 (bits 7:6 FIFO_MODE,
10 = stop-on-full), INT_STATUS 0x2D (bit 1 FIFO_FULL_INT, cleared on read), FIFO_COUNTH/L
0x2E/0x2F (bytes, big-endian by default), FIFO_DATA 0x30, SIGNAL_PATH_RESET 0x4B (bit 1
FIFO_FLUSH), PWR_MGMT0 0x4E (0x0F: gyro + accel low-noise), GYRO_CONFIG0 0x4F and
ACCEL_CONFIG0 0x50 (FS_SEL bits 7:5, ODR bits 3:0), GYRO_ACCEL_CONFIG0 0x52 (UI filter
bandwidths), FIFO_CONFIG1 0x5F (bit 0 accel, bit 1 gyro), WHO_AM_I 0x75 = 0x47,
REG_BANK_SEL 0x76. FIFO "packet 3" (6.1): header, ACCEL XYZ, GYRO XYZ (big-endian), TEMP (1),
TIMESTAMP (2) = 16 bytes; the 2 KiB FIFO holds 128 of them.
"""

import time

from micropython import const

from imu._base import FifoDriver, check_config

_DEVICE_CONFIG = const(0x11)
_FIFO_CONFIG = const(0x16)
_INT_STATUS = const(0x2D)
_FIFO_COUNTH = const(0x2E)
_FIFO_DATA = const(0x30)
_SIGNAL_PATH_RESET = const(0x4B)
_PWR_MGMT0 = const(0x4E)
_GYRO_CONFIG0 = const(0x4F)
_ACCEL_CONFIG0 = const(0x50)
_GYRO_ACCEL_CONFIG0 = const(0x52)
_FIFO_CONFIG1 = const(0x5F)
_FIFO_LOST_PKT0 = const(0x6C)
_REG_BANK_SEL = const(0x76)
_FIFO_FULL = const(0x02)

# requested rate -> (ODR code, UI filter BW code, ODR Hz). The ICM-42688-P has no 400 Hz ODR;
# 500 Hz (code 15) is used. UI LPF bandwidth (14.39) kept below Nyquist:
# 100 Hz: max(400, ODR)/10 = 40 Hz; 200 Hz: /5 = 80 Hz; 500 Hz: max(400, ODR)/4 = 125 Hz.
_RATE = {100: (8, 4, 100), 200: (7, 2, 200), 400: (15, 1, 500)}
_ACC_CODE = {16: 0, 8: 1, 4: 2, 2: 3}
_GYR_CODE = {2000: 0, 1000: 1, 500: 2, 250: 3}
_GYR_LSB = {2000: 16.4, 1000: 32.8, 500: 65.5, 250: 131.0}


class Icm42688(FifoDriver):
    chip = "icm42688p"
    chip_id = 4
    PKT = 16
    FIFO_REG = _FIFO_DATA
    ACC_OFF = 1
    GYR_OFF = 7
    BIG = 1
    FIFO_SAMPLES = 2048 // 16

    def __init__(self, i2c, addr, who=0x47):
        FifoDriver.__init__(self, i2c, addr)

    def configure(self, rate_hz, acc_g=8, gyr_dps=1000):
        """Set the ODR (100, 200 or 400 -> 500 Hz), ranges and UI filter; start an empty FIFO."""
        check_config(rate_hz, acc_g, gyr_dps)
        odr_code, bw, odr = _RATE[rate_hz]
        self._w(_REG_BANK_SEL, 0)
        self._w(_DEVICE_CONFIG, 0x01)  # soft reset
        time.sleep_ms(2)
        self._w(_REG_BANK_SEL, 0)
        self._w(_GYRO_CONFIG0, (_GYR_CODE[gyr_dps] << 5) | odr_code)
        self._w(_ACCEL_CONFIG0, (_ACC_CODE[acc_g] << 5) | odr_code)
        self._w(_GYRO_ACCEL_CONFIG0, (bw << 4) | bw)
        self._w(_FIFO_CONFIG1, 0x03)  # accel + gyro -> packet 3
        self._w(_FIFO_CONFIG, 0x80)  # stop-on-full
        self._w(_PWR_MGMT0, 0x0F)  # gyro + accel low-noise mode
        time.sleep_ms(45)  # gyro start-up: 30 ms typ., keep on >= 45 ms (DS-000347 3.1, 14.36)
        self._w(_SIGNAL_PATH_RESET, 0x02)  # FIFO_FLUSH
        self._r(_INT_STATUS)
        self.rate_hz = odr
        self.acc_g = acc_g
        self.gyr_dps = gyr_dps
        self._scales(2048.0 * (1 << _ACC_CODE[acc_g]), _GYR_LSB[gyr_dps])
        self._started()

    def _available(self):
        b = self._b2
        self.i2c.readfrom_mem_into(self.addr, _INT_STATUS, self._b1)
        if self._b1[0] & _FIFO_FULL:
            return -1
        self.i2c.readfrom_mem_into(self.addr, _FIFO_COUNTH, b)
        return ((b[0] << 8) | b[1]) >> 4

    def _overflowed(self):
        # Stop-on-full: the FIFO holds whole packets and FIFO_LOST_PKT0/1 (0x6C/0x6D, low byte
        # first) count the packets refused since the last flush, so the loss is counted on
        # the IMU's own clock: discarded content + refused packets (not the hot path).
        b = bytearray(2)
        self.i2c.readfrom_mem_into(self.addr, _FIFO_COUNTH, self._b2)
        self.i2c.readfrom_mem_into(self.addr, _FIFO_LOST_PKT0, b)
        refused = b[0] | (b[1] << 8)
        if refused == 0xFFFF:  # saturated: fall back to the estimate on the MCU clock
            FifoDriver._overflowed(self)
            return
        self._reset_fifo()
        self.fifo_overflows += 1
        self.samples_lost += (((self._b2[0] << 8) | self._b2[1]) >> 4) + refused
        self._started()

    def _reset_fifo(self):
        self._w(_SIGNAL_PATH_RESET, 0x02)
        self._r(_INT_STATUS)

"""InvenSense MPU-6050 / MPU-6500 / MPU-6886 driver (FIFO, I2C).

Registers (RM-MPU-6000A-00 rev 4.2 = "6050", RM-MPU-6500A-00 rev 2.1 = "6500",
DS-000193 rev 1.1 = "6886"): SMPLRT_DIV 0x19, CONFIG 0x1A (DLPF_CFG; 6500/6886 bit 6
FIFO_MODE = keep data when full), GYRO_CONFIG 0x1B (FS_SEL bits 4:3), ACCEL_CONFIG 0x1C
(AFS_SEL bits 4:3), ACCEL_CONFIG2 0x1D (6500/6886 A_DLPF_CFG), FIFO_EN 0x23, INT_STATUS 0x3A
(bit 4 FIFO_OFLOW_INT, cleared on read), USER_CTRL 0x6A (bit 6 FIFO_EN, bit 2 FIFO_RESET),
PWR_MGMT_1 0x6B (bit 7 DEVICE_RESET, bit 6 SLEEP), FIFO_COUNTH/L 0x72/0x73 (big-endian),
FIFO_R_W 0x74, WHO_AM_I 0x75 (0x68 / 0x70 / 0x19).
Sample rate = 1 kHz / (1 + SMPLRT_DIV) with the DLPF on (6050 4.2). FIFO data is big-endian in
data-register order: ACCEL XYZ (+ TEMP on the 6886) + GYRO XYZ.
"""

import time

from micropython import const

from imu._base import FifoDriver, check_config

_SMPLRT_DIV = const(0x19)
_CONFIG = const(0x1A)
_GYRO_CONFIG = const(0x1B)
_ACCEL_CONFIG = const(0x1C)
_ACCEL_CONFIG2 = const(0x1D)
_FIFO_EN = const(0x23)
_INT_STATUS = const(0x3A)
_USER_CTRL = const(0x6A)
_PWR_MGMT_1 = const(0x6B)
_FIFO_COUNTH = const(0x72)
_FIFO_R_W = const(0x74)
_FIFO_OFLOW = const(0x10)

# requested rate -> (SMPLRT_DIV, DLPF_CFG, ODR Hz). DLPF bandwidth below Nyquist:
# 100 Hz: 44/42 Hz (cfg 3), 200 Hz: 94/98 Hz (cfg 2), 500 Hz: 184/188 Hz (cfg 1).
# 400 Hz is not reachable from 1 kHz; the next rate up, 500 Hz, is used.
_RATE = {100: (9, 3, 100), 200: (4, 2, 200), 400: (1, 1, 500)}
_ACC_CODE = {2: 0, 4: 1, 8: 2, 16: 3}
_GYR_CODE = {250: 0, 500: 1, 1000: 2, 2000: 3}
_GYR_LSB = const((131.0, 65.5, 32.8, 16.4))

CHIPS = {0x68: ("mpu6050", 1), 0x70: ("mpu6500", 2), 0x19: ("mpu6886", 3)}


class Mpu6x(FifoDriver):
    FIFO_REG = _FIFO_R_W
    ACC_OFF = 0
    BIG = 1

    def __init__(self, i2c, addr, who):
        self.chip, self.chip_id = CHIPS[who]
        if self.chip_id == 3:  # MPU-6886: ACCEL TEMP GYRO = 14 bytes, 1 KiB FIFO
            self.PKT = 14
            self.GYR_OFF = 8
            self.FIFO_SAMPLES = 1024 // 14
            self._fifo_bytes = 1024
        elif self.chip_id == 2:  # MPU-6500: 512-byte FIFO
            self.PKT = 12
            self.GYR_OFF = 6
            self.FIFO_SAMPLES = 512 // 12
            self._fifo_bytes = 512
        else:  # MPU-6050: 1024-byte FIFO
            self.PKT = 12
            self.GYR_OFF = 6
            self.FIFO_SAMPLES = 1024 // 12
            self._fifo_bytes = 1024
        FifoDriver.__init__(self, i2c, addr)

    def configure(self, rate_hz, acc_g=8, gyr_dps=1000):
        """Set the ODR (100, 200 or 400 -> 500 Hz), ranges and DLPF; start an empty FIFO."""
        check_config(rate_hz, acc_g, gyr_dps)
        div, dlpf, odr = _RATE[rate_hz]
        self._w(_PWR_MGMT_1, 0x80)  # DEVICE_RESET
        time.sleep_ms(100)  # 6050 4.28: wait 100 ms after reset
        self._w(_PWR_MGMT_1, 0x01)  # wake, PLL clock
        time.sleep_ms(10)
        self._w(_SMPLRT_DIV, div)
        self._w(_CONFIG, dlpf if self.chip_id == 1 else (0x40 | dlpf))
        self._w(_GYRO_CONFIG, _GYR_CODE[gyr_dps] << 3)
        self._w(_ACCEL_CONFIG, _ACC_CODE[acc_g] << 3)
        if self.chip_id != 1:
            self._w(_ACCEL_CONFIG2, dlpf)  # accel DLPF, same bandwidth class
        time.sleep_ms(40)  # gyro start-up (30 ms typ., 6050 product spec 6.1) before the FIFO
        self._w(_USER_CTRL, 0x04)  # FIFO_RESET
        self._w(_FIFO_EN, 0x18 if self.chip_id == 3 else 0x78)
        self._w(_USER_CTRL, 0x40)  # FIFO_EN
        self._r(_INT_STATUS)  # clear a stale overflow flag
        self.rate_hz = odr
        self.acc_g = acc_g
        self.gyr_dps = gyr_dps
        self._scales(16384.0 / (1 << _ACC_CODE[acc_g]), _GYR_LSB[_GYR_CODE[gyr_dps]])
        self._started()

    def _available(self):
        b = self._b2
        self.i2c.readfrom_mem_into(self.addr, _INT_STATUS, self._b1)
        if self._b1[0] & _FIFO_OFLOW:
            return -1
        self.i2c.readfrom_mem_into(self.addr, _FIFO_COUNTH, b)
        count = (b[0] << 8) | b[1]
        if count > self._fifo_bytes - self.PKT:
            # full: it may have overflowed after INT_STATUS was read, or stored a partial
            # packet; either way the content can be misaligned, so treat it as an overflow
            return -1
        return count // self.PKT

    def _reset_fifo(self):
        self._w(_USER_CTRL, 0x44)  # FIFO_EN | FIFO_RESET
        self._r(_INT_STATUS)

"""MPU-6050 / MPU-6500 / MPU-6886 register model for the virtual board (see :mod:`_simchips`)."""

from _simchips import Chip, _put_be

# ======================================================================================
# InvenSense MPU-6050 / MPU-6500 / MPU-6886
# ======================================================================================
_MPU_SMPLRT_DIV = 0x19
_MPU_CONFIG = 0x1A
_MPU_GYRO_CONFIG = 0x1B
_MPU_ACCEL_CONFIG = 0x1C
_MPU_FIFO_EN = 0x23
_MPU_INT_STATUS = 0x3A
_MPU_USER_CTRL = 0x6A
_MPU_PWR_MGMT_1 = 0x6B
_MPU_FIFO_COUNTH = 0x72
_MPU_FIFO_COUNTL = 0x73
_MPU_FIFO_R_W = 0x74
_MPU_GYRO_LSB = (131.0, 65.5, 32.8, 16.4)  # per FS_SEL 0..3 (250..2000 dps)


class Mpu6050(Chip):
    """MPU-6050: WHO_AM_I 0x75 = 0x68; 1024-byte FIFO that overwrites its oldest bytes."""

    NAME = "mpu6050"
    WHO_REG = 0x75
    WHO_VAL = 0x68
    FIFO_BYTES = 1024
    CLOCK_ERROR = 0.003
    RESET = {_MPU_PWR_MGMT_1: 0x40}  # SLEEP after power-on (RM-MPU-6000A 4.28)
    STOP_WHEN_FULL_CAPABLE = False

    def on_reset(self):
        self.latched_count = 0

    def layout(self):
        """Bytes per FIFO packet for the FIFO_EN bits (order of the data registers, 4.7)."""
        en = self.regs[_MPU_FIFO_EN]
        n = 0
        if en & 0x08:
            n += 6
        if en & 0x80:
            n += 2
        for bit in (0x40, 0x20, 0x10):
            if en & bit:
                n += 2
        return n

    def fifo_enabled(self):
        return bool(self.regs[_MPU_USER_CTRL] & 0x40) and self.layout() > 0

    def reconfigure(self):
        r = self.regs
        if r[_MPU_PWR_MGMT_1] & 0x40:
            self.set_rate(0.0)
            return
        dlpf = r[_MPU_CONFIG] & 7
        base = 1000.0 if 1 <= dlpf <= 6 else 8000.0  # 4.2: gyro output rate 8 kHz with DLPF off
        self.set_rate(base / (1 + r[_MPU_SMPLRT_DIV]))
        n = self.layout()
        self.PKT_BYTES = n if n else 12

    def acc_lsb_per_g(self):
        return 16384.0 / (1 << ((self.regs[_MPU_ACCEL_CONFIG] >> 3) & 3))

    def gyr_lsb_per_dps(self):
        return _MPU_GYRO_LSB[(self.regs[_MPU_GYRO_CONFIG] >> 3) & 3]

    def overflow(self):
        self.regs[_MPU_INT_STATUS] |= 0x10  # FIFO_OFLOW_INT

    def stop_when_full(self) -> bool:
        return False

    def store(self, raw):
        en = self.regs[_MPU_FIFO_EN]
        p = self.pkt
        if len(p) < self.PKT_BYTES:
            p = self.pkt = bytearray(self.PKT_BYTES)
        n = 0
        if en & 0x08:
            for j in range(3):
                _put_be(p, n, raw[j])
                n += 2
        if en & 0x80:
            _put_be(p, n, 0)  # 36.53 degC
            n += 2
        for j, bit in ((3, 0x40), (4, 0x20), (5, 0x10)):
            if en & bit:
                _put_be(p, n, raw[j])
                n += 2
        self.fifo_push(p, n, self.stop_when_full(), 1 if not self.stop_when_full() else n)

    def read(self, reg):
        if reg == _MPU_INT_STATUS:
            v = self.regs[reg]
            self.regs[reg] = 0  # cleared on read
            return v
        if reg == _MPU_FIFO_COUNTH:
            self.latched_count = self.fcount
            return self.fcount >> 8
        if reg == _MPU_FIFO_COUNTL:
            return self.latched_count & 0xFF
        if reg == _MPU_FIFO_R_W:
            return self.fifo_pop()
        return self.regs[reg]

    def write(self, reg, val):
        if reg == _MPU_PWR_MGMT_1 and val & 0x80:
            self.power_on_reset()  # DEVICE_RESET
            return
        if reg == _MPU_USER_CTRL and val & 0x04:
            self.fifo_clear()  # FIFO_RESET, self-clearing
            val &= ~0x04
        if reg == _MPU_USER_CTRL:
            val &= ~0x01  # SIG_COND_RESET self-clears
        if reg in (_MPU_INT_STATUS, self.WHO_REG, _MPU_FIFO_COUNTH, _MPU_FIFO_COUNTL):
            return  # read-only
        if reg == _MPU_FIFO_R_W:
            return
        self.regs[reg] = val
        self.reconfigure()

    def next_reg(self, reg):
        return reg if reg == _MPU_FIFO_R_W else (reg + 1) & 0xFF


class Mpu6500(Mpu6050):
    """MPU-6500: WHO_AM_I 0x70; 512-byte FIFO; CONFIG bit 6 FIFO_MODE = stop when full."""

    NAME = "mpu6500"
    WHO_VAL = 0x70
    FIFO_BYTES = 512
    CLOCK_ERROR = -0.002
    RESET = {_MPU_PWR_MGMT_1: 0x01}

    def stop_when_full(self):
        return bool(self.regs[_MPU_CONFIG] & 0x40)

    def reconfigure(self):
        r = self.regs
        if r[_MPU_PWR_MGMT_1] & 0x40:
            self.set_rate(0.0)
            return
        dlpf = r[_MPU_CONFIG] & 7
        fchoice_b = r[_MPU_GYRO_CONFIG] & 3
        base = 1000.0 if (1 <= dlpf <= 6 and fchoice_b == 0) else 8000.0
        self.set_rate(base / (1 + r[_MPU_SMPLRT_DIV]))
        n = self.layout()
        self.PKT_BYTES = n if n else 12


class Mpu6886(Mpu6500):
    """MPU-6886: WHO_AM_I 0x19; 1 KiB FIFO; FIFO_EN bit 4 (gyro) / bit 3 (accel) each add TEMP.

    A packet with both enabled is ACCEL(6) TEMP(2) GYRO(6) = 14 bytes, big-endian.
    """

    NAME = "mpu6886"
    WHO_VAL = 0x19
    FIFO_BYTES = 1024
    CLOCK_ERROR = 0.0015
    RESET = {_MPU_PWR_MGMT_1: 0x41}

    def layout(self):
        en = self.regs[_MPU_FIFO_EN]
        n = 0
        if en & 0x08:
            n += 6
        if en & 0x18:
            n += 2
        if en & 0x10:
            n += 6
        return n

    def store(self, raw):
        en = self.regs[_MPU_FIFO_EN]
        p = self.pkt
        if len(p) < 14:
            p = self.pkt = bytearray(14)
        n = 0
        if en & 0x08:
            for j in range(3):
                _put_be(p, n, raw[j])
                n += 2
        if en & 0x18:
            _put_be(p, n, 0)
            n += 2
        if en & 0x10:
            for j in range(3, 6):
                _put_be(p, n, raw[j])
                n += 2
        stop = self.stop_when_full()
        self.fifo_push(p, n, stop, n if stop else 1)

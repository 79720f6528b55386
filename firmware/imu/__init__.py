"""IMU discovery: ``probe(i2c, addresses)`` returns the driver of the first chip whose
WHO_AM_I answers, or a :class:`NoImu` (never ``None``).

Driver API (docs/firmware.md, "IMU drivers"): ``chip``, ``chip_id``, ``configure(rate_hz)``,
``rate_hz``, ``acc_mps2_per_lsb``, ``gyr_dps_per_lsb``, ``read(buf, max_samples)``,
``fifo_overflows``, ``samples_lost``.
"""

from micropython import const

CHIP_NONE = const(0)
CHIP_MPU6050 = const(1)
CHIP_MPU6500 = const(2)
CHIP_MPU6886 = const(3)
CHIP_ICM42688P = const(4)
CHIP_LSM6DS3 = const(5)
CHIP_LSM6DSOX = const(6)
CHIP_NAMES = ("none", "mpu6050", "mpu6500", "mpu6886", "icm42688p", "lsm6ds3", "lsm6dsox")

# every address a supported chip can have: MPU/ICM AD0 low/high, LSM6 SA0 low/high
ALL_ADDRESSES = (0x68, 0x69, 0x6A, 0x6B)
_WHO_INVENSENSE = const(0x75)  # WHO_AM_I of the MPU family and the ICM-42688-P
_WHO_ST = const(0x0F)  # WHO_AM_I of the LSM6 family


class NoImu:
    """The explicit "no sensor" object: same API, reads nothing."""

    chip = "none"
    chip_id = CHIP_NONE
    addr = -1
    rate_hz = 0
    acc_mps2_per_lsb = 0.0
    gyr_dps_per_lsb = 0.0
    acc_g = 0
    gyr_dps = 0
    fifo_overflows = 0
    samples_lost = 0

    def __init__(self, reason="no known IMU answered", errors=0):
        self.reason = reason
        self.errors = errors  # I2C errors other than "no device" (ENODEV) while probing

    def configure(self, rate_hz, acc_g=8, gyr_dps=1000):
        from imu._base import check_config

        check_config(rate_hz, acc_g, gyr_dps)

    def read(self, buf, max_samples):
        return 0

    def lost_until(self, t_us):
        return 0


def identify(reg, who):
    """Driver class for a WHO_AM_I value read at ``reg``, or None."""
    if reg == _WHO_INVENSENSE:
        if who in (0x68, 0x70, 0x19):
            from imu.mpu6x import Mpu6x

            return Mpu6x
        if who == 0x47:
            from imu.icm42688 import Icm42688

            return Icm42688
    elif reg == _WHO_ST:
        if who == 0x69:
            from imu.lsm6ds import Lsm6ds3

            return Lsm6ds3
        if who == 0x6C:
            from imu.lsm6ds import Lsm6dsox

            return Lsm6dsox
    return None


def preload(chip):
    """Import the driver module of ``chip`` (a board profile's ``imu.expected``) now: boot
    does it before the ring takes the heap, so loading the code later needs no free block."""
    if not isinstance(chip, str):
        return
    if chip.startswith("mpu"):
        import imu.mpu6x
    elif chip.startswith("icm"):
        import imu.icm42688
    elif chip.startswith("lsm"):
        import imu.lsm6ds  # noqa: F401


def probe(i2c, addresses=ALL_ADDRESSES):
    """Try each address (both WHO_AM_I registers); return a driver or a :class:`NoImu`.

    An address that does not answer (``OSError``, e.g. ENODEV) is skipped; the reason of the
    last failure is kept in ``NoImu.reason`` for the status report and bus errors other than
    ENODEV (19) are counted in ``NoImu.errors``.
    """
    b = bytearray(1)
    errors = 0
    reason = "no device answered at " + ",".join(hex(a) for a in addresses)
    for addr in addresses:
        for reg in (_WHO_INVENSENSE, _WHO_ST):
            try:
                i2c.readfrom_mem_into(addr, reg, b)
            except OSError as e:
                code = e.args[0] if e.args else -1
                if code != 19:
                    errors += 1
                reason = "I2C error %d at %s" % (code, hex(addr))
                break
            cls = identify(reg, b[0])
            if cls is not None:
                return cls(i2c, addr, b[0])
            if reg == _WHO_INVENSENSE or b[0] not in (0x00, 0xFF):
                reason = "unknown WHO_AM_I 0x%02x (reg 0x%02x) at %s" % (b[0], reg, hex(addr))
    return NoImu(reason, errors)

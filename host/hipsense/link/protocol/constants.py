"""Protocol v1 numbers: frame types, commands, result codes, sizes and GATT UUIDs.

The values mirror ``firmware/protocol.py`` (checked by tests/test_protocol_golden.py).
"""

from __future__ import annotations

import enum

VERSION = 1
PROTO_MINOR = 2

HEADER_SIZE = 12
SAMPLE_SIZE_ANGLES = 6
SAMPLE_SIZE_RAW = 18
CONFIG_SIZE = 20
STATUS_SIZE = 36
SETTINGS_SIZE = 32  # GET_SETTINGS reply payload
MARKER_SIZE = 8
COMMAND_HEADER_SIZE = 4
REPLY_HEADER_SIZE = 5
ERROR_HEADER_SIZE = 3
MAX_COUNT = 255
DEFAULT_MTU = 23
MAX_MTU = 247
ATT_OVERHEAD = 3
MAX_FRAME_SIZE = MAX_MTU - ATT_OVERHEAD

FLAG_RAW = 0x01
FLAG_RESENT = 0x02
SAMPLES_KNOWN_FLAGS = FLAG_RAW | FLAG_RESENT
CONTENT_RAW = 0x01
CONFIG_ALIGNED = 0x01
CONFIG_GYRO_CALIBRATED = 0x02
CONFIG_EXACT_PERIOD = 0x04  # protocol 1.2: samples 1/rate_hz apart exactly (docs/protocol.md)

ANGLE_NONE = -32768
# every raw axis of a sample the IMU lost (FIFO overflow, re-initialisation): no measurement
RAW_LOST = -32768


class _OpenIntEnum(enum.IntEnum):
    """An IntEnum that also accepts unknown byte values (a newer firmware may send them).

    ``Result(42)`` gives a member named ``UNKNOWN_42`` instead of raising, so a decoder never
    fails on a code added in a later protocol revision.
    """

    @classmethod
    def _missing_(cls, value: object) -> _OpenIntEnum | None:
        if isinstance(value, int) and 0 <= value <= 0xFF:
            member = int.__new__(cls, value)
            member._name_ = f"UNKNOWN_{value}"
            member._value_ = value
            return member
        return None

    @property
    def known(self) -> bool:
        """False for a value this version of hipsense has no name for."""
        return self._name_ in type(self).__members__


class FrameType(enum.IntEnum):
    SAMPLES = 0x01
    CONFIG = 0x02
    STATUS = 0x03
    COMMAND = 0x04
    REPLY = 0x05
    MARKER = 0x06
    ERROR = 0x07


class Command(_OpenIntEnum):
    START = 0x01
    STOP = 0x02
    SET_RATE = 0x03
    SET_CONTENT = 0x04
    CALIBRATE_GYRO = 0x05
    ALIGN_MOUNTING = 0x06
    MARKER = 0x07
    GET_STATUS = 0x08
    REBOOT = 0x09
    RESEND = 0x0A
    GET_CONFIG = 0x0B
    SET_MOUNTING = 0x0C
    PAIRING = 0x0D
    FORGET_BONDS = 0x0E
    START_TAKEOVER = 0x0F
    GET_SETTINGS = 0x10


# struct format (little-endian, without the "<") of each command's arguments.
COMMAND_ARGS_FORMAT: dict[Command, str] = {
    Command.START: "",
    Command.STOP: "",
    Command.SET_RATE: "H",
    Command.SET_CONTENT: "B",
    Command.CALIBRATE_GYRO: "B",
    Command.ALIGN_MOUNTING: "B",
    Command.MARKER: "B",
    Command.GET_STATUS: "",
    Command.REBOOT: "",
    Command.RESEND: "I",
    Command.GET_CONFIG: "",
    Command.SET_MOUNTING: "4f",
    Command.PAIRING: "B",
    Command.FORGET_BONDS: "",
    Command.START_TAKEOVER: "",
    Command.GET_SETTINGS: "",
}


class Result(_OpenIntEnum):
    OK = 0
    UNKNOWN_COMMAND = 1
    MALFORMED = 2
    BAD_VALUE = 3
    BUSY = 4
    FAILED = 5
    UNSUPPORTED_VERSION = 6


class ErrorCode(_OpenIntEnum):
    IMU_LOST = 1
    I2C_ERROR = 2
    LOW_BATTERY = 3
    FIFO_OVERFLOW = 4
    BAD_FRAME = 5


class ImuChip(_OpenIntEnum):
    """The IMU codes of CONFIG; the host's one chip-name table (``chip_name``). The firmware's
    ``imu.CHIP_NAMES``, the simulated chips of ``hipsense.sim.chips`` and of the virtual board
    use the same names (``tests/test_conventions_sources.py``)."""

    NONE = 0
    MPU6050 = 1
    MPU6500 = 2
    MPU6886 = 3
    ICM42688P = 4
    LSM6DS3 = 5
    LSM6DSOX = 6

    @property
    def chip_name(self) -> str | None:
        """``"mpu6886"`` etc. (the names of ``--chip`` and the recordings); None for no chip
        or a code this version does not know."""
        return self.name.lower() if self.known and self != ImuChip.NONE else None


class BoardState(_OpenIntEnum):
    IDLE = 0
    STREAMING = 1
    CALIBRATING = 2
    NO_IMU = 3
    IMU_ERROR = 4
    LOW_BATTERY = 5


# GATT (docs/protocol.md "Bluetooth LE").
SERVICE_UUID = "8e5b0001-3a1c-4f7e-9d2b-5f1a6c0e4b21"
DATA_UUID = "8e5b0002-3a1c-4f7e-9d2b-5f1a6c0e4b21"
CONTROL_UUID = "8e5b0003-3a1c-4f7e-9d2b-5f1a6c0e4b21"
STATUS_UUID = "8e5b0004-3a1c-4f7e-9d2b-5f1a6c0e4b21"


def _sig_uuid(short: int) -> str:
    return f"0000{short:04x}-0000-1000-8000-00805f9b34fb"


DEVICE_INFORMATION_SERVICE_UUID = _sig_uuid(0x180A)
MANUFACTURER_NAME_UUID = _sig_uuid(0x2A29)
MODEL_NUMBER_UUID = _sig_uuid(0x2A24)
FIRMWARE_REVISION_UUID = _sig_uuid(0x2A26)
SOFTWARE_REVISION_UUID = _sig_uuid(0x2A28)
BATTERY_SERVICE_UUID = _sig_uuid(0x180F)
BATTERY_LEVEL_UUID = _sig_uuid(0x2A19)

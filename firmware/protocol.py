"""Wire protocol v1 encoder (board side), see docs/protocol.md.

Every ``pack_*`` function writes one frame into a caller-provided, preallocated ``bytearray``
and returns the number of bytes written (or the next offset). ``pack_samples_header``,
``pack_sample`` and ``pack_sample_raw`` allocate nothing (proven with ``heap_lock`` in
tests/test_protocol_firmware.py); all integers they handle are below 2**30, so they stay
small ints on the ESP32 as well.
"""

import struct

from micropython import const

VERSION = const(1)
# 1: PAIRING, FORGET_BONDS, START_TAKEOVER, GET_SETTINGS; 2: CONFIG flag EXACT_PERIOD
PROTO_MINOR = const(2)
FW_VERSION = (0, 1, 0)

# Frame types (stable ids, a retired id is never reused).
T_SAMPLES = const(1)
T_CONFIG = const(2)
T_STATUS = const(3)
T_COMMAND = const(4)
T_REPLY = const(5)
T_MARKER = const(6)
T_ERROR = const(7)

# Sizes in bytes.
HEADER_SIZE = const(12)
SAMPLE_SIZE_ANGLES = const(6)
SAMPLE_SIZE_RAW = const(18)
CONFIG_SIZE = const(20)
STATUS_SIZE = const(36)
MARKER_SIZE = const(8)
COMMAND_HEADER_SIZE = const(4)
REPLY_HEADER_SIZE = const(5)
ERROR_HEADER_SIZE = const(3)
MAX_MTU = const(247)
MAX_FRAME_SIZE = const(244)  # MAX_MTU - 3: the largest frame on BLE and on serial
MAX_COUNT = const(255)

# SAMPLES flags and CONFIG/STATUS content bits.
FLAG_RAW = const(1)
FLAG_RESENT = const(2)
CONTENT_RAW = const(1)
# CONFIG flags.
_CFG_ALIGNED = const(1)
_CFG_GYRO_CALIBRATED = const(2)
CFG_EXACT_PERIOD = const(4)  # samples are 1/rate_hz apart exactly; period_100us is rounded

SEQ_MODULUS = const(1 << 30)
SEQ_MASK = const((1 << 30) - 1)

ANGLE_NONE = const(-32768)

# Commands (host -> board).
CMD_START = const(0x01)
CMD_STOP = const(0x02)
CMD_SET_RATE = const(0x03)
CMD_SET_CONTENT = const(0x04)
CMD_CALIBRATE_GYRO = const(0x05)
CMD_ALIGN_MOUNTING = const(0x06)
CMD_MARKER = const(0x07)
CMD_GET_STATUS = const(0x08)
CMD_REBOOT = const(0x09)
CMD_RESEND = const(0x0A)
CMD_GET_CONFIG = const(0x0B)
CMD_SET_MOUNTING = const(0x0C)
CMD_PAIRING = const(0x0D)
CMD_FORGET_BONDS = const(0x0E)
CMD_START_TAKEOVER = const(0x0F)
CMD_GET_SETTINGS = const(0x10)
SETTINGS_SIZE = const(32)  # GET_SETTINGS reply payload

# Reply result codes.
R_OK = const(0)
R_UNKNOWN_COMMAND = const(1)
R_MALFORMED = const(2)
R_BAD_VALUE = const(3)
R_BUSY = const(4)
R_FAILED = const(5)
R_UNSUPPORTED_VERSION = const(6)

# ERROR frame codes.
E_IMU_LOST = const(1)
E_I2C_ERROR = const(2)
E_LOW_BATTERY = const(3)
E_FIFO_OVERFLOW = const(4)
E_BAD_FRAME = const(5)

# Board states (STATUS byte 2).
S_IDLE = const(0)
S_STREAMING = const(1)
S_CALIBRATING = const(2)
S_NO_IMU = const(3)
S_IMU_ERROR = const(4)
S_LOW_BATTERY = const(5)

# Argument length of each known command, indexed by command id (0 is not a command).
_ARG_LEN = const(b"\x00\x00\x00\x02\x01\x01\x01\x01\x00\x00\x04\x00\x10\x01\x00\x00\x00")
_N_COMMANDS = const(17)


def pack_samples_header(buf, flags, count, seq, t_100us):
    """SAMPLES header: ``count`` samples from ``seq`` (mod 2**30) at ``t_100us`` (mod 2**30)."""
    struct.pack_into("<BBBBII", buf, 0, VERSION, T_SAMPLES, flags, count, seq, t_100us)
    return HEADER_SIZE


def pack_sample(buf, offset, tilt_cdeg, obliquity_cdeg, rotation_cdeg):
    """One angles-only sample (0.01 deg, ``ANGLE_NONE`` for no estimate) at ``offset``."""
    struct.pack_into("<hhh", buf, offset, tilt_cdeg, obliquity_cdeg, rotation_cdeg)
    return offset + SAMPLE_SIZE_ANGLES


def pack_sample_raw(buf, offset, tilt, obl, rot, ax, ay, az, gx, gy, gz):
    """One sample with angles (0.01 deg) and raw accelerometer and gyro counts (sensor frame)."""
    struct.pack_into("<9h", buf, offset, tilt, obl, rot, ax, ay, az, gx, gy, gz)
    return offset + SAMPLE_SIZE_RAW


def pack_config(
    buf,
    content,
    imu,
    rate_hz,
    period_100us,
    acc_mps2_per_lsb,
    gyr_dps_per_lsb,
    boot_id,
    flags,
    settings_gen=0,
):
    """CONFIG frame: how to read the SAMPLES frames that follow; ``settings_gen`` counts the
    changes of the stored settings since boot (mod 256)."""
    struct.pack_into(
        "<BBBBHHffHBB",
        buf,
        0,
        VERSION,
        T_CONFIG,
        content,
        imu,
        rate_hz,
        period_100us,
        acc_mps2_per_lsb,
        gyr_dps_per_lsb,
        boot_id,
        flags,
        settings_gen & 0xFF,
    )
    return CONFIG_SIZE


def pack_status(
    buf,
    state,
    battery_pct,
    battery_mv,
    imu,
    content,
    rate_hz,
    frames_sent,
    fifo_overflows,
    i2c_errors,
    samples_lost,
    boot_id,
    uptime_s,
):
    """STATUS frame (36 bytes); the counters are carried mod 2**30."""
    struct.pack_into(
        "<BBBBHBBHIIIIBBBBHI",
        buf,
        0,
        VERSION,
        T_STATUS,
        state,
        battery_pct,
        battery_mv,
        imu,
        content,
        rate_hz,
        frames_sent & SEQ_MASK,
        fifo_overflows & SEQ_MASK,
        i2c_errors & SEQ_MASK,
        samples_lost & SEQ_MASK,
        FW_VERSION[0],
        FW_VERSION[1],
        FW_VERSION[2],
        PROTO_MINOR,
        boot_id,
        uptime_s,
    )
    return STATUS_SIZE


def pack_reply(buf, token, command, result, payload=None, limit=MAX_FRAME_SIZE):
    """REPLY frame; ``payload`` (bytes-like) is sent only when ``result`` is ``R_OK``.

    ``limit`` is the largest frame the link takes now (BLE: MTU - 3). A payload that does not
    fit is left out (result still OK, empty payload; docs/protocol.md "REPLY").
    """
    buf[0] = VERSION
    buf[1] = T_REPLY
    buf[2] = token
    buf[3] = command
    buf[4] = result
    n = REPLY_HEADER_SIZE
    if payload is not None and result == R_OK:
        m = len(payload)
        if n + m <= min(limit, len(buf)):
            for i in range(m):
                buf[n + i] = payload[i]
            n += m
    return n


def pack_marker(buf, code, seq):
    """MARKER frame: ``code`` (0 = button) put at sample ``seq``."""
    struct.pack_into("<BBBBI", buf, 0, VERSION, T_MARKER, code, 0, seq)
    return MARKER_SIZE


def lost_text(n):
    """The ERROR frame's text for ``n`` lost samples: "1 sample lost", "4500 samples lost"."""
    return "%d sample%s lost" % (n, "" if n == 1 else "s")


def pack_error(buf, code, text, limit=MAX_FRAME_SIZE):
    """ERROR frame with UTF-8 ``text`` (str or bytes), cut on a character boundary to fit
    ``buf`` and ``limit`` (the largest frame the link takes now; BLE: MTU - 3)."""
    buf[0] = VERSION
    buf[1] = T_ERROR
    buf[2] = code
    data = text.encode() if isinstance(text, str) else text
    m = len(data)
    room = min(len(buf), limit) - ERROR_HEADER_SIZE
    if m > room:
        m = room
        # Never cut a multi-byte UTF-8 character: back up over continuation bytes (10xxxxxx).
        while m > 0 and (data[m] & 0xC0) == 0x80:
            m -= 1
    for i in range(m):
        buf[ERROR_HEADER_SIZE + i] = data[i]
    return ERROR_HEADER_SIZE + m


def parse_command(data, n):
    """Check that ``data[:n]`` is a COMMAND frame this firmware can execute.

    Returns ``(result, token, command)``: ``R_OK`` for a well-formed frame of a known command
    with the right argument length (arguments start at offset 4), otherwise the result code to
    reply with. ``token`` is -1 when the frame is too short to hold one or is not a COMMAND:
    the board then answers with an ERROR frame ``E_BAD_FRAME`` instead of a REPLY.
    ``command`` is 0 when the frame is too short to hold one.
    """
    if n < 3 or data[1] != T_COMMAND:
        return R_MALFORMED, -1, 0
    token = data[2]
    command = data[3] if n >= COMMAND_HEADER_SIZE else 0
    if data[0] != VERSION:
        return R_UNSUPPORTED_VERSION, token, command
    if n < COMMAND_HEADER_SIZE:
        return R_MALFORMED, token, 0
    if command == 0 or command >= _N_COMMANDS:
        return R_UNKNOWN_COMMAND, token, command
    if n - COMMAND_HEADER_SIZE != _ARG_LEN[command]:
        return R_MALFORMED, token, command
    return R_OK, token, command

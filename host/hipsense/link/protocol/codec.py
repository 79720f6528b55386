"""Frame decoder and encoder (host side of docs/protocol.md "Frames").

``decode_frame`` raises only :class:`ProtocolError` subclasses, whatever bytes it gets.
Samples are unpacked with one ``np.frombuffer`` per frame (no per-sample Python loop).
"""

from __future__ import annotations

import struct

import numpy as np

from hipsense.conventions.words import counted
from hipsense.link.protocol.constants import (
    COMMAND_ARGS_FORMAT,
    COMMAND_HEADER_SIZE,
    CONFIG_ALIGNED,
    CONFIG_EXACT_PERIOD,
    CONFIG_GYRO_CALIBRATED,
    CONFIG_SIZE,
    ERROR_HEADER_SIZE,
    FLAG_RAW,
    HEADER_SIZE,
    MARKER_SIZE,
    MAX_FRAME_SIZE,
    REPLY_HEADER_SIZE,
    SAMPLE_SIZE_ANGLES,
    SAMPLE_SIZE_RAW,
    SAMPLES_KNOWN_FLAGS,
    STATUS_SIZE,
    VERSION,
    BoardState,
    Command,
    ErrorCode,
    FrameType,
    ImuChip,
    Result,
)
from hipsense.link.protocol.errors import (
    MalformedFrame,
    UnknownFrameType,
    UnsupportedProtocolVersion,
)
from hipsense.link.protocol.frames import (
    CommandFrame,
    ConfigFrame,
    ErrorFrame,
    Frame,
    MarkerFrame,
    ReplyFrame,
    SamplesFrame,
    StatusFrame,
)
from hipsense.link.protocol.seq import SEQ_MODULUS

_SAMPLES_HEADER = struct.Struct("<BBBBII")
_CONFIG = struct.Struct("<BBBBHHffHBB")
_STATUS = struct.Struct("<BBBBHBBHIIIIBBBBHI")
_MARKER = struct.Struct("<BBBBI")
_I16_LE = np.dtype("<i2")

_KNOWN_TYPES = {int(t) for t in FrameType}


def _malformed(kind: FrameType, message: str) -> MalformedFrame:
    return MalformedFrame(f"malformed {kind.name} frame: {message}")


def _check_length(kind: FrameType, data: bytes, minimum: int) -> None:
    if len(data) < minimum:
        raise _malformed(kind, f"{len(data)} bytes, at least {minimum} expected")


def _decode_samples(data: bytes) -> SamplesFrame:
    kind = FrameType.SAMPLES
    _check_length(kind, data, HEADER_SIZE)
    _, _, flags, count, seq, t_100us = _SAMPLES_HEADER.unpack_from(data)
    if flags & ~SAMPLES_KNOWN_FLAGS:
        raise _malformed(kind, f"reserved flag bits set (flags 0x{flags:02X})")
    if count == 0:
        raise _malformed(kind, "sample count 0")
    if seq >= SEQ_MODULUS or t_100us >= SEQ_MODULUS:
        raise _malformed(kind, f"seq {seq} or t_100us {t_100us} not below 2**30")
    raw = bool(flags & FLAG_RAW)
    size = SAMPLE_SIZE_RAW if raw else SAMPLE_SIZE_ANGLES
    expected = HEADER_SIZE + count * size
    if len(data) != expected:
        raise _malformed(
            kind,
            f"{len(data)} bytes, {expected} expected for {counted(count, 'sample')} of {size} "
            "bytes",
        )
    values = np.frombuffer(data, dtype=_I16_LE, offset=HEADER_SIZE).reshape(count, size // 2)
    angles = values[:, :3].astype(np.int16)
    raw_values = values[:, 3:].astype(np.int16) if raw else None
    return SamplesFrame(flags=flags, seq=seq, t_100us=t_100us, angles_cdeg=angles, raw=raw_values)


def _decode_config(data: bytes) -> ConfigFrame:
    _check_length(FrameType.CONFIG, data, CONFIG_SIZE)
    _, _, content, imu, rate_hz, period, acc, gyr, boot_id, flags, gen = _CONFIG.unpack_from(data)
    return ConfigFrame(
        content=content,
        imu=ImuChip(imu),
        rate_hz=rate_hz,
        period_100us=period,
        acc_mps2_per_lsb=acc,
        gyr_dps_per_lsb=gyr,
        boot_id=boot_id,
        aligned=bool(flags & CONFIG_ALIGNED),
        gyro_calibrated=bool(flags & CONFIG_GYRO_CALIBRATED),
        settings_gen=gen,
        exact_period=bool(flags & CONFIG_EXACT_PERIOD),
    )


def _decode_status(data: bytes) -> StatusFrame:
    _check_length(FrameType.STATUS, data, STATUS_SIZE)
    fields = _STATUS.unpack_from(data)
    (_, _, state, pct, mv, imu, content, rate_hz, sent, overflows, i2c, lost,
     fw_major, fw_minor, fw_patch, proto_minor, boot_id, uptime_s) = fields  # fmt: skip
    return StatusFrame(
        state=BoardState(state),
        battery_pct=pct,
        battery_mv=mv,
        imu=ImuChip(imu),
        content=content,
        rate_hz=rate_hz,
        frames_sent=sent,
        fifo_overflows=overflows,
        i2c_errors=i2c,
        samples_lost=lost,
        fw_version=(fw_major, fw_minor, fw_patch),
        proto_minor=proto_minor,
        boot_id=boot_id,
        uptime_s=uptime_s,
    )


def _decode_command(data: bytes) -> CommandFrame:
    kind = FrameType.COMMAND
    _check_length(kind, data, COMMAND_HEADER_SIZE)
    command = Command(data[3])
    args = bytes(data[COMMAND_HEADER_SIZE:])
    fmt = COMMAND_ARGS_FORMAT.get(command)
    if fmt is not None and len(args) != struct.calcsize("<" + fmt):
        raise _malformed(
            kind,
            f"{command.name} takes {struct.calcsize('<' + fmt)} argument bytes, got {len(args)}",
        )
    return CommandFrame(token=data[2], command=command, args=args)


def _decode_reply(data: bytes) -> ReplyFrame:
    _check_length(FrameType.REPLY, data, REPLY_HEADER_SIZE)
    result = Result(data[4])
    payload = bytes(data[REPLY_HEADER_SIZE:]) if result == Result.OK else b""
    return ReplyFrame(token=data[2], command=Command(data[3]), result=result, payload=payload)


def _decode_marker(data: bytes) -> MarkerFrame:
    kind = FrameType.MARKER
    if len(data) != MARKER_SIZE:
        raise _malformed(kind, f"{len(data)} bytes, {MARKER_SIZE} expected")
    _, _, code, _, seq = _MARKER.unpack_from(data)
    if seq >= SEQ_MODULUS:
        raise _malformed(kind, f"seq {seq} not below 2**30")
    return MarkerFrame(code=code, seq=seq)


def _decode_error(data: bytes) -> ErrorFrame:
    _check_length(FrameType.ERROR, data, ERROR_HEADER_SIZE)
    text = data[ERROR_HEADER_SIZE:].decode("utf-8", errors="replace")
    return ErrorFrame(code=ErrorCode(data[2]), text=text)


_DECODERS = {
    FrameType.SAMPLES: _decode_samples,
    FrameType.CONFIG: _decode_config,
    FrameType.STATUS: _decode_status,
    FrameType.COMMAND: _decode_command,
    FrameType.REPLY: _decode_reply,
    FrameType.MARKER: _decode_marker,
    FrameType.ERROR: _decode_error,
}


def decode_frame(data: bytes | bytearray | memoryview) -> Frame:
    """Decode one frame (a BLE notification, or a serial frame after ``SerialDeframer``).

    Raises :class:`MalformedFrame`, :class:`UnsupportedProtocolVersion` or
    :class:`UnknownFrameType`; never another exception.
    """
    data = bytes(data)
    if len(data) < 2:
        raise MalformedFrame(
            f"frame of {len(data)} bytes is shorter than the 2-byte header (version, type)"
        )
    if data[0] != VERSION:
        raise UnsupportedProtocolVersion(found=data[0], supported=VERSION)
    if data[1] not in _KNOWN_TYPES:
        raise UnknownFrameType(data[1])
    kind = FrameType(data[1])
    return _DECODERS[kind](data)


def _header(kind: FrameType) -> bytes:
    return bytes((VERSION, kind))


def _encode_samples(frame: SamplesFrame) -> bytes:
    header = _SAMPLES_HEADER.pack(
        frame.version, FrameType.SAMPLES, frame.flags, frame.count, frame.seq, frame.t_100us
    )
    values = frame.angles_cdeg if frame.raw is None else np.hstack((frame.angles_cdeg, frame.raw))
    if values.dtype != np.int16 and (values.min() < -32768 or values.max() > 32767):
        raise ValueError("SAMPLES values must fit int16 (0.01 deg angles, raw counts)")
    return header + np.ascontiguousarray(values, dtype=_I16_LE).tobytes()


def _encode_config(frame: ConfigFrame) -> bytes:
    flags = (
        (CONFIG_ALIGNED if frame.aligned else 0)
        | (CONFIG_GYRO_CALIBRATED if frame.gyro_calibrated else 0)
        | (CONFIG_EXACT_PERIOD if frame.exact_period else 0)
    )
    return _CONFIG.pack(
        VERSION, FrameType.CONFIG, frame.content, frame.imu, frame.rate_hz, frame.period_100us,
        frame.acc_mps2_per_lsb, frame.gyr_dps_per_lsb, frame.boot_id, flags, frame.settings_gen,
    )  # fmt: skip


def _encode_status(frame: StatusFrame) -> bytes:
    return _STATUS.pack(
        VERSION, FrameType.STATUS, frame.state, frame.battery_pct, frame.battery_mv, frame.imu,
        frame.content, frame.rate_hz, frame.frames_sent, frame.fifo_overflows, frame.i2c_errors,
        frame.samples_lost, *frame.fw_version, frame.proto_minor, frame.boot_id, frame.uptime_s,
    )  # fmt: skip


def _encode_command(frame: CommandFrame) -> bytes:
    return _header(FrameType.COMMAND) + bytes((frame.token, frame.command)) + frame.args


def _encode_reply(frame: ReplyFrame) -> bytes:
    payload = frame.payload if frame.result == Result.OK else b""
    return _header(FrameType.REPLY) + bytes((frame.token, frame.command, frame.result)) + payload


def _encode_marker(frame: MarkerFrame) -> bytes:
    return _MARKER.pack(VERSION, FrameType.MARKER, frame.code, 0, frame.seq)


def _encode_error(frame: ErrorFrame) -> bytes:
    return _header(FrameType.ERROR) + bytes((frame.code,)) + frame.text.encode("utf-8")


def _encode_any(frame: Frame) -> bytes:
    if isinstance(frame, SamplesFrame):
        return _encode_samples(frame)
    if isinstance(frame, ConfigFrame):
        return _encode_config(frame)
    if isinstance(frame, StatusFrame):
        return _encode_status(frame)
    if isinstance(frame, CommandFrame):
        return _encode_command(frame)
    if isinstance(frame, ReplyFrame):
        return _encode_reply(frame)
    if isinstance(frame, MarkerFrame):
        return _encode_marker(frame)
    return _encode_error(frame)


def encode_frame(frame: Frame) -> bytes:
    """The bytes of ``frame`` (the host-side twin of the firmware encoder).

    Raises ``ValueError`` (or ``struct.error``/``OverflowError`` from ``struct``) for field
    values that do not fit the layout and for frames longer than the 244-byte maximum.
    """
    data = _encode_any(frame)
    if len(data) > MAX_FRAME_SIZE:
        raise ValueError(f"{type(frame).__name__} of {len(data)} bytes exceeds {MAX_FRAME_SIZE}")
    return data

"""Building COMMAND frames and reading REPLY payloads (docs/protocol.md "COMMAND")."""

from __future__ import annotations

import struct
from dataclasses import dataclass

from hipsense.link.protocol.codec import decode_frame
from hipsense.link.protocol.constants import (
    COMMAND_ARGS_FORMAT,
    CONTENT_RAW,
    SETTINGS_SIZE,
    STATUS_SIZE,
    VERSION,
    Command,
    FrameType,
    Result,
)
from hipsense.link.protocol.errors import MalformedFrame
from hipsense.link.protocol.frames import CommandFrame, ReplyFrame, StatusFrame
from hipsense.link.protocol.seq import SEQ_MODULUS

Quaternion = tuple[float, float, float, float]


def encode_command(token: int, command: int, args: bytes = b"") -> bytes:
    """A COMMAND frame. For a known command ``args`` must have its exact length."""
    if not 0 <= token <= 0xFF or not 0 <= command <= 0xFF:
        raise ValueError(f"token {token} and command {command} must be 0 .. 255")
    fmt = COMMAND_ARGS_FORMAT.get(Command(command))
    if fmt is not None and len(args) != struct.calcsize("<" + fmt):
        raise ValueError(
            f"{Command(command).name} takes {struct.calcsize('<' + fmt)} argument bytes, "
            f"got {len(args)}"
        )
    return bytes((VERSION, FrameType.COMMAND, token, command)) + bytes(args)


def _command(token: int, command: Command, *values: float) -> bytes:
    return encode_command(token, command, struct.pack("<" + COMMAND_ARGS_FORMAT[command], *values))


def cmd_start(token: int) -> bytes:
    return _command(token, Command.START)


def cmd_stop(token: int) -> bytes:
    return _command(token, Command.STOP)


def cmd_set_rate(token: int, rate_hz: int) -> bytes:
    return _command(token, Command.SET_RATE, rate_hz)


def cmd_set_content(token: int, raw: bool) -> bytes:
    return _command(token, Command.SET_CONTENT, CONTENT_RAW if raw else 0)


def cmd_calibrate_gyro(token: int, seconds: int) -> bytes:
    return _command(token, Command.CALIBRATE_GYRO, seconds)


def cmd_align_mounting(token: int, phase: int) -> bytes:
    return _command(token, Command.ALIGN_MOUNTING, phase)


def cmd_marker(token: int, code: int) -> bytes:
    return _command(token, Command.MARKER, code)


def cmd_get_status(token: int) -> bytes:
    return _command(token, Command.GET_STATUS)


def cmd_reboot(token: int) -> bytes:
    return _command(token, Command.REBOOT)


def cmd_resend(token: int, from_seq: int) -> bytes:
    """RESEND from sample ``from_seq`` (mod 2**30)."""
    if not 0 <= from_seq < SEQ_MODULUS:
        raise ValueError(f"from_seq {from_seq} outside 0 .. 2**30 - 1")
    return _command(token, Command.RESEND, from_seq)


def cmd_get_config(token: int) -> bytes:
    return _command(token, Command.GET_CONFIG)


def cmd_set_mounting(token: int, quaternion_wxyz: Quaternion) -> bytes:
    """SET_MOUNTING with the sensor → pelvis rotation as a unit quaternion (w, x, y, z)."""
    return _command(token, Command.SET_MOUNTING, *quaternion_wxyz)


def cmd_pairing(token: int, seconds: int) -> bytes:
    """PAIRING: open the board's BLE pairing window for ``seconds`` (1 … 120; 0 closes it)."""
    return _command(token, Command.PAIRING, seconds)


def cmd_forget_bonds(token: int) -> bytes:
    return _command(token, Command.FORGET_BONDS)


def cmd_start_takeover(token: int) -> bytes:
    """START that also takes a stream another host or link is running."""
    return _command(token, Command.START_TAKEOVER)


def cmd_get_settings(token: int) -> bytes:
    return _command(token, Command.GET_SETTINGS)


def command_args(frame: CommandFrame) -> tuple[float, ...]:
    """The arguments of a known command as numbers (for Python-side fakes of the board)."""
    fmt = COMMAND_ARGS_FORMAT.get(frame.command)
    if fmt is None:
        raise MalformedFrame(f"unknown command 0x{int(frame.command):02X}: no argument layout")
    try:
        return struct.unpack("<" + fmt, frame.args)
    except struct.error as exc:
        raise MalformedFrame(f"{frame.command.name} arguments: {exc}") from None


def check_command(data: bytes | bytearray | memoryview) -> tuple[Result, int, int]:
    """What a board answers to ``data`` before looking at values or state: the checks of
    docs/protocol.md "COMMAND" in order, the host twin of the firmware's ``parse_command``.

    Returns ``(result, token, command)``; ``token`` is -1 when the board answers with an ERROR
    frame ``BAD_FRAME`` instead of a REPLY, ``command`` is 0 when the frame holds none.
    """
    data = bytes(data)
    if len(data) < 3 or data[1] != FrameType.COMMAND:
        return Result.MALFORMED, -1, 0
    token = data[2]
    command = data[3] if len(data) > 3 else 0
    if data[0] != VERSION:
        return Result.UNSUPPORTED_VERSION, token, command
    if len(data) < 4:
        return Result.MALFORMED, token, 0
    fmt = COMMAND_ARGS_FORMAT.get(Command(command))
    if fmt is None:
        return Result.UNKNOWN_COMMAND, token, command
    if len(data) - 4 != struct.calcsize("<" + fmt):
        return Result.MALFORMED, token, command
    return Result.OK, token, command


@dataclass(frozen=True)
class ResendReply:
    """Answer to RESEND: samples from ``first_seq`` follow; ``lost`` samples are gone."""

    first_seq: int
    lost: int


def _payload(reply: ReplyFrame, command: Command, size: int) -> bytes:
    if reply.command != command or reply.result != Result.OK:
        raise ValueError(f"not an OK reply to {command.name}: {reply}")
    if len(reply.payload) < size:
        raise MalformedFrame(
            f"REPLY to {command.name}: payload of {len(reply.payload)} bytes, {size} expected"
        )
    return reply.payload


def reply_resend(reply: ReplyFrame) -> ResendReply:
    first_seq, lost = struct.unpack_from("<II", _payload(reply, Command.RESEND, 8))
    return ResendReply(first_seq=first_seq, lost=lost)


def reply_gyro_bias_dps(reply: ReplyFrame) -> tuple[float, float, float]:
    x, y, z = struct.unpack_from("<3f", _payload(reply, Command.CALIBRATE_GYRO, 12))
    return (x, y, z)


def reply_mounting(reply: ReplyFrame) -> Quaternion | None:
    """The quaternion (w, x, y, z, sensor → pelvis) of an ALIGN_MOUNTING phase 2 or 3 reply.

    None for phase 1, or when the reply did not fit the link's MTU (read CONFIG instead).
    """
    if _payload(reply, Command.ALIGN_MOUNTING, 0) == b"":
        return None
    w, x, y, z = struct.unpack_from("<4f", _payload(reply, Command.ALIGN_MOUNTING, 16))
    return (w, x, y, z)


def reply_marker_seq(reply: ReplyFrame) -> int:
    (seq,) = struct.unpack_from("<I", _payload(reply, Command.MARKER, 4))
    return seq


@dataclass(frozen=True)
class BoardSettings:
    """What the board uses (GET_SETTINGS): the stored mounting (None: not aligned), the gyro
    bias (None: not calibrated) and the rate it was asked for."""

    rate_hz: int
    mounting_wxyz: Quaternion | None
    gyro_bias_dps: tuple[float, float, float] | None


def reply_settings(reply: ReplyFrame) -> BoardSettings | None:
    """The GET_SETTINGS payload; None when it did not fit the link's MTU."""
    if _payload(reply, Command.GET_SETTINGS, 0) == b"":
        return None
    flags, _, rate, w, x, y, z, bx, by, bz = struct.unpack_from(
        "<BBH4f3f", _payload(reply, Command.GET_SETTINGS, SETTINGS_SIZE)
    )
    return BoardSettings(
        rate_hz=rate,
        mounting_wxyz=(w, x, y, z) if flags & 1 else None,
        gyro_bias_dps=(bx, by, bz) if flags & 2 else None,
    )


def reply_status(reply: ReplyFrame) -> StatusFrame | None:
    """The STATUS carried by a GET_STATUS reply (bytes 2 … of a STATUS frame).

    None when the reply did not fit the link's MTU: read the status characteristic instead.
    """
    if _payload(reply, Command.GET_STATUS, 0) == b"":
        return None
    body = _payload(reply, Command.GET_STATUS, STATUS_SIZE - 2)
    status = decode_frame(bytes((VERSION, FrameType.STATUS)) + body)
    assert isinstance(status, StatusFrame)
    return status

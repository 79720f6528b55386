"""Host decoder/encoder of docs/protocol.md: layouts, typed errors and their messages."""

from __future__ import annotations

import struct

import numpy as np
import pytest
from hipsense.errors import HipsenseError
from hipsense.link.protocol import (
    ANGLE_NONE,
    FLAG_RAW,
    FLAG_RESENT,
    BoardState,
    Command,
    CommandFrame,
    ConfigFrame,
    ErrorCode,
    ErrorFrame,
    ImuChip,
    MalformedFrame,
    MarkerFrame,
    ProtocolError,
    ReplyFrame,
    Result,
    SamplesFrame,
    StatusFrame,
    UnknownFrameType,
    UnsupportedProtocolVersion,
    cmd_get_status,
    cmd_resend,
    cmd_set_mounting,
    cmd_set_rate,
    command_args,
    decode_frame,
    encode_command,
    encode_frame,
    max_samples_per_notification,
    reply_resend,
    reply_status,
    samples_physical,
)


def _samples_bytes(flags: int, count: int, seq: int, t: int, values: list[int]) -> bytes:
    return struct.pack("<BBBBII", 1, 1, flags, count, seq, t) + struct.pack(
        f"<{len(values)}h", *values
    )


CONFIG = ConfigFrame(
    content=1,
    imu=ImuChip.MPU6050,
    rate_hz=100,
    period_100us=100,
    acc_mps2_per_lsb=0.5,
    gyr_dps_per_lsb=0.25,
    boot_id=0xBEEF,
    aligned=True,
    gyro_calibrated=False,
)


def test_samples_layout_is_little_endian_with_per_sample_seq() -> None:
    data = _samples_bytes(0, 2, (1 << 30) - 1, 5, [100, -200, ANGLE_NONE, 1, 2, 3])
    frame = decode_frame(data)
    assert isinstance(frame, SamplesFrame)
    assert frame.count == 2 and frame.seq == (1 << 30) - 1 and frame.t_100us == 5
    assert frame.raw is None and not frame.resent
    assert frame.angles_cdeg.tolist() == [[100, -200, ANGLE_NONE], [1, 2, 3]]
    assert frame.seqs().tolist() == [(1 << 30) - 1, 0]  # wraps
    assert encode_frame(frame) == data


def test_samples_physical_units_nan_and_raw_scales() -> None:
    data = _samples_bytes(
        FLAG_RAW | FLAG_RESENT, 1, 7, 1000, [150, ANGLE_NONE, -1, 2, -4, 6, 8, 0, -8]
    )
    frame = decode_frame(data)
    assert isinstance(frame, SamplesFrame) and frame.resent
    out = samples_physical(frame, CONFIG)
    assert out["tilt_deg"].tolist() == [1.5]
    assert np.isnan(out["obliquity_deg"][0])
    assert out["rotation_deg"].tolist() == [-0.01]
    assert [out[k][0] for k in ("acc_x_mps2", "acc_y_mps2", "acc_z_mps2")] == [1.0, -2.0, 3.0]
    assert [out[k][0] for k in ("gyr_x_dps", "gyr_y_dps", "gyr_z_dps")] == [2.0, 0.0, -2.0]
    assert out["seq"].tolist() == [7] and out["t_100us"].tolist() == [1000]


def test_samples_physical_sample_times_follow_the_period() -> None:
    frame = decode_frame(_samples_bytes(0, 3, 0, (1 << 30) - 150, [0] * 9))
    assert isinstance(frame, SamplesFrame)
    out = samples_physical(frame, CONFIG)
    assert out["t_100us"].tolist() == [(1 << 30) - 150, (1 << 30) - 50, 50]
    assert "acc_x_mps2" not in out


def test_exact_period_from_a_board_of_protocol_1_2() -> None:
    """104 Hz: period_100us says 96 (rounded); with EXACT_PERIOD the host steps by 10000/104
    within a frame, as the board counts (floored to 100 µs), and an older board's frames keep
    their rounded steps."""
    frame = decode_frame(_samples_bytes(0, 27, 0, 5000, [0] * 81))
    assert isinstance(frame, SamplesFrame)
    exact = ConfigFrame(1, ImuChip.LSM6DS3, 104, 96, 0.5, 0.25, 1, False, False, 0, True)
    assert decode_frame(encode_frame(exact)) == exact
    assert exact.period_100us_exact == pytest.approx(10000 / 104)
    steps = np.arange(27)
    got = samples_physical(frame, exact)["t_100us"]
    assert got.tolist() == (5000 + steps * 10000 // 104).tolist()
    assert got[-1] - 5000 == 2500, "26 periods of 9.615 ms, not 26 x 9.6 ms"
    older = ConfigFrame(1, ImuChip.LSM6DS3, 104, 96, 0.5, 0.25, 1, False, False, 0, False)
    assert older.period_100us_exact == 96
    assert samples_physical(frame, older)["t_100us"].tolist() == (5000 + steps * 96).tolist()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "shorter than the 2-byte header"),
        (b"\x01", "shorter than the 2-byte header"),
        (_samples_bytes(0, 2, 0, 0, [0] * 3), "18 bytes, 24 expected for 2 samples of 6 bytes"),
        (_samples_bytes(0, 1, 0, 0, [0] * 4), "20 bytes, 18 expected for 1 sample of 6 bytes"),
        (_samples_bytes(FLAG_RAW, 1, 0, 0, [0] * 3), "18 bytes, 30 expected"),
        (_samples_bytes(0, 0, 0, 0, []), "sample count 0"),
        (_samples_bytes(4, 1, 0, 0, [0] * 3), "reserved flag bits set"),
        (_samples_bytes(0, 1, 1 << 30, 0, [0] * 3), "not below 2**30"),
        (b"\x01\x01" + bytes(9), "malformed SAMPLES frame: 11 bytes, at least 12 expected"),
        (b"\x01\x02" + bytes(17), "malformed CONFIG frame: 19 bytes, at least 20 expected"),
        (b"\x01\x03" + bytes(33), "malformed STATUS frame: 35 bytes, at least 36 expected"),
        (b"\x01\x04\x01", "malformed COMMAND frame: 3 bytes, at least 4 expected"),
        (b"\x01\x04\x01\x03\x64", "SET_RATE takes 2 argument bytes, got 1"),
        (b"\x01\x05\x01\x01", "malformed REPLY frame: 4 bytes, at least 5 expected"),
        (b"\x01\x06" + bytes(7), "malformed MARKER frame: 9 bytes, 8 expected"),
        (b"\x01\x06" + bytes(5), "7 bytes, 8 expected"),
        (b"\x01\x07\x01"[:2], "malformed ERROR frame: 2 bytes, at least 3 expected"),
    ],
)
def test_malformed_frames_raise_typed_errors_saying_why(data: bytes, message: str) -> None:
    with pytest.raises(MalformedFrame, match=message.replace("*", r"\*").replace("(", r"\(")):
        decode_frame(data)


def test_newer_protocol_version_says_update_hipsense() -> None:
    with pytest.raises(UnsupportedProtocolVersion) as info:
        decode_frame(b"\x02\x01" + bytes(30))
    assert (info.value.found, info.value.supported) == (2, 1)
    assert str(info.value) == (
        "the board speaks protocol v2, this hipsense speaks v1: "
        "update hipsense (pip install --upgrade hipsense)"
    )
    assert isinstance(info.value, ProtocolError) and isinstance(info.value, HipsenseError)


def test_older_protocol_version_says_flash_the_firmware() -> None:
    with pytest.raises(UnsupportedProtocolVersion, match="v0, this hipsense speaks v1: flash"):
        decode_frame(b"\x00\x01")


@pytest.mark.parametrize("type_id", [0x00, 0x08, 0x42, 0xFF])
def test_unknown_frame_type_is_typed_with_its_id(type_id: int) -> None:
    with pytest.raises(UnknownFrameType, match=f"unknown frame type 0x{type_id:02X}") as info:
        decode_frame(bytes((1, type_id, 0, 0)))
    assert info.value.type_id == type_id


def test_config_and_status_ignore_trailing_bytes_of_later_revisions() -> None:
    config = encode_frame(CONFIG)
    assert len(config) == 20 and decode_frame(config + b"\xaa\xbb") == CONFIG
    status = StatusFrame(
        state=BoardState.STREAMING, battery_pct=255, battery_mv=0, imu=ImuChip.LSM6DSOX,
        content=0, rate_hz=400, frames_sent=1, fifo_overflows=2, i2c_errors=3, samples_lost=4,
        fw_version=(0, 1, 0), proto_minor=0, boot_id=7, uptime_s=3600,
    )  # fmt: skip
    data = encode_frame(status)
    assert len(data) == 36 and decode_frame(data + b"\x01") == status
    assert not status.battery_known


def test_unknown_codes_of_later_revisions_decode_without_error() -> None:
    reply = decode_frame(bytes((1, 5, 9, 0x33, 42)))
    assert isinstance(reply, ReplyFrame)
    assert reply.result == 42 and reply.result.name == "UNKNOWN_42" and not reply.result.known
    assert reply.command == 0x33 and not reply.ok
    error = decode_frame(b"\x01\x07\x63abc")
    assert error == ErrorFrame(code=ErrorCode(0x63), text="abc")
    assert Result.OK.known


def test_reply_payload_only_when_ok() -> None:
    busy = decode_frame(bytes((1, 5, 1, Command.SET_RATE, Result.BUSY)) + b"junk")
    assert busy == ReplyFrame(token=1, command=Command.SET_RATE, result=Result.BUSY, payload=b"")
    reply = decode_frame(bytes((1, 5, 2, Command.RESEND, 0)) + struct.pack("<II", 100, 20))
    assert isinstance(reply, ReplyFrame)
    assert reply_resend(reply).first_seq == 100 and reply_resend(reply).lost == 20


def test_get_status_reply_carries_the_status_body() -> None:
    status = StatusFrame(
        state=BoardState.IDLE, battery_pct=80, battery_mv=3900, imu=ImuChip.MPU6886,
        content=1, rate_hz=200, frames_sent=10, fifo_overflows=0, i2c_errors=0, samples_lost=0,
        fw_version=(0, 1, 0), proto_minor=0, boot_id=1, uptime_s=5,
    )  # fmt: skip
    frame = bytes((1, 5, 3, Command.GET_STATUS, 0)) + encode_frame(status)[2:]
    reply = decode_frame(frame)
    assert isinstance(reply, ReplyFrame) and reply_status(reply) == status


def test_error_text_with_invalid_utf8_is_replaced_not_raised() -> None:
    frame = decode_frame(b"\x01\x07\x02I2C \xff\xfe")
    assert frame == ErrorFrame(code=ErrorCode.I2C_ERROR, text="I2C \ufffd\ufffd")


def test_marker_frame() -> None:
    frame = decode_frame(struct.pack("<BBBBI", 1, 6, 0, 0, 123456))
    assert frame == MarkerFrame(code=0, seq=123456)


def test_command_builders_and_args() -> None:
    assert cmd_resend(7, (1 << 30) - 1) == b"\x01\x04\x07\x0a" + struct.pack("<I", (1 << 30) - 1)
    assert cmd_get_status(255) == b"\x01\x04\xff\x08"
    frame = decode_frame(cmd_set_rate(1, 400))
    assert frame == CommandFrame(token=1, command=Command.SET_RATE, args=b"\x90\x01")
    assert isinstance(frame, CommandFrame) and command_args(frame) == (400,)
    mounting = decode_frame(cmd_set_mounting(2, (1.0, 0.0, -0.5, 0.25)))
    assert isinstance(mounting, CommandFrame) and command_args(mounting) == (1.0, 0.0, -0.5, 0.25)
    with pytest.raises(ValueError, match="SET_RATE takes 2 argument bytes"):
        encode_command(1, Command.SET_RATE, b"\x01")
    assert encode_command(1, 0x7F, b"xyz") == b"\x01\x04\x01\x7fxyz"  # unknown: passed through


def test_host_encoder_refuses_values_it_would_wrap_or_overlong_frames() -> None:
    wide = SamplesFrame(flags=0, seq=0, t_100us=0, angles_cdeg=np.array([[0, 40000, 0]]))
    with pytest.raises(ValueError, match="must fit int16"):
        encode_frame(wide)
    ok = SamplesFrame(flags=0, seq=0, t_100us=0, angles_cdeg=np.array([[0, -32768, 32767]]))
    assert decode_frame(encode_frame(ok)) == ok
    with pytest.raises(ValueError, match="ErrorFrame of 245 bytes exceeds 244"):
        encode_frame(ErrorFrame(code=ErrorCode.I2C_ERROR, text="x" * 242))
    with pytest.raises(ValueError, match="raw must be given exactly when flags has FLAG_RAW"):
        SamplesFrame(flags=FLAG_RAW, seq=0, t_100us=0, angles_cdeg=np.zeros((1, 3), np.int16))


@pytest.mark.parametrize(
    ("mtu", "raw", "count"),
    [
        (23, False, 1),
        (23, True, 0),
        (247, False, 38),
        (247, True, 12),
        (512, False, 38),
        (100, True, 4),
    ],
)
def test_max_samples_per_notification(mtu: int, raw: bool, count: int) -> None:
    assert max_samples_per_notification(mtu, raw) == count

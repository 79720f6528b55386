"""Golden vectors: the FIRMWARE encoder (run under MicroPython) against the host decoder.

``tests/golden/protocol_v1.json`` stores, for a fixed set of inputs, the frame bytes and the
serial (COBS + CRC) bytes that ``firmware/protocol.py`` and ``firmware/cobs.py`` produce. The
tests re-run the firmware and compare bytes exactly, decode every stored vector with the host
and compare to the inputs, and check commands both ways (host encodes, firmware parses).

Regenerate deliberately (after a reviewed protocol change) with
``.venv/bin/python tests/test_protocol_golden.py --write``.
"""

from __future__ import annotations

import json
import random
import struct
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hipsense import paths
from hipsense.link.protocol import (
    ANGLE_NONE,
    FLAG_RAW,
    FLAG_RESENT,
    MAX_FRAME_SIZE,
    PROTO_MINOR,
    BoardState,
    Command,
    CommandFrame,
    ConfigFrame,
    ErrorCode,
    ErrorFrame,
    Frame,
    ImuChip,
    MalformedFrame,
    MarkerFrame,
    ReplyFrame,
    Result,
    SamplesFrame,
    SerialDeframer,
    StatusFrame,
    check_command,
    decode_frame,
    encode_command,
    encode_frame,
    max_samples_per_notification,
    reply_gyro_bias_dps,
    reply_marker_seq,
    reply_mounting,
    reply_resend,
    reply_settings,
    reply_status,
    serial_encode,
)
from hipsense.link.protocol import constants as host_constants
from hipsense.virtual.runner import run_micropython

GOLDEN = Path(__file__).parent / "golden" / "protocol_v1.json"
SEQ_TOP = (1 << 30) - 1
Json = dict[str, Any]


def _angles(count: int, seed: int) -> list[list[int]]:
    rng = np.random.default_rng(seed)
    values = rng.integers(-32768, 32768, size=(count, 3))
    values[0] = [32767, -32767, ANGLE_NONE]
    return values.tolist()


def _raw(count: int, seed: int) -> list[list[int]]:
    rng = np.random.default_rng(seed)
    values = rng.integers(-32768, 32768, size=(count, 6))
    values[0] = [-32768, 32767, 0, -1, 1, 256]
    return values.tolist()


STATUS_TYPICAL: Json = {
    "state": 1, "battery_pct": 87, "battery_mv": 3987, "imu": 3, "content": 1, "rate_hz": 200,
    "frames_sent": 123456, "fifo_overflows": 2, "i2c_errors": 0, "samples_lost": 17,
    "boot_id": 0xA5C3, "uptime_s": 3725,
}  # fmt: skip
STATUS_EXTREME: Json = {
    "state": 5, "battery_pct": 255, "battery_mv": 0, "imu": 0, "content": 0, "rate_hz": 400,
    "frames_sent": SEQ_TOP, "fifo_overflows": SEQ_TOP, "i2c_errors": SEQ_TOP,
    "samples_lost": SEQ_TOP, "boot_id": 0xFFFF, "uptime_s": 0xFFFFFFFF,
}  # fmt: skip

LONG_TEXT = "IMU at 0x68 stopped answering; re-initialising with back-off. " + "°é✓ " * 60


def _cases() -> list[Json]:
    max_angles = max_samples_per_notification(247, raw=False)
    max_raw = max_samples_per_notification(247, raw=True)
    cases: list[Json] = [
        {"name": "samples_angles_one", "kind": "samples",
         "inputs": {"flags": 0, "seq": 0, "t_100us": 0, "angles_cdeg": [[0, 0, 0]], "raw": None}},
        {"name": "samples_angles_negative_none", "kind": "samples",
         "inputs": {"flags": 0, "seq": 41, "t_100us": 4100,
                    "angles_cdeg": [[-1, -32767, ANGLE_NONE], [ANGLE_NONE] * 3, [1234, -567, 89]],
                    "raw": None}},
        {"name": "samples_angles_seq_wrap_resent", "kind": "samples",
         "inputs": {"flags": FLAG_RESENT, "seq": SEQ_TOP - 2, "t_100us": SEQ_TOP - 99,
                    "angles_cdeg": _angles(5, 1), "raw": None}},
        {"name": "samples_angles_max_mtu247", "kind": "samples",
         "inputs": {"flags": 0, "seq": 1000, "t_100us": 100000,
                    "angles_cdeg": _angles(max_angles, 2), "raw": None}},
        {"name": "samples_raw_one", "kind": "samples",
         "inputs": {"flags": FLAG_RAW, "seq": SEQ_TOP, "t_100us": SEQ_TOP,
                    "angles_cdeg": [[100, -200, 300]], "raw": _raw(1, 3)}},
        {"name": "samples_raw_max_mtu247_resent", "kind": "samples",
         "inputs": {"flags": FLAG_RAW | FLAG_RESENT, "seq": 7, "t_100us": 175,
                    "angles_cdeg": _angles(max_raw, 4), "raw": _raw(max_raw, 5)}},
        {"name": "config_mpu6050_raw", "kind": "config",
         "inputs": {"content": 1, "imu": 1, "rate_hz": 100, "period_100us": 100,
                    "acc_mps2_per_lsb": 9.80665 / 16384, "gyr_dps_per_lsb": 1 / 65.5,
                    "boot_id": 0x1234, "flags": 3}},
        {"name": "config_icm42688_angles", "kind": "config",
         "inputs": {"content": 0, "imu": 4, "rate_hz": 400, "period_100us": 25,
                    "acc_mps2_per_lsb": 9.80665 / 2048, "gyr_dps_per_lsb": 2000 / 32768,
                    "boot_id": 0xFFFF, "flags": 0, "settings_gen": 255}},
        {"name": "config_lsm6ds3_exact_period", "kind": "config",
         "inputs": {"content": 1, "imu": 5, "rate_hz": 104, "period_100us": 96,
                    "acc_mps2_per_lsb": 9.80665 * 0.000122, "gyr_dps_per_lsb": 0.07,
                    "boot_id": 0x0104, "flags": 4, "settings_gen": 1}},
        {"name": "status_typical", "kind": "status", "inputs": STATUS_TYPICAL},
        {"name": "status_extreme", "kind": "status", "inputs": STATUS_EXTREME},
        {"name": "marker_button", "kind": "marker", "inputs": {"code": 0, "seq": 0}},
        {"name": "marker_command_wrap", "kind": "marker", "inputs": {"code": 255, "seq": SEQ_TOP}},
        {"name": "error_empty", "kind": "error", "inputs": {"code": 1, "text": "", "limit": None}},
        {"name": "error_bad_frame", "kind": "error",
         "inputs": {"code": 5, "text": "frame too short", "limit": None}},
        {"name": "error_long_text", "kind": "error",
         "inputs": {"code": 2, "text": LONG_TEXT, "limit": None}},
        {"name": "error_long_text_mtu23", "kind": "error",
         "inputs": {"code": 4, "text": "FIFO overflow: 1°é lost", "limit": 20}},
    ]  # fmt: skip
    replies: list[tuple[str, Json]] = [
        ("start_ok", {"token": 0, "command": 0x01, "result": 0}),
        ("stop_ok", {"token": 255, "command": 0x02, "result": 0}),
        ("set_rate_busy", {"token": 3, "command": 0x03, "result": 4}),
        ("set_content_bad_value", {"token": 4, "command": 0x04, "result": 3}),
        ("calibrate_gyro_ok", {"token": 5, "command": 0x05, "result": 0,
                               "payload_format": "<3f", "payload_values": [0.25, -1.5, 0.125]}),
        ("calibrate_gyro_failed_payload_dropped",
         {"token": 6, "command": 0x05, "result": 5,
          "payload_format": "<3f", "payload_values": [1.0, 2.0, 3.0]}),
        ("align_phase1_ok", {"token": 7, "command": 0x06, "result": 0}),
        ("align_phase2_ok", {"token": 8, "command": 0x06, "result": 0, "payload_format": "<4f",
                             "payload_values": [0.5, -0.5, 0.5, -0.5]}),
        ("align_phase2_mtu23_no_room", {"token": 9, "command": 0x06, "result": 0, "limit": 20,
                                        "payload_format": "<4f",
                                        "payload_values": [1.0, 0.0, 0.0, 0.0]}),
        ("marker_ok", {"token": 10, "command": 0x07, "result": 0, "payload_format": "<I",
                       "payload_values": [SEQ_TOP]}),
        ("get_status_ok", {"token": 11, "command": 0x08, "result": 0,
                           "payload_status": STATUS_TYPICAL}),
        ("get_status_mtu23_no_room", {"token": 12, "command": 0x08, "result": 0, "limit": 20,
                                      "payload_status": STATUS_TYPICAL}),
        ("reboot_ok", {"token": 13, "command": 0x09, "result": 0}),
        ("resend_ok", {"token": 14, "command": 0x0A, "result": 0, "payload_format": "<II",
                       "payload_values": [SEQ_TOP - 5, 12000]}),
        ("resend_bad_value", {"token": 15, "command": 0x0A, "result": 3}),
        ("get_config_ok", {"token": 16, "command": 0x0B, "result": 0}),
        ("set_mounting_ok", {"token": 17, "command": 0x0C, "result": 0}),
        ("unknown_command", {"token": 18, "command": 0x42, "result": 1}),
        ("get_settings_ok", {"token": 21, "command": 0x10, "result": 0,
                             "payload_format": "<BBH4f3f",
                             "payload_values": [3, 0, 200, 0.5, 0.5, -0.5, 0.5,
                                                0.25, -1.5, 0.125]}),
        ("pairing_bad_value", {"token": 22, "command": 0x0D, "result": 3}),
        ("malformed_no_command", {"token": 19, "command": 0, "result": 2}),
        ("unsupported_version", {"token": 20, "command": 0x01, "result": 6}),
    ]  # fmt: skip
    cases += [
        {"name": f"reply_{name}", "kind": "reply", "inputs": inputs} for name, inputs in replies
    ]
    return cases


def _command_cases() -> list[Json]:
    """Host-encoded commands and what ``parse_command`` must answer (result, token, command)."""
    good = [
        ("start", 1, 0x01, b""),
        ("stop", 2, 0x02, b""),
        ("set_rate_400", 3, 0x03, struct.pack("<H", 400)),
        ("set_content_raw", 4, 0x04, b"\x01"),
        ("calibrate_gyro_10s", 5, 0x05, b"\x0a"),
        ("align_mounting_phase2", 6, 0x06, b"\x02"),
        ("marker_255", 7, 0x07, b"\xff"),
        ("get_status", 8, 0x08, b""),
        ("reboot", 9, 0x09, b""),
        ("resend_wrap", 10, 0x0A, struct.pack("<I", SEQ_TOP)),
        ("get_config", 0, 0x0B, b""),
        ("set_mounting", 255, 0x0C, struct.pack("<4f", 0.5, 0.5, -0.5, 0.5)),
        ("pairing_60s", 11, 0x0D, b"\x3c"),
        ("forget_bonds", 12, 0x0E, b""),
        ("start_takeover", 13, 0x0F, b""),
        ("get_settings", 14, 0x10, b""),
    ]
    cases: list[Json] = [
        {"name": f"command_{name}", "hex": encode_command(token, cmd, args).hex(),
         "expect": [0, token, cmd], "args_hex": args.hex()}
        for name, token, cmd, args in good
    ]  # fmt: skip
    bad: list[tuple[str, bytes, list[int]]] = [
        ("wrong_version_2", b"\x02\x04\x21\x01", [6, 0x21, 0x01]),
        ("wrong_version_0_short", b"\x00\x04\x22", [6, 0x22, 0]),
        ("unknown_0x11", b"\x01\x04\x23\x11", [1, 0x23, 0x11]),
        ("pairing_no_args", b"\x01\x04\x2b\x0d", [2, 0x2B, 0x0D]),
        ("unknown_0x00", b"\x01\x04\x24\x00", [1, 0x24, 0]),
        ("unknown_0xff_with_args", b"\x01\x04\x25\xffabc", [1, 0x25, 0xFF]),
        ("set_rate_short_args", b"\x01\x04\x26\x03\x90", [2, 0x26, 0x03]),
        ("start_extra_args", b"\x01\x04\x27\x01\x00", [2, 0x27, 0x01]),
        ("set_mounting_15_bytes", b"\x01\x04\x28\x0c" + bytes(15), [2, 0x28, 0x0C]),
        ("no_command_byte", b"\x01\x04\x29", [2, 0x29, 0]),
        ("too_short_for_token", b"\x01\x04", [2, -1, 0]),
        ("empty", b"", [2, -1, 0]),
        ("not_a_command", b"\x01\x05\x2a\x01\x00", [2, -1, 0]),
    ]
    cases += [
        {"name": f"command_bad_{name}", "hex": data.hex(), "expect": expect}
        for name, data, expect in bad
    ]
    return cases


_MPY_ENCODE = r"""
import json, struct
from binascii import hexlify
import protocol as P
import cobs
buf = bytearray(P.MAX_FRAME_SIZE)
tmp = bytearray(P.STATUS_SIZE)
ser = bytearray(cobs.MAX_ENCODED_SIZE)

def status(b, s):
    return P.pack_status(b, s["state"], s["battery_pct"], s["battery_mv"], s["imu"],
                         s["content"], s["rate_hz"], s["frames_sent"], s["fifo_overflows"],
                         s["i2c_errors"], s["samples_lost"], s["boot_id"], s["uptime_s"])

for c in json.loads(CASES):
    k = c["kind"]
    a = c["inputs"]
    if k == "samples":
        raw = a["raw"]
        flags = a["flags"] | (P.FLAG_RAW if raw is not None else 0)
        angles = a["angles_cdeg"]
        n = P.pack_samples_header(buf, flags, len(angles), a["seq"], a["t_100us"])
        for i in range(len(angles)):
            t, o, r = angles[i]
            if raw is None:
                n = P.pack_sample(buf, n, t, o, r)
            else:
                x = raw[i]
                n = P.pack_sample_raw(buf, n, t, o, r, x[0], x[1], x[2], x[3], x[4], x[5])
    elif k == "config":
        n = P.pack_config(buf, a["content"], a["imu"], a["rate_hz"], a["period_100us"],
                          a["acc_mps2_per_lsb"], a["gyr_dps_per_lsb"], a["boot_id"], a["flags"],
                          a.get("settings_gen", 0))
    elif k == "status":
        n = status(buf, a)
    elif k == "marker":
        n = P.pack_marker(buf, a["code"], a["seq"])
    elif k == "error":
        if a["limit"] is None:
            n = P.pack_error(buf, a["code"], a["text"])
        else:
            n = P.pack_error(buf, a["code"], a["text"], a["limit"])
    elif k == "reply":
        payload = None
        if "payload_format" in a:
            payload = struct.pack(a["payload_format"], *a["payload_values"])
        elif "payload_status" in a:
            status(tmp, a["payload_status"])
            payload = bytes(tmp)[2:]
        limit = a.get("limit", P.MAX_FRAME_SIZE)
        n = P.pack_reply(buf, a["token"], a["command"], a["result"], payload, limit)
    m = cobs.encode_frame(buf, n, ser)
    print(c["name"], hexlify(buf[:n]).decode(), hexlify(ser[:m]).decode())
"""

_MPY_PARSE = r"""
import json
from binascii import unhexlify
import protocol as P
import cobs
d = cobs.Deframer()
for c in json.loads(CASES):
    data = unhexlify(c["hex"])
    r, tok, cmd = P.parse_command(data, len(data))
    wire = unhexlify(c["serial_hex"])
    end = d.feed(wire, len(wire))
    framed = "-"
    if d.length:
        framed = "%d,%d,%d" % P.parse_command(d.frame, d.length)
    print(c["name"], r, tok, cmd, end == len(wire), framed)
"""


def _run_firmware(script: str, cases: list[Json], heapsize: str = "120K") -> str:
    code = f"CASES = {json.dumps(cases)!r}\n" + script
    return run_micropython(code, path=[paths.firmware_dir()], heapsize=heapsize).stdout


def firmware_vectors(cases: list[Json], heapsize: str = "120K") -> dict[str, tuple[str, str]]:
    """name -> (frame hex, serial hex) as the firmware encoder produces them."""
    out: dict[str, tuple[str, str]] = {}
    for line in _run_firmware(_MPY_ENCODE, cases, heapsize).splitlines():
        name, frame_hex, serial_hex = line.split(" ")
        out[name] = (frame_hex, serial_hex)
    return out


def build_golden() -> Json:
    cases = _cases()
    vectors = firmware_vectors(cases)
    for case in cases:
        case["hex"], case["serial_hex"] = vectors[case["name"]]
    commands = _command_cases()
    for case in commands:
        case["serial_hex"] = serial_encode(bytes.fromhex(case["hex"])).hex()
    return {
        "protocol_version": 1,
        "generated_by": "tests/test_protocol_golden.py --write (firmware under MicroPython)",
        # why the bytes last changed (docs/protocol.md "Versions")
        "changed": "protocol 1.2: STATUS carries minor 2; new vector config_lsm6ds3_exact_period"
        " (CONFIG flag 4, EXACT_PERIOD); no layout changed",
        "frames": cases,
        "commands": commands,
    }


def golden_text(data: Json) -> str:
    """JSON with one vector per line (readable diffs when a vector changes)."""
    parts = []
    for key, value in data.items():
        if isinstance(value, list):
            rows = ",\n".join("  " + json.dumps(v, ensure_ascii=False) for v in value)
            parts.append(f" {json.dumps(key)}: [\n{rows}\n ]")
        else:
            parts.append(f" {json.dumps(key)}: {json.dumps(value)}")
    return "{\n" + ",\n".join(parts) + "\n}\n"


@pytest.fixture(scope="module")
def golden() -> Json:
    return json.loads(GOLDEN.read_text())


# --- the stored inputs are the ones this file defines (an edit here needs --write) ---------


def test_golden_file_matches_the_defined_inputs(golden: Json) -> None:
    stored = [(c["name"], c["kind"], c["inputs"]) for c in golden["frames"]]
    defined = [(c["name"], c["kind"], c["inputs"]) for c in json.loads(json.dumps(_cases()))]
    assert stored == defined, (
        "inputs changed: regenerate with tests/test_protocol_golden.py --write"
    )
    assert [(c["name"], c["hex"]) for c in golden["commands"]] == [
        (c["name"], c["hex"]) for c in _command_cases()
    ]


def test_golden_covers_every_frame_type_and_command(golden: Json) -> None:
    kinds = {bytes.fromhex(c["hex"])[1] for c in golden["frames"]}
    kinds |= {bytes.fromhex(c["hex"])[1] for c in golden["commands"] if c["expect"][0] == 0}
    assert kinds == set(range(1, 8))
    commands = {c["expect"][2] for c in golden["commands"] if c["expect"][0] == 0}
    assert commands == {int(c) for c in Command}
    results = {c["expect"][0] for c in golden["commands"]}
    assert results == {Result.OK, Result.UNKNOWN_COMMAND, Result.MALFORMED,
                       Result.UNSUPPORTED_VERSION}  # fmt: skip


# --- 1. the firmware still produces exactly the stored bytes ------------------------------


def test_firmware_encoder_reproduces_golden_bytes(golden: Json) -> None:
    vectors = firmware_vectors(golden["frames"])
    for case in golden["frames"]:
        assert vectors[case["name"]] == (case["hex"], case["serial_hex"]), case["name"]


def test_host_serial_encoding_equals_firmware_serial_encoding(golden: Json) -> None:
    for case in golden["frames"]:
        assert serial_encode(bytes.fromhex(case["hex"])).hex() == case["serial_hex"], case["name"]


# --- 2. the host decodes the stored bytes back to the inputs ------------------------------


def _f32(value: float) -> float:
    return struct.unpack("<f", struct.pack("<f", value))[0]


def _expected_status(s: Json) -> StatusFrame:
    return StatusFrame(
        state=BoardState(s["state"]), battery_pct=s["battery_pct"], battery_mv=s["battery_mv"],
        imu=ImuChip(s["imu"]), content=s["content"], rate_hz=s["rate_hz"],
        frames_sent=s["frames_sent"], fifo_overflows=s["fifo_overflows"],
        i2c_errors=s["i2c_errors"], samples_lost=s["samples_lost"], fw_version=(0, 1, 0),
        proto_minor=PROTO_MINOR, boot_id=s["boot_id"], uptime_s=s["uptime_s"],
    )  # fmt: skip


def _check_samples(frame: object, a: Json) -> None:
    assert isinstance(frame, SamplesFrame)
    raw = a["raw"]
    assert frame.flags == a["flags"] | (FLAG_RAW if raw is not None else 0)
    assert (frame.seq, frame.t_100us, frame.count) == (
        a["seq"],
        a["t_100us"],
        len(a["angles_cdeg"]),
    )
    assert frame.resent == bool(a["flags"] & FLAG_RESENT)
    assert frame.angles_cdeg.dtype == np.int16
    assert frame.angles_cdeg.tolist() == a["angles_cdeg"]
    assert (frame.raw is None and raw is None) or (
        frame.raw is not None and frame.raw.tolist() == raw
    )
    expected_seqs = [(a["seq"] + i) % (1 << 30) for i in range(frame.count)]
    assert frame.seqs().tolist() == expected_seqs


def _check_error(frame: object, a: Json) -> None:
    assert isinstance(frame, ErrorFrame)
    assert frame.code == ErrorCode(a["code"])
    room = (a["limit"] or MAX_FRAME_SIZE) - 3
    text = a["text"]
    assert text.startswith(frame.text)
    sent = len(frame.text.encode())
    assert sent <= room
    # maximal: the next character would not have fitted
    if frame.text != text:
        assert sent + len(text[len(frame.text)].encode()) > room


def _check_reply(frame: object, a: Json) -> None:
    assert isinstance(frame, ReplyFrame)
    assert (frame.token, frame.command, frame.result) == (a["token"], a["command"], a["result"])
    fits = 5 + (34 if "payload_status" in a else 0) <= a.get("limit", MAX_FRAME_SIZE)
    if "payload_format" in a and a["result"] == 0:
        size = struct.calcsize(a["payload_format"])
        fits = 5 + size <= a.get("limit", MAX_FRAME_SIZE)
        if fits:
            assert list(struct.unpack(a["payload_format"], frame.payload)) == a["payload_values"]
        else:
            assert frame.payload == b""
    if a["result"] != 0:
        assert frame.payload == b""
    if frame.result != Result.OK:
        return
    command = Command(a["command"])
    if command == Command.RESEND:
        resend = reply_resend(frame)
        assert [resend.first_seq, resend.lost] == a["payload_values"]
    elif command == Command.CALIBRATE_GYRO:
        assert list(reply_gyro_bias_dps(frame)) == a["payload_values"]
    elif command == Command.MARKER:
        assert [reply_marker_seq(frame)] == a["payload_values"]
    elif command == Command.ALIGN_MOUNTING:
        quaternion = reply_mounting(frame)
        assert (list(quaternion) if quaternion else None) == (
            a.get("payload_values") if fits and "payload_values" in a else None
        )
    elif command == Command.GET_STATUS:
        status = reply_status(frame)
        expected = _expected_status(a["payload_status"]) if fits else None
        assert status == expected
    elif command == Command.GET_SETTINGS:
        settings = reply_settings(frame)
        assert settings is not None
        v = a["payload_values"]
        assert settings.rate_hz == v[2]
        assert settings.mounting_wxyz == tuple(v[3:7]) and settings.gyro_bias_dps == tuple(v[7:])
    else:
        assert frame.payload == b""


def test_host_decodes_golden_frames_to_their_inputs(golden: Json) -> None:
    for case in golden["frames"]:
        frame = decode_frame(bytes.fromhex(case["hex"]))
        a = case["inputs"]
        kind = case["kind"]
        if kind == "samples":
            _check_samples(frame, a)
        elif kind == "config":
            assert frame == ConfigFrame(
                content=a["content"], imu=ImuChip(a["imu"]), rate_hz=a["rate_hz"],
                period_100us=a["period_100us"], acc_mps2_per_lsb=_f32(a["acc_mps2_per_lsb"]),
                gyr_dps_per_lsb=_f32(a["gyr_dps_per_lsb"]), boot_id=a["boot_id"],
                aligned=bool(a["flags"] & 1), gyro_calibrated=bool(a["flags"] & 2),
                settings_gen=a.get("settings_gen", 0), exact_period=bool(a["flags"] & 4),
            ), case["name"]  # fmt: skip
        elif kind == "status":
            assert frame == _expected_status(a), case["name"]
        elif kind == "marker":
            assert frame == MarkerFrame(code=a["code"], seq=a["seq"])
        elif kind == "error":
            _check_error(frame, a)
        else:
            _check_reply(frame, a)


_MIN_LENGTH = {1: None, 2: 20, 3: 36, 5: 5, 6: 8, 7: 3}  # SAMPLES: exactly as announced


def test_every_truncation_of_a_golden_frame_is_malformed(golden: Json) -> None:
    """A cut notification or frame never decodes as something else (REPLY and ERROR may be
    cut only inside their payload/text, which the layout cannot tell)."""
    for case in golden["frames"]:
        data = bytes.fromhex(case["hex"])
        minimum = _MIN_LENGTH[data[1]] or len(data)
        for cut in range(minimum):
            with pytest.raises(MalformedFrame) as info:
                decode_frame(data[:cut])
            message = str(info.value)
            assert "header" in message if cut < 2 else f"{cut} bytes" in message, message


def test_host_deframer_reads_the_firmware_serial_stream(golden: Json) -> None:
    stream = b"".join(bytes.fromhex(c["serial_hex"]) for c in golden["frames"])
    deframer = SerialDeframer()
    frames = deframer.feed(stream[:100]) + deframer.feed(stream[100:])
    assert [f.hex() for f in frames] == [c["hex"] for c in golden["frames"]]
    assert (deframer.crc_errors, deframer.framing_errors, deframer.bytes_discarded) == (0, 0, 0)


def test_samples_vectors_fill_a_247_mtu_notification(golden: Json) -> None:
    by_name = {c["name"]: bytes.fromhex(c["hex"]) for c in golden["frames"]}
    assert len(by_name["samples_angles_max_mtu247"]) == 12 + 38 * 6 <= 244
    assert len(by_name["samples_raw_max_mtu247_resent"]) == 12 + 12 * 18 <= 244
    assert len(by_name["error_long_text"]) in range(241, 245)


def test_error_vectors_cut_inside_a_character(golden: Json) -> None:
    """The long texts would be split mid-character by a naive cut: the firmware backs off."""
    for case in golden["frames"]:
        if case["name"] in ("error_long_text", "error_long_text_mtu23"):
            room = (case["inputs"]["limit"] or MAX_FRAME_SIZE) - 3
            assert case["inputs"]["text"].encode()[room] & 0xC0 == 0x80
            assert len(bytes.fromhex(case["hex"])) < room + 3


def _random_case(rng: random.Random, i: int) -> tuple[Json, Frame]:
    """Random firmware inputs and the host frame that must encode to the same bytes."""
    kind = ["samples", "config", "status", "marker", "error", "reply"][i % 6]
    if kind == "samples":
        raw = rng.random() < 0.5
        count = rng.randint(1, 12 if raw else 38)
        angles = [[rng.randint(-32768, 32767) for _ in range(3)] for _ in range(count)]
        raw_values = [[rng.randint(-32768, 32767) for _ in range(6)] for _ in range(count)]
        flags = rng.choice([0, FLAG_RESENT])
        inputs: Json = {"flags": flags, "seq": rng.randrange(1 << 30),
                        "t_100us": rng.randrange(1 << 30), "angles_cdeg": angles,
                        "raw": raw_values if raw else None}  # fmt: skip
        frame: Frame = SamplesFrame(
            flags=flags | (FLAG_RAW if raw else 0), seq=inputs["seq"], t_100us=inputs["t_100us"],
            angles_cdeg=np.array(angles, dtype=np.int16),
            raw=np.array(raw_values, dtype=np.int16) if raw else None,
        )  # fmt: skip
    elif kind == "config":
        acc, gyr = _f32(rng.uniform(-1, 1)), _f32(rng.uniform(-1e3, 1e3))
        inputs = {"content": rng.randint(0, 1), "imu": rng.randint(0, 255),
                  "rate_hz": rng.randrange(1 << 16), "period_100us": rng.randrange(1 << 16),
                  "acc_mps2_per_lsb": acc, "gyr_dps_per_lsb": gyr,
                  "boot_id": rng.randrange(1 << 16), "flags": rng.randint(0, 7),
                  "settings_gen": rng.randrange(256)}  # fmt: skip
        frame = ConfigFrame(
            inputs["content"], ImuChip(inputs["imu"]), inputs["rate_hz"],
            inputs["period_100us"], acc, gyr, inputs["boot_id"],
            bool(inputs["flags"] & 1), bool(inputs["flags"] & 2), inputs["settings_gen"],
            bool(inputs["flags"] & 4),
        )  # fmt: skip
    elif kind == "status":
        inputs = {key: rng.randrange(1 << bits) for key, bits in (
            ("state", 8), ("battery_pct", 8), ("battery_mv", 16), ("imu", 8), ("content", 8),
            ("rate_hz", 16), ("frames_sent", 30), ("fifo_overflows", 30), ("i2c_errors", 30),
            ("samples_lost", 30), ("boot_id", 16), ("uptime_s", 32))}  # fmt: skip
        frame = _expected_status(inputs)
    elif kind == "marker":
        inputs = {"code": rng.randint(0, 255), "seq": rng.randrange(1 << 30)}
        frame = MarkerFrame(**inputs)
    elif kind == "error":
        text = "".join(chr(rng.choice([rng.randint(32, 126), rng.randint(0xA0, 0x2FFF)]))
                       for _ in range(rng.randint(0, 60)))  # fmt: skip
        inputs = {"code": rng.randint(0, 255), "text": text, "limit": None}
        frame = ErrorFrame(ErrorCode(inputs["code"]), text)
    else:
        result = rng.choice([0, 0, rng.randint(1, 255)])
        payload = bytes(rng.randrange(256) for _ in range(rng.randint(0, 60)))
        inputs = {"token": rng.randint(0, 255), "command": rng.randint(0, 255),
                  "result": result, "payload_format": f"<{len(payload)}B",
                  "payload_values": list(payload)}  # fmt: skip
        frame = ReplyFrame(inputs["token"], Command(inputs["command"]), Result(result),
                           payload if result == 0 else b"")  # fmt: skip
    return {"name": f"random_{i}", "kind": kind, "inputs": inputs}, frame


def test_firmware_encoder_equals_host_encoder_on_random_inputs() -> None:
    rng = random.Random(11)
    pairs = [_random_case(rng, i) for i in range(180)]
    vectors = firmware_vectors([case for case, _ in pairs], heapsize="4M")
    for case, frame in pairs:
        frame_hex, serial_hex = vectors[case["name"]]
        assert frame_hex == encode_frame(frame).hex(), case
        assert serial_hex == serial_encode(bytes.fromhex(frame_hex)).hex()
        assert decode_frame(bytes.fromhex(frame_hex)) == frame


# --- commands: the host encodes, the firmware parses ---------------------------------------


def test_host_command_bytes_equal_stored(golden: Json) -> None:
    for case in golden["commands"]:
        if case["expect"][0] != 0:
            continue
        _, token, command = case["expect"]
        data = bytes.fromhex(case["hex"])
        assert encode_command(token, command, bytes.fromhex(case["args_hex"])) == data
        frame = decode_frame(data)
        assert frame == CommandFrame(
            token=token, command=Command(command), args=bytes.fromhex(case["args_hex"])
        )


def test_host_check_command_gives_the_stored_answers(golden: Json) -> None:
    for case in golden["commands"]:
        assert list(check_command(bytes.fromhex(case["hex"]))) == case["expect"], case["name"]


def test_firmware_parse_command_equals_host_check_command_on_random_frames() -> None:
    rng = random.Random(7)
    frames = []
    for _ in range(400):
        size = rng.choice([0, 1, 2, 3, 4, 5, 6, 8, 20, rng.randint(0, 40)])
        data = bytearray(rng.randrange(256) for _ in range(size))
        # Mostly near-valid headers, so every branch of the checks is reached.
        if size > 0 and rng.random() < 0.8:
            data[0] = 1
        if size > 1 and rng.random() < 0.8:
            data[1] = 4
        if size > 3 and rng.random() < 0.7:
            data[3] = rng.randint(0, 14)
        frames.append({"name": f"r{len(frames)}", "hex": bytes(data).hex(),
                       "serial_hex": ""})  # fmt: skip
    lines = _run_firmware(_MPY_PARSE, frames, heapsize="2M").splitlines()
    answers = {tuple(int(v) for v in line.split(" ")[1:4]) for line in lines}
    assert len(answers) > 20  # the batch reaches many different answers
    for case, line in zip(frames, lines, strict=True):
        firmware = [int(v) for v in line.split(" ")[1:4]]
        assert firmware == list(check_command(bytes.fromhex(case["hex"]))), case["hex"]


def test_firmware_parses_golden_commands_plain_and_framed(golden: Json) -> None:
    lines = _run_firmware(_MPY_PARSE, golden["commands"]).splitlines()
    assert len(lines) == len(golden["commands"])
    for case, line in zip(golden["commands"], lines, strict=True):
        name, result, token, command, consumed, framed = line.split(" ")
        assert name == case["name"]
        assert [int(result), int(token), int(command)] == case["expect"], name
        assert consumed == "True"
        if case["hex"]:
            # Over serial the firmware deframer hands parse_command the same frame.
            assert framed == ",".join(map(str, case["expect"])), name
        else:
            assert framed == "-", name  # an empty frame is too short for serial framing


# --- the two sides agree on the numbers ----------------------------------------------------


def test_firmware_and_host_constants_agree(mpy) -> None:
    names = [
        "VERSION", "PROTO_MINOR", "HEADER_SIZE", "SAMPLE_SIZE_ANGLES", "SAMPLE_SIZE_RAW",
        "CONFIG_SIZE", "STATUS_SIZE", "MARKER_SIZE", "FLAG_RAW", "FLAG_RESENT", "ANGLE_NONE",
        "MAX_FRAME_SIZE", "MAX_MTU", "MAX_COUNT", "COMMAND_HEADER_SIZE", "REPLY_HEADER_SIZE",
        "ERROR_HEADER_SIZE",
    ]  # fmt: skip
    out = mpy("import protocol as P\n" + "".join(f"print(P.{n})\n" for n in names))
    assert [int(v) for v in out.split()] == [getattr(host_constants, n) for n in names]
    enums = mpy(
        "import protocol as P\n"
        "for k in sorted(dir(P)):\n"
        "    if k[:2] in ('T_', 'R_', 'E_', 'S_') or k[:4] == 'CMD_':\n"
        "        print(k, getattr(P, k))\n"
    )
    firmware = {k: int(v) for k, v in (line.split() for line in enums.splitlines())}
    host = {f"T_{m.name}": int(m) for m in host_constants.FrameType}
    host |= {f"CMD_{m.name}": int(m) for m in Command}
    host |= {f"R_{m.name}": int(m) for m in Result}
    host |= {f"E_{m.name}": int(m) for m in ErrorCode}
    host |= {f"S_{m.name}": int(m) for m in BoardState}
    assert firmware == host


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        sys.exit(f"usage: python tests/test_protocol_golden.py --write   (regenerates {GOLDEN})")
    GOLDEN.write_text(golden_text(build_golden()))
    print(f"wrote {GOLDEN}")

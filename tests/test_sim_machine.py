"""The simulated ``machine`` module: chip register models, I2C faults, Pin, ADC, Timer, WDT,
sample-source files, and the board profile loader running on it."""

from __future__ import annotations

import json
import shutil
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hipsense import paths
from hipsense.sim.source import write_source_file
from hipsense.virtual.runner import run_micropython

HEAP = "1M"
PRELUDE = "import json, errno, time\nimport _vboard, machine\n"


def run_json(mpy, body: str, **kw: Any) -> Any:
    out = mpy(PRELUDE + body, heapsize=HEAP, **kw)
    return json.loads(out.strip().splitlines()[-1])


# ---- I2C bus and faults --------------------------------------------------------------------
def test_i2c_errors_match_the_esp32_port(mpy) -> None:
    body = """
_vboard.clear_bus(0)
_vboard.add_chip("mpu6050", 0x68)
i2c = machine.I2C(0, scl=machine.Pin(22), sda=machine.Pin(21), freq=400000)
out = [i2c.scan()]
def code(f):
    try:
        f()
        return 0
    except OSError as e:
        return e.args[0]
out.append(code(lambda: i2c.readfrom_mem(0x69, 0x75, 1)))          # nobody at 0x69
_vboard.fail_next(2, errno.ETIMEDOUT)
out.append(code(lambda: i2c.readfrom_mem(0x68, 0x75, 1)))
out.append(code(lambda: i2c.writeto_mem(0x68, 0x6B, b"\\x00")))
out.append(code(lambda: i2c.readfrom_mem(0x68, 0x75, 1)))          # third one passes
_vboard.set_absent(0x68)
out.append(code(lambda: i2c.readfrom_mem(0x68, 0x75, 1)))
out.append(i2c.scan())
_vboard.set_absent(0x68, False)
_vboard.fail_random(0.5, seed=11, err=errno.EIO)
codes = [code(lambda: i2c.readfrom_mem(0x68, 0x75, 1)) for _ in range(200)]
_vboard.fail_random(0.5, seed=11, err=errno.EIO)
again = [code(lambda: i2c.readfrom_mem(0x68, 0x75, 1)) for _ in range(200)]
out += [sorted(set(codes)), codes.count(5), codes == again]
print(json.dumps(out))
"""
    res = run_json(mpy, body)
    assert res[0] == [0x68]
    assert res[1:5] == [19, 110, 110, 0]  # ENODEV for a NACK, ETIMEDOUT injected
    assert res[5] == 19 and res[6] == []
    assert res[7] == [0, 5] and 70 < res[8] < 130 and res[9] is True  # p=0.5, seeded


def test_register_burst_pointer_and_unknown_registers(mpy) -> None:
    body = """
_vboard.clear_bus(0)
c = _vboard.add_chip("mpu6500", 0x68)
i2c = machine.I2C(0)
out = []
i2c.writeto_mem(0x68, 0x19, b"\\x04\\x03")          # SMPLRT_DIV=4, CONFIG=3 by auto-increment
out.append(list(i2c.readfrom_mem(0x68, 0x19, 2)))
i2c.writeto(0x68, b"\\x75")                         # register pointer, then a plain read
out.append(list(i2c.readfrom(0x68, 1)))
i2c.writeto_mem(0x68, 0x50, b"\\xab")               # unimplemented: stored
out.append(i2c.readfrom_mem(0x68, 0x50, 1)[0])
out.append(i2c.readfrom_mem(0x68, 0x51, 1)[0])     # reset value
out.append(c.stats()["odr_hz"])
i2c.writeto_mem(0x68, 0x1A, b"\\x00")               # DLPF off: 8 kHz base
out.append(c.stats()["odr_hz"])
i2c.writeto_mem(0x68, 0x6B, b"\\x80")               # DEVICE_RESET
out.append([c.stats()["odr_hz"], i2c.readfrom_mem(0x68, 0x50, 1)[0]])
print(json.dumps(out))
"""
    assert run_json(mpy, body) == [[4, 3], [0x70], 0xAB, 0, 200.0, 1600.0, [8000.0, 0]]


@pytest.mark.parametrize(
    ("kind", "writes", "odr_hz", "acc_lsb_per_g", "gyr_lsb_per_dps"),
    [
        (
            "mpu6050",
            [(0x6B, 0x01), (0x19, 9), (0x1A, 3), (0x1B, 0x18), (0x1C, 0x10)],
            100.0,
            4096.0,
            16.4,
        ),
        (
            "mpu6886",
            [(0x6B, 0x01), (0x19, 1), (0x1A, 1), (0x1B, 0x10), (0x1C, 0x18)],
            500.0,
            2048.0,
            32.8,
        ),
        ("icm42688p", [(0x4E, 0x0F), (0x4F, 0x07), (0x50, 0x27)], 200.0, 4096.0, 16.4),
        ("lsm6ds3", [(0x10, 0x4C), (0x11, 0x4C), (0x0A, 0x26)], 104.0, 1000 / 0.244, 1000 / 70),
        (
            "lsm6dsox",
            [(0x10, 0x64), (0x11, 0x68), (0x09, 0x66), (0x0A, 0x06)],
            416.0,
            1000 / 0.488,
            1000 / 35,
        ),
    ],
)
def test_rate_and_range_registers_change_the_model(
    mpy,
    kind: str,
    writes: list[tuple[int, int]],
    odr_hz: float,
    acc_lsb_per_g: float,
    gyr_lsb_per_dps: float,
) -> None:
    body = f"""
_vboard.clear_bus(0)
c = _vboard.add_chip({kind!r})
i2c = machine.I2C(0)
for reg, val in {writes!r}:
    i2c.writeto_mem(c.addr, reg, bytes((val,)))
s = c.stats()
print(json.dumps([s["odr_hz"], s["acc_lsb_per_g"], s["gyr_lsb_per_dps"]]))
"""
    assert run_json(mpy, body) == pytest.approx([odr_hz, acc_lsb_per_g, gyr_lsb_per_dps])


def test_fifo_count_overflow_flag_and_reset_on_the_mpu6050(mpy) -> None:
    body = """
_vboard.set_manual(True)
_vboard.clear_bus(0)
c = _vboard.add_chip("mpu6050")
i2c = machine.I2C(0)
for reg, val in ((0x6B, 1), (0x19, 9), (0x1A, 3), (0x23, 0x78), (0x6A, 0x40)):
    i2c.writeto_mem(0x68, reg, bytes((val,)))
_vboard.advance(10)
cnt = i2c.readfrom_mem(0x68, 0x72, 2)
first = i2c.readfrom_mem(0x68, 0x74, 12)          # FIFO_R_W does not auto-increment
after = i2c.readfrom_mem(0x68, 0x72, 2)
_vboard.advance(100)                               # 1024-byte FIFO holds 85 samples
flag = i2c.readfrom_mem(0x68, 0x3A, 1)[0]
flag2 = i2c.readfrom_mem(0x68, 0x3A, 1)[0]         # cleared on read
full = i2c.readfrom_mem(0x68, 0x72, 2)
i2c.writeto_mem(0x68, 0x6A, b"\\x44")              # FIFO_RESET
empty = i2c.readfrom_mem(0x68, 0x72, 2)
print(json.dumps([list(cnt), list(first), list(after), flag, flag2, list(full), list(empty),
                  i2c.readfrom_mem(0x68, 0x6A, 1)[0]]))
"""
    cnt, first, after, flag, flag2, full, empty, user_ctrl = run_json(mpy, body)
    assert cnt == [0, 120] and after == [0, 108]
    # still and level, ±2 g: az = 16384 big-endian, the rest zero
    assert first == [0, 0, 0, 0, 0x40, 0x00, 0, 0, 0, 0, 0, 0]
    assert flag & 0x10 and flag2 == 0
    assert full == [4, 0]  # 1024 bytes
    assert empty == [0, 0] and user_ctrl == 0x40  # FIFO_RESET self-clears


def test_lsm6dsox_fifo_words_are_tagged(mpy) -> None:
    body = """
_vboard.set_manual(True)
_vboard.clear_bus(0)
c = _vboard.add_chip("lsm6dsox")
i2c = machine.I2C(0)
for reg, val in ((0x10, 0x4C), (0x11, 0x4C), (0x09, 0x44), (0x0A, 0x06)):
    i2c.writeto_mem(0x6A, reg, bytes((val,)))
_vboard.advance(3)
st = i2c.readfrom_mem(0x6A, 0x3A, 2)
words = i2c.readfrom_mem(0x6A, 0x78, 14)          # two words in one burst (roll-over)
print(json.dumps([list(st), list(words)]))
"""
    st, words = run_json(mpy, body)
    assert st == [6, 0]
    assert words[0] >> 3 == 0x01 and words[7] >> 3 == 0x02  # gyro word, then accel word
    assert words[1:7] == [0] * 6
    az = struct.unpack("<h", bytes(words[12:14]))[0]
    assert az == round(1000 / 0.244)  # 1 g at ±8 g


def test_speed_factor_scales_the_wall_clock(mpy, monkeypatch) -> None:
    """Wall mode: simulated time is wall time x speed. Bounds that hold on any load: the
    simulated time between two reads is at least the sleep x speed, and at most the wall time
    around the reads x speed."""
    monkeypatch.setenv("HIPSENSE_SIM_SPEED", "5")
    body = """
import _simclock
w0 = time.ticks_us()
s0 = _simclock.now_us()
time.sleep_ms(60)
s1 = _simclock.now_us()
w1 = time.ticks_us()
print(json.dumps([s1 - s0, time.ticks_diff(w1, w0)]))
"""
    sim_us, wall_us = run_json(mpy, body)
    # (the OS may end a sleep a fraction of a millisecond early against the tick counter)
    assert 59_000 * 5 <= sim_us <= wall_us * 5 + 5


def test_clock_error_sets_the_fill_rate(mpy, monkeypatch) -> None:
    """Lockstep: 60 ms of simulated time at 100 Hz with a +10 % oscillator error gives the
    chip's 6.6 samples, whatever the machine's load (the read's own bus time adds its part)."""
    monkeypatch.setenv("HIPSENSE_SIM_CLOCK", "lockstep")
    sim = paths.mpy_sim_dir()
    body = """
import imu, _simclock
_vboard.clear_bus(0)
_vboard.add_chip("mpu6500")
i2c = machine.SoftI2C(scl=machine.Pin(22), sda=machine.Pin(21))
drv = imu.probe(i2c)
drv.configure(100)
_vboard.set_clock_error(0.1)
buf = bytearray(12 * 42)
drv.read(buf, 42)
t0 = _simclock.now_us()
time.sleep_ms(60)
ns = [drv.read(buf, 42)]
t1 = _simclock.now_us()
time.sleep_ms(300)  # 33 samples: the 512-byte FIFO holds 42
ns.append(drv.read(buf, 42))
print(json.dumps([ns, t1 - t0, _simclock.now_us() - t1]))
"""
    (n1, n2), dt1_us, dt2_us = run_json(
        mpy, body, path=[sim / "lockstep", sim, paths.firmware_dir()]
    )
    assert 60_000 <= dt1_us < 70_000 and 300_000 <= dt2_us < 310_000
    assert abs(n1 - 60e-3 * 110) <= 1.0  # the chip's 110 Hz (100 Hz + 10 %)
    assert abs(n1 + n2 - (dt1_us + dt2_us) * 1e-6 * 110) <= 1.0


# ---- sample-source file (the producer is hipsense.sim.source.write_source_file) -----------
def test_hsim_file_source_feeds_the_driver(mpy, tmp_path: Path, monkeypatch) -> None:
    n = 50
    i = np.arange(n, dtype=float)
    acc = np.stack([0.1 * i, -0.05 * i, 9.80665 + 0 * i], axis=1)
    gyr = np.stack([2.0 * i, -1.0 * i, 0.5 * i], axis=1)
    path = write_source_file(tmp_path / "walk.hsim", acc, gyr, 100.0, loop=False)
    monkeypatch.setenv("HIPSENSE_SIM_SOURCE", str(path))
    monkeypatch.setenv("HIPSENSE_SIM_IMU", "icm42688p@0x69")
    body = """
import imu, struct
_vboard.set_manual(True)
i2c = machine.I2C(0)
drv = imu.probe(i2c, (0x68, 0x69))
drv.configure(100)
_vboard.set_clock_error(0.0)
_vboard.advance(60)
buf = bytearray(12 * 64)
got = drv.read(buf, 64)
vals = [[v * (drv.acc_mps2_per_lsb if j < 3 else drv.gyr_dps_per_lsb)
         for j, v in enumerate(struct.unpack_from("<6h", buf, 12 * k))] for k in range(got)]
print(json.dumps([drv.chip, drv.addr, vals]))
"""
    chip, addr, vals = run_json(mpy, body)
    assert chip == "icm42688p" and addr == 0x69
    assert len(vals) == 60
    fed = np.hstack([acc, gyr]).astype(np.float32)
    got = np.array(vals)
    step = np.array([9.80665 / 4096] * 3 + [1 / 32.8] * 3)
    assert np.all(np.abs(got[:n] - fed) <= step / 2 + 1e-6)
    assert np.all(np.abs(got[n:] - fed[-1]) <= step / 2 + 1e-6)  # holds the last sample


def test_hsim_bad_file_is_a_clear_error(tmp_path: Path, monkeypatch) -> None:
    bad = tmp_path / "bad.hsim"
    bad.write_bytes(b"NOPE" + bytes(12))
    monkeypatch.setenv("HIPSENSE_SIM_SOURCE", str(bad))
    res = run_micropython(
        "import machine; machine.I2C(0)",
        path=[paths.mpy_sim_dir()],
        heapsize=HEAP,
        check=False,
    )
    assert res.returncode != 0 and "not an HSIM sample-source file" in res.stdout + res.stderr


# ---- Pin, ADC, Timer, WDT, misc -------------------------------------------------------------
def test_pin_adc_and_misc(mpy) -> None:
    body = """
led = machine.Pin(2, machine.Pin.OUT)
led.on(); a = _vboard.pin_level(2); led.off(); b = _vboard.pin_level(2); led.toggle()
btn = machine.Pin(37, machine.Pin.IN)
seen = []
btn.irq(lambda p: seen.append(p.value()), trigger=machine.Pin.IRQ_FALLING)
idle = btn.value()
_vboard.set_pin(37, 0); _vboard.set_pin(37, 1); _vboard.set_pin(37, 0)
adc = machine.ADC(machine.Pin(38), atten=machine.ADC.ATTN_11DB)
_vboard.set_adc_mv(38, 2000)
uv = adc.read_uv(); u16 = adc.read_u16()
_vboard.set_adc_mv(38, 5000)
clipped = adc.read_uv()
print(json.dumps([a, b, _vboard.pin_level(2), idle, seen, uv, u16, clipped,
                  len(machine.unique_id()), machine.freq()]))
"""
    a, b, toggled, idle, seen, uv, u16, clipped, uid_len, freq = run_json(mpy, body)
    assert (a, b, toggled, idle) == (1, 0, 1, 1)
    assert seen == [0, 0]  # two falling edges
    assert uv == 2_000_000 and u16 == 2000 * 65535 // 2450 and clipped == 2_450_000
    assert uid_len == 6 and freq == 160_000_000


def test_timer_callbacks_are_scheduled_deterministically(mpy) -> None:
    # started at odd moments of a session: a float32 clock drifts off the exact periods
    body = """
import micropython
_vboard.set_manual(True)
counts = []
for start in range(40):
    _vboard.advance_ms(start * 37.123)
    ticks = []
    t = machine.Timer(0)
    t.init(period=100, mode=machine.Timer.PERIODIC, callback=lambda tm: ticks.append(len(ticks)))
    one = []
    t1 = machine.Timer(1)
    t1.init(period=250, mode=machine.Timer.ONE_SHOT, callback=lambda tm: one.append(1))
    for _ in range(10):
        _vboard.advance_ms(50)
        machine.idle()
    t.deinit()
    _vboard.advance_ms(500)
    machine.idle()
    counts.append([len(ticks), len(one)])
print(json.dumps(counts))
"""
    assert run_json(mpy, body) == [[5, 1]] * 40


def test_watchdog_missed_feed_resets_the_board(mpy) -> None:
    body = """
_vboard.set_manual(True)
_vboard.wdt_action = "record"
w = machine.WDT(timeout=2000)
for _ in range(10):
    _vboard.advance_ms(500)
    w.feed()
fed_ok = _vboard.wdt_status()
_vboard.advance_ms(2500)
print(json.dumps([fed_ok, _vboard.wdt_status()]))
"""
    fed_ok, missed = run_json(mpy, body)
    assert fed_ok[0] is True and fed_ok[1] == 2000 and fed_ok[3] == 0
    assert missed[3] == 1
    res = run_micropython(
        "import _vboard, machine\n_vboard.set_manual(True)\nw = machine.WDT(timeout=1000)\n"
        "_vboard.advance_ms(1500)\nprint('still running')\n",
        path=[paths.mpy_sim_dir()],
        heapsize=HEAP,
        check=False,
    )
    assert res.returncode == 17 and "still running" not in res.stdout
    assert "watchdog" in res.stdout + res.stderr


# ---- board profiles --------------------------------------------------------------------------
BOARD_BODY = """
import board, imu
b = board.open_board()
out = {"name": b.name, "error": b.error, "freq": b.i2c.freq, "i2c_id": b.i2c.id,
       "addresses": list(b.imu_addresses), "has_led": b.has_led, "has_button": b.has_button,
       "has_battery": b.has_battery}
prof = b.profile
bat = prof.get("battery") or {}
if "adc_pin" in bat:
    _vboard.set_adc_mv(bat["adc_pin"], 2000)
out["battery_mv"] = b.battery_mv()
out["battery_pct"] = b.battery_pct()
if b.has_led:
    b.led(True)
    out["led_level"] = _vboard.pin_level(prof["led"]["pin"])
if b.has_button:
    out["pressed_idle"] = b.button_pressed()
    _vboard.set_pin(prof["button"]["pin"], 0)
    out["pressed"] = b.button_pressed()
if prof.get("power_hold"):
    out["hold_level"] = _vboard.pin_level(prof["power_hold"]["pin"])
out["imu"] = imu.probe(b.i2c, b.imu_addresses).chip
print(json.dumps(out))
"""


def _profiles() -> list[Path]:
    """Board profiles (``schema.json`` beside them is the JSON Schema, not a board)."""
    out = []
    for p in sorted(paths.boards_dir().glob("*.json")):
        if isinstance(json.loads(p.read_text()).get("schema"), int):
            out.append(p)
    return out


@pytest.mark.parametrize("profile", _profiles(), ids=lambda p: p.stem)
def test_each_board_profile_loads(mpy, tmp_path: Path, profile: Path) -> None:
    shutil.copy(profile, tmp_path / "board.json")
    prof = json.loads(profile.read_text())
    res = run_json(mpy, BOARD_BODY, cwd=tmp_path)
    assert res["name"] == prof["name"] and res["error"] is None
    assert res["freq"] == prof["i2c"]["freq_hz"] and res["i2c_id"] == prof["i2c"]["id"]
    assert res["addresses"] == prof["imu"]["addresses"]
    # the virtual board puts the profile's expected IMU on the bus
    if prof["imu"].get("expected") in {
        "mpu6050",
        "mpu6500",
        "mpu6886",
        "icm42688p",
        "lsm6ds3",
        "lsm6dsox",
    }:
        assert res["imu"] == prof["imu"]["expected"]
    bat = prof.get("battery") or {}
    if "adc_pin" in bat:
        mv = round(2000 * bat["divider"])
        pct = max(0, min(100, (mv - bat["empty_mv"]) * 100 // (bat["full_mv"] - bat["empty_mv"])))
        assert res["has_battery"] and res["battery_mv"] == mv and res["battery_pct"] == pct
    else:
        assert not res["has_battery"] and res["battery_mv"] == -1 and res["battery_pct"] == -1
    if prof.get("led"):
        assert res["led_level"] == (0 if prof["led"]["active_low"] else 1)
    if prof.get("button"):
        assert res["pressed_idle"] is False and res["pressed"] is prof["button"]["active_low"]
    if prof.get("power_hold"):
        assert res["hold_level"] == prof["power_hold"]["value"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "board.json not found"),
        ("{not json", "not valid JSON"),
        ('{"schema": 2, "name": "x"}', "schema 2 is not supported"),
        ('{"schema": 1, "name": "x", "i2c": {"id": 0, "scl": 22, "sda": 21}}', "i2c.freq_hz"),
    ],
)
def test_missing_or_corrupt_profile_falls_back_with_a_clear_error(
    mpy, tmp_path: Path, content: str | None, message: str
) -> None:
    if content is not None:
        (tmp_path / "board.json").write_text(content)
    body = """
import board
b = board.open_board()
try:
    board.load_profile()
    raised = ""
except board.BoardProfileError as e:
    raised = str(e)
print(json.dumps([b.name, b.error, raised, list(b.imu_addresses), b.has_battery]))
"""
    name, error, raised, addresses, has_battery = run_json(mpy, body, cwd=tmp_path)
    assert name == "generic-esp32" and message in error and message in raised
    assert addresses == [0x68, 0x69, 0x6A, 0x6B] and has_battery is False


def test_battery_without_adc_pin_is_unknown(mpy, tmp_path: Path) -> None:
    prof = json.loads((paths.boards_dir() / "m5stickc-plus2.json").read_text())
    prof["battery"] = {"kind": "none"}
    (tmp_path / "board.json").write_text(json.dumps(prof))
    body = """
import board
b = board.open_board()
print(json.dumps([b.error, b.has_battery, b.battery_mv(), b.battery_pct()]))
"""
    assert run_json(mpy, body, cwd=tmp_path) == [None, False, -1, -1]

"""IMU drivers against the register-level chip models of the simulated ``machine``.

Each chip is fed known physical values; the driver must read back exactly those values (within
one quantisation step, clipped to the range) at every rate and range, across FIFO overflow and
injected I2C errors, without allocating on the read path.
"""

from __future__ import annotations

import json
import random
import struct
from pathlib import Path
from typing import Any

import pytest
from hipsense import paths
from hipsense.virtual.runner import ESP32LIKE_NAME

CHIPS = ["mpu6050", "mpu6500", "mpu6886", "icm42688p", "lsm6ds3", "lsm6dsox"]
CHIP_IDS = {"mpu6050": 1, "mpu6500": 2, "mpu6886": 3, "icm42688p": 4, "lsm6ds3": 5, "lsm6dsox": 6}
ADDRESSES = {
    "mpu6050": (0x68, 0x69),
    "mpu6500": (0x68, 0x69),
    "mpu6886": (0x68, 0x69),
    "icm42688p": (0x68, 0x69),
    "lsm6ds3": (0x6A, 0x6B),
    "lsm6dsox": (0x6A, 0x6B),
}
# true ODR the drivers report for the requested 100 / 200 / 400 Hz
ODR = {"mpu": (100, 200, 500), "icm": (100, 200, 500), "lsm": (104, 208, 416)}
RANGES = [(2, 250), (4, 500), (8, 1000), (16, 2000)]
HEAP = "4M"  # test data literals are large; board RAM is not what these tests check
G = 9.80665

# MicroPython helpers shared by the generated test programs
PRELUDE = """
import json, struct, time, errno, micropython
from heapcheck import alloc_error
import _vboard, machine, imu
from imu.manager import ImuManager

def fresh(kind, addr=None, err=0.0, manual=True):
    _vboard.set_manual(manual)
    _vboard.clear_bus(0)
    chip = _vboard.add_chip(kind, addr)
    chip.clock_error = err
    return chip, machine.I2C(0, scl=machine.Pin(22), sda=machine.Pin(21), freq=400000)

def unpack(buf, n):
    return [list(struct.unpack_from("<6h", buf, 12 * i)) for i in range(n)]
"""


def family(chip: str) -> str:
    return chip[:3]


def run_json(mpy, body: str, **kw) -> Any:
    out = mpy(PRELUDE + body, heapsize=HEAP, **kw)
    return json.loads(out.strip().splitlines()[-1])


def clip(v: float, step: float) -> float:
    return max(-32768 * step, min(32767 * step, v))


def make_samples(n: int, acc_g: int, gyr_dps: int, seed: int) -> list[list[float]]:
    """Random physical samples inside ±110 % of the range (some clip)."""
    rnd = random.Random(seed)
    out = []
    for _ in range(n):
        acc = [rnd.uniform(-1.1, 1.1) * acc_g * G for _ in range(3)]
        gyr = [rnd.uniform(-1.1, 1.1) * gyr_dps for _ in range(3)]
        out.append(acc + gyr)
    return out


@pytest.mark.parametrize("chip", CHIPS)
def test_reads_back_fed_values_at_every_rate_and_range(mpy, mpy_exe, chip: str) -> None:
    float32 = mpy_exe.name == ESP32LIKE_NAME
    n = 30
    cases = []
    for rate in (100, 200, 400):
        for k, (acc_g, gyr_dps) in enumerate(RANGES):
            cases.append((rate, acc_g, gyr_dps, make_samples(n, acc_g, gyr_dps, rate * 10 + k)))
    body = f"""
cases = {json.dumps(cases)}
res = []
buf = bytearray(12 * 64)
for rate, acc_g, gyr_dps, samples in cases:
    c, i2c = fresh({chip!r})
    drv = imu.probe(i2c, (0x68, 0x69, 0x6A, 0x6B))
    drv.configure(rate, acc_g, gyr_dps)
    flat = []
    for s in samples:
        flat.extend(s)
    _vboard.set_arrays(drv.rate_hz, flat)
    _vboard.advance({n})
    got = drv.read(buf, 64)
    res.append([drv.chip, drv.chip_id, drv.rate_hz, drv.acc_mps2_per_lsb, drv.gyr_dps_per_lsb,
                unpack(buf, got)])
print(json.dumps(res))
"""
    res = run_json(mpy, body)
    assert isinstance(res, list)
    for (rate, acc_g, gyr_dps, samples), (name, chip_id, rate_hz, acc_s, gyr_s, raw) in zip(
        cases, res, strict=True
    ):
        assert name == chip and chip_id == CHIP_IDS[chip]
        assert rate_hz == ODR[family(chip)][(100, 200, 400).index(rate)]
        # the scale is the datasheet sensitivity for the range
        if family(chip) == "lsm":
            assert acc_s == pytest.approx(
                {2: 0.061, 4: 0.122, 8: 0.244, 16: 0.488}[acc_g] * G / 1000
            )
            assert gyr_s == pytest.approx(
                {250: 8.75, 500: 17.5, 1000: 35, 2000: 70}[gyr_dps] / 1000
            )
        else:
            assert acc_s == pytest.approx(G * acc_g / 32768)
            assert gyr_s == pytest.approx(
                1 / {250: 131, 500: 65.5, 1000: 32.8, 2000: 16.4}[gyr_dps]
            )
        assert len(raw) == len(samples)
        for fed, r in zip(samples, raw, strict=True):
            for j in range(6):
                step = acc_s if j < 3 else gyr_s
                # half a step; the chip model quantises in the interpreter's float: on the
                # float32 build (ESP32-like) a value on a half step may round either way
                f32 = abs(fed[j]) * 2.0**-21 if float32 else 0.0
                assert abs(r[j] * step - clip(fed[j], step)) <= 0.5 * step * 1.0001 + 1e-9 + f32


@pytest.mark.parametrize("chip", CHIPS)
@pytest.mark.parametrize("ratio", [4, 0.5])
def test_lower_odr_averages_and_higher_odr_repeats(mpy, chip: str, ratio: float) -> None:
    """Source 4x the ODR: each sample is the mean of 4; source half the ODR: repeated."""
    samples = make_samples(40, 8, 1000, 7)
    body = f"""
c, i2c = fresh({chip!r})
drv = imu.probe(i2c)
drv.configure(100)
flat = []
for s in {json.dumps(samples)}:
    flat.extend(s)
_vboard.set_arrays(drv.rate_hz * {ratio}, flat)
_vboard.advance(8)
buf = bytearray(12 * 16)
n = drv.read(buf, 16)
print(json.dumps([drv.acc_mps2_per_lsb, drv.gyr_dps_per_lsb, unpack(buf, n)]))
"""
    acc_s, gyr_s, raw = run_json(mpy, body)
    assert len(raw) == 8
    for k, r in enumerate(raw):
        if ratio == 4:
            window = samples[4 * k : 4 * k + 4]
            expect = [sum(s[j] for s in window) / 4 for j in range(6)]
        else:
            expect = samples[k // 2]
        for j in range(6):
            step = acc_s if j < 3 else gyr_s
            assert abs(r[j] * step - clip(expect[j], step)) <= 0.5 * step * 1.0001 + 1e-9


@pytest.mark.parametrize("chip", CHIPS)
def test_probe_finds_chip_at_both_addresses(mpy, chip: str) -> None:
    body = f"""
res = []
for addr in {list(ADDRESSES[chip])}:
    c, i2c = fresh({chip!r}, addr)
    drv = imu.probe(i2c, (0x68, 0x69, 0x6A, 0x6B))
    res.append([drv.chip, drv.chip_id, drv.addr])
print(json.dumps(res))
"""
    res = run_json(mpy, body)
    assert res == [[chip, CHIP_IDS[chip], a] for a in ADDRESSES[chip]]


def test_no_imu_and_unknown_chip_give_noimu_with_reason(mpy) -> None:
    body = """
_vboard.set_manual(True)
_vboard.clear_bus(0)
i2c = machine.I2C(0)
none = imu.probe(i2c, (0x68, 0x69))
buf = bytearray(24)
c = _vboard.add_chip("mpu6886", 0x68)
c.regs[0x75] = 0x12
odd = imu.probe(i2c, (0x68,))
try:
    none.configure(150)
    bad_rate = "accepted"
except ValueError as e:
    bad_rate = str(e)
print(json.dumps([none.chip, none.chip_id, none.read(buf, 2), none.reason, odd.chip, odd.reason,
                  bad_rate]))
"""
    res = run_json(mpy, body)
    assert res[:3] == ["none", 0, 0]
    assert "I2C error 19" in res[3]
    assert res[4] == "none" and "unknown WHO_AM_I 0x12" in res[5]
    assert "100, 200 or 400" in res[6]


def test_configure_rejects_bad_rate_and_range(mpy) -> None:
    body = """
c, i2c = fresh("icm42688p")
drv = imu.probe(i2c)
out = []
for args in ((150,), (100, 3), (100, 8, 300)):
    try:
        drv.configure(*args)
        out.append("accepted")
    except ValueError as e:
        out.append(str(e))
print(json.dumps(out))
"""
    res = run_json(mpy, body)
    assert isinstance(res, list)
    assert "rate_hz" in res[0] and "acc_g" in res[1] and "gyr_dps" in res[2]


@pytest.mark.parametrize("chip", CHIPS)
def test_read_allocates_nothing(mpy, chip: str) -> None:
    body = f"""
c, i2c = fresh({chip!r})
drv = imu.probe(i2c)
drv.configure(200)
mgr = ImuManager(i2c, (0x68, 0x69, 0x6A, 0x6B), 200)
mgr.start()
buf = bytearray(12 * 40)
res = [0, 0, None]

def hot(i):
    res[i] = mgr.read(buf, 40)

hot(0)
for i, n in ((0, 37), (1, 5)):
    _vboard.advance(n)  # the chip model may allocate; only the read runs locked
    err = alloc_error(lambda: hot(i))
    if err is not None:
        res[2] = err
print(json.dumps([res[0], res[1], res[2] is None, mgr.state]))
"""
    assert run_json(mpy, body) == [37, 5, True, "ok"]


OVERFLOW_SLEEP_MS = {
    "mpu6050": 400,
    "mpu6500": 300,
    "mpu6886": 400,
    "icm42688p": 500,
    "lsm6ds3": 2000,
    "lsm6dsox": 900,
}

# A ramp on gyro x encodes the source sample index; the driver's sample index (samples read +
# samples reported lost) must track it across the disturbance. It runs on the lockstep clock
# (docs/virtual-board.md "Time"): ``time`` is the simulation clock, moved only by sleeps and
# bus time, so the chip fills its FIFO by the same clock the driver reads and a loaded machine
# changes no count (on the wall clock, scheduling jitter made the counts differ by up to 6).
RAMP_BODY = """
c, i2c = fresh({chip!r}, manual=False)
mgr = ImuManager(i2c, (0x68, 0x69, 0x6A, 0x6B), 400, 16, 2000)
flat = []  # built before start: samples made while building it would come from another source
for i in range(500 * 6):
    flat.extend((0.0, 0.0, 9.80665, 0.0, 0.0, 0.0))
    flat[6 * i + 3] = (i % 4000) * 0.5
rate = 416 if {chip!r}.startswith("lsm") else 500  # the ODR the chip gives for 400 Hz
_vboard.set_arrays(rate, flat)  # before start: every sample of the stream is from it
mgr.start()
assert mgr.rate_hz == rate
dropped0 = c.stats()["dropped"]  # samples flushed while configuring are not part of the stream
buf = bytearray(12 * 64)
index = 0
offsets = []
def pump(ms):
    global index
    t0 = time.ticks_ms()
    while time.ticks_diff(time.ticks_ms(), t0) < ms:
        n = mgr.read(buf, 64)
        index += mgr.take_lost()
        for k in range(n):
            gx = struct.unpack_from("<h", buf, 12 * k + 6)[0] * mgr.drv.gyr_dps_per_lsb
            offsets.append(round(gx / 0.5) - index)
            index += 1
        time.sleep_ms(4)
pump(150)
before = len(offsets)
{disturb}
pump(150)
st = c.stats()
print(json.dumps([before, offsets, mgr.fifo_overflows, mgr.samples_lost, st["dropped"] - dropped0,
                  mgr.i2c_errors, mgr.reinits, mgr.state]))
"""


@pytest.fixture
def lockstep(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The module path of a lockstep board (its ``time`` shadowed), the clock mode set."""
    monkeypatch.setenv("HIPSENSE_SIM_CLOCK", "lockstep")
    sim = paths.mpy_sim_dir()
    return [sim / "lockstep", sim, paths.firmware_dir()]


@pytest.mark.parametrize("chip", CHIPS)
def test_fifo_overflow_is_counted_and_sample_index_stays_honest(
    mpy, lockstep: list[Path], chip: str
) -> None:
    disturb = f"time.sleep_ms({OVERFLOW_SLEEP_MS[chip]})"
    res = run_json(mpy, RAMP_BODY.format(chip=chip, disturb=disturb), path=lockstep)
    before, offsets, overflows, lost, dropped, errors, _, state = res
    assert before > 20 and len(offsets) > before + 20  # the stream resumed
    assert overflows == 1 and errors == 0 and state == "ok"
    assert len(set(offsets[:before])) == 1  # consecutive before the overflow
    # lost samples as counted by the chip model: exact but for the sample in flight when the
    # FIFO filled (on the lockstep clock no scheduling jitter is left to allow for)
    assert abs(lost - dropped) <= 1
    assert max(abs(o - offsets[0]) for o in offsets) <= 5  # index on the IMU clock


@pytest.mark.parametrize("chip", CHIPS)
def test_i2c_errors_reinit_with_backoff_and_keep_index(
    mpy, lockstep: list[Path], chip: str
) -> None:
    disturb = "_vboard.fail_next(4, errno.ETIMEDOUT)\npump(60)\nassert mgr.i2c_errors >= 2"
    res = run_json(mpy, RAMP_BODY.format(chip=chip, disturb=disturb), path=lockstep)
    before, offsets, _, lost, _, errors, reinits, state = res
    assert state == "ok" and reinits == 1
    assert errors >= 2  # counted (the probe's failures count too; ENODEV of absent ones not)
    assert len(offsets) > before + 20
    assert lost > 0
    assert max(abs(o - offsets[0]) for o in offsets) <= 5


def test_backoff_doubles_and_manager_never_raises(mpy) -> None:
    body = """
c, i2c = fresh("mpu6050")
mgr = ImuManager(i2c, (0x68, 0x69), 100)
assert mgr.start()
buf = bytearray(12 * 8)
_vboard.fail_next(1000, errno.EIO, 0x68)
backoffs = []
t0 = time.ticks_ms()
while time.ticks_diff(time.ticks_ms(), t0) < 900:
    mgr.read(buf, 8)
    if not backoffs or backoffs[-1] != mgr._backoff_ms:
        backoffs.append(mgr._backoff_ms)
    time.sleep_ms(1)
tx = _vboard.transactions()
mgr.read(buf, 8)  # inside the back-off window: no bus traffic
quiet = _vboard.transactions() == tx
led = [mgr.led_level(t) for t in range(0, 100, 10)]
_vboard.fail_next(0)
time.sleep_ms(1100)  # the 640 ms back-off started at ~630 ms
mgr.read(buf, 8)
_vboard.advance(3)
n = mgr.read(buf, 8)
print(json.dumps([backoffs, mgr.i2c_errors, mgr.last_errno, quiet, led, mgr.state, n,
                  mgr.led_level(0)]))
"""
    backoffs, errors, last_errno, quiet, led, state, n, led_ok = run_json(mpy, body)
    assert backoffs[:7] == [10, 20, 40, 80, 160, 320, 640]
    assert errors >= 7 and last_errno == 5 and quiet
    assert set(led) == {0, 1}  # the error pattern blinks
    assert state == "ok" and n == 3 and led_ok == -1


def test_random_faults_never_raise_and_recover(mpy) -> None:
    body = """
c, i2c = fresh("lsm6ds3", manual=False)
mgr = ImuManager(i2c, (0x6A, 0x6B), 100)
mgr.start()
_vboard.fail_random(0.05, seed=3)
buf = bytearray(12 * 32)
got = 0
t0 = time.ticks_ms()
while time.ticks_diff(time.ticks_ms(), t0) < 1500:
    got += mgr.read(buf, 32)
    time.sleep_ms(5)
_vboard.fail_random(0.0)
time.sleep_ms(2100)
after = 0
for _ in range(4):
    after += mgr.read(buf, 32)
    time.sleep_ms(50)
print(json.dumps([got, mgr.i2c_errors, _vboard.faults_injected(), mgr.state, after]))
"""
    got, errors, injected, state, after = run_json(mpy, body)
    assert injected > 0 and 0 < errors <= injected
    assert got > 0 and state == "ok" and after > 5


def test_no_imu_state_then_hot_plug(mpy) -> None:
    body = """
_vboard.set_manual(True)
_vboard.clear_bus(0)
i2c = machine.I2C(0)
mgr = ImuManager(i2c, (0x68, 0x69), 100)
ok = mgr.start()
buf = bytearray(24)
first = [mgr.state, mgr.chip, mgr.chip_id, mgr.read(buf, 2), mgr.i2c_errors]
pattern = [mgr.led_level(t) for t in range(0, 1000, 50)]
c = _vboard.add_chip("mpu6500", 0x69)
c.clock_error = 0.0
time.sleep_ms(30)
mgr.read(buf, 2)
print(json.dumps([ok, first, pattern, mgr.state, mgr.chip, mgr.rate_hz]))
"""
    ok, first, pattern, state, chip, rate = run_json(mpy, body)
    assert ok is False and first == ["no_imu", "none", 0, 0, 0]
    assert pattern[:6] == [1, 1, 0, 0, 0, 1]  # 100 on, 150 off, 100 on, 650 off
    assert sum(pattern) == 4
    assert state == "ok" and chip == "mpu6500" and rate == 100


def _pair_words(words: list[tuple[int, list[int]]]) -> list[list[int]]:
    """Reference pairing: accel (tag 2) + gyro (tag 1) halves; other tags are skipped."""
    pend: dict[int, list[int]] = {}
    out = []
    for tag, xyz in words:
        if tag in (1, 2):
            pend[tag] = xyz
            if len(pend) == 2:
                out.append(pend[2] + pend[1])
                pend = {}
    return out


def test_lsm6dsox_tag_pairing_survives_split_reads_and_other_tags(mpy) -> None:
    rnd = random.Random(5)
    words = []
    for _ in range(300):
        tag = rnd.choice([1, 2, 1, 2, 1, 2, 3, 4])
        words.append((tag, [rnd.randint(-32768, 32767) for _ in range(3)]))
    raw = bytearray()
    for tag, xyz in words:
        raw += bytes([(tag << 3) | rnd.randint(0, 7)]) + struct.pack("<3h", *xyz)
    splits = []
    i = 0
    while i < len(words):
        k = rnd.randint(1, 9)
        splits.append(min(k, len(words) - i))
        i += k
    body = f"""
from imu.lsm6ds import _unpack_tagged
raw = {bytes(raw)!r}
st = bytearray(13)
out = bytearray(12 * 400)
n = 0
pos = 0
for k in {splits!r}:
    n += _unpack_tagged(raw[pos * 7:(pos + k) * 7], k, st, out, n * 12)
    pos += k
print(json.dumps(unpack(out, n)))
"""
    assert run_json(mpy, body) == _pair_words(words)


def test_lost_count_after_an_outage_longer_than_the_us_tick_wraps(mpy) -> None:
    """20 min without a read: ticks_us has wrapped (period 2**30 us = 17.9 min), the estimate
    of the samples produced meanwhile comes from the ms clock."""
    body = """
import imu._base as base
c, i2c = fresh("mpu6886")
mgr = ImuManager(i2c, (0x68,), 100)
mgr.start()
drv = mgr.drv
buf = bytearray(12 * 8)
_vboard.advance(4)
drv.read(buf, 8)
real = base.time
class Later:  # the MCU clock 20 minutes on
    def ticks_ms(self):
        return real.ticks_add(real.ticks_ms(), 20 * 60 * 1000)
    def ticks_us(self):
        return real.ticks_add(real.ticks_us(), (20 * 60 * 1000000) % (1 << 30))
    def ticks_diff(self, a, b):
        return real.ticks_diff(a, b)
later = Later()
base.time = later
print(json.dumps([drv.rate_hz, drv.lost_until(later.ticks_us())]))
"""
    rate, lost = run_json(mpy, body)
    assert abs(lost - rate * 20 * 60) <= rate * 0.05  # within 50 ms of the 20 minutes

"""Commands that change the board's setup (rate, calibration, mounting, pairing, bonds,
reboot), run by ``app.App.command``; SET_CONTENT is resident (the host sends it before every
START).

Imported on demand and dropped again once no command or job of it runs (docs/firmware.md
"Memory budget"): a board without PSRAM cannot keep this rarely used code resident beside a
10 s ring. The gyro calibration and the mounting capture are jobs that span loop passes:
the module stays loaded until they finish (``app.App._release_setup``).
"""

import struct
import time
from array import array

import app as _board_app  # loaded long before this module (no import cycle at run time)
import protocol
from micropython import const

_STILL_GYR_DPS = const(3.0)  # CALIBRATE_GYRO: largest peak-to-peak gyro range that counts as still
_STILL_ACC_MPS2 = const(0.5)  # ... and accelerometer range
_ALIGN_STILL_MS = const(2000)
_ALIGN_BEND_MS = const(2000)
_ALIGN_WALK_MS = const(8000)  # slow walkers need a few strides (docs/algorithms.md)
_PAIR_MAX_S = const(120)
_KIND_GYRO = const(1)
_KIND_ALIGN = const(2)


def run(app, link, token, cmd, buf):
    """Run setup command ``cmd``; False when this firmware does not know it."""
    handler = _HANDLERS.get(cmd)
    if handler is None:
        return False
    handler(app, link, token, cmd, buf)
    return True


def _set_rate(app, link, token, cmd, buf):
    rate = buf[4] | (buf[5] << 8)
    if rate not in _board_app.RATES_HZ:
        link.send_reply(token, cmd, protocol.R_BAD_VALUE)
        return
    if app.streaming:
        link.send_reply(token, cmd, protocol.R_BUSY)
        return
    save_config(rate_hz=rate)  # first: a failed flash write changes nothing
    imu = app.imu
    if imu.chip_id:
        try:
            imu.drv.configure(rate, imu.acc_g, imu.gyr_dps)
        except OSError:
            link.send_reply(token, cmd, protocol.R_FAILED)  # the manager re-initialises
            return
    imu.req_rate_hz = rate
    app.settings_gen += 1
    link.send_reply(token, cmd, protocol.R_OK)
    app._configure_sensing()


def _calibrate_gyro(app, link, token, cmd, buf):
    seconds = buf[4]
    if not 1 <= seconds <= 30:
        link.send_reply(token, cmd, protocol.R_BAD_VALUE)
        return
    if app.imu.chip_id == 0:
        link.send_reply(token, cmd, protocol.R_FAILED)
        return
    # n, sums xyz, min xyz, max xyz of gyro, acc z range
    c = array("i", (0, 0, 0, 0, 32767, 32767, 32767, -32768, -32768, -32768, 32767, -32768))
    app._cal = c
    app._job = (_KIND_GYRO, token, link, time.ticks_add(app._now_ms, seconds * 1000), cmd)
    app._cal_sample = calibration_sample


def calibration_sample(app, buf, off):
    """Gyro sums and ranges while CALIBRATE_GYRO runs (ints below 2**30: 30 s at 400 Hz)."""
    raw = app._raw
    _board_app._load_raw(buf, off, raw)
    c = app._cal
    c[0] += 1
    for i in range(3):
        v = raw[3 + i]
        c[1 + i] += v
        if v < c[4 + i]:
            c[4 + i] = v
        if v > c[7 + i]:
            c[7 + i] = v
    if raw[2] < c[10]:
        c[10] = raw[2]
    if raw[2] > c[11]:
        c[11] = raw[2]


def _align_mounting(app, link, token, cmd, buf):
    phase = buf[4]
    if phase not in (1, 2, 3):
        link.send_reply(token, cmd, protocol.R_BAD_VALUE)
        return
    if app.imu.chip_id == 0:
        link.send_reply(token, cmd, protocol.R_FAILED)
        return
    if phase == 1:
        from mounting import MountingCapture  # dropped with this module (app._release_setup)

        app.capture = MountingCapture(app.imu.rate_hz)
        ms = _ALIGN_STILL_MS
    elif app.capture is None:
        link.send_reply(token, cmd, protocol.R_BUSY)
        return
    else:
        ms = _ALIGN_BEND_MS if phase == 2 else _ALIGN_WALK_MS
    app.capture.phase = phase - 1
    app._job = (_KIND_ALIGN, token, link, time.ticks_add(app._now_ms, ms), cmd)


def finish_job(app, kind, link, token, cmd):
    """The job's time is up: answer its command (an OSError: the result was not saved)."""
    if kind == _KIND_GYRO:
        _finish_gyro(app, link, token, cmd)
    else:
        _finish_align(app, link, token, cmd)


def _finish_gyro(app, link, token, cmd):
    c = app._cal
    app._cal = None
    drv = app.imu.drv
    gyr_range = max(c[7 + i] - c[4 + i] for i in range(3)) * drv.gyr_dps_per_lsb
    acc_range = (c[11] - c[10]) * drv.acc_mps2_per_lsb
    if c[0] < 10 or gyr_range > _STILL_GYR_DPS or acc_range > _STILL_ACC_MPS2:
        why = "gyro calibration: moved (%.1f deg/s, %.2f m/s2)" % (gyr_range, acc_range)
        _board_app._log("W", why)
        link.send_reply(token, cmd, protocol.R_FAILED)
        return
    bias = [c[1 + i] * drv.gyr_dps_per_lsb / c[0] for i in range(3)]
    app.fusion.set_bias_dps(bias[0], bias[1], bias[2])
    app.fusion.save_bias(_board_app.BIAS_FILE)
    app.bias_calibrated = True
    app.settings_gen += 1
    struct.pack_into("<3f", app._payload, 0, bias[0], bias[1], bias[2])
    link.send_reply(token, cmd, protocol.R_OK, memoryview(app._payload)[:12])


def _finish_align(app, link, token, cmd):
    capture = app.capture
    if capture is None or capture.phase == 0:
        link.send_reply(token, cmd, protocol.R_OK)  # stand-still captured; phase 2 or 3 next
        return
    app.capture = None
    try:
        q = capture.finish(app.pelvis)
    except ValueError as e:
        _board_app._log("W", str(e))
        link.send_reply(token, cmd, protocol.R_FAILED)
        return
    set_mounting(app, q)
    struct.pack_into("<4f", app._payload, 0, q[0], q[1], q[2], q[3])
    link.send_reply(token, cmd, protocol.R_OK, memoryview(app._payload)[:16])


def _set_mounting_cmd(app, link, token, cmd, buf):
    q = struct.unpack_from("<4f", buf, 4)
    norm = (q[0] * q[0] + q[1] * q[1] + q[2] * q[2] + q[3] * q[3]) ** 0.5
    if not 0.9 < norm < 1.1:
        link.send_reply(token, cmd, protocol.R_BAD_VALUE)
        return
    set_mounting(app, [v / norm for v in q])
    link.send_reply(token, cmd, protocol.R_OK)
    app._send_config()


def set_mounting(app, q):
    # first: a failed flash write changes nothing
    _board_app._write_json(_board_app.MOUNTING_FILE, {"schema": 1, "mounting_q": list(q)})
    app.pelvis.set_mounting_q(q[0], q[1], q[2], q[3])
    app.aligned = True
    app.settings_gen += 1


def save_config(**changes):
    cfg = _board_app._read_json(_board_app.CONFIG_FILE)
    cfg = cfg if isinstance(cfg, dict) else {"schema": 1}
    cfg.update(changes)
    _board_app._write_json(_board_app.CONFIG_FILE, cfg)


def _ble_links(app):
    return [link for link in app.links if hasattr(link, "open_pairing")]


def _pairing(app, link, token, cmd, buf):
    seconds = buf[4]
    if seconds > _PAIR_MAX_S:
        link.send_reply(token, cmd, protocol.R_BAD_VALUE)
        return
    if not app.open_pairing(app._now_ms, seconds):
        link.send_reply(token, cmd, protocol.R_FAILED)  # no BLE on this board
        return
    state = "open for %d s" % seconds if seconds else "closed"
    _board_app._log("I", "BLE pairing window " + state)
    link.send_reply(token, cmd, protocol.R_OK)


def _forget_bonds(app, link, token, cmd, buf):
    link.send_reply(token, cmd, protocol.R_OK)
    for ble in _ble_links(app):
        ble.forget_bonds(app._now_ms)
    _board_app._log("I", "BLE bonds cleared")


def _reboot(app, link, token, cmd, buf):
    link.send_reply(token, cmd, protocol.R_OK)
    app._reboot_at = time.ticks_add(app._now_ms, 200)  # let the reply go out
    app._reboot_due = True


_HANDLERS = {
    protocol.CMD_SET_RATE: _set_rate,
    protocol.CMD_CALIBRATE_GYRO: _calibrate_gyro,
    protocol.CMD_ALIGN_MOUNTING: _align_mounting,
    protocol.CMD_REBOOT: _reboot,
    protocol.CMD_SET_MOUNTING: _set_mounting_cmd,
    protocol.CMD_PAIRING: _pairing,
    protocol.CMD_FORGET_BONDS: _forget_bonds,
}

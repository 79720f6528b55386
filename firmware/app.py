"""The board's application: IMU -> fusion -> pelvis angles -> ring -> links, plus commands.

One loop, no threads: each pass reads whatever the IMU FIFO holds, runs the per-sample path
(allocation-free: ``_on_samples``), lets every link send and run the commands it received,
and once a second refreshes the status, the battery, the LED and the watchdog heartbeat.
Sample time is the IMU's sample index (docs/protocol.md), never this loop's timing.
"""

import gc
import json
import os
import struct
import time
from array import array

import machine
import memory
import micropython
import protocol
from fusion import Fusion
from imu.manager import STATE_ERROR, STATE_NO_IMU, ImuManager
from micropython import const
from pelvis import Pelvis
from ring import Ring

CONFIG_FILE = "hs_config.json"  # {"schema": 1, "name": str, "rate_hz": 100|200|400}
BIAS_FILE = "hs_bias.json"  # written by Fusion.save_bias
MOUNTING_FILE = "hs_mount.json"  # {"schema": 1, "mounting_q": [w, x, y, z]} sensor -> pelvis
RATES_HZ = (100, 200, 400)
_MAX_BURST = const(32)  # samples per FIFO read: 80 ms at 400 Hz
_LOOP_MS = const(5)
_STATUS_MS = const(1000)
_BATTERY_MS = const(10000)
# Watchdogs (docs/firmware.md "The loop survives"). The longest legitimate pause of the loop is
# a flash write: a small file through littlefs costs a few 4 KB sector erases, each at most
# 400 ms (W25Q32JV datasheet, tSE). A loop that has not come round for 3 s is hung; checked every
# 0.5 s, the board resets 3.0-3.5 s after its last pass, so a host is streaming again within
# 10 s of the hang (docs/link.md "Deadlines").
_WATCHDOG_MS = const(3000)  # a loop that has not come round for this long resets the board
_WATCHDOG_CHECK_MS = const(500)
_WATCHDOG_TIMER = const(0)  # hardware timer 0: the ESP32 port has no virtual timers (-1)
_LOW_BATTERY_MARGIN_MV = const(50)  # stop streaming this close to the profile's empty voltage
_LOST = const(-32768)  # raw value of every axis in a placeholder for a lost sample
_MAX_ERRORS = const(20)  # loop exceptions tolerated per window before a clean reset
_ERROR_WINDOW_MS = const(10000)
_WDT_MS = const(5000)  # hardware: a hang inside C code (I2C, NimBLE, flash); after the 3.5 s check
_DEV_FILE = const("hs_dev")  # development switch: this file in the flash root keeps machine.WDT off
_PAIR_PRESS_MS = const(3000)  # a button press this long opens the BLE pairing window
_SETUP = const("setup_cmds")  # the rarely used commands, imported on demand (setup_cmds.py)


@micropython.viper
def _load_raw(src, off: int, dst):
    """Six little-endian int16 from ``src[off:]`` into ``array('h')`` ``dst`` (no allocation)."""
    p = ptr8(src)  # noqa: F821
    d = ptr16(dst)  # noqa: F821
    i = 0
    while i < 6:
        d[i] = p[off + 2 * i] | (p[off + 2 * i + 1] << 8)
        i += 1


def _read_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def _write_json(path, obj):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f)
    os.rename(tmp, path)


_MAX_NAME_BYTES = const(20)  # "hipsense-" + name fills the 31-byte scan response (+2 header)


def _valid_name(name):
    """The configured BLE name suffix, or None (the MAC-derived one) when it is not a str of
    1 to 20 bytes: a longer one would not fit the scan response (advertising fails)."""
    if not isinstance(name, str):
        return None
    n = len(name.encode())
    if 0 < n <= _MAX_NAME_BYTES:
        return name
    _log("W", "name of %d bytes ignored (1 to %d)" % (n, _MAX_NAME_BYTES))
    return None


def _exists(path):
    try:
        os.stat(path)
    except OSError:
        return False
    return True


def _log(level, message):
    try:
        import hs_boot  # the launcher's log (docs/flashing.md); absent on a bare checkout
    except ImportError:
        print("hipsense %s: %s" % (level, message))
        return
    hs_boot.log(level, "app", message)


class App:
    """Owns the sensing path and the board state; ``links`` send frames to hosts.

    ``links`` are ``link.Link`` subclasses (BLE, serial) built with ``self.command`` bound as
    their command callback through :meth:`add_link`.
    """

    def __init__(self, brd, ring_bytes=None, ring=None):
        self.board = brd
        cfg = _read_json(CONFIG_FILE)
        cfg = cfg if isinstance(cfg, dict) else {}
        rate = cfg.get("rate_hz", RATES_HZ[0])
        self.name = _valid_name(cfg.get("name"))
        self.imu = ImuManager(brd.i2c, brd.imu_addresses, rate if rate in RATES_HZ else RATES_HZ[0])
        self.fusion = Fusion()
        self._drv = None  # the driver the fusion was configured for
        self.pelvis = Pelvis()
        self.capture = None  # mounting.MountingCapture while ALIGN_MOUNTING runs
        if ring is None:
            ring = Ring() if ring_bytes is None else Ring(ring_bytes)
        self.ring = ring
        self.memory_error = None  # type: str | None  # boot(): the ring is below the budget
        self._ring_lent = False  # the ring's memory is lent to setup_cmds (not streaming)
        self._restore_due = False  # ... and is taken back at the top of the next step
        self.links = []
        self.streaming = False
        self.raw_content = True
        self.boot_id = struct.unpack("<H", os.urandom(2))[0]
        self.sample_index = 0  # samples produced by the IMU since boot (its clock)
        self.period_100us = 100
        self.low_battery = False
        self.battery_mv = -1
        self.battery_pct = -1
        self.bias_calibrated = False
        self.aligned = False
        self.settings_gen = 0  # changes of the stored settings since boot (CONFIG byte 19)
        self._raw = array("h", bytes(12))
        self._ang = array("h", bytes(6))
        self._buf = bytearray(12 * _MAX_BURST)
        self._status = bytearray(protocol.STATUS_SIZE)
        self._payload = bytearray(16)
        self._t0_ms = time.ticks_ms()
        self._now_ms = self._t0_ms  # the clock of the current step (commands run inside it)
        self._next_status_ms = self._t0_ms
        self._next_battery_ms = self._t0_ms
        self._press_seq = 0  # ring sequence number when the button was pressed (IRQ)
        self._press_pending = False
        self._button_down_ms = 0  # step clock at the press (IRQ)
        self._pair_armed = False  # the press may become a long press
        self._heartbeat_ms = self._t0_ms
        self._watchdog = None
        self.watchdog_ms = _WATCHDOG_MS
        # (kind, token, link, deadline_ms, command) of a command that takes time (setup_cmds)
        self._job = None  # type: tuple | None
        self._cal = None  # setup_cmds: the gyro calibration's sums and ranges while it runs
        self._cal_sample = None  # setup_cmds.calibration_sample while it runs
        self._reboot_due = False
        self._reboot_at = 0
        self.loop_errors = 0  # exceptions safe_step caught (logged, the loop went on)
        self._seen_overflows = 0  # IMU counters at the last loss reported to the hosts
        self._seen_i2c_errors = 0
        self._errors_in_window = 0
        self._error_window_ms = self._t0_ms
        self._wdt = None  # machine.WDT unless the development switch (_DEV_FILE) is on

    # ---- set-up ---------------------------------------------------------------------------
    def add_link(self, make_link):
        """``make_link(ring, on_command)`` builds a link; the app keeps and pumps it."""
        holder = []

        def on_command(buf, n):
            self.command(holder[0], buf, n)

        link = make_link(self.ring, on_command)
        link.streams = False  # until a START arrives on it
        holder.append(link)
        self.links.append(link)
        return link

    def start(self):
        """Probe the IMU, load calibration, start the watchdog; returns the IMU chip name."""
        if self.board.error:
            _log("W", self.board.error)
        self.imu.start()
        self._configure_sensing()
        if self.fusion.load_bias(BIAS_FILE):
            self.bias_calibrated = True
        m = _read_json(MOUNTING_FILE)
        q = m.get("mounting_q") if isinstance(m, dict) else None
        if isinstance(q, list) and len(q) == 4:
            w, x, y, z = q
            self.pelvis.set_mounting_q(w, x, y, z)
            self.aligned = True
        self.board.on_press(self._on_button)
        if not _exists(_DEV_FILE):  # once started, machine.WDT cannot be stopped (dev: Ctrl-C)
            self._wdt = machine.WDT(timeout=_WDT_MS)
        self._heartbeat_ms = time.ticks_ms()  # the time start() took is no hang
        self._watchdog = machine.Timer(_WATCHDOG_TIMER)
        self._watchdog.init(
            period=_WATCHDOG_CHECK_MS, mode=machine.Timer.PERIODIC, callback=self._watch
        )
        _log("I", "started: IMU %s at %d Hz" % (self.imu.chip, self.imu.rate_hz))
        return self.imu.chip

    def stop(self):
        """Release the loop's watchdog timer (Ctrl-C to the REPL must not reset the board).
        ``machine.WDT`` cannot be stopped: the same hardware timer feeds it from now on, so
        the REPL (and ``hipsense flash``) keeps the board."""
        if self._watchdog is not None:
            self._watchdog.deinit()
            self._watchdog = None
        wdt = self._wdt
        if wdt is not None:
            self._watchdog = machine.Timer(_WATCHDOG_TIMER)
            self._watchdog.init(
                period=1000, mode=machine.Timer.PERIODIC, callback=lambda _t: wdt.feed()
            )

    def _watch(self, _timer):
        if time.ticks_diff(time.ticks_ms(), self._heartbeat_ms) > self.watchdog_ms:
            _log("E", "main loop hung for %d ms: reset" % self.watchdog_ms)
            machine.reset()

    def _sync_driver(self):
        """A new driver (IMU found after boot, or re-initialised after I2C errors): configure
        the fusion for it; restart the stream's ring only when the rate or scales changed."""
        old, new = self._drv, self.imu.drv
        self._drv = new
        if not self.imu.chip_id:
            return
        same = (
            old is not None
            and old.rate_hz == new.rate_hz
            and old.acc_mps2_per_lsb == new.acc_mps2_per_lsb
            and old.gyr_dps_per_lsb == new.gyr_dps_per_lsb
        )
        if not same:
            _log("I", "IMU %s at %d Hz" % (self.imu.chip, self.imu.rate_hz))
            self._configure_sensing()

    def _configure_sensing(self):
        self._drv = self.imu.drv
        rate = self.imu.rate_hz if self.imu.rate_hz > 0 else self.imu.req_rate_hz
        self.period_100us = (10000 + rate // 2) // rate
        drv = self.imu.drv
        if self.imu.chip_id:
            self.fusion.configure(rate, drv.acc_mps2_per_lsb, drv.gyr_dps_per_lsb)
        self.pelvis.configure(rate)
        self._restart_ring()

    def _restart_ring(self):
        self._configure_ring()
        self._send_config()

    def _configure_ring(self):
        """The ring for the current content and rate, its next sample time from the IMU's
        sample index: ``sample_index`` * 10000 / rate (100 us), floor and fraction exactly."""
        rate = self.imu.rate_hz if self.imu.chip_id else self.imu.req_rate_hz
        rate = rate if rate > 0 else 100
        t = self.sample_index * 10000  # not per sample: a long int here is fine
        self.ring.configure(self.raw_content, rate, (t // rate) & protocol.SEQ_MASK, t % rate)

    def _send_config(self, links=None):
        drv = self.imu.drv
        flags = (1 if self.aligned else 0) | (2 if self.bias_calibrated else 0)
        flags |= protocol.CFG_EXACT_PERIOD
        rate = self.imu.rate_hz if self.imu.chip_id else self.imu.req_rate_hz
        acc = drv.acc_mps2_per_lsb if self.imu.chip_id else 0.0
        gyr = drv.gyr_dps_per_lsb if self.imu.chip_id else 0.0
        content = protocol.CONTENT_RAW if self.raw_content else 0
        for link in self.links if links is None else links:
            link.send_config(
                content,
                self.imu.chip_id,
                rate,
                self.period_100us,
                acc,
                gyr,
                self.boot_id,
                flags,
                self.settings_gen,
            )

    # ---- the loop -------------------------------------------------------------------------
    def safe_step(self, now_ms):
        """``step`` that survives: an unexpected exception (a MemoryError, an OSError from the
        BLE stack) is logged and counted and the loop goes on; more than ``_MAX_ERRORS`` in
        ``_ERROR_WINDOW_MS`` means something is stuck, and the board resets itself."""
        try:
            self.step(now_ms)
        except Exception as e:  # KeyboardInterrupt (not an Exception) still ends the loop
            self.loop_errors += 1
            _log("E", "loop: %r" % (e,))
            if time.ticks_diff(now_ms, self._error_window_ms) > _ERROR_WINDOW_MS:
                self._error_window_ms = now_ms
                self._errors_in_window = 0
            self._errors_in_window += 1
            if self._errors_in_window > _MAX_ERRORS:
                _log("E", "loop: %d errors in %d ms: reset" % (_MAX_ERRORS, _ERROR_WINDOW_MS))
                self.stop()
                machine.reset()

    def step(self, now_ms):
        """One pass of the loop (the tests call this directly)."""
        self._heartbeat_ms = time.ticks_ms()  # the watchdog's own clock, not the caller's
        if self._wdt is not None:
            self._wdt.feed()
        self._now_ms = now_ms
        if self._restore_due:
            self._restore_ring()
        n = self.imu.read(self._buf, _MAX_BURST)
        if self.imu.drv is not self._drv:
            self._sync_driver()
        lost = self.imu.take_lost()
        if lost:
            self._on_lost(lost)
        if n:
            self._on_samples(n)
        if self._press_pending and (not self.streaming or self.ring.head_seq != self._press_seq):
            self._press_pending = False
            self._marker(0, self._press_seq)  # on the first sample read after the press
        for link in self.links:
            link.pump(now_ms)
        if self._job is not None:
            self._job_step(now_ms)
        if time.ticks_diff(now_ms, self._next_status_ms) >= 0:
            self._next_status_ms = time.ticks_add(now_ms, _STATUS_MS)
            self._housekeeping(now_ms)
        if self._reboot_due and time.ticks_diff(now_ms, self._reboot_at) >= 0:
            self.stop()
            machine.reset()

    def _on_samples(self, n):
        """The per-sample path: fusion, angles, capture, ring (allocation-free)."""
        buf = self._buf
        raw = self._raw
        ang = self._ang
        ring = self.ring
        capture = self.capture
        off = 0
        for _ in range(n):
            self.fusion.update(buf, off)
            if capture is not None:
                capture.add(buf, off)
            if self.streaming:
                self.pelvis.angles_cdeg(self.fusion, ang)
                _load_raw(buf, off, raw)
                ring.push_raw(
                    ang[0], ang[1], ang[2], raw[0], raw[1], raw[2], raw[3], raw[4], raw[5]
                )
            cal = self._cal_sample
            if cal is not None:
                cal(self, buf, off)
            off += 12
        self.sample_index = (self.sample_index + n) & protocol.SEQ_MASK

    def _on_lost(self, lost):
        """Keep the IMU clock honest: lost samples become placeholders with no estimate, and
        the host gets an ERROR saying why and how many (docs/protocol.md "ERROR")."""
        self.sample_index = (self.sample_index + lost) & protocol.SEQ_MASK
        self._report_loss(lost)
        if not self.streaming:
            return
        none = protocol.ANGLE_NONE
        ring = self.ring
        held = lost if lost < ring.capacity else ring.capacity
        for _ in range(held):
            ring.push_raw(none, none, none, _LOST, _LOST, _LOST, _LOST, _LOST, _LOST)
        if lost > held:  # longer than the ring: the rest is skipped, seq and time go on
            ring.skip(lost - held)

    def _report_loss(self, lost):
        imu = self.imu
        if imu.fifo_overflows != self._seen_overflows:
            code = protocol.E_FIFO_OVERFLOW
        elif imu.i2c_errors != self._seen_i2c_errors:
            code = protocol.E_I2C_ERROR
        else:
            code = protocol.E_IMU_LOST
        self._seen_overflows = imu.fifo_overflows
        self._seen_i2c_errors = imu.i2c_errors
        for link in self.links:
            link.send_error(code, protocol.lost_text(lost))

    def _housekeeping(self, now_ms):
        brd = self.board
        if brd.has_battery and time.ticks_diff(now_ms, self._next_battery_ms) >= 0:
            self._next_battery_ms = time.ticks_add(now_ms, _BATTERY_MS)
            self._check_battery()
        if self._pair_armed and time.ticks_diff(now_ms, self._button_down_ms) >= _PAIR_PRESS_MS:
            self._pair_armed = False  # once per press
            if brd.button_pressed() and self.open_pairing(now_ms, 60):
                _log("I", "button held: BLE pairing window open for 60 s")
        level = self.imu.led_level(now_ms)
        brd.led(self.streaming if level < 0 else level == 1)
        self._pack_status(now_ms)
        for link in self.links:
            link.set_status(self._status)

    def open_pairing(self, now_ms, seconds):
        """Open (``seconds`` > 0) or close the BLE pairing window; False without BLE. Resident,
        not in setup_cmds: the button opens it while streaming, when there is no room to load
        setup code."""
        opened = False
        for link in self.links:
            if hasattr(link, "open_pairing"):
                link.open_pairing(now_ms, seconds)
                opened = True
        return opened

    def _check_battery(self):
        brd = self.board
        mv = brd.battery_mv()
        self.battery_mv = mv
        self.battery_pct = brd.battery_pct(mv)
        empty = brd.profile["battery"].get("empty_mv", 3300)
        low = 0 <= mv < empty + _LOW_BATTERY_MARGIN_MV
        if low and not self.low_battery:
            _log("W", "battery low (%d mV): streaming stopped" % mv)
            self.streaming = False
            for link in self.links:
                link.send_error(protocol.E_LOW_BATTERY, "battery %d mV: charge the sensor" % mv)
        self.low_battery = low
        for link in self.links:
            link.set_battery(self.battery_pct if self.battery_pct >= 0 else 255)

    def state(self):
        if self.imu.state_code == STATE_NO_IMU:
            return protocol.S_NO_IMU
        if self.imu.state_code == STATE_ERROR:
            return protocol.S_IMU_ERROR
        if self.low_battery:
            return protocol.S_LOW_BATTERY
        if self._job is not None:
            return protocol.S_CALIBRATING
        return protocol.S_STREAMING if self.streaming else protocol.S_IDLE

    def _pack_status(self, now_ms):
        frames = 0
        for link in self.links:
            frames += link.frames_sent
        mask = protocol.SEQ_MASK
        protocol.pack_status(
            self._status,
            self.state(),
            self.battery_pct if self.battery_pct >= 0 else 255,
            self.battery_mv if self.battery_mv >= 0 else 0,
            self.imu.chip_id,
            protocol.CONTENT_RAW if self.raw_content else 0,
            self.imu.rate_hz if self.imu.chip_id else self.imu.req_rate_hz,
            frames & mask,
            self.imu.fifo_overflows & mask,
            self.imu.i2c_errors & mask,
            (self.imu.samples_lost + self.ring.lost) & mask,
            self.boot_id,
            time.ticks_diff(now_ms, self._t0_ms) // 1000,
        )

    # ---- commands -------------------------------------------------------------------------
    def command(self, link, buf, n):
        """Run one COMMAND frame from ``link``; exactly one REPLY (RESEND is the link's own)."""
        if not link.trusted:
            return  # the BLE link refuses hosts that are not bonded (docs/link.md "Security")
        result, token, cmd = protocol.parse_command(buf, n)
        if result != protocol.R_OK:
            link.send_reply(token, cmd, result)
            return
        if self._job is not None and cmd not in (
            protocol.CMD_GET_STATUS,
            protocol.CMD_GET_CONFIG,
            protocol.CMD_MARKER,
        ):
            link.send_reply(token, cmd, protocol.R_BUSY)
            return
        handler = _HANDLERS.get(cmd)
        try:
            if handler is not None:
                handler(self, link, token, cmd, buf)
            elif not self._setup_run("run", link, token, cmd, buf):
                # parse_command knows it, this firmware does not run it
                link.send_reply(token, cmd, protocol.R_UNKNOWN_COMMAND)
        except (OSError, MemoryError) as e:
            # a flash write failed (full, worn) or no room to load setup_cmds: an error
            # reply, not the end
            _log("E", "command 0x%02x: %r" % (cmd, e))
            link.send_reply(token, cmd, protocol.R_FAILED)

    def _setup_run(self, name, *args):
        """``setup_cmds.<name>(self, *args)``: the module is imported for the call and
        dropped after it unless one of its jobs still runs. While nothing streams, the ring
        lends its memory to it (a board without PSRAM has no other room for it; docs/
        firmware.md "Memory budget")."""
        if not self.streaming and not self._ring_lent:
            self._ring_lent = True
            self.ring.release()
            gc.collect()  # now, while nothing on the stack still points at the old buffer
        try:
            import setup_cmds

            return getattr(setup_cmds, name)(self, *args)
        finally:
            self._release_setup()

    @staticmethod
    def _drop_setup():
        import sys

        sys.modules.pop(_SETUP, None)
        sys.modules.pop("mounting", None)

    def _release_setup(self):
        if self._job is None and self.capture is None:
            self._drop_setup()
            # the ring takes its memory back at the top of the next step: deep in this call
            # stack, a stale pointer to the code just dropped could keep it alive
            self._restore_due = self._ring_lent

    def _restore_ring(self):
        self._restore_due = False
        self._ring_lent = False
        gc.collect()
        before = self.ring.nbytes
        try:
            self.ring.restore()
        except MemoryError:
            pass  # no ring: START tries again, then answers FAILED
        held = self.ring.nbytes if self.ring.capacity else 0
        if held < before:  # only a ring that came back smaller is news (boot logged the rest)
            tenths = held // 180  # 18 bytes per sample at 100 Hz raw
            self.memory_error = (
                "memory budget: ring %d of %d bytes after a setup command (%d.%d s at 100 Hz raw)"
                % (held, before, tenths // 10, tenths % 10)
            )
            _log("E", self.memory_error)

    def _cmd_start(self, link, token, cmd, buf):
        if self._ring_lent or self.ring.capacity == 0:
            # a mounting capture waits for its next phase: abandoned; or the ring did not get
            # its memory back after a setup command: tried again
            self.capture = None
            self._release_setup()
            self._restore_ring()
        if self.imu.chip_id == 0 or self.ring.capacity == 0:  # no IMU, or no ring memory
            link.send_reply(token, cmd, protocol.R_FAILED)
            return
        if self.low_battery:
            link.send_reply(token, cmd, protocol.R_BUSY)
            return
        if self.streaming and cmd == protocol.CMD_START and not link.owns_stream():
            # Another host's stream: taken only on request (START_TAKEOVER).
            link.send_reply(token, cmd, protocol.R_BUSY)
            return
        if not self.streaming:
            self.streaming = True
            self._configure_ring()
        self._give_stream(link)
        link.send_reply(token, cmd, protocol.R_OK)
        self._send_config()

    def _give_stream(self, link):
        """One streaming link at a time (docs/link.md): ``link`` takes the samples from the
        ring's cursor on, the others only send control frames. Ring and cursor stay as they
        are, so ``link`` gets every sample the previous owner had not been sent yet."""
        for other in self.links:
            other.streams = other is link
        link.stream_peer = link.peer

    def _cmd_stop(self, link, token, cmd, buf):
        if self.streaming and not link.owns_stream():
            # Another link's host owns the stream; a host that lost it must not end it (a
            # host sends STOP when it closes). The owner keeps the ring's tail and RESEND.
            link.send_reply(token, cmd, protocol.R_BUSY)
            return
        self.streaming = False
        link.send_reply(token, cmd, protocol.R_OK)

    def _cmd_set_content(self, link, token, cmd, buf):
        # resident: the host sends it before every START (orchestrate.stream), and loading
        # setup_cmds for it would lend the ring at every session (a tight board's ring comes
        # back smaller after the first load, docs/hardware.md)
        content = buf[4]
        if content & ~protocol.CONTENT_RAW:
            link.send_reply(token, cmd, protocol.R_BAD_VALUE)
            return
        if self.streaming:
            link.send_reply(token, cmd, protocol.R_BUSY)
            return
        self.raw_content = bool(content & protocol.CONTENT_RAW)
        link.send_reply(token, cmd, protocol.R_OK)
        self._restart_ring()

    def _cmd_marker(self, link, token, cmd, buf):
        seq = self._marker(buf[4])
        struct.pack_into("<I", self._payload, 0, seq)
        link.send_reply(token, cmd, protocol.R_OK, memoryview(self._payload)[:4])

    def _cmd_get_status(self, link, token, cmd, buf):
        self._pack_status(self._now_ms)
        link.send_reply(
            token, cmd, protocol.R_OK, memoryview(self._status)[2 : protocol.STATUS_SIZE]
        )

    def _cmd_get_config(self, link, token, cmd, buf):
        link.send_reply(token, cmd, protocol.R_OK)
        self._send_config()

    def _cmd_get_settings(self, link, token, cmd, buf):
        # resident: the host reads the settings while streaming when they change
        p = bytearray(protocol.SETTINGS_SIZE)
        w, x, y, z = self.pelvis.mounting_q() if self.aligned else (1.0, 0.0, 0.0, 0.0)
        bx, by, bz = self.fusion.bias_dps() if self.bias_calibrated else (0.0, 0.0, 0.0)
        flags = (1 if self.aligned else 0) | (2 if self.bias_calibrated else 0)
        struct.pack_into("<BBH4f3f", p, 0, flags, 0, self.imu.req_rate_hz, w, x, y, z, bx, by, bz)
        link.send_reply(token, cmd, protocol.R_OK, p)

    def _on_button(self):
        """The button's IRQ (debounced by the board): remember the sample of the press; the
        loop sends the marker once that sample is in the ring."""
        self._press_seq = self.ring.head_seq
        self._press_pending = True
        self._button_down_ms = self._now_ms
        self._pair_armed = True

    def _marker(self, code, seq=None):
        if seq is None:
            seq = (self.ring.head_seq - 1) & protocol.SEQ_MASK
        for link in self.links:
            link.send_marker(code, seq)
        return seq

    # ---- commands that take time ------------------------------------------------------------
    def _job_step(self, now_ms):
        job = self._job
        if job is None or time.ticks_diff(now_ms, job[3]) < 0:
            return
        kind, token, link, _, cmd = job
        self._job = None
        self._cal_sample = None
        try:
            self._setup_run("finish_job", kind, link, token, cmd)
        except (OSError, MemoryError) as e:  # the result could not be saved to flash
            _log("E", "command 0x%02x: %r" % (cmd, e))
            link.send_reply(token, cmd, protocol.R_FAILED)
        self._send_config()


_HANDLERS = {
    protocol.CMD_START: App._cmd_start,
    protocol.CMD_STOP: App._cmd_stop,
    protocol.CMD_SET_CONTENT: App._cmd_set_content,
    protocol.CMD_MARKER: App._cmd_marker,
    protocol.CMD_GET_STATUS: App._cmd_get_status,
    protocol.CMD_GET_CONFIG: App._cmd_get_config,
    protocol.CMD_START_TAKEOVER: App._cmd_start,
    protocol.CMD_GET_SETTINGS: App._cmd_get_settings,
}


def _start_ble():
    """BLE on, before the big allocations: NimBLE takes its ESP-IDF memory now."""
    import bluetooth
    import link_ble  # noqa: F401  (imported before the ring is sized)

    ble = bluetooth.BLE()
    ble.active(True)
    return ble


def _add_ble_link(app, ble):
    from link_ble import BleLink, name_suffix

    suffix = app.name or name_suffix(ble)
    model = app.board.name
    return app.add_link(
        lambda ring, on_command: BleLink(ble, ring, suffix, on_command, model=model)
    )


def _watch_usb():
    from usb_watch import UsbWatch

    return UsbWatch()


def _add_serial_link(app, first):
    """A byte arrived on USB: build the serial link now and give it that byte."""
    from link_serial import SerialLink

    serial = app.add_link(lambda ring, on_command: SerialLink(ring, on_command))
    app._send_config([serial])
    serial.feed_byte(first)
    return serial


def boot(with_ble=True, with_serial=True):
    """Build the board, the links and the app; returns ``(app, usb)`` (``usb``: the
    :class:`link_serial.UsbWatch` or None) for :func:`poll_usb` and ``app.step``.

    Memory order (docs/firmware.md "Memory budget"): BLE first (NimBLE takes its ESP-IDF
    memory), then every import, then the ring from what is really free, then the rest. The
    serial link's buffers are made only once a byte arrives on the USB console.
    """
    import board

    brd = board.open_board()
    ble = _start_ble() if with_ble else None
    usb = _watch_usb() if with_serial else None
    import imu

    imu.preload(brd.expected_imu)
    slot = __file__[: __file__.rfind("/") + 1]
    for name in (_SETUP, "mounting"):  # loaded later into the ring's memory (_setup_run)
        memory.intern_names(slot + name + ".mpy")
    gc.collect()
    # The ring first, while the heap holds only the code: it needs one free block. RESERVE
    # leaves room for what comes after it (app state, BLE link), measured. The setup commands
    # borrow the ring's memory while nothing streams (App._setup_run).
    ring, memory_error = memory.make_ring(brd.profile, Ring)
    app = App(brd, ring=ring)
    app.memory_error = memory_error
    if memory_error:
        _log("E", memory_error)
    else:
        _log("I", "ring %d bytes: %d s at 100 Hz raw" % (ring.nbytes, ring.nbytes // 1800))
    if ble is not None:
        _add_ble_link(app, ble)
    chip = app.start()
    try:
        import hs_boot

        hs_boot.status["imu"] = chip
        hs_boot.confirm()
    except ImportError:
        pass
    return app, usb


def poll_usb(app, usb):
    """Until a host uses USB: returns ``usb``; once a byte came, builds the serial link and
    returns None."""
    if usb is None:
        return None
    first = usb.first_byte()
    if first < 0:
        return usb
    try:
        _add_serial_link(app, first)
    except MemoryError:
        # a board whose heap is this tight streams over BLE only (docs/firmware.md)
        _log("E", "no memory for the USB serial link: BLE only")
    return None


def run(with_ble=True, with_serial=True):
    """Boot, then loop until interrupted."""
    app, usb = boot(with_ble, with_serial)
    try:
        while True:
            usb = poll_usb(app, usb)
            app.safe_step(time.ticks_ms())
            time.sleep_ms(_LOOP_MS)
    finally:
        app.stop()

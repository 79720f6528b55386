"""What the BLE and the serial link share: command intake, the control-frame queue, RESEND,
and the batching of samples from the ring into SAMPLES frames (docs/link.md).

A subclass provides ``_out(frame, n) -> bool`` (True when the transport accepted the frame;
False keeps it queued and the caller retries on the next ``pump``) and ``_room()`` (the largest
frame the transport takes now). Commands enter through ``_cmd_in`` (from an IRQ handler or a
serial reader): it only copies into preallocated slots; ``pump`` does the work in the main
loop. Producer and consumer indices are written by one side each, so an IRQ between two
bytecodes of ``pump`` cannot corrupt them.
"""

import struct
import time

import protocol
from micropython import const
from ring import copy_bytes

MAX_FRAME = const(244)  # docs/protocol.md: MTU 247 - 3, also the largest serial frame
BATCH_MS = const(30)  # the oldest unsent sample waits at most this long for a fuller frame
_CMD_SLOTS = const(8)  # power of two
_CMD_SIZE = const(64)
_CTL_SLOTS = const(8)  # power of two
_CTL_SIZE = const(64)  # largest control frame: REPLY with the 34-byte status, ERROR text cut
_MASK = const(0x3FFFFFFF)
_IMMEDIATE = const(-1)


class Link:
    def __init__(self, ring, on_command, batch_ms=BATCH_MS):
        self.ring = ring
        self.on_command = on_command
        self.batch_ms = batch_ms
        self.frames_sent = 0  # SAMPLES frames accepted by the transport (mod 2**30)
        self.refusals = 0  # frames the transport refused for now (retried, never dropped)
        self.commands_dropped = 0  # commands that arrived while all slots were full
        self.control_dropped = 0  # control frames that did not fit the queue
        self.ready = False  # a host spoke on this connection: send to it
        # This link takes samples from the ring and answers RESEND. Several links share one
        # ring and its one cursor, so main gives the stream to one link at a time (the one
        # that got the last START, docs/link.md "One streaming link"); a lone link streams.
        self.streams = True
        # Who is connected (BLE: from the host's address; serial: 0), and the host the stream
        # belongs to (-1: any). START from another host does not take a running stream.
        self.peer = 0
        self.stream_peer = -1
        self.trusted = True  # commands from this host are allowed (BLE: bonded, encrypted)
        self._frame = bytearray(MAX_FRAME)
        self._fv = memoryview(self._frame)
        # A memoryview of each SAMPLES length (12 + 6 m bytes, raw samples are 3 x 6), made
        # once: passing a view sends exactly n bytes, allocation-free. A control frame (rare)
        # takes a fresh view: one cached at its first use would be a lasting object made
        # wherever the heap had room then, e.g. in the memory the ring lends the setup code,
        # and the ring would come back in pieces (docs/hardware.md "Memory budget").
        self._sample_views = [
            self._fv[: protocol.HEADER_SIZE + protocol.SAMPLE_SIZE_ANGLES * m]
            for m in range((MAX_FRAME - protocol.HEADER_SIZE) // protocol.SAMPLE_SIZE_ANGLES + 1)
        ]
        self._cmd_buf = bytearray(_CMD_SLOTS * _CMD_SIZE)
        self._cmd_len = bytearray(_CMD_SLOTS)
        self._cmd_w = 0  # written only by _cmd_in (IRQ side)
        self._cmd_r = 0  # written only by pump
        self._cmd = bytearray(_CMD_SIZE)
        self._ctl_buf = bytearray(_CTL_SLOTS * _CTL_SIZE)
        self._ctl_len = [0] * _CTL_SLOTS
        self._ctl_mark = [0] * _CTL_SLOTS
        self._ctl_w = 0
        self._ctl_r = 0
        self._tmp = bytearray(_CTL_SIZE)
        self.shortened = 0  # control frames cut to fit the MTU (header-only REPLY, ERROR text)
        self._payload8 = bytearray(8)
        self._cfg = bytearray(protocol.CONFIG_SIZE)
        self._cfg_set = False
        self._cfg_raw = False  # content bit of the CONFIG last queued
        self._since = -1  # ticks_ms when unsent samples were first seen waiting

    def owns_stream(self):
        """This link streams, to the host that started the stream."""
        return self.streams and (self.stream_peer < 0 or self.stream_peer == self.peer)

    def _room(self):  # type: () -> int
        """The largest frame the transport takes now (bytes); the subclass knows."""
        return MAX_FRAME

    def _out(self, frame, n):  # type: (memoryview, int) -> bool
        """Hand ``frame`` (``n`` bytes) to the transport; False: refused, retry later."""
        raise NotImplementedError("a Link subclass hands frames to its transport")

    # ---- input ---------------------------------------------------------------------------
    def _cmd_in(self, data, n):
        """Copy one received COMMAND frame into a free slot (IRQ-safe, no allocation)."""
        w = self._cmd_w
        if ((w - self._cmd_r) & 0xFF) >= _CMD_SLOTS:
            self.commands_dropped += 1
            return
        if n > _CMD_SIZE:
            n = _CMD_SIZE
        i = w & (_CMD_SLOTS - 1)
        copy_bytes(self._cmd_buf, i * _CMD_SIZE, data, 0, n)
        self._cmd_len[i] = n
        self._cmd_w = (w + 1) & 0xFF

    def _commands(self):
        while self._cmd_r != self._cmd_w:
            i = self._cmd_r & (_CMD_SLOTS - 1)
            n = self._cmd_len[i]
            copy_bytes(self._cmd, 0, self._cmd_buf, i * _CMD_SIZE, n)
            self._cmd_r = (self._cmd_r + 1) & 0xFF
            if not self.ready:
                self.ready = True
                self._since = -1
                if self._cfg_set:
                    self._queue_config()
            self._dispatch(self._cmd, n)

    def _dispatch(self, buf, n):
        result, token, command = protocol.parse_command(buf, n)
        if token < 0:
            self.send_error(protocol.E_BAD_FRAME, "not a COMMAND frame")
        elif command == protocol.CMD_RESEND and result == protocol.R_OK:
            if self.owns_stream():
                self._resend(token, buf)
            else:  # the cursor belongs to another link's host: leave it alone
                self.send_reply(token, protocol.CMD_RESEND, protocol.R_BUSY)
        else:
            self.on_command(buf, n)

    def _resend(self, token, buf):
        ring = self.ring
        if buf[7] & 0xC0 or not ring.rewind(
            buf[4] | (buf[5] << 8) | (buf[6] << 16) | ((buf[7] & 0x3F) << 24)
        ):
            self.send_reply(token, protocol.CMD_RESEND, protocol.R_BAD_VALUE)
            return
        struct.pack_into("<II", self._payload8, 0, ring.resend_first, ring.resend_lost)
        self.send_reply(token, protocol.CMD_RESEND, protocol.R_OK, self._payload8)
        self._since = -1

    # ---- control frames ------------------------------------------------------------------
    def _enqueue(self, src, n, mark):
        w = self._ctl_w
        if ((w - self._ctl_r) & 0xFF) >= _CTL_SLOTS:
            self.control_dropped += 1
            return False
        i = w & (_CTL_SLOTS - 1)
        copy_bytes(self._ctl_buf, i * _CTL_SIZE, src, 0, n)
        self._ctl_len[i] = n
        self._ctl_mark[i] = mark
        self._ctl_w = (w + 1) & 0xFF
        return True

    def send_reply(self, token, command, result, payload=None):
        """Queue a REPLY; it goes out before any sample produced after this call."""
        self._enqueue(
            self._tmp, protocol.pack_reply(self._tmp, token, command, result, payload), _IMMEDIATE
        )

    def send_marker(self, code, seq):
        """Queue a MARKER; the samples produced before it are sent first."""
        self._enqueue(self._tmp, protocol.pack_marker(self._tmp, code, seq), self.ring.head_seq)

    def send_error(self, code, text):
        """Queue an ERROR frame, in stream order like a marker."""
        self._enqueue(
            self._tmp, protocol.pack_error(self._tmp, code, text, _CTL_SIZE), self.ring.head_seq
        )

    def send_config(
        self, content, imu, rate_hz, period_100us, acc_scale, gyr_scale, boot_id, flags, gen=0
    ):
        """Store the CONFIG (``protocol.pack_config`` fields) and queue it when a host listens.

        The link sends it again by itself to every new host; its content bit says what the
        link really sends (angles only while raw samples do not fit the MTU).
        """
        protocol.pack_config(
            self._cfg,
            content,
            imu,
            rate_hz,
            period_100us,
            acc_scale,
            gyr_scale,
            boot_id,
            flags,
            gen,
        )
        self._cfg_set = True
        if self.ready:
            self._queue_config()

    def set_status(self, frame):
        """The latest STATUS frame. A link without a status channel (serial) ignores it: its
        host asks with GET_STATUS."""

    def set_battery(self, pct):
        """Battery level 0..100 (255 unknown); only BLE has a Battery service."""

    def _raw_fits(self):
        return self._room() - protocol.HEADER_SIZE >= protocol.SAMPLE_SIZE_RAW

    def _raw_now(self):
        """Raw samples go out: the ring holds them, the CONFIG says so and the MTU fits them."""
        return (
            self.ring.stride == protocol.SAMPLE_SIZE_RAW
            and (not self._cfg_set or bool(self._cfg[2] & protocol.CONTENT_RAW))
            and self._raw_fits()
        )

    def _queue_config(self):
        raw = self._raw_now()
        self._cfg_raw = raw
        copy_bytes(self._tmp, 0, self._cfg, 0, protocol.CONFIG_SIZE)
        self._tmp[2] = (self._cfg[2] & ~protocol.CONTENT_RAW) | (protocol.CONTENT_RAW if raw else 0)
        self._enqueue(self._tmp, protocol.CONFIG_SIZE, _IMMEDIATE)

    # ---- sending -------------------------------------------------------------------------
    def _view(self, n):
        m = n - protocol.HEADER_SIZE
        if m >= 0 and m % protocol.SAMPLE_SIZE_ANGLES == 0:
            return self._sample_views[m // protocol.SAMPLE_SIZE_ANGLES]
        return self._fv[:n]

    def _send(self, now_ms):
        """Send control frames in order and, if this link streams, samples as full (or old
        enough) frames; on a link that does not stream a MARKER or ERROR waits for nothing."""
        ring = self.ring
        room = self._room()
        if room > MAX_FRAME:
            room = MAX_FRAME
        raw = self._raw_now()
        if self._cfg_set and raw != self._cfg_raw:
            self._queue_config()  # the MTU changed what fits: tell the host first
        max_count = (room - protocol.HEADER_SIZE) // (
            protocol.SAMPLE_SIZE_RAW if raw else protocol.SAMPLE_SIZE_ANGLES
        )
        if max_count > protocol.MAX_COUNT:
            max_count = protocol.MAX_COUNT
        streams = self.owns_stream()
        while True:
            if self._ctl_r != self._ctl_w:
                i = self._ctl_r & (_CTL_SLOTS - 1)
                mark = self._ctl_mark[i]
                if mark >= 0 and streams:
                    d = (mark - ring.cursor_seq) & _MASK
                    if 0 < d <= ring.unsent:
                        if not self._send_samples(d if d < max_count else max_count, raw):
                            return
                        continue
                n = self._ctl_len[i]
                copy_bytes(self._frame, 0, self._ctl_buf, i * _CTL_SIZE, n)
                if n > room:
                    n = self._fit(n, room)
                if not self._out(self._view(n), n):
                    return
                self._ctl_r = (self._ctl_r + 1) & 0xFF
                continue
            if ring.unsent == 0 or not streams:
                self._since = -1
                return
            if ring.unsent < max_count and ring.resent == 0:
                if self._since < 0:
                    self._since = now_ms
                if time.ticks_diff(now_ms, self._since) < self.batch_ms:
                    return
            if not self._send_samples(max_count, raw):
                return
            self._since = now_ms if ring.unsent else -1

    def _fit(self, n, room):
        """Shorten the control frame in ``_frame`` (``n`` bytes) to ``room`` (MTU - 3): a REPLY
        keeps its header (token, command, result; the payload is dropped), an ERROR its text
        cut on a UTF-8 character boundary. NimBLE would cut any frame silently."""
        self.shortened += 1
        f = self._frame
        if f[1] == protocol.T_REPLY:
            return protocol.REPLY_HEADER_SIZE
        if f[1] == protocol.T_ERROR:
            while room > protocol.ERROR_HEADER_SIZE and (f[room] & 0xC0) == 0x80:
                room -= 1
        return room

    def _send_samples(self, max_count, raw):
        r = self.ring.fill_frame(self._frame, max_count, raw)
        if r == 0:
            return True
        n = r >> 8
        if not self._out(self._view(n), n):
            self.refusals += 1
            return False
        self.ring.commit(r & 0xFF)
        self.frames_sent = (self.frames_sent + 1) & _MASK
        return True

"""USB-serial link: the same frames as BLE, each sent as ``COBS(frame + CRC-16) + 0x00``.

The console stays an ordinary REPL until a valid framed COMMAND arrives (docs/protocol.md);
from then on the board speaks frames and Ctrl-C no longer interrupts (``kbd_intr(-1)``:
COBS frames can contain 0x03). Input is read without blocking (``select.poll``), one byte at a
time because the ESP32's ``stdin`` blocks until a read is complete. The I/O objects are
parameters so tests can use pipes or a pty; on the board they are ``sys.stdin.buffer`` and
``sys.stdout.buffer``. Writes block while the UART buffer is full: at 115200 baud the link
carries about 11 kB/s, six times a 100 Hz raw stream.
"""

import select
import sys

import cobs
import micropython
from link import MAX_FRAME, Link
from micropython import const

_MAX_STALLS = const(20)  # writes that take no byte before a frame is given up for now
_MAX_READ = const(64)  # bytes taken from the input per pump (a command is 6-27 encoded bytes)


class SerialLink(Link):
    def __init__(self, ring, on_command, stream_in=None, stream_out=None, batch_ms=None):
        if batch_ms is None:
            Link.__init__(self, ring, on_command)
        else:
            Link.__init__(self, ring, on_command, batch_ms)
        self._in = stream_in if stream_in is not None else sys.stdin.buffer
        self._wr = stream_out if stream_out is not None else sys.stdout.buffer
        self._poll = select.poll()
        self._poll.register(self._in, select.POLLIN)
        self._one = bytearray(1)
        self._deframer = cobs.Deframer()
        self._enc = bytearray(cobs.MAX_ENCODED_SIZE)
        self._enc_mv = memoryview(self._enc)
        self._enc_views = [None] * (cobs.MAX_ENCODED_SIZE + 1)  # type: list[memoryview | None]
        self.active = False  # frames mode: a framed command arrived
        self.stalled = 0  # frames given up because the output took nothing

    @property
    def crc_errors(self):
        return self._deframer.crc_errors

    @property
    def framing_errors(self):
        return self._deframer.framing_errors

    def _room(self):
        return MAX_FRAME

    def _out(self, frame, n):
        m = cobs.encode_frame(frame, n, self._enc)
        v = self._enc_views[m]
        if v is None:
            v = self._enc_mv[:m]
            self._enc_views[m] = v
        done = 0
        stalls = 0
        while done < m:
            k = self._wr.write(v if done == 0 else self._enc_mv[done:m])
            if k:
                done += k
                stalls = 0
            else:  # the port takes nothing (a host that keeps it open but stopped reading)
                stalls += 1
                if stalls > _MAX_STALLS:
                    self.stalled += 1  # the frame stays queued; the host resyncs on 0x00
                    return False
        return True

    def _read(self):
        one = self._one
        k = 0
        while k < _MAX_READ:
            ready = False
            for _ in self._poll.ipoll(0):  # ipoll: no allocation (poll returns a new list)
                ready = True
            if not ready or not self._in.readinto(one):
                return
            k += 1
            self.feed_byte(one[0])

    def feed_byte(self, b):
        """One byte from the host: a complete framed command goes to the command slots."""
        d = self._deframer
        if d.feed_byte(b):
            if not self.active:
                self.active = True
                micropython.kbd_intr(-1)
            self._cmd_in(d.frame, d.length)

    def pump(self, now_ms):
        """Read command bytes, run complete commands, send frames (once frames mode is on)."""
        self._read()
        self._commands()
        if self.active and self.ready:
            self._send(now_ms)

"""RAM ring buffer of samples in wire layout, with the send cursor of docs/protocol.md "Resend".

One preallocated ``bytearray`` holds the samples back to back in the SAMPLES frame layout
(6 bytes angles only, 18 bytes with raw content), so building a frame is a header plus at most
two block copies. The default 54000 bytes hold 3000 raw samples (30 s at 100 Hz, 15 s at
200 Hz) or 9000 angles-only samples (90 s at 100 Hz, 22.5 s at 400 Hz); that is about half of
the ~100 kB an ESP32 has free with BLE active, so allocate the ring first, at boot, while the
heap is not yet fragmented.

Positions are counts back from the newest sample (``unsent``, ``resent``, ``held``), never
absolute indices, so every integer on the per-sample path stays below the capacity or 2**30
(ESP32 small ints are 31-bit); ``push`` and ``fill_frame`` allocate nothing.
"""

import micropython
import protocol
from micropython import const

_DEFAULT_BYTES = const(54000)  # 3000 x 18 B: 30 s at 100 Hz with raw content
_MASK = const(0x3FFFFFFF)  # sequence numbers and sample times are carried mod 2**30
_HALF = const(0x20000000)
_HEADER = const(12)
_ANGLES = const(6)
_RAW = const(18)


@micropython.viper
def copy_bytes(dst, doff: int, src, soff: int, n: int):
    d = ptr8(dst)  # noqa: F821
    s = ptr8(src)  # noqa: F821
    i = 0
    while i < n:
        d[doff + i] = s[soff + i]
        i += 1


@micropython.viper
def _copy_angles(dst, doff: int, src, slot: int, n: int, capacity: int):
    """Copy the first 6 bytes of ``n`` 18-byte samples from ``slot`` on (wrapping)."""
    d = ptr8(dst)  # noqa: F821
    s = ptr8(src)  # noqa: F821
    k = 0
    while k < n:
        so = slot * 18
        j = 0
        while j < 6:
            d[doff + j] = s[so + j]
            j += 1
        doff += 6
        slot += 1
        if slot == capacity:
            slot = 0
        k += 1


class Ring:
    """Samples held for sending and resending; see the module docstring.

    ``unsent``: samples from the send cursor to the newest; ``resent``: how many of those were
    sent before (a RESEND moved the cursor back), they go out with the RESENT flag; ``held``:
    samples stored; ``lost``: samples overwritten before ever being sent (mod 2**30). A
    placeholder for a sample the IMU lost (tilt ``ANGLE_NONE``, which no real sample has) is
    not counted there when it is overwritten: the IMU's ``samples_lost`` counts it already.
    """

    def __init__(self, nbytes=_DEFAULT_BYTES):
        self.buf = bytearray(nbytes)
        self.nbytes = nbytes
        self.stride = _ANGLES
        self.capacity = nbytes // _ANGLES
        # Sample period 10000 / rate_hz (in 100 us) = _q + _r / _rate exactly: head_t is the
        # floor of the next sample's exact time, _frac / _rate its fraction (docs/protocol.md
        # "CONFIG": 104, 208 and 416 Hz are no whole number of 100 us).
        self._rate = 100
        self._q = 100
        self._r = 0
        self._frac = 0
        self.head_seq = 0  # sequence number the next sample gets
        self.head_t = 0  # sample time (100 us) the next sample gets
        self.head_slot = 0
        self.held = 0
        self.unsent = 0
        self.resent = 0
        self.lost = 0
        self.resend_first = 0  # set by rewind(): first sample it will send
        self.resend_lost = 0  # set by rewind(): samples before it that are gone

    def configure(self, raw, rate_hz, t_100us, frac=0):
        """New content or rate: clears the ring (unsent samples count as lost).

        The sequence number continues; the next sample's time is ``t_100us`` + ``frac`` /
        ``rate_hz`` (in 100 us, ``0 <= frac < rate_hz``); samples are 10000 / ``rate_hz``
        apart, exactly.
        """
        gone = 0
        # the never-sent samples are the newest unsent - resent (the resent ones are oldest)
        for back in range(1, self.unsent - self.resent + 1):
            slot = self.head_slot - back
            if not self._placeholder((slot + self.capacity if slot < 0 else slot) * self.stride):
                gone += 1
        self.lost = (self.lost + gone) & _MASK
        self.stride = _RAW if raw else _ANGLES
        self.capacity = len(self.buf) // self.stride  # 0 while released
        self._rate = rate_hz
        self._q = 10000 // rate_hz
        self._r = 10000 % rate_hz
        self._frac = frac
        self.head_t = t_100us & _MASK
        self.head_slot = 0
        self.held = 0
        self.unsent = 0
        self.resent = 0

    def release(self):
        """Give the sample memory back while nothing streams (setup code borrows it on a
        board without PSRAM, docs/firmware.md "Memory budget"); unsent samples count as lost
        as in ``configure``. Nothing may be pushed until ``restore``."""
        self.configure(self.stride == _RAW, self._rate, self.head_t, self._frac)
        self.buf = bytearray(0)
        self.capacity = 0

    def restore(self, step=1800):
        """Take the sample memory again after ``release``: ``nbytes`` if that much is free in
        one block, else ``step`` bytes less at a time (``nbytes`` then says how much)."""
        n = self.nbytes
        while True:
            try:
                self.buf = bytearray(n)
                break
            except MemoryError:
                if n <= step:
                    raise
                n -= step
        self.nbytes = n
        self.configure(self.stride == _RAW, self._rate, self.head_t, self._frac)

    @property
    def raw(self):
        return self.stride == _RAW

    @property
    def cursor_seq(self):
        """Sequence number of the next sample to send."""
        return (self.head_seq - self.unsent) & _MASK

    @property
    def oldest_seq(self):
        return (self.head_seq - self.held) & _MASK

    def _placeholder(self, off):
        """The sample at byte ``off`` stands for one the IMU lost (tilt ``ANGLE_NONE``)."""
        return self.buf[off + 1] == 0x80 and self.buf[off] == 0

    def push(self, tilt, obl, rot):
        """Store one angles-only sample (0.01 deg); with raw content the raw part is zero."""
        off = self.head_slot * self.stride
        was_placeholder = self.held == self.capacity and self._placeholder(off)
        if self.stride == _RAW:
            protocol.pack_sample_raw(self.buf, off, tilt, obl, rot, 0, 0, 0, 0, 0, 0)
        else:
            protocol.pack_sample(self.buf, off, tilt, obl, rot)
        self._advance(was_placeholder)

    def push_raw(self, tilt, obl, rot, ax, ay, az, gx, gy, gz):
        """Store one sample with raw counts; with angles-only content the raw part is dropped."""
        off = self.head_slot * self.stride
        was_placeholder = self.held == self.capacity and self._placeholder(off)
        if self.stride == _RAW:
            protocol.pack_sample_raw(self.buf, off, tilt, obl, rot, ax, ay, az, gx, gy, gz)
        else:
            protocol.pack_sample(self.buf, off, tilt, obl, rot)
        self._advance(was_placeholder)

    def _advance(self, was_placeholder):
        """One sample more; ``was_placeholder``: the oldest one it overwrote stood for a
        sample the IMU lost (counted there, not in ``lost``)."""
        slot = self.head_slot + 1
        self.head_slot = 0 if slot == self.capacity else slot
        self.head_seq = (self.head_seq + 1) & _MASK
        t = self.head_t + self._q
        f = self._frac + self._r
        if f >= self._rate:
            f -= self._rate
            t += 1
        self._frac = f
        self.head_t = t & _MASK
        if self.held < self.capacity:
            self.held += 1
            self.unsent += 1
        elif self.unsent < self.capacity:
            self.unsent += 1
        elif self.resent > 0:
            # The cursor sat on the oldest sample, already sent once: it is gone now.
            self.resent -= 1
        elif not was_placeholder:
            # The cursor sat on the oldest sample, never sent: overwritten, counted as lost.
            self.lost = (self.lost + 1) & _MASK

    def skip(self, n):
        """``n`` more placeholders when the ring already holds only placeholders (an outage
        longer than the ring): the same as ``n`` pushes without writing them, so sequence
        number and sample time stay on the IMU clock. What they overwrite is placeholders
        only, which ``lost`` does not count (the IMU's ``samples_lost`` does)."""
        cap = self.capacity
        self.head_slot = (self.head_slot + n) % cap
        self.head_seq = (self.head_seq + n) & _MASK
        f = self._frac + n * self._r
        self.head_t = (self.head_t + n * self._q + f // self._rate) & _MASK
        self._frac = f % self._rate
        self.held = cap
        a = cap - self.unsent
        a = n if n < a else a
        self.unsent += a
        n -= a
        b = n if n < self.resent else self.resent
        self.resent -= b

    def fill_frame(self, dst, max_count, raw):
        """Write a SAMPLES frame of up to ``max_count`` samples from the cursor into ``dst``.

        ``raw`` False sends angles only even if raw content is stored (the MTU is too small).
        Never mixes resent and new samples in one frame. Returns ``(length << 8) | count``
        packed in one small int (0 when there is nothing to send); nothing moves until
        ``commit(count)``.
        """
        n = self.unsent
        if n > max_count:
            n = max_count
        flags = 0
        if self.resent > 0:
            flags = protocol.FLAG_RESENT
            if n > self.resent:
                n = self.resent
        if n <= 0:
            return 0
        back = self.unsent
        slot = self.head_slot - back
        if slot < 0:
            slot += self.capacity
        seq = (self.head_seq - back) & _MASK
        # floor of the exact time ``back`` samples before the head (// floors negatives)
        t = (self.head_t - back * self._q + (self._frac - back * self._r) // self._rate) & _MASK
        stride = self.stride
        if raw and stride == _RAW:
            flags |= protocol.FLAG_RAW
        elif stride == _RAW:
            protocol.pack_samples_header(dst, flags, n, seq, t)
            _copy_angles(dst, _HEADER, self.buf, slot, n, self.capacity)
            return ((_HEADER + n * _ANGLES) << 8) | n
        protocol.pack_samples_header(dst, flags, n, seq, t)
        first = self.capacity - slot
        if first > n:
            first = n
        copy_bytes(dst, _HEADER, self.buf, slot * stride, first * stride)
        if n > first:
            copy_bytes(dst, _HEADER + first * stride, self.buf, 0, (n - first) * stride)
        return ((_HEADER + n * stride) << 8) | n

    def commit(self, count):
        """The stack accepted a frame of ``count`` samples: move the cursor forward."""
        self.unsent -= count
        r = self.resent - count
        self.resent = r if r > 0 else 0

    def rewind(self, from_seq):
        """RESEND ``from_seq``: move the cursor to ``max(from_seq, oldest held)``.

        Returns False when ``from_seq`` is ahead of the newest sample (BAD_VALUE); otherwise
        sets ``resend_first`` and ``resend_lost`` (the REPLY payload) and returns True.
        """
        back = (self.head_seq - from_seq) & _MASK
        if back >= _HALF:
            return False
        lost = 0
        if back > self.held:
            lost = back - self.held
            back = self.held
        sent_mark = self.unsent - self.resent  # samples newer than the high-water mark
        self.unsent = back
        r = back - sent_mark
        self.resent = r if r > 0 else 0
        self.resend_first = (self.head_seq - back) & _MASK
        self.resend_lost = lost
        return True

"""Wait for the first byte on the USB console without building the serial link.

The serial link's buffers (about 4 kB with ``cobs``) are made only when a host uses USB
(docs/firmware.md "Memory budget"); this module is all that is loaded until then.
"""

import select
import sys


class UsbWatch:
    """Waits for the first byte on the USB console without building a link: the serial
    link's buffers (about 4 kB) are made only when a host uses USB (docs/firmware.md)."""

    def __init__(self, stream_in=None):
        self._in = stream_in if stream_in is not None else sys.stdin.buffer
        self._poll = select.poll()
        self._poll.register(self._in, select.POLLIN)
        self._one = bytearray(1)

    def first_byte(self):
        """The first byte received (0..255), or -1 while none came."""
        for _ in self._poll.ipoll(0):
            if self._in.readinto(self._one):
                return self._one[0]
        return -1

"""MicroPython side of the app tests (the ``mpy`` fixture puts this folder on the path).

``TestLink`` prints every frame it sends as ``F <hex>`` (``F <tag> <hex>`` when tagged);
``refuse`` makes its transport refuse frames (a full stack), ``quiet`` counts them instead of
printing (printing allocates, so heap_lock tests need it). ``Clock`` steps an app on the
virtual board's manual clock, 10 ms per sample at 100 Hz.
"""

import binascii

import _vboard
from link import Link


class TestLink(Link):
    def __init__(self, ring, on_command, tag=None):
        Link.__init__(self, ring, on_command, 0)
        self.tag = tag
        self.refuse = False
        self.quiet = False
        self.count = 0

    def _out(self, frame, n):
        if self.refuse:
            return False
        if self.quiet:
            self.count += 1
        elif self.tag is None:
            print("F", binascii.hexlify(bytes(frame[:n])).decode())
        else:
            print("F", self.tag, binascii.hexlify(bytes(frame[:n])).decode())
        return True

    def pump(self, now_ms):
        self._commands()
        if self.ready:
            self._send(now_ms)

    def set_status(self, frame):
        pass


class Clock:
    """The manual clock: ``run(app, samples)`` advances the chip and steps the app."""

    def __init__(self, source, rate_hz=100):
        _vboard.set_manual(True)
        _vboard.set_arrays(rate_hz, source, loop=True)
        self.now_ms = 0

    def run(self, app, samples, per_step=4):
        while samples > 0:
            k = per_step if samples > per_step else samples
            _vboard.advance(k)
            self.now_ms += 10 * k
            app.step(self.now_ms)
            samples -= k


def cmd(link, hexbytes):
    """Deliver a command (hex) to ``link`` as its transport would."""
    b = binascii.unhexlify(hexbytes)
    link._cmd_in(b, len(b))

"""Sample sources that feed the simulated IMU chips (virtual board only).

A source yields physical samples ``acc_x, acc_y, acc_z`` [m/s², specific force, +9.81 on the
up axis at rest] and ``gyr_x, gyr_y, gyr_z`` [deg/s] in the chip's sensor frame, at its own
``rate_hz``. Kinds: :class:`Still` (level and at rest), :class:`Arrays` (set by a test) and
:class:`FileSource` (the ``HSIM`` file written by ``hipsense.sim.source.write_source_file``).

``HSIM`` format, little-endian: magic ``b"HSIM"``, u16 version (1), u16 flags (bit0: loop at
the end, else hold the last sample), f32 rate_hz, u32 n_samples, then n_samples records of
6 x f32 (acc xyz m/s², gyr xyz deg/s). The file is read record by record (seek + readinto),
so a long recording never has to fit in the board's heap.
"""

import struct

G_MPS2 = 9.80665  # standard gravity (hipsense.conventions.G_MPS2, checked equal by a test)
HEADER_BYTES = 16
RECORD_BYTES = 24
FLAG_LOOP = 1


class SourceError(ValueError):
    pass


class Still:
    """Level sensor at rest: gravity on +z, no rotation, no noise."""

    rate_hz = 0.0

    def get(self, i, out):
        out[0] = 0.0
        out[1] = 0.0
        out[2] = G_MPS2
        out[3] = 0.0
        out[4] = 0.0
        out[5] = 0.0


class Arrays:
    """Samples given by a test: a flat sequence ``[ax, ay, az, gx, gy, gz, ax, ...]``."""

    def __init__(self, rate_hz, flat, loop=False):
        if len(flat) % 6 or not flat:
            raise SourceError("Arrays source needs a non-empty flat list of 6 values per sample")
        self.rate_hz = float(rate_hz)
        self.flat = flat
        self.n = len(flat) // 6
        self.loop = loop

    def get(self, i, out):
        if i >= self.n:
            i = i % self.n if self.loop else self.n - 1
        b = i * 6
        f = self.flat
        for j in range(6):
            out[j] = f[b + j]


class FileSource:
    """Samples streamed from an ``HSIM`` file (see the module docstring)."""

    def __init__(self, path):
        self.path = path
        self.f = open(path, "rb")  # noqa: SIM115 (kept open: records are streamed)
        head = self.f.read(HEADER_BYTES)
        if len(head) != HEADER_BYTES or head[0:4] != b"HSIM":
            raise SourceError("%s is not an HSIM sample-source file (bad magic)" % path)
        version, flags, rate_hz, n = struct.unpack_from("<HHfI", head, 4)
        if version != 1:
            raise SourceError("%s: HSIM version %d is not supported (need 1)" % (path, version))
        if n == 0 or rate_hz <= 0:
            raise SourceError("%s: HSIM file has no samples or a bad rate" % path)
        self.rate_hz = rate_hz
        self.n = n
        self.loop = bool(flags & FLAG_LOOP)
        self.rec = bytearray(RECORD_BYTES)
        self.cached = -1
        self.vals = [0.0] * 6

    def get(self, i, out):
        if i >= self.n:
            i = i % self.n if self.loop else self.n - 1
        if i != self.cached:
            if i != self.cached + 1:
                self.f.seek(HEADER_BYTES + i * RECORD_BYTES)
            if self.f.readinto(self.rec) != RECORD_BYTES:
                raise SourceError("%s: truncated HSIM file at record %d" % (self.path, i))
            v = struct.unpack("<6f", self.rec)
            for j in range(6):
                self.vals[j] = v[j]
            self.cached = i
        for j in range(6):
            out[j] = self.vals[j]

# Mounting capture on the board: the sensor -> pelvis rotation from standing still, then a
# forward bend or a few seconds of walking (docs/algorithms.md "Mounting alignment").
#
# Imported only while ALIGN_MOUNTING runs and dropped after it (docs/firmware.md "Memory
# budget"): a board without PSRAM cannot keep this rarely used code resident beside its ring.
# Per-sample code is integer viper (no heap); ``finish`` and the helpers use floats.
# ruff: noqa: F821  (ptr8/ptr16/ptr32 are viper built-ins)

from array import array

import micropython
from micropython import const

_ONE = const(536870912)  # 1.0 in Q29 (as in fusion.py)

_MAX_CAPTURE_N = const(16384)  # int16 sums stay below 2**29 (82 s at 200 Hz)


_WALK_MOMENTS = b"\x00\x00\x01\x01\x02\x02\x00\x01\x00\x02\x01\x02"  # (i, j) of 6 moments
_WALK_LAGS = const(13)  # candidate step lags 0.30 + 0.04 i s (as hipsense.motion.mounting)
_RING = const(64)  # delay line of decimated samples (power of two, > the longest lag)
# _walk layout (int32): raw samples seen, samples in the current block, block sums xyz,
# decimated samples n, offset c xyz (the first decimated sample), sums of y = (x - c) >> 1,
# sums of y over the first tau samples, ring write position, then as (hi, lo) with value
# hi * 2**24 + lo: the antisymmetric lag-tau moments of y (xy, xz, yz) and, per lag L, the
# six second moments of (x[j] - x[j - L]) >> 1
_W_D = const(22)
_W_SIZE = const(178)  # _W_D + 12 * _WALK_LAGS


class MountingCapture:
    """Collects the on-board mounting calibration (called by the command handler).

    ``add(buf, offset)`` takes the same raw frames as ``Fusion.update`` (allocation-free).
    ``phase`` 0 = standing still; then either 1 = bending forward or 2 = walking forward
    (at least 3 s; the first second is left out, so walking may start up to a second into
    the capture). ``finish(pelvis)`` computes the mounting (bend if captured, else walk),
    applies it and returns it as (w, x, y, z). Up to 16384 samples per phase.

    The walk is averaged to about 50 Hz and kept in a 64-sample delay line; per decimated
    sample it adds the second moments of x[j] - x[j - L] for 13 candidate step lags L and the
    antisymmetric lag-tau moments (docs/algorithms.md,
    ``hipsense.motion.mounting.walk_forward_axis``).
    """

    def __init__(self, rate_hz=200.0):
        self._sum = array("i", bytes(4 * 8))  # still xyz, bend xyz, n still, n bend
        self._walk = array("i", bytes(4 * _W_SIZE))
        self._ring = array("h", bytes(2 * 3 * _RING))
        self._n1 = int(rate_hz + 0.5)
        sh = 0  # 2**sh samples per block: the power of two nearest rate / 50 Hz
        while rate_hz >= 50.0 * 2.0 ** (sh + 0.5):
            sh += 1
        self._dsh = sh
        rate_dec = rate_hz / (1 << sh)
        self._lags = bytearray(
            [max(1, int((0.30 + 0.04 * i) * rate_dec + 0.5)) for i in range(_WALK_LAGS)]
        )
        self._tau = max(1, int(0.12 * rate_dec + 0.5))
        self.rate_hz = rate_hz
        self.phase = 0

    def reset(self):
        for i in range(8):
            self._sum[i] = 0
        for i in range(_W_SIZE):
            self._walk[i] = 0
        self.phase = 0

    @micropython.viper
    def add(self, buf, offset: int):
        p = ptr8(buf)
        ph = int(self.phase)
        if ph == 2:
            self._add_walk(buf, offset)
            return
        s = ptr32(self._sum)
        if s[6 + ph] >= _MAX_CAPTURE_N:
            return
        i = 0
        while i < 3:
            v = p[offset + 2 * i] | (p[offset + 2 * i + 1] << 8)
            # a sum only: correct modulo 2**32 even where loads are zero-extended
            s[3 * ph + i] = s[3 * ph + i] + v - ((v & 0x8000) << 1)
            i += 1
        s[6 + ph] = s[6 + ph] + 1

    @micropython.viper
    def _add_walk(self, buf, offset: int):
        p = ptr8(buf)
        wk = ptr32(self._walk)
        H = _ONE  # sign-extending loads, see fusion.py
        H = H << 2
        M = H + H - 1
        k = wk[0]
        if k >= _MAX_CAPTURE_N:
            return
        wk[0] = k + 1
        if k < int(self._n1):
            return
        i = 0
        while i < 3:
            v = p[offset + 2 * i] | (p[offset + 2 * i + 1] << 8)
            v = v - ((v & 0x8000) << 1)
            wk[2 + i] = (((wk[2 + i] + H) & M) - H) + v  # < 2**15 * 2**sh (sh <= 5: 2 kHz)
            i += 1
        n = wk[1] + 1
        if n < (1 << int(self._dsh)):
            wk[1] = n
            return
        wk[1] = 0
        self._add_decimated()

    @micropython.viper
    def _add_decimated(self):
        wk = ptr32(self._walk)
        rg = ptr16(self._ring)
        lags = ptr8(self._lags)
        # int16 scratch: x (block mean), y = (x - c) >> 1, lag differences >> 1; being
        # int16 they bound every product below to 2**30 (the host twin checks the stores)
        t = ptr16(_SCR9)
        mi = ptr8(_WALK_MOMENTS)
        H = _ONE
        H = H << 2
        M = H + H - 1
        sh = int(self._dsh)
        tau = int(self._tau)
        j = wk[5]
        pos = wk[15]
        i = 0
        while i < 3:
            x = (((wk[2 + i] + H) & M) - H) >> sh  # the block's mean: int16 range
            wk[2 + i] = 0
            if j == 0:
                wk[6 + i] = x
            y = (x - (((wk[6 + i] + H) & M) - H)) >> 1  # |y| <= 2**15
            t[i] = x
            t[3 + i] = y
            wk[9 + i] = (((wk[9 + i] + H) & M) - H) + y  # |sum| <= 2**15 * 2**14
            if j < tau:
                wk[12 + i] = (((wk[12 + i] + H) & M) - H) + y
            i += 1
        if j >= tau:
            q = ((pos - tau) & (_RING - 1)) * 3
            m = 0
            while m < 3:
                ia = int(mi[6 + 2 * m])
                ib = int(mi[7 + 2 * m])
                # the lagged y from the delay line (|.| <= 2**15); the int16 loads are
                # sign-extended whether the load extends them or not
                xa = ((int(rg[q + ia]) + 0x8000) & 0xFFFF) - 0x8000
                xb = ((int(rg[q + ib]) + 0x8000) & 0xFFFF) - 0x8000
                za = (xa - (((wk[6 + ia] + H) & M) - H)) >> 1
                zb = (xb - (((wk[6 + ib] + H) & M) - H)) >> 1
                ya = ((int(t[3 + ia]) + 0x8000) & 0xFFFF) - 0x8000
                yb = ((int(t[3 + ib]) + 0x8000) & 0xFFFF) - 0x8000
                lo = (((wk[17 + 2 * m] + H) & M) - H) + ya * zb  # < 2**24 + 2**30
                carry = lo >> 24
                lo = lo - (carry << 24)
                hi = (((wk[16 + 2 * m] + H) & M) - H) + carry
                lo = lo - yb * za
                carry = lo >> 24
                wk[17 + 2 * m] = lo - (carry << 24)
                wk[16 + 2 * m] = hi + carry  # |hi| < 2**22
                m += 1
        n = 0
        while n < _WALK_LAGS:
            lag = int(lags[n])
            if j >= lag:
                q = ((pos - lag) & (_RING - 1)) * 3
                i = 0
                while i < 3:
                    xl = ((int(rg[q + i]) + 0x8000) & 0xFFFF) - 0x8000
                    t[6 + i] = ((((int(t[i]) + 0x8000) & 0xFFFF) - 0x8000) - xl) >> 1
                    i += 1
                b = _W_D + 12 * n
                m = 0
                while m < 6:
                    da = ((int(t[6 + mi[2 * m]]) + 0x8000) & 0xFFFF) - 0x8000
                    db = ((int(t[6 + mi[2 * m + 1]]) + 0x8000) & 0xFFFF) - 0x8000
                    lo = (((wk[b + 2 * m + 1] + H) & M) - H) + da * db  # < 2**24 + 2**30
                    carry = lo >> 24
                    wk[b + 2 * m + 1] = lo - (carry << 24)
                    wk[b + 2 * m] = (((wk[b + 2 * m] + H) & M) - H) + carry  # |hi| < 2**21
                    m += 1
            n += 1
        q = pos * 3
        i = 0
        while i < 3:
            rg[q + i] = t[i]
            i += 1
        wk[15] = (pos + 1) & (_RING - 1)
        wk[5] = j + 1

    def finish(self, pelvis):
        s = self._sum
        if s[6] < 10:
            raise ValueError("mounting capture: need >= 10 samples standing still")
        still = [s[i] / s[6] for i in range(3)]
        if s[7] >= 10:
            q = mounting_from_acc(still, [s[3 + i] / s[7] for i in range(3)])
        elif self._walk[0] >= 3 * self._n1:
            q = self._walk_mounting(still)
        else:
            raise ValueError("mounting capture: need a forward bend or >= 3 s of walking")
        pelvis.set_mounting_q(q[0], q[1], q[2], q[3])
        return q

    def _value(self, i):
        return self._walk[i] * 16777216.0 + self._walk[i + 1]

    def _walk_mounting(self, still):
        """Forward = across the medio-lateral axis (the step-lag differences' main horizontal
        axis at the lag where vertical repeats best), signed by the pendulum's phase."""
        wk = self._walk
        z = _unit(still)
        n = wk[5]
        best = None
        most = 0.0
        mom = None
        for k in range(_WALK_LAGS):
            cnt = n - self._lags[k]
            if cnt < 1:
                continue
            m = [[0.0] * 3 for _ in range(3)]
            for e in range(6):
                i, j = _WALK_MOMENTS[2 * e], _WALK_MOMENTS[2 * e + 1]
                m[i][j] = m[j][i] = self._value(_W_D + 12 * k + 2 * e) / cnt
            v = sum(z[i] * m[i][j] * z[j] for i in range(3) for j in range(3))
            most = max(most, v)
            if best is None or v < best:
                best, mom = v, m
        if best is None or mom is None:
            raise ValueError("mounting capture: walk too short for one step")
        # as hipsense.motion.mounting: some vertical bounce (the moments are of differences >> 1,
        # a quarter of the LSB² scale) and regular steps
        g2 = sum(v * v for v in still)
        if 4.0 * most < _WALK_MIN_VERTICAL_G2 * g2:
            raise ValueError("mounting capture: no walking seen")
        if best > _WALK_MAX_VERTICAL_RATIO * most:
            raise ValueError("mounting capture: steps not regular (walk straight)")
        # power iteration on the moments projected onto the horizontal plane
        v = _horizontal([1.0, 0.0, 0.0] if abs(z[0]) < 0.9 else [0.0, 1.0, 0.0], z)
        for _ in range(200):
            v = _horizontal([sum(mom[i][j] * v[j] for j in range(3)) for i in range(3)], z)
        fwd = _cross(v, z)
        # sign: the mean-removed antisymmetric lag-tau moments (docs/algorithms.md)
        tau = self._tau
        c = [wk[6 + i] for i in range(3)]
        last = [0, 0, 0]
        for r in range(tau):
            b = ((wk[15] - 1 - r) & (_RING - 1)) * 3
            for i in range(3):
                last[i] += (self._ring[b + i] - c[i]) >> 1
        mu = [wk[9 + i] / n for i in range(3)]
        ds = [last[i] - wk[12 + i] for i in range(3)]
        a = [[0.0] * 3 for _ in range(3)]
        for e in range(3):
            i, j = _WALK_MOMENTS[6 + 2 * e], _WALK_MOMENTS[7 + 2 * e]
            a[i][j] = self._value(16 + 2 * e)
            a[j][i] = -a[i][j]
        w = [a[2][1] + mu[2] * ds[1] - ds[2] * mu[1],
             a[0][2] + mu[0] * ds[2] - ds[0] * mu[2],
             a[1][0] + mu[1] * ds[0] - ds[1] * mu[0]]  # fmt: skip
        lead = _cross(z, w)
        if sum(fwd[i] * lead[i] for i in range(3)) < 0:
            fwd = [-fwd[0], -fwd[1], -fwd[2]]
        return mounting_from_axes(z, fwd)


_SCR9 = array("h", bytes(2 * 9))
_WALK_MIN_VERTICAL_G2 = 0.03 * 0.03  # hipsense.motion.mounting.WALK_MIN_VERTICAL_G, squared
_WALK_MAX_VERTICAL_RATIO = 0.45  # hipsense.motion.mounting.WALK_MAX_VERTICAL_RATIO


def _cross(a, b):
    return [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]]


def _horizontal(v, z):
    d = v[0] * z[0] + v[1] * z[1] + v[2] * z[2]
    return _unit([v[0] - d * z[0], v[1] - d * z[1], v[2] - d * z[2]])


def mounting_from_axes(z, x):
    """Sensor -> pelvis quaternion (w first) from the pelvis's up (z) and anterior (x) unit
    axes in sensor coordinates (x orthogonal to z)."""
    y = [z[1] * x[2] - z[2] * x[1], z[2] * x[0] - z[0] * x[2], z[0] * x[1] - z[1] * x[0]]
    # the pelvis axes as rows: the matrix that maps sensor vectors to pelvis coordinates
    return _quat_from_columns([x[0], y[0], z[0]], [x[1], y[1], z[1]], [x[2], y[2], z[2]])


def mounting_from_acc(still, bend):
    """Sensor -> pelvis quaternion from mean accelerations (sensor frame, any unit).

    ``still``: standing upright and still (gives the pelvis's up axis). ``bend``: bending
    forward (anterior pelvic tilt; the specific force then leans towards the pelvis's back).
    """
    z = _unit(still)
    b = _unit(bend)
    d = sum(b[i] * z[i] for i in range(3))
    if d > 0.9986:  # less than 3 deg of tilt between the two captures
        raise ValueError("mounting capture: bend forward further (tilt < 3 deg)")
    back = _unit([b[i] - d * z[i] for i in range(3)])
    return mounting_from_axes(z, [-back[0], -back[1], -back[2]])


def _unit(v):
    n = (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]) ** 0.5
    if n < 1e-6:
        raise ValueError("mounting capture: vector too small (no tilt during the bend?)")
    return [v[0] / n, v[1] / n, v[2] / n]


def _quat_from_columns(x, y, z):
    """Quaternion (w first) of the rotation matrix with columns x, y, z."""
    m00, m11, m22 = x[0], y[1], z[2]
    tr = m00 + m11 + m22
    if tr > 0:
        s = (tr + 1.0) ** 0.5 * 2
        q = (0.25 * s, (y[2] - z[1]) / s, (z[0] - x[2]) / s, (x[1] - y[0]) / s)
    elif m00 > m11 and m00 > m22:
        s = (1.0 + m00 - m11 - m22) ** 0.5 * 2
        q = ((y[2] - z[1]) / s, 0.25 * s, (y[0] + x[1]) / s, (z[0] + x[2]) / s)
    elif m11 > m22:
        s = (1.0 + m11 - m00 - m22) ** 0.5 * 2
        q = ((z[0] - x[2]) / s, (y[0] + x[1]) / s, 0.25 * s, (z[1] + y[2]) / s)
    else:
        s = (1.0 + m22 - m00 - m11) ** 0.5 * 2
        q = ((x[1] - y[0]) / s, (z[0] + x[2]) / s, (z[1] + y[2]) / s, 0.25 * s)
    return q if q[0] >= 0 else (-q[0], -q[1], -q[2], -q[3])

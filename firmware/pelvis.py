# Pelvis angles (centidegrees) from the fused orientation and the mounting alignment.
#
# Pelvis frame: x anterior, y left, z up; R = Rz(rotation) Rx(obliquity) Ry(tilt) (see
# docs/algorithms.md). tilt > 0: front down; obliquity > 0: left side higher; rotation > 0:
# turned left, relative to a slowly tracked heading (drift removed). Per-sample code is
# integer viper (no heap). The mounting capture that sets ``set_mounting_q`` is in
# mounting.py, imported only while it runs.
# ruff: noqa: F821  (ptr8/ptr16/ptr32 are viper built-ins)

from array import array

import micropython
from fusion import mul29, qmul
from micropython import const

_ONE = const(536870912)  # 1.0 in Q29 (as in fusion.py)
# atan(2**-i) in centidegrees * 2**16, i = 0..23 (CORDIC vectoring table)
_ATAN = array(
    "i",
    [
        294912000,
        174096719,
        91987925,
        46694507,
        23437865,
        11730358,
        5866610,
        2933484,
        1466764,
        733385,
        366693,
        183346,
        91673,
        45837,
        22918,
        11459,
        5730,
        2865,
        1432,
        716,
        358,
        179,
        90,
        45,
    ],
)
_INV_GAIN = const(326016437)  # 1 / prod(sqrt(1 + 2**-2i)), Q29
_HEADING_TAU_S = const(10.0)


@micropython.viper
def cordic(y: int, x: int, mag) -> int:
    """atan2(y, x) in centidegrees (-18000, 18000]; writes hypot(x, y) to mag[0].

    |x|, |y| < 2**29.5. The vector is scaled to [2**26, 2**27) first, so CORDIC's gain
    (1.65) and the rotations keep |x|, |y| < 2**28.3.
    """
    t = ptr32(_ATAN)
    pm = ptr32(mag)
    off = 0
    if x < 0:
        x = 0 - x
        y = 0 - y
        off = 18000 if y <= 0 else -18000
    ax = x
    ay = y if y >= 0 else 0 - y
    m = ax if ax > ay else ay
    if m == 0:
        pm[0] = 0
        return 0
    sh = 0
    while m >= 134217728:
        m = m >> 1
        sh += 1
    while m < 67108864:
        m = m << 1
        sh -= 1
    if sh > 0:
        x = x >> sh
        y = y >> sh
    else:
        x = x << (0 - sh)
        y = y << (0 - sh)
    z = 0
    i = 0
    while i < 24:
        if y > 0:
            nx = x + (y >> i)
            y = y - (x >> i)
            z += t[i]
        else:
            nx = x - (y >> i)
            y = y + (x >> i)
            z -= t[i]
        x = nx
        i += 1
    r = int(mul29(x, _INV_GAIN))
    pm[0] = (r << sh) if sh > 0 else (r >> (0 - sh))
    a = ((z + 32768) >> 16) + off
    if a > 18000:
        a -= 36000
    if a <= -18000:
        a += 36000
    return a


class Pelvis:
    """Mounting alignment (sensor -> pelvis rotation, identity until set) and pelvis angles."""

    def __init__(self, rate_hz=200.0, heading_tau_s=_HEADING_TAU_S):
        # Q29 conjugate of the mounting, i.e. pelvis -> sensor, so that q (x) m = earth <- pelvis
        self.m = array("i", [_ONE, 0, 0, 0])
        self._w = array("i", bytes(4 * 8))
        self._h = array("i", [0, 0, 0])  # heading reference (cdeg * 2**15), started, gain Q20
        self.configure(rate_hz, heading_tau_s)

    def configure(self, rate_hz, heading_tau_s=_HEADING_TAU_S):
        """Sample rate and the time constant of the heading tracker (drift removal)."""
        import math

        if rate_hz < 10.0 or heading_tau_s < 2.0:
            raise ValueError("need rate_hz >= 10 and heading_tau_s >= 2 (int32 bound)")
        self._h[2] = int((1.0 - math.exp(-1.0 / (rate_hz * heading_tau_s))) * 1048576 + 0.5)
        self._h[1] = 0

    def set_mounting_q(self, w, x, y, z):
        """Mounting quaternion sensor -> pelvis (w first): v_pelvis = R(m) v_sensor."""
        n = (w * w + x * x + y * y + z * z) ** 0.5
        if n < 1e-6:
            raise ValueError("mounting quaternion has zero length")
        m = self.m
        m[0] = int(w / n * _ONE)
        m[1] = -int(x / n * _ONE)
        m[2] = -int(y / n * _ONE)
        m[3] = -int(z / n * _ONE)
        self._h[1] = 0

    def mounting_q(self):
        """The mounting as set (sensor -> pelvis, w first)."""
        m = self.m
        return (m[0] / _ONE, -m[1] / _ONE, -m[2] / _ONE, -m[3] / _ONE)

    @micropython.viper
    def angles_cdeg(self, f, out):
        """Write tilt, obliquity, rotation (centidegrees) of fusion ``f`` into out[0..2]."""
        wo = self._w
        w = ptr32(wo)
        h = ptr32(self._h)
        o = ptr16(out)
        H = _ONE
        H = H << 2
        M = H + H - 1
        qmul(f.q, 0, self.m, 0, wo, 0)  # earth <- pelvis
        qw = ((w[0] + H) & M) - H
        qx = ((w[1] + H) & M) - H
        qy = ((w[2] + H) & M) - H
        qz = ((w[3] + H) & M) - H
        xx = int(mul29(qx, qx))
        r31 = (int(mul29(qx, qz)) - int(mul29(qw, qy))) << 1
        r32 = (int(mul29(qy, qz)) + int(mul29(qw, qx))) << 1
        r33 = _ONE - ((xx + int(mul29(qy, qy))) << 1)
        r12 = (int(mul29(qx, qy)) - int(mul29(qw, qz))) << 1
        r22 = _ONE - ((xx + int(mul29(qz, qz))) << 1)
        tilt = int(cordic(0 - r31, r33, wo))  # w[0] = cos(obliquity)
        c = ((w[0] + H) & M) - H
        obl = int(cordic(r32, c, wo))
        rot = int(cordic(0 - r12, r22, wo))
        half = 18000
        half = half << 15
        if h[1] == 0:
            h[0] = rot << 15
            h[1] = 1
        ref = ((h[0] + H) & M) - H
        d = rot - ((ref + 16384) >> 15)  # cdeg, wrapped to (-18000, 18000]
        if d > 18000:
            d -= 36000
        if d <= -18000:
            d += 36000
        ref += (d * h[2]) >> 5  # gain < 0.05 * 2**20 (configure): |d * gain| < 2**31
        if ref > half:
            ref -= half + half
        if ref <= 0 - half:
            ref += half + half
        h[0] = ref
        rel = rot - ((ref + 16384) >> 15)
        if rel > 18000:
            rel -= 36000
        if rel <= -18000:
            rel += 36000
        o[0] = tilt
        o[1] = obl
        o[2] = rel

# Orientation fusion in fixed point: gyro strapdown, accelerometer low-pass in an
# almost-inertial frame, inclination correction, gyro bias at rest and in motion
# (docs/algorithms.md).
#
# Floats allocate on MicroPython, so the per-sample path is integer arithmetic in
# @micropython.viper functions over array('i') state. Viper ints are 32-bit on the ESP32:
# every intermediate below is kept within int32 (bounds in the comments), and every value
# passed between functions (arguments, returns) stays below 2**30 so that it is a small
# int on the ESP32 (no heap). Formats: quaternions and unit vectors Q29 (1.0 = 2**29),
# accelerations Q19 m/s^2, angular rates Q12 raw LSB, LP gains Q29.
# The host runs this very file under CPython (hipsense.motion.fixedpoint) with range checks; it is
# bit-identical to the unix port. On the ESP32, configure() computes its integer gains in
# float32 (once), which can move a gain by up to one part in 10**6 (tests/test_orientation.py
# checks this on the 32-bit float32 build): with the board's gains the host twin is again
# bit-identical, and the angles differ by far less than their 0.01 degree resolution.

# ruff: noqa: F821  (ptr8/ptr32 are viper built-ins)
from array import array

import micropython
from micropython import const

_ONE = const(536870912)  # 1.0 in Q29
_LO = const(0x3FFF)

# Tuning (same defaults as hipsense.motion.orientation.FilterParams)
TAU_ACC_S = 3.5
_TAU_ACC_REST_S = const(0.5)
TAU_REST_S = 0.5
REST_GYR_DPS = 2.0
REST_ACC_MPS2 = 0.5
REST_BIAS_MAX_DPS = 35.0  # |bias|: MPU-6050 zero-rate output up to +-20 dps per axis (35 in all)
REST_MIN_S = 1.5
TAU_BIAS_REST_S = 1.0
_TAU_BIAS_MOTION_S = const(30.0)
_BIAS_MOTION_GATE_MPS2 = const(0.5)
G_MPS2 = 9.80665  # standard gravity (hipsense.conventions.G_MPS2, checked equal by a test)
_BIAS_FILE_VERSION = const(1)

# state indices (array _s)
_QG = const(0)  # gyro quaternion, sensor -> almost-inertial frame I (4)
_QA = const(4)  # inclination correction, I -> earth (4)
_ST = const(8)  # first low-pass stage of acc in I (3), Q19
_LP = const(11)  # second stage (3), Q19
_BI = const(14)  # gyro bias (3), Q12 LSB
_GL = const(17)  # gyro low-pass, sensor frame (3), Q12 LSB
_AL = const(20)  # acc low-pass, sensor frame (3), Q19
_REST = const(23)  # consecutive rest samples
_STARTED = const(24)
_BF = const(25)  # motion-bias fractions (3), error diffusion below one Q12 LSB
_NS = const(28)

# config indices (array _c)
_KA = const(0)  # raw acc -> Q19: mul29(raw << 14, KA)
_KG = const(1)  # gyro half-angle: mul29(rate_q12, KG) << SHG  (Q29 rad)
_SHG = const(2)
_KACC = const(3)
_KREST = const(4)
_KBR = const(5)
_THG = const(6)  # rest: gyro deviation per axis (Q12 LSB), and squared sum of (d >> SHR)
_THG2 = const(7)
_THA = const(8)
_THA2 = const(9)
_THB = const(10)
_THB2 = const(11)
_RESTN = const(12)
_SHR = const(13)  # shift making (threshold >> SHR) < 2**14: squares < 2**28, sums < 2**30
_KACCR = const(14)  # acc low-pass gain at rest
_KBM = const(15)  # motion bias: d(bias) = -e * KBM / 2**SBM (e: Q29 rad, |e| <= 2**18.5)
_SBM = const(16)
_GATE2 = const(17)  # motion bias gate on | |a|^2 - |lp|^2 |, Q9 (m/s^2)^2
_NC = const(18)


@micropython.viper
def mul29(a: int, b: int) -> int:
    """round(a * b / 2**29) without a 64-bit product; |a|, |b| <= 2**29 + 2**14."""
    ah = a >> 14  # |ah| <= 2**15
    al = a & _LO  # 0 <= al < 2**14
    bh = b >> 14
    bl = b & _LO
    t = ah * bh  # <= 2**30
    # ah*bl, al*bh < 2**29 each: mid < 2**30 + 3 * 2**14
    mid = ((t & 1) << 14) + ah * bl + al * bh + ((al * bl) >> 14) + 0x4000
    return (t >> 1) + (mid >> 15)


@micropython.viper
def rsqrt28(m: int) -> int:
    """1/sqrt(m / 2**29) in Q28 for 2**27 <= m < 2**29 (result in (2**28, 2**29])."""
    # quadratic first guess 2.558 - m (2.961 - 1.428 m) (max rel. error 4.7 %, r < 1.91; inner
    # coefficients Q27 to keep mul29 operands < 2**29), then three Newton steps
    # r <- r (3 - m r^2) / 2 (relative error 4.7e-2 -> 3e-3 -> 2e-5 -> 1e-9)
    r = 686654592 - (int(mul29(m, 397364367 - int(mul29(m, 191725410)))) << 1)
    i = 0
    while i < 3:
        t = int(mul29(r, r))  # Q27, r**2 <= 4
        u = int(mul29(m, t))  # Q27, m r**2 in [0.9, 1.1] after the guess
        r = int(mul29(r, 402653184 - u)) << 1  # (3 - m r**2) in Q27, <= 2**28.6
        i += 1
    return r


@micropython.viper
def sqrt29(x: int) -> int:
    """sqrt(x / 2**29) in Q29 for 0 <= x <= 2**29 (floor-rounded range reduction)."""
    if x <= 0:
        return 0
    e = 0
    while x < 134217728:  # 2**27: scale by 4**e into [2**27, 2**29)
        x = x << 2
        e += 1
    r = int(rsqrt28(x))
    return (int(mul29(x, r)) << 1) >> e


# Viper loads from ptr32 are sign-correct on the ESP32 (32-bit registers) but zero-extended
# on 64-bit ports such as the unix test build. Every load of a signed value is therefore
# written ((p[i] + H) & M) - H with H = 2**31, M = 2**32 - 1 built at run time (literals that
# large are not small ints on the ESP32): a no-op in 32-bit arithmetic and under CPython, a
# sign extension on 64-bit ports.


# Hot loops inline the body of mul29 (six lines marked "mul29 inline") instead of calling
# it: a viper-to-viper call goes through the runtime and costs far more than the multiply.
_T = array("i", bytes(4 * 12))  # scratch of qmul/rotate (no nesting between them)
# Hamilton product term k (0..15): out[k >> 2] +-= a[k & 3] * b[_QB[k]], minus where bit k
# of _QNEG is set
_QB = b"\x00\x01\x02\x03\x01\x00\x03\x02\x02\x03\x00\x01\x03\x02\x01\x00"
_QNEG = const(17038)
# cross product term k (0..5): c[k >> 1] +-= u[_CU[k]] * v[_CV[k]], minus for odd k
_CU = b"\x01\x02\x02\x00\x00\x01"
_CV = b"\x02\x01\x00\x02\x01\x00"


@micropython.viper
def normalize(v, i0: int, n: int):
    """Scale v[i0:i0+n] (array('i'), n <= 4, any magnitude) to unit length in Q29."""
    p = ptr32(v)
    H = _ONE
    H = H << 2
    M = H + H - 1
    mx = 0
    i = i0
    while i < i0 + n:
        a = ((p[i] + H) & M) - H
        if a < 0:
            a = 0 - a
        if a > mx:
            mx = a
        i += 1
    if mx == 0:
        return
    sh = 0  # bring max |v_i| into [2**27, 2**28): shift right (sh > 0) or left (sh < 0)
    while mx >= 268435456:
        mx = mx >> 1
        sh += 1
    while mx < 134217728:
        mx = mx << 1
        sh -= 1
    s = 0
    i = i0
    while i < i0 + n:
        a = ((p[i] + H) & M) - H
        a = (a >> sh) if sh > 0 else (a << (0 - sh))
        p[i] = a
        ah = a >> 14  # mul29 inline: r = mul29(a, a)
        bh = ah
        al = a & _LO
        bl = al
        t = ah * bh
        r = (t >> 1) + ((((t & 1) << 14) + ah * bl + al * bh + ((al * bl) >> 14) + 0x4000) >> 15)
        s += r  # each < 2**27, n <= 4: s < 2**29
        i += 1
    up = 0
    if s < 134217728:  # s >= 2**25 here, one step of 4x suffices
        s = s << 2
        up = 1
    b = int(rsqrt28(s))
    bh = b >> 14
    bl = b & _LO
    i = i0
    while i < i0 + n:
        a = (((p[i] + H) & M) - H) << up  # < 2**29
        ah = a >> 14  # mul29 inline: r = mul29(a, b)
        al = a & _LO
        t = ah * bh
        r = (t >> 1) + ((((t & 1) << 14) + ah * bl + al * bh + ((al * bl) >> 14) + 0x4000) >> 15)
        p[i] = r << 1
        i += 1


@micropython.viper
def renorm4(v, i0: int):
    """One Newton step towards unit norm for a quaternion already within 1e-3 of it."""
    p = ptr32(v)
    H = _ONE
    H = H << 2
    M = H + H - 1
    s = 0
    i = i0
    while i < i0 + 4:
        a = ((p[i] + H) & M) - H
        ah = a >> 14  # mul29 inline: r = mul29(a, a)
        bh = ah
        al = a & _LO
        bl = al
        t = ah * bh
        r = (t >> 1) + ((((t & 1) << 14) + ah * bl + al * bh + ((al * bl) >> 14) + 0x4000) >> 15)
        s += r
        i += 1
    b = _ONE - ((s - _ONE) >> 1)
    bh = b >> 14
    bl = b & _LO
    i = i0
    while i < i0 + 4:
        a = ((p[i] + H) & M) - H
        ah = a >> 14  # mul29 inline: r = mul29(a, b)
        al = a & _LO
        t = ah * bh
        r = (t >> 1) + ((((t & 1) << 14) + ah * bl + al * bh + ((al * bl) >> 14) + 0x4000) >> 15)
        p[i] = r
        i += 1


@micropython.viper
def qmul(a, ai: int, b, bi: int, out, oi: int):
    """out[oi:oi+4] = a[ai:ai+4] (x) b[bi:bi+4], Hamilton product in Q29, w first.

    For unit inputs every output and partial sum is a signed dot product of two unit
    4-vectors: |.| <= 2**29, so no int32 overflow; out may alias a or b.
    """
    pa = ptr32(a)
    pb = ptr32(b)
    po = ptr32(out)
    pt = ptr32(_T)
    bt = ptr8(_QB)
    H = _ONE
    H = H << 2
    M = H + H - 1
    pt[0] = 0
    pt[1] = 0
    pt[2] = 0
    pt[3] = 0
    k = 0
    while k < 16:
        x = ((pa[ai + (k & 3)] + H) & M) - H
        y = ((pb[bi + bt[k]] + H) & M) - H
        ah = x >> 14  # mul29 inline: r = mul29(x, y)
        bh = y >> 14
        al = x & _LO
        bl = y & _LO
        t = ah * bh
        r = (t >> 1) + ((((t & 1) << 14) + ah * bl + al * bh + ((al * bl) >> 14) + 0x4000) >> 15)
        if (_QNEG >> k) & 1:
            r = 0 - r
        pt[k >> 2] = (((pt[k >> 2] + H) & M) - H) + r
        k += 1
    po[oi] = pt[0]
    po[oi + 1] = pt[1]
    po[oi + 2] = pt[2]
    po[oi + 3] = pt[3]


@micropython.viper
def rotate(q, qi: int, v, vi: int, out, oi: int):
    """out[oi:oi+3] = R(q) v for a unit Q29 quaternion; |v| <= 2**27.2 (any Q format).

    t = 2 u x v (|t| <= 2 |v| <= 2**28.2), v' = v + w t + u x t; out may alias v.
    """
    pq = ptr32(q)
    pv = ptr32(v)
    po = ptr32(out)
    pt = ptr32(_T)
    cu = ptr8(_CU)
    cv = ptr8(_CV)
    H = _ONE
    H = H << 2
    M = H + H - 1
    i = 0
    while i < 3:
        pt[i] = pq[qi + 1 + i]  # u
        pt[3 + i] = pv[vi + i]  # v
        pt[6 + i] = 0  # t
        pt[9 + i] = pv[vi + i]  # v'
        i += 1
    w = ((pq[qi] + H) & M) - H
    k = 0
    while k < 15:  # 0..5: t = u x v; 6..8: v' += w t; 9..14: v' += u x t
        if k < 6:
            x = ((pt[cu[k]] + H) & M) - H
            y = ((pt[3 + cv[k]] + H) & M) - H
        elif k < 9:
            x = w
            y = ((pt[k] + H) & M) - H
        else:
            x = ((pt[cu[k - 9]] + H) & M) - H
            y = ((pt[6 + cv[k - 9]] + H) & M) - H
        ah = x >> 14  # mul29 inline: r = mul29(x, y)
        bh = y >> 14
        al = x & _LO
        bl = y & _LO
        t = ah * bh
        r = (t >> 1) + ((((t & 1) << 14) + ah * bl + al * bh + ((al * bl) >> 14) + 0x4000) >> 15)
        if k < 6:
            if k & 1:
                r = 0 - r
            pt[6 + (k >> 1)] = (((pt[6 + (k >> 1)] + H) & M) - H) + r + r  # 2 u x v
        elif k < 9:
            pt[3 + k] = (((pt[3 + k] + H) & M) - H) + r
        else:
            if k & 1 == 0:  # odd terms of the cross product (k - 9 odd) are subtracted
                r = 0 - r
            pt[9 + ((k - 9) >> 1)] = (((pt[9 + ((k - 9) >> 1)] + H) & M) - H) + r
        k += 1
    po[oi] = pt[9]
    po[oi + 1] = pt[10]
    po[oi + 2] = pt[11]


def _gain29(k):
    return int(k * _ONE + 0.5)


def _one_minus_exp(x):
    """1 - exp(-x) for 0 <= x <= 1 by its series: ``1 - math.exp(-x)`` cancels, which in
    float32 (ESP32) loses a relative 1e-5 of a small gain; the series keeps about 3e-7."""
    term = x
    total = 0.0
    n = 1
    while n <= 12:
        total += term
        n += 1
        term = -term * x / n
    return total


class Fusion:
    """6-axis orientation of the sensor; ``q`` (array('i'), Q29, w first) maps sensor -> earth."""

    def __init__(self):
        self._s = array("i", bytes(4 * _NS))
        self._c = array("i", bytes(4 * _NC))
        self._w = array("i", bytes(4 * 16))  # scratch
        self.q = array("i", [_ONE, 0, 0, 0])
        self.rate_hz = 0.0
        self.gyr_dps_per_lsb = 0.0
        self.status = ""
        self.reset()

    def reset(self):
        """Forget the orientation (the bias is kept)."""
        s = self._s
        for i in range(_NS):
            if i < _BI or i >= _BI + 3:
                s[i] = 0
        s[_QG] = _ONE
        s[_QA] = _ONE

    def configure(self, rate_hz, acc_mps2_per_lsb, gyr_dps_per_lsb):
        """Sample rate and raw scales (m/s^2 and deg/s per LSB); call before update()."""
        if not 10.0 <= rate_hz <= 2000.0:
            raise ValueError("rate_hz must be 10..2000")
        if not 6e-5 <= acc_mps2_per_lsb <= 0.0049:
            raise ValueError("acc_mps2_per_lsb must be 6e-5..0.0049 (full scale <= 16 g)")
        if not 0.004 <= gyr_dps_per_lsb <= 0.125:
            raise ValueError("gyr_dps_per_lsb must be 0.004..0.125 (full scale 125..4000 dps)")
        import math

        c = self._c
        dt = 1.0 / rate_hz
        rad_lsb = gyr_dps_per_lsb * math.pi / 180.0
        c[_KA] = int(acc_mps2_per_lsb * 17179869184.0 + 0.5)  # * 2**34
        # half angle in Q29 rad = rate_q12 * rad_lsb * dt / 2 * 2**17 = mul29(rate_q12, KG) << SHG
        k = rad_lsb * dt * 65536.0 * _ONE
        sh = 0
        while k >= _ONE:
            k = k / 2.0
            sh += 1
        c[_KG] = int(k + 0.5)
        c[_SHG] = sh
        c[_KACC] = _gain29(_one_minus_exp(2.0 * dt / TAU_ACC_S))
        c[_KACCR] = _gain29(_one_minus_exp(2.0 * dt / _TAU_ACC_REST_S))
        c[_KREST] = _gain29(_one_minus_exp(dt / TAU_REST_S))
        c[_KBR] = _gain29(_one_minus_exp(dt / TAU_BIAS_REST_S))
        thg = int(REST_GYR_DPS / gyr_dps_per_lsb * 4096.0)
        tha = int(REST_ACC_MPS2 * 524288.0)
        thb = int(REST_BIAS_MAX_DPS / gyr_dps_per_lsb * 4096.0)
        sh = 0
        while max(thg, tha, thb) >> sh >= 16384:
            sh += 1
        c[_SHR] = sh
        c[_THG] = thg
        c[_THG2] = (thg >> sh) * (thg >> sh)
        c[_THA] = tha
        c[_THA2] = (tha >> sh) * (tha >> sh)
        c[_THB] = thb
        c[_THB2] = (thb >> sh) * (thb >> sh)
        c[_RESTN] = int(REST_MIN_S * rate_hz + 0.5)
        k = 4096.0 / rad_lsb / _TAU_BIAS_MOTION_S / _ONE
        sh = 0
        while k < 1024.0:  # KBM in [2**10, 2**11]: |e * KBM| < 2**29.5
            k = k * 2.0
            sh += 1
        c[_KBM] = int(k + 0.5)
        c[_SBM] = sh
        c[_GATE2] = int(2.0 * G_MPS2 * _BIAS_MOTION_GATE_MPS2 * 512.0 + 0.5)
        self.rate_hz = rate_hz
        self.gyr_dps_per_lsb = gyr_dps_per_lsb

    @micropython.viper
    def update(self, buf, offset: int):
        """One sample: 6 little-endian int16 (ax, ay, az, gx, gy, gz) at buf[offset:]."""
        p = ptr8(buf)
        s = ptr32(self._s)
        c = ptr32(self._c)  # config values are all in [0, 2**30): no sign extension
        w = ptr32(self._w)
        so = self._s
        wo = self._w
        H = _ONE
        H = H << 2
        M = H + H - 1
        i = 0
        while i < 6:
            v = p[offset + 2 * i] | (p[offset + 2 * i + 1] << 8)
            v = v - ((v & 0x8000) << 1)
            if i < 3:
                w[i] = int(mul29(v << 14, c[_KA]))  # acc Q19, |.| <= 2**27.3
            else:
                w[i] = v << 12  # gyro Q12 LSB, |.| <= 2**27
            i += 1
        a2 = 0  # |acc|^2 in Q9 (m/s^2)^2, < 2**26
        i = 0
        while i < 3:
            a = ((w[i] + H) & M) - H
            a2 += int(mul29(a, a))
            i += 1
        if s[_STARTED] == 0:
            i = 0
            while i < 3:
                a = ((w[i] + H) & M) - H
                s[_ST + i] = a
                s[_LP + i] = a
                s[_AL + i] = a
                s[_GL + i] = w[3 + i]
                i += 1
            s[_STARTED] = 1
        # rest detection and bias at rest (sensor frame)
        kr = c[_KREST]
        rest = 1
        sg = 0
        sa = 0
        sb = 0
        i = 0
        while i < 3:
            g = ((w[3 + i] + H) & M) - H
            a = ((w[i] + H) & M) - H
            gl = ((s[_GL + i] + H) & M) - H
            al = ((s[_AL + i] + H) & M) - H
            gl = gl + int(mul29(g - gl, kr))
            al = al + int(mul29(a - al, kr))
            s[_GL + i] = gl
            s[_AL + i] = al
            d = g - gl
            if d < 0:
                d = 0 - d
            e = a - al
            if e < 0:
                e = 0 - e
            if gl < 0:
                gl = 0 - gl
            if d >= c[_THG] or e >= c[_THA] or gl >= c[_THB]:
                rest = 0
            else:  # each term < 2**28, sums < 2**30
                d = d >> c[_SHR]
                e = e >> c[_SHR]
                gl = gl >> c[_SHR]
                sg += d * d
                sa += e * e
                sb += gl * gl
            i += 1
        n = s[_REST]
        if rest and sg < c[_THG2] and sa < c[_THA2] and sb < c[_THB2]:
            if n < c[_RESTN]:
                n += 1
        else:
            n = 0
        s[_REST] = n
        i = 0
        while i < 3:
            b = ((s[_BI + i] + H) & M) - H
            if n >= c[_RESTN]:
                b = b + int(mul29((((s[_GL + i] + H) & M) - H) - b, c[_KBR]))
                s[_BI + i] = b
            # half rotation angle (Q29 rad) from the bias-corrected rate
            w[7 + i] = int(mul29((((w[3 + i] + H) & M) - H) - b, c[_KG])) << c[_SHG]
            i += 1
        # strapdown: dq = (1 - |h|^2/2, h (1 - |h|^2/6)), |h| < 0.1 at 2000 dps, 200 Hz
        hx = ((w[7] + H) & M) - H
        hy = ((w[8] + H) & M) - H
        hz = ((w[9] + H) & M) - H
        n2 = int(mul29(hx, hx)) + int(mul29(hy, hy)) + int(mul29(hz, hz))
        w[6] = _ONE - (n2 >> 1)
        f = _ONE - n2 // 6
        w[7] = int(mul29(hx, f))
        w[8] = int(mul29(hy, f))
        w[9] = int(mul29(hz, f))
        qmul(so, _QG, wo, 6, so, _QG)
        renorm4(so, _QG)
        # acc into I, two-stage low-pass there
        rotate(so, _QG, wo, 0, wo, 3)
        k = c[_KACC]
        if n >= c[_RESTN]:
            k = c[_KACCR]
        i = 0
        while i < 3:
            st = ((s[_ST + i] + H) & M) - H
            lp = ((s[_LP + i] + H) & M) - H
            st = st + int(mul29((((w[3 + i] + H) & M) - H) - st, k))
            s[_ST + i] = st
            s[_LP + i] = lp + int(mul29(st - lp, k))
            i += 1
        # inclination correction: rotate Q_A so that the filtered acc points up
        rotate(so, _QA, so, _LP, wo, 0)
        normalize(wo, 0, 3)
        ux = ((w[0] + H) & M) - H
        uy = ((w[1] + H) & M) - H
        cw = _ONE + (((w[2] + H) & M) - H)
        if cw < 1024:  # upside down: half-way vector undefined, turn 180 deg about x
            w[4] = 0
            w[5] = _ONE
            w[6] = 0
        else:
            w[4] = cw  # (1 + uz, uy, -ux, 0) / norm rotates u onto z
            w[5] = uy
            w[6] = 0 - ux
        w[7] = 0
        normalize(wo, 4, 4)
        qmul(wo, 4, so, _QA, so, _QA)
        renorm4(so, _QA)
        qmul(so, _QA, so, _QG, self.q, 0)
        if n < c[_RESTN]:
            self._motion_bias(a2)

    @micropython.viper
    def _motion_bias(self, a2: int):
        """Bias that explains this step's inclination correction (w[5], w[6]), if the
        specific force's magnitude is close to the filtered one (no strong acceleration)."""
        s = ptr32(self._s)
        c = ptr32(self._c)
        w = ptr32(self._w)
        q = ptr32(self.q)
        wo = self._w
        H = _ONE
        H = H << 2
        M = H + H - 1
        d = a2
        i = 0
        while i < 3:
            lp = ((s[_LP + i] + H) & M) - H
            d -= int(mul29(lp, lp))
            i += 1
        if d < 0:
            d = 0 - d
        if d >= c[_GATE2]:
            return
        lim = 262144  # 2**18 in Q29: at most 4.9e-4 rad of correction per sample counts
        i = 0
        while i < 2:
            e = (((w[5 + i] + H) & M) - H) << 1  # rotation angle about earth x, y
            if e > lim:
                e = lim
            if e < 0 - lim:
                e = 0 - lim
            w[i] = e
            i += 1
        w[2] = 0
        w[8] = q[0]  # conjugate of q: earth -> sensor
        i = 1
        while i < 4:
            w[8 + i] = 0 - (((q[i] + H) & M) - H)
            i += 1
        rotate(wo, 8, wo, 0, wo, 0)
        sh = c[_SBM]
        i = 0
        while i < 3:
            f = (((s[_BF + i] + H) & M) - H) - (((w[i] + H) & M) - H) * c[_KBM]
            carry = f >> sh
            s[_BF + i] = f - (carry << sh)
            s[_BI + i] = (((s[_BI + i] + H) & M) - H) + carry
            i += 1

    def at_rest(self):
        return self._s[_REST] >= self._c[_RESTN]

    def bias_dps(self):
        """Gyro bias estimate (deg/s, sensor axes); not for the per-sample path."""
        k = self.gyr_dps_per_lsb / 4096.0
        s = self._s
        return (s[_BI] * k, s[_BI + 1] * k, s[_BI + 2] * k)

    def set_bias_dps(self, bx, by, bz):
        k = 4096.0 / self.gyr_dps_per_lsb
        s = self._s
        s[_BI] = int(bx * k)
        s[_BI + 1] = int(by * k)
        s[_BI + 2] = int(bz * k)

    def save_bias(self, path):
        """Write the bias as JSON (versioned, in deg/s: independent of the gyro range)."""
        import json

        with open(path, "w") as f:
            json.dump(
                {
                    "kind": "hipsense-gyro-bias",
                    "version": _BIAS_FILE_VERSION,
                    "gyr_bias_dps": list(self.bias_dps()),
                },
                f,
            )

    def load_bias(self, path):
        """Load a saved bias; a missing or corrupt file is ignored (see ``status``)."""
        import json

        try:
            with open(path) as f:
                d = json.load(f)
            b = d["gyr_bias_dps"]
            if d.get("kind") != "hipsense-gyro-bias" or d.get("version") != _BIAS_FILE_VERSION:
                raise ValueError("unknown kind/version")
            if len(b) != 3 or max(abs(float(x)) for x in b) > REST_BIAS_MAX_DPS * 5:
                raise ValueError("implausible bias")
            self.set_bias_dps(float(b[0]), float(b[1]), float(b[2]))
        except OSError:
            self.status = "bias file missing: starting from zero bias"
            return False
        except (ValueError, KeyError, TypeError, IndexError, AttributeError) as e:
            self.status = "bias file %s ignored: %s" % (path, e)
            return False
        self.status = "bias loaded"
        return True

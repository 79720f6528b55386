"""Run the board's fixed-point fusion and angle code on the host, with int32 range checks.

The firmware's integer algorithm (``firmware/fusion.py``, ``firmware/pelvis.py``) is written
in MicroPython's viper dialect, whose arithmetic on ints is plain integer arithmetic. This
module executes that very source under CPython with a small shim (``ptr8/16/32`` are the
arrays themselves, ``@viper`` is a checking wrapper), so the host twin is bit-identical to
the board by construction, and it checks what the unix port cannot:

- every store into an ``array('i')``/``array('h')`` fits the element type (CPython's array
  raises ``OverflowError`` otherwise), i.e. the state stays within int32;
- with ``checked=True`` every value passed into or returned from a viper function is below
  2**30 in magnitude (a small int on the ESP32, so no heap allocation there), and every
  ``mul29`` operand is within its documented domain, so its partial products fit int32.

The float64 reference of the same algorithm is :mod:`hipsense.motion.orientation`.
"""

from __future__ import annotations

import sys
import types
from array import array
from collections.abc import Callable
from functools import wraps
from typing import Any

import numpy as np
import numpy.typing as npt

from hipsense import paths
from hipsense.errors import HipsenseError

SMALL_INT_LIMIT = 1 << 30  # ESP32 MicroPython small ints are 31-bit signed
Q29 = 1 << 29
MUL29_LIMIT = Q29 + (1 << 14)


class FixedPointRangeError(HipsenseError):
    """A fixed-point value left its proven range (would overflow or allocate on the ESP32)."""


def _identity(x: Any) -> Any:
    return x


def _checking_viper(fn: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(fn)
    def run(*args: Any) -> Any:
        for a in args:
            if isinstance(a, int) and not -SMALL_INT_LIMIT <= a < SMALL_INT_LIMIT:
                raise FixedPointRangeError(f"{fn.__name__}: argument {a} is not an ESP32 small int")
        r = fn(*args)
        if isinstance(r, int) and not -SMALL_INT_LIMIT <= r < SMALL_INT_LIMIT:
            raise FixedPointRangeError(f"{fn.__name__}: result {r} is not an ESP32 small int")
        return r

    return run


def _shim(checked: bool) -> types.ModuleType:
    mp = types.ModuleType("micropython")
    deco = _checking_viper if checked else _identity
    mp.__dict__.update(const=_identity, viper=deco, native=_identity)
    return mp


def load_firmware(name: str, *, checked: bool = True) -> types.ModuleType:
    """Import ``firmware/<name>.py`` under CPython (fresh module, own copy of its deps)."""
    saved = {k: sys.modules.get(k) for k in ("micropython", "fusion")}
    sys.modules["micropython"] = _shim(checked)
    try:
        if name != "fusion":
            sys.modules["fusion"] = load_firmware("fusion", checked=checked)
            sys.modules["micropython"] = _shim(checked)
        mod = types.ModuleType(f"hipsense_firmware_{name}")
        mod.__dict__.update(ptr8=_identity, ptr16=_identity, ptr32=_identity)
        path = paths.firmware_dir() / f"{name}.py"
        exec(compile(path.read_text(), str(path), "exec"), mod.__dict__)
    finally:
        for k, v in saved.items():
            if v is None:
                sys.modules.pop(k, None)
            else:
                sys.modules[k] = v
    if checked and "mul29" in mod.__dict__:
        mod.__dict__["mul29"] = _checked_mul29(mod.__dict__["mul29"])
    return mod


def _checked_mul29(mul29: Callable[[int, int], int]) -> Callable[[int, int], int]:
    @wraps(mul29)
    def run(a: int, b: int) -> int:
        if abs(a) > MUL29_LIMIT or abs(b) > MUL29_LIMIT:
            raise FixedPointRangeError(f"mul29({a}, {b}): operand beyond 2**29 + 2**14")
        return mul29(a, b)

    return run


def estimate_fixed(
    acc_raw: npt.ArrayLike,
    gyr_raw: npt.ArrayLike,
    rate_hz: float,
    acc_mps2_per_lsb: float,
    gyr_dps_per_lsb: float,
    *,
    checked: bool = False,
) -> npt.NDArray[np.float64]:
    """The board's orientation (w, x, y, z, sensor -> earth) for raw int16 IMU counts.

    Feeds the samples through ``firmware/fusion.py`` exactly as the board does
    (``Fusion.update(buf, offset)`` on 12-byte little-endian frames). ``checked`` adds the
    small-int and operand-range checks (about 3x slower).
    """
    acc = np.asarray(acc_raw)
    gyr = np.asarray(gyr_raw)
    if acc.ndim != 2 or acc.shape[1] != 3 or gyr.shape != acc.shape:
        raise HipsenseError(
            f"acc_raw and gyr_raw must both be (N, 3); got {acc.shape} and {gyr.shape}"
        )
    fusion = load_firmware("fusion", checked=checked)
    f = fusion.Fusion()
    f.configure(rate_hz, acc_mps2_per_lsb, gyr_dps_per_lsb)
    raw = np.concatenate([acc, gyr], axis=1).astype("<i2")
    n = raw.shape[0]
    frames = raw.tobytes()
    out = np.empty((n, 4))
    q: array[int] = f.q
    update = f.update
    for i in range(n):
        update(frames, 12 * i)
        out[i] = q
    return out / Q29

"""Boot-time memory plan: the ring sized from the heap really free (docs/firmware.md).

The board profile's ``memory`` (hardware/boards/*.json) says what the build has: PSRAM, the
ring's minimum length at 100 Hz raw (10 s without PSRAM, 30 s with). ``make_ring`` runs
after ``ble.active(True)`` (NimBLE takes its ESP-IDF memory first) and after the imports, when
the heap holds the code and little else: it allocates the largest ring that leaves
``RESERVE_BYTES`` for the links and the state built after it, capped at ``MAX_S`` seconds.
"""

import gc
import sys

from micropython import const

_RAW_SAMPLE_BYTES = const(18)  # one sample with raw content in the ring (docs/link.md)
_BUDGET_RATE_HZ = const(100)
# Heap the firmware allocates after the ring (BLE link, app state, per-second garbage), with
# a margin; measured by benchmarks/board_memory.py on the ESP32-like port (docs/firmware.md).
RESERVE_BYTES = const(20000)
_MAX_S_NO_PSRAM = const(30)  # more would starve the heap of a board without PSRAM
_MAX_S_PSRAM = const(120)
_STEP_BYTES = const(1800)  # shrink by 1 s of raw samples while one block is not free
free_before_ring = -1  # gc.mem_free() when make_ring ran (benchmarks/board_memory.py)
_DEFAULT_MIN_S = const(10)
_PROBE_BYTES = const(2048)  # the largest single allocation after the ring (link buffers)


def _uint(f):
    """One variable-length unsigned int of the .mpy format (7 bits a byte, high bit: more)."""
    n = 0
    while True:
        b = f.read(1)[0]
        n = (n << 7) | (b & 0x7F)
        if not b & 0x80:
            return n


def intern_names(path):
    """Intern now the names the ``.mpy`` at ``path`` brings (its qstr table and its path).

    Code loaded on demand into the ring's lent memory (setup_cmds, mounting) interns its names
    for good at its first load, and those few hundred bytes would then stay inside the ring's
    block, which would come back in pieces. Interned at boot, before the ring, a later load
    adds no names. A missing, unknown or damaged file (a source checkout) is skipped.
    """
    try:
        with open(path, "rb") as f:
            head = f.read(4)  # b"M", format version, flags, small-int bits
            if len(head) < 4 or head[0] != 0x4D or head[1] != 6:
                return
            getattr(None, path, None)  # the module's __file__
            n = _uint(f)
            _uint(f)  # the number of constant objects
            for _ in range(n):
                v = _uint(f)
                if not v & 1:  # a static qstr is an index into the firmware's own table
                    getattr(None, f.read((v >> 1) + 1)[:-1].decode(), None)  # interns it
    except (OSError, MemoryError, IndexError, ValueError):
        pass  # no or a damaged file, or no room now: the first load interns them


def ring_limits(profile):
    """(minimum, maximum) ring bytes for the board ``profile`` (a dict)."""
    mem = profile.get("memory") if isinstance(profile, dict) else None
    mem = mem if isinstance(mem, dict) else {}
    psram = mem.get("psram_kb", 0) or 0
    min_s = mem.get("ring_min_s", _DEFAULT_MIN_S)
    max_s = _MAX_S_PSRAM if psram > 0 else _MAX_S_NO_PSRAM
    if max_s < min_s:
        max_s = min_s
    per_s = _BUDGET_RATE_HZ * _RAW_SAMPLE_BYTES
    return min_s * per_s, max_s * per_s


def ring_seconds(nbytes):
    """Seconds of 100 Hz raw samples ``nbytes`` of ring hold (float)."""
    return nbytes / (_BUDGET_RATE_HZ * _RAW_SAMPLE_BYTES)


def make_ring(profile, ring_class):
    """``(ring, error)``: the largest ring that fits (``ring_class(nbytes)``), and None or the
    reason the board is below its budget (the ring is then smaller than the minimum)."""
    global free_before_ring
    low, high = ring_limits(profile)
    gc.collect()
    free_before_ring = gc.mem_free()
    # objects take twice the bytes on a 64-bit port (the unix port of the virtual board)
    reserve = RESERVE_BYTES * 2 if sys.maxsize > 0x7FFFFFFF else RESERVE_BYTES
    want = gc.mem_free() - reserve
    want = high if want > high else want
    want -= want % _RAW_SAMPLE_BYTES
    floor = 20 * _RAW_SAMPLE_BYTES
    while want >= floor:
        try:
            ring = ring_class(want)
            probe = bytearray(_PROBE_BYTES)  # what comes after needs blocks this large
            del probe
        except MemoryError:  # free, but not in one block
            ring = None
            gc.collect()
            want -= _STEP_BYTES
            continue
        if want >= low:
            return ring, None
        return ring, "memory budget: ring holds %d s at 100 Hz raw, the board needs %d s" % (
            int(ring_seconds(want)),
            int(ring_seconds(low)),
        )
    return ring_class(floor), "memory budget: no room for a ring (%d bytes free)" % gc.mem_free()

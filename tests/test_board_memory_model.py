"""The name-pool model of ``benchmarks/board_memory.py`` (docs/benchmarks.md "Board memory").

The benchmark charges the firmware for the pools of its interned names as a board would: the
model of the pools is checked here against the 32-bit ESP32-like port itself, and the heap
correction is checked never to charge the firmware less than a board at any name count.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from hipsense.virtual.runner import run_micropython
from hypothesis import given
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[1]


def _board_memory() -> ModuleType:
    path = ROOT / "benchmarks" / "board_memory.py"
    spec = importlib.util.spec_from_file_location("board_memory", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("board_memory", module)
    spec.loader.exec_module(module)
    return module


BM = _board_memory()

INTERN = """
import micropython
micropython.qstr_info()
n = 0
for target in (5, 60, 200, 700, 1300):
    while n < target:
        getattr(None, "name%d" % n, None)  # interns the name
        n += 1
    micropython.qstr_info()
"""


def test_the_pool_model_is_the_ports_own_count(esp32like_exe: Path) -> None:
    out = run_micropython(INTERN, executable=esp32like_exe, heapsize="512K").stdout
    counts = BM.parse_qstr_info(out)
    assert len(counts) == 6 and counts[-1][0] >= 1300, out
    for names, pool_bytes in counts:
        assert pool_bytes == BM.qstr_pool_bytes(names), (names, pool_bytes)


@given(st.integers(0, 3000), st.integers(0, 1500), st.data())
def test_the_correction_never_charges_the_firmware_less_than_a_board(
    sim: int, firmware: int, data: st.DataObject
) -> None:
    correction = BM.qstr_correction(sim, firmware)
    q = data.draw(st.integers(0, firmware))
    pools = BM.qstr_pool_bytes
    charged_here = pools(sim + q) - pools(sim) - correction  # heap the firmware loses here
    assert charged_here >= pools(q)


def test_the_correction_is_exact_when_the_names_share_the_boards_pools() -> None:
    # the simulation's 590 names and the firmware's 666 fit the first six pools (1260 names),
    # as the firmware's 666 alone do on a board: the charge is the board's, byte for byte
    pools = BM.qstr_pool_bytes
    correction = BM.qstr_correction(590, 666)
    assert correction == -pools(590)
    assert pools(590 + 666) - pools(590) - correction == pools(666)

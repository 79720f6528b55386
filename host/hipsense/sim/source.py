"""Live sample-source files for the simulated chips of the virtual board.

Binary, little-endian: magic ``b"HSIM"``, u16 version (1), u16 flags (bit 0: loop at the end),
f32 rate_hz, u32 n_samples, then n_samples records of 6 × f32: acc_x, acc_y, acc_z [m/s²],
gyr_x, gyr_y, gyr_z [deg/s] in the chip's own axes, with the chip's noise, bias and scale error
but without clipping or quantisation (the simulated chip's register model does those).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from hipsense.conventions.words import counted
from hipsense.sim.errors import SimError

MAGIC = b"HSIM"
VERSION = 1
FLAG_LOOP = 0x0001
HEADER = struct.Struct("<4sHHfI")
RECORD_DTYPE = np.dtype("<f4")


@dataclass(frozen=True)
class SourceFile:
    rate_hz: float
    loop: bool
    acc_mps2: NDArray[np.float32]  # (N, 3)
    gyr_dps: NDArray[np.float32]  # (N, 3)


def encode_source(
    acc_mps2: NDArray[np.floating],
    gyr_dps: NDArray[np.floating],
    rate_hz: float,
    loop: bool = False,
) -> bytes:
    """The bytes of a sample-source file."""
    acc = np.asarray(acc_mps2, dtype=float)
    gyr = np.asarray(gyr_dps, dtype=float)
    if acc.ndim != 2 or acc.shape[1] != 3 or gyr.shape != acc.shape:
        raise SimError(f"acc and gyr must both be (N, 3) arrays; got {acc.shape} and {gyr.shape}")
    if not rate_hz > 0:
        raise SimError(f"rate must be positive, got {rate_hz} Hz")
    body = np.hstack([acc, gyr]).astype(RECORD_DTYPE)
    header = HEADER.pack(MAGIC, VERSION, FLAG_LOOP if loop else 0, rate_hz, acc.shape[0])
    return header + body.tobytes()


def write_source_file(
    path: str | Path,
    acc_mps2: NDArray[np.floating],
    gyr_dps: NDArray[np.floating],
    rate_hz: float,
    loop: bool = False,
) -> Path:
    """Write a sample-source file; returns the path."""
    out = Path(path)
    out.write_bytes(encode_source(acc_mps2, gyr_dps, rate_hz, loop))
    return out


def decode_source(data: bytes) -> SourceFile:
    """Parse sample-source bytes (checks magic, version and length)."""
    if len(data) < HEADER.size:
        raise SimError(
            f"sample-source file too short for its header ({counted(len(data), 'byte')})"
        )
    magic, version, flags, rate_hz, n = HEADER.unpack_from(data)
    if magic != MAGIC:
        raise SimError(f"not a sample-source file (magic {magic!r}, expected {MAGIC!r})")
    if version != VERSION:
        raise SimError(f"sample-source version {version} not supported (this reads {VERSION})")
    expected = HEADER.size + n * 6 * RECORD_DTYPE.itemsize
    if len(data) != expected:
        raise SimError(
            f"sample-source file holds {counted(len(data), 'byte')}, its header says {expected}"
        )
    body = np.frombuffer(data, dtype=RECORD_DTYPE, offset=HEADER.size).reshape(n, 6)
    return SourceFile(
        float(rate_hz), bool(flags & FLAG_LOOP), body[:, :3].copy(), body[:, 3:].copy()
    )


def read_source_file(path: str | Path) -> SourceFile:
    return decode_source(Path(path).read_bytes())

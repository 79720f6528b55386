"""Shared fixtures: run firmware under the MicroPython unix port, locate shared data."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pytest
from hipsense import paths
from hipsense.link.protocol import (
    FLAG_RESENT,
    Command,
    ConfigFrame,
    ImuChip,
    ReplyFrame,
    Result,
    SamplesFrame,
    encode_frame,
)
from hipsense.virtual.runner import (
    MicroPythonFailed,
    esp32like_executable,
    micropython_executable,
    run_micropython,
)

RunMpy = Callable[..., str]
MPY_SUPPORT_DIR = Path(__file__).parent / "mpy_support"  # heapcheck.alloc_error
INTERPRETERS = ("unix", "esp32like")
LONGEST_FILES = (
    "test_stream_faults.py",
    "test_chunked_readers.py",
    "test_hostile_inputs.py",
    "test_clinic_cli.py",
    "test_session_cli.py",
    "test_clinical_population.py",
    "test_orientation.py",
    "test_balance_cli.py",
    "test_lazy_analysis.py",
    "test_stream_virtual.py",
    "test_api.py",
    "test_link_e2e.py",
    "test_walk_chunked.py",
    "test_bridge_cli.py",
    "test_gait_walk_virtual.py",
    "test_gait_real.py",
    "test_exercise.py",
)
"""The test files that take longest (about 25 s to 150 s each; pytest --durations, 2026-12-07),
longest first."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """On pytest-xdist's workers (``make test``: ``--dist loadfile --no-loadscope-reorder``
    hands out whole files in collection order), the longest files come first, so that none
    starts last while the other worker has nothing left to run. Each file keeps its tests'
    order; a serial ``pytest`` keeps the plain collection order."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return
    rank = {name: k for k, name in enumerate(LONGEST_FILES)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable


@pytest.fixture(scope="session", params=INTERPRETERS)
def mpy_exe(request: pytest.FixtureRequest) -> Path:
    """Each MicroPython the firmware must run on: the 64-bit unix port (double floats,
    62-bit small ints) and ``../shared/tools/micropython-esp32like`` (32-bit, float32, 31-bit
    small ints: the ESP32's widths). Skips the second when it is absent."""
    if request.param == "unix":
        return micropython_executable()
    return request.getfixturevalue("esp32like_exe")


@pytest.fixture(scope="session")
def esp32like_exe() -> Path:
    """``../shared/tools/micropython-esp32like``; skips when it is absent (CI has it)."""
    exe = esp32like_executable()
    if exe is None:
        pytest.skip(
            "micropython-esp32like not found at ../shared/tools (see /work/shared/tools/README)"
        )
    return exe


@pytest.fixture
def mpy(mpy_exe: Path, tmp_path: Path) -> RunMpy:
    """Run MicroPython code with the simulated modules and the firmware on the path, once per
    interpreter of ``mpy_exe``.

    ``mpy(code, path=None, heapsize="120K")`` returns stdout; a MicroPython exception fails
    the test with the MicroPython traceback. ``path`` overrides the module path (default:
    simulated modules first, then the firmware); ``tests/mpy_support`` (``heapcheck``) is
    always last. It runs in ``cwd``, by default the test's temporary folder (the firmware
    writes its flash files, e.g. the bond store, into its working directory).
    """

    def run(
        code: str,
        *,
        path: Sequence[Path | str] | None = None,
        heapsize: str | None = "120K",
        timeout_s: float = 120.0,
        cwd: Path | str | None = None,
    ) -> str:
        module_path = [paths.mpy_sim_dir(), paths.firmware_dir()] if path is None else path
        module_path = [*module_path, MPY_SUPPORT_DIR]
        try:
            return run_micropython(
                code,
                path=module_path,
                heapsize=heapsize,
                timeout_s=timeout_s,
                cwd=tmp_path if cwd is None else cwd,
                executable=mpy_exe,
            ).stdout
        except MicroPythonFailed as exc:
            pytest.fail(str(exc), pytrace=False)

    return run


@pytest.fixture(scope="session")
def shared_benchmarks() -> Path:
    """``../shared/benchmarks``; tests that need it skip with the reason when it is absent."""
    root = paths.shared_dir() / "benchmarks"
    if not root.is_dir():
        pytest.skip(f"public benchmark data not found at {root} (see docs/validation.md)")
    return root


@pytest.fixture
def heldout_gait() -> Path:
    """Held-out real walking (mobgap's MS_001, converted by ``make heldout``); skips if absent."""
    root = Path(
        os.environ.get("HIPSENSE_GAIT_HELDOUT", Path.home() / ".cache/hipsense/gait-heldout")
    )
    if not any(root.glob("*/*_imu.csv")):
        pytest.skip(f"held-out walking data not found at {root}: run `make heldout`")
    return root


class CapturedWriter:
    """Stands in for a virtual board's ``asyncio.StreamWriter`` (``VirtualBoard(writer)``):
    keeps every message the radio writes to the board, in ``sent``."""

    def __init__(self) -> None:
        self.sent: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.sent.append(data)


# ---- frames of a scripted board (the session and stream tests) ---------------------------
MASK = (1 << 30) - 1
"""Sequence numbers and times on the wire are carried mod 2**30."""


def config(boot_id: int = 1) -> bytes:
    """A CONFIG frame: 100 Hz, angles only, boot ``boot_id``."""
    return encode_frame(
        ConfigFrame(
            content=0,
            imu=ImuChip(3),
            rate_hz=100,
            period_100us=100,
            acc_mps2_per_lsb=0.001,
            gyr_dps_per_lsb=0.06,
            boot_id=boot_id,
            aligned=False,
            gyro_calibrated=False,
        )
    )


def samples(seq0: int, n: int, resent: bool = False) -> bytes:
    """A SAMPLES frame of ``n`` samples from ``seq0``, each sample's angles made from its
    number (so a test can tell them apart)."""
    seq = np.arange(seq0, seq0 + n)
    angles = np.stack([seq % 30000, -(seq % 30000), seq // 30000], axis=1).astype(np.int16)
    return encode_frame(
        SamplesFrame(
            flags=FLAG_RESENT if resent else 0,
            seq=seq0 & MASK,
            t_100us=(seq0 * 100) & MASK,
            angles_cdeg=angles,
        )
    )


def reply(token: int, command: int, result: int = 0, payload: bytes = b"") -> bytes:
    """A REPLY frame to command ``token``."""
    return encode_frame(ReplyFrame(token, Command(command), Result(result), payload))

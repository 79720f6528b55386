"""Where the firmware, the simulated MicroPython modules and the board profiles live.

In a source checkout (editable install) they are the repository's folders; in a wheel they
are copied into the package (see ``[tool.hatch.build.targets.wheel.force-include]``).
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent
_REPO_DIR = _PACKAGE_DIR.parent.parent


def _first_existing(*candidates: Path) -> Path:
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    listed = ", ".join(map(str, candidates))
    raise FileNotFoundError(f"hipsense installation is incomplete: none of {listed} exists")


def firmware_dir() -> Path:
    """The MicroPython firmware sources (what goes onto the board)."""
    return _first_existing(_PACKAGE_DIR / "_firmware", _REPO_DIR / "firmware")


def boards_dir() -> Path:
    """Machine-readable board profiles (``<name>.json``), see hardware/README.md."""
    return _first_existing(_PACKAGE_DIR / "_boards", _REPO_DIR / "hardware" / "boards")


def mpy_sim_dir() -> Path:
    """Simulated ``machine``/``bluetooth`` modules that replace the built-ins on the unix port."""
    return _PACKAGE_DIR / "virtual" / "mpy"


def shared_dir() -> Path:
    """The team's shared folder beside the checkout (benchmark data); may be absent."""
    return _REPO_DIR.parent / "shared"

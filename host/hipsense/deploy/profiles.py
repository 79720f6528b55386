"""Board profiles (``hardware/boards/<name>.json``) and which chip each one is for."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from hipsense import paths
from hipsense.deploy.errors import DeployError, WrongChip

_NOT_PROFILES = {"schema"}


def profile_names(boards_dir: Path | None = None) -> list[str]:
    folder = boards_dir or paths.boards_dir()
    return sorted(p.stem for p in folder.glob("*.json") if p.stem not in _NOT_PROFILES)


def load_profile(name: str, boards_dir: Path | None = None) -> tuple[dict[str, Any], bytes]:
    """The parsed profile and its exact bytes (what goes onto the board as board.json)."""
    folder = boards_dir or paths.boards_dir()
    path = folder / f"{name}.json"
    if name in _NOT_PROFILES or not path.is_file():
        raise DeployError(
            f"unknown board profile {name!r}; choose one of: {', '.join(profile_names(folder))}"
        )
    data = path.read_bytes()
    return json.loads(data), data


def chip_from_machine(machine: str) -> str | None:
    """``"esp32s3"`` from MicroPython's ``_machine`` (``"... module with ESP32S3"``)."""
    match = re.search(r"with (ESP32[A-Z0-9]*)", machine, re.IGNORECASE)
    return match.group(1).lower() if match else None


def check_profile_chip(profile: dict[str, Any], chip: str | None) -> None:
    """A profile written for another MCU would drive the wrong pins: refuse it."""
    mcu = profile.get("mcu")
    if chip is not None and mcu is not None and mcu != chip:
        raise WrongChip(
            f"board profile {profile.get('name')!r} is for an {str(mcu).upper()} but the board "
            f"is an {chip.upper()}: choose a profile for {chip} ({_for_chip(chip)})"
        )


def _for_chip(chip: str) -> str:
    names = []
    for name in profile_names():
        profile, _ = load_profile(name)
        if profile.get("mcu") == chip:
            names.append(name)
    return ", ".join(names) or "none yet: write one in hardware/boards/"

"""``hipsense board``: read what a board runs, its log and settings; change the settings.

All through the raw REPL (the running application is interrupted by the soft reset that
enters it). Settings live in two files at the board's root: ``board.json`` (the board
profile, a copy of ``hardware/boards/<name>.json``) and ``hs_config.json``
(``{"schema": 1, "name": str, "rate_hz": int}``, both keys optional), which the
application reads at start. Both are replaced with an atomic rename.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from hipsense.deploy.errors import DeployError
from hipsense.deploy.link import BoardLink
from hipsense.deploy.verify import READ_RUNNING_SNIPPET

CONFIG_FILE = "hs_config.json"
BIAS_FILE = "hs_bias.json"  # gyro bias (firmware/fusion.py)
MOUNTING_FILE = "hs_mount.json"  # mounting alignment (firmware/app.py)
PROFILE_FILE = "board.json"
LOG_FILES = ("hs_log.1.txt", "hs_log.txt")
CONFIG_SCHEMA = 1
RATES_HZ = (100, 200, 400)
"""Output data rates the firmware supports (docs/protocol.md, SET_RATE)."""
_NAME_RE = re.compile(r"[A-Za-z0-9_-]{1,20}")

# Runs on the board after READ_RUNNING_SNIPPET; prints a dict literal.
_INFO_SNIPPET = """
import sys, json
def _hs_json(p):
    try:
        with open(p) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None
def _hs_info():
    r = _hs_running()
    r['micropython'] = '.'.join(str(x) for x in sys.implementation.version[:3])
    r['machine'] = getattr(sys.implementation, '_machine', sys.platform)
    prof = _hs_json('board.json')
    r['profile'] = prof.get('name') if isinstance(prof, dict) else None
    r['config'] = _hs_json('hs_config.json')
    r['calibration'] = {'gyro_bias': _hs_json('hs_bias.json'),
                        'mounting': _hs_json('hs_mount.json')}
    r['battery_mv'] = -1
    r['battery_pct'] = -1
    try:
        import board
        b = board.open_board()
        if b.has_battery:
            r['battery_mv'] = b.battery_mv()
            r['battery_pct'] = b.battery_pct(r['battery_mv'])
    except Exception:
        pass
    return r
"""


@dataclass(frozen=True)
class BoardInfo:
    machine: str
    micropython: str
    firmware: str | None
    slot: str | None
    trial: tuple[str, int] | None
    profile: str | None
    imu: str | None
    battery_mv: int
    battery_pct: int
    config: dict[str, Any] | None
    calibration: dict[str, Any] | None

    def rows(self) -> list[tuple[str, str]]:
        """Label/value pairs for display."""
        battery = (
            f"{self.battery_mv} mV ({self.battery_pct} %)" if self.battery_mv >= 0 else "no sensing"
        )
        trial = f" (on trial, {self.trial[1]} starts)" if self.trial else ""
        config = self.config or {}
        rate = f"{config['rate_hz']} Hz" if "rate_hz" in config else "firmware default"
        return [
            ("chip", self.machine),
            ("MicroPython", self.micropython),
            ("firmware", f"{self.firmware or 'not installed'}{trial}"),
            ("slot", self.slot or "none"),
            ("board profile", self.profile or "none (board.json missing)"),
            ("IMU", self.imu or "unknown"),
            ("battery", battery),
            ("name", str(config.get("name", "default (hipsense-XXXX)"))),
            ("rate", rate),
            ("calibration", _calibration_text(self.calibration)),
        ]


def _calibration_text(calibration: dict[str, Any] | None) -> str:
    stored = [name.replace("_", " ") for name, value in (calibration or {}).items() if value]
    return ", ".join(stored) + " stored" if stored else "none (run a calibration)"


def read_info(link: BoardLink) -> BoardInfo:
    link.exec(READ_RUNNING_SNIPPET + _INFO_SNIPPET)
    r = link.eval("_hs_info()", timeout_s=30.0)
    trial = r.get("trial")
    return BoardInfo(
        machine=str(r["machine"]),
        micropython=str(r["micropython"]),
        firmware=r.get("fw"),
        slot=r.get("slot"),
        trial=(str(trial[0]), int(trial[1])) if trial else None,
        profile=r.get("profile"),
        imu=r.get("imu"),
        battery_mv=int(r.get("battery_mv", -1)),
        battery_pct=int(r.get("battery_pct", -1)),
        config=r.get("config"),
        calibration=r.get("calibration"),
    )


def read_logs(link: BoardLink) -> str:
    """The firmware's log, oldest line first (the rotated file, then the current one)."""
    parts = [link.read_text(name) for name in LOG_FILES]
    text = "".join(p for p in parts if p)
    return text


def read_config(link: BoardLink) -> dict[str, Any]:
    """``hs_config.json`` as a dict (empty when absent) plus ``"profile"`` from board.json."""
    raw = link.read_text(CONFIG_FILE)
    config: dict[str, Any] = _parse_json(raw, CONFIG_FILE) if raw else {}
    profile_raw = link.read_text(PROFILE_FILE)
    profile = _parse_json(profile_raw, PROFILE_FILE) if profile_raw else None
    config["profile"] = profile.get("name") if isinstance(profile, dict) else None
    return config


def _parse_json(text: str, name: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise DeployError(f"{name} on the board is not valid JSON ({exc}); set it again") from exc
    if not isinstance(value, dict):
        raise DeployError(f"{name} on the board is not a JSON object; set it again")
    return value


def validate_settings(name: str | None, rate_hz: int | None) -> None:
    if name is not None and not _NAME_RE.fullmatch(name):
        raise DeployError(
            f"name {name!r}: use 1-20 letters, digits, '-' or '_' (it is advertised over BLE)"
        )
    if rate_hz is not None and rate_hz not in RATES_HZ:
        raise DeployError(f"rate {rate_hz} Hz: choose one of {', '.join(map(str, RATES_HZ))} Hz")


def write_text_atomic(link: BoardLink, name: str, text: str) -> None:
    link.write_file(name + ".tmp", text.encode())
    link.exec(f"import os\nos.rename({name + '.tmp'!r}, {name!r})")


def write_config(
    link: BoardLink,
    *,
    name: str | None = None,
    rate_hz: int | None = None,
    profile_json: bytes | None = None,
) -> dict[str, Any]:
    """Change the given settings, keep the others; returns the new settings."""
    validate_settings(name, rate_hz)
    current = read_config(link)
    current.pop("profile", None)
    if name is not None or rate_hz is not None:
        current["schema"] = CONFIG_SCHEMA
        if name is not None:
            current["name"] = name
        if rate_hz is not None:
            current["rate_hz"] = rate_hz
        write_text_atomic(link, CONFIG_FILE, json.dumps(current, sort_keys=True) + "\n")
    if profile_json is not None:
        write_text_atomic(link, PROFILE_FILE, profile_json.decode())
    return read_config(link)


def reset(link: BoardLink, *, hard: bool = True) -> None:
    """Restart the board: ``machine.reset()`` (hard) or a soft reset that runs main.py."""
    if hard:
        link.exec_no_wait("import machine\nmachine.reset()")
    else:
        link.soft_reset_and_run(0.0)

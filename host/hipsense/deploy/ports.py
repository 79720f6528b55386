"""Find the board's serial port and explain why it cannot be opened."""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Sequence
from dataclasses import dataclass

from hipsense.deploy.errors import PortNotFound, PortPermissionDenied

# USB-UART bridges on ESP32 boards, and the ESP32-S3's own USB (vid, pid) -> name.
KNOWN_USB_IDS: dict[tuple[int, int], str] = {
    (0x10C4, 0xEA60): "CP210x",
    (0x1A86, 0x7523): "CH340",
    (0x1A86, 0x55D4): "CH9102",
    (0x0403, 0x6001): "FTDI FT232R",
    (0x0403, 0x6015): "FTDI FT231X",
    (0x303A, 0x1001): "ESP32-S3 USB",
    (0x303A, 0x4001): "ESP32-S3 USB (MicroPython)",
}


@dataclass(frozen=True)
class PortCandidate:
    device: str
    description: str
    vid: int | None
    pid: int | None

    @property
    def bridge(self) -> str | None:
        if self.vid is None or self.pid is None:
            return None
        return KNOWN_USB_IDS.get((self.vid, self.pid))

    def label(self) -> str:
        ids = f"{self.vid:04X}:{self.pid:04X}" if self.vid is not None and self.pid else "no USB id"
        return f"{self.device} ({self.description}, {ids})"


def list_candidates() -> list[PortCandidate]:
    """Every serial port pyserial sees."""
    from serial.tools import list_ports

    return [
        PortCandidate(p.device, p.description or "?", p.vid, p.pid) for p in list_ports.comports()
    ]


def choose_port(candidates: Sequence[PortCandidate]) -> str:
    """The one port with a known ESP32 USB id; otherwise an error listing what was seen."""
    known = [c for c in candidates if c.bridge is not None]
    if len(known) == 1:
        return known[0].device
    listing = "\n".join("  " + c.label() for c in candidates) or "  (none)"
    if not known:
        raise PortNotFound(
            "no ESP32 board found on USB. Plug it in with a data cable (not a charge-only "
            "one) and check that its USB-serial driver (CP210x, CH340/CH9102) is installed. "
            f"Serial ports seen:\n{listing}\nOr pass --port PORT."
        )
    raise PortNotFound(f"several boards found; choose one with --port:\n{listing}")


def _device_group(port: str) -> str | None:
    try:
        import grp

        return grp.getgrgid(os.stat(port).st_gid).gr_name
    except (ImportError, KeyError, OSError):
        return None


def permission_hint(port: str) -> str:
    """How to get access to ``port`` on this system."""
    group = _device_group(port)
    if group is None or group == "root":
        group = "uucp" if os.path.exists("/etc/arch-release") else "dialout"
    return (
        f"permission denied on {port}: add yourself to the '{group}' group "
        f"(sudo usermod -aG {group} $USER), then log out and in again"
    )


def check_port_access(port: str) -> None:
    """Fail early with an actionable message when ``port`` is missing or not ours to open."""
    if sys.platform == "win32" or "://" in port:
        return
    try:
        mode = os.stat(port).st_mode
    except FileNotFoundError:
        names = ", ".join(c.device for c in list_candidates()) or "none"
        raise PortNotFound(
            f"{port} does not exist (unplugged?). Serial ports seen: {names}"
        ) from None
    if not stat.S_ISCHR(mode):
        raise PortNotFound(f"{port} is not a serial device")
    # os.access, not open(): opening and closing toggles DTR/RTS, which resets many boards.
    if not os.access(port, os.R_OK | os.W_OK):
        raise PortPermissionDenied(permission_hint(port))

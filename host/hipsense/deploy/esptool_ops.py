"""Identify the chip and write MicroPython with esptool's Python API (esptool >= 5).

Every call names the port (esptool scanning all ports costs ~8 s per silent port), and
esptool's ``FatalError`` becomes a hipsense error that says what to do.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any, cast

from hipsense.deploy.errors import BoardNotResponding, PortNotFound, ToolMissing, WrongChip
from hipsense.deploy.image import BOARD_IDS, CheckedImage, flash_offset
from hipsense.deploy.ports import check_port_access

SUPPORTED_CHIPS = tuple(BOARD_IDS)
FLASH_BAUD = 460800
CONNECT_ATTEMPTS = 3

StepProgress = Callable[[str, int, int], None]
"""``(step, done, total)``: esptool's progress for ``"write"``."""


def _cmds() -> Any:
    try:
        import esptool.cmds
    except ImportError as exc:
        raise ToolMissing("esptool") from exc
    return esptool.cmds


def chip_id(chip_name: str) -> str:
    """esptool's ``CHIP_NAME`` (``"ESP32-S3"``) as hipsense's chip id (``"esp32s3"``)."""
    return chip_name.lower().replace("-", "")


def _connect(port: str, connect_attempts: int) -> Any:
    check_port_access(port)
    from esptool.util import FatalError

    try:
        return _cmds().detect_chip(port, connect_attempts=connect_attempts)
    except FatalError as exc:
        first_line = str(exc).strip().splitlines()[0]
        if "Could not open" in first_line:
            raise PortNotFound(
                f"{port} could not be opened ({first_line}). Check the cable and --port"
            ) from exc
        raise BoardNotResponding(
            f"no ESP32 bootloader answers on {port} ({first_line}). Hold the BOOT button, "
            "press and release EN/RESET, release BOOT, then run the command again; check "
            "that the cable carries data"
        ) from exc


def _close(esp: Any) -> None:
    with contextlib.suppress(Exception):
        esp._port.close()


def identify_chip(port: str, *, connect_attempts: int = CONNECT_ATTEMPTS) -> str:
    """The chip on ``port`` (``"esp32"``, ``"esp32s3"``, ...), read from its ROM bootloader."""
    esp = _connect(port, connect_attempts)
    try:
        return chip_id(esp.CHIP_NAME)
    finally:
        _close(esp)


def require_supported(chip: str, port: str) -> None:
    if chip not in SUPPORTED_CHIPS:
        raise WrongChip(
            f"the board on {port} is an {chip.upper()}; hipsense supports "
            f"{', '.join(c.upper() for c in SUPPORTED_CHIPS)}"
        )


@contextlib.contextmanager
def _progress_logger(progress: StepProgress | None) -> Iterator[None]:
    """Route esptool's progress bar to ``progress`` and keep its text off the console."""
    from esp_pylib.logger import EspLog
    from esptool.logger import TemplateLogger, log

    class _Logger(TemplateLogger):
        def print(self, *args: Any, **kwargs: Any) -> None:
            pass

        def note(self, message: str) -> None:
            pass

        def warning(self, message: str) -> None:
            pass

        def error(self, message: str) -> None:
            pass

        def stage(self, finish: bool = False) -> None:
            pass

        def progress_bar(
            self,
            cur_iter: int,
            total_iters: int,
            prefix: str = "",
            suffix: str = "",
            bar_length: int = 30,
        ) -> None:
            if progress:
                progress("write", cur_iter, total_iters)

        def set_verbosity(self, verbosity: str) -> None:
            pass

    previous = EspLog.instance
    cast(Any, log).set_logger(_Logger())  # the proxy's static type lacks set_logger
    try:
        yield
    finally:
        EspLog.instance = previous


def flash_micropython(
    port: str,
    image: CheckedImage,
    *,
    erase: bool = True,
    baud: int = FLASH_BAUD,
    connect_attempts: int = CONNECT_ATTEMPTS,
    progress: StepProgress | None = None,
) -> None:
    """Erase the flash and write ``image`` at the chip's bootloader offset, then reset."""
    cmds = _cmds()
    esp = _connect(port, connect_attempts)
    try:
        chip = chip_id(esp.CHIP_NAME)
        require_supported(chip, port)
        if chip != image.chip:
            raise WrongChip(
                f"the board on {port} is an {esp.CHIP_NAME} but {image.path.name} is for "
                f"{image.chip}: use the {BOARD_IDS[chip]} image"
            )
        with _progress_logger(progress):
            esp = cmds.run_stub(esp)
            if baud != esp.ESP_ROM_BAUD:
                esp.change_baud(baud)
            cmds.attach_flash(esp)
            if erase:
                if progress:
                    progress("erase", 0, 1)
                cmds.erase_flash(esp)
                if progress:
                    progress("erase", 1, 1)
            cmds.write_flash(esp, [(flash_offset(chip), str(image.path))])
            cmds.reset_chip(esp, "hard-reset")
    finally:
        _close(esp)

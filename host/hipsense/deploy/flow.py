"""``hipsense flash`` as a library call: from a bare board to verified firmware.

Steps: find the port; ask the board's MicroPython who it is; when it is absent or too old,
identify the chip with esptool, get and check an image, erase and write it; compile the
firmware for the board's bytecode version; stage, switch and verify (see ``deploy``).
The caller supplies a :class:`FlashUI` for messages and progress (rich in the CLI).
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from hipsense import paths
from hipsense.deploy import esptool_ops
from hipsense.deploy.compile import BytecodeTarget
from hipsense.deploy.deploy import (
    BoardFacts,
    DeployReport,
    build_bundle,
    deploy_firmware,
    read_facts,
)
from hipsense.deploy.errors import BoardBootLoop, BoardNotResponding, DeployError
from hipsense.deploy.image import (
    BOARD_IDS,
    DOWNLOAD_PAGE,
    FIRMWARE_BASE_URL,
    CheckedImage,
    check_image,
    default_cache_dir,
    download_image,
    flash_offset,
    image_name,
    profile_image_variant,
)
from hipsense.deploy.link import BoardLink
from hipsense.deploy.ports import check_port_access, choose_port, list_candidates
from hipsense.deploy.profiles import (
    check_profile_chip,
    chip_from_machine,
    load_profile,
    profile_names,
)

MIN_MICROPYTHON = (1, 22, 0)
"""Oldest MicroPython the firmware supports (DESIGN.md: hardware targets)."""
_REPL_AFTER_FLASH_S = 20.0


class FlashUI(Protocol):
    def step(self, text: str) -> None: ...
    def info(self, text: str) -> None: ...
    def progress(self, task: str, done: int, total: int) -> None: ...


@dataclass(frozen=True)
class FlashOptions:
    port: str | None = None
    board: str | None = None
    image: Path | None = None
    sha256: str | None = None
    force_image: bool = False
    dry_run: bool = False
    cache_dir: Path | None = None
    """Where downloaded images are kept (default: :func:`default_cache_dir`)."""
    firmware_dir: Path | None = None
    """Firmware sources to deploy (default: the installed ``firmware/``)."""
    settle_s: float = 3.0
    """How long the new firmware runs before its version is read back."""
    repl_timeout_s: float = 5.0
    """How long to wait for a MicroPython REPL before assuming there is none."""


@dataclass(frozen=True)
class FlashResult:
    port: str
    chip: str | None
    micropython: str | None
    flashed_image: str | None
    deploy: DeployReport | None


def _try_repl(port: str, timeout_s: float) -> tuple[BoardLink | None, BoardFacts | None]:
    link = BoardLink(port)
    try:
        link.enter_raw(timeout_s=timeout_s)
        return link, read_facts(link)
    except BoardNotResponding:
        link.close()
        return None, None
    except BaseException:
        link.close()
        raise


def image_needed(facts: BoardFacts | None) -> str | None:
    """Why MicroPython must be (re)installed, or None."""
    if facts is None:
        return "no MicroPython answers"
    if facts.micropython_version < MIN_MICROPYTHON:
        need = ".".join(map(str, MIN_MICROPYTHON))
        return f"MicroPython {facts.version_text} is older than {need}"
    if facts.sys_mpy is None or facts.sys_mpy & 0xFF != 6:
        return "its .mpy format is not 6.x"
    return None


def _parse_profile(data: bytes | None) -> dict[str, Any] | None:
    """The board's own board.json, kept across the erase, for its image variant."""
    try:
        parsed = json.loads(data) if data else None
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


def _obtain_image(
    chip: str, opts: FlashOptions, ui: FlashUI, variant: str | None = None
) -> CheckedImage | None:
    if opts.image is not None:
        image = check_image(opts.image, chip, expected_sha256=opts.sha256)
        ui.info(f"image {image.path.name} ok for {chip} (SHA-256 {image.sha256})")
        return image
    name = image_name(chip, variant)
    cache_dir = opts.cache_dir or default_cache_dir()
    if opts.dry_run and not (cache_dir / name).is_file():
        ui.info(f"would download {FIRMWARE_BASE_URL}{name} into {cache_dir}")
        return None
    ui.step(f"downloading {name} from {DOWNLOAD_PAGE.format(board=BOARD_IDS[chip])}")
    image = download_image(
        chip,
        cache_dir,
        file_name=name,
        expected_sha256=opts.sha256,
        progress=lambda done, total: ui.progress("download", done, total),
    )
    pin = "matches the pinned SHA-256" if image.pinned else "embedded digests ok"
    ui.info(f"{name}: {pin} (SHA-256 {image.sha256})")
    return image


def _wait_for_repl(port: str, *, rediscover: bool) -> tuple[BoardLink, BoardFacts]:
    """Connect once MicroPython runs. With ``rediscover`` (no ``--port`` given) the port is
    looked up again: a native-USB ESP32-S3 comes back under MicroPython's own USB id, and on
    some systems under another device name."""
    deadline = time.monotonic() + _REPL_AFTER_FLASH_S
    while True:
        candidate = port
        try:
            if rediscover and not os.path.exists(port):
                candidate = choose_port(list_candidates())
            link, facts = _try_repl(candidate, 3.0)
        except DeployError:
            link, facts = None, None
        if link is not None and facts is not None:
            return link, facts
        if time.monotonic() > deadline:
            raise BoardNotResponding(
                f"MicroPython was written but does not answer on {port}; press the board's "
                "RESET (EN) button and run hipsense flash again"
            )
        time.sleep(1.0)


def flash(opts: FlashOptions, ui: FlashUI) -> FlashResult:
    """Install or update MicroPython and the firmware on the board at ``opts.port``."""
    # a mistyped --board is named before the board is looked for (also with no board plugged in)
    profile, profile_bytes = load_profile(opts.board) if opts.board else (None, None)
    port = opts.port or choose_port(list_candidates())
    check_port_access(port)
    ui.step(f"board on {port}")
    try:
        link, facts = _try_repl(port, opts.repl_timeout_s)
    except BoardBootLoop:
        if not opts.force_image:
            raise
        link, facts = None, None
    reason = "--force-image given" if opts.force_image else image_needed(facts)
    flashed: str | None = None
    chip = chip_from_machine(facts.machine) if facts else None
    try:
        if reason is not None:
            if profile_bytes is None:
                # erasing the flash removes board.json: keep the board's own, or ask for one
                kept = link.read_text("board.json") if link is not None else None
                if kept is None:
                    raise DeployError(
                        "installing MicroPython erases the flash, and this board has no board "
                        f"profile to keep: choose one with --board ({', '.join(profile_names())})"
                    )
                profile_bytes = kept.encode()
                ui.info("the board's profile (board.json) will be written back after the erase")
            if link is not None:
                link.close()
                link = None
            ui.step(f"installing MicroPython ({reason})")
            chip = esptool_ops.identify_chip(port)
            esptool_ops.require_supported(chip, port)
            ui.info(f"chip: {chip.upper()} (esptool)")
            if profile is not None:
                check_profile_chip(profile, chip)
            variant = profile_image_variant(profile or _parse_profile(profile_bytes))
            image = _obtain_image(chip, opts, ui, variant)
            if opts.dry_run:
                what = image.path.name if image else image_name(chip, variant)
                ui.info(f"would erase the flash and write {what} at 0x{flash_offset(chip):x}")
                ui.info("would then deploy the firmware into slot hs_a and verify it")
                return FlashResult(port, chip, None, what, None)
            assert image is not None
            esptool_ops.flash_micropython(
                port, image, progress=lambda task, d, t: ui.progress(task, d, t)
            )
            flashed = image.path.name
            ui.step("waiting for MicroPython to start (first boot formats the filesystem)")
            link, facts = _wait_for_repl(port, rediscover=opts.port is None)
            port = link.port
        assert link is not None and facts is not None
        ui.info(f"MicroPython {facts.version_text} on {facts.machine}")
        if profile is not None:
            check_profile_chip(profile, chip)
        elif link.read_text("board.json") is None:
            raise DeployError(
                "this board has no board profile yet: choose one with --board "
                f"({', '.join(profile_names())})"
            )
        if facts.sys_mpy is None:
            raise DeployError(
                "the board does not report its .mpy version (sys.implementation._mpy)"
            )
        target = BytecodeTarget.from_sys_mpy(facts.sys_mpy)
        ui.step(
            f"compiling the firmware for .mpy v{target.mpy_version}.{target.sub_version} "
            f"({target.arch or 'bytecode only'})"
        )
        bundle = build_bundle(
            opts.firmware_dir or paths.firmware_dir(),
            target,
            profile_bytes,
            progress=lambda done, total, name: ui.progress("compile", done, total),
        )
        ui.step("copying changed files" if not opts.dry_run else "planning the copy")
        report = deploy_firmware(
            link,
            bundle,
            dry_run=opts.dry_run,
            settle_s=opts.settle_s,
            on_file=lambda done, total, rel: ui.progress("copy", done, total),
        )
        return FlashResult(port, chip, facts.version_text, flashed, report)
    finally:
        if link is not None:
            link.close()

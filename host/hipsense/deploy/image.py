"""Obtain a MicroPython image for the chip and check it before it is written.

micropython.org publishes the images (``https://micropython.org/download/ESP32_GENERIC/``)
but no checksums for them, so the check has two layers:

1. Integrity, always: the file is a merged ESP-IDF image for the chip. Its bootloader (at
   file offset 0) and its application (at flash 0x10000) carry the 0xE9 magic, the chip id,
   an XOR checksum and an appended SHA-256 digest of themselves, which esptool's image parser
   recomputes. A truncated, corrupted or wrong-chip download fails here.
2. Authenticity, when a hash is known: ``--sha256 HEX``, or a line ``<sha256>  <file name>``
   in :func:`known_hashes_file` (the user's pinned table, ``sha256sum`` format).

The printed SHA-256 of every image lets a user pin it after checking it once.
"""

from __future__ import annotations

import hashlib
import os
import re
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from hipsense.deploy.errors import (
    ImageChecksumMismatch,
    ImageError,
    NoNetwork,
    ToolMissing,
    WrongChip,
)

DOWNLOAD_PAGE = "https://micropython.org/download/{board}/"
FIRMWARE_BASE_URL = "https://micropython.org/resources/firmware/"
BOARD_IDS = {"esp32": "ESP32_GENERIC", "esp32s3": "ESP32_GENERIC_S3"}
"""MicroPython's board id for each chip hipsense supports."""

# Release images used by default (MicroPython 1.26.1, 2025-09-11: .mpy 6.3, BLE, LittleFS).
DEFAULT_IMAGES = {
    "esp32": "ESP32_GENERIC-20250911-v1.26.1.bin",
    "esp32s3": "ESP32_GENERIC_S3-20250911-v1.26.1.bin",
}
APP_FLASH_OFFSET = 0x10000


def image_name(chip: str, variant: str | None = None) -> str:
    """The release image for ``chip``; ``variant`` (a board profile's ``memory.image_variant``,
    e.g. ``"SPIRAM"``) picks MicroPython's build of that name, which puts the Python heap in
    PSRAM: ``ESP32_GENERIC-SPIRAM-20250911-v1.26.1.bin``."""
    name = DEFAULT_IMAGES[chip]
    if not variant:
        return name
    board, rest = name.split("-", 1)
    return f"{board}-{variant}-{rest}"


def profile_image_variant(profile: dict[str, Any] | None) -> str | None:
    """``memory.image_variant`` of a board profile (None: the generic image)."""
    memory = profile.get("memory") if isinstance(profile, dict) else None
    variant = memory.get("image_variant") if isinstance(memory, dict) else None
    return variant if isinstance(variant, str) and variant else None


_DOWNLOAD_TIMEOUT_S = 30.0
_CHUNK_BYTES = 64 * 1024

ByteProgress = Callable[[int, int], None]
"""``(bytes_done, bytes_total)``; total is 0 when unknown."""
Opener = Callable[..., Any]


@dataclass(frozen=True)
class CheckedImage:
    path: Path
    chip: str
    sha256: str
    pinned: bool
    """True when the SHA-256 matched a known hash (not only the embedded digests)."""


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/hipsense/images`` (default ``~/.cache/...``): downloaded images."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "hipsense" / "images"


def known_hashes_file() -> Path:
    """``$XDG_CONFIG_HOME/hipsense/images.sha256`` (default ``~/.config/...``)."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "hipsense" / "images.sha256"


def load_known_hashes(path: Path | None = None) -> dict[str, str]:
    """``{file name: sha256}`` from a ``sha256sum``-style file; empty when absent."""
    path = path or known_hashes_file()
    table: dict[str, str] = {}
    if not path.is_file():
        return table
    for line in path.read_text().splitlines():
        match = re.fullmatch(r"\s*([0-9a-fA-F]{64})\s+\*?(\S+)\s*", line)
        if match:
            table[Path(match.group(2)).name] = match.group(1).lower()
    return table


def image_version(file_name: str) -> tuple[int, int, int] | None:
    """``(1, 26, 1)`` from ``ESP32_GENERIC-20250911-v1.26.1.bin``."""
    match = re.search(r"-v(\d+)\.(\d+)(?:\.(\d+))?", file_name)
    if not match:
        return None
    return int(match.group(1)), int(match.group(2)), int(match.group(3) or 0)


def _chip_defs() -> dict[str, Any]:
    try:
        from esptool.targets import CHIP_DEFS
    except ImportError as exc:
        raise ToolMissing("esptool") from exc
    return CHIP_DEFS


def flash_offset(chip: str) -> int:
    """Where the merged image starts in flash (esp32: 0x1000, esp32s3: 0x0)."""
    return int(_chip_defs()[chip].BOOTLOADER_FLASH_OFFSET)


def _chip_for_id(chip_id: int) -> str:
    for name, loader in _chip_defs().items():
        if getattr(loader, "IMAGE_CHIP_ID", None) == chip_id:
            return name
    return f"unknown chip id {chip_id}"


def _check_part(data: bytes, chip: str, what: str) -> None:
    from esptool.bin_image import LoadFirmwareImage

    if not data or data[0] != 0xE9:
        raise ImageError(f"{what}: not an ESP32 firmware image (no 0xE9 magic byte)")
    try:
        image: Any = LoadFirmwareImage(chip, data)  # an ESP32*FirmwareImage for our chips
    except Exception as exc:  # esptool raises FatalError/struct.error on damaged headers
        raise ImageError(f"{what}: damaged image ({exc})") from exc
    expected_id = _chip_defs()[chip].IMAGE_CHIP_ID
    if image.chip_id != expected_id:
        raise WrongChip(
            f"{what} is built for {_chip_for_id(image.chip_id)}, not {chip}: use the "
            f"image from {DOWNLOAD_PAGE.format(board=BOARD_IDS[chip])}"
        )
    if image.checksum != image.calculate_checksum():
        raise ImageChecksumMismatch(f"{what}: segment checksum is wrong (corrupted file)")
    if image.append_digest and image.stored_digest != image.calc_digest:
        raise ImageChecksumMismatch(f"{what}: embedded SHA-256 digest does not match (corrupted)")


def check_image(
    path: Path,
    chip: str,
    *,
    expected_sha256: str | None = None,
    known: dict[str, str] | None = None,
) -> CheckedImage:
    """Check ``path`` is a complete MicroPython image for ``chip`` (see the module docstring)."""
    if chip not in BOARD_IDS:
        raise WrongChip(f"hipsense supports {', '.join(BOARD_IDS)}, not {chip}")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ImageError(f"cannot read the image {path}: {exc.strerror}") from exc
    digest = hashlib.sha256(data).hexdigest()
    pinned_hash = expected_sha256 or (known if known is not None else load_known_hashes()).get(
        path.name
    )
    if pinned_hash is not None and digest != pinned_hash.lower():
        raise ImageChecksumMismatch(
            f"{path.name}: SHA-256 is {digest}, expected {pinned_hash.lower()}. The file is "
            "corrupted or not the expected release: delete it and download it again"
        )
    _check_part(data, chip, f"{path.name} (bootloader)")
    app_at = APP_FLASH_OFFSET - flash_offset(chip)
    if len(data) <= app_at:
        raise ImageError(
            f"{path.name} holds no application at 0x{APP_FLASH_OFFSET:x}: use the full .bin "
            f"from {DOWNLOAD_PAGE.format(board=BOARD_IDS[chip])} (not the .app-bin)"
        )
    _check_part(data[app_at:], chip, f"{path.name} (application)")
    return CheckedImage(path, chip, digest, pinned_hash is not None)


def download_image(
    chip: str,
    dest_dir: Path,
    *,
    file_name: str | None = None,
    expected_sha256: str | None = None,
    base_url: str | None = None,
    opener: Opener | None = None,
    progress: ByteProgress | None = None,
) -> CheckedImage:
    """Download (or reuse from ``dest_dir``) and check the MicroPython image for ``chip``.

    ``base_url`` defaults to :data:`FIRMWARE_BASE_URL`, ``opener`` to ``urlopen``.
    """
    base_url = base_url or FIRMWARE_BASE_URL
    opener = opener or urllib.request.urlopen
    if chip not in BOARD_IDS:
        raise WrongChip(f"no MicroPython image known for {chip}; hipsense supports esp32, esp32s3")
    name = file_name or DEFAULT_IMAGES[chip]
    dest = dest_dir / name
    if dest.is_file():
        try:
            return check_image(dest, chip, expected_sha256=expected_sha256)
        except ImageError:
            dest.unlink()  # a bad cached copy: fetch it again
    url = base_url + name
    page = DOWNLOAD_PAGE.format(board=BOARD_IDS[chip])
    dest_dir.mkdir(parents=True, exist_ok=True)
    partial = dest.with_suffix(".part")
    try:
        with opener(url, timeout=_DOWNLOAD_TIMEOUT_S) as response, partial.open("wb") as out:
            _copy(response, out, int(response.headers.get("Content-Length") or 0), progress)
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        partial.unlink(missing_ok=True)
        reason = getattr(exc, "reason", exc)
        raise NoNetwork(
            f"could not download {url} ({reason}). Without network: download {name} from "
            f"{page} on another computer and pass --image FILE"
        ) from exc
    partial.replace(dest)
    try:
        return check_image(dest, chip, expected_sha256=expected_sha256)
    except ImageError:
        dest.unlink(missing_ok=True)
        raise


def _copy(src: BinaryIO, dst: BinaryIO, total: int, progress: ByteProgress | None) -> None:
    done = 0
    while chunk := src.read(_CHUNK_BYTES):
        dst.write(chunk)
        done += len(chunk)
        if progress:
            progress(done, total)

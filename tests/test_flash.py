"""Port discovery, esptool and the MicroPython image path, with their failure cases, no hardware.

esptool is exercised for real where it fails fast (missing port, a silent pty with one
connect attempt) and replaced at its API boundary (``esptool.cmds``) for chip answers.
Images are built with esptool's own image writer; downloads come from a local HTTP server.
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import os
import pty
import threading
import tty
import urllib.error
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from esptool.bin_image import ESP32FirmwareImage, ESP32S3FirmwareImage, ImageSegment
from hipsense.deploy import esptool_ops, ports
from hipsense.deploy.errors import (
    BoardNotResponding,
    ImageChecksumMismatch,
    ImageError,
    NoNetwork,
    PortNotFound,
    PortPermissionDenied,
    WrongChip,
)
from hipsense.deploy.image import (
    CheckedImage,
    check_image,
    download_image,
    image_version,
    load_known_hashes,
)
from hipsense.deploy.ports import PortCandidate

# -- images ------------------------------------------------------------------------------


def esp_image(chip: str, payload: bytes) -> bytes:
    cls = {"esp32": ESP32FirmwareImage, "esp32s3": ESP32S3FirmwareImage}[chip]
    image = cls()
    image.chip_id = cls.ROM_LOADER.IMAGE_CHIP_ID
    image.entrypoint = 0x40080000
    segment = ImageSegment(0x3FFB0000, payload)
    segment.name = ".dram0.data"  # type: ignore[attr-defined]  # save() expects it
    image.segments = [segment]
    data = image.save(None)
    assert data is not None
    return data


def merged_image(chip: str) -> bytes:
    """Bootloader at the start, application at flash 0x10000, like MicroPython's .bin."""
    base = {"esp32": 0x1000, "esp32s3": 0x0}[chip]
    boot = esp_image(chip, b"\x11" * 256)
    app = esp_image(chip, b"\x22" * 1024)
    return boot + b"\xff" * (0x10000 - base - len(boot)) + app


@pytest.fixture
def image_file(tmp_path: Path) -> Path:
    path = tmp_path / "ESP32_GENERIC-20250911-v1.26.1.bin"
    path.write_bytes(merged_image("esp32"))
    return path


def test_valid_images_pass_for_their_chip(tmp_path: Path) -> None:
    for chip in ("esp32", "esp32s3"):
        path = tmp_path / f"{chip}.bin"
        path.write_bytes(merged_image(chip))
        checked = check_image(path, chip, known={})
        assert checked.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
        assert not checked.pinned


def test_corrupted_application_fails_its_embedded_digest(image_file: Path) -> None:
    data = bytearray(image_file.read_bytes())
    data[0x10000 - 0x1000 + 100] ^= 0x40  # one bit flipped inside the application
    image_file.write_bytes(bytes(data))
    with pytest.raises(ImageChecksumMismatch, match="application"):
        check_image(image_file, "esp32", known={})


def test_image_for_another_chip_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "ESP32_GENERIC_S3.bin"
    path.write_bytes(merged_image("esp32s3"))
    with pytest.raises(WrongChip, match=r"built for esp32s3, not esp32.*ESP32_GENERIC/"):
        check_image(path, "esp32", known={})


def test_truncated_or_foreign_files_are_refused(image_file: Path, tmp_path: Path) -> None:
    image_file.write_bytes(image_file.read_bytes()[:0x8000])
    with pytest.raises(ImageError, match=r"no application.*not the \.app-bin"):
        check_image(image_file, "esp32", known={})
    html = tmp_path / "page.bin"
    html.write_bytes(b"<!DOCTYPE html><html>404</html>")
    with pytest.raises(ImageError, match="0xE9"):
        check_image(html, "esp32", known={})


def test_pinned_hash_is_enforced(image_file: Path, tmp_path: Path) -> None:
    digest = hashlib.sha256(image_file.read_bytes()).hexdigest()
    assert check_image(image_file, "esp32", expected_sha256=digest.upper()).pinned
    with pytest.raises(ImageChecksumMismatch, match="expected 0000"):
        check_image(image_file, "esp32", expected_sha256="0" * 64)
    table = tmp_path / "images.sha256"
    table.write_text(f"# pinned\n{'a' * 64}  *{image_file.name}\n")
    known = load_known_hashes(table)
    assert known == {image_file.name: "a" * 64}
    with pytest.raises(ImageChecksumMismatch):
        check_image(image_file, "esp32", known=known)


def test_image_version_from_file_name() -> None:
    assert image_version("ESP32_GENERIC-20250911-v1.26.1.bin") == (1, 26, 1)
    assert image_version("ESP32_GENERIC_S3-20240602-v1.23.0.bin") == (1, 23, 0)
    assert image_version("firmware.bin") is None


# -- download ----------------------------------------------------------------------------


@pytest.fixture
def http_root(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    root = tmp_path / "www"
    root.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Quiet, directory=str(root))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", root
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_download_checks_and_caches_the_image(http_root: tuple[str, Path], tmp_path: Path) -> None:
    url, root = http_root
    name = "ESP32_GENERIC-20250911-v1.26.1.bin"
    (root / name).write_bytes(merged_image("esp32"))
    seen: list[tuple[int, int]] = []
    cache = tmp_path / "cache"
    got = download_image("esp32", cache, base_url=url, progress=lambda d, t: seen.append((d, t)))
    assert isinstance(got, CheckedImage)
    assert got.path == cache / name and got.path.read_bytes() == (root / name).read_bytes()
    assert seen[-1] == (got.path.stat().st_size, got.path.stat().st_size)
    (root / name).unlink()  # the cached copy is used from now on
    assert download_image("esp32", cache, base_url=url).sha256 == got.sha256


def test_download_with_wrong_checksum_is_refused_and_deleted(
    http_root: tuple[str, Path], tmp_path: Path
) -> None:
    url, root = http_root
    name = "ESP32_GENERIC-20250911-v1.26.1.bin"
    (root / name).write_bytes(merged_image("esp32"))
    with pytest.raises(ImageChecksumMismatch, match="download it again"):
        download_image("esp32", tmp_path / "cache", base_url=url, expected_sha256="f" * 64)
    assert not (tmp_path / "cache" / name).exists()


def test_download_of_a_corrupted_file_is_refused(
    http_root: tuple[str, Path], tmp_path: Path
) -> None:
    url, root = http_root
    name = "ESP32_GENERIC_S3-20250911-v1.26.1.bin"
    data = bytearray(merged_image("esp32s3"))
    data[-40] ^= 0xFF
    (root / name).write_bytes(bytes(data))
    with pytest.raises(ImageChecksumMismatch):
        download_image("esp32s3", tmp_path / "cache", base_url=url)


def test_no_network_says_where_to_get_the_file(tmp_path: Path) -> None:
    def offline(url: str, timeout: float) -> Any:
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    with pytest.raises(NoNetwork) as info:
        download_image("esp32", tmp_path, opener=offline)
    message = str(info.value)
    assert "ESP32_GENERIC-20250911-v1.26.1.bin" in message
    assert "https://micropython.org/download/ESP32_GENERIC/" in message
    assert "--image FILE" in message
    assert not list(tmp_path.iterdir())  # no partial file left behind


def test_refused_connection_is_no_network_too(tmp_path: Path) -> None:
    with pytest.raises(NoNetwork, match="ESP32_GENERIC_S3"):
        download_image("esp32s3", tmp_path, base_url="http://127.0.0.1:9/")


# -- ports -------------------------------------------------------------------------------


def candidate(device: str, vid: int | None, pid: int | None) -> PortCandidate:
    return PortCandidate(device, "USB Serial", vid, pid)


def test_the_one_known_bridge_is_chosen() -> None:
    found = [candidate("/dev/ttyS0", None, None), candidate("/dev/ttyUSB0", 0x10C4, 0xEA60)]
    assert ports.choose_port(found) == "/dev/ttyUSB0"
    assert ports.choose_port([candidate("/dev/ttyACM0", 0x303A, 0x1001)]) == "/dev/ttyACM0"


def test_no_board_lists_the_candidates() -> None:
    with pytest.raises(PortNotFound, match=r"(?s)no ESP32 board.*/dev/ttyS0.*--port"):
        ports.choose_port([candidate("/dev/ttyS0", None, None)])
    with pytest.raises(PortNotFound, match=r"\(none\)"):
        ports.choose_port([])


def test_two_boards_ask_for_port() -> None:
    two = [candidate("/dev/ttyUSB0", 0x1A86, 0x7523), candidate("/dev/ttyUSB1", 0x1A86, 0x55D4)]
    with pytest.raises(PortNotFound, match=r"(?s)several.*ttyUSB0.*ttyUSB1"):
        ports.choose_port(two)


def test_missing_and_non_serial_ports(tmp_path: Path) -> None:
    with pytest.raises(PortNotFound, match="does not exist"):
        ports.check_port_access("/dev/ttyUSB97")
    plain = tmp_path / "file"
    plain.write_text("")
    with pytest.raises(PortNotFound, match="not a serial device"):
        ports.check_port_access(str(plain))


@pytest.fixture
def pty_port() -> Iterator[str]:
    master, slave = pty.openpty()
    tty.setraw(slave)
    try:
        yield os.ttyname(slave)
    finally:
        os.close(master)
        os.close(slave)


def test_permission_denied_names_the_group(pty_port: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "access", lambda path, mode: False)
    monkeypatch.setattr(ports, "_device_group", lambda port: "dialout")
    with pytest.raises(PortPermissionDenied, match=r"'dialout' group.*usermod -aG dialout"):
        ports.check_port_access(pty_port)


# -- esptool -----------------------------------------------------------------------------


def test_esptool_on_a_missing_port() -> None:
    with pytest.raises(PortNotFound):
        esptool_ops.identify_chip("/dev/ttyUSB97")


def test_esptool_when_no_bootloader_answers(pty_port: str) -> None:
    with pytest.raises(BoardNotResponding, match="BOOT button"):
        esptool_ops.identify_chip(pty_port, connect_attempts=1)


class FakeEsp:
    """What ``esptool.cmds.detect_chip`` returns, recording what the flash path does to it."""

    ESP_ROM_BAUD = 115200

    def __init__(self, chip_name: str, calls: list[Any]) -> None:
        self.CHIP_NAME = chip_name
        self.calls = calls
        self._port = self

    def change_baud(self, baud: int) -> None:
        self.calls.append(("baud", baud))

    def close(self) -> None:
        self.calls.append("close")


@pytest.fixture
def fake_esptool(monkeypatch: pytest.MonkeyPatch) -> tuple[list[Any], dict[str, str]]:
    import esptool.cmds

    calls: list[Any] = []
    answer = {"chip": "ESP32"}
    monkeypatch.setattr(
        esptool.cmds, "detect_chip", lambda port, **kw: FakeEsp(answer["chip"], calls)
    )
    monkeypatch.setattr(esptool.cmds, "run_stub", lambda esp: calls.append("stub") or esp)
    monkeypatch.setattr(esptool.cmds, "erase_flash", lambda esp: calls.append("erase"))
    monkeypatch.setattr(esptool.cmds, "attach_flash", lambda esp: calls.append("attach"))
    monkeypatch.setattr(
        esptool.cmds, "write_flash", lambda esp, addr_data: calls.append(("write", addr_data))
    )
    monkeypatch.setattr(esptool.cmds, "reset_chip", lambda esp, mode: calls.append(mode))
    return calls, answer


def test_flash_writes_at_the_chip_offset(
    fake_esptool: tuple[list[Any], dict[str, str]], pty_port: str, tmp_path: Path
) -> None:
    calls, answer = fake_esptool
    for chip, name, offset in (("esp32", "ESP32", 0x1000), ("esp32s3", "ESP32-S3", 0x0)):
        calls.clear()
        answer["chip"] = name
        path = tmp_path / f"{chip}.bin"
        path.write_bytes(merged_image(chip))
        esptool_ops.flash_micropython(pty_port, check_image(path, chip, known={}))
        assert calls == [
            "stub",
            ("baud", 460800),
            "attach",
            "erase",
            ("write", [(offset, str(path))]),
            "hard-reset",
            "close",
        ]


def test_wrong_chip_answer_stops_before_erasing(
    fake_esptool: tuple[list[Any], dict[str, str]], pty_port: str, image_file: Path
) -> None:
    calls, answer = fake_esptool
    image = check_image(image_file, "esp32", known={})
    answer["chip"] = "ESP32-S3"
    with pytest.raises(WrongChip, match="ESP32_GENERIC_S3"):
        esptool_ops.flash_micropython(pty_port, image)
    answer["chip"] = "ESP32-C3"
    with pytest.raises(WrongChip, match="hipsense supports ESP32, ESP32S3"):
        esptool_ops.flash_micropython(pty_port, image)
    assert "erase" not in calls and not any(isinstance(c, tuple) for c in calls)
    assert esptool_ops.identify_chip(pty_port) == "esp32c3"


def test_esptool_progress_reaches_the_callback_and_its_logger_is_restored() -> None:
    from esp_pylib.logger import EspLog
    from esptool.logger import log

    before = EspLog.instance
    seen: list[tuple[str, int, int]] = []
    with esptool_ops._progress_logger(lambda step, done, total: seen.append((step, done, total))):
        with log.progress(total=3) as task:  # how write_flash reports its blocks
            for _ in range(3):
                task.update(1)
        log.print("not shown on the console")
    assert seen[-1] == ("write", 3, 3)
    assert EspLog.instance is before

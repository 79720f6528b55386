"""How long compiling and deploying the firmware takes, on the unix port over the pty relay.

Compiles ``firmware/`` for an ESP32 (xtensawin, mpy 6.3 and 6.2), then deploys it (with a
stand-in ``main.py``) into an empty virtual board and again unchanged, for several transfer
chunk sizes, and prints the serial bytes a 115200-baud board would need. See
docs/flashing.md ("Measured").

    .venv/bin/python benchmarks/deploy_speed.py
"""

from __future__ import annotations

import base64
import shutil
import tempfile
import time
from pathlib import Path

from hipsense import paths
from hipsense.deploy import link as link_module
from hipsense.deploy.compile import BytecodeTarget, collect_sources, compile_firmware
from hipsense.deploy.deploy import apply_plan, build_bundle, plan_deploy, read_facts, read_state
from hipsense.deploy.link import BoardLink
from hipsense.virtual.pty_board import PtyBoard

BAUD_BYTES_PER_S = 115200 / 10  # 8N1


def compile_times() -> dict[str, bytes]:
    sources = collect_sources(paths.firmware_dir())
    src_bytes = sum(p.stat().st_size for p in sources.values())
    out: dict[str, bytes] = {}
    for sub in (2, 3):  # 6.3 last: its output is returned
        t0 = time.monotonic()
        out = compile_firmware(sources, BytecodeTarget(6, sub, "xtensawin"))
        print(
            f"compile {len(sources)} files ({src_bytes} B source) for xtensawin 6.{sub}: "
            f"{time.monotonic() - t0:.2f} s, {sum(map(len, out.values()))} B .mpy"
        )
    return out


def serial_estimate(esp32_files: dict[str, bytes], chunk: int) -> None:
    raw = sum(map(len, esp32_files.values()))
    b64 = sum(
        len(base64.b64encode(d[i : i + chunk]))
        for d in esp32_files.values()
        for i in range(0, len(d), chunk)
    )
    literal = sum(
        len(repr(d[i : i + chunk])) for d in esp32_files.values() for i in range(0, len(d), chunk)
    )
    print(
        f"serial payload for {raw} B of ESP32 .mpy: base64 {b64} B ({b64 / raw:.2f}x, "
        f"{b64 / BAUD_BYTES_PER_S:.1f} s at 115200 baud), Python literals {literal} B "
        f"({literal / raw:.2f}x, {literal / BAUD_BYTES_PER_S:.1f} s)"
    )


def deploy_times(chunk: int) -> None:
    link_module._WRITE_CHUNK_BYTES = chunk
    with tempfile.TemporaryDirectory() as tmp:
        fw = Path(tmp) / "fw"
        shutil.copytree(paths.firmware_dir(), fw, ignore=shutil.ignore_patterns("__pycache__"))
        (fw / "main.py").write_text("def main():\n    pass\n")
        board_dir = Path(tmp) / "board"
        board_dir.mkdir()
        with PtyBoard(board_dir) as board, BoardLink(board.port) as link:
            link.enter_raw()
            facts = read_facts(link)
            assert facts.sys_mpy is not None
            bundle = build_bundle(fw, BytecodeTarget.from_sys_mpy(facts.sys_mpy), b"{}")
            size = sum(map(len, bundle.slot_files.values()))
            for run in ("empty board", "unchanged"):
                t0 = time.monotonic()
                state = read_state(link, list(bundle.root_files))
                t1 = time.monotonic()
                plan = plan_deploy(bundle, state)
                apply_plan(link, bundle, plan)
                print(
                    f"chunk {chunk:5d} B, {run:11s}: hash both slots {t1 - t0:.2f} s, "
                    f"stage+switch {time.monotonic() - t1:.2f} s "
                    f"({len(plan.send)} files sent, {size} B x64 .mpy)"
                )


def main() -> None:
    esp32_files = compile_times()
    serial_estimate(esp32_files, 1024)
    for chunk in (512, 1024, 2048):
        deploy_times(chunk)


if __name__ == "__main__":
    main()

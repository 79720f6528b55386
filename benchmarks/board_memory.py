"""Memory budget of every board profile on the ESP32-like port (docs/benchmarks.md).

For each ``hardware/boards/*.json``: boots the deployed firmware (``.mpy`` for the 32-bit,
float32 ``../shared/tools/micropython-esp32like``) through ``app.boot()`` -- BLE on, then the
ring sized from the free heap -- with the Python heap the board has for it (without PSRAM:
``python_heap_kb`` minus the executable RAM of the viper code, about 88 kB; with PSRAM the
heap lives there), then streams 60 s of simulated time at 100 Hz raw + angles through the
simulated radio with real-NimBLE settings (8 queued notifications, 30 ms connection interval,
MTU exchanged to 247 by the central) and prints per profile the peak heap, the largest free
block, the ring's seconds and the viper code size. Exits 1 when a profile does not fit (a
MemoryError, a ring below the profile's ``ring_min_s``, samples the link did not deliver, a
setup command that could not run, or a ring that came back smaller after one).

The simulated ``machine``/``bluetooth`` modules share the heap: their size after import is
measured in a first run and added to ``-X heapsize``, and subtracted from the figures. The
names they intern take pool entries that on a board (where they are in ROM) the firmware's
names would take: the heap is corrected so that the firmware pays for its name pools what it
pays on a board (``qstr_correction``); a profile whose names grow after the boot fails.

    .venv/bin/python benchmarks/board_memory.py               # about 10 s
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from hipsense import paths
from hipsense.deploy.compile import BytecodeTarget, collect_sources, compile_firmware
from hipsense.link.protocol import cmd_align_mounting, cmd_set_content, cmd_start, cmd_stop
from hipsense.virtual.launch import deploy_firmware
from hipsense.virtual.runner import esp32like_executable, micropython_env

SIM_SECONDS = 60
RATE_HZ = 100
STEP_SAMPLES = 4  # 40 ms of samples per loop pass, like the board's 5 ms loop at 100 Hz
NIMBLE_QUEUE = 8  # notifications NimBLE queues before ENOMEM (docs/virtual-board.md)
NIMBLE_INTERVAL_MS = 30
NIMBLE_PER_EVENT = 4
SIM_ROOM = 8192  # heap for the simulation's own garbage while streaming (not the firmware's)

BOOT = r"""
import gc, json, os, sys
import micropython
import machine, _vboard, bluetooth
import _sim_mpu, _sim_icm  # the chip models the boards use, loaded before the measurement
_vboard.bus(0)  # the IMU on the bus (its registers and FIFO are the chip's, not the ESP32's)
gc.collect()
SIM = gc.mem_alloc()
micropython.qstr_info()  # the names of the simulation and of this script (ROM on a board)
if os.getenv("MEMBOOT_MODULES"):  # the heap and the names of each module, imported in turn
    print("MODULE -", SIM)
    for m in os.getenv("MEMBOOT_MODULES").split(","):
        __import__(m)
        gc.collect()
        print("MODULE", m, gc.mem_alloc())
        micropython.qstr_info()
    sys.exit(0)
if os.getenv("MEMBOOT_PROBE"):  # the names the firmware interns by the end of its boot
    import hs_boot, app
    app.boot()
    micropython.qstr_info()
    print('{"sim": %d}' % SIM)
    sys.exit(0)


def run():  # the run's names are locals: not interned, so they take no pool entries
    import hs_boot  # the launcher (root main.py) is resident on a board, as source
    import app, board, link_ble, memory, protocol  # what app.boot() imports before the ring
    gc.collect()
    CODE = gc.mem_alloc() - SIM
    now = [0]
    _vboard.set_manual(True)
    bluetooth.sim_set_clock(lambda: now[0])
    central = bluetooth.sim_central()
    sim_room = bytearray(SIM_ROOM)  # kept from the firmware's ring sizing, freed for the simulation
    a, usb = app.boot()
    del sim_room
    gc.collect()
    booted = gc.mem_alloc()
    peak = booted
    min_free = gc.mem_free()
    link = a.links[0]
    a.step(now[0])  # the first pass advertises
    bluetooth.sim_service()
    central.link(INTERVAL_MS, PER_EVENT, QUEUE)
    central.connect()
    central.exchange_mtu(247)
    bluetooth.sim_service()
    a.step(now[0])
    assert central.secure() == 0  # bond (a new board's pairing window is open): encrypted link
    bluetooth.sim_service()
    replies = {}  # REPLY result by token
    for frame in (SETCONT, START):  # as the host starts a stream (orchestrate.stream._start)
        central.write(link._h_ctrl, frame)
        bluetooth.sim_service()
    received = 0
    last_seq = -1
    gaps = 0
    steps = SECONDS * RATE // STEP
    for k in range(steps):
        _vboard.advance(STEP)
        now[0] += STEP * 1000 // RATE
        usb = app.poll_usb(a, usb)
        a.step(now[0])
        bluetooth.sim_service()
        for p in central.take(7):  # MSG_NOTIFY: u16 conn, u16 handle, frame
            if p[2] | (p[3] << 8) == link._h_data and p[5] == protocol.T_SAMPLES:
                count = p[7]
                seq = p[8] | (p[9] << 8) | (p[10] << 16) | ((p[11] & 0x3F) << 24)
                if last_seq >= 0 and seq != last_seq + 1:
                    gaps += 1
                last_seq = seq + count - 1
                received += count
            elif p[5] == protocol.T_REPLY:
                replies[p[6]] = p[8]
        if k % (RATE // STEP) == 0:  # once a second: the live heap (garbage collected)
            gc.collect()
            used = gc.mem_alloc()
            if used > peak:
                peak = used
                min_free = gc.mem_free()
    for _ in range(20):  # let the link empty the ring
        now[0] += 40
        a.step(now[0])
        bluetooth.sim_service()
        for p in central.take(7):
            if p[2] | (p[3] << 8) == link._h_data and p[5] == protocol.T_SAMPLES:
                received += p[7]
    produced = a.ring.head_seq
    # As the host does (orchestrate.stream): STOP, the setup commands, START. The setup commands
    # load setup_cmds (and mounting) on demand, in the memory the ring lends them while nothing
    # streams; the mounting capture's stand-still phase is the largest of them.
    ring_before = a.ring.nbytes
    for frame in (STOP, ALIGN1):
        central.write(link._h_ctrl, frame)
        bluetooth.sim_service()
    for k in range(ALIGN_PASSES):
        _vboard.advance(STEP)
        now[0] += STEP * 1000 // RATE
        a.step(now[0])
        bluetooth.sim_service()
        for p in central.take(7):
            if p[2] | (p[3] << 8) == link._h_data and p[5] == protocol.T_REPLY:
                replies[p[6]] = p[8]  # by token
                if p[6] == ALIGN1[2]:  # stood still: now the walk (phase 3), as the host does
                    central.write(link._h_ctrl, ALIGN3)
                elif p[6] == ALIGN3[2]:
                    central.write(link._h_ctrl, START2)
                bluetooth.sim_service()
    gc.collect()
    print("MEMINFO")
    micropython.mem_info()
    micropython.qstr_info()
    st = bluetooth.sim_stats()
    # values only, in RESULT_KEYS order: short dict keys would be interned names
    print("RESULT", json.dumps([
        memory.free_before_ring, min_free, SIM, CODE, booted, peak, gc.mem_free(),
        ring_before, produced, received, gaps, a.ring.lost, st["refused"], st["truncated"],
        a.memory_error, replies.get(ALIGN1[2], -1), replies.get(ALIGN3[2], -1), a.ring.nbytes,
        ring_before, replies.get(START2[2], -1), a.loop_errors, replies.get(SETCONT[2], -1),
    ]))


run()
"""


RESULT_KEYS = (
    "free_before_ring", "min_free", "sim", "code", "booted", "peak", "free_end", "ring",
    "produced", "received", "gaps", "ring_lost", "refused", "truncated", "memory_error",
    "align1", "align3", "ring_after", "ring_before", "restarted", "loop_errors", "set_content",
)  # fmt: skip


def heap_budget_kb(profile: dict) -> int:
    """The Python heap the board has for hipsense: without PSRAM the viper code's executable
    RAM comes out of it (NimBLE's reserve is ESP-IDF memory beside it)."""
    mem = profile["memory"]
    if mem["psram_kb"] > 0:
        return int(mem["python_heap_kb"])
    return int(mem["python_heap_kb"]) - int(mem["viper_code_kb"])


def viper_code_bytes() -> int:
    """Machine code of the @viper/@native functions for the ESP32 (xtensawin): each module's
    .mpy with its native functions minus the same module with them as bytecode (an estimate:
    the bytecode those functions would need is subtracted)."""
    target = BytecodeTarget(6, 3, "xtensawin")
    sources = collect_sources(paths.firmware_dir())
    native = {
        rel: src
        for rel, src in sources.items()
        if re.search(r"@micropython\.(viper|native)", src.read_text())
    }
    with_native = compile_firmware(native, target)
    with tempfile.TemporaryDirectory() as tmp:
        plain: dict[str, Path] = {}
        for rel, src in native.items():
            text = re.sub(r"^\s*@micropython\.(viper|native)\s*$", "", src.read_text(), flags=re.M)
            dest = Path(tmp) / rel.replace("/", "__")
            dest.write_text(text)
            plain[rel] = dest
        as_bytecode = compile_firmware(plain, target)
    keys = [rel[: -len(".py")] + ".mpy" for rel in native]
    return sum(len(with_native[k]) - len(as_bytecode[k]) for k in keys)


QSTR_FIRST_POOL = 20  # entries of the first pool of names made at run time (see below)
QSTR_POOL_HEADER = 24  # sizeof(qstr_pool_t) on 32 bits
QSTR_ENTRY_BYTES = 7  # per name: a pointer, a 2-byte hash and a 1-byte length
GC_BLOCK = 16  # bytes of a GC block on 32 bits


def qstr_pool_bytes(n_names: int) -> int:
    """Heap the pools of ``n_names`` interned names take on a 32-bit MicroPython 1.26: the
    first pool has 20 entries (twice the frozen pool's ``alloc``, which mpy-tool sets to at
    most 10) and each new pool twice the last (py/qstr.c ``qstr_add``); each pool is one
    allocation of whole GC blocks. The names' own bytes come on top."""
    total, alloc, room = 0, QSTR_FIRST_POOL, 0
    while room < n_names:
        size = QSTR_POOL_HEADER + QSTR_ENTRY_BYTES * alloc
        total += -(-size // GC_BLOCK) * GC_BLOCK
        room += alloc
        alloc *= 2
    return total


def parse_qstr_info(text: str) -> list[tuple[int, int]]:
    """(names, pool bytes) of every ``micropython.qstr_info()`` line in ``text``."""
    return [
        (int(m.group(1)), int(m.group(3)) - int(m.group(2)))
        for m in re.finditer(
            r"qstr pool: n_pool=\d+, n_qstr=(\d+), n_str_data_bytes=(\d+), n_total_bytes=(\d+)",
            text,
        )
    ]


def qstr_correction(sim_names: int, firmware_names: int) -> int:
    """Bytes to add to the heap so that the firmware pays for its name pools what it pays on a
    board, never less, at any point of its boot.

    Here the simulation's modules and this script intern their names first (on a board they
    are in ROM), so the firmware's names land in later, larger pools: it is charged
    ``P(sim + q) - P(sim)`` for ``q`` names, a board ``P(q)``. The smallest difference over
    every ``q`` up to the firmware's count is the correction (usually negative: the heap is
    made smaller by the pools the simulation's names took and a board would have given the
    firmware)."""
    base = qstr_pool_bytes(sim_names)
    return min(
        qstr_pool_bytes(sim_names + q) - base - qstr_pool_bytes(q)
        for q in range(firmware_names + 1)
    )


def max_free_block_bytes(mem_info: str) -> int:
    """``max free sz`` of ``micropython.mem_info()`` (in 16-byte GC blocks on 32 bits)."""
    match = re.search(r"max free sz:\s*(\d+)", mem_info)
    return int(match.group(1)) * 16 if match else -1


def run_profile(
    work: Path,
    exe: Path,
    app_dir: Path,
    sim_dir: Path,
    boot_dir: Path,
    profile_path: Path,
    extra_kb: int = 0,
    verbose: bool = False,
) -> dict:
    profile = json.loads(profile_path.read_text())
    flash = work / profile["name"]
    flash.mkdir()
    (flash / "board.json").write_text(json.dumps(profile))
    env = micropython_env([boot_dir, sim_dir, app_dir])
    env["HIPSENSE_SIM_IMU"] = profile["imu"]["expected"] or "mpu6886"
    probe = subprocess.run(
        [str(exe), "-X", "heapsize=4M", "-c", "import _memboot"],
        env={**env, "MEMBOOT_PROBE": "1"},
        cwd=flash,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    sim_bytes = json.loads(probe.stdout.strip().splitlines()[-1])["sim"]
    (sim_names, sim_pools), (all_names, _) = parse_qstr_info(probe.stdout)
    if sim_pools != qstr_pool_bytes(sim_names):
        raise RuntimeError(f"qstr pools {sim_pools} B for {sim_names} names: model is wrong")
    fw_names = all_names - sim_names
    correction = qstr_correction(sim_names, fw_names)
    budget = (heap_budget_kb(profile) + extra_kb) * 1024
    heap = budget + sim_bytes + SIM_ROOM + correction
    proc = subprocess.run(
        [str(exe), "-X", f"heapsize={heap}", "-c", "import _memboot"],
        env=env,
        cwd=flash,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    lines = proc.stdout.splitlines()
    result_line = next((ln for ln in lines if ln.startswith("RESULT ")), None)
    if proc.returncode != 0 or result_line is None:
        return {"name": profile["name"], "error": (proc.stdout + proc.stderr)[-800:]}
    values = json.loads(result_line[len("RESULT ") :])
    res: dict[str, Any] = dict(zip(RESULT_KEYS, values, strict=True))
    res["names_end"] = parse_qstr_info(proc.stdout)[-1][0] - sim_names
    res["fw_names"] = fw_names
    res["sim_names"] = sim_names
    res["qstr_correction"] = correction
    res["board_pools"] = qstr_pool_bytes(fw_names)
    res["name"] = profile["name"]
    res["budget"] = budget
    res["max_free_block"] = max_free_block_bytes(proc.stdout)
    if verbose:
        print("\n".join(ln for ln in lines if ln.startswith("hipsense ")))
        print(proc.stdout[proc.stdout.find("MEMINFO") :].split("RESULT")[0])
    res["ring_min_s"] = profile["memory"]["ring_min_s"]
    return res


MODULE_ORDER = (
    "hs_boot", "protocol", "memory", "board", "ring", "bonds", "link", "link_ble", "fusion",
    "pelvis", "imu", "imu._base", "imu.manager", "imu.mpu6x", "usb_watch", "app",
    "setup_cmds", "mounting", "cobs", "link_serial",
)  # fmt: skip


def module_breakdown(work: Path, exe: Path, dirs: list[Path], profile_path: Path) -> None:
    """Print what each module costs resident: heap after its import (its bytecode, constants,
    functions, dictionaries and its names' text) and the names it interns, with the name pools
    that appear on the way shown apart (which module happens to open a pool is chance)."""
    flash = work / "modules"
    flash.mkdir()
    (flash / "board.json").write_text(profile_path.read_text())
    env = micropython_env(dirs)
    env["MEMBOOT_MODULES"] = ",".join(MODULE_ORDER)
    out = subprocess.run(
        [str(exe), "-X", "heapsize=1M", "-c", "import _memboot"],
        env=env,
        cwd=flash,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    rows = re.findall(r"^MODULE (\S+) (\d+)$", out, re.M)
    names = parse_qstr_info(out)  # one after the simulation, then one per module
    print(f"{'module':<14} {'heap B':>7} {'names':>6}  (name pools apart)")
    total_heap = total_names = 0
    for i, (module, used) in enumerate(rows[1:]):
        heap = int(used) - int(rows[i][1]) - (names[i + 1][1] - names[i][1])
        n = names[i + 1][0] - names[i][0]
        total_heap += heap
        total_names += n
        print(f"{module:<14} {heap:>7} {n:>6}")
    pools = names[-1][1] - names[0][1]
    print(
        f"{'all':<14} {total_heap:>7} {total_names:>6}; on a board their pools take "
        f"{qstr_pool_bytes(total_names)} B (here {pools} B, after the simulation's names)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--board", action="append", help="only this profile (repeatable)")
    parser.add_argument(
        "--extra-kb", type=int, default=0, help="add this to every budget (to explore a margin)"
    )
    parser.add_argument("--verbose", action="store_true", help="print mem_info of each run")
    parser.add_argument(
        "--modules", action="store_true", help="print each module's resident heap and names"
    )
    args = parser.parse_args()
    exe = esp32like_executable()
    if exe is None:
        print("micropython-esp32like not found at ../shared/tools", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="hipsense-memory-") as tmp:
        return run_all(Path(tmp), exe, args)


def run_all(work: Path, exe: Path, args: argparse.Namespace) -> int:
    boot_src = work / "boot_src"
    boot_src.mkdir()
    (boot_src / "_memboot.py").write_text(
        BOOT.replace("SECONDS", str(SIM_SECONDS))
        .replace("RATE", str(RATE_HZ))
        .replace("STEP", str(STEP_SAMPLES))
        .replace("INTERVAL_MS", str(NIMBLE_INTERVAL_MS))
        .replace("PER_EVENT", str(NIMBLE_PER_EVENT))
        .replace("QUEUE", str(NIMBLE_QUEUE))
        .replace("SIM_ROOM", str(SIM_ROOM))
        .replace("SETCONT", repr(cmd_set_content(2, True)))
        .replace("START2", repr(cmd_start(6)))
        .replace("START", repr(cmd_start(1)))
        .replace("STOP", repr(cmd_stop(3)))
        .replace("ALIGN_PASSES", str(12 * RATE_HZ // STEP_SAMPLES))
        .replace("ALIGN1", repr(cmd_align_mounting(4, 1)))
        .replace("ALIGN3", repr(cmd_align_mounting(5, 3)))
    )
    app_dir = deploy_firmware(work / "slot", executable=exe)
    sim_dir = deploy_firmware(work / "sim", paths.mpy_sim_dir(), executable=exe)
    boot_dir = deploy_firmware(work / "boot", boot_src, executable=exe)
    launcher = paths.firmware_dir() / "launcher" / "hs_boot.py"
    (boot_dir / "hs_boot.py").write_bytes(launcher.read_bytes())  # a board compiles it
    if args.modules:
        board = (args.board or ["devkitc-gy521"])[0]
        module_breakdown(
            work, exe, [boot_dir, sim_dir, app_dir], paths.boards_dir() / f"{board}.json"
        )
        return 0
    viper = viper_code_bytes()
    profiles = sorted(p for p in paths.boards_dir().glob("*.json") if p.stem != "schema")
    if args.board:
        profiles = [p for p in profiles if p.stem in args.board]
    print(
        f"MicroPython {exe.name}; {SIM_SECONDS} s at {RATE_HZ} Hz raw+angles, NimBLE queue "
        f"{NIMBLE_QUEUE}, interval {NIMBLE_INTERVAL_MS} ms"
    )
    print(f"viper/native code (xtensawin, estimate): {viper / 1024:.1f} kB")
    header = (
        f"{'profile':<20} {'budget kB':>9} {'code kB':>7} {'state kB':>8} {'peak kB':>8} "
        f"{'free blk kB':>11} "
        f"{'ring kB':>8} {'ring s':>7} {'need s':>6} {'delivered':>10}  verdict"
    )
    print(header)
    failed = False
    for path in profiles:
        r = run_profile(work, exe, app_dir, sim_dir, boot_dir, path, args.extra_kb, args.verbose)
        if "error" in r:
            failed = True
            print(f"{r['name']:<20} FAILED TO RUN:\n{r['error']}")
            continue
        ring_s = r["ring"] / (RATE_HZ * 18)
        delivered = (
            r["produced"] >= SIM_SECONDS * RATE_HZ * 0.95
            and r["received"] == r["produced"]
            and r["gaps"] == 0
        )
        after_ring = r["free_before_ring"] + SIM_ROOM - r["ring"] - r["min_free"]
        spare = r["min_free"] - SIM_ROOM
        print(
            f"  {r['name']}: heap taken after the ring {after_ring / 1024:.1f} kB "
            f"(memory.RESERVE_BYTES covers it), free at the peak {spare / 1024:.1f} kB"
        )
        # the stand-still phase of ALIGN_MOUNTING answers OK (setup_cmds and mounting loaded),
        # then the ring has its memory back and the stream starts again
        setup_ok = (
            r["set_content"] == 0
            and r["align1"] == 0
            and r["align3"] in (0, 5)  # the simulated walk may not give a mounting: FAILED
            and r["restarted"] == 0
            and r["ring_after"] == r["ring_before"]
        )
        print(
            f"  {r['name']}: SET_CONTENT before the stream {r['set_content']}; "
            f"STOP, ALIGN_MOUNTING 1 and 3, START: results {r['align1']}, "
            f"{r['align3']}, {r['restarted']} (0: OK, 5: FAILED), ring {r['ring_before']} -> "
            f"{r['ring_after']} bytes, "
            f"loop errors {r['loop_errors']}"
        )
        names_ok = r["names_end"] <= r["fw_names"]  # the correction covered every name
        print(
            f"  {r['name']}: {r['sim_names']} names of the simulation and this script, "
            f"{r['fw_names']} interned by the firmware's boot "
            f"({r['names_end']} at the end), their pools {r['board_pools']} B on a board; "
            f"heap corrected by {r['qstr_correction']} B for the pools of the simulation's names"
        )
        fits = (
            r["memory_error"] is None
            and ring_s >= r["ring_min_s"]
            and delivered
            and setup_ok
            and names_ok
        )
        failed |= not fits
        print(
            f"{r['name']:<20} {r['budget'] / 1024:>9.0f} {r['code'] / 1024:>7.1f} "
            f"{(r['peak'] - r['sim'] - r['code'] - r['ring']) / 1024:>8.1f} "
            f"{(r['peak'] - r['sim']) / 1024:>8.1f} "
            f"{r['max_free_block'] / 1024:>11.1f} {r['ring'] / 1024:>8.1f} {ring_s:>7.1f} "
            f"{r['ring_min_s']:>6} {r['received']:>5}/{r['produced']:<5} "
            f"{'fits' if fits else 'DOES NOT FIT'}"
            + (f" ({r['memory_error']})" if r["memory_error"] else "")
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

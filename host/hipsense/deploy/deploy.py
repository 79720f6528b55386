"""Copy the compiled firmware into the inactive A/B slot and switch to it atomically.

Board filesystem (see docs/flashing.md): ``main.py`` + ``hs_boot.py`` (the launcher, from
``firmware/launcher/``), ``hs_a/`` and ``hs_b/`` (two firmware slots), ``hs_slot`` (the
active slot's name), ``hs_trial`` (``"<slot> <starts>"`` while a new slot is unconfirmed),
``board.json`` (the board profile), ``hs_config.json`` (name and rate), ``hs_log.txt``.

A deploy only ever writes into the inactive slot, checks every file's SHA-256 on the board,
then writes ``hs_trial`` and replaces ``hs_slot`` with one ``os.rename``. An interruption
before the rename leaves the previous firmware active; the previous slot stays intact until
the next deploy, so the launcher can fall back to it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from hipsense.deploy.compile import (
    LAUNCHER_DIR,
    BytecodeTarget,
    FileProgress,
    collect_sources,
    compile_firmware,
    sha256_hex,
)
from hipsense.deploy.errors import DeployError, DeployFailed
from hipsense.deploy.link import BoardLink, WriteProgress
from hipsense.deploy.verify import RunningFirmware, VerifyFailed, verify

SLOTS = ("hs_a", "hs_b")
SLOT_FILE = "hs_slot"
TRIAL_FILE = "hs_trial"
PROFILE_FILE = "board.json"
# boot.py (power hold) and the library before the file that imports it
LAUNCHER_FILES = ("boot.py", "hs_boot.py", "main.py")

FileDone = Callable[[int, int, str], None]
"""``(files_done, files_to_copy, path)`` after each file lands in the slot (progress; tests
interrupt here)."""

# Defines _hs_state(): active slot, trial and the SHA-256 of every file in both slots and
# of the root files the deploy manages. Runs on the board (MicroPython).
_STATE_SNIPPET = """
import os, hashlib, binascii
def _hs_hash(p):
    h = hashlib.sha256()
    b = bytearray(512)
    mv = memoryview(b)
    with open(p, 'rb') as f:
        while True:
            n = f.readinto(b)
            if not n:
                break
            h.update(mv[:n])
    return binascii.hexlify(h.digest()).decode()
def _hs_walk(d, out):
    try:
        entries = list(os.ilistdir(d))
    except OSError:
        return
    for e in entries:
        p = d + '/' + e[0]
        if e[1] & 0x4000:
            out[p] = 'dir'
            _hs_walk(p, out)
        else:
            out[p] = _hs_hash(p)
def _hs_read(p):
    try:
        with open(p) as f:
            return f.read().strip()
    except OSError:
        return None
def _hs_state(roots):
    out = {}
    for s in ('hs_a', 'hs_b'):
        _hs_walk(s, out)
    for r in roots:
        try:
            out[r] = _hs_hash(r)
        except OSError:
            pass
    return {'slot': _hs_read('hs_slot'), 'trial': _hs_read('hs_trial'), 'files': out}
"""

_COPY_SNIPPET = """
def _hs_copy(a, b):
    buf = bytearray(512)
    with open(a, 'rb') as fa:
        with open(b, 'wb') as fb:
            while True:
                n = fa.readinto(buf)
                if not n:
                    break
                fb.write(memoryview(buf)[:n])
"""


@dataclass(frozen=True)
class Bundle:
    """Everything a deploy puts on the board."""

    slot_files: Mapping[str, bytes]
    """Compiled firmware, ``{"imu/mpu6050.mpy": bytes}``, relative to the slot."""
    root_files: Mapping[str, bytes]
    """Launcher files and ``board.json``, relative to the filesystem root."""

    def slot_hashes(self) -> dict[str, str]:
        return {rel: sha256_hex(data) for rel, data in self.slot_files.items()}


def launcher_files(firmware_dir: Path) -> dict[str, bytes]:
    """The root launcher sources (kept as ``.py``: MicroPython only boots ``main.py``)."""
    folder = firmware_dir / LAUNCHER_DIR
    missing = [name for name in LAUNCHER_FILES if not (folder / name).is_file()]
    if missing:
        raise DeployError(f"launcher files missing in {folder}: {', '.join(missing)}")
    return {name: (folder / name).read_bytes() for name in LAUNCHER_FILES}


@dataclass(frozen=True)
class BoardState:
    active_slot: str | None
    trial: str | None
    files: Mapping[str, str]
    """Board path -> SHA-256 hex (``"dir"`` for directories)."""

    def slot_files(self, slot: str) -> dict[str, str]:
        prefix = slot + "/"
        return {
            path[len(prefix) :]: digest
            for path, digest in self.files.items()
            if path.startswith(prefix) and digest != "dir"
        }


def read_state(link: BoardLink, root_names: list[str]) -> BoardState:
    link.exec(_STATE_SNIPPET)
    raw = link.eval(f"_hs_state({root_names!r})", timeout_s=60.0)
    slot = raw["slot"] if raw["slot"] in SLOTS else None
    return BoardState(slot, raw["trial"], raw["files"])


@dataclass
class Plan:
    """What a deploy will do; empty lists and ``switch=False`` mean the board is up to date."""

    target_slot: str | None
    previous_slot: str | None
    send: list[str] = field(default_factory=list)
    """Slot files transferred from the host."""
    reuse: list[str] = field(default_factory=list)
    """Slot files copied on the board from the active slot (same hash)."""
    keep: list[str] = field(default_factory=list)
    """Slot files already right in the target slot."""
    remove: list[str] = field(default_factory=list)
    """Stale files in the target slot."""
    root_writes: list[str] = field(default_factory=list)
    switch: bool = False

    @property
    def up_to_date(self) -> bool:
        return not (self.send or self.reuse or self.remove or self.root_writes or self.switch)

    def describe(self) -> list[str]:
        if self.up_to_date:
            return [f"firmware in slot {self.previous_slot} is up to date: nothing to copy"]
        lines = []
        if self.switch:
            lines.append(
                f"stage the firmware in slot {self.target_slot} "
                f"(active now: {self.previous_slot or 'none'})"
            )
        lines += [f"  send   {p}" for p in self.send]
        lines += [f"  reuse  {p} (copied on the board)" for p in self.reuse]
        lines += [f"  keep   {p}" for p in self.keep]
        lines += [f"  remove {p}" for p in self.remove]
        lines += [f"write {p} (atomic rename)" for p in self.root_writes]
        if self.switch:
            lines.append(f"switch hs_slot to {self.target_slot}, verify, keep the previous slot")
        return lines


def plan_deploy(bundle: Bundle, state: BoardState) -> Plan:
    """Decide which files to send, copy on the board, keep or remove, by SHA-256."""
    wanted = bundle.slot_hashes()
    root_writes = [
        name
        for name, data in bundle.root_files.items()
        if state.files.get(name) != sha256_hex(data)
    ]
    active = state.active_slot
    if active is not None and state.slot_files(active) == wanted:
        return Plan(active, active, keep=sorted(wanted), root_writes=root_writes)
    target = SLOTS[1] if active == SLOTS[0] else SLOTS[0]
    present = state.slot_files(target)
    in_active = state.slot_files(active) if active else {}
    plan = Plan(target, active, root_writes=root_writes, switch=True)
    for rel, digest in sorted(wanted.items()):
        if present.get(rel) == digest:
            plan.keep.append(rel)
        elif in_active.get(rel) == digest:
            plan.reuse.append(rel)
        else:
            plan.send.append(rel)
    plan.remove = sorted(set(present) - set(wanted))
    return plan


def _parents(rel_paths: list[str]) -> list[str]:
    dirs: set[str] = set()
    for rel in rel_paths:
        parts = rel.split("/")[:-1]
        dirs.update("/".join(parts[: i + 1]) for i in range(len(parts)))
    return sorted(dirs, key=lambda d: d.count("/"))


def _write_root_atomic(link: BoardLink, name: str, data: bytes) -> None:
    link.write_file(name + ".tmp", data)
    link.exec(f"import os\nos.rename({name + '.tmp'!r}, {name!r})")


def apply_plan(
    link: BoardLink,
    bundle: Bundle,
    plan: Plan,
    *,
    on_file: FileDone | None = None,
    on_bytes: WriteProgress | None = None,
) -> None:
    """Stage, check and switch. Call :func:`hipsense.deploy.verify.verify` afterwards."""
    target = plan.target_slot
    link.exec(_STATE_SNIPPET)
    if plan.switch and target is not None:
        if plan.previous_slot == target:
            raise DeployError("internal error: refusing to write into the active slot")
        # A trial naming the target is stale (a staged slot never switched in): drop it.
        link.exec(
            "import os\n"
            f"t = _hs_read({TRIAL_FILE!r})\n"
            f"if t and t.split()[0] == {target!r}:\n os.remove({TRIAL_FILE!r})"
        )
        for rel in plan.remove:
            link.exec(f"import os\nos.remove({target + '/' + rel!r})")
        dirs = [target] + [target + "/" + d for d in _parents(list(bundle.slot_files))]
        link.exec(
            "import os\n"
            + "".join(f"try:\n os.mkdir({d!r})\nexcept OSError:\n pass\n" for d in dirs)
        )
        link.exec(_COPY_SNIPPET)
        done, total = 0, len(plan.reuse) + len(plan.send)
        for rel in plan.reuse:
            link.exec(f"_hs_copy({f'{plan.previous_slot}/{rel}'!r}, {target + '/' + rel!r})")
            done += 1
            if on_file:
                on_file(done, total, rel)
        for rel in plan.send:
            link.write_file(target + "/" + rel, bundle.slot_files[rel], on_bytes)
            done += 1
            if on_file:
                on_file(done, total, rel)
        _check_slot(link, bundle, target)
    for name in plan.root_writes:
        _write_root_atomic(link, name, bundle.root_files[name])
    if plan.switch and target is not None:
        _switch(link, target)


def _check_slot(link: BoardLink, bundle: Bundle, slot: str) -> None:
    state = read_state(link, [])
    got = state.slot_files(slot)
    bad = sorted(rel for rel, digest in bundle.slot_hashes().items() if got.get(rel) != digest)
    if bad:
        raise DeployError(
            f"files in slot {slot} do not match after the copy ({', '.join(bad)}); the "
            "previous firmware is still active. Check the USB cable and run hipsense flash again"
        )


def _switch(link: BoardLink, slot: str) -> None:
    """Mark ``slot`` on trial, then make it active with one atomic rename."""
    link.exec(
        "import os\n"
        f"with open({TRIAL_FILE + '.tmp'!r}, 'w') as f:\n f.write({slot + ' 0'!r})\n"
        f"os.rename({TRIAL_FILE + '.tmp'!r}, {TRIAL_FILE!r})\n"
        f"with open({SLOT_FILE + '.tmp'!r}, 'w') as f:\n f.write({slot!r})\n"
        f"os.rename({SLOT_FILE + '.tmp'!r}, {SLOT_FILE!r})\n"
    )


def roll_back(link: BoardLink, previous_slot: str) -> None:
    """Make ``previous_slot`` active again and end the failed trial."""
    link.exec(
        "import os\n"
        f"with open({SLOT_FILE + '.tmp'!r}, 'w') as f:\n f.write({previous_slot!r})\n"
        f"os.rename({SLOT_FILE + '.tmp'!r}, {SLOT_FILE!r})\n"
        f"try:\n os.remove({TRIAL_FILE!r})\nexcept OSError:\n pass\n"
    )


@dataclass(frozen=True)
class DeployReport:
    plan: Plan
    running: RunningFirmware | None
    """None for a dry run."""


def deploy_firmware(
    link: BoardLink,
    bundle: Bundle,
    *,
    dry_run: bool = False,
    settle_s: float = 3.0,
    on_file: FileDone | None = None,
    on_bytes: WriteProgress | None = None,
) -> DeployReport:
    """Plan, stage, switch and verify; on a failed start the previous slot is made active again.

    ``link`` must be in the raw REPL (:meth:`BoardLink.enter_raw`).
    """
    state = read_state(link, list(bundle.root_files))
    plan = plan_deploy(bundle, state)
    if dry_run:
        return DeployReport(plan, None)
    apply_plan(link, bundle, plan, on_file=on_file, on_bytes=on_bytes)
    try:
        running = verify(link, settle_s=settle_s)
    except VerifyFailed as exc:
        if plan.switch and plan.previous_slot is not None:
            link.enter_raw(soft_reset=True)
            roll_back(link, plan.previous_slot)
            raise DeployFailed(
                f"{exc}\nThe previous firmware (slot {plan.previous_slot}) is active again."
            ) from exc
        raise
    return DeployReport(plan, running)


@dataclass(frozen=True)
class BoardFacts:
    """What the board's MicroPython says about itself."""

    sys_mpy: int | None
    micropython_version: tuple[int, int, int]
    machine: str
    platform: str

    @property
    def version_text(self) -> str:
        return ".".join(map(str, self.micropython_version))


def read_facts(link: BoardLink) -> BoardFacts:
    """``sys.implementation`` of the board (raw REPL)."""
    link.exec("import sys")
    mpy, version, machine, platform = link.eval(
        "(getattr(sys.implementation, '_mpy', None), tuple(sys.implementation.version[:3]), "
        "getattr(sys.implementation, '_machine', ''), sys.platform)"
    )
    return BoardFacts(mpy, tuple(version), str(machine), str(platform))


def build_bundle(
    firmware_dir: Path,
    target: BytecodeTarget,
    profile_json: bytes | None,
    progress: FileProgress | None = None,
) -> Bundle:
    """Compile ``firmware_dir`` for ``target`` and add the launcher and the board profile."""
    sources = collect_sources(firmware_dir)
    if "main.py" not in sources:
        raise DeployError(
            f"{firmware_dir / 'main.py'} is missing: the launcher starts the firmware's main module"
        )
    slot_files = compile_firmware(sources, target, progress)
    root_files = launcher_files(firmware_dir)
    if profile_json is not None:
        root_files[PROFILE_FILE] = profile_json
    return Bundle(slot_files, root_files)

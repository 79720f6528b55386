"""The host package is laid out as its data flows: each layer imports only the layers below it.

An AST scan of every module under host/hipsense (module-level, function-level and TYPE_CHECKING
imports alike) checks the layer ranks, the absence of cycles between packages and what the
detectors may import; a fresh interpreter checks what importing a detector really loads.
docs/architecture.md draws the same layers.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

HOST = Path(__file__).resolve().parents[1] / "host"
PACKAGE = HOST / "hipsense"

# Layer of each top-level part of hipsense, low -> high. A module may import its own part or a
# part of a strictly lower rank. "" is the package root (__init__, errors, paths).
RANKS: dict[str, int] = {
    "": 0,
    "conventions": 1,  # may name the root's base error
    "deploy": 1,  # flashing tooling: standalone (root only)
    "link": 2,
    "recording": 3,
    "sim": 4,  # the motion/IMU simulator: builds Recordings
    "virtual": 5,  # the virtual board: runs the firmware, uses sim and deploy
    "motion": 6,
    "detectors": 7,
    "analysis": 8,
    "store": 8,  # the session store: a sink for analysis results; analysis cannot import it
    "live": 9,
    "report": 9,
    "orchestrate": 10,
    "cli": 11,
}

# Upward imports still present, each with its reason; the list may only shrink (a test below
# fails when an entry no longer occurs, so remove it then).
ALLOWED_UPWARD: dict[tuple[str, str], str] = {}

# The package root is the public API's facade (``import hipsense as hs``): it re-exports names of
# every layer, for the type checker under TYPE_CHECKING and at run time lazily by name (PEP 562
# __getattr__), so its own imports are not layer edges. In return no module of the package may
# take anything from the facade but ``__version__`` (tested below).
FACADE = "hipsense"

# Detector modules that still import pandas (the perf engineer empties this list).
PANDAS_IN_DETECTORS: set[str] = {
    "hipsense.detectors.walk.scoring",  # scores contacts against reference tables (DataFrames)
}

# What no detector may import, directly or (checked in a subprocess) transitively.
DETECTOR_FORBIDDEN = (
    "bleak",
    "hipsense.link.session",
    "hipsense.link.transport",
    "hipsense.recording",
    "hipsense.orchestrate",
    "hipsense.virtual",
)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(HOST).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {
        _module_name(p): p
        for p in sorted(PACKAGE.rglob("*.py"))
        if "mpy" not in p.relative_to(PACKAGE).parts  # MicroPython code run by the virtual board
    }


MODULES = _modules()


def _imports(name: str, path: Path) -> Iterator[str]:
    """Every module ``name`` imports, at any depth in the file (absolute dotted names)."""
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".")
                anchor = anchor[: len(anchor) - node.level + (1 if is_package else 0)]
                base = ".".join([*anchor, base] if base else anchor)
            yield base
            for a in node.names:  # `from pkg import submodule`
                if f"{base}.{a.name}" in MODULES:
                    yield f"{base}.{a.name}"


IMPORTS: dict[str, set[str]] = {n: set(_imports(n, p)) for n, p in MODULES.items()}


def _part(module: str) -> str:
    """The top-level part of hipsense a module belongs to ("" for the root's own modules)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and (PACKAGE / parts[1]).is_dir() else ""


def _package(module: str) -> str:
    """The package a module belongs to (a package is its own)."""
    path = MODULES[module]
    return module if path.name == "__init__.py" else module.rpartition(".")[0]


def _hipsense_edges() -> Iterator[tuple[str, str]]:
    for src, targets in IMPORTS.items():
        if src == FACADE:
            continue
        for dst in targets:
            if dst in MODULES and dst != src:
                yield src, dst


def test_the_scan_sees_the_layers() -> None:
    # the scan is only as good as its coverage: every part is known, and it finds real imports
    assert {_part(m) for m in MODULES} == set(RANKS)
    assert "hipsense.motion.frontend" in IMPORTS["hipsense.detectors.balance.events"]
    assert "hipsense.link.blocks" in IMPORTS["hipsense.live.walk"]
    # function-level imports count too (write_report imports each test's page lazily)
    assert "hipsense.report.walk" in IMPORTS["hipsense.report"]


def test_no_import_goes_up_a_layer() -> None:
    upward = []
    for src, dst in _hipsense_edges():
        a, b = _part(src), _part(dst)
        if a != b and RANKS[b] >= RANKS[a] and (src, dst) not in ALLOWED_UPWARD:
            upward.append(f"{src} ({a}, rank {RANKS[a]}) imports {dst} ({b}, rank {RANKS[b]})")
    assert upward == []


def test_the_allowed_upward_imports_still_exist() -> None:
    # the allow-list only shrinks: an entry that no longer occurs must be deleted
    stale = [edge for edge in ALLOWED_UPWARD if edge[1] not in IMPORTS.get(edge[0], set())]
    assert stale == []


def _names_from_facade(path: Path) -> Iterator[str]:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module == FACADE and not node.level:
            yield from (a.name for a in node.names if f"{FACADE}.{a.name}" not in MODULES)


def test_the_package_takes_only_the_version_from_the_facade() -> None:
    taken = {n: set(_names_from_facade(p)) - {"__version__"} for n, p in MODULES.items()}
    assert {n: t for n, t in taken.items() if t} == {}
    # the facade itself imports no layer at run time: only under TYPE_CHECKING
    tree = ast.parse(MODULES[FACADE].read_text(encoding="utf-8"))
    runtime = [
        n for n in tree.body
        if (isinstance(n, (ast.Import, ast.ImportFrom))
        and any(a.name.startswith(FACADE) for a in n.names))
        or (isinstance(n, ast.ImportFrom) and (n.module or "").startswith(FACADE))
    ]  # fmt: skip
    assert runtime == []


def test_import_hipsense_stays_light() -> None:
    code = (
        "import sys, hipsense\n"
        "print(','.join(sorted(m for m in ('numpy', 'pandas', 'scipy', 'pyarrow', 'bleak', "
        "'hipsense.recording', 'hipsense.analysis') if m in sys.modules)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True,
        env={**os.environ, "PYTHONPATH": str(HOST)},
    )  # fmt: skip
    assert out.stdout.strip() == ""


def test_no_cycle_between_packages() -> None:
    graph: dict[str, set[str]] = {}
    for src, dst in _hipsense_edges():
        if (src, dst) in ALLOWED_UPWARD:
            continue
        a, b = _package(src), _package(dst)
        if a != b and not b.startswith(a + ".") and not a.startswith(b + "."):
            graph.setdefault(a, set()).add(b)
    state: dict[str, int] = {}  # 1 on the stack, 2 done

    def visit(node: str, stack: list[str]) -> list[str] | None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack, node, nxt]
            if nxt not in state and (cycle := visit(nxt, [*stack, node])):
                return cycle
        state[node] = 2
        return None

    cycles = [c for n in sorted(graph) if n not in state and (c := visit(n, []))]
    assert cycles == []


DETECTORS = sorted(m for m in MODULES if m.startswith("hipsense.detectors."))


def test_detectors_import_no_session_recording_orchestration_or_bleak() -> None:
    bad = [
        f"{m} imports {i}"
        for m in DETECTORS
        for i in IMPORTS[m]
        if any(i == f or i.startswith(f + ".") for f in DETECTOR_FORBIDDEN)
    ]
    assert bad == []


def test_pandas_in_detectors_only_shrinks() -> None:
    with_pandas = {m for m in DETECTORS if any(i.split(".")[0] == "pandas" for i in IMPORTS[m])}
    assert with_pandas == PANDAS_IN_DETECTORS


@pytest.mark.parametrize("module", [m for m in DETECTORS if MODULES[m].name != "__init__.py"])
def test_importing_a_detector_loads_no_link_recording_or_board(module: str) -> None:
    # and nothing slow at import time: scipy and pandas load at a detector's first use, so
    # that a detector module imports in about 0.15 s (numpy alone about 0.1 s; issue 20)
    forbidden = [*DETECTOR_FORBIDDEN, "pandas", "scipy"]
    code = (
        f"import sys, {module}\n"
        f"bad = sorted(m for m in sys.modules if any(m == f or m.startswith(f + '.') "
        f"for f in {forbidden!r}))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(HOST)},
    )
    assert out.stdout.strip() == ""

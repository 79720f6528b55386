"""Render the belt clip of every board profile to STL with OpenSCAD (`make hardware`).

The clip is parametric in the electronics envelope `enclosure.board_mm` of each profile in
hardware/boards/; this script passes those dimensions to OpenSCAD with -D, so the profile
stays the one source of the board's size. Standard library only: it runs before `make install`.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

HARDWARE_DIR = Path(__file__).resolve().parent.parent
BOARDS_DIR = HARDWARE_DIR / "boards"
SCAD_PATH = Path(__file__).resolve().parent / "belt_clip.scad"
STL_DIR = HARDWARE_DIR / "stl"
RENDER_TIMEOUT_S = 120.0

_ECHO_VECTOR = re.compile(r'ECHO: "(HIPSENSE_[A-Z_]+)", \[([^\]]*)\]')
_EMPTY_MARK = "top level object is empty"


class RenderError(Exception):
    """OpenSCAD is missing or failed; the message says what to check."""


@dataclass(frozen=True)
class Render:
    """Outcome of one OpenSCAD run: echoed dimensions (mm) and the STL written, if any."""

    board: str
    part: str
    stl_path: Path | None
    cavity_mm: tuple[float, float, float]
    outer_mm: tuple[float, float, float]
    empty: bool
    log: str


def load_profiles(boards_dir: Path = BOARDS_DIR) -> list[dict]:
    """All board profiles (every *.json except the JSON Schema), sorted by file name."""
    paths = sorted(p for p in boards_dir.glob("*.json") if p.name != "schema.json")
    return [json.loads(p.read_text(encoding="utf-8")) for p in paths]


def openscad_command(
    profile: dict, out_path: Path, part: str = "case", defines: dict[str, float] | None = None
) -> list[str]:
    """The OpenSCAD command line that renders `part` of the clip for `profile`."""
    exe = shutil.which("openscad")
    if exe is None:
        raise RenderError(
            "openscad is not on PATH; install it (Debian/Ubuntu: apt-get install openscad)"
        )
    board_mm = profile["enclosure"]["board_mm"]
    args = [
        exe, "-o", str(out_path), str(SCAD_PATH),
        "-D", f'board="{profile["name"]}"',
        "-D", "board_mm=[{}]".format(", ".join(repr(float(v)) for v in board_mm)),
        "-D", f'part="{part}"',
    ]
    for key, value in (defines or {}).items():
        args += ["-D", f"{key}={float(value)!r}"]
    return args


def _vector(log: str, key: str) -> tuple[float, float, float]:
    for name, body in _ECHO_VECTOR.findall(log):
        if name == key:
            x, y, z = (float(v) for v in body.split(","))
            return (x, y, z)
    raise RenderError(f"OpenSCAD did not echo {key}; check that {SCAD_PATH.name} is intact")


def render(
    profile: dict, out_dir: Path, part: str = "case", defines: dict[str, float] | None = None
) -> Render:
    """Run OpenSCAD for one profile; an empty result is reported, not raised (see the fit check)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    suffix = "" if part == "case" else f"-{part}"
    out_path = out_dir / f"{profile['name']}{suffix}.stl"
    out_path.unlink(missing_ok=True)
    cmd = openscad_command(profile, out_path, part, defines)
    proc = subprocess.run(
        cmd, capture_output=True, text=True, timeout=RENDER_TIMEOUT_S, check=False
    )
    log = proc.stdout + proc.stderr
    empty = _EMPTY_MARK in log.lower()
    if "HIPSENSE_ERROR" in log or (proc.returncode != 0 and not empty):
        raise RenderError(f"openscad failed for {profile['name']} (exit {proc.returncode}):\n{log}")
    return Render(
        board=profile["name"],
        part=part,
        stl_path=out_path if out_path.exists() else None,
        cavity_mm=_vector(log, "HIPSENSE_CAVITY_MM"),
        outer_mm=_vector(log, "HIPSENSE_OUTER_MM"),
        empty=empty,
        log=log,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Render the belt clip of every board profile.")
    parser.add_argument(
        "--out", type=Path, default=STL_DIR, help="output folder (default: hardware/stl)"
    )
    args = parser.parse_args(argv)
    try:
        for profile in load_profiles():
            result = render(profile, args.out)
            cavity = " x ".join(f"{v:g}" for v in result.cavity_mm)
            print(f"{result.stl_path}: cavity {cavity} mm")
    except (RenderError, subprocess.TimeoutExpired) as exc:
        print(f"hardware: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

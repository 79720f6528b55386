"""Board profiles, build documents and the printable belt clip in hardware/.

The profiles are what the firmware reads (firmware/board.py), so they are checked against
hardware/boards/schema.json and against the pin rules of their MCU. The belt clip is rendered
with OpenSCAD for every profile, and the board envelope from the profile must fit its cavity.
"""

from __future__ import annotations

import ast
import copy
import importlib.util
import json
import re
import shutil
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

REPO_DIR = Path(__file__).resolve().parent.parent
HARDWARE_DIR = REPO_DIR / "hardware"
BOARDS_DIR = HARDWARE_DIR / "boards"
SCHEMA = json.loads((BOARDS_DIR / "schema.json").read_text(encoding="utf-8"))
PROFILE_PATHS = sorted(p for p in BOARDS_DIR.glob("*.json") if p.name != "schema.json")
PROFILES = {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in PROFILE_PATHS}
BUILD_DOCS = ("bom.md", "wiring.md", "wiring.svg", "power.md")


# --- a small JSON Schema validator (jsonschema is not a project dependency) -------------------

_SUPPORTED = {
    "$schema",
    "$id",
    "title",
    "description",
    "type",
    "enum",
    "required",
    "properties",
    "additionalProperties",
    "items",
    "minItems",
    "maxItems",
    "minimum",
    "maximum",
    "minLength",
    "pattern",
    "oneOf",
}
_TYPES: dict[str, Any] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
}


def schema_errors(value: Any, schema: dict[str, Any], where: str = "$") -> list[str]:
    """Every violation of `schema` by `value` (the JSON Schema subset the profile schema uses)."""
    unknown = set(schema) - _SUPPORTED
    assert not unknown, f"schema keyword(s) {unknown} at {where} not supported by this checker"
    if "oneOf" in schema:
        matches = [s for s in schema["oneOf"] if not schema_errors(value, s, where)]
        if len(matches) != 1:
            return [f"{where}: matches {len(matches)} of the oneOf alternatives, expected 1"]
    if "type" in schema and not _TYPES[schema["type"]](value):
        return [f"{where}: expected {schema['type']}, got {type(value).__name__}"]
    errors: list[str] = []
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{where}: {value!r} not one of {schema['enum']}")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            errors.append(f"{where}: {value} < minimum {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            errors.append(f"{where}: {value} > maximum {schema['maximum']}")
    if isinstance(value, str):
        if len(value) < schema.get("minLength", 0):
            errors.append(f"{where}: shorter than {schema['minLength']}")
        if "pattern" in schema and not re.search(schema["pattern"], value):
            errors.append(f"{where}: {value!r} does not match {schema['pattern']}")
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0):
            errors.append(f"{where}: fewer than {schema['minItems']} items")
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            errors.append(f"{where}: more than {schema['maxItems']} items")
        for i, item in enumerate(value):
            errors += schema_errors(item, schema.get("items", {}), f"{where}[{i}]")
    if isinstance(value, dict):
        errors += [f"{where}: missing {k!r}" for k in schema.get("required", []) if k not in value]
        props = schema.get("properties", {})
        if schema.get("additionalProperties", True) is False:
            errors += [f"{where}: unknown key {k!r}" for k in value if k not in props]
        for key, sub in props.items():
            if key in value:
                errors += schema_errors(value[key], sub, f"{where}.{key}")
    return errors


# --- the MCUs' pin rules ----------------------------------------------------------------------
# ESP32: GPIO 6-11 belong to the SPI flash, 20/24/28-31 do not exist, 1/3 are the REPL UART,
# 34-39 are input-only, ADC1 is GPIO 32-39 (ADC2 is shared with the Wi-Fi driver).
# ESP32-S3: GPIO 0-21 and 26-48 exist, 26-32 belong to the SPI flash/PSRAM, 19/20 are the
# native USB the S3 builds use for the REPL, ADC1 is GPIO 1-10 (ADC2 is GPIO 11-20).
# Sources: ESP32 Series Datasheet v3.5 (pin overview, ADC); ESP32-S3 Series Datasheet
# (pin overview, ADC); hardware/README.md.

_ESP32_PINS = set(range(0, 6)) | set(range(12, 20)) | {21, 22, 23, 25, 26, 27} | set(range(32, 40))
_MCU_RULES: dict[str, dict[str, set[int]]] = {
    "esp32": {
        "usable": _ESP32_PINS - {1, 3},
        "output": (_ESP32_PINS - {1, 3}) - set(range(34, 40)),
        "adc1": set(range(32, 40)),
    },
    "esp32s3": {
        "usable": (set(range(0, 22)) | set(range(33, 49))) - {19, 20},
        "output": (set(range(0, 22)) | set(range(33, 49))) - {19, 20},
        "adc1": set(range(1, 11)),
    },
}
_IMU_ADDRESSES = {
    "mpu6050": {0x68, 0x69},
    "mpu6500": {0x68, 0x69},
    "mpu6886": {0x68, 0x69},
    "icm42688p": {0x68, 0x69},
    "lsm6ds3": {0x6A, 0x6B},
    "lsm6dsox": {0x6A, 0x6B},
}
# Largest ADC input (mV) the firmware may rely on at the highest attenuation (ESP-IDF v4.4 ADC
# guides): ESP32 11 dB "150 mV ~ 2450 mV"; ESP32-S3 11/12 dB "0 mV ~ 3100 mV", less 200 mV margin.
_ADC_MAX_MV = {"esp32": 2450, "esp32s3": 2900}


def pin_problems(profile: dict[str, Any]) -> list[str]:
    """Pins that the profile's MCU cannot use in the role the profile gives them."""
    rules = _MCU_RULES[profile["mcu"]]
    problems: list[str] = []
    roles: list[tuple[str, int, str]] = [
        ("i2c.scl", profile["i2c"]["scl"], "output"),
        ("i2c.sda", profile["i2c"]["sda"], "output"),
    ]
    for key, field, need in (
        ("button", "pin", "usable"),
        ("led", "pin", "output"),
        ("power_hold", "pin", "output"),
        ("battery", "adc_pin", "adc1"),
    ):
        if profile[key] is not None:
            roles.append((f"{key}.{field}", profile[key][field], need))
    for role, pin, need in roles:
        if pin not in rules["usable"] and need != "adc1":
            problems.append(f"{role}: GPIO{pin} is not usable on {profile['mcu']}")
        elif pin not in rules[need]:
            problems.append(f"{role}: GPIO{pin} cannot serve as {need} on {profile['mcu']}")
    pins = [pin for _, pin, _ in roles]
    shared = sorted({p for p in pins if pins.count(p) > 1})
    problems += [f"GPIO{p} used for two roles" for p in shared]
    chip = profile["imu"]["expected"]
    bad_addr = set(profile["imu"]["addresses"]) - _IMU_ADDRESSES[chip]
    if bad_addr:
        problems.append(f"imu.addresses {sorted(bad_addr)} are not {chip} addresses")
    battery = profile["battery"]
    if battery is not None:
        if battery["full_mv"] <= battery["empty_mv"]:
            problems.append("battery.full_mv must exceed battery.empty_mv")
        if battery["full_mv"] / battery["divider"] > _ADC_MAX_MV[profile["mcu"]]:
            problems.append("battery: full_mv / divider exceeds the ADC's usable input range")
    return problems


# --- profiles ---------------------------------------------------------------------------------


def test_the_three_reference_builds_have_profiles() -> None:
    assert {p["mcu"] for p in PROFILES.values()} == {"esp32", "esp32s3"}
    assert {p["imu"]["expected"] for p in PROFILES.values()} == {"mpu6886", "icm42688p", "mpu6050"}


def test_schema_names_exactly_the_chips_the_firmware_knows() -> None:
    source = (REPO_DIR / "firmware" / "imu" / "__init__.py").read_text(encoding="utf-8")
    assignment = next(
        node
        for node in ast.parse(source).body
        if isinstance(node, ast.Assign)
        and any(isinstance(t, ast.Name) and t.id == "CHIP_NAMES" for t in node.targets)
    )
    firmware_chips = set(ast.literal_eval(assignment.value)) - {"none"}
    assert set(SCHEMA["properties"]["imu"]["properties"]["expected"]["enum"]) == firmware_chips
    assert set(_IMU_ADDRESSES) == firmware_chips


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_profile_matches_schema(name: str) -> None:
    assert schema_errors(PROFILES[name], SCHEMA) == []
    assert PROFILES[name]["name"] == name, "the file name must be the profile's name"


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_profile_pins_suit_the_mcu(name: str) -> None:
    assert pin_problems(PROFILES[name]) == []


@pytest.mark.parametrize("key", SCHEMA["required"])
def test_schema_rejects_a_profile_missing_a_required_key(key: str) -> None:
    broken = copy.deepcopy(PROFILES["m5stickc-plus2"])
    del broken[key]
    assert f"$: missing {key!r}" in schema_errors(broken, SCHEMA)


def _key_paths(node: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    if not isinstance(node, dict):
        return []
    paths: list[tuple[str, ...]] = []
    for key, value in node.items():
        paths.append((*prefix, key))
        paths += _key_paths(value, (*prefix, key))
    return paths


_ALL_KEY_PATHS = sorted({(name, *path) for name, p in PROFILES.items() for path in _key_paths(p)})


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(_ALL_KEY_PATHS))
def test_deleting_any_key_breaks_the_profile_unless_it_is_optional(path: tuple[str, ...]) -> None:
    name, *keys = path
    broken = copy.deepcopy(PROFILES[name])
    node = broken
    for key in keys[:-1]:
        node = node[key]
    del node[keys[-1]]
    errors = schema_errors(broken, SCHEMA)
    assert (errors == []) == (keys == ["enclosure"]), (keys, errors)


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("mcu",), "esp8266"),
        (("schema",), 2),
        (("i2c", "freq_hz"), "400k"),
        (("button",), {"pin": 37}),
        (("led", "active_low"), 0),
        (("battery", "divider"), 0.5),
        (("imu", "addresses"), []),
        (("enclosure", "board_mm"), [48, 24]),
        (("name",), "M5 Stick"),
        (("wifi",), True),
    ],
)
def test_schema_rejects_a_wrong_value(path: tuple[str, ...], value: object) -> None:
    broken = copy.deepcopy(PROFILES["m5stickc-plus2"])
    node = broken
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    assert schema_errors(broken, SCHEMA) != []


@pytest.mark.parametrize(
    ("name", "path", "pin", "complaint"),
    [
        ("m5stickc-plus2", ("led", "pin"), 36, "cannot serve as output"),
        ("m5stickc-plus2", ("power_hold", "pin"), 39, "cannot serve as output"),
        ("m5stickc-plus2", ("battery", "adc_pin"), 26, "cannot serve as adc1"),
        ("m5stickc-plus2", ("i2c", "sda"), 7, "not usable"),
        ("m5stickc-plus2", ("button", "pin"), 22, "used for two roles"),
        ("feathers3-icm42688", ("led", "pin"), 22, "not usable"),
        ("feathers3-icm42688", ("battery", "adc_pin"), 11, "cannot serve as adc1"),
        ("feathers3-icm42688", ("i2c", "scl"), 30, "not usable"),
    ],
)
def test_pin_check_catches_a_wrong_pin(
    name: str, path: tuple[str, str], pin: int, complaint: str
) -> None:
    broken = copy.deepcopy(PROFILES[name])
    broken[path[0]][path[1]] = pin
    assert any(complaint in p for p in pin_problems(broken)), pin_problems(broken)


def test_pin_check_catches_a_divider_too_small_for_the_adc() -> None:
    broken = copy.deepcopy(PROFILES["feathers3-icm42688"])
    broken["battery"]["divider"] = 1.0
    assert any("ADC" in p for p in pin_problems(broken))


def _load_hardware_module(relative_path: str) -> ModuleType:
    """Import a stand-alone script from hardware/ (they are not part of the package)."""
    path = HARDWARE_DIR / relative_path
    spec = importlib.util.spec_from_file_location(f"hipsense_hw_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def _render_module() -> ModuleType:
    return _load_hardware_module("enclosure/render.py")


# --- build documents --------------------------------------------------------------------------


def _profile_pins(profile: dict[str, Any]) -> set[int]:
    pins = {profile["i2c"]["scl"], profile["i2c"]["sda"]}
    for key, field in (
        ("button", "pin"),
        ("led", "pin"),
        ("power_hold", "pin"),
        ("battery", "adc_pin"),
    ):
        if profile[key] is not None:
            pins.add(profile[key][field])
    return pins


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_build_folder_documents_every_profile_pin(name: str) -> None:
    folder = HARDWARE_DIR / name
    for doc in BUILD_DOCS:
        assert (folder / doc).is_file(), f"{folder / doc} is missing"
    wiring = (folder / "wiring.md").read_text(encoding="utf-8")
    svg_root = ET.parse(folder / "wiring.svg").getroot()
    svg_text = " ".join(t for t in svg_root.itertext())
    assert svg_root.tag.endswith("svg")
    for pin in _profile_pins(PROFILES[name]):
        assert re.search(rf"\bGPIO{pin}\b", wiring), f"wiring.md does not mention GPIO{pin}"
        assert re.search(rf"\bGPIO{pin}\b", svg_text), f"wiring.svg does not label GPIO{pin}"


def test_wiring_drawings_are_up_to_date_with_their_script() -> None:
    draw = _load_hardware_module("draw_wiring.py")
    assert {d.build for d in draw.DRAWINGS} == set(PROFILES)
    for drawing in draw.DRAWINGS:
        committed = (HARDWARE_DIR / drawing.build / "wiring.svg").read_text(encoding="utf-8")
        assert committed == draw.render_svg(drawing), (
            f"{drawing.build}/wiring.svg is stale: run python3 hardware/draw_wiring.py"
        )


def test_mounting_drawing_is_valid_svg_with_the_pelvis_axes() -> None:
    root = ET.parse(REPO_DIR / "docs" / "mounting.svg").getroot()
    text = " ".join(root.itertext())
    assert root.tag.endswith("svg")
    for label in ("x anterior", "y left", "z up"):
        assert label in text


# --- the belt clip ----------------------------------------------------------------------------


needs_openscad = pytest.mark.skipif(
    shutil.which("openscad") is None,
    reason="openscad is not on PATH (Debian/Ubuntu: apt-get install openscad)",
)


def _stl_bbox_mm(path: Path) -> tuple[list[float], list[float]]:
    vertices = [
        [float(v) for v in line.split()[1:4]]
        for line in path.read_text(encoding="ascii").splitlines()
        if line.strip().startswith("vertex")
    ]
    assert vertices, f"{path} holds no facets"
    lo = [min(v[i] for v in vertices) for i in range(3)]
    hi = [max(v[i] for v in vertices) for i in range(3)]
    return lo, hi


@needs_openscad
@pytest.mark.parametrize("name", sorted(PROFILES))
def test_clip_renders_and_its_cavity_fits_the_board(name: str, tmp_path: Path) -> None:
    render = _render_module()
    board_mm = PROFILES[name]["enclosure"]["board_mm"]
    result = render.render(PROFILES[name], tmp_path)
    assert result.stl_path is not None and not result.empty
    for axis in range(3):
        slack_mm = result.cavity_mm[axis] - board_mm[axis]
        assert 0.2 <= slack_mm <= 1.0, f"axis {axis}: {slack_mm:.2f} mm of play"
    lo, hi = _stl_bbox_mm(result.stl_path)
    size_mm = [h - low for h, low in zip(hi, lo, strict=True)]
    assert size_mm == pytest.approx(list(result.outer_mm), abs=0.01)
    assert all(size_mm[i] > result.cavity_mm[i] for i in range(3))
    # the board envelope, placed in its seat, overlaps no material of the clip
    fit = render.render(PROFILES[name], tmp_path, part="fitcheck")
    assert fit.empty and fit.stl_path is None, "the board envelope collides with the clip"


@needs_openscad
def test_fit_check_detects_a_cavity_smaller_than_the_board(tmp_path: Path) -> None:
    render = _render_module()
    fit = render.render(
        PROFILES["m5stickc-plus2"], tmp_path, part="fitcheck", defines={"clearance_mm": -0.3}
    )
    assert not fit.empty and fit.stl_path is not None

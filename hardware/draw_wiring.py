"""Draw hardware/<build>/wiring.svg for the three reference builds (run after editing a build).

Each drawing is a board block on the left, the parts it is wired to on the right, and one
coloured line per wire, labelled with the GPIO number the profile in hardware/boards/ uses.
`tests/test_hardware.py` checks that every profile pin appears in the drawing. Standard
library only:  python3 hardware/draw_wiring.py
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

HARDWARE_DIR = Path(__file__).resolve().parent

_ROW_PX = 34
_BOARD_X, _BOARD_W = 20, 250
_PART_X, _PART_W = 520, 360
_WIDTH_PX = 900


@dataclass(frozen=True)
class Wire:
    """One connection: the board's pin label, the part and its pin, the wire colour, a note."""

    board_pin: str
    part: str
    part_pin: str
    colour: str
    note: str = ""


@dataclass(frozen=True)
class Drawing:
    """A wiring drawing: title, the board block's name and the wires in top-to-bottom order."""

    build: str
    title: str
    board: str
    wires: tuple[Wire, ...]
    footer: str


DRAWINGS = (
    Drawing(
        build="m5stickc-plus2",
        title="M5StickC Plus2: internal connections (nothing to wire)",
        board="ESP32-PICO-V3-02",
        wires=(
            Wire("GPIO21 (SDA)", "MPU6886 IMU, 0x68", "SDA", "#1f77b4", "I2C 400 kHz"),
            Wire("GPIO22 (SCL)", "MPU6886 IMU, 0x68", "SCL", "#2ca02c"),
            Wire("GPIO37", "Button A (front)", "to GND", "#7f7f7f", "active low"),
            Wire("GPIO19", "Red LED + IR LED", "anode", "#d62728", "active high"),
            Wire("GPIO38 (ADC1_CH2)", "Battery divider", "VBAT / 2", "#ff7f0e"),
            Wire("GPIO4", "Power-hold latch", "HOLD", "#9467bd", "drive 1 to stay on"),
        ),
        footer="All parts are inside the M5StickC Plus2; this is the map the profile encodes.",
    ),
    Drawing(
        build="feathers3-icm42688",
        title="FeatherS3 + ICM-42688-P breakout: six wires to solder",
        board="UM FeatherS3 (ESP32-S3)",
        wires=(
            Wire("3V3", "ICM-42688-P breakout", "VCC (VDD, VDDIO)", "#d62728", "3.3 V only"),
            Wire("GND", "ICM-42688-P breakout", "GND", "#000000"),
            Wire("GPIO8 (SDA)", "ICM-42688-P breakout", "SDA", "#1f77b4", "I2C 400 kHz"),
            Wire("GPIO9 (SCL)", "ICM-42688-P breakout", "SCL", "#2ca02c"),
            Wire("GND", "ICM-42688-P breakout", "AD0/SDO", "#000000", "address 0x68"),
            Wire("3V3", "ICM-42688-P breakout", "CS", "#d62728", "I2C mode"),
            Wire("GPIO13", "Blue LED (on board)", "", "#7f7f7f", "active high"),
            Wire("GPIO0", "BOOT button (on board)", "", "#7f7f7f", "active low"),
            Wire("GPIO2 (ADC1_CH1)", "VBAT sense (on board)", "VBAT / 3.7624", "#ff7f0e"),
            Wire("JST-PH BAT", "1S LiPo 400 mAh", "+ / -", "#9467bd", "check polarity"),
        ),
        footer="The six wires to the breakout are yours to solder; the rest is on the board.",
    ),
    Drawing(
        build="devkitc-gy521",
        title="ESP32-DevKitC V4 + GY-521 (MPU-6050): five wires and an LED",
        board="ESP32-DevKitC V4",
        wires=(
            Wire("3V3", "GY-521 (MPU-6050)", "VCC", "#d62728", "3.3 V"),
            Wire("GND", "GY-521 (MPU-6050)", "GND", "#000000"),
            Wire("GPIO22 (SCL)", "GY-521 (MPU-6050)", "SCL", "#2ca02c", "I2C 400 kHz"),
            Wire("GPIO21 (SDA)", "GY-521 (MPU-6050)", "SDA", "#1f77b4"),
            Wire("GND", "GY-521 (MPU-6050)", "AD0", "#000000", "address 0x68"),
            Wire("GPIO2", "LED + 330 Ω to GND", "anode", "#ff7f0e", "you add it"),
            Wire("GPIO0", "BOOT button (on board)", "", "#7f7f7f", "active low"),
            Wire("micro-USB", "USB power bank", "5 V", "#9467bd", "power path"),
        ),
        footer="The DevKitC V4 has no user LED: the LED on GPIO2 is part of this build.",
    ),
)


def render_svg(drawing: Drawing) -> str:
    """The SVG text of one drawing."""
    top = 70
    height = top + _ROW_PX * len(drawing.wires) + 70
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_WIDTH_PX}" height="{height}" '
        f'viewBox="0 0 {_WIDTH_PX} {height}" font-family="sans-serif" font-size="13">',
        f"<title>{escape(drawing.title)}</title>",
        f'<rect width="{_WIDTH_PX}" height="{height}" fill="#ffffff"/>',
        f'<text x="20" y="28" font-size="16" font-weight="bold">{escape(drawing.title)}</text>',
        f'<rect x="{_BOARD_X}" y="{top - 20}" width="{_BOARD_W}" '
        f'height="{_ROW_PX * len(drawing.wires) + 20}" rx="8" fill="#eef3fb" stroke="#35507a"/>',
        f'<text x="{_BOARD_X + 12}" y="{top - 4}" font-weight="bold">'
        f"{escape(drawing.board)}</text>",
    ]
    parts: dict[str, list[int]] = {}
    for i, wire in enumerate(drawing.wires):
        y = top + 24 + i * _ROW_PX
        parts.setdefault(wire.part, []).append(y)
        out += [
            f'<text x="{_BOARD_X + _BOARD_W - 10}" y="{y + 4}" text-anchor="end">'
            f"{escape(wire.board_pin)}</text>",
            f'<circle cx="{_BOARD_X + _BOARD_W}" cy="{y}" r="4" fill="{wire.colour}"/>',
            f'<line x1="{_BOARD_X + _BOARD_W}" y1="{y}" x2="{_PART_X}" y2="{y}" '
            f'stroke="{wire.colour}" stroke-width="3"/>',
            f'<circle cx="{_PART_X}" cy="{y}" r="4" fill="{wire.colour}"/>',
            f'<text x="{_PART_X + 10}" y="{y + 4}">{escape(wire.part_pin)}</text>',
        ]
        if wire.note:
            out.append(
                f'<text x="{(_BOARD_X + _BOARD_W + _PART_X) // 2}" y="{y - 6}" '
                f'text-anchor="middle" font-size="11" fill="#444">{escape(wire.note)}</text>'
            )
    for part, ys in parts.items():
        y0, y1 = min(ys) - 14, max(ys) + 14
        out += [
            f'<rect x="{_PART_X}" y="{y0}" width="{_PART_W}" height="{y1 - y0}" rx="6" '
            f'fill="none" stroke="#555"/>',
            f'<text x="{_PART_X + _PART_W - 8}" y="{(y0 + y1) // 2 + 4}" text-anchor="end" '
            f'font-weight="bold">{escape(part)}</text>',
        ]
    out.append(f'<text x="20" y="{height - 20}" fill="#444">{escape(drawing.footer)}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main() -> None:
    for drawing in DRAWINGS:
        path = HARDWARE_DIR / drawing.build / "wiring.svg"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render_svg(drawing), encoding="utf-8")
        print(path)


if __name__ == "__main__":
    main()

"""The one page layout of every hipsense report.

A :class:`Page` holds the header (patient, date, device, firmware, software version), the
verdict in plain words, a table of figures each against its reference band where one exists,
and the charts (or "not applicable" with the reason). :func:`write_page` writes it as one HTML
file with the charts embedded (base64 PNG: the file alone is complete) and as a PDF of the
same made by matplotlib, the header repeated on every PDF page.

Colours follow the gait-lab convention everywhere: left red, right green.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
import math
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hipsense import __version__
from hipsense.analysis.base import board_words, settings_change_words
from hipsense.conventions.symmetry import shown_difference

LEFT_COLOUR = "#d62728"
RIGHT_COLOUR = "#2ca02c"
BOTH_COLOUR = "#505050"
SIDE_COLOURS = {"left": LEFT_COLOUR, "right": RIGHT_COLOUR, "both": BOTH_COLOUR}


NO_PATIENT = "not given"
"""The header's patient when the run is not filed under one."""


@dataclass(frozen=True)
class Header:
    """What every page names."""

    patient: str
    date: str
    device: str
    firmware: str
    software: str
    recording: str = ""
    """The recording file's name ('': a page of many recordings, the progress report)."""

    def items(self) -> list[tuple[str, str]]:
        return [("Patient", self.patient), ("Date", self.date),
                *([("Recording", self.recording)] if self.recording else []),
                ("Device", self.device), ("Firmware", self.firmware),
                ("Software", self.software)]  # fmt: skip

    def line(self) -> str:
        return "   ".join(f"{k}: {v}" for k, v in self.items())

    def names(self) -> str:
        """What tells this document from another in a title: the patient, else the date, else
        (another tool's file, undated) the recording's name."""
        if self.patient != NO_PATIENT:
            return self.patient
        return self.recording if self.date == UNKNOWN and self.recording else self.date


UNKNOWN = "unknown"
NOT_GIVEN = "not given"


def header_for(meta: Any, patient: dict[str, Any] | None) -> Header:
    """The header from a recording's metadata and the patient (None: not filed)."""
    who = NO_PATIENT
    if patient:
        who = str(patient["id"])
        if patient.get("year_of_birth"):
            who += f" (born {patient['year_of_birth']})"
    date = UNKNOWN
    if meta.start_time:
        t = dt.datetime.fromisoformat(meta.start_time.replace("Z", "+00:00"))
        if t.tzinfo is not None:  # shown in the clinic's local time, with its zone
            t = t.astimezone()
        date = t.strftime("%Y-%m-%d %H:%M %Z").strip()
    device = " ".join(x for x in (meta.device_name, f"({meta.device_id})" if meta.device_id
                                  else None) if x) or "unknown"  # fmt: skip
    recorded_with = meta.software_version
    software = f"hipsense {__version__}" + (
        f" (recorded with {recorded_with})" if recorded_with and recorded_with != __version__
        else "")  # fmt: skip
    source = meta.extra.get("source")  # the file another tool wrote (imported recordings)
    recording = Path(source).name if isinstance(source, str) and source else NOT_GIVEN
    return Header(who, date, device, meta.firmware_version or UNKNOWN, software, recording)


@dataclass(frozen=True)
class Row:
    """One figure: left, right, their difference, the reference band and the status; or
    ``whole``, one figure of both sides together (cadence, a double-leg bridge), shown across
    the left and right columns with '—' for a difference that does not exist."""

    label: str
    left: str = ""
    right: str = ""
    difference: str = ""
    reference: str = "no reference band"
    status: str = ""
    whole: str = ""


@dataclass
class Chart:
    """A matplotlib figure, or None with the reason it does not apply."""

    title: str
    figure: Any = None
    not_applicable: str = ""
    caption: str = ""


@dataclass
class Page:
    title: str
    header: Header
    verdict: list[str]
    rows: list[Row] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def board_lines(doc: dict[str, Any]) -> tuple[list[str], list[str]]:
    """From a result's JSON ``board`` section: the caution for the verdict (the sensor's
    stored settings changed during the session, marker 258) and the note of what the sensor
    used at the start."""
    board = doc.get("board") or {}
    changed = settings_change_words(board)
    caution = [f"Caution: {changed}."] if changed else []
    return caution, [board_words(board)]


def pyplot() -> Any:
    """matplotlib's pyplot on the Agg backend (no display, no warnings about one)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _png(figure: Any) -> str:
    buf = io.BytesIO()
    figure.savefig(buf, format="png", dpi=90)
    return base64.b64encode(buf.getvalue()).decode("ascii")


_CSS = """
body{font-family:Helvetica,Arial,sans-serif;max-width:1050px;margin:1.5em auto;color:#222}
header{border-bottom:2px solid #444;padding-bottom:.4em;margin-bottom:1em;font-size:.9em}
header span{margin-right:1.6em}
.verdict{background:#f3f3f3;border-left:6px solid #444;padding:.6em 1em;font-size:1.1em}
table{border-collapse:collapse;margin:1em 0;width:100%}
th,td{border:1px solid #bbb;padding:.3em .5em;text-align:left;font-size:.92em}
th{background:#eee}
.left{color:#d62728;font-weight:bold}.right{color:#2ca02c;font-weight:bold}
.na{color:#777;font-style:italic;border:1px dashed #aaa;padding:1em}
img{max-width:100%}
@media print{header{position:fixed;top:0;background:#fff;width:100%}body{margin-top:4em}}
"""


def render_html(page: Page) -> str:
    """The page as one HTML document; charts embedded as base64 PNG (no external files)."""
    e = html.escape
    head = "".join(f"<span><b>{e(k)}:</b> {e(v)}</span>" for k, v in page.header.items())
    verdict = "".join(f"<p>{e(v)}</p>" for v in page.verdict)
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>{e(page.title)} — {e(page.header.names())}</title><style>{_CSS}</style>",
        f"</head><body><header>{head}</header><h1>{e(page.title)}</h1>",
        f"<h2>Verdict</h2><div class='verdict'>{verdict}</div>",
    ]
    if page.rows:
        parts.append(
            "<h2>Figures</h2><table><tr><th>figure</th><th class='left'>left</th>"
            "<th class='right'>right</th><th>difference (right − left)</th>"
            "<th>reference</th><th>status</th></tr>"
        )
        for r in page.rows:
            sides = (f"<td colspan='2'>{e(_whole(r))}</td>" if r.whole
                     else f"<td>{e(r.left)}</td><td>{e(r.right)}</td>")  # fmt: skip
            parts.append(
                f"<tr><td>{e(r.label)}</td>{sides}<td>{e(_difference(r))}</td>"
                f"<td>{e(r.reference)}</td><td>{e(r.status)}</td></tr>"
            )
        parts.append("</table>")
    for c in page.charts:
        parts.append(f"<h2>{e(c.title)}</h2>")
        if c.figure is None:
            parts.append(f"<p class='na'>Not applicable: {e(c.not_applicable)}</p>")
        else:
            parts.append(f"<img alt='{e(c.title)}' src='data:image/png;base64,{_png(c.figure)}'>")
        if c.caption:
            parts.append(f"<p>{e(c.caption)}</p>")
    if page.notes:
        parts.append("<h2>Notes</h2><ul>" + "".join(f"<li>{e(n)}</li>" for n in page.notes)
                     + "</ul>")  # fmt: skip
    parts.append("</body></html>\n")
    return "".join(parts)


_A4 = (8.27, 11.69)


def _stamp(fig: Any, header: Header, page_no: int, pages: int) -> None:
    """The header line at the top and the page number at the bottom of a PDF page."""
    fig.text(0.04, 0.985, header.line(), fontsize=7, va="top", ha="left", wrap=True)
    fig.text(0.96, 0.01, f"page {page_no} of {pages}", fontsize=7, ha="right", va="bottom")


_COLUMNS = (
    ("figure", 0.04, 34),
    ("left", 0.27, 15),
    ("right", 0.39, 15),
    ("difference (R\u00a0−\u00a0L)", 0.51, 15),  # no-break spaces: "(R − L)" stays whole
    ("reference", 0.63, 30),
    ("status", 0.84, 16),
)
_LINE = 0.0135
_BOTTOM = 0.05


class _Flow:
    """Text laid out top to bottom over as many A4 pages as it takes."""

    def __init__(self, plt: Any) -> None:
        self.plt = plt
        self.figures: list[Any] = []
        self.y = 0.0
        self.new_page()

    def new_page(self) -> None:
        self.figures.append(self.plt.figure(figsize=_A4))
        self.y = 0.955

    @property
    def fig(self) -> Any:
        return self.figures[-1]

    def need(self, height: float) -> None:
        if self.y - height < _BOTTOM:
            self.new_page()

    def text(self, text: str, size: float = 9.5, width: int = 100, x: float = 0.05,
             **style: Any) -> None:  # fmt: skip
        for line in textwrap.wrap(text, width) or [""]:
            self.need(size / 650)
            self.fig.text(x, self.y, line, fontsize=size, va="top", **style)
            self.y -= size / 650
        self.y -= 0.006

    def table(self, rows: list[Row]) -> None:
        """The figures table; a row that does not fit starts a new page under the header."""
        header = tuple(name for name, _, _ in _COLUMNS)

        def wrapped(values: tuple[str, ...]) -> list[list[str]]:
            widths = [w for _, _, w in _COLUMNS]
            if values[1] and not values[2]:  # a whole figure spans the left and right columns
                widths[1] += widths[2]
            return [textwrap.wrap(v, w) or [""] for v, w in zip(values, widths, strict=True)]

        def height(values: tuple[str, ...]) -> float:
            return max(len(c) for c in wrapped(values)) * _LINE + 0.008

        def draw(values: tuple[str, ...], bold: bool = False) -> None:
            for k, (lines, (_, x, _)) in enumerate(zip(wrapped(values), _COLUMNS, strict=True)):
                colour = {1: LEFT_COLOUR, 2: RIGHT_COLOUR}.get(k, "#222") if bold else "#222"
                self.fig.text(x, self.y - 0.004, "\n".join(lines), fontsize=7.3, va="top",
                              linespacing=1.25, color=colour,
                              weight="bold" if bold else "normal")  # fmt: skip
            self.y -= height(values)
            self.fig.add_artist(self.plt.Line2D([0.04, 0.96], [self.y, self.y], lw=0.4,
                                                color="#999"))  # fmt: skip

        self.need(height(header) + (height(self._values(rows[0])) if rows else 0.0))
        draw(header, bold=True)
        for r in rows:
            values = self._values(r)
            if self.y - height(values) < _BOTTOM:
                self.new_page()
                draw(header, bold=True)
            draw(values)
        self.y -= 0.01

    @staticmethod
    def _values(r: Row) -> tuple[str, ...]:
        left, right = (_whole(r), "") if r.whole else (r.left, r.right)
        return (r.label, left, right, _difference(r), r.reference, r.status)


def _whole(r: Row) -> str:
    """A whole figure's cell, saying it is both sides' (under the left column's red header it
    would read as the left side's)."""
    return f"{r.whole} (both sides)"


def _difference(r: Row) -> str:
    """The difference cell: '—' for a whole figure (it has no sides to subtract)."""
    return "—" if r.whole else r.difference


def _text_pages(plt: Any, page: Page) -> list[Any]:
    """Title, verdict, the figures table and the notes, over as many pages as needed."""
    flow = _Flow(plt)
    flow.text(page.title, size=18, x=0.04, weight="bold")
    flow.text("Verdict", size=13, x=0.04, weight="bold")
    for v in page.verdict:
        flow.text(v, size=9.5, width=95)
    if page.rows:
        flow.y -= 0.01
        flow.text("Figures", size=13, x=0.04, weight="bold")
        flow.table(page.rows)
    if page.notes:
        flow.text("Notes", size=11, x=0.04, weight="bold")
        for n in page.notes:
            flow.text(n, size=7.5, width=120)
    return flow.figures


def _chart_page(plt: Any, chart: Chart) -> Any:
    fig = plt.figure(figsize=_A4)
    fig.text(0.04, 0.95, chart.title, fontsize=13, weight="bold", va="top")
    if chart.figure is None:
        fig.text(0.05, 0.9, f"Not applicable: {chart.not_applicable}", fontsize=10,
                 style="italic", va="top", color="#666")  # fmt: skip
    else:
        buf = io.BytesIO()
        chart.figure.savefig(buf, format="png", dpi=150)
        buf.seek(0)
        image = plt.imread(buf)
        h, w = image.shape[:2]
        width = 0.92
        height = min(width * h / w * _A4[0] / _A4[1], 0.8)
        ax = fig.add_axes((0.04, 0.92 - height, width, height))
        ax.imshow(image)
        ax.axis("off")
        if chart.caption:
            y = 0.9 - height
            for line in textwrap.wrap(chart.caption, 110):
                fig.text(0.05, y, line, fontsize=8, va="top")
                y -= 0.016
    return fig


def write_page(page: Page, base: Path) -> tuple[Path, Path]:
    """Write ``base.html`` and ``base.pdf``; returns both paths. Closes the chart figures."""
    from matplotlib.backends.backend_pdf import PdfPages

    plt = pyplot()
    base.parent.mkdir(parents=True, exist_ok=True)
    html_path = base.with_name(base.name + ".html")
    pdf_path = base.with_name(base.name + ".pdf")
    html_path.write_text(render_html(page), encoding="utf-8")
    pages = _text_pages(plt, page) + [_chart_page(plt, c) for c in page.charts]
    info = {"Title": f"{page.title} — {page.header.names()}", "Subject": page.header.line(),
            "Creator": f"hipsense {__version__}"}  # fmt: skip
    with PdfPages(pdf_path, metadata=info) as pdf:
        for k, fig in enumerate(pages, 1):
            _stamp(fig, page.header, k, len(pages))
            pdf.savefig(fig)
            plt.close(fig)
    for c in page.charts:
        if c.figure is not None:
            plt.close(c.figure)
    return html_path, pdf_path


def fmt_difference(a: float | None, b: float | None, unit: str, digits: int = 1) -> str:
    """a − b signed, as the difference of the values :func:`fmt` shows for a and b
    (:func:`~hipsense.conventions.symmetry.shown_difference`); '—' when either is missing."""
    if a is None or b is None or not (math.isfinite(a) and math.isfinite(b)):
        return "—"
    return fmt(shown_difference(a, b, digits), unit, digits, sign=True)


def fmt(value: float | None, unit: str, digits: int = 1, sign: bool = False) -> str:
    """A number with its unit, '—' for none (or a non-finite one: never "nan" on a page)."""
    if value is None or not math.isfinite(value):
        return "—"
    value = round(value, digits) + 0.0  # never "-0.0": a direction that is not there
    text = f"{value:+.{digits}f}" if sign else f"{value:.{digits}f}"
    return f"{text}{unit}" if unit == "°" else f"{text} {unit}"

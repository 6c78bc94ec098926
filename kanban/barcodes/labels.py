"""Bin labels: PNG, SVG, PDF sheets and ZPL for Zebra printers (DESIGN §5).

A label carries the bin code as a Code 128 barcode and in large type, then the item name,
SKU, zone, card and order quantities and the supplier.

The barcode geometry is what matters: a scanner reads the ratio of bar widths, so every
module (the narrowest bar or space) is a whole number of printer dots at the resolution
the label is printed at. Nothing is scaled to a fractional width or resampled. The module
width is the largest number of dots that fits the label's printable width together with a
quiet zone of at least ten modules on each side; when not even one dot fits,
:class:`LabelError` is raised rather than printing a barcode that cannot be read.

* PNG: drawn at the dpi with Pillow, bars as exact pixel runs.
* SVG: a ``viewBox`` in printer dots at the preset's dpi, bars as integer rectangles.
* PDF: vector rectangles in a coordinate system of printer dots, placed on the page's dot
  grid, so each bar is exactly a multiple of 25.4/dpi mm wide.
* ZPL: the printer draws a native ``^BC`` barcode with ``^BY`` set to the module width.

Print PDFs at 100 % ("actual size"): "fit to page" rescales the bars.
"""

from __future__ import annotations

import functools
import io
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree as ET

from PIL import Image, ImageDraw, ImageFont
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFError, TTFont
from reportlab.pdfgen.canvas import Canvas

from kanban.barcodes import code128
from kanban.barcodes.zpl import HEX_INDICATOR, clean_text, escape_field_data
from kanban.domain.codes import BIN_CODE_RE

__all__ = [
    "MAX_MODULE_DOTS",
    "PNG_DPI_RANGE",
    "PRESETS",
    "QUIET_ZONE_MODULES",
    "ZPL_DPIS",
    "BarcodeGeometry",
    "LabelData",
    "LabelError",
    "Preset",
    "barcode_geometry",
    "code128_modules",
    "render_pdf",
    "render_png",
    "render_svg",
    "render_zpl",
    "zpl_code128_modules",
]

MM_PER_INCH = 25.4
PT_PER_INCH = 72.0

#: Resolutions a ZPL job can be built for (the two common Zebra print heads).
ZPL_DPIS = (203, 300)
#: Resolutions a PNG may be rendered at.
PNG_DPI_RANGE = (72, 1200)
#: Quiet zone on each side of the barcode, in modules (ISO/IEC 15417 asks for 10).
QUIET_ZONE_MODULES = 10
#: ZPL's ``^BY`` accepts module widths of 1–10 dots. The other formats use the same
#: ceiling up to 300 dpi (so a label looks the same whatever it is rendered to) and scale
#: it above, so a 600 dpi PNG is not half the size of a 300 dpi one.
MAX_MODULE_DOTS = 10
MAX_COPIES = 100

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
FONT_REGULAR = FONT_DIR / "DejaVuSans.ttf"
FONT_BOLD = FONT_DIR / "DejaVuSans-Bold.ttf"
SVG_FONT_FAMILY = "'DejaVu Sans', Verdana, Arial, sans-serif"

# DejaVu Sans ascent/descent as fractions of the em: a text line box of
# LINE_EM * size holds any glyph, with the baseline ASCENT_EM * size below its top.
ASCENT_EM = 0.93
LINE_EM = 1.17
ELLIPSIS = "…"


class LabelError(ValueError):
    """A label cannot be rendered as asked (bad preset, option, dpi or bin code)."""


@dataclass(frozen=True)
class LabelData:
    """What is printed on one bin label."""

    code: str  # bin code, e.g. "A-01-03"
    item_name: str
    sku: str
    zone: str
    card_quantity: int
    order_quantity: int
    supplier: str
    unit: str = "ea"


@dataclass(frozen=True)
class Preset:
    """A label stock: page size, label size and how labels are laid out on the page."""

    name: str
    title: str
    page_width_mm: float
    page_height_mm: float
    label_width_mm: float
    label_height_mm: float
    columns: int
    rows: int
    margin_left_mm: float
    margin_top_mm: float
    gap_x_mm: float
    gap_y_mm: float
    dpi: int

    @property
    def per_page(self) -> int:
        """Labels on one page (one for a roll)."""
        return self.columns * self.rows

    def label_origin_mm(self, position: int) -> tuple[float, float]:
        """Top-left corner (x, y from the page's top-left) of 1-based ``position``.

        Positions run row by row: 1, 2, 3 across the first row, then the second row.
        """
        if not 1 <= position <= self.per_page:
            raise LabelError(f"position must be 1..{self.per_page} for {self.name}")
        row, col = divmod(position - 1, self.columns)
        return (
            self.margin_left_mm + col * (self.label_width_mm + self.gap_x_mm),
            self.margin_top_mm + row * (self.label_height_mm + self.gap_y_mm),
        )


def _inch(value: float) -> float:
    return value * MM_PER_INCH


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        # Avery L7159 / J8159 and compatible 24-up A4 sheets.
        Preset("a4-3x8", "A4 sheet, 3 × 8 labels 63.5 × 33.9 mm (L7159)",
               210.0, 297.0, 63.5, 33.9, 3, 8, 7.2, 12.9, 2.5, 0.0, 300),
        # Avery 5160 and compatible 30-up US Letter sheets.
        Preset("letter-3x10", "US Letter sheet, 3 × 10 labels 2.625 × 1 in (5160)",
               _inch(8.5), _inch(11), _inch(2.625), _inch(1), 3, 10,
               _inch(0.1875), _inch(0.5), _inch(0.125), 0.0, 300),
        Preset("thermal-4x6", "Thermal roll, 4 × 6 in",
               _inch(4), _inch(6), _inch(4), _inch(6), 1, 1, 0.0, 0.0, 0.0, 0.0, 203),
        Preset("thermal-2x1", "Thermal roll, 2 × 1 in",
               _inch(2), _inch(1), _inch(2), _inch(1), 1, 1, 0.0, 0.0, 0.0, 0.0, 203),
    )
}  # fmt: skip


# --------------------------------------------------------------------------- validation


def _preset(name: str) -> Preset:
    try:
        return PRESETS[name]
    except (KeyError, TypeError):
        known = ", ".join(PRESETS)
        raise LabelError(f"unknown label preset {name!r} (known: {known})") from None


def _check_code(code: object) -> str:
    if not isinstance(code, str) or not BIN_CODE_RE.fullmatch(code):
        raise LabelError(
            f"{code!r} is not a valid bin code (A–Z, 0–9 and . _ / -, starting with a "
            "letter or digit, at most 16 characters)"
        )
    return code


def _check_int(value: object, name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise LabelError(f"{name} must be a whole number from {low} to {high}, not {value!r}")
    return value


def _dots(mm: float, dpi: int) -> float:
    return mm * dpi / MM_PER_INCH


# --------------------------------------------------------------------------- geometry


@functools.lru_cache(maxsize=4096)
def code128_modules(code: str) -> str:
    """The Code 128 module string (``1`` bar, ``0`` space) of a bin code, quiet zones excluded.

    It comes from python-barcode's encoder (start code, data, checksum, stop pattern).
    """
    return code128.encode(_check_code(code))


@dataclass(frozen=True)
class BarcodeGeometry:
    """Where the bars of one label go, in printer dots from the label's top-left corner."""

    pattern: str  # module string, "1" = bar
    module_dots: int
    dpi: int
    left_dots: int
    top_dots: int
    height_dots: int

    @property
    def width_dots(self) -> int:
        """Width of the bars from the first to the last, quiet zones excluded."""
        return len(self.pattern) * self.module_dots

    @property
    def module_mm(self) -> float:
        """Module width in millimetres."""
        return self.module_dots * MM_PER_INCH / self.dpi

    def bar_runs(self) -> list[tuple[int, int]]:
        """Each bar as (x offset from ``left_dots``, width), both in whole dots."""
        m = self.module_dots
        return [(start * m, width * m) for start, width in code128.bar_runs(self.pattern)]


def _fit_module(n_modules: int, preset: Preset, dpi: int, code: str) -> int:
    """Largest module width in dots for ``n_modules`` plus quiet zones in the printable width."""
    layout = _layout(preset.name)
    usable = math.floor(_dots(layout.inner_w, dpi) + 1e-6)
    ceiling = MAX_MODULE_DOTS * max(1, dpi // 300)
    module = min(usable // (n_modules + 2 * QUIET_ZONE_MODULES), ceiling)
    if module < 1:
        raise LabelError(
            f"bin code {code!r} is too long for a readable barcode on a {preset.name} label "
            f"at {dpi} dpi ({n_modules} modules + quiet zones need more than {usable} dots)"
        )
    return module


def _place(n_modules: int, preset: Preset, dpi: int, code: str) -> BarcodeGeometry:
    layout = _layout(preset.name)
    module = _fit_module(n_modules, preset, dpi, code)
    label_w = round(_dots(preset.label_width_mm, dpi))
    return BarcodeGeometry(
        pattern="",
        module_dots=module,
        dpi=dpi,
        # Centred; the printable width already leaves >= 10 modules each side.
        left_dots=(label_w - n_modules * module) // 2,
        top_dots=round(_dots(layout.bar_top, dpi)),
        height_dots=round(_dots(layout.bar_height, dpi)),
    )


@functools.lru_cache(maxsize=4096)
def barcode_geometry(code: str, preset: str = "a4-3x8", dpi: int | None = None) -> BarcodeGeometry:
    """The barcode of ``code`` on a ``preset`` label rendered at ``dpi`` (default: preset's).

    Raises :class:`LabelError` for an invalid code or one too long to fit.
    """
    p = _preset(preset)
    dpi = p.dpi if dpi is None else dpi
    pattern = code128_modules(code)
    placed = _place(len(pattern), p, dpi, code)
    return BarcodeGeometry(
        pattern, placed.module_dots, dpi, placed.left_dots, placed.top_dots, placed.height_dots
    )


def zpl_code128_modules(code: str) -> int:
    """Modules of the ``^BC`` symbol a Zebra prints for a bin code.

    ``^BC`` in mode N encodes every character in subset B: start, one symbol per
    character, checksum (11 modules each) and the 13-module stop pattern.
    """
    return 11 * (len(_check_code(code)) + 2) + 13


# --------------------------------------------------------------------------- layout


@dataclass(frozen=True)
class _Layout:
    """Positions on a label in millimetres from its top-left corner (baselines for text)."""

    pad: float
    inner_w: float
    code_size: float  # largest size of the code text; it shrinks to fit the width
    code_baseline: float
    bar_top: float
    bar_height: float
    item_size: float
    item_baseline: float
    item_lines: int  # the item name may wrap onto a second line on tall labels
    detail_size: float
    detail_baselines: tuple[float, float, float]
    col_gap: float


@functools.cache
def _layout(preset_name: str) -> _Layout:
    """Stack code, barcode, item name and three detail lines inside the label.

    Sizes follow the label: text is limited by the height (so everything fits) and by the
    width (so a 4 × 6 in label does not get poster-sized type); the barcode takes the
    height left over, up to 0.4 × its width, and spare height is shared between the gaps.
    """
    p = PRESETS[preset_name]
    w, h = p.label_width_mm, p.label_height_mm
    # Die-cut sheets drift by a millimetre or so and thermal heads cannot print to the
    # edge, so nothing is printed within `pad` of the label's edge.
    pad = min(max(0.06 * min(w, h), 1.5), 4.0)
    inner_w, inner_h = w - 2 * pad, h - 2 * pad
    detail = min(0.095 * inner_h, inner_w / 22)
    item = 1.2 * detail
    code = min(0.17 * inner_h, inner_w / 8)
    gap = 0.4 * detail
    text_h = LINE_EM * (code + item + 3 * detail)
    bar_h = min(inner_h - text_h - 2 * gap, 0.4 * inner_w)
    if bar_h < 4.0:  # a preset this cramped is a programming error, not user input
        raise LabelError(f"preset {preset_name} leaves no room for a barcode")
    # Item names are the longest text; where height is to spare they get two lines.
    item_lines = 2 if inner_h - text_h - 2 * gap - bar_h >= 1.5 * LINE_EM * item else 1
    text_h += (item_lines - 1) * LINE_EM * item
    slack = (inner_h - text_h - 2 * gap - bar_h) / 4
    y = pad + slack
    code_baseline = y + ASCENT_EM * code
    y += LINE_EM * code + gap + slack
    bar_top = y
    y += bar_h + gap + slack
    item_baseline = y + ASCENT_EM * item
    y += LINE_EM * item * item_lines
    baselines = tuple(y + LINE_EM * detail * i + ASCENT_EM * detail for i in range(3))
    return _Layout(
        pad=pad,
        inner_w=inner_w,
        code_size=code,
        code_baseline=code_baseline,
        bar_top=bar_top,
        bar_height=bar_h,
        item_size=item,
        item_baseline=item_baseline,
        item_lines=item_lines,
        detail_size=detail,
        detail_baselines=(baselines[0], baselines[1], baselines[2]),
        col_gap=detail,
    )


@dataclass(frozen=True)
class _Text:
    """One piece of text: x (left edge, or centre when ``centre``) and baseline in mm."""

    text: str
    x: float
    baseline: float
    size: float
    width: float  # room available, mm
    bold: bool = False
    centre: bool = False
    shrink: bool = False  # shrink to fit instead of truncating (the bin code)
    lines: int = 1  # wrap onto up to this many lines, each LINE_EM * size below the last


def _texts(label: LabelData, preset: Preset) -> list[_Text]:
    lay = _layout(preset.name)
    left = lay.pad
    half = (lay.inner_w - lay.col_gap) / 2
    right = lay.pad + half + lay.col_gap
    unit = clean_text(label.unit)
    d = lay.detail_size
    b1, b2, b3 = lay.detail_baselines

    def val(v: object) -> str:
        return clean_text(v) or "—"

    return [
        _Text(label.code, preset.label_width_mm / 2, lay.code_baseline, lay.code_size,
              lay.inner_w, bold=True, centre=True, shrink=True),
        _Text(val(label.item_name), left, lay.item_baseline, lay.item_size, lay.inner_w,
              bold=True, lines=lay.item_lines),
        _Text(f"SKU: {val(label.sku)}", left, b1, d, half),
        _Text(f"Zone: {val(label.zone)}", right, b1, d, half),
        _Text(f"Card qty: {label.card_quantity} {unit}".rstrip(), left, b2, d, half),
        _Text(f"Order qty: {label.order_quantity} {unit}".rstrip(), right, b2, d, half),
        _Text(f"Supplier: {val(label.supplier)}", left, b3, d, lay.inner_w),
    ]  # fmt: skip


def _fit(text: str, max_width: float, measure: Callable[[str], float]) -> str:
    """``text``, or its longest prefix plus an ellipsis, that measures at most ``max_width``."""
    if measure(text) <= max_width:
        return text
    lo, hi = 0, len(text)  # invariant: prefix of length lo fits (0 always "fits")
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if measure(text[:mid].rstrip() + ELLIPSIS) <= max_width:
            lo = mid
        else:
            hi = mid - 1
    return text[:lo].rstrip() + ELLIPSIS if lo else ""


def _wrap(text: str, max_width: float, measure: Callable[[str], float], lines: int) -> list[str]:
    """Break ``text`` at spaces (or anywhere, for a word too long) into at most ``lines``
    lines that each measure at most ``max_width``; the last one ends in an ellipsis if
    text is left over."""
    out: list[str] = []
    rest = text
    while rest and len(out) < lines - 1 and measure(rest) > max_width:
        line = ""
        for word in rest.split(" "):
            candidate = f"{line} {word}" if line else word
            if measure(candidate) > max_width:
                break
            line = candidate
        if not line:  # the first word alone is too wide: break it
            line = _fit(rest, max_width, measure)[:-1] or rest[:1]
        out.append(line)
        rest = rest[len(line) :].lstrip()
    if rest:
        out.append(_fit(rest, max_width, measure))
    return out


def _text_lines(t: _Text, max_width: float, measure: Callable[[str], float]) -> list[str]:
    return _wrap(t.text, max_width, measure, t.lines)


# --------------------------------------------------------------------------- fonts


@functools.cache
def _rl_fonts() -> tuple[str, str]:
    """reportlab font names (regular, bold): DejaVu Sans, or Helvetica if it is missing."""
    try:
        pdfmetrics.registerFont(TTFont("DejaVuSans", str(FONT_REGULAR)))
        pdfmetrics.registerFont(TTFont("DejaVuSans-Bold", str(FONT_BOLD)))
    except (OSError, TTFError):
        return ("Helvetica", "Helvetica-Bold")
    return ("DejaVuSans", "DejaVuSans-Bold")


def _rl_text(text: str, font: str) -> str:
    # The built-in Helvetica fallback only has WinAnsi glyphs.
    if font.startswith("Helvetica"):
        return text.encode("cp1252", "replace").decode("cp1252")
    return text


@functools.lru_cache(maxsize=256)
def _pil_font(bold: bool, px: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    try:
        return ImageFont.truetype(str(FONT_BOLD if bold else FONT_REGULAR), px)
    except OSError:
        return ImageFont.load_default(px)


def _rl_width(text: str, bold: bool, size: float) -> float:
    regular, bold_name = _rl_fonts()
    font = bold_name if bold else regular
    return pdfmetrics.stringWidth(_rl_text(text, font), font, size)


# --------------------------------------------------------------------------- PNG


def _label_image(label: LabelData, preset: Preset, dpi: int) -> Image.Image:
    geom = barcode_geometry(_check_code(label.code), preset.name, dpi)
    width = round(_dots(preset.label_width_mm, dpi))
    height = round(_dots(preset.label_height_mm, dpi))
    img = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(img)
    top, bottom = geom.top_dots, geom.top_dots + geom.height_dots - 1
    for x, w in geom.bar_runs():
        x0 = geom.left_dots + x
        # Pillow rectangles include both corners, hence the -1.
        draw.rectangle((x0, top, x0 + w - 1, bottom), fill=0)
    for t in _texts(label, preset):
        max_w = _dots(t.width, dpi)
        px = max(round(_dots(t.size, dpi)), 1)
        font = _pil_font(t.bold, px)
        lines = [t.text]
        if t.shrink:
            while px > 4 and font.getlength(t.text) > max_w:
                px = max(4, min(px - 1, int(px * max_w / font.getlength(t.text))))
                font = _pil_font(t.bold, px)
        else:
            lines = _text_lines(t, max_w, font.getlength)
        for i, text in enumerate(lines):
            draw.text(
                (_dots(t.x, dpi), _dots(t.baseline + i * LINE_EM * t.size, dpi)),
                text,
                font=font,
                fill=0,
                anchor="ms" if t.centre else "ls",
            )
    return img


def render_png(label: LabelData, *, preset: str = "a4-3x8", dpi: int | None = None) -> bytes:
    """One label as a greyscale PNG of the preset's label size at ``dpi``.

    ``dpi`` defaults to the preset's (300 for sheets, 203 for thermal) and may be anything
    in :data:`PNG_DPI_RANGE`; the barcode's modules are whole pixels at that dpi, and the
    PNG records the dpi so it prints at its physical size.
    """
    p = _preset(preset)
    dpi = p.dpi if dpi is None else _check_int(dpi, "dpi", *PNG_DPI_RANGE)
    img = _label_image(label, p, dpi)
    buf = io.BytesIO()
    img.save(buf, "PNG", dpi=(dpi, dpi))
    return buf.getvalue()


# --------------------------------------------------------------------------- SVG


def _num(value: float) -> str:
    return f"{value:.3f}".rstrip("0").rstrip(".")


def render_svg(label: LabelData, *, preset: str = "a4-3x8") -> str:
    """One label as SVG text, sized in millimetres, drawn in printer dots at the preset dpi.

    Bars are ``<rect>`` elements with integer positions and widths in the ``viewBox``
    (one unit = one dot), grouped in ``<g id="barcode">``.
    """
    p = _preset(preset)
    dpi = p.dpi
    geom = barcode_geometry(_check_code(label.code), p.name, dpi)
    vw, vh = _dots(p.label_width_mm, dpi), _dots(p.label_height_mm, dpi)
    svg = ET.Element(
        "svg",
        {
            "xmlns": "http://www.w3.org/2000/svg",
            "version": "1.1",
            "width": f"{_num(p.label_width_mm)}mm",
            "height": f"{_num(p.label_height_mm)}mm",
            "viewBox": f"0 0 {_num(vw)} {_num(vh)}",
        },
    )
    ET.SubElement(svg, "title").text = label.code
    ET.SubElement(svg, "rect", {"width": "100%", "height": "100%", "fill": "#fff"})
    bars = ET.SubElement(
        svg,
        "g",
        {
            "id": "barcode",
            "fill": "#000",
            "shape-rendering": "crispEdges",
            "data-code": label.code,
            "data-module-dots": str(geom.module_dots),
            "data-dpi": str(dpi),
        },
    )
    for x, w in geom.bar_runs():
        ET.SubElement(
            bars,
            "rect",
            {
                "x": str(geom.left_dots + x),
                "y": str(geom.top_dots),
                "width": str(w),
                "height": str(geom.height_dots),
            },
        )
    texts = ET.SubElement(svg, "g", {"font-family": SVG_FONT_FAMILY, "fill": "#000"})
    for t in _texts(label, p):
        size = _dots(t.size, dpi)
        max_w = _dots(t.width, dpi)
        lines = [t.text]
        if t.shrink:
            size = min(size, size * max_w / max(_rl_width(t.text, t.bold, size), 1e-9))
        else:
            lines = _text_lines(t, max_w, functools.partial(_rl_width, bold=t.bold, size=size))
        for i, text in enumerate(lines):
            attrs = {
                "x": _num(_dots(t.x, dpi)),
                "y": _num(_dots(t.baseline + i * LINE_EM * t.size, dpi)),
                "font-size": _num(size),
            }
            if t.bold:
                attrs["font-weight"] = "bold"
            if t.centre:
                attrs["text-anchor"] = "middle"
            ET.SubElement(texts, "text", attrs).text = text
    return ET.tostring(svg, encoding="unicode", xml_declaration=False)


# --------------------------------------------------------------------------- PDF


def _draw_pdf_label(
    canvas: Canvas,
    label: LabelData,
    preset: Preset,
    position: int,
    page_h_pt: float,
) -> None:
    dpi = preset.dpi
    geom = barcode_geometry(label.code, preset.name, dpi)
    x_mm, y_mm = preset.label_origin_mm(position)
    # Bars: a coordinate system of printer dots (origin bottom-left) and the barcode
    # snapped to the page's dot grid counted from the top-left, where printers and
    # rasterisers start, so every edge falls on a dot boundary.
    page_h_dots = page_h_pt * dpi / PT_PER_INCH
    left = round(_dots(x_mm, dpi)) + geom.left_dots
    top = round(_dots(y_mm, dpi)) + geom.top_dots
    y = page_h_dots - top - geom.height_dots
    canvas.saveState()
    canvas.scale(PT_PER_INCH / dpi, PT_PER_INCH / dpi)
    path = canvas.beginPath()
    for x, w in geom.bar_runs():
        path.rect(left + x, y, w, geom.height_dots)
    canvas.drawPath(path, stroke=0, fill=1)
    canvas.restoreState()

    regular, bold = _rl_fonts()
    to_pt = PT_PER_INCH / MM_PER_INCH
    for t in _texts(label, preset):
        font = bold if t.bold else regular
        size = t.size * to_pt
        max_w = t.width * to_pt
        lines = [_rl_text(t.text, font)]
        if t.shrink:
            width = pdfmetrics.stringWidth(lines[0], font, size)
            size = min(size, size * max_w / max(width, 1e-9))
        else:
            lines = _text_lines(t, max_w, functools.partial(_rl_width, bold=t.bold, size=size))
        canvas.setFont(font, size)
        tx = (x_mm + t.x) * to_pt
        for i, text in enumerate(lines):
            ty = page_h_pt - (y_mm + t.baseline + i * LINE_EM * t.size) * to_pt
            if t.centre:
                canvas.drawCentredString(tx, ty, _rl_text(text, font))
            else:
                canvas.drawString(tx, ty, _rl_text(text, font))


def render_pdf(
    labels: Sequence[LabelData],
    *,
    preset: str = "a4-3x8",
    copies: int = 1,
    start_position: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> bytes:
    """Labels laid out on the preset's pages as a PDF.

    Each label is printed ``copies`` times in a row (1–100). ``start_position`` (1-based,
    row by row) is where the first label goes on the first page, so a partly used sheet
    can be fed again; the positions before it stay blank. Roll presets have one label per
    page. ``progress(done, total)`` is called after each label is placed, ``total`` being
    ``len(labels) * copies``. Every label is checked before anything is drawn.
    """
    p = _preset(preset)
    copies = _check_int(copies, "copies", 1, MAX_COPIES)
    start_position = _check_int(start_position, "start_position", 1, p.per_page)
    labels = list(labels)
    if not labels:
        raise LabelError("no labels to print")
    for label in labels:
        barcode_geometry(_check_code(label.code), p.name, p.dpi)  # fits? raise before drawing

    to_pt = PT_PER_INCH / MM_PER_INCH
    page_w, page_h = p.page_width_mm * to_pt, p.page_height_mm * to_pt
    buf = io.BytesIO()
    # invariant=1: no timestamps or random IDs, so the same labels give the same bytes.
    canvas = Canvas(buf, pagesize=(page_w, page_h), pageCompression=1, invariant=1)
    canvas.setTitle("Bin labels")
    canvas.setCreator("kanban-board")
    canvas.setFillGray(0)
    total = len(labels) * copies
    slot = start_position
    done = 0
    for label in labels:
        for _ in range(copies):
            if slot > p.per_page:
                canvas.showPage()
                canvas.setFillGray(0)
                slot = 1
            _draw_pdf_label(canvas, label, p, slot, page_h)
            slot += 1
            done += 1
            if progress is not None:
                progress(done, total)
    canvas.showPage()
    canvas.save()
    return buf.getvalue()


# --------------------------------------------------------------------------- ZPL


def _zpl_text_width(text: str, height: int) -> float:
    # The printer's font 0 is a condensed face; DejaVu Sans Bold is wider for every glyph,
    # so measuring with it never lets text overrun its field block.
    return _rl_width(text, True, height)


def render_zpl(
    labels: Sequence[LabelData],
    *,
    preset: str = "thermal-4x6",
    dpi: int = 203,
    copies: int = 1,
) -> str:
    """Labels as a ZPL II job: one ``^XA … ^XZ`` format per label, ``^PQ`` for copies.

    ``dpi`` is the print head's resolution (203 or 300). Any preset may be used; its
    single-label size sets ``^PW``/``^LL`` (sheet layout does not apply to a roll
    printer). The barcode is a native ``^BC`` (subset B) with ``^BY`` set to the largest
    module width, in dots, that fits with its quiet zones. Text uses font ``^A0`` in
    ``^FB`` blocks and goes through ``^FH`` hex escapes so ``^`` and ``~`` in item names
    cannot inject commands.
    """
    p = _preset(preset)
    if dpi not in ZPL_DPIS:
        raise LabelError(f"ZPL dpi must be one of {ZPL_DPIS}, not {dpi!r}")
    copies = _check_int(copies, "copies", 1, MAX_COPIES)
    labels = list(labels)
    if not labels:
        raise LabelError("no labels to print")
    width = round(_dots(p.label_width_mm, dpi))
    length = round(_dots(p.label_height_mm, dpi))
    places = {lbl.code: _place(zpl_code128_modules(lbl.code), p, dpi, lbl.code) for lbl in labels}
    out: list[str] = []
    for label in labels:
        geom = places[label.code]
        lines = ["^XA", "^CI28", f"^PW{width}", f"^LL{length}", "^LH0,0"]
        for t in _texts(label, p):
            size = max(round(_dots(t.size, dpi)), 10)  # ^A0 is unreadable below ~10 dots
            block = math.floor(_dots(t.width, dpi))
            texts = [t.text]
            if t.shrink:
                fit = block / max(_zpl_text_width(t.text, size), 1e-9)
                size = max(10, min(size, math.floor(size * fit)))
            else:
                measure = functools.partial(_zpl_text_width, height=size)
                texts = _text_lines(t, block, measure)
            x = round(_dots(t.x - t.width / 2 if t.centre else t.x, dpi))
            for i, text in enumerate(texts):
                # One field per line: ^FB wrapping is the printer's, and could overrun.
                top = round(_dots(t.baseline + (i * LINE_EM - ASCENT_EM) * t.size, dpi))
                lines.append(
                    f"^FO{x},{max(top, 0)}^A0N,{size},{size}"
                    f"^FB{block},1,0,{'C' if t.centre else 'L'},0"
                    f"^FH{HEX_INDICATOR}^FD{escape_field_data(text)}^FS"
                )
        lines.append(
            f"^FO{geom.left_dots},{geom.top_dots}^BY{geom.module_dots},2,{geom.height_dots}"
            f"^BCN,{geom.height_dots},N,N,N,N^FD{label.code}^FS"
        )
        lines.append(f"^PQ{copies},0,1,N")
        lines.append("^XZ")
        out.append("\n".join(lines))
    return "\n".join(out) + "\n"

"""The text on a label: what each line says, where it goes, and how it is fitted.

Lines are fitted to their room by measuring them with the font they are drawn in
(DejaVu Sans, or Helvetica in PDFs when DejaVu is missing): the bin code shrinks, other
text wraps or ends in an ellipsis.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PIL import ImageFont
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFError, TTFont

from kanban.barcodes.label_geometry import label_layout
from kanban.barcodes.label_presets import LabelData, Preset
from kanban.barcodes.zpl import clean_text

__all__ = [
    "SVG_FONT_FAMILY",
    "Text",
    "label_texts",
    "pil_font",
    "rl_fonts",
    "rl_text",
    "rl_width",
    "text_lines",
]

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
FONT_REGULAR = FONT_DIR / "DejaVuSans.ttf"
FONT_BOLD = FONT_DIR / "DejaVuSans-Bold.ttf"
SVG_FONT_FAMILY = "'DejaVu Sans', Verdana, Arial, sans-serif"

ELLIPSIS = "…"


@dataclass(frozen=True)
class Text:
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


def label_texts(label: LabelData, preset: Preset) -> list[Text]:
    """The texts of ``label`` placed on a ``preset`` label, bin code first."""
    lay = label_layout(preset.name)
    left = lay.pad
    half = (lay.inner_w - lay.col_gap) / 2
    right = lay.pad + half + lay.col_gap
    unit = clean_text(label.unit)
    d = lay.detail_size
    b1, b2, b3 = lay.detail_baselines

    def val(v: object) -> str:
        return clean_text(v) or "—"

    return [
        Text(label.code, preset.label_width_mm / 2, lay.code_baseline, lay.code_size,
             lay.inner_w, bold=True, centre=True, shrink=True),
        Text(val(label.item_name), left, lay.item_baseline, lay.item_size, lay.inner_w,
             bold=True, lines=lay.item_lines),
        Text(f"SKU: {val(label.sku)}", left, b1, d, half),
        Text(f"Zone: {val(label.zone)}", right, b1, d, half),
        Text(f"Card qty: {label.card_quantity} {unit}".rstrip(), left, b2, d, half),
        Text(f"Order qty: {label.order_quantity} {unit}".rstrip(), right, b2, d, half),
        Text(f"Supplier: {val(label.supplier)}", left, b3, d, lay.inner_w),
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


def text_lines(t: Text, max_width: float, measure: Callable[[str], float]) -> list[str]:
    """``t``'s text broken into at most ``t.lines`` lines that ``measure`` within ``max_width``."""
    return _wrap(t.text, max_width, measure, t.lines)


# --------------------------------------------------------------------------- fonts


@functools.cache
def rl_fonts() -> tuple[str, str]:
    """reportlab font names (regular, bold): DejaVu Sans, or Helvetica if it is missing."""
    try:
        pdfmetrics.registerFont(TTFont("DejaVuSans", str(FONT_REGULAR)))
        pdfmetrics.registerFont(TTFont("DejaVuSans-Bold", str(FONT_BOLD)))
    except (OSError, TTFError):
        return ("Helvetica", "Helvetica-Bold")
    return ("DejaVuSans", "DejaVuSans-Bold")


def rl_text(text: str, font: str) -> str:
    """``text`` as reportlab can draw it in ``font``."""
    # The built-in Helvetica fallback only has WinAnsi glyphs.
    if font.startswith("Helvetica"):
        return text.encode("cp1252", "replace").decode("cp1252")
    return text


@functools.lru_cache(maxsize=256)
def pil_font(bold: bool, px: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """DejaVu Sans (bold or regular) at ``px`` pixels for Pillow, or Pillow's default font."""
    try:
        return ImageFont.truetype(str(FONT_BOLD if bold else FONT_REGULAR), px)
    except OSError:
        return ImageFont.load_default(px)


def rl_width(text: str, bold: bool, size: float) -> float:
    """Width of ``text`` at ``size`` in the reportlab font of :func:`rl_fonts`, same unit."""
    regular, bold_name = rl_fonts()
    font = bold_name if bold else regular
    return pdfmetrics.stringWidth(rl_text(text, font), font, size)

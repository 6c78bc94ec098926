"""Bin label sheets as PDF.

Bars are vector rectangles in a coordinate system of printer dots, placed on the page's dot
grid, so each bar is exactly a multiple of 25.4/dpi mm wide. Print at 100 % ("actual
size"): "fit to page" rescales the bars.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Callable, Sequence

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfgen.canvas import Canvas

from kanban.barcodes.label_geometry import LINE_EM, barcode_geometry
from kanban.barcodes.label_presets import (
    MAX_COPIES,
    MM_PER_INCH,
    PT_PER_INCH,
    LabelData,
    LabelError,
    Preset,
    check_code,
    check_int,
    dots,
    get_preset,
)
from kanban.barcodes.label_text import label_texts, rl_fonts, rl_text, rl_width, text_lines

__all__ = ["render_pdf"]


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
    left = round(dots(x_mm, dpi)) + geom.left_dots
    top = round(dots(y_mm, dpi)) + geom.top_dots
    y = page_h_dots - top - geom.height_dots
    canvas.saveState()
    canvas.scale(PT_PER_INCH / dpi, PT_PER_INCH / dpi)
    path = canvas.beginPath()
    for x, w in geom.bar_runs():
        path.rect(left + x, y, w, geom.height_dots)
    canvas.drawPath(path, stroke=0, fill=1)
    canvas.restoreState()

    regular, bold = rl_fonts()
    to_pt = PT_PER_INCH / MM_PER_INCH
    for t in label_texts(label, preset):
        font = bold if t.bold else regular
        size = t.size * to_pt
        max_w = t.width * to_pt
        lines = [rl_text(t.text, font)]
        if t.shrink:
            width = pdfmetrics.stringWidth(lines[0], font, size)
            size = min(size, size * max_w / max(width, 1e-9))
        else:
            lines = text_lines(t, max_w, functools.partial(rl_width, bold=t.bold, size=size))
        canvas.setFont(font, size)
        tx = (x_mm + t.x) * to_pt
        for i, text in enumerate(lines):
            ty = page_h_pt - (y_mm + t.baseline + i * LINE_EM * t.size) * to_pt
            if t.centre:
                canvas.drawCentredString(tx, ty, rl_text(text, font))
            else:
                canvas.drawString(tx, ty, rl_text(text, font))


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
    p = get_preset(preset)
    copies = check_int(copies, "copies", 1, MAX_COPIES)
    start_position = check_int(start_position, "start_position", 1, p.per_page)
    labels = list(labels)
    if not labels:
        raise LabelError("no labels to print")
    for label in labels:
        barcode_geometry(check_code(label.code), p.name, p.dpi)  # fits? raise before drawing

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

"""Bin labels as PNG: drawn at the dpi with Pillow, bars as exact pixel runs."""

from __future__ import annotations

import io

from PIL import Image, ImageDraw

from kanban.barcodes.label_geometry import LINE_EM, barcode_geometry
from kanban.barcodes.label_presets import (
    PNG_DPI_RANGE,
    LabelData,
    Preset,
    check_code,
    check_int,
    dots,
    get_preset,
)
from kanban.barcodes.label_text import label_texts, pil_font, text_lines

__all__ = ["render_png"]


def _label_image(label: LabelData, preset: Preset, dpi: int) -> Image.Image:
    geom = barcode_geometry(check_code(label.code), preset.name, dpi)
    width = round(dots(preset.label_width_mm, dpi))
    height = round(dots(preset.label_height_mm, dpi))
    img = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(img)
    top, bottom = geom.top_dots, geom.top_dots + geom.height_dots - 1
    for x, w in geom.bar_runs():
        x0 = geom.left_dots + x
        # Pillow rectangles include both corners, hence the -1.
        draw.rectangle((x0, top, x0 + w - 1, bottom), fill=0)
    for t in label_texts(label, preset):
        max_w = dots(t.width, dpi)
        px = max(round(dots(t.size, dpi)), 1)
        font = pil_font(t.bold, px)
        lines = [t.text]
        if t.shrink:
            while px > 4 and font.getlength(t.text) > max_w:
                px = max(4, min(px - 1, int(px * max_w / font.getlength(t.text))))
                font = pil_font(t.bold, px)
        else:
            lines = text_lines(t, max_w, font.getlength)
        for i, text in enumerate(lines):
            draw.text(
                (dots(t.x, dpi), dots(t.baseline + i * LINE_EM * t.size, dpi)),
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
    p = get_preset(preset)
    dpi = p.dpi if dpi is None else check_int(dpi, "dpi", *PNG_DPI_RANGE)
    img = _label_image(label, p, dpi)
    buf = io.BytesIO()
    img.save(buf, "PNG", dpi=(dpi, dpi))
    return buf.getvalue()

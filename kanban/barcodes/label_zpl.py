"""Bin labels as a ZPL II job for Zebra printers.

The printer draws a native ``^BC`` barcode with ``^BY`` set to the module width; text
goes through the escapes of :mod:`kanban.barcodes.zpl`.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

from kanban.barcodes.label_geometry import ASCENT_EM, LINE_EM, place_barcode, zpl_code128_modules
from kanban.barcodes.label_presets import (
    MAX_COPIES,
    ZPL_DPIS,
    LabelData,
    LabelError,
    Preset,
    check_int,
    dots,
    get_preset,
)
from kanban.barcodes.label_text import label_texts, rl_width, text_lines
from kanban.barcodes.zpl import HEX_INDICATOR, escape_field_data

__all__ = ["render_zpl"]


def _zpl_text_width(text: str, height: int) -> float:
    # The printer's font 0 is a condensed face; DejaVu Sans Bold is wider for every glyph,
    # so measuring with it never lets text overrun its field block.
    return rl_width(text, True, height)


def _text_fields(label: LabelData, preset: Preset, dpi: int) -> list[str]:
    """One ``^FO … ^FS`` field per line of the label's texts, user text escaped."""
    fields: list[str] = []
    for t in label_texts(label, preset):
        size = max(round(dots(t.size, dpi)), 10)  # ^A0 is unreadable below ~10 dots
        block = math.floor(dots(t.width, dpi))
        texts = [t.text]
        if t.shrink:
            fit = block / max(_zpl_text_width(t.text, size), 1e-9)
            size = max(10, min(size, math.floor(size * fit)))
        else:
            measure = functools.partial(_zpl_text_width, height=size)
            texts = text_lines(t, block, measure)
        x = round(dots(t.x - t.width / 2 if t.centre else t.x, dpi))
        for i, text in enumerate(texts):
            # One field per line: ^FB wrapping is the printer's, and could overrun.
            top = round(dots(t.baseline + (i * LINE_EM - ASCENT_EM) * t.size, dpi))
            fields.append(
                f"^FO{x},{max(top, 0)}^A0N,{size},{size}"
                f"^FB{block},1,0,{'C' if t.centre else 'L'},0"
                f"^FH{HEX_INDICATOR}^FD{escape_field_data(text)}^FS"
            )
    return fields


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
    p = get_preset(preset)
    if dpi not in ZPL_DPIS:
        raise LabelError(f"ZPL dpi must be one of {ZPL_DPIS}, not {dpi!r}")
    copies = check_int(copies, "copies", 1, MAX_COPIES)
    labels = list(labels)
    if not labels:
        raise LabelError("no labels to print")
    width = round(dots(p.label_width_mm, dpi))
    length = round(dots(p.label_height_mm, dpi))
    places = {
        lbl.code: place_barcode(zpl_code128_modules(lbl.code), p, dpi, lbl.code) for lbl in labels
    }
    out: list[str] = []
    for label in labels:
        geom = places[label.code]
        lines = ["^XA", "^CI28", f"^PW{width}", f"^LL{length}", "^LH0,0"]
        lines += _text_fields(label, p, dpi)
        lines.append(
            f"^FO{geom.left_dots},{geom.top_dots}^BY{geom.module_dots},2,{geom.height_dots}"
            f"^BCN,{geom.height_dots},N,N,N,N^FD{label.code}^FS"
        )
        lines.append(f"^PQ{copies},0,1,N")
        lines.append("^XZ")
        out.append("\n".join(lines))
    return "\n".join(out) + "\n"

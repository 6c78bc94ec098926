"""Bin labels as SVG: a ``viewBox`` in printer dots at the preset's dpi, bars as integer
rectangles."""

from __future__ import annotations

import functools
from xml.etree import ElementTree as ET

from kanban.barcodes.label_geometry import LINE_EM, BarcodeGeometry, barcode_geometry
from kanban.barcodes.label_presets import LabelData, Preset, check_code, dots, get_preset
from kanban.barcodes.label_text import SVG_FONT_FAMILY, label_texts, rl_width, text_lines

__all__ = ["render_svg"]


def _num(value: float) -> str:
    return f"{value:.3f}".rstrip("0").rstrip(".")


def render_svg(label: LabelData, *, preset: str = "a4-3x8") -> str:
    """One label as SVG text, sized in millimetres, drawn in printer dots at the preset dpi.

    Bars are ``<rect>`` elements with integer positions and widths in the ``viewBox``
    (one unit = one dot), grouped in ``<g id="barcode">``.
    """
    p = get_preset(preset)
    dpi = p.dpi
    geom = barcode_geometry(check_code(label.code), p.name, dpi)
    vw, vh = dots(p.label_width_mm, dpi), dots(p.label_height_mm, dpi)
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
    _add_bars(svg, label.code, geom)
    _add_texts(svg, label, p)
    return ET.tostring(svg, encoding="unicode", xml_declaration=False)


def _add_bars(svg: ET.Element, code: str, geom: BarcodeGeometry) -> None:
    """The bars, one ``<rect>`` each, in a ``<g id="barcode">`` that records the geometry."""
    bars = ET.SubElement(
        svg,
        "g",
        {
            "id": "barcode",
            "fill": "#000",
            "shape-rendering": "crispEdges",
            "data-code": code,
            "data-module-dots": str(geom.module_dots),
            "data-dpi": str(geom.dpi),
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


def _add_texts(svg: ET.Element, label: LabelData, preset: Preset) -> None:
    """The label's texts, sized and wrapped with the same metrics as the PDF."""
    dpi = preset.dpi
    texts = ET.SubElement(svg, "g", {"font-family": SVG_FONT_FAMILY, "fill": "#000"})
    for t in label_texts(label, preset):
        size = dots(t.size, dpi)
        max_w = dots(t.width, dpi)
        lines = [t.text]
        if t.shrink:
            size = min(size, size * max_w / max(rl_width(t.text, t.bold, size), 1e-9))
        else:
            lines = text_lines(t, max_w, functools.partial(rl_width, bold=t.bold, size=size))
        for i, text in enumerate(lines):
            attrs = {
                "x": _num(dots(t.x, dpi)),
                "y": _num(dots(t.baseline + i * LINE_EM * t.size, dpi)),
                "font-size": _num(size),
            }
            if t.bold:
                attrs["font-weight"] = "bold"
            if t.centre:
                attrs["text-anchor"] = "middle"
            ET.SubElement(texts, "text", attrs).text = text

"""Bin labels: PNG, SVG, PDF sheets and ZPL for Zebra printers (docs/manual/spec.md §5).

This is the entry point for labels; callers import from here. A label carries the bin code
as a Code 128 barcode and in large type, then the item name, SKU, zone, card and order
quantities and the supplier.

The barcode geometry is what matters: a scanner reads the ratio of bar widths, so every
module (the narrowest bar or space) is a whole number of printer dots at the resolution
the label is printed at. Nothing is scaled to a fractional width or resampled. The module
width is the largest number of dots that fits the label's printable width together with a
quiet zone of at least ten modules on each side; when not even one dot fits,
:class:`LabelError` is raised rather than printing a barcode that cannot be read.

The work is done in:

* :mod:`~kanban.barcodes.label_presets`: label stocks (:data:`PRESETS`), :class:`LabelData`
  and the checks on options;
* :mod:`~kanban.barcodes.label_geometry`: the barcode's module width and place, and the
  layout of a label;
* :mod:`~kanban.barcodes.label_text`: the text lines, their fitting and the fonts;
* :mod:`~kanban.barcodes.label_png`: PNG, drawn at the dpi with Pillow, bars as exact
  pixel runs;
* :mod:`~kanban.barcodes.label_svg`: SVG, a ``viewBox`` in printer dots at the preset's dpi,
  bars as integer rectangles;
* :mod:`~kanban.barcodes.label_pdf`: PDF, vector rectangles in a coordinate system of
  printer dots, placed on the page's dot grid, so each bar is exactly a multiple of
  25.4/dpi mm wide;
* :mod:`~kanban.barcodes.label_zpl`: ZPL, where the printer draws a native ``^BC`` barcode
  with ``^BY`` set to the module width.

Print PDFs at 100 % ("actual size"): "fit to page" rescales the bars.
"""

from __future__ import annotations

from kanban.barcodes.label_geometry import (
    BarcodeGeometry,
    barcode_geometry,
    code128_modules,
    zpl_code128_modules,
)
from kanban.barcodes.label_pdf import render_pdf
from kanban.barcodes.label_png import render_png
from kanban.barcodes.label_presets import (
    MAX_COPIES,
    MAX_MODULE_DOTS,
    PNG_DPI_RANGE,
    PRESETS,
    QUIET_ZONE_MODULES,
    ZPL_DPIS,
    LabelData,
    LabelError,
    Preset,
)
from kanban.barcodes.label_svg import render_svg
from kanban.barcodes.label_zpl import render_zpl

__all__ = [
    "MAX_COPIES",
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

"""Command barcodes for the printable command sheet (docs/manual/spec.md §3.4).

Command texts (``*KB:MODE:RECEIVE``, ``*KB:QTY:5``, ``*KB:UNDO``) hold ``*`` and ``:``, which
bin codes never do, so they are encoded here rather than through the label renderer (whose
input is validated as a bin code). The encoding is python-barcode's Code 128 through
:mod:`kanban.barcodes.code128`, the same encoder as the labels, drawn with whole modules:
SVG in millimetres for printing, PNG in whole pixels for tests and downloads.
"""

from __future__ import annotations

import functools
import io

from markupsafe import escape
from PIL import Image, ImageDraw

from kanban.barcodes import code128

__all__ = [
    "MAX_COMMAND_LENGTH",
    "QUIET_ZONE_MODULES",
    "command_bar_runs",
    "command_modules",
    "command_png",
    "command_svg",
]

#: Command texts are short; anything longer is a programming error, not a command.
MAX_COMMAND_LENGTH = 32
#: Quiet zone on each side, in modules (ISO/IEC 15417 asks for 10).
QUIET_ZONE_MODULES = 10


@functools.lru_cache(maxsize=64)
def command_modules(text: str) -> str:
    """The Code 128 module string of ``text`` (``1`` bar, ``0`` space), quiet zones excluded.

    ``text`` must be printable ASCII (Code 128 set B covers it).
    """
    if not text or len(text) > MAX_COMMAND_LENGTH or not all(" " <= c <= "~" for c in text):
        raise ValueError(f"{text!r} cannot be a command barcode")
    return code128.encode(text)


def command_bar_runs(text: str) -> list[tuple[int, int]]:
    """Each bar of ``text``'s barcode as (first module, width in modules)."""
    return code128.bar_runs(command_modules(text))


def command_svg(text: str, *, module_mm: float = 0.33, height_mm: float = 14.0) -> str:
    """An inline ``<svg>`` of ``text``'s barcode, sized in millimetres for printing.

    The viewBox counts modules, so every bar is a whole number of modules wide; the quiet
    zones are part of the drawing (white), so a tight crop still scans.
    """
    modules = len(command_modules(text)) + 2 * QUIET_ZONE_MODULES
    height = max(1, round(height_mm / module_mm))
    bars = "".join(
        f'<rect x="{QUIET_ZONE_MODULES + x}" y="0" width="{w}" height="{height}"/>'
        for x, w in command_bar_runs(text)
    )
    width_mm = f"{modules * module_mm:.2f}".rstrip("0").rstrip(".")
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="command-barcode" role="img" '
        f'aria-label="Barcode {escape(text)}" viewBox="0 0 {modules} {height}" '
        f'width="{width_mm}mm" height="{height_mm:g}mm" shape-rendering="crispEdges" '
        f'preserveAspectRatio="none">'
        f'<rect x="0" y="0" width="{modules}" height="{height}" fill="#fff"/>'
        f'<g fill="#000">{bars}</g></svg>'
    )


def command_png(text: str, *, module_px: int = 3, height_px: int = 120) -> bytes:
    """``text``'s barcode as a greyscale PNG, ``module_px`` whole pixels per module."""
    if module_px < 1 or height_px < 1:
        raise ValueError("module_px and height_px must be at least 1")
    modules = len(command_modules(text)) + 2 * QUIET_ZONE_MODULES
    img = Image.new("L", (modules * module_px, height_px), 255)
    draw = ImageDraw.Draw(img)
    for x, w in command_bar_runs(text):
        x0 = (QUIET_ZONE_MODULES + x) * module_px
        draw.rectangle((x0, 0, x0 + w * module_px - 1, height_px - 1), fill=0)
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()

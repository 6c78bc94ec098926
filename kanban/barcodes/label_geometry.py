"""Where the barcode and the text blocks go on a label.

A scanner reads the ratio of bar widths, so every module (the narrowest bar or space) is a
whole number of printer dots at the resolution the label is printed at: the module width is
the largest number of dots that fits the label's printable width together with a quiet zone
of at least ten modules on each side, and :class:`LabelError` is raised when not even one
dot fits. :func:`label_layout` stacks the bin code, barcode, item name and detail lines.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

from kanban.barcodes import code128
from kanban.barcodes.label_presets import (
    MAX_MODULE_DOTS,
    MM_PER_INCH,
    PRESETS,
    QUIET_ZONE_MODULES,
    LabelError,
    Preset,
    check_code,
    dots,
    get_preset,
)

__all__ = [
    "ASCENT_EM",
    "LINE_EM",
    "BarcodeGeometry",
    "Layout",
    "barcode_geometry",
    "code128_modules",
    "label_layout",
    "place_barcode",
    "zpl_code128_modules",
]

# DejaVu Sans ascent/descent as fractions of the em: a text line box of
# LINE_EM * size holds any glyph, with the baseline ASCENT_EM * size below its top.
ASCENT_EM = 0.93
LINE_EM = 1.17


@functools.lru_cache(maxsize=4096)
def code128_modules(code: str) -> str:
    """The Code 128 module string (``1`` bar, ``0`` space) of a bin code, quiet zones excluded.

    It comes from python-barcode's encoder (start code, data, checksum, stop pattern).
    """
    return code128.encode(check_code(code))


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
    layout = label_layout(preset.name)
    usable = math.floor(dots(layout.inner_w, dpi) + 1e-6)
    ceiling = MAX_MODULE_DOTS * max(1, dpi // 300)
    module = min(usable // (n_modules + 2 * QUIET_ZONE_MODULES), ceiling)
    if module < 1:
        raise LabelError(
            f"bin code {code!r} is too long for a readable barcode on a {preset.name} label "
            f"at {dpi} dpi ({n_modules} modules + quiet zones need more than {usable} dots)"
        )
    return module


def place_barcode(n_modules: int, preset: Preset, dpi: int, code: str) -> BarcodeGeometry:
    """Module width and position of an ``n_modules`` barcode on a ``preset`` label at ``dpi``.

    The result's ``pattern`` is empty: ZPL places the printer's own ``^BC`` symbol with it.
    """
    layout = label_layout(preset.name)
    module = _fit_module(n_modules, preset, dpi, code)
    label_w = round(dots(preset.label_width_mm, dpi))
    return BarcodeGeometry(
        pattern="",
        module_dots=module,
        dpi=dpi,
        # Centred; the printable width already leaves >= 10 modules each side.
        left_dots=(label_w - n_modules * module) // 2,
        top_dots=round(dots(layout.bar_top, dpi)),
        height_dots=round(dots(layout.bar_height, dpi)),
    )


@functools.lru_cache(maxsize=4096)
def barcode_geometry(code: str, preset: str = "a4-3x8", dpi: int | None = None) -> BarcodeGeometry:
    """The barcode of ``code`` on a ``preset`` label rendered at ``dpi`` (default: preset's).

    Raises :class:`LabelError` for an invalid code or one too long to fit.
    """
    p = get_preset(preset)
    dpi = p.dpi if dpi is None else dpi
    pattern = code128_modules(code)
    placed = place_barcode(len(pattern), p, dpi, code)
    return BarcodeGeometry(
        pattern, placed.module_dots, dpi, placed.left_dots, placed.top_dots, placed.height_dots
    )


def zpl_code128_modules(code: str) -> int:
    """Modules of the ``^BC`` symbol a Zebra prints for a bin code.

    ``^BC`` in mode N encodes every character in subset B: start, one symbol per
    character, checksum (11 modules each) and the 13-module stop pattern.
    """
    return 11 * (len(check_code(code)) + 2) + 13


@dataclass(frozen=True)
class Layout:
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
def label_layout(preset_name: str) -> Layout:
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
    return Layout(
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

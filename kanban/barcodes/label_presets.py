"""Label stocks (presets), what a label carries, and the checks on render options.

Everything here is in millimetres or whole numbers; :func:`dots` turns millimetres into
printer dots at a resolution.
"""

from __future__ import annotations

from dataclasses import dataclass

from kanban.domain.codes import BIN_CODE_RE

__all__ = [
    "MAX_COPIES",
    "MAX_MODULE_DOTS",
    "MM_PER_INCH",
    "PNG_DPI_RANGE",
    "PRESETS",
    "PT_PER_INCH",
    "QUIET_ZONE_MODULES",
    "ZPL_DPIS",
    "LabelData",
    "LabelError",
    "Preset",
    "check_code",
    "check_int",
    "dots",
    "get_preset",
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


def get_preset(name: str) -> Preset:
    """The preset called ``name``; :class:`LabelError` for an unknown one."""
    try:
        return PRESETS[name]
    except (KeyError, TypeError):
        known = ", ".join(PRESETS)
        raise LabelError(f"unknown label preset {name!r} (known: {known})") from None


def check_code(code: object) -> str:
    """``code`` when it is a valid bin code; :class:`LabelError` otherwise."""
    if not isinstance(code, str) or not BIN_CODE_RE.fullmatch(code):
        raise LabelError(
            f"{code!r} is not a valid bin code (A–Z, 0–9 and . _ / -, starting with a "
            "letter or digit, at most 16 characters)"
        )
    return code


def check_int(value: object, name: str, low: int, high: int) -> int:
    """``value`` when it is a whole number (not a bool) from ``low`` to ``high``.

    Anything else raises :class:`LabelError` naming the option ``name``.
    """
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise LabelError(f"{name} must be a whole number from {low} to {high}, not {value!r}")
    return value


def dots(mm: float, dpi: int) -> float:
    """``mm`` millimetres in printer dots at ``dpi`` (not rounded)."""
    return mm * dpi / MM_PER_INCH

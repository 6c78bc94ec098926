"""Label render options (docs/manual/spec.md §5): format, preset, print resolution, copies and the
start position on a sheet, checked before anything is rendered."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from ..barcodes.labels import (
    MAX_COPIES,
    PNG_DPI_RANGE,
    PRESETS,
    ZPL_DPIS,
)
from ..core.errors import ServiceError

#: Output formats: one file per selection (pdf, zpl) or one file per bin (png, svg).
FORMATS = ("pdf", "zpl", "png", "svg")
SHEET_FORMATS = ("pdf", "zpl")
#: The preset used when none is given: sheets for office printers, a roll for Zebra ones.
DEFAULT_PRESETS = {"pdf": "a4-3x8", "png": "a4-3x8", "svg": "a4-3x8", "zpl": "thermal-4x6"}
MIMETYPES = {
    "pdf": "application/pdf",
    "zpl": "text/plain; charset=utf-8",
    "png": "image/png",
    "svg": "image/svg+xml",
}


@dataclass(frozen=True)
class RenderOptions:
    """How labels are rendered, already validated by :func:`options`."""

    fmt: str
    preset: str
    dpi: int | None
    copies: int
    start: int

    @property
    def per_file(self) -> bool:
        """True if each bin gets its own file (png, svg)."""
        return self.fmt not in SHEET_FORMATS


def _whole(value: object, name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ServiceError(
            f"invalid_{name}", f"{name} must be a whole number from {low} to {high}."
        )
    return value


def options(
    fmt: str = "pdf",
    *,
    preset: str | None = None,
    dpi: int | None = None,
    copies: int = 1,
    start: int = 1,
) -> RenderOptions:
    """Validate render options; a clear ServiceError for anything that does not apply.

    ``preset`` defaults per format (:data:`DEFAULT_PRESETS`). ``dpi`` is the print head's
    resolution for ZPL (203 or 300, default 203) and the image resolution for PNG (default:
    the preset's); PDF and SVG are resolution-independent. ``copies`` (1–100) applies to
    PDF and ZPL, ``start`` (the first free position on a partly used sheet) to PDF.
    """
    fmt = (fmt or "").strip().lower()
    if fmt not in FORMATS:
        raise ServiceError(
            "invalid_format", f"Unknown label format {fmt[:20]!r}: use one of {', '.join(FORMATS)}."
        )
    preset = (preset or "").strip() or DEFAULT_PRESETS[fmt]
    if preset not in PRESETS:
        raise ServiceError(
            "invalid_preset",
            f"Unknown label preset {preset[:40]!r}: use one of {', '.join(PRESETS)}.",
        )
    if fmt == "zpl":
        if dpi is None:
            dpi = ZPL_DPIS[0]
        if dpi not in ZPL_DPIS:
            raise ServiceError(
                "invalid_dpi", f"ZPL is made for {' or '.join(map(str, ZPL_DPIS))} dpi print heads."
            )
    elif fmt == "png":
        if dpi is not None:
            dpi = _whole(dpi, "dpi", *PNG_DPI_RANGE)
    elif dpi is not None:
        raise ServiceError("invalid_dpi", f"dpi applies to zpl and png, not to {fmt}.")
    copies = _whole(copies, "copies", 1, MAX_COPIES)
    if fmt not in SHEET_FORMATS and copies != 1:
        raise ServiceError(
            "invalid_copies", f"copies apply to pdf and zpl; {fmt} gives one file per bin."
        )
    per_page = PRESETS[preset].per_page
    start = _whole(start, "start", 1, per_page)
    if fmt != "pdf" and start != 1:
        raise ServiceError("invalid_start", "The start position applies to pdf sheets only.")
    return RenderOptions(fmt=fmt, preset=preset, dpi=dpi, copies=copies, start=start)


def label_count(n_bins: int, opts: RenderOptions) -> int:
    """Labels printed for ``n_bins`` bins (copies included)."""
    return n_bins * opts.copies


def page_count(n_bins: int, opts: RenderOptions) -> int:
    """Pages (sheets, or roll labels) the selection takes, start position included."""
    per_page = PRESETS[opts.preset].per_page
    return math.ceil((opts.start - 1 + label_count(n_bins, opts)) / per_page)


def summary(n_bins: int, opts: RenderOptions) -> str:
    """ "47 labels, 2 pages": what a person checks before printing a large selection."""
    n, pages = label_count(n_bins, opts), page_count(n_bins, opts)
    return f"{n} label{'s' if n != 1 else ''}, {pages} page{'s' if pages != 1 else ''}"


def sheet_cells(codes: Sequence[str], opts: RenderOptions) -> list[list[str | None]]:
    """Bin codes laid out as the PDF lays them out: pages of positions (row by row), each
    code ``copies`` times in a row, ``None`` for the positions skipped before ``start``."""
    per_page = PRESETS[opts.preset].per_page
    cells: list[str | None] = [None] * (opts.start - 1)
    cells += [code for code in codes for _ in range(opts.copies)]
    return [cells[i : i + per_page] for i in range(0, len(cells), per_page)]

"""Bin labels for a selection of bins (DESIGN §5): which bins, and their label files.

The renderer (:mod:`kanban.barcodes.labels`) knows nothing about the database; this module
turns a selection (zone, supplier, card state, explicit bin codes) into
:class:`~kanban.barcodes.labels.LabelData` and validated render options into files. The CLI
and the web views both go through it, so they select and name files the same way.

Every check that can fail runs before anything is rendered, and nothing here writes to the
database or the file system: callers decide where the bytes go.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from ..barcodes.labels import (
    MAX_COPIES,
    PNG_DPI_RANGE,
    PRESETS,
    ZPL_DPIS,
    LabelData,
    LabelError,
    render_pdf,
    render_png,
    render_svg,
    render_zpl,
)
from ..catalog.views import get_bin
from ..core.errors import ServiceError
from ..domain.cards import CARD_STATES
from ..domain.codes import is_valid_bin_code, normalise_bin_code
from ..extensions import db
from ..models import Bin, Item, Supplier, Zone

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
#: Bounds on what a person can ask for by typing codes (a scanner gun or a paste).
MAX_CODES = 5000
MAX_CODES_TEXT = 100_000
MAX_NAME = 200
_CODE_SPLIT = re.compile(r"[\s,;]+")


def _error(code: str, message: str) -> ServiceError:
    return ServiceError(code, message, 400)


# --------------------------------------------------------------------------- selection


@dataclass(frozen=True)
class Selection:
    """Which bins get labels. Criteria combine (all must match); none means every bin.

    ``codes`` names bins explicitly; without it only active bins are selected.
    """

    zone: str | None = None
    supplier: str | None = None
    state: str | None = None
    codes: tuple[str, ...] = ()

    def describe(self) -> str:
        """The selection in words, for messages: "zone Aisle A, state replenish"."""
        parts = []
        if self.zone:
            parts.append(f"zone {self.zone}")
        if self.supplier:
            parts.append(f"supplier {self.supplier}")
        if self.state:
            parts.append(f"state {self.state}")
        if self.codes:
            n = len(self.codes)
            parts.append(f"{n} bin{'s' if n != 1 else ''} by code")
        return ", ".join(parts) or "all active bins"


def parse_codes(text: str | Iterable[str] | None) -> tuple[str, ...]:
    """Bin codes typed or pasted as one text (commas, spaces, semicolons or new lines
    between them) or given as a list; normalised to upper case, duplicates dropped, in the
    order given. Raises ServiceError for a code that cannot exist."""
    if text is None:
        return ()
    raw = text if isinstance(text, str) else ",".join(text)
    if len(raw) > MAX_CODES_TEXT:
        raise _error(
            "too_many_codes", f"The list of bin codes is longer than {MAX_CODES_TEXT:,} characters."
        )
    codes = [normalise_bin_code(c) for c in _CODE_SPLIT.split(raw) if c.strip()]
    bad = [c for c in codes if not is_valid_bin_code(c)]
    if bad:
        shown = ", ".join(repr(c[:20]) for c in bad[:5])
        more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
        raise _error("invalid_bin_code", f"Not a valid bin code: {shown}{more}.")
    unique = tuple(dict.fromkeys(codes))
    if len(unique) > MAX_CODES:
        raise _error("too_many_codes", f"At most {MAX_CODES:,} bin codes at once.")
    return unique


def _name(value: str | None, what: str) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if len(value) > MAX_NAME:
        raise _error(f"invalid_{what}", f"The {what} name is longer than {MAX_NAME} characters.")
    # Names come from query strings and command lines; PostgreSQL refuses NUL in text.
    if any(unicodedata.category(ch) in ("Cc", "Cs") for ch in value):
        raise _error(f"invalid_{what}", f"The {what} name contains control characters.")
    return value or None


def selection(
    *,
    zone: str | None = None,
    supplier: str | None = None,
    state: str | None = None,
    bins: str | Iterable[str] | None = None,
) -> Selection:
    """A :class:`Selection` from what a person typed or picked (empty means "any")."""
    state = (state or "").strip().lower() or None
    if state is not None and state not in CARD_STATES:
        raise _error(
            "invalid_state",
            f"Unknown card state {state[:20]!r}: use one of {', '.join(CARD_STATES)}.",
        )
    return Selection(
        zone=_name(zone, "zone"),
        supplier=_name(supplier, "supplier"),
        state=state,
        codes=parse_codes(bins),
    )


def _by_name(model: type[Zone] | type[Supplier], name: str, what: str) -> int:
    """The id of the zone or supplier called ``name``: exact, else case-insensitive."""
    found = db.session.scalar(sa.select(model.id).where(model.name == name))
    if found is not None:
        return int(found)
    ids = list(
        db.session.scalars(
            sa.select(model.id).where(sa.func.lower(model.name) == name.lower()).limit(2)
        )
    )
    if len(ids) == 1:
        return int(ids[0])
    known = list(db.session.scalars(sa.select(model.name).order_by(model.name).limit(11)))
    hint = ", ".join(known[:10]) + (", …" if len(known) > 10 else "")
    raise _error(
        f"unknown_{what}",
        f"No {what} is called {name!r}."
        + (f" Known: {hint}." if known else f" There are no {what}s yet."),
    )


def select_bins(sel: Selection) -> list[Bin]:
    """The selected bins with item, supplier and zone loaded, ordered by zone then code.

    Raises ServiceError when a zone, supplier or explicit code does not exist, or when
    nothing matches.
    """
    stmt = sa.select(Bin).options(
        joinedload(Bin.item).joinedload(Item.supplier), joinedload(Bin.zone)
    )
    if sel.zone is not None:
        stmt = stmt.where(Bin.zone_id == _by_name(Zone, sel.zone, "zone"))
    if sel.supplier is not None:
        supplier_id = _by_name(Supplier, sel.supplier, "supplier")
        items = sa.select(Item.id).where(Item.supplier_id == supplier_id)
        stmt = stmt.where(Bin.item_id.in_(items))
    if sel.state is not None:
        stmt = stmt.where(Bin.state == sel.state)
    if sel.codes:
        # Named bins are printed even if inactive: whoever typed the code wants that label.
        known = set(db.session.scalars(sa.select(Bin.code).where(Bin.code.in_(sel.codes))))
        missing = [c for c in sel.codes if c not in known]
        if missing:
            shown = ", ".join(missing[:10]) + (
                f" and {len(missing) - 10} more" if len(missing) > 10 else ""
            )
            raise _error("unknown_bin", f"No bin has the code {shown}.")
        stmt = stmt.where(Bin.code.in_(sel.codes))
    else:
        stmt = stmt.where(Bin.active.is_(True))
    found = list(db.session.scalars(stmt).unique())
    if not found:
        raise _error("no_bins", f"No bins match this selection ({sel.describe()}).")
    # Sorted here, not in SQL: PostgreSQL's collation and SQLite's byte order disagree on
    # punctuation, and the same selection must print in the same order on both.
    found.sort(key=lambda b: (b.zone.name, b.code))
    return found


def label_data(b: Bin) -> LabelData:
    """What the label of bin ``b`` shows."""
    return LabelData(
        code=b.code,
        item_name=b.item.name,
        sku=b.item.sku,
        zone=b.zone.name,
        card_quantity=b.card_quantity,
        order_quantity=b.order_quantity,
        supplier=b.item.supplier.name,
        unit=b.item.unit,
    )


def select_labels(sel: Selection) -> list[LabelData]:
    """The labels of the selected bins, in print order (zone, then code)."""
    return [label_data(b) for b in select_bins(sel)]


def label_for_code(code: str) -> LabelData:
    """The label of one bin by its code (NotFound if there is none)."""
    if not is_valid_bin_code(normalise_bin_code(code)):
        raise _error("invalid_bin_code", f"{code[:20]!r} is not a valid bin code.")
    return label_data(get_bin(code))


def zone_names() -> list[str]:
    """Every zone, in board order, for the selection form."""
    return list(db.session.scalars(sa.select(Zone.name).order_by(Zone.position, Zone.name)))


def supplier_names() -> list[str]:
    """Every supplier by name, for the selection form."""
    return list(db.session.scalars(sa.select(Supplier.name).order_by(Supplier.name)))


# --------------------------------------------------------------------------- options


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
        raise _error(f"invalid_{name}", f"{name} must be a whole number from {low} to {high}.")
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
        raise _error(
            "invalid_format", f"Unknown label format {fmt[:20]!r}: use one of {', '.join(FORMATS)}."
        )
    preset = (preset or "").strip() or DEFAULT_PRESETS[fmt]
    if preset not in PRESETS:
        raise _error(
            "invalid_preset",
            f"Unknown label preset {preset[:40]!r}: use one of {', '.join(PRESETS)}.",
        )
    if fmt == "zpl":
        if dpi is None:
            dpi = ZPL_DPIS[0]
        if dpi not in ZPL_DPIS:
            raise _error(
                "invalid_dpi", f"ZPL is made for {' or '.join(map(str, ZPL_DPIS))} dpi print heads."
            )
    elif fmt == "png":
        if dpi is not None:
            dpi = _whole(dpi, "dpi", *PNG_DPI_RANGE)
    elif dpi is not None:
        raise _error("invalid_dpi", f"dpi applies to zpl and png, not to {fmt}.")
    copies = _whole(copies, "copies", 1, MAX_COPIES)
    if fmt not in SHEET_FORMATS and copies != 1:
        raise _error(
            "invalid_copies", f"copies apply to pdf and zpl; {fmt} gives one file per bin."
        )
    per_page = PRESETS[preset].per_page
    start = _whole(start, "start", 1, per_page)
    if fmt != "pdf" and start != 1:
        raise _error("invalid_start", "The start position applies to pdf sheets only.")
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


# --------------------------------------------------------------------------- files


@dataclass(frozen=True)
class LabelFile:
    """One rendered file: its name (no folder), content and media type."""

    name: str
    data: bytes
    mimetype: str


def file_stem(code: str) -> str:
    """A bin code as a file name: ``/`` becomes ``%2F`` (no other code character needs it,
    and ``%`` is not a code character, so two bins never share a file name)."""
    return code.replace("/", "%2F")


def _rendered(fn: Callable[[], bytes | str]) -> bytes:
    try:
        data = fn()
    except LabelError as exc:
        raise _error("label_error", str(exc)) from None
    return data.encode("utf-8") if isinstance(data, str) else data


def render_label(label: LabelData, opts: RenderOptions) -> LabelFile:
    """One bin's label as PNG or SVG."""
    if opts.fmt == "png":
        data = _rendered(lambda: render_png(label, preset=opts.preset, dpi=opts.dpi))
    elif opts.fmt == "svg":
        data = _rendered(lambda: render_svg(label, preset=opts.preset))
    else:
        raise _error("invalid_format", f"{opts.fmt} is made for a whole selection, not one bin.")
    return LabelFile(f"{file_stem(label.code)}.{opts.fmt}", data, MIMETYPES[opts.fmt])


def sheet_name(opts: RenderOptions, now: dt.datetime | None = None) -> str:
    """``labels-<preset>[-<dpi>dpi]-<UTC timestamp>.<fmt>`` for a PDF or ZPL file."""
    stamp = (now or dt.datetime.now(dt.UTC)).strftime("%Y%m%d-%H%M%S")
    dpi = f"-{opts.dpi}dpi" if opts.fmt == "zpl" else ""
    return f"labels-{opts.preset}{dpi}-{stamp}.{opts.fmt}"


def render_sheet(
    labels: Sequence[LabelData],
    opts: RenderOptions,
    *,
    progress: Callable[[int, int], None] | None = None,
    now: dt.datetime | None = None,
) -> LabelFile:
    """A selection's labels as one PDF or ZPL file.

    ``progress(done, total)`` is called as PDF labels are placed.
    """
    if opts.fmt == "pdf":
        data = _rendered(
            lambda: render_pdf(
                labels,
                preset=opts.preset,
                copies=opts.copies,
                start_position=opts.start,
                progress=progress,
            )
        )
    elif opts.fmt == "zpl":
        dpi = opts.dpi or ZPL_DPIS[0]
        data = _rendered(
            lambda: render_zpl(labels, preset=opts.preset, dpi=dpi, copies=opts.copies)
        )
        if progress is not None:
            progress(len(labels) * opts.copies, len(labels) * opts.copies)
    else:
        raise _error("invalid_format", f"{opts.fmt} gives one file per bin.")
    return LabelFile(sheet_name(opts, now), data, MIMETYPES[opts.fmt])


def render_files(
    labels: Sequence[LabelData],
    opts: RenderOptions,
    *,
    progress: Callable[[int, int], None] | None = None,
    now: dt.datetime | None = None,
) -> list[LabelFile]:
    """Every file for a selection: one PDF/ZPL, or one PNG/SVG per bin.

    All files are rendered (and so every error raised) before any is returned.
    """
    if not labels:
        raise _error("no_bins", "No labels to print.")
    if not opts.per_file:
        return [render_sheet(labels, opts, progress=progress, now=now)]
    files = []
    for i, label in enumerate(labels, 1):
        files.append(render_label(label, opts))
        if progress is not None:
            progress(i, len(labels))
    return files

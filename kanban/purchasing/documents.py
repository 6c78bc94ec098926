"""A supplier request as documents: PDF, CSV and the email's text (docs/manual/spec.md §2.3).

The renderers take a :class:`RequestDoc`, a frozen snapshot of the request, so
that what is emailed, downloaded or printed is exactly what was read in one
transaction, and so that rendering needs no database.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import io
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFError, TTFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from ..core import csvsafe
from ..domain import clock, units
from .settings import SiteDetails

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
CSV_COLUMNS = (
    "request",
    "line",
    "sku",
    "supplier_part_number",
    "item",
    "bin",
    "quantity",
    "unit",
    "unit_cost",
    "line_value",
    "expected_date",
    "issued",
)


@dataclass(frozen=True)
class DocLine:
    """One line as the supplier sees it."""

    position: int
    line_id: int
    bin: str
    sku: str
    supplier_part_number: str | None
    item: str
    quantity: int
    unit: str
    unit_cost: Decimal | None

    @property
    def value(self) -> Decimal | None:
        """Quantity × unit cost, where the cost is known."""
        return None if self.unit_cost is None else self.unit_cost * self.quantity


@dataclass(frozen=True)
class RequestDoc:
    """Everything a request document shows."""

    number: str
    supplier: str
    supplier_email: str | None
    supplier_phone: str | None
    issued: dt.datetime  # UTC-aware; shown on the site's clock (``zone``)
    expected_date: dt.date | None
    lines: tuple[DocLine, ...]
    contact_name: str  # who sends it, unless the site names a buyer
    contact_email: str
    zone: dt.tzinfo = dt.UTC
    site: SiteDetails = field(default_factory=SiteDetails)
    supplier_contact: str | None = None  # the person there who handles our requests
    note: str | None = None  # the supplier's note on every request (customer number, gate)

    @property
    def issued_text(self) -> str:
        """When the request was issued, on the site's clock with the zone named."""
        return clock.local_text(self.issued, self.zone)

    @property
    def buyer(self) -> str:
        """Whom the supplier contacts: name <email> · phone, as far as they are known."""
        name = self.site.buyer_name or self.contact_name
        email = self.site.buyer_email or self.contact_email
        who = f"{name} <{email}>" if name and email else name or email
        return " · ".join(part for part in (who, self.site.buyer_phone) if part)

    @property
    def total_quantity(self) -> str:
        """The lines' quantities added up per unit: ``12 ea + 4 bag``."""
        return units.by_unit_text(units.by_unit((line.quantity, line.unit) for line in self.lines))

    @property
    def total_value(self) -> Decimal | None:
        """Value of the lines with a known unit cost (None if no cost is known)."""
        known = [line.value for line in self.lines if line.value is not None]
        return sum(known, Decimal(0)) if known else None

    @property
    def value_complete(self) -> bool:
        """True when every line has a unit cost."""
        return all(line.unit_cost is not None for line in self.lines)

    @property
    def filename_stem(self) -> str:
        """Base name for attachments and downloads."""
        return f"supplier-request-{self.number}"


def money(value: Decimal | None) -> str:
    """Two decimals, or empty when unknown."""
    return "" if value is None else f"{value.quantize(Decimal('0.01'))}"


def unit_cost_text(value: Decimal | None) -> str:
    """A unit cost with two to four decimals, or empty when unknown."""
    if value is None:
        return ""
    text = f"{value.normalize():f}"
    # At least two decimals (0.5 → 0.50), up to the stored four.
    whole, _, frac = text.partition(".")
    return f"{whole}.{frac.ljust(2, '0')}"


# ------------------------------------------------------------------------- text


def render_text(doc: RequestDoc) -> str:
    """The email body: who orders, what, how many, by when, where to, on which terms, whom
    to ask."""
    expected = doc.expected_date.isoformat() if doc.expected_date else "as soon as possible"
    site = doc.site
    ours = (
        f"purchase request {doc.number} from {site.company}"
        if site.company
        else (f"purchase request {doc.number}")
    )
    hello = f"{doc.supplier_contact} ({doc.supplier})" if doc.supplier_contact else doc.supplier
    out = [
        f"Hello {hello},",
        "",
        f"please supply the items below for our {ours}.",
        "",
        f"Request:       {doc.number}",
        f"Date:          {doc.issued_text}",
        f"Expected by:   {expected}",
        f"Lines:         {len(doc.lines)}",
        *([f"Note:          {doc.note}"] if doc.note else []),
    ]
    address = [site.company, *site.delivery_address] if site.delivery_address else []
    for i, address_line in enumerate(address):
        out.append(f"{'Deliver to:' if i == 0 else '':<15}{address_line}")
    out.append("")
    for line in doc.lines:
        part = f" · your part no. {line.supplier_part_number}" if line.supplier_part_number else ""
        out.append(f"{line.position:>3}. {line.quantity} {line.unit} × {line.item}")
        out.append(f"     SKU {line.sku}{part} · for bin {line.bin}")
    out.append("")
    out.append(f"Total quantity: {doc.total_quantity}")
    if doc.total_value is not None:
        note = "" if doc.value_complete else " (lines with a known unit cost)"
        out.append(f"Total value:    {money(doc.total_value)}{note}")
    if site.terms:
        out += ["", "Terms:", site.terms]
    out += [
        "",
        "The request is attached as PDF and as CSV (one row per line).",
        "Please quote the request number on the delivery note.",
        "",
        f"Contact: {doc.buyer}",
    ]
    if site.company:
        out += ["", "-- ", site.buyer_name or doc.contact_name, site.company]
    out.append("")
    return "\n".join(out)


def subject(doc: RequestDoc) -> str:
    """The email subject."""
    return f"Purchase request {doc.number} for {doc.supplier}"


# -------------------------------------------------------------------------- CSV


def render_csv(doc: RequestDoc) -> bytes:
    """One row per line, UTF-8 with a byte-order mark (spreadsheets read it right)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for line in doc.lines:
        writer.writerow(
            [
                doc.number,
                line.position,
                csvsafe.cell(line.sku),
                csvsafe.cell(line.supplier_part_number or ""),
                csvsafe.cell(line.item),
                csvsafe.cell(line.bin),
                line.quantity,
                csvsafe.cell(line.unit),
                unit_cost_text(line.unit_cost),
                money(line.value),
                doc.expected_date.isoformat() if doc.expected_date else "",
                doc.issued_text,
            ]
        )
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


# -------------------------------------------------------------------------- PDF


@functools.cache
def _fonts() -> tuple[str, str]:
    """DejaVu Sans (all scripts the app accepts), or Helvetica where it is missing."""
    try:
        pdfmetrics.registerFont(TTFont("DejaVuSans", str(FONT_DIR / "DejaVuSans.ttf")))
        pdfmetrics.registerFont(TTFont("DejaVuSans-Bold", str(FONT_DIR / "DejaVuSans-Bold.ttf")))
    except (OSError, TTFError):
        return ("Helvetica", "Helvetica-Bold")
    return ("DejaVuSans", "DejaVuSans-Bold")


def _p(text: str | tuple[str, ...], style: ParagraphStyle) -> Paragraph:
    """A paragraph of plain text; several lines for a tuple."""
    regular, _ = _fonts()
    lines = (text,) if isinstance(text, str) else text
    if regular == "Helvetica":  # the built-in font only has WinAnsi glyphs
        lines = tuple(t.encode("cp1252", "replace").decode("cp1252") for t in lines)
    return Paragraph("<br/>".join(escape(t) for t in lines), style)


# long: the PDF layout reads top to bottom like the page it draws
def render_pdf(doc: RequestDoc) -> bytes:
    """An A4 purchase request: header, supplier, lines table, totals, contact."""
    regular, bold = _fonts()
    body = ParagraphStyle("body", fontName=regular, fontSize=9, leading=11)
    small = ParagraphStyle("small", parent=body, fontSize=8, leading=10)
    title = ParagraphStyle("title", fontName=bold, fontSize=16, leading=20, spaceAfter=4)
    head = ParagraphStyle("head", parent=body, fontName=bold)
    th = ParagraphStyle("th", parent=small, fontName=bold)
    num = ParagraphStyle("num", parent=small, alignment=TA_RIGHT)
    th_num = ParagraphStyle("th_num", parent=th, alignment=TA_RIGHT)
    total_num = ParagraphStyle("total_num", parent=num, fontName=bold)

    buf = io.BytesIO()
    pdf = SimpleDocTemplate(
        buf,
        pagesize=A4,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=15 * mm,
        title=f"Purchase request {doc.number}",
        author=doc.site.company or doc.contact_email,
        subject=f"Purchase request {doc.number} for {doc.supplier}",
    )
    story: list[object] = [_p(f"Purchase request {doc.number}", title)]

    expected = doc.expected_date.isoformat() if doc.expected_date else "as soon as possible"
    site = doc.site
    facts: list[tuple[str, str | tuple[str, ...]]] = [
        ("Buyer", site.company),
        ("Deliver to", (site.company, *site.delivery_address) if site.delivery_address else ""),
        ("Supplier", doc.supplier),
        ("Attention", doc.supplier_contact or ""),
        ("Email", doc.supplier_email or ""),
        ("Phone", doc.supplier_phone or ""),
        ("Date", doc.issued_text),
        ("Expected by", expected),
        ("Note", doc.note or ""),
        ("Contact", doc.buyer),
    ]
    info = Table(
        [[_p(k, head), _p(v, body)] for k, v in facts if v],
        colWidths=[30 * mm, 150 * mm],
        hAlign="LEFT",
    )
    info.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 1),
                ("TOPPADDING", (0, 0), (-1, -1), 1),
            ]
        )
    )
    story += [info, Spacer(1, 6 * mm)]

    header = ["#", "SKU", "Supplier part no.", "Item", "Bin", "Qty", "Unit", "Unit cost", "Value"]
    numeric = {0, 5, 7, 8}
    rows: list[list[object]] = [
        [_p(h, th_num if i in numeric else th) for i, h in enumerate(header)]
    ]
    for line in doc.lines:
        rows.append(
            [
                _p(str(line.position), num),
                _p(line.sku, small),
                _p(line.supplier_part_number or "", small),
                _p(line.item, small),
                _p(line.bin, small),
                _p(str(line.quantity), num),
                _p(line.unit, small),
                _p(unit_cost_text(line.unit_cost), num),
                _p(money(line.value), num),
            ]
        )
    total_value = money(doc.total_value)
    if total_value and not doc.value_complete:
        total_value += " *"
    rows.append(
        [
            _p("", small),
            _p("Total", th),
            _p("", small),
            _p("", small),
            _p("", small),
            _p(doc.total_quantity, total_num),
            _p("", small),
            _p("", small),
            _p(total_value, total_num),
        ]
    )
    widths = [7, 24, 22, 44, 16, 13, 11, 19, 24]
    table = Table(rows, colWidths=[w * mm for w in widths], repeatRows=1, hAlign="LEFT")
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -2), 0.4, colors.grey),
                ("LINEABOVE", (0, -1), (-1, -1), 1, colors.black),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eaf0")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    story.append(table)
    if total_value.endswith("*"):
        story.append(_p("* value of the lines with a known unit cost", small))
    story += [Spacer(1, 6 * mm)]
    if site.terms:
        story += [_p("Terms", head), _p(site.terms, body), Spacer(1, 3 * mm)]
    story.append(_p(f"Please quote {doc.number} on the delivery note.", body))
    pdf.build(story)
    return buf.getvalue()

"""The bins spreadsheet (docs/spec.md §8.3): CSV import and export.

An import is validated row by row first; nothing is written unless every row
is valid. Items, zones and suppliers are matched by SKU/name or created.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from ..cards import flow
from ..catalog.views import card_view
from ..core.actor import Actor
from ..core.tx import begin_write
from ..domain import cards
from ..domain.cards import CardState
from ..domain.codes import MAX_BIN_CODE_LENGTH, is_valid_bin_code, normalise_bin_code
from ..domain.statuses import ChangeCause
from ..extensions import db
from ..models import Bin, Item, Supplier, Zone
from ..stock.scanning import set_initial
from . import csvtext

COLUMNS = [
    "code",
    "sku",
    "item_name",
    "zone",
    "supplier",
    "supplier_email",
    "on_hand",
    "card_quantity",
    "order_quantity",
    "pull_quantity",
    "lead_time_days",
]
REQUIRED = COLUMNS[:9]
MAX_ROWS = 20_000
MAX_BYTES = 5 * 1024 * 1024
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class Row:
    """One valid spreadsheet row."""

    line: int
    code: str
    sku: str
    item_name: str
    zone: str
    supplier: str
    supplier_email: str | None
    on_hand: int
    card_quantity: int
    order_quantity: int
    pull_quantity: int
    lead_time_days: int | None


@dataclass
class ImportReport:
    """What an import did (or, for a dry run, would do)."""

    rows: list[Row] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    created: int = 0  # new bins
    updated: int = 0  # bins the import changes
    unchanged: int = 0  # bins already as the file says
    dry_run: bool = False
    changes: list[RowChange] = field(default_factory=list)  # each row against its bin

    @property
    def ok(self) -> bool:
        """True when every row is valid."""
        return not self.errors

    @property
    def summary(self) -> str:
        """The counts, the same words for the preview, the import and the CLI."""
        bins = "bin" if self.created == 1 else "bins"
        return f"{self.created} {bins} created, {self.updated} updated, {self.unchanged} unchanged"


def _int(value: str, name: str, low: int, errors: list[str], line: int) -> int | None:
    n = csvtext.whole_number(value)  # 12, or 12,0 as a spreadsheet may save it
    if n is None:
        errors.append(f"line {line}: {name} must be a whole number, got {value[:20]!r}")
        return None
    if n < low or n > 1_000_000:
        errors.append(f"line {line}: {name} must be between {low} and 1000000")
        return None
    return n


def _text(row: dict[str, str], name: str, limit: int, errors: list[str], line: int) -> str:
    value = (row.get(name) or "").strip()
    if not value:
        errors.append(f"line {line}: {name} is empty")
    elif len(value) > limit or not value.isprintable():
        errors.append(f"line {line}: {name} must be at most {limit} printable characters")
    return value


# long: one pass over the rows, checking each column in the order of the spreadsheet
def parse(data: bytes | str) -> ImportReport:
    """Validate a spreadsheet; returns the rows and every error with its line number."""
    report = ImportReport()
    if isinstance(data, bytes):
        if len(data) > MAX_BYTES:
            report.errors.append(f"file is larger than {MAX_BYTES // (1024 * 1024)} MiB")
            return report
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            report.errors.append("file is not UTF-8 text")
            return report
    if "\x00" in data:
        report.errors.append("file is not a CSV text file")
        return report
    # Comma, or semicolon as European spreadsheets save it (or tab): the header tells.
    sep = csvtext.separator(data, REQUIRED)
    reader = csv.DictReader(io.StringIO(data, newline=""), delimiter=sep)
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        report.errors.append(f"line 1: missing column(s): {', '.join(missing)}")
        return report
    unknown = [h for h in header if h not in COLUMNS]
    if unknown:
        report.errors.append(f"line 1: unknown column(s): {', '.join(unknown)}")
        return report
    reader.fieldnames = header
    seen: dict[str, int] = {}
    sku_names: dict[str, str] = {}
    try:
        for index, raw in enumerate(reader):
            line = index + 2
            if index >= MAX_ROWS:
                report.errors.append(f"line {line}: more than {MAX_ROWS} rows")
                break
            if None in raw:
                report.errors.append(f"line {line}: more fields than columns")
                continue
            errs: list[str] = []
            code = normalise_bin_code(raw.get("code") or "")
            if not is_valid_bin_code(code):
                errs.append(
                    f"line {line}: code {code[:20]!r} is not a valid bin code "
                    f"(A–Z, 0–9 and . _ / -, at most {MAX_BIN_CODE_LENGTH} characters)"
                )
            elif code in seen:
                errs.append(f"line {line}: code {code} repeats line {seen[code]}")
            sku = _text(raw, "sku", 64, errs, line)
            name = _text(raw, "item_name", 200, errs, line)
            zone = _text(raw, "zone", 80, errs, line)
            supplier = _text(raw, "supplier", 120, errs, line)
            email = (raw.get("supplier_email") or "").strip() or None
            if email and (len(email) > 254 or not EMAIL_RE.match(email)):
                errs.append(f"line {line}: supplier_email {email[:40]!r} is not an address")
            if sku and name and sku_names.setdefault(sku, name) != name:
                errs.append(f"line {line}: SKU {sku} has another item_name above")
            on_hand = _int(raw.get("on_hand") or "", "on_hand", 0, errs, line)
            card = _int(raw.get("card_quantity") or "", "card_quantity", 0, errs, line)
            order = _int(raw.get("order_quantity") or "", "order_quantity", 1, errs, line)
            pull_raw = (raw.get("pull_quantity") or "").strip()
            pull = _int(pull_raw, "pull_quantity", 1, errs, line) if pull_raw else 1
            lead_raw = (raw.get("lead_time_days") or "").strip()
            lead = _int(lead_raw, "lead_time_days", 0, errs, line) if lead_raw else None
            if errs:
                report.errors.extend(errs)
                continue
            seen[code] = line
            assert on_hand is not None and card is not None and order is not None
            assert pull is not None
            report.rows.append(
                Row(line, code, sku, name, zone, supplier, email, on_hand, card, order, pull, lead)
            )
    except csv.Error as exc:
        report.errors.append(f"line {reader.line_num}: not valid CSV ({exc})")
    if not report.rows and not report.errors:
        report.errors.append("file has no rows")
    return report


# long: creates or matches supplier, zone, item and bin per row, in one transaction
def import_bins(data: bytes | str, *, dry_run: bool, actor: Actor) -> ImportReport:
    """Validate, then (unless ``dry_run`` or any row is bad) write every row."""
    report = parse(data)
    report.dry_run = dry_run
    if not report.ok:
        return report
    # Counted from the preview's comparison, so an import reports what its preview showed.
    report.changes = preview(report)
    kinds = [c.kind for c in report.changes]
    report.created, report.updated, report.unchanged = (
        kinds.count(kind) for kind in ("new", "changed", "same")
    )
    if dry_run:
        return report
    begin_write()
    suppliers = {s.name: s for s in db.session.scalars(sa.select(Supplier))}
    zones = {z.name: z for z in db.session.scalars(sa.select(Zone))}
    items = {i.sku: i for i in db.session.scalars(sa.select(Item))}
    for row in report.rows:
        b = db.session.scalar(sa.select(Bin).where(Bin.code == row.code))
        before = _look(b) if b is not None else None
        sup = suppliers.get(row.supplier)
        if sup is None:
            sup = Supplier(name=row.supplier, lead_time_days=row.lead_time_days or 7)
            db.session.add(sup)
            suppliers[row.supplier] = sup
        if row.supplier_email:
            sup.email = row.supplier_email
        if row.lead_time_days is not None:
            sup.lead_time_days = row.lead_time_days
        zone = zones.get(row.zone)
        if zone is None:
            zone = Zone(name=row.zone, position=len(zones))
            db.session.add(zone)
            zones[row.zone] = zone
        item = items.get(row.sku)
        if item is None:
            item = Item(sku=row.sku, name=row.item_name, supplier=sup)
            db.session.add(item)
            items[row.sku] = item
        else:
            item.name = row.item_name
            item.supplier = sup
        db.session.flush()
        if b is None:
            b = Bin(
                code=row.code,
                item=item,
                zone=zone,
                on_hand=0,
                card_quantity=row.card_quantity,
                order_quantity=row.order_quantity,
                pull_quantity=row.pull_quantity,
                state=CardState.STOCKED,
            )
            db.session.add(b)
            db.session.flush()
            set_initial(b, row.on_hand, actor)
            continue
        b.item, b.zone = item, zone
        b.order_quantity, b.pull_quantity = row.order_quantity, row.pull_quantity
        card_changed = b.card_quantity != row.card_quantity
        b.card_quantity = row.card_quantity
        db.session.flush()
        if b.on_hand != row.on_hand:
            set_initial(b, row.on_hand, actor)  # a movement, whose event shows the bin
            continue
        if card_changed or _look(b) != before:  # open boards show the new name, zone, card…
            v = card_view(b.id)
            event = cards.level_event(v.on_hand, v.card_quantity) if card_changed else None
            flow.apply(v, event, flow.Cause(ChangeCause.IMPORT, actor.name))
    db.session.flush()
    return report


def _look(b: Bin) -> tuple[Any, ...]:
    """What a bin's card shows that an import can change."""
    item = b.item
    return (
        item.sku,
        item.name,
        item.supplier.name,
        b.zone.name,
        b.card_quantity,
        b.order_quantity,
        b.pull_quantity,
        b.state,
    )


def export_bins() -> str:
    """Every bin as the spreadsheet, ready to re-import."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    stmt = sa.select(Bin).order_by(Bin.code)
    for b in db.session.scalars(stmt):
        sup = b.item.supplier
        writer.writerow(
            [
                b.code,
                b.item.sku,
                b.item.name,
                b.zone.name,
                sup.name,
                sup.email or "",
                b.on_hand,
                b.card_quantity,
                b.order_quantity,
                b.pull_quantity,
                sup.lead_time_days,
            ]
        )
    return out.getvalue()


def report_dict(report: ImportReport) -> dict[str, Any]:
    """The JSON/CLI form of an import report."""
    return {
        "ok": report.ok,
        "dry_run": report.dry_run,
        "rows": len(report.rows),
        "created": report.created,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "errors": report.errors,
    }


@dataclass(frozen=True)
class RowChange:
    """What importing one row would do to its bin: ``kind`` is new, changed or same, and
    ``changes`` lists (what, now, after) for a changed bin."""

    line: int
    code: str
    kind: str
    changes: list[tuple[str, str, str]]
    state_before: str | None  # None for a new bin
    state_after: str  # the card after the import (the same transition table decides)


def preview(report: ImportReport) -> list[RowChange]:
    """Each valid row of ``report`` against the bin as it is now (nothing is written)."""
    existing = {
        b.code: b
        for b in db.session.scalars(
            sa.select(Bin)
            .where(Bin.code.in_([r.code for r in report.rows]))
            .options(
                joinedload(Bin.item).joinedload(Item.supplier),
                joinedload(Bin.zone),
            )
        )
    }
    out = []
    for row in report.rows:
        b = existing.get(row.code)
        level = cards.level_event(row.on_hand, row.card_quantity)
        if b is None:
            after = cards.transition(cards.CardState.STOCKED, level).state.value
            out.append(RowChange(row.line, row.code, "new", [], None, after))
            continue
        pairs = [
            ("SKU", b.item.sku, row.sku),
            ("item", b.item.name, row.item_name),
            ("zone", b.zone.name, row.zone),
            ("supplier", b.item.supplier.name, row.supplier),
            ("on hand", b.on_hand, row.on_hand),
            ("card quantity", b.card_quantity, row.card_quantity),
            ("order quantity", b.order_quantity, row.order_quantity),
            ("pull quantity", b.pull_quantity, row.pull_quantity),
        ]
        sup = b.item.supplier  # an import sets its email and lead time when the row has them
        if row.supplier_email is not None:
            pairs.append(("supplier email", sup.email or "", row.supplier_email))
        if row.lead_time_days is not None:
            pairs.append(("lead time", sup.lead_time_days, row.lead_time_days))
        changes = [(what, str(now), str(after)) for what, now, after in pairs if now != after]
        moved = (b.on_hand, b.card_quantity) != (row.on_hand, row.card_quantity)
        state = cards.transition(b.state, level).state.value if moved else b.state
        kind = "changed" if changes else "same"
        out.append(RowChange(row.line, row.code, kind, changes, b.state, state))
    return out

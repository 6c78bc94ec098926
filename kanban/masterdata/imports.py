"""The bins spreadsheet (docs/manual/spec.md §8.3): importing it (all or nothing, audited as one
entry), previewing an import, and exporting every bin.

The file is checked row by row first (:mod:`.sheet`); nothing is written unless every row
is valid and names no deactivated zone, item or supplier. Items, zones and suppliers are
matched by SKU/name or created.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from ..cards import flow
from ..catalog.views import card_view
from ..core import audit, csvsafe
from ..core.actor import Actor
from ..core.tx import begin_write, lock_masterdata
from ..domain import cards
from ..domain.cards import CardState
from ..domain.names import name_key
from ..domain.statuses import AuditAction, AuditObject, ChangeCause
from ..extensions import db
from ..models import Bin, Item, Supplier, Zone
from ..stock.scanning import set_initial
from .sheet import COLUMNS, MAX_BYTES, MAX_ROWS, REQUIRED, ImportReport, Row, parse

__all__ = [
    "COLUMNS",
    "MAX_BYTES",
    "MAX_ROWS",
    "REQUIRED",
    "ImportReport",
    "Row",
    "RowChange",
    "export_bins",
    "import_bins",
    "parse",
    "preview",
    "report_dict",
]


def _refuse_deactivated(report: ImportReport) -> None:
    """An error for each row naming a deactivated zone, item or supplier (a bin must not
    move into a zone nobody uses any more, nor order from a supplier that was closed)."""
    names: dict[str, tuple[Any, Any, set[str]]] = {
        "zone": (Zone, Zone.name, {r.zone for r in report.rows}),
        "sku": (Item, Item.sku, {r.sku for r in report.rows}),
        "supplier": (Supplier, Supplier.name, {r.supplier for r in report.rows}),
    }
    off: dict[str, set[str]] = {}
    for column, (model, key, wanted) in names.items():
        stmt = sa.select(key).where(key.in_(wanted), model.active.is_(False))
        off[column] = set(db.session.scalars(stmt))
    # A supplier is named whatever the case: "acme" is the deactivated "Acme" too.
    stmt = sa.select(Supplier.name).where(Supplier.active.is_(False))
    off["supplier"] = {name_key(n) for n in db.session.scalars(stmt)}
    for row in report.rows:
        keys = {"zone": row.zone, "sku": row.sku, "supplier": name_key(row.supplier)}
        for column, value in (("zone", row.zone), ("sku", row.sku), ("supplier", row.supplier)):
            if keys[column] in off[column]:
                report.errors.append(
                    f"line {row.line}: {column} {value} is deactivated: bring it back first"
                )


def _same_supplier(current: str, named: str) -> str:
    """``current`` when ``named`` is the same supplier name in another case or form."""
    return current if name_key(current) == name_key(named) else named


def import_bins(data: bytes | str, *, dry_run: bool, actor: Actor) -> ImportReport:
    """Validate, then (unless ``dry_run`` or any row is bad) write every row and one audit
    entry with the counts and the rows that changed."""
    report = parse(data)
    report.dry_run = dry_run
    if report.ok:
        _refuse_deactivated(report)
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
    lock_masterdata()
    writer = _Writer(actor)
    for row in report.rows:
        writer.write(row)
    db.session.flush()
    writer.audit(report)
    return report


@dataclass
class _Writer:
    """Writes the rows of one import and notes what each changed, for the audit entry."""

    actor: Actor
    suppliers: dict[str, Supplier] = field(default_factory=dict)
    zones: dict[str, Zone] = field(default_factory=dict)
    items: dict[str, Item] = field(default_factory=dict)
    bins: list[dict[str, Any]] = field(default_factory=list)
    #: Records the import created or changed (their pages list the import in their history).
    touched: list[tuple[AuditObject, Supplier | Zone | Item | Bin]] = field(default_factory=list)
    new: dict[str, list[str]] = field(default_factory=dict)
    suppliers_changed: dict[str, dict[str, list[Any]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for sup in db.session.scalars(sa.select(Supplier).order_by(Supplier.id)):
            self.suppliers.setdefault(sup.name, sup)
            self.suppliers.setdefault(name_key(sup.name), sup)
        self.zones = {z.name: z for z in db.session.scalars(sa.select(Zone))}
        self.items = {i.sku: i for i in db.session.scalars(sa.select(Item))}
        self.new = {"suppliers": [], "zones": [], "items": []}

    def _supplier(self, row: Row) -> Supplier:
        # Keyed by exact name and by folded name: "acme" is the supplier "Acme".
        sup = self.suppliers.get(row.supplier) or self.suppliers.get(name_key(row.supplier))
        if sup is None:
            sup = Supplier(name=row.supplier, lead_time_days=row.lead_time_days or 7)
            db.session.add(sup)
            self.suppliers[row.supplier] = self.suppliers[name_key(row.supplier)] = sup
            self.new["suppliers"].append(row.supplier)
            self.touched.append((AuditObject.SUPPLIER, sup))
        wanted = {"email": row.supplier_email or sup.email, "lead_time_days": row.lead_time_days}
        diff = {
            k: [getattr(sup, k), v]
            for k, v in wanted.items()
            if v is not None and getattr(sup, k) != v
        }
        if diff and sup.id is not None:
            sup.record_version += 1
            self.suppliers_changed.setdefault(sup.name, {}).update(diff)
            self.touched.append((AuditObject.SUPPLIER, sup))
        for k, (_, v) in diff.items():
            setattr(sup, k, v)
        return sup

    def _zone(self, row: Row) -> Zone:
        zone = self.zones.get(row.zone)
        if zone is None:
            zone = Zone(name=row.zone, position=len(self.zones))
            db.session.add(zone)
            self.zones[row.zone] = zone
            self.new["zones"].append(row.zone)
            self.touched.append((AuditObject.ZONE, zone))
        return zone

    def _item(self, row: Row, sup: Supplier) -> Item:
        item = self.items.get(row.sku)
        if item is None:
            item = Item(sku=row.sku, name=row.item_name, supplier=sup)
            db.session.add(item)
            self.items[row.sku] = item
            self.new["items"].append(row.sku)
            self.touched.append((AuditObject.ITEM, item))
        elif (item.name, item.supplier_id) != (row.item_name, sup.id):
            item.name, item.supplier = row.item_name, sup
            item.record_version += 1
            self.touched.append((AuditObject.ITEM, item))
        return item

    def write(self, row: Row) -> None:
        """Create or update the bin of one row (and its supplier, zone and item)."""
        b = db.session.scalar(sa.select(Bin).where(Bin.code == row.code))
        before = _fields(b) if b is not None else None
        sup = self._supplier(row)
        zone = self._zone(row)
        item = self._item(row, sup)
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
            set_initial(b, row.on_hand, self.actor)
            db.session.refresh(b)
            self._note(row, b, None)
            return
        self._update(row, b, item, zone, before)

    def _update(
        self, row: Row, b: Bin, item: Item, zone: Zone, before: dict[str, Any] | None
    ) -> None:
        look = _look(b)
        b.item, b.zone = item, zone
        b.order_quantity, b.pull_quantity = row.order_quantity, row.pull_quantity
        card_changed = b.card_quantity != row.card_quantity
        b.card_quantity = row.card_quantity
        db.session.flush()
        if b.on_hand != row.on_hand:
            set_initial(b, row.on_hand, self.actor)  # a movement, whose event shows the bin
        elif card_changed or _look(b) != look:  # open boards show the new name, zone, card…
            v = card_view(b.id)
            event = cards.level_event(v.on_hand, v.card_quantity) if card_changed else None
            flow.apply(v, event, flow.Cause(ChangeCause.IMPORT, self.actor.name))
        db.session.refresh(b)
        self._note(row, b, before)

    def _note(self, row: Row, b: Bin, before: dict[str, Any] | None) -> None:
        after = _fields(b)
        if before is None:
            self.bins.append({"line": row.line, "code": b.code, "new": after})
        else:
            diff = {k: [before[k], v] for k, v in after.items() if before[k] != v}
            if not diff:
                return
            b.record_version += 1
            self.bins.append({"line": row.line, "code": b.code, "changes": diff})
        self.touched.append((AuditObject.BIN, b))

    def audit(self, report: ImportReport) -> None:
        """The one audit entry of this import."""
        created = sum(1 for b in self.bins if "new" in b)
        changed = len(self.bins) - created
        unchanged = len(report.rows) - len(self.bins)
        after = {
            "rows": len(report.rows),
            "created": created,
            "changed": changed,
            "unchanged": unchanged,
            "bins": self.bins,
            "new": {k: v for k, v in self.new.items() if v},
            "suppliers_changed": self.suppliers_changed,
        }
        label = f"{len(report.rows)} rows: {created} new bins, {changed} changed"
        audit.record(
            AuditObject.IMPORT,
            AuditAction.IMPORTED,
            actor=self.actor,
            object_id=None,
            label=label,
            after=after,
            links=[(kind, record.id) for kind, record in self.touched],
        )


def _fields(b: Bin) -> dict[str, Any]:
    """What an import can change on a bin, as its audit entry shows it."""
    return {
        "sku": b.item.sku,
        "item_name": b.item.name,
        "zone": b.zone.name,
        "supplier": b.item.supplier.name,
        "on_hand": b.on_hand,
        "card_quantity": b.card_quantity,
        "order_quantity": b.order_quantity,
        "pull_quantity": b.pull_quantity,
    }


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
    """Every bin as the spreadsheet, ready to re-import; a name a spreadsheet would run as
    a formula is written as text ('=…), and the import reads it back as it was."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    stmt = sa.select(Bin).order_by(Bin.code)
    for b in db.session.scalars(stmt):
        sup = b.item.supplier
        writer.writerow(
            [
                b.code,
                csvsafe.cell(b.item.sku),
                csvsafe.cell(b.item.name),
                csvsafe.cell(b.zone.name),
                csvsafe.cell(sup.name),
                csvsafe.cell(sup.email or ""),
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
            # "acme" names the supplier "Acme": the row keeps it (see name_key).
            ("supplier", b.item.supplier.name, _same_supplier(b.item.supplier.name, row.supplier)),
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

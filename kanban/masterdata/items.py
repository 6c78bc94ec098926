"""Items as records: create, edit, deactivate and bring back (audited, versioned)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from ..core.actor import Actor
from ..core.errors import FieldErrors, NotFound, ServiceError
from ..core.tx import begin_write
from ..domain.statuses import AuditAction, AuditObject
from ..extensions import db
from ..models import Bin, Item, Supplier
from . import records
from .fields import Field, Kind, clean

FIELDS: dict[str, Field] = {
    "sku": Field("SKU", required=True, limit=64),
    "name": Field("Name", required=True, limit=200),
    "supplier_id": Field("Supplier", Kind.RECORD, required=True, low=1, high=999_999_999),
    "unit": Field("Unit", required=True, limit=16, help="ea, box, m, kg …"),
    "pack_multiple": Field(
        "Pack multiple", Kind.NUMBER, required=True, low=1, help="Order in multiples of it."
    ),
    "supplier_part_number": Field("Supplier part number", limit=64),
    "unit_cost": Field("Unit cost", Kind.MONEY, places=4),
    "manufacturer_barcode": Field(
        "Manufacturer barcode", Kind.BARCODE, help="EAN/UPC: scanning the product finds its bin."
    ),
    "active": Field("Active", Kind.SWITCH),
}
NEW_FIELDS = {k: f for k, f in FIELDS.items() if k != "active"}
DEFAULTS: dict[str, Any] = {"unit": "ea", "pack_multiple": 1}
#: What the cards of an item's bins show of it.
ON_CARDS = ("sku", "name", "unit", "supplier_id")


def get_item(item_id: int) -> Item:
    """An item by id, or NotFound."""
    item = db.session.get(Item, item_id)
    if item is None:
        raise NotFound("unknown_item", "No item has this id.")
    return item


def list_items() -> list[Item]:
    """Every item, active ones first, by SKU."""
    return list(db.session.scalars(sa.select(Item).order_by(Item.active.desc(), Item.sku)))


def item_fields(item: Item) -> dict[str, Any]:
    """An item's fields, as the forms, the API and the audit trail show them."""
    return {name: getattr(item, name) for name in FIELDS}


def item_record(item: Item) -> dict[str, Any]:
    """The JSON form of an item, with its supplier's name and its version."""
    fields = item_fields(item)
    if fields["unit_cost"] is not None:
        fields["unit_cost"] = str(fields["unit_cost"])
    return {"id": item.id, **fields, "supplier": item.supplier.name, "version": item.record_version}


def _taken(sku: str) -> str:
    return f"An item with SKU {sku} exists already."


def _supplier(supplier_id: int) -> Supplier:
    """The active supplier an item is to order from, locked against deactivation."""
    sup = db.session.get(Supplier, supplier_id, with_for_update={"read": True})
    if sup is None:
        raise FieldErrors({"supplier_id": "Supplier: no supplier has this id."})
    if not sup.active:
        raise FieldErrors({"supplier_id": f"Supplier: {sup.name} is deactivated."})
    return sup


def create_item(values: Mapping[str, Any], actor: Actor) -> Item:
    """A new item from a form or the API (audited)."""
    new = clean(NEW_FIELDS, DEFAULTS | dict(values), creating=True, what="item")
    begin_write()
    records.unique(Item, Item.sku, new["sku"], None, "sku", _taken(new["sku"]))
    _supplier(new["supplier_id"])
    item = Item(**new)
    db.session.add(item)
    records.flush_unique("sku", _taken(new["sku"]))
    records.created(AuditObject.ITEM, item, item.sku, actor, item_fields(item))
    return item


def update_item(
    item_id: int, values: Mapping[str, Any], *, version: int | None, actor: Actor
) -> Item:
    """Change some fields of an item (``active`` deactivates or brings it back), if
    ``version`` is still its version; its bins' cards show the change at once."""
    new = clean(FIELDS, values, creating=False, what="item")
    begin_write()
    item = get_item(item_id)
    shown = {k for k in ON_CARDS if k in new and new[k] != getattr(item, k)}
    bins = records.lock_bins(Bin.item_id == item.id) if shown else []
    db.session.refresh(item, with_for_update=True)
    records.check_version(AuditObject.ITEM, item, version)
    if "sku" in new:
        records.unique(Item, Item.sku, new["sku"], item.id, "sku", _taken(new["sku"]))
    old_supplier = item.supplier.name
    if "supplier_id" in new and new["supplier_id"] != item.supplier_id:
        _supplier(new["supplier_id"])
    active = new.pop("active", None)
    before = item_fields(item)
    for k, v in new.items():
        setattr(item, k, v)
    records.changed(AuditObject.ITEM, item, item.sku, actor, before, new)
    records.flush_unique("sku", _taken(item.sku))
    db.session.expire(item, ["supplier"])  # a new supplier_id: load its supplier
    if active is not None and active != item.active:
        _set_active(item, active, actor)
    edited = {k: [before[k], new[k]] for k in shown if k != "supplier_id"}
    if "supplier_id" in shown:
        edited["supplier"] = [old_supplier, item.supplier.name]
    records.announce(bins, actor, edited)
    return item


def _set_active(item: Item, active: bool, actor: Actor) -> None:
    """Deactivate an item no active bin holds, or bring it back (its supplier must be
    active)."""
    if not active:
        codes = list(
            db.session.scalars(
                sa.select(Bin.code)
                .where(Bin.item_id == item.id, Bin.active.is_(True))
                .order_by(Bin.code)
                .limit(4)
            )
        )
        if codes:
            shown = ", ".join(codes[:3]) + (", …" if len(codes) > 3 else "")
            raise ServiceError(
                "in_use",
                f"Item {item.sku} is still in active bins ({shown}): retire them or give "
                "them another item first.",
                409,
            )
    elif not item.supplier.active:
        raise ServiceError(
            "inactive_parent",
            f"Item {item.sku} orders from {item.supplier.name}, which is deactivated: bring "
            "the supplier back or choose another one first.",
            409,
        )
    item.active = active
    action = AuditAction.REACTIVATED if active else AuditAction.DEACTIVATED
    records.changed(
        AuditObject.ITEM,
        item,
        item.sku,
        actor,
        {"active": not active},
        {"active": active},
        action=action,
    )

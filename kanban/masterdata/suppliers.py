"""Suppliers as records: create, edit, deactivate and bring back (audited, versioned).

Finding suppliers, their lead times and "send automatically" on its own are in
:mod:`kanban.purchasing.suppliers`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from ..core.actor import Actor
from ..core.errors import FieldErrors, ServiceError
from ..core.tx import begin_write
from ..domain.statuses import AuditAction, AuditObject
from ..extensions import db
from ..models import Item, Supplier
from ..purchasing.suppliers import get_supplier
from . import records
from .fields import Field, Kind, clean

FIELDS: dict[str, Field] = {
    "name": Field("Name", required=True, limit=120),
    "email": Field("Email", Kind.EMAIL, limit=254, help="Where requests are emailed."),
    "contact": Field("Contact", limit=120, help="Who handles our requests there."),
    "phone": Field("Phone", limit=40),
    "lead_time_days": Field(
        "Lead time (days)",
        Kind.NUMBER,
        required=True,
        high=365,
        help="Sent to delivered; sets a sent request's expected date.",
    ),
    "min_order_value": Field("Minimum order value", Kind.MONEY),
    "min_order_quantity": Field("Minimum order quantity", Kind.NUMBER, low=1),
    "request_note": Field(
        "Note on every request",
        limit=500,
        help="Printed on each request: our customer number, where to deliver, …",
    ),
    "auto_send": Field("Send automatically", Kind.SWITCH),
    "active": Field("Active", Kind.SWITCH),
}
NEW_FIELDS = {k: f for k, f in FIELDS.items() if k != "active"}
DEFAULTS: dict[str, Any] = {"lead_time_days": 7, "auto_send": False}


def supplier_fields(sup: Supplier) -> dict[str, Any]:
    """A supplier's fields, as the forms, the API and the audit trail show them."""
    return {name: getattr(sup, name) for name in FIELDS}


def supplier_record(sup: Supplier) -> dict[str, Any]:
    """The JSON form of a supplier, with its version."""
    fields = supplier_fields(sup)
    if fields["min_order_value"] is not None:
        fields["min_order_value"] = str(fields["min_order_value"])
    return {"id": sup.id, **fields, "version": sup.record_version}


def _taken(name: str) -> str:
    return f"A supplier named {name} exists already."


def _name_free(name: str, own_id: int | None) -> None:
    """Refuse a supplier name that another supplier has, whatever its case, Unicode form
    or spaces ("würth industrie" beside "Würth Industrie")."""
    records.unique(Supplier, Supplier.name, name, own_id, "name", _taken(name))
    other = records.same_name(Supplier, Supplier.name, name, own_id)
    if other is not None:
        raise FieldErrors({"name": _taken(other) + " Names differing only in case are one."})


def create_supplier(values: Mapping[str, Any], actor: Actor) -> Supplier:
    """A new supplier from a form or the API (audited)."""
    new = clean(NEW_FIELDS, DEFAULTS | dict(values), creating=True, what="supplier")
    begin_write()
    _name_free(new["name"], None)
    sup = Supplier(**new)
    db.session.add(sup)
    records.flush_unique("name", _taken(new["name"]))
    records.created(AuditObject.SUPPLIER, sup, sup.name, actor, supplier_fields(sup))
    return sup


def update_supplier(
    supplier_id: int, values: Mapping[str, Any], *, version: int | None, actor: Actor
) -> Supplier:
    """Change some fields of a supplier (``active`` deactivates or brings it back), if
    ``version`` is still its version; open boards show a new name at once."""
    new = clean(FIELDS, values, creating=False, what="supplier")
    begin_write()
    sup = get_supplier(supplier_id)
    renamed = "name" in new and new["name"] != sup.name
    # Bins before the supplier: a scan locks its bin, then its supplier.
    bins = records.lock_bins(Item.supplier_id == sup.id) if renamed else []
    db.session.refresh(sup, with_for_update=True)
    records.check_version(AuditObject.SUPPLIER, sup, version)
    if renamed:
        _name_free(new["name"], sup.id)
    active = new.pop("active", None)
    before = {k: getattr(sup, k) for k in new}
    for k, v in new.items():
        setattr(sup, k, v)
    records.changed(AuditObject.SUPPLIER, sup, sup.name, actor, before, new)
    if active is not None and active != sup.active:
        _set_active(sup, active, actor)
    records.flush_unique("name", _taken(sup.name))
    if renamed:
        records.announce(bins, actor, {"supplier": [before["name"], sup.name]})
    return sup


def _set_active(sup: Supplier, active: bool, actor: Actor) -> None:
    """Deactivate a supplier no active item orders from, or bring one back."""
    if not active:
        skus = list(
            db.session.scalars(
                sa.select(Item.sku)
                .where(Item.supplier_id == sup.id, Item.active.is_(True))
                .order_by(Item.sku)
                .limit(4)
            )
        )
        if skus:
            shown = ", ".join(skus[:3]) + (", …" if len(skus) > 3 else "")
            raise ServiceError(
                "in_use",
                f"{sup.name} still supplies active items ({shown}): give them another "
                "supplier or deactivate them first.",
                409,
            )
    sup.active = active
    action = AuditAction.REACTIVATED if active else AuditAction.DEACTIVATED
    records.changed(
        AuditObject.SUPPLIER,
        sup,
        sup.name,
        actor,
        {"active": not active},
        {"active": active},
        action=action,
    )

"""Blueprint ``masterdata``: the forms that create, edit, deactivate and bring back
suppliers, items and zones (supervisors). Bins: :mod:`.masterdata_bins`.

Each view reads the form, calls one operation of :mod:`kanban.masterdata`, commits once and
redirects; a refused field comes back on the form beside the field (400), an edit made on an
older version comes back as the record is now, with the reason (409).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for

from ..core import audit
from ..core.actor import Actor
from ..core.errors import Conflict, FieldErrors, ServiceError
from ..domain import names
from ..domain.statuses import AuditObject, Role, Source
from ..extensions import db
from ..masterdata import items, suppliers, zones
from ..masterdata.fields import Field
from ..purchasing.suppliers import get_supplier, list_suppliers
from .forms import form_fields, form_values, form_version
from .security import actor, requires

bp = Blueprint("masterdata", __name__)


@dataclass(frozen=True)
class RecordPages:
    """How the pages of one kind of record work."""

    audit: AuditObject
    what: str  # "supplier"
    new_fields: Mapping[str, Field]
    fields: Mapping[str, Field]
    defaults: Mapping[str, Any]
    load: Callable[[int], Any]
    values: Callable[[Any], dict[str, Any]]
    create: Callable[[Mapping[str, Any], Actor], Any]
    update: Callable[..., Any]
    label: Callable[[Any], str]
    page: str  # endpoint of a record's page (``<what>_id``)
    options: Callable[[Any], dict[str, list[tuple[int, str]]]] = lambda _record: {}


def _supplier_options(item: Any) -> dict[str, list[tuple[int, str]]]:
    found = [(s.id, s.name) for s in list_suppliers() if s.active]
    if item is not None and not item.supplier.active:
        found.append((item.supplier_id, f"{item.supplier.name} (deactivated)"))
    return {"supplier_id": found}


def _editable(fields: Mapping[str, Field]) -> dict[str, Field]:
    return {k: f for k, f in fields.items() if k != "active"}


#: What deactivating does, in the question the page asks first.
DEACTIVATE_EFFECT = {
    "supplier": "no item or bin can be set to order from it",
    "item": "no bin can be set to hold it",
    "zone": "no bin can be moved into it",
}

KINDS = {
    "supplier": RecordPages(
        AuditObject.SUPPLIER,
        "supplier",
        suppliers.NEW_FIELDS,
        _editable(suppliers.FIELDS),
        suppliers.DEFAULTS,
        get_supplier,
        suppliers.supplier_fields,
        suppliers.create_supplier,
        suppliers.update_supplier,
        lambda s: s.name,
        "requests.supplier",
    ),
    "item": RecordPages(
        AuditObject.ITEM,
        "item",
        items.NEW_FIELDS,
        _editable(items.FIELDS),
        items.DEFAULTS,
        items.get_item,
        items.item_fields,
        items.create_item,
        items.update_item,
        lambda i: f"{i.sku} · {i.name}",
        "masterdata.edit_item",
        _supplier_options,
    ),
    "zone": RecordPages(
        AuditObject.ZONE,
        "zone",
        zones.NEW_FIELDS,
        _editable(zones.FIELDS),
        {},
        zones.get_zone,
        zones.zone_fields,
        zones.create_zone,
        zones.update_zone,
        lambda z: z.name,
        "masterdata.edit_zone",
    ),
}


def _form(
    kind: RecordPages,
    record: Any,
    values: Mapping[str, Any],
    *,
    errors: Mapping[str, str] | None = None,
    message: str | None = None,
    status: int = 200,
) -> Any:
    """The new or edit form of a record, with what was typed and what was refused."""
    fields = kind.new_fields if record is None else kind.fields
    action = (
        url_for(f"masterdata.create_{kind.what}")
        if record is None
        else url_for(f"masterdata.save_{kind.what}", record_id=record.id)
    )
    page = render_template(
        "masterdata/form.html",
        what=kind.what,
        record=record,
        title=f"New {kind.what}" if record is None else f"Edit {kind.what} {kind.label(record)}",
        record_label="" if record is None else f"the {kind.what} {kind.label(record)}",
        deactivate_effect=DEACTIVATE_EFFECT.get(kind.what, ""),
        action=action,
        fields=form_fields(fields, values, errors, kind.options(record)),
        message=message,
        history=[] if record is None else audit.history(kind.audit, record.id),
        active_url=None
        if record is None
        else url_for(f"masterdata.set_{kind.what}_active", record_id=record.id),
    )
    return page, status


def _new(what: str) -> Any:
    kind = KINDS[what]
    return _form(kind, None, kind.defaults)


def _create(what: str) -> Any:
    kind = KINDS[what]
    values = form_values(kind.new_fields)
    try:
        record = kind.create(values, actor(source=Source.FORM))
        db.session.commit()
    except FieldErrors as exc:
        db.session.rollback()
        return _form(kind, None, values, errors=exc.errors, status=400)
    flash(f"{what.capitalize()} {kind.label(record)} created.", "ok")
    key: dict[str, Any] = {f"{what}_id": record.id}
    return redirect(url_for(kind.page, **key), 303)


def _edit(what: str, record_id: int) -> Any:
    kind = KINDS[what]
    record = kind.load(record_id)
    return _form(kind, record, kind.values(record))


def _save(what: str, record_id: int, values: Mapping[str, Any] | None = None) -> Any:
    """Save the edit form (or, with ``values``, a deactivate/bring back button)."""
    kind = KINDS[what]
    typed = form_values(kind.fields) if values is None else values
    version = form_version()
    try:
        record = kind.update(record_id, typed, version=version, actor=actor(source=Source.FORM))
        label = kind.label(record)
        db.session.commit()
    except FieldErrors as exc:
        db.session.rollback()
        record = kind.load(record_id)
        shown = kind.values(record) | dict(typed)
        return _form(kind, record, shown, errors=exc.errors, status=400)
    except Conflict as exc:
        db.session.rollback()
        record = kind.load(record_id)
        return _form(kind, record, kind.values(record), message=exc.message, status=409)
    except ServiceError as exc:
        db.session.rollback()
        record = kind.load(record_id)
        return _form(kind, record, kind.values(record), message=exc.message, status=exc.status)
    flash(f"{what.capitalize()} {label} saved.", "ok")
    key: dict[str, Any] = {f"{what}_id": record_id}
    return redirect(url_for(kind.page, **key), 303)


def _set_active(what: str, record_id: int) -> Any:
    return _save(what, record_id, {"active": request.form.get("active") == "1"})


# ------------------------------------------------------------------ suppliers


@bp.get("/suppliers/new")
@requires(Role.SUPERVISOR)
def new_supplier() -> Any:
    """The form for a new supplier."""
    return _new("supplier")


@bp.post("/suppliers/new")
@requires(Role.SUPERVISOR)
def create_supplier() -> Any:
    """Create a supplier; its page opens."""
    return _create("supplier")


@bp.get("/suppliers/<int:record_id>/edit")
@requires(Role.SUPERVISOR)
def edit_supplier(record_id: int) -> Any:
    """A supplier's edit form, with its history."""
    return _edit("supplier", record_id)


@bp.post("/suppliers/<int:record_id>/edit")
@requires(Role.SUPERVISOR)
def save_supplier(record_id: int) -> Any:
    """Save a supplier's edit form."""
    return _save("supplier", record_id)


@bp.post("/suppliers/<int:record_id>/active")
@requires(Role.SUPERVISOR)
def set_supplier_active(record_id: int) -> Any:
    """Deactivate a supplier (``active=0``) or bring it back (``active=1``)."""
    return _set_active("supplier", record_id)


# ---------------------------------------------------------------------- items


@bp.get("/items")
@requires(Role.SUPERVISOR)
def list_items() -> Any:
    """Every item, with its supplier; ``q`` keeps those whose SKU, name, supplier, part
    number or barcode holds it (whatever its case)."""
    q = request.args.get("q", "").strip()[:100]
    every = items.list_items()
    found = [
        i
        for i in every
        if names.matches(
            q,
            i.sku,
            i.name,
            i.supplier.name,
            i.supplier_part_number,
            i.manufacturer_barcode,
        )
    ]
    return render_template("masterdata/items.html", items=found, q=q, total=len(every))


@bp.get("/items/new")
@requires(Role.SUPERVISOR)
def new_item() -> Any:
    """The form for a new item."""
    return _new("item")


@bp.post("/items/new")
@requires(Role.SUPERVISOR)
def create_item() -> Any:
    """Create an item."""
    return _create("item")


@bp.get("/items/<int:item_id>")
@requires(Role.SUPERVISOR)
def edit_item(item_id: int) -> Any:
    """An item's page: its edit form and history."""
    return _edit("item", item_id)


@bp.post("/items/<int:record_id>")
@requires(Role.SUPERVISOR)
def save_item(record_id: int) -> Any:
    """Save an item's edit form."""
    return _save("item", record_id)


@bp.post("/items/<int:record_id>/active")
@requires(Role.SUPERVISOR)
def set_item_active(record_id: int) -> Any:
    """Deactivate an item (``active=0``) or bring it back (``active=1``)."""
    return _set_active("item", record_id)


# ---------------------------------------------------------------------- zones


@bp.get("/zones")
@requires(Role.SUPERVISOR)
def list_zones() -> Any:
    """Every zone in board order."""
    return render_template("masterdata/zones.html", zones=zones.list_zones())


@bp.get("/zones/new")
@requires(Role.SUPERVISOR)
def new_zone() -> Any:
    """The form for a new zone."""
    return _new("zone")


@bp.post("/zones/new")
@requires(Role.SUPERVISOR)
def create_zone() -> Any:
    """Create a zone."""
    return _create("zone")


@bp.get("/zones/<int:zone_id>")
@requires(Role.SUPERVISOR)
def edit_zone(zone_id: int) -> Any:
    """A zone's page: its edit form and history."""
    return _edit("zone", zone_id)


@bp.post("/zones/<int:record_id>")
@requires(Role.SUPERVISOR)
def save_zone(record_id: int) -> Any:
    """Save a zone's edit form."""
    return _save("zone", record_id)


@bp.post("/zones/<int:record_id>/active")
@requires(Role.SUPERVISOR)
def set_zone_active(record_id: int) -> Any:
    """Deactivate a zone (``active=0``) or bring it back (``active=1``)."""
    return _set_active("zone", record_id)

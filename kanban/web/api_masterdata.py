"""The JSON API for master data and the audit trail (routes on ``api.bp``).

``POST`` creates and ``PATCH`` changes suppliers, items, zones and bins, with the same
checks, versions and audit entries as the pages (:mod:`kanban.masterdata`). A ``PATCH``
must carry the ``version`` it read; another one answers ``409 conflict`` and changes
nothing. A refused field answers ``400 invalid_field`` with ``field`` naming it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from flask import jsonify, request

from ..catalog.views import get_bin
from ..core import audit
from ..core.errors import FieldErrors, ServiceError
from ..domain.statuses import Role, Source
from ..extensions import db
from ..masterdata import bin_records, items, suppliers, zones
from ..purchasing.suppliers import get_supplier, list_suppliers
from .api import bp
from .security import actor, requires

#: The most bins' worth of text a code in a path may have.
CODE_MAX = 64


def _body() -> dict[str, Any]:
    if not request.is_json:
        raise ServiceError(
            "unsupported_media_type", "Send the body as JSON (Content-Type: application/json).", 415
        )
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ServiceError("invalid_json", "The body must be a JSON object.")
    return body


def _version(body: dict[str, Any]) -> int:
    """The ``version`` a PATCH read (taken out of the body)."""
    version = body.pop("version", None)
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise FieldErrors(
            {"version": "version is required: the record's version as you read it (GET)."}
        )
    return version


def _create(make: Callable[..., Any], record: Callable[[Any], dict[str, Any]]) -> Any:
    created = make(_body(), actor(source=Source.API))
    db.session.commit()
    return jsonify(record(created)), 201


def _patch(change: Callable[..., Any], key: Any, record: Callable[[Any], dict[str, Any]]) -> Any:
    body = _body()
    version = _version(body)
    changed = change(key, body, version=version, actor=actor(source=Source.API))
    db.session.commit()
    return jsonify(record(changed))


# ------------------------------------------------------------------ suppliers


@bp.get("/suppliers")
@requires(Role.OPERATOR)
def api_suppliers() -> Any:
    """Every supplier with its fields and version."""
    return jsonify(suppliers=[suppliers.supplier_record(s) for s in list_suppliers()])


@bp.get("/suppliers/<int:supplier_id>")
@requires(Role.OPERATOR)
def api_supplier(supplier_id: int) -> Any:
    """One supplier."""
    return jsonify(suppliers.supplier_record(get_supplier(supplier_id)))


@bp.post("/suppliers")
@requires(Role.SUPERVISOR)
def api_create_supplier() -> Any:
    """Create a supplier: 201 with the record."""
    return _create(suppliers.create_supplier, suppliers.supplier_record)


@bp.patch("/suppliers/<int:supplier_id>")
@requires(Role.SUPERVISOR)
def api_update_supplier(supplier_id: int) -> Any:
    """Change a supplier's fields (``active``: deactivate or bring back)."""
    return _patch(suppliers.update_supplier, supplier_id, suppliers.supplier_record)


# ---------------------------------------------------------------------- items


@bp.get("/items")
@requires(Role.OPERATOR)
def api_items() -> Any:
    """Every item with its fields, supplier and version."""
    return jsonify(items=[items.item_record(i) for i in items.list_items()])


@bp.get("/items/<int:item_id>")
@requires(Role.OPERATOR)
def api_item(item_id: int) -> Any:
    """One item."""
    return jsonify(items.item_record(items.get_item(item_id)))


@bp.post("/items")
@requires(Role.SUPERVISOR)
def api_create_item() -> Any:
    """Create an item: 201 with the record."""
    return _create(items.create_item, items.item_record)


@bp.patch("/items/<int:item_id>")
@requires(Role.SUPERVISOR)
def api_update_item(item_id: int) -> Any:
    """Change an item's fields (``active``: deactivate or bring back)."""
    return _patch(items.update_item, item_id, items.item_record)


# ---------------------------------------------------------------------- zones


@bp.get("/zones")
@requires(Role.OPERATOR)
def api_zones() -> Any:
    """Every zone in board order, with its version."""
    return jsonify(zones=[zones.zone_record(z) for z in zones.list_zones()])


@bp.get("/zones/<int:zone_id>")
@requires(Role.OPERATOR)
def api_zone(zone_id: int) -> Any:
    """One zone."""
    return jsonify(zones.zone_record(zones.get_zone(zone_id)))


@bp.post("/zones")
@requires(Role.SUPERVISOR)
def api_create_zone() -> Any:
    """Create a zone: 201 with the record."""
    return _create(zones.create_zone, zones.zone_record)


@bp.patch("/zones/<int:zone_id>")
@requires(Role.SUPERVISOR)
def api_update_zone(zone_id: int) -> Any:
    """Change a zone's name or display order (``active``: deactivate or bring back)."""
    return _patch(zones.update_zone, zone_id, zones.zone_record)


# ----------------------------------------------------------------------- bins


@bp.post("/bins")
@requires(Role.SUPERVISOR)
def api_create_bin() -> Any:
    """Create a bin with its opening stock: 201 with the bin."""
    return _create(bin_records.new_bin, bin_records.bin_record)


@bp.patch("/bins/<path:code>")
@requires(Role.SUPERVISOR)
def api_update_bin(code: str) -> Any:
    """Change a bin's code, item, zone or quantities (``active``: retire or bring back)."""
    b = get_bin(code[:CODE_MAX])
    return _patch(bin_records.update_bin, b.code, bin_records.bin_record)


# ---------------------------------------------------------------------- audit


def _limit(args: Mapping[str, str]) -> int:
    raw = args.get("limit", "").strip()
    if not raw:
        return audit.PAGE
    if not raw.isdigit() or not 1 <= int(raw) <= audit.MAX_PAGE:
        raise ServiceError(
            "invalid_limit", f"limit must be a whole number from 1 to {audit.MAX_PAGE}."
        )
    return int(raw)


@bp.get("/audit")
@requires(Role.SUPERVISOR)
def api_audit() -> Any:
    """The audit trail, newest first, with the filters of the /audit page; ``next_before``
    asks for the page after this one."""
    filt = audit.AuditFilter.from_args(request.args)
    limit = _limit(request.args)
    found = audit.entries(filt, limit + 1)
    more = len(found) > limit
    shown = found[:limit]
    return jsonify(
        entries=[audit.entry_dict(e) for e in shown],
        next_before=shown[-1].id if more and shown else None,
    )

"""Blueprint ``audit``: the audit trail as a page with filters (``/audit``) and as CSV
(``/audit.csv``), for supervisors; and how an entry reads on a record's own page (the
``audit_word`` and ``audit_changes`` template globals). Nothing here changes an entry: the
trail has no edit or delete, on any page or in the API."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, render_template, request
from flask.blueprints import BlueprintSetupState

from ..core import audit
from ..core.errors import ServiceError
from ..domain.statuses import AuditAction, AuditObject, Role
from ..masterdata import bin_records, items, suppliers, zones
from ..models import AuditEntry
from .downloads import csv_download
from .security import requires

bp = Blueprint("audit", __name__)

WORDS = {
    AuditAction.CREATED: "Created",
    AuditAction.EDITED: "Changed",
    AuditAction.DEACTIVATED: "Deactivated",
    AuditAction.REACTIVATED: "Brought back",
    AuditAction.PASSWORD_SET: "New password set",
    AuditAction.REVOKED: "Revoked",
    AuditAction.IMPORTED: "Imported the bins spreadsheet",
}
OBJECT_WORDS = {
    AuditObject.SUPPLIER: "Supplier",
    AuditObject.ITEM: "Item",
    AuditObject.ZONE: "Zone",
    AuditObject.BIN: "Bin",
    AuditObject.USER: "User",
    AuditObject.TOKEN: "Device token",
    AuditObject.IMPORT: "Import",
}
#: The words for the fields an entry names, per kind of record.
LABELS: dict[str, dict[str, str]] = {
    AuditObject.SUPPLIER: {k: f.label for k, f in suppliers.FIELDS.items()},
    AuditObject.ITEM: {k: f.label for k, f in items.FIELDS.items()} | {"supplier": "Supplier"},
    AuditObject.ZONE: {k: f.label for k, f in zones.FIELDS.items()},
    AuditObject.BIN: {k: f.label for k, f in bin_records.FIELDS.items()}
    | {"item": "Item", "zone": "Zone"},
    AuditObject.USER: {"username": "Username", "role": "Role", "active": "Active"},
    AuditObject.TOKEN: {"name": "Name", "role": "Role", "prefix": "Starts with"},
}


def _value(value: Any) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def changes(entry: AuditEntry) -> list[str]:
    """What an entry changed, one line per field: "Email: a@x → b@y"."""
    if entry.action == AuditAction.IMPORTED:
        return [entry.label]
    labels = LABELS.get(entry.object_type, {})
    before, after = entry.before or {}, entry.after or {}
    out = []
    for key in after or before:
        name = labels.get(key, key.replace("_", " "))
        if key in before and key in after:
            out.append(f"{name}: {_value(before[key])} → {_value(after[key])}")
        else:
            out.append(f"{name}: {_value(after.get(key, before.get(key)))}")
    return out


@bp.record_once
def _template_globals(state: BlueprintSetupState) -> None:
    # Globals, not a context processor: the history macro is imported without context.
    state.app.jinja_env.globals.update(
        audit_word=lambda action: WORDS.get(action, action),
        audit_object=lambda kind: OBJECT_WORDS.get(kind, kind),
        audit_changes=changes,
    )


@bp.get("/audit")
@requires(Role.SUPERVISOR)
def page() -> Any:
    """The audit trail, newest first, filtered by record, user and days."""
    try:
        filt = audit.AuditFilter.from_args(request.args)
    except ServiceError as exc:
        return _page(audit.AuditFilter(), [], error=exc.message, status=400)
    found = audit.entries(filt, audit.PAGE + 1)
    return _page(filt, found[: audit.PAGE], more=len(found) > audit.PAGE)


def _page(
    filt: audit.AuditFilter,
    entries: list[AuditEntry],
    *,
    more: bool = False,
    error: str | None = None,
    status: int = 200,
) -> Any:
    return (
        render_template(
            "audit/audit.html",
            filt=filt,
            args=filt.as_args(),
            entries=entries,
            more=more,
            older=entries[-1].id if more and entries else None,
            error=error,
            objects=OBJECT_WORDS,
        ),
        status,
    )


@bp.get("/audit.csv")
@requires(Role.SUPERVISOR)
def export() -> Any:
    """The entries the filters select, oldest first, as CSV (formula-safe)."""
    filt = audit.AuditFilter.from_args(request.args)
    name = f"kanban-audit-{dt.datetime.now(dt.UTC).date().isoformat()}.csv"
    return csv_download(name, audit.CSV_COLUMNS, lambda after: audit.csv_page(filt, after))

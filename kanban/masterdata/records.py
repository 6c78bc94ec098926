"""What every master-data change does besides changing its record: check the version the
edit started from, bump it, and write the audit entry (docs/manual/decisions.md, "Editing master
data")."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol

import sqlalchemy as sa

from ..cards import flow
from ..catalog.views import card_view
from ..core import audit
from ..core.actor import Actor
from ..core.errors import Conflict, FieldErrors
from ..domain.names import name_key
from ..domain.statuses import AuditAction, AuditObject, ChangeCause
from ..extensions import db
from ..models import Bin, Item


class Versioned(Protocol):
    """A master-data record: it has an id and a record version."""

    id: int
    record_version: int


WHAT = {
    AuditObject.SUPPLIER: "supplier",
    AuditObject.ITEM: "item",
    AuditObject.ZONE: "zone",
    AuditObject.BIN: "bin",
}


def check_version(kind: AuditObject, record: Versioned, expected: int | None) -> None:
    """Refuse an edit that started from another version than the record's (409 conflict),
    naming who changed it last and when; ``expected`` None skips the check."""
    if expected is None or expected == record.record_version:
        return
    last = audit.history(kind, record.id, limit=1)
    by = ""
    if last:
        when = last[0].created_at.strftime("%Y-%m-%d %H:%M")
        by = f" by {last[0].actor} at {when} UTC"
    raise Conflict(
        f"This {WHAT[kind]} was changed{by} after you opened it (version "
        f"{record.record_version}, yours {expected}). Nothing was saved: look at it again "
        "and make your change on what it is now.",
        record.record_version,
    )


def changed(
    kind: AuditObject,
    record: Versioned,
    label: str,
    actor: Actor,
    before: Mapping[str, Any],
    after: Mapping[str, Any],
    *,
    action: AuditAction = AuditAction.EDITED,
    links: Iterable[tuple[AuditObject, int]] = (),
) -> bool:
    """Bump the record's version and audit the fields that differ between ``before`` and
    ``after``; False (and nothing done) when none does."""
    old, new = audit.differences(before, after)
    if not new:
        return False
    record.record_version += 1  # the row is locked by the caller (or the write mutex)
    audit.record(
        kind,
        action,
        actor=actor,
        object_id=record.id,
        label=label,
        before=old,
        after=new,
        links=links,
    )
    return True


def created(
    kind: AuditObject, record: Versioned, label: str, actor: Actor, fields: Mapping[str, Any]
) -> None:
    """Audit a new record with every field it was created with."""
    audit.record(
        kind, AuditAction.CREATED, actor=actor, object_id=record.id, label=label, after=fields
    )


def lock_bins(condition: sa.ColumnElement[bool]) -> list[int]:
    """Lock the active bins matching ``condition`` (on bins joined with their items), in id
    order, and return their ids. Called *before* locking a supplier, item or zone: a scan
    locks its bin and then its supplier, so this order never waits in a cycle."""
    stmt = (
        sa.select(Bin.id)
        .join(Item, Item.id == Bin.item_id)
        .where(condition, Bin.active.is_(True))
        .order_by(Bin.id)
        .with_for_update(of=Bin)
    )
    return list(db.session.scalars(stmt))


def announce(bin_ids: Iterable[int], actor: Actor, edited: Mapping[str, list[Any]]) -> None:
    """Tell open boards what the cards of these (locked) bins show now: a new name, SKU,
    supplier or zone changes no card's state, so the event is None (docs/manual/spec.md §2.2).
    ``edited``: what changed, as ``{field: [before, after]}``."""
    detail = {"edited": {k: [audit.plain(v) for v in pair] for k, pair in edited.items()}}
    db.session.flush()
    for bin_id in bin_ids:
        cause = flow.Cause(ChangeCause.EDITED, actor.name, detail=detail)
        flow.apply(card_view(bin_id), None, cause)


def unique(
    model: Any, column: Any, value: Any, own_id: int | None, field: str, message: str
) -> None:
    """Refuse ``value`` for ``field`` when another record has it already."""
    stmt = sa.select(model.id).where(column == value)
    if own_id is not None:
        stmt = stmt.where(model.id != own_id)
    if db.session.scalar(stmt.limit(1)) is not None:
        raise FieldErrors({field: message})


def same_name(model: Any, column: Any, name: str, own_id: int | None = None) -> str | None:
    """The name of another record that is ``name`` whatever its case, Unicode form or spaces
    (:func:`~kanban.domain.names.name_key`), or None. The records are few (suppliers), and
    SQLite's ``lower()`` knows ASCII only, so the names are folded here."""
    key = name_key(name)
    stmt = sa.select(model.id, column)
    for record_id, other in db.session.execute(stmt):
        if record_id != own_id and name_key(other) == key:
            return str(other)
    return None


def flush_unique(field: str, message: str) -> None:
    """Flush; a unique key broken meanwhile by another writer (PostgreSQL) is the same
    field error as the check before (the caller's transaction is rolled back)."""
    try:
        db.session.flush()
    except sa.exc.IntegrityError:
        raise FieldErrors({field: message}) from None

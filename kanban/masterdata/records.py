"""What every master-data change does besides changing its record: check the version the
edit started from, bump it, and write the audit entry (docs/decisions.md, "Editing master
data")."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from ..core import audit
from ..core.actor import Actor
from ..core.errors import Conflict
from ..domain.statuses import AuditAction, AuditObject


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

"""The audit trail: who changed which record, when, and its values before and after.

Every operation that changes master data (suppliers, items, zones, bins, card quantities,
auto-send, imports), users or device tokens calls :func:`record` in its own transaction,
so the entry commits or rolls back with the change. Entries are never edited or deleted:
nothing here offers to, and the database refuses it (triggers, see the migration).
Reading and exporting the trail: :func:`entries`, :func:`history`, :func:`csv_rows`.
"""

from __future__ import annotations

import datetime as dt
import enum
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from ..domain.statuses import AuditAction, AuditObject
from ..extensions import db
from ..models import AuditEntry, AuditLink, utcnow
from .actor import Actor
from .errors import ServiceError

#: The most entries one page (or one call of the API) lists.
PAGE = 200
MAX_PAGE = 1000
CSV_COLUMNS = (
    "id",
    "time",
    "actor",
    "user_id",
    "token_id",
    "source",
    "object",
    "object_id",
    "record",
    "action",
    "before",
    "after",
)


def plain(value: Any) -> Any:
    """A value as JSON keeps it: decimals and times as text, enums as their value."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


def differences(
    before: Mapping[str, Any], after: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The fields whose value changed, as (before, after) dicts of those fields only."""
    changed = [k for k in after if plain(before.get(k)) != plain(after[k])]
    return {k: plain(before.get(k)) for k in changed}, {k: plain(after[k]) for k in changed}


def record(
    object_type: AuditObject,
    action: AuditAction,
    *,
    actor: Actor,
    object_id: int | None,
    label: str,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    links: Iterable[tuple[AuditObject, int]] = (),
) -> AuditEntry:
    """Write one audit entry in the current transaction (commits or rolls back with the
    change it records). ``links``: other records the change touched, whose history lists
    the entry too (the bins of an import)."""
    entry = AuditEntry(
        created_at=utcnow(),
        user_id=actor.user_id,
        token_id=actor.token_id,
        actor=(actor.name or "system")[:64],
        source=str(actor.source)[:16],
        object_type=object_type.value,
        object_id=object_id,
        label=label[:200],
        action=action.value,
        before=None if before is None else {k: plain(v) for k, v in before.items()},
        after=None if after is None else {k: plain(v) for k, v in after.items()},
    )
    db.session.add(entry)
    db.session.flush()
    unique = {(str(kind), object_id) for kind, object_id in links}
    if unique:
        db.session.execute(
            sa.insert(AuditLink),
            [{"entry_id": entry.id, "object_type": t, "object_id": i} for t, i in sorted(unique)],
        )
    return entry


# --------------------------------------------------------------------- reading


def _day(raw: str, name: str) -> dt.date | None:
    raw = raw.strip()
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw[:10])
    except ValueError:
        raise ServiceError(f"invalid_{name}", f"{name} must be a date: YYYY-MM-DD.") from None


@dataclass(frozen=True)
class AuditFilter:
    """Which entries to list: of a kind of record (and one record, by id or by name), by
    a user or token (by name), within days (UTC, both inclusive), older than an id."""

    object_type: AuditObject | None = None
    object_id: int | None = None
    record: str = ""
    actor: str = ""
    since: dt.date | None = None
    until: dt.date | None = None
    before_id: int | None = None

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> AuditFilter:
        """The filter asked for in a query string (``object``, ``object_id``, ``record``,
        ``user``, ``from``, ``to``, ``before``); ServiceError for a bad value."""
        kind = args.get("object", "").strip()
        if kind and kind not in tuple(AuditObject):
            raise ServiceError(
                "invalid_object", f"object must be one of: {', '.join(tuple(AuditObject))}."
            )
        numbers = {}
        for name in ("object_id", "before"):
            raw = args.get(name, "").strip()
            if raw and (not raw.isdigit() or len(raw) > 12):
                raise ServiceError(f"invalid_{name}", f"{name} must be a whole number.")
            numbers[name] = int(raw) if raw else None
        since, until = _day(args.get("from", ""), "from"), _day(args.get("to", ""), "to")
        if since and until and since > until:
            raise ServiceError("invalid_to", "to must not be before from.")
        return cls(
            object_type=AuditObject(kind) if kind else None,
            object_id=numbers["object_id"],
            record=args.get("record", "").strip()[:200],
            actor=args.get("user", "").strip()[:64],
            since=since,
            until=until,
            before_id=numbers["before"],
        )

    def as_args(self) -> dict[str, str]:
        """The filter as a query string's arguments (for links and the CSV)."""
        out = {
            "object": self.object_type.value if self.object_type else "",
            "object_id": str(self.object_id) if self.object_id is not None else "",
            "record": self.record,
            "user": self.actor,
            "from": self.since.isoformat() if self.since else "",
            "to": self.until.isoformat() if self.until else "",
        }
        return {k: v for k, v in out.items() if v}

    def where(self) -> list[sa.ColumnElement[bool]]:
        """The SQL conditions of the filter."""
        conds: list[sa.ColumnElement[bool]] = []
        if self.object_type is not None:
            if self.object_id is not None:
                conds.append(_about(self.object_type, self.object_id))
            else:
                conds.append(AuditEntry.object_type == self.object_type.value)
        if self.record:
            conds.append(sa.func.lower(AuditEntry.label).contains(self.record.lower()))
        if self.actor:
            conds.append(sa.func.lower(AuditEntry.actor) == self.actor.lower())
        if self.since:
            conds.append(AuditEntry.created_at >= _midnight(self.since))
        if self.until:
            conds.append(AuditEntry.created_at < _midnight(self.until + dt.timedelta(days=1)))
        if self.before_id is not None:
            conds.append(AuditEntry.id < self.before_id)
        return conds


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0), tzinfo=dt.UTC)


def _about(object_type: AuditObject, object_id: int) -> sa.ColumnElement[bool]:
    """Entries about this record, or linked to it (an import that changed the bin)."""
    linked = sa.select(AuditLink.entry_id).where(
        AuditLink.object_type == object_type.value, AuditLink.object_id == object_id
    )
    return sa.or_(
        sa.and_(AuditEntry.object_type == object_type.value, AuditEntry.object_id == object_id),
        AuditEntry.id.in_(linked),
    )


def entries(filt: AuditFilter, limit: int = PAGE) -> list[AuditEntry]:
    """The entries the filter selects, newest first, at most ``limit``."""
    stmt = sa.select(AuditEntry).where(*filt.where()).order_by(AuditEntry.id.desc())
    return list(db.session.scalars(stmt.limit(max(1, min(limit, MAX_PAGE)))))


def history(object_type: AuditObject, object_id: int, limit: int = 50) -> list[AuditEntry]:
    """A record's own history, newest first (what its page shows)."""
    return entries(AuditFilter(object_type=object_type, object_id=object_id), limit)


def entry_dict(e: AuditEntry) -> dict[str, Any]:
    """The JSON form of an entry."""
    return {
        "id": e.id,
        "time": e.created_at.isoformat(),
        "actor": e.actor,
        "user_id": e.user_id,
        "token_id": e.token_id,
        "source": e.source,
        "object": {"type": e.object_type, "id": e.object_id, "label": e.label},
        "action": e.action,
        "before": e.before,
        "after": e.after,
    }


def csv_page(filt: AuditFilter, after: int, size: int = 500) -> tuple[list[list[Any]], int | None]:
    """The entries the filter selects with an id above ``after``, oldest first, as CSV
    rows (:data:`CSV_COLUMNS`), and the id to continue after (None at the end): a long
    trail is read page by page while it is sent."""
    stmt = (
        sa.select(AuditEntry)
        .where(*filt.where(), AuditEntry.id > after)
        .order_by(AuditEntry.id)
        .limit(size)
    )
    found = list(db.session.scalars(stmt))
    rows = [
        [
            e.id,
            e.created_at.isoformat(),
            e.actor,
            e.user_id,
            e.token_id,
            e.source,
            e.object_type,
            e.object_id,
            e.label,
            e.action,
            "" if e.before is None else json.dumps(e.before, ensure_ascii=False, sort_keys=True),
            "" if e.after is None else json.dumps(e.after, ensure_ascii=False, sort_keys=True),
        ]
        for e in found
    ]
    return rows, (found[-1].id if len(found) == size else None)

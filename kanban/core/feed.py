"""The change feed (docs/spec.md §2.1 Event, §4 Live): events in the database, so that
every process and host sees every change; clients catch up with "events after id N".

Packages do not append ``bin.changed`` themselves: :func:`install` connects a
listener to :data:`kanban.core.signals.card_changed` that writes one event for
each change, in the same transaction."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from ..domain.statuses import EventKind, Role
from ..extensions import db
from ..models import Event, utcnow
from . import direct, signals
from .tx import begin_write, lock_event_order

#: The most events one call of :func:`events_after` returns.
PAGE = 500
#: Events deleted per transaction by :func:`prune`.
PRUNE_BATCH = 5000


_INSERT = sa.insert(Event.__table__).returning(Event.__table__.c.id)


def append(
    kind: EventKind,
    *,
    bin_code: str | None = None,
    request_id: int | None = None,
    data: dict[str, Any] | None = None,
) -> int:
    """Append an event and return its id; call it last in a writing operation
    (on PostgreSQL it takes the lock that orders event ids by commit)."""
    lock_event_order()
    session = db.session()
    if session.new or session.dirty or session.deleted:
        session.flush()  # pending ORM changes go first, so the event is the last write
    values = {
        "created_at": utcnow(),
        "kind": kind,
        "bin_code": bin_code,
        "request_id": request_id,
        "data": data or {},
    }
    return int(direct.scalar_one(_INSERT, values))


def events_after(after: int, limit: int = PAGE) -> list[Event]:
    """Events with id greater than ``after``, oldest first."""
    stmt = sa.select(Event).where(Event.id > after).order_by(Event.id).limit(limit)
    return list(db.session.scalars(stmt))


def last_event_id() -> int:
    """The newest event id, 0 when the feed is empty."""
    return db.session.scalar(sa.select(sa.func.coalesce(sa.func.max(Event.id), 0))) or 0


def pruned_after(after: int) -> bool:
    """True when events newer than ``after`` were pruned (:func:`prune`): a client that
    saw only up to ``after`` cannot catch up from the feed and must reload in full.

    Ids are not contiguous (a rolled-back write uses one up), so a client just before a
    gap at the window's edge may reload without need: harmless, and rare."""
    oldest = db.session.scalar(sa.select(sa.func.min(Event.id)))
    return oldest is not None and after < oldest - 1


def prune(older_than: dt.datetime, *, batch: int = PRUNE_BATCH) -> int:
    """Delete the events created before ``older_than``, oldest first, ``batch`` at a time,
    each batch in its own short transaction (committed here: a long delete would hold
    its locks against every scan). Returns how many were deleted.

    The newest event is always kept, whatever its age: it marks the head of the feed,
    so that boards know where they are and SQLite never hands out its id again.
    Nothing else refers to an event (deliveries carry their own ids), so none is
    needed by anyone once it is older than the window."""
    deleted = 0
    while True:
        begin_write()
        newest = last_event_id()
        oldest_first = (
            sa.select(Event.id)
            .where(Event.created_at < older_than, Event.id < newest)
            .order_by(Event.id)
            .limit(batch)
        )
        ids = list(db.session.scalars(oldest_first))
        if ids:
            db.session.execute(
                sa.delete(Event).where(
                    Event.id.between(ids[0], ids[-1]), Event.created_at < older_than
                )
            )
        db.session.commit()
        deleted += len(ids)
        if len(ids) < batch:
            return deleted


#: What people who may not send are told instead of why a send failed.
HIDDEN_SEND_ERROR = "The email was not sent; a supervisor can see why."


def _data_for(event: Event, role: str | None) -> dict[str, Any] | None:
    """The event's data as ``role`` may read it; None when it may not read the event.

    Display tokens may not read supplier requests (``GET /api/requests`` refuses them), so
    they get no ``request.changed`` event at all. Operators read requests but not why a
    send failed: a mail server's answer can quote the relay's user or password.
    """
    data = event.data or {}
    if event.kind != EventKind.REQUEST_CHANGED or role in (None, Role.SUPERVISOR, Role.ADMIN):
        return data
    if role != Role.OPERATOR:
        return None
    if data.get("send_error"):
        return {**data, "send_error": HIDDEN_SEND_ERROR}
    return data


def event_dict(event: Event, role: str | None = None) -> dict[str, Any] | None:
    """The JSON form of an event as ``role`` may read it (all of it for None, the server's
    own use), or None when that role may not read it (see :func:`_data_for`)."""
    data = _data_for(event, role)
    if data is None:
        return None
    return {
        "id": event.id,
        "time": event.created_at.isoformat(),
        "kind": event.kind,
        "bin": event.bin_code,
        "request_id": event.request_id,
        "data": data,
    }


def _on_card_changed(_sender: object, change: Any) -> None:
    data = change.event_data()
    old = change.cause.detail.get("renamed_from")
    if old:
        # A bin got a new code: boards drop the card under its old code, as they drop a
        # retired one, and show it under the new code with the next event.
        gone = data | {"code": old, "active": False, "renamed_to": change.card.code}
        append(EventKind.BIN_CHANGED, bin_code=old, data=gone)
    append(EventKind.BIN_CHANGED, bin_code=change.card.code, data=data)


def install() -> None:
    """Write a ``bin.changed`` event for every card change (called by ``create_app``)."""
    signals.card_changed.connect(_on_card_changed)

"""The change feed (docs/manual/spec.md §2.1 Event, §4 Live): events in the database, so that
every process and host sees every change; clients catch up with "events after id N".

Packages do not append ``bin.changed`` themselves: :func:`install` connects a
listener to :data:`kanban.core.signals.card_changed` that writes one event for
each change, in the same transaction."""

from __future__ import annotations

import datetime as dt
import threading
import time
import weakref
from typing import Any

import sqlalchemy as sa

from ..domain.statuses import EventKind, Role
from ..extensions import db
from ..models import Event, utcnow
from . import direct, signals
from .tx import EVENT_LOCK_KEY, after_commit, begin_write, is_sqlite, lock_event_order

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
    (on PostgreSQL it takes the event lock shared until the commit: see
    :func:`last_event_id`)."""
    lock_event_order()
    if not is_sqlite():
        after_commit(forget_head)  # this process reads its own events at once
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
    """Events with id greater than ``after``, oldest first, up to the feed's head
    (:func:`last_event_id`): never one that an event still being written could precede."""
    stmt = sa.select(Event).where(Event.id > after).order_by(Event.id).limit(limit)
    if not is_sqlite():
        stmt = stmt.where(Event.id <= last_event_id())
    return list(db.session.scalars(stmt))


_NEWEST = sa.select(sa.func.coalesce(sa.func.max(Event.id), 0))
#: Seconds one process trusts the head it read on PostgreSQL (every thread shares it:
#: an older head is still a safe one, only a little behind).
HEAD_TTL = 0.05
#: How long a reader waits, on PostgreSQL, for the writers under way (normally a few
#: milliseconds) before it makes do with the head it read last.
HEAD_WAIT_MS = 500
_heads: weakref.WeakKeyDictionary[sa.Engine, tuple[float, int]] = weakref.WeakKeyDictionary()
_heads_lock = threading.Lock()


def _safe_head(engine: sa.Engine, wait_ms: int) -> int:
    with engine.connect() as c, c.begin():
        c.execute(sa.text(f"SET LOCAL lock_timeout = '{int(wait_ms)}ms'"))
        c.execute(sa.select(sa.func.pg_advisory_xact_lock(EVENT_LOCK_KEY)))
        return int(c.scalar(_NEWEST) or 0)


def forget_head() -> None:
    """Read the head afresh next time (this process committed events)."""
    with _heads_lock:
        _heads.clear()


def last_event_id() -> int:
    """The feed's head: the newest event id such that no event with a smaller id can
    still appear; 0 when the feed is empty. Clients catch up from it without a gap.

    SQLite has one writer at a time, so ids commit in order and the newest is the head.
    On PostgreSQL writers of events commit side by side (each holds the event lock
    *shared* from its INSERT to its commit, :func:`kanban.core.tx.lock_event_order`), so
    a smaller id may commit after a larger one. The head is read, on a connection of its
    own, while holding that lock exclusively for an instant: the writers under way have
    finished by then, and any later writer gets a larger id. Each process reads it at
    most every :data:`HEAD_TTL` seconds.
    """
    if is_sqlite():
        return int(db.session.scalar(_NEWEST) or 0)
    engine, now = db.engine, time.monotonic()
    with _heads_lock:
        known = _heads.get(engine)
    if known is not None and known[0] > now:
        return known[1]
    try:
        head = _safe_head(engine, HEAD_WAIT_MS)
    except sa.exc.DBAPIError:  # a long writer holds the lock: what was safe still is
        if known is not None:
            return known[1]
        head = _safe_head(engine, HEAD_WAIT_MS * 10)
    with _heads_lock:
        if known is None or head >= known[1]:
            _heads[engine] = (time.monotonic() + HEAD_TTL, head)
    return head


def pruned_after(after: int) -> bool:
    """True when events newer than ``after`` were pruned (:func:`prune`): a client that
    saw only up to ``after`` cannot catch up from the feed and must reload in full.

    Ids are not contiguous (a rolled-back write uses one up), so a client just before a
    gap at the window's edge may reload without need: harmless, and rare.

    A client *ahead* of the newest event saw a feed that a restore (``kanban restore``)
    took back: the events it knows are gone, and new ones may take their ids. It too
    reloads in full."""
    oldest, newest = db.session.execute(
        sa.select(sa.func.min(Event.id), sa.func.max(Event.id))
    ).one()
    if newest is None:
        return after > 0
    return after < oldest - 1 or after > newest


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
        newest = int(db.session.scalar(_NEWEST) or 0)  # kept whatever its age
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

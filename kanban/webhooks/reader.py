"""Card events for webhooks, read from the change feed (docs/manual/integrators.md "Webhooks").

A card change writes its ``bin.changed`` event to the feed in its own transaction
(:mod:`kanban.core.feed`) and nothing for webhooks: an endpoint that is slow, down
or fast costs a scan nothing. The outbox leader runs :func:`read_feed` in a thread
of its own (a :class:`~kanban.core.drainer.Source`): for each active endpoint that
wants card events and is not paused, it reads the events after the endpoint's
``feed_cursor`` and writes their deliveries (``bin.changed`` for every change,
``card.state_changed`` too for a change of state), moving the cursor in the same
transaction. So every event is delivered, and none twice.

An endpoint has at most :data:`BACKLOG` deliveries waiting: while it is slow,
down or paused after failures, its events wait in the feed, not in the outbox.
Events are kept for the retention window (``KANBAN_EVENT_RETENTION_DAYS``); an
endpoint that stays away longer misses what was pruned, and the log says so.

A delivery's event id is ``<feed event id>-<event>``: the same on every
redelivery, and unique within a site.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import sqlalchemy as sa

from ..core import feed, outbox
from ..core.tx import begin_write
from ..domain.statuses import DeliveryKind, DeliveryStatus, EventKind, WebhookEvent
from ..extensions import db
from ..models import Delivery, Event, Webhook, utcnow
from .events import body

log = logging.getLogger("kanban.webhooks")

#: The deliveries an endpoint may have waiting before more of its events are read.
BACKLOG = 200
#: The most events read for one endpoint in one transaction.
CHUNK = 50
#: The events that come from the change feed.
CARD_EVENTS = frozenset({WebhookEvent.BIN_CHANGED, WebhookEvent.CARD_STATE_CHANGED})

_ACTIVE = sa.select(Webhook.id, Webhook.feed_cursor, Webhook.events).where(
    Webhook.active.is_(True),
    sa.or_(Webhook.paused_until.is_(None), Webhook.paused_until <= sa.bindparam("now")),
)
_AFTER = (
    sa.select(Event.id, Event.created_at, Event.kind, Event.data)
    .where(Event.id > sa.bindparam("after"), Event.id <= sa.bindparam("head"))
    .order_by(Event.id)
    .limit(sa.bindparam("n"))
)
_WAITING = sa.select(sa.func.count(Delivery.id)).where(
    Delivery.webhook_id == sa.bindparam("hook"),
    Delivery.status.in_((DeliveryStatus.PENDING, DeliveryStatus.SENDING)),
)


def webhook_events(kind: str, data: dict[str, Any]) -> list[WebhookEvent]:
    """The webhook events one feed event makes: ``bin.changed`` for every card change,
    and ``card.state_changed`` when its state changed (not for the old code of a bin
    that was renamed: the new code's event carries the change)."""
    if kind != EventKind.BIN_CHANGED:
        return []
    if data.get("flipped") and not data.get("renamed_to"):
        return [WebhookEvent.BIN_CHANGED, WebhookEvent.CARD_STATE_CHANGED]
    return [WebhookEvent.BIN_CHANGED]


def _wants_cards(events: Any) -> bool:
    return any(e in CARD_EVENTS for e in (events or ()))


def _deliveries(hook_id: int, events: Any, rows: list[Any]) -> list[dict[str, Any]]:
    wanted = set(events or ())
    out = []
    for row in rows:
        data = row.data or {}
        for event in webhook_events(row.kind, data):
            if event not in wanted:
                continue
            event_id = f"{row.id}-{event.value}"
            out.append(
                {
                    "webhook_id": hook_id,
                    "event": event.value,
                    "event_id": event_id,
                    "payload": {"body": body(event, data, event_id, row.created_at)},
                    "_feed_id": row.id,
                }
            )
    return out


def _planned(now: dt.datetime) -> list[tuple[int, int, list[dict[str, Any]], int]]:
    """What each endpoint behind the head has room for, read and built without a lock:
    (endpoint, its cursor when read, its deliveries, the last event id they cover)."""
    endpoints = [
        row for row in db.session.execute(_ACTIVE, {"now": now}).all() if _wants_cards(row.events)
    ]
    head = feed.last_event_id() if endpoints else 0
    plans = []
    for row in endpoints:
        if row.feed_cursor >= head:
            continue
        room = min(CHUNK, BACKLOG - int(db.session.scalar(_WAITING, {"hook": row.id}) or 0))
        if room <= 0:
            continue
        if feed.pruned_after(row.feed_cursor):
            log.warning(
                "webhook %s missed the events pruned after %s (older than the retention "
                "window); it goes on from the oldest kept",
                row.id,
                row.feed_cursor,
            )
        params = {"after": row.feed_cursor, "head": head, "n": room}
        events = list(db.session.execute(_AFTER, params).all())
        if events:
            deliveries = _deliveries(row.id, row.events, events)
            plans.append((row.id, row.feed_cursor, deliveries, events[-1].id))
    return plans


def read_feed(now: dt.datetime | None = None) -> int:
    """Write the deliveries of the card events that endpoints have not read yet (at most
    :data:`CHUNK` events per endpoint), and commit; returns how many were written.

    The events are read and their deliveries built before the write lock is taken, which
    is then held for their insert only (a scan waiting for the lock waits that long). No
    lock is taken when no endpoint is behind the feed's head with room in its backlog."""
    now = now or utcnow()
    plans = _planned(now)
    if not plans:  # (a plain read: no lock is taken while there is nothing to write)
        db.session.rollback()
        return 0
    begin_write()
    written = 0
    for hook_id, cursor, deliveries, last in plans:
        hook = db.session.get(Webhook, hook_id, with_for_update=True, populate_existing=True)
        if hook is None or not hook.active or (hook.paused_until and hook.paused_until > now):
            continue  # removed or paused since the first look
        if hook.feed_cursor != cursor:
            continue  # read by another leader meanwhile: next time, from where it is now
        room = BACKLOG - int(db.session.scalar(_WAITING, {"hook": hook.id}) or 0)
        if room <= 0:
            continue
        if room < len(deliveries):  # (deliveries came in since the first look)
            last = deliveries[room - 1]["_feed_id"]
            deliveries = [d for d in deliveries if d["_feed_id"] <= last]
        for d in deliveries:
            del d["_feed_id"]
        written += outbox.enqueue_many(DeliveryKind.WEBHOOK, deliveries, due_at=now)
        hook.feed_cursor = last
    db.session.commit()
    return written

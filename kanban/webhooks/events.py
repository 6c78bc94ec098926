"""Which changes become webhook deliveries, and their bodies (docs/manual/integrators.md,
"Webhooks").

Card events (``bin.changed`` for every change, ``card.state_changed`` for a
change of state) are read from the change feed by the outbox leader
(:mod:`kanban.webhooks.reader`): a card change writes nothing for webhooks, it
only wakes the reader of this process after its commit. Requests sent and
received (a few a day) are written here, in the transaction of the change, as
one outbox delivery per active endpoint that subscribed to the event. Either
way the whole body is fixed when the delivery is written: a redelivery sends
the same event id and data.

The body::

    {"id": "<event id>", "type": "<event>", "created_at": "<ISO 8601, UTC>",
     "data": {...}}

``data`` is the card as ``GET /api/bins/<code>`` shows it plus what changed
(the ``bin.changed`` event of the feed), or the request as
``GET /api/requests`` shows it.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
import uuid
import weakref
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from ..core import outbox, signals
from ..core.tx import after_commit
from ..core.wake import feed_wake
from ..domain.statuses import DeliveryKind, WebhookEvent
from ..extensions import db
from ..models import Webhook, utcnow
from ..purchasing import requests

_SUBSCRIBED = sa.select(Webhook.id, Webhook.events, Webhook.paused_until).where(
    Webhook.active.is_(True)
)
#: Seconds a process trusts its list of subscribed endpoints. Every scan would otherwise
#: read it while holding SQLite's write lock; an endpoint added, removed or paused by
#: another process is seen within this (in the same process at once: :func:`forget`).
SUBSCRIPTIONS_TTL = 1.0
_known: weakref.WeakKeyDictionary[sa.Engine, tuple[float, Sequence[Any]]] = (
    weakref.WeakKeyDictionary()
)
_known_lock = threading.Lock()


def _subscribed() -> Sequence[Any]:
    """The active endpoints with their events and pause (see :data:`SUBSCRIPTIONS_TTL`)."""
    engine, now = db.engine, time.monotonic()
    with _known_lock:
        found = _known.get(engine)
    if found is not None and found[0] > now:
        return found[1]
    rows = db.session.execute(_SUBSCRIBED).all()
    with _known_lock:
        _known[engine] = (now + SUBSCRIPTIONS_TTL, rows)
    return rows


def forget() -> None:
    """Read the endpoints afresh at the next change (an endpoint was added, removed or
    paused by this process: call it after the commit)."""
    with _known_lock:
        _known.clear()


def body(
    event: WebhookEvent, data: dict[str, Any], event_id: str, at: dt.datetime
) -> dict[str, Any]:
    """The JSON object a receiver gets (see the module docstring)."""
    return {"id": event_id, "type": event.value, "created_at": at.isoformat(), "data": data}


def _fan_out(
    event: WebhookEvent,
    data: dict[str, Any],
    endpoints: Sequence[Any],
    now: dt.datetime,
    request_id: int | None,
) -> int:
    """One delivery per endpoint that wants ``event``; returns how many."""
    wanted = [row for row in endpoints if event in (row.events or ())]
    if not wanted:
        return 0
    event_id = uuid.uuid4().hex
    payload = {"body": body(event, data, event_id, now)}
    for row in wanted:
        outbox.enqueue(
            DeliveryKind.WEBHOOK,
            due_at=max(now, row.paused_until) if row.paused_until else now,
            payload=payload,
            webhook_id=row.id,
            event=event.value,
            event_id=event_id,
            request_id=request_id,
        )
    return len(wanted)


_CARD_EVENTS = (WebhookEvent.BIN_CHANGED, WebhookEvent.CARD_STATE_CHANGED)


def _on_card_changed(_sender: Any, change: Any) -> None:
    """Wake this process's reader of the feed after the commit, if anyone listens."""
    if any(e in (row.events or ()) for row in _subscribed() for e in _CARD_EVENTS):
        after_commit(feed_wake.poke)


def _request_event(event: WebhookEvent, request_id: int) -> None:
    endpoints = _subscribed()
    if not any(event in (row.events or ()) for row in endpoints):
        return
    data = requests.request_dict(requests.load_request(request_id))
    _fan_out(event, data, endpoints, utcnow(), request_id)


def _on_request_sent(_sender: Any, request_id: int) -> None:
    _request_event(WebhookEvent.REQUEST_SENT, request_id)


def _on_request_received(_sender: Any, request_id: int) -> None:
    _request_event(WebhookEvent.REQUEST_RECEIVED, request_id)


def install() -> None:
    """Write webhook deliveries for requests, and wake the feed's reader after card
    changes (called by ``create_app``)."""
    signals.card_changed.connect(_on_card_changed)
    signals.request_sent.connect(_on_request_sent)
    signals.request_received.connect(_on_request_received)

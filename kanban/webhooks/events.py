"""Which changes become webhook deliveries, and their bodies (README "Webhooks").

:func:`install` connects listeners to the card flow (``card_changed``: every
change is ``bin.changed``, a change of state also ``card.state_changed``) and to
requests sent and received. Each writes, in the transaction of the change, one
outbox delivery per active endpoint that subscribed to the event, with the
whole body fixed now: a redelivery sends the same event id and data.

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


def _on_card_changed(_sender: Any, change: Any) -> None:
    endpoints = _subscribed()
    if not endpoints:  # the common case
        return
    now, data = utcnow(), change.event_data()
    _fan_out(WebhookEvent.BIN_CHANGED, data, endpoints, now, change.request_id)
    if change.flipped:
        _fan_out(WebhookEvent.CARD_STATE_CHANGED, data, endpoints, now, change.request_id)


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
    """Write webhook deliveries for every subscribed change (called by ``create_app``)."""
    signals.card_changed.connect(_on_card_changed)
    signals.request_sent.connect(_on_request_sent)
    signals.request_received.connect(_on_request_received)

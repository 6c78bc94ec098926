"""Webhook endpoints: adding them (admins only), listing and removing them, and their
delivery log.

A URL must be ``http`` or ``https`` with a host; the events must be among
:class:`~kanban.domain.statuses.WebhookEvent` (none given: every event). The
secret is returned once, to be shown once; it stays in the database because
every delivery is signed with it.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from ..core import feed, outbox
from ..core.errors import NotFound, ServiceError
from ..core.tx import after_commit, begin_write
from ..domain.statuses import DeliveryKind, DeliveryStatus, EventKind, WebhookEvent
from ..extensions import db
from ..models import Delivery, Event, Webhook, utcnow
from . import reader
from .events import forget as forget_subscriptions
from .signing import new_secret

MAX_URL = 2000
#: Deliveries the log shows per endpoint.
LOG_SIZE = 100


def parse_events(names: Iterable[str] | None) -> list[str]:
    """The events asked for, in the order of WebhookEvent; none means every event."""
    wanted = {n.strip() for n in (names or ()) if n and n.strip()}
    unknown = sorted(wanted - set(WebhookEvent))
    if unknown:
        raise ServiceError(
            "unknown_event",
            f"Unknown event {', '.join(repr(u[:40]) for u in unknown[:3])}: choose from "
            f"{', '.join(WebhookEvent)}.",
        )
    return [str(e) for e in WebhookEvent if not wanted or e in wanted]


def check_url(url: str) -> str:
    """The URL, trimmed, if a webhook can be posted to it; else ``invalid_url``."""
    text = (url or "").strip()
    try:
        parts = urlsplit(text)
        port_ok = parts.port is None or parts.port > 0
    except ValueError:
        parts, port_ok = None, False
    if (
        parts is None
        or not port_ok
        or parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.fragment
        or len(text) > MAX_URL
        or any(c.isspace() or ord(c) < 32 for c in text)
    ):
        raise ServiceError(
            "invalid_url",
            f"A webhook URL is http:// or https://, a host, an optional port and path, at most "
            f"{MAX_URL} characters, without spaces or #fragment.",
        )
    return text


def add(url: str, events: Iterable[str] | None, *, by: str) -> tuple[Webhook, str]:
    """Add an endpoint (flushes); returns it and its secret, to be shown once."""
    clean_url, chosen = check_url(url), parse_events(events)
    begin_write()
    secret = new_secret()
    hook = Webhook(
        url=clean_url,
        events=chosen,
        secret=secret,
        created_by=by[:64],
        created_at=utcnow(),
        feed_cursor=feed.last_event_id(),  # it hears of the changes from now on
    )
    db.session.add(hook)
    db.session.flush()
    after_commit(forget_subscriptions)  # this process's next change already writes for it
    return hook, secret


def get(webhook_id: int) -> Webhook:
    """An endpoint by id, or NotFound."""
    hook = db.session.get(Webhook, webhook_id)
    if hook is None:
        raise NotFound("unknown_webhook", "No webhook has this id.")
    return hook


def remove(webhook_id: int) -> Webhook:
    """Stop an endpoint (flushes): it hears nothing more, and what waits for it is
    skipped. Its delivery log stays."""
    begin_write()
    hook = get(webhook_id)
    # Its deliveries first, then the endpoint: the order a worker's claim locks them in.
    db.session.execute(
        sa.update(Delivery)
        .where(Delivery.webhook_id == hook.id, Delivery.status == DeliveryStatus.PENDING)
        .values(
            status=DeliveryStatus.SKIPPED,
            finished_at=utcnow(),
            last_error="The webhook was removed.",
        )
    )
    hook.active = False
    db.session.flush()
    after_commit(forget_subscriptions)
    return hook


def listing(*, include_removed: bool = False) -> list[Webhook]:
    """Endpoints, newest first."""
    stmt = sa.select(Webhook).order_by(Webhook.id.desc())
    if not include_removed:
        stmt = stmt.where(Webhook.active.is_(True))
    return list(db.session.scalars(stmt))


def delivery_log(webhook_id: int, limit: int = LOG_SIZE) -> list[Delivery]:
    """An endpoint's latest deliveries with their attempts, newest first."""
    return list(
        db.session.scalars(
            sa.select(Delivery)
            .where(Delivery.webhook_id == webhook_id, Delivery.kind == DeliveryKind.WEBHOOK)
            .options(selectinload(Delivery.attempt_log))
            .order_by(Delivery.id.desc())
            .limit(limit)
        )
    )


def counts(webhook_ids: Iterable[int]) -> dict[int, dict[str, int]]:
    """Per endpoint: how many deliveries there are of each status."""
    ids = list(webhook_ids)
    found: dict[int, dict[str, int]] = {i: {} for i in ids}
    if not ids:
        return found
    rows = db.session.execute(
        sa.select(Delivery.webhook_id, Delivery.status, sa.func.count(Delivery.id))
        .where(Delivery.webhook_id.in_(ids))
        .group_by(Delivery.webhook_id, Delivery.status)
    )
    for webhook_id, status, n in rows:
        if webhook_id is not None:
            found[webhook_id][str(status)] = int(n)
    return found


#: Unread card events are counted up to this many (the page says "10000+").
UNREAD_MAX = 10_000


def unread(hooks: Iterable[Webhook]) -> dict[int, int]:
    """Per endpoint that wants card events: how many of the feed's card events it has not
    read yet (they wait in the feed while it is away; counted up to :data:`UNREAD_MAX`)."""
    found: dict[int, int] = {}
    for hook in hooks:
        if not any(e in reader.CARD_EVENTS for e in hook.events or ()):
            continue
        ahead = (
            sa.select(Event.id)
            .where(Event.id > hook.feed_cursor, Event.kind == EventKind.BIN_CHANGED)
            .limit(UNREAD_MAX)
            .subquery()
        )
        found[hook.id] = int(db.session.scalar(sa.select(sa.func.count()).select_from(ahead)) or 0)
    return found


def redeliver(webhook_id: int, delivery_id: int, *, by: str) -> Delivery:
    """Send one of an endpoint's deliveries again: same event id and body, due now."""
    hook = get(webhook_id)
    d = db.session.get(Delivery, delivery_id)
    if d is None or d.webhook_id != hook.id or d.kind != DeliveryKind.WEBHOOK:
        raise NotFound("unknown_delivery", "This webhook has no such delivery.")
    if not hook.active:
        raise ServiceError("webhook_removed", "This webhook was removed.", 409)
    return outbox.redeliver(d.id, by=by)

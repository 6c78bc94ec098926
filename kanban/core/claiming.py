"""Claiming outbox deliveries (:mod:`kanban.core.outbox`, step 1): a worker takes the
oldest due delivery, and for a webhook endpoint the next few of the same endpoint,
in a short write transaction that commits before anything is delivered."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from ..domain.statuses import DeliveryKind, DeliveryStatus
from ..extensions import db
from ..models import Delivery, Webhook, utcnow
from .outbox import Job
from .tx import begin_write

_busy = sa.orm.aliased(Delivery)
#: The oldest due delivery whose webhook endpoint has none under way: one endpoint
#: gets one delivery at a time, so a slow one holds one worker thread, not all.
_DUE = (
    sa.select(Delivery.id)
    .where(
        Delivery.status == DeliveryStatus.PENDING,
        Delivery.due_at <= sa.bindparam("now"),
        ~sa.exists().where(
            _busy.webhook_id == Delivery.webhook_id, _busy.status == DeliveryStatus.SENDING
        ),
    )
    .order_by(Delivery.due_at, Delivery.id)
    .limit(1)
)


def _job(d: Delivery) -> Job:
    assert d.claimed_at is not None
    return Job(
        id=d.id,
        kind=DeliveryKind(d.kind),
        claimed_at=d.claimed_at,
        attempts=d.attempts,
        supplier_id=d.supplier_id,
        request_id=d.request_id,
        webhook_id=d.webhook_id,
        event=d.event,
        event_id=d.event_id,
        payload=dict(d.payload or {}),
    )


def _endpoint_busy(webhook_id: int) -> bool:
    """Under the endpoint's row lock: is one of its deliveries under way? (On PostgreSQL
    two workers can pick two of its deliveries at once; the lock decides.)"""
    db.session.execute(sa.select(Webhook.id).where(Webhook.id == webhook_id).with_for_update())
    return (
        db.session.scalar(
            sa.select(Delivery.id)
            .where(Delivery.webhook_id == webhook_id, Delivery.status == DeliveryStatus.SENDING)
            .limit(1)
        )
        is not None
    )


def claim_next(now: dt.datetime) -> Job | None:
    """Claim the oldest due delivery and commit, or return None when none is due."""
    jobs = claim(now)
    return jobs[0] if jobs else None


_NEXT_OF_ENDPOINT = (
    sa.select(Delivery)
    .where(
        Delivery.webhook_id == sa.bindparam("hook"),
        Delivery.status == DeliveryStatus.PENDING,
        Delivery.due_at <= sa.bindparam("now"),
        Delivery.id != sa.bindparam("first"),
    )
    .order_by(Delivery.due_at, Delivery.id)
    .limit(sa.bindparam("n"))
    .with_for_update(skip_locked=True)
)


def claim(now: dt.datetime, batch: int = 1) -> list[Job]:
    """Claim the oldest due delivery and commit; when it is a webhook's, also up to
    ``batch - 1`` more of the same endpoint's due deliveries, oldest first (they are
    posted one after the other on one claim). Returns [] when none is due.

    Nothing is locked while nothing is due: the check is a plain read.
    """
    if db.session.execute(_DUE, {"now": now}).first() is None:
        db.session.rollback()
        return []
    begin_write()
    found = db.session.execute(_DUE.with_for_update(skip_locked=True), {"now": now}).first()
    if found is None:  # another worker was quicker
        db.session.rollback()
        return []
    d = db.session.get(Delivery, found[0], populate_existing=True)
    assert d is not None
    claimed = [d]
    if d.webhook_id is not None:
        if _endpoint_busy(d.webhook_id):
            db.session.rollback()  # another worker just took one of this endpoint's
            return []
        if batch > 1:
            params = {"hook": d.webhook_id, "now": now, "first": d.id, "n": batch - 1}
            claimed += db.session.scalars(_NEXT_OF_ENDPOINT, params).all()
    at = utcnow()
    for row in claimed:
        row.status, row.claimed_at = DeliveryStatus.SENDING, at
    db.session.flush()
    jobs = [_job(row) for row in claimed]
    db.session.commit()
    return jobs

"""Claiming outbox deliveries (:mod:`kanban.core.outbox`, step 1): a worker takes the
oldest due delivery, and for a webhook endpoint the next few of the same endpoint,
in a short write transaction that commits before anything is delivered."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from ..domain.statuses import DeliveryKind, DeliveryStatus
from ..extensions import db
from ..models import Delivery, Webhook, utcnow
from .outbox import Job
from .tx import begin_write, conn

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


#: What a claim reads back of each delivery it takes, in :class:`Job`'s order.
_T = Delivery.__table__.c
_JOB_COLUMNS = (
    _T.id,
    _T.kind,
    _T.claimed_at,
    _T.attempts,
    _T.supplier_id,
    _T.request_id,
    _T.webhook_id,
    _T.event,
    _T.event_id,
    _T.payload,
)


def _job(row: sa.Row[Any]) -> Job:
    return Job(
        id=row.id,
        kind=DeliveryKind(row.kind),
        claimed_at=row.claimed_at,
        attempts=row.attempts,
        supplier_id=row.supplier_id,
        request_id=row.request_id,
        webhook_id=row.webhook_id,
        event=row.event,
        event_id=row.event_id,
        payload=dict(row.payload or {}),
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
    sa.select(Delivery.id)
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
_WEBHOOK_OF = sa.select(Delivery.webhook_id).where(Delivery.id == sa.bindparam("id"))
#: Marks the claimed deliveries as being sent, in one statement (Core: a batch of 50 as
#: ORM objects held the write lock about ten times longer).
_TAKE = (
    sa.update(Delivery.__table__)
    .where(_T.id.in_(sa.bindparam("ids", expanding=True)), _T.status == DeliveryStatus.PENDING)
    .values(status=DeliveryStatus.SENDING, claimed_at=sa.bindparam("at"))
    .returning(*_JOB_COLUMNS)
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
    ids = [found[0]]
    webhook_id = db.session.scalar(_WEBHOOK_OF, {"id": found[0]})
    if webhook_id is not None:
        if _endpoint_busy(webhook_id):
            db.session.rollback()  # another worker just took one of this endpoint's
            return []
        if batch > 1:
            params = {"hook": webhook_id, "now": now, "first": found[0], "n": batch - 1}
            ids += db.session.scalars(_NEXT_OF_ENDPOINT, params).all()
    rows = conn().execute(_TAKE, {"ids": ids, "at": utcnow()}).all()
    order = {delivery_id: n for n, delivery_id in enumerate(ids)}
    jobs = sorted((_job(row) for row in rows), key=lambda job: order[job.id])
    db.session.commit()
    return jobs

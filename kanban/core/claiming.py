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

_other = sa.orm.aliased(Delivery)
#: An endpoint's deliveries go one at a time and strictly oldest first: a delivery may go
#: only when none of its endpoint's is under way and none older waits (a later one never
#: overtakes an earlier one that waits for a retry or was put back).
_HEAD_OF_ENDPOINT = ~sa.exists().where(
    _other.webhook_id == Delivery.webhook_id,
    sa.or_(
        _other.status == DeliveryStatus.SENDING,
        sa.and_(_other.status == DeliveryStatus.PENDING, _other.id < Delivery.id),
    ),
)
_DUE_WHERE = (
    Delivery.status == DeliveryStatus.PENDING,
    Delivery.due_at <= sa.bindparam("now"),
)
#: The oldest due delivery that may go now (a plain read: is there anything to do?).
_DUE = (
    sa.select(Delivery.id, Delivery.webhook_id)
    .where(*_DUE_WHERE, sa.or_(Delivery.webhook_id.is_(None), _HEAD_OF_ENDPOINT))
    .order_by(Delivery.due_at, Delivery.id)
    .limit(1)
)
#: The oldest due email, locked; one another worker holds is skipped.
_DUE_EMAIL = (
    sa.select(Delivery.id)
    .where(*_DUE_WHERE, Delivery.webhook_id.is_(None))
    .order_by(Delivery.due_at, Delivery.id)
    .limit(1)
    .with_for_update(skip_locked=True)
)
#: The endpoint of the oldest due delivery at the head of its endpoint's queue, with the
#: endpoint's row locked: the lock, not the delivery rows, decides who claims for an
#: endpoint, so a worker never takes a later delivery while another holds an earlier one.
#: An endpoint another worker is claiming for is skipped.
_DUE_ENDPOINT = (
    sa.select(Webhook.id)
    .join(Delivery, Delivery.webhook_id == Webhook.id)
    .where(*_DUE_WHERE, _HEAD_OF_ENDPOINT)
    .order_by(Delivery.due_at, Delivery.id)
    .limit(1)
    .with_for_update(of=Webhook, skip_locked=True)
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


def _endpoint_queue(webhook_id: int, now: dt.datetime, n: int) -> list[int]:
    """Under the endpoint's row lock: its next ``n`` deliveries in order, up to the first
    one not due yet; none while one of its deliveries is under way. (Read afresh: the lock
    may have been waited for while another worker claimed and committed.)"""
    rows = db.session.execute(_QUEUE, {"hook": webhook_id, "n": n}).all()
    if any(row.status == DeliveryStatus.SENDING for row in rows):
        return []
    ids = []
    for row in rows:
        if row.due_at > now:
            break
        ids.append(row.id)
    return ids


def claim_next(now: dt.datetime) -> Job | None:
    """Claim the oldest due delivery and commit, or return None when none is due."""
    jobs = claim(now)
    return jobs[0] if jobs else None


#: An endpoint's deliveries under way (first) and waiting, oldest first.
_QUEUE = (
    sa.select(Delivery.id, Delivery.status, Delivery.due_at)
    .where(
        Delivery.webhook_id == sa.bindparam("hook"),
        Delivery.status.in_((DeliveryStatus.SENDING, DeliveryStatus.PENDING)),
    )
    .order_by(Delivery.status != DeliveryStatus.SENDING, Delivery.id)
    .limit(sa.bindparam("n"))
)
#: Marks the claimed deliveries as being sent, in one statement (Core: a batch of 50 as
#: ORM objects held the write lock about ten times longer).
_TAKE = (
    sa.update(Delivery.__table__)
    .where(_T.id.in_(sa.bindparam("ids", expanding=True)), _T.status == DeliveryStatus.PENDING)
    .values(status=DeliveryStatus.SENDING, claimed_at=sa.bindparam("at"))
    .returning(*_JOB_COLUMNS)
)


def claim(now: dt.datetime, batch: int = 1) -> list[Job]:
    """Claim the oldest due delivery and commit; when it is a webhook's, the oldest due of
    its endpoint, and up to ``batch - 1`` more of the same endpoint's in order, stopping at
    the first one not due (they are posted one after the other on one claim). Returns []
    when none is due, or another worker was quicker.

    An endpoint's deliveries are claimed under its row's lock and strictly oldest first, so
    it gets them in the order they were written. Nothing is locked while nothing is due:
    the check is a plain read.
    """
    first = db.session.execute(_DUE, {"now": now}).first()
    if first is None:
        db.session.rollback()
        return []
    begin_write()
    if first.webhook_id is None:
        ids = list(db.session.scalars(_DUE_EMAIL, {"now": now}).all())
    else:
        webhook_id = db.session.scalar(_DUE_ENDPOINT, {"now": now})
        ids = [] if webhook_id is None else _endpoint_queue(webhook_id, now, max(1, batch))
    rows = conn().execute(_TAKE, {"ids": ids, "at": utcnow()}).all() if ids else []
    if not rows:  # another worker was quicker
        db.session.rollback()
        return []
    order = {delivery_id: n for n, delivery_id in enumerate(ids)}
    jobs = sorted((_job(row) for row in rows), key=lambda job: order[job.id])
    db.session.commit()
    return jobs

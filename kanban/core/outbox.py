"""The outbox (issue 16): what follows a change, written in the change's own
transaction and delivered later by a worker, for certain.

A listener of a change (:mod:`kanban.core.signals`) calls :func:`enqueue`: the row
commits or rolls back with the change, so nothing is delivered for a change that did not
happen and nothing is lost when the process dies after the commit. No delivery starts in
the thread that made the change: after the commit the local worker is only woken up.

A worker (:mod:`kanban.core.drainer`) takes due rows in three steps:

1. **claim** (:func:`kanban.core.claiming.claim`, a short write transaction): the oldest
   due row, and for a webhook endpoint the next few of the same endpoint in order, become
   ``sending`` (under the endpoint's row lock on PostgreSQL, the write lock on SQLite);
2. **deliver** (the kind's handler), with no transaction open;
3. **finish** (:func:`finish`, another short transaction), only if the row still carries
   this claim: delivered, skipped, failed, or pending again (a retry after exponential
   backoff with jitter, :func:`kanban.domain.delivery.retry_delay`, until the attempts
   run out; then failed, with the reason).

A row left ``sending`` by a worker that died is handed back by :func:`recover` when the
next worker takes over; what that means for an email is the email handler's business.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from ..domain import delivery as rules
from ..domain.statuses import DeliveryKind, DeliveryStatus
from ..extensions import db
from ..models import Delivery, DeliveryAttempt, utcnow
from .errors import NotFound
from .tx import after_commit, begin_write, conn
from .wake import poke

log = logging.getLogger("kanban.outbox")

#: The longest reason a delivery keeps.
REASON_MAX = 2000


_INSERT = sa.insert(Delivery.__table__).returning(Delivery.__table__.c.id)


def enqueue(
    kind: DeliveryKind,
    *,
    due_at: dt.datetime | None = None,
    payload: dict[str, Any] | None = None,
    **subject: Any,
) -> int:
    """Add a delivery in the current transaction (it commits or rolls back with it).

    ``subject``: ``supplier_id``, ``request_id``, ``webhook_id``, ``event``,
    ``event_id``. Returns the delivery's id.
    """
    now = utcnow()
    values = {
        "kind": kind,
        "status": DeliveryStatus.PENDING,
        "created_at": now,
        "due_at": due_at or now,
        "attempts": 0,
        "payload": payload or {},
        **subject,
    }
    after_commit(poke)
    return int(conn().execute(_INSERT, values).scalar_one())


def enqueue_many(kind: DeliveryKind, rows: list[dict[str, Any]], *, due_at: dt.datetime) -> int:
    """Add many deliveries of ``kind`` in the current transaction, in one statement (a
    reader of the change feed writes a batch); each row holds the subject columns and
    ``payload``. Returns how many."""
    if not rows:
        return 0
    now = utcnow()
    common = {
        "kind": kind,
        "status": DeliveryStatus.PENDING,
        "due_at": due_at,
        "attempts": 0,
        "created_at": now,
    }
    conn().execute(sa.insert(Delivery.__table__), [common | row for row in rows])
    after_commit(poke)
    return len(rows)


@dataclass(frozen=True)
class Job:
    """A claimed delivery, as its handler gets it."""

    id: int
    kind: DeliveryKind
    claimed_at: dt.datetime
    attempts: int  # attempts made before this one
    supplier_id: int | None = None
    request_id: int | None = None
    webhook_id: int | None = None
    event: str | None = None
    event_id: str | None = None
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Outcome:
    """What a handler reports; :func:`finish` records it."""

    status: DeliveryStatus  # delivered, skipped, failed, or pending (try again)
    reason: str | None = None
    attempted: bool = True  # False: nothing was tried (waiting for a batch window)
    due_at: dt.datetime | None = None  # pending: when; None means after the backoff
    status_code: int | None = None
    duration_ms: int | None = None
    request_id: int | None = None

    @classmethod
    def delivered(cls, **info: Any) -> Outcome:
        """It arrived."""
        return cls(DeliveryStatus.DELIVERED, **info)

    @classmethod
    def retry(cls, reason: str, **info: Any) -> Outcome:
        """It failed and may work later: try again after the backoff, if attempts are left."""
        return cls(DeliveryStatus.PENDING, reason, **info)

    @classmethod
    def give_up(cls, reason: str, **info: Any) -> Outcome:
        """It failed for a reason only a person can fix: no more tries."""
        return cls(DeliveryStatus.FAILED, reason, **info)

    @classmethod
    def skipped(cls, reason: str) -> Outcome:
        """Nothing is left to deliver."""
        return cls(DeliveryStatus.SKIPPED, reason, attempted=False)

    @classmethod
    def later(cls, due_at: dt.datetime, reason: str) -> Outcome:
        """Not now, and no attempt made: wait until ``due_at``."""
        return cls(DeliveryStatus.PENDING, reason, attempted=False, due_at=due_at)


#: Runs inside :func:`finish`'s transaction with the recorded status, reason and time (for
#: each delivery but those of a claim that go back untried, which nothing was tried for).
FinishHook = Callable[[Job, Outcome, DeliveryStatus, str | None, dt.datetime], None]


def _pending_email_twin(d: Delivery) -> Delivery | None:
    """Another email waiting for the same supplier (only one may wait)."""
    if d.kind != DeliveryKind.EMAIL or d.supplier_id is None:
        return None
    return db.session.scalar(
        sa.select(Delivery)
        .where(
            Delivery.kind == DeliveryKind.EMAIL,
            Delivery.supplier_id == d.supplier_id,
            Delivery.status == DeliveryStatus.PENDING,
            Delivery.id != d.id,
        )
        .with_for_update()
    )


def _set_pending(d: Delivery, due: dt.datetime, reason: str | None, now: dt.datetime) -> None:
    twin = _pending_email_twin(d)
    if twin is not None:  # one email waits per supplier: the other one carries on,
        twin.due_at = min(twin.due_at, due)  # knowing the claim this one may have left
        if "claim" in (d.payload or {}):
            twin.payload = dict(twin.payload or {}) | {"claim": d.payload["claim"]}
        d.status, d.finished_at = DeliveryStatus.SKIPPED, now
        d.last_error = f"Merged into delivery {twin.id}" + (f" · {reason}" if reason else "")
        return
    d.status, d.due_at, d.claimed_at = DeliveryStatus.PENDING, due, None
    d.last_error = reason


def _record(d: Delivery, outcome: Outcome, now: dt.datetime, max_attempts: int) -> None:
    reason = outcome.reason[:REASON_MAX] if outcome.reason else None
    if outcome.request_id is not None:
        d.request_id = outcome.request_id
    if outcome.status is DeliveryStatus.PENDING:
        if not outcome.attempted:  # (put back untried: keep what the last try said)
            _set_pending(d, outcome.due_at or now, reason or d.last_error, now)
            return
        if d.attempts < max_attempts:
            due = outcome.due_at or now + rules.retry_delay(d.attempts)
            _set_pending(d, due, reason, now)
            return
        d.status = DeliveryStatus.FAILED
        reason = f"Gave up after {d.attempts} attempts. Last: {reason}"[:REASON_MAX]
    else:
        d.status = outcome.status
    d.finished_at, d.last_error = now, reason


def _changed_hands(job: Job) -> DeliveryStatus | None:
    log.warning("delivery %s changed hands while it was delivered", job.id)
    return None  # (another worker took it over: its outcome counts)


def _finish_one(
    job: Job,
    d: Delivery | None,
    outcome: Outcome,
    now: dt.datetime,
    max_attempts: int,
    hook: FinishHook | None,
) -> DeliveryStatus | None:
    if d is None or d.status != DeliveryStatus.SENDING or d.claimed_at != job.claimed_at:
        return _changed_hands(job)
    if outcome.attempted:
        d.attempts += 1
        db.session.add(
            DeliveryAttempt(
                delivery_id=d.id,
                started_at=job.claimed_at,
                duration_ms=outcome.duration_ms,
                ok=outcome.status is DeliveryStatus.DELIVERED,
                status_code=outcome.status_code,
                error=outcome.reason[:REASON_MAX] if outcome.reason else None,
            )
        )
    _record(d, outcome, now, max_attempts)
    db.session.flush()
    status = DeliveryStatus(d.status)
    if hook is not None:
        hook(job, outcome, status, d.last_error, now)
    return status


def _put_back(jobs: list[tuple[int, Job, Outcome]], statuses: list[DeliveryStatus | None]) -> None:
    """Put a claim's untried deliveries back, one statement per due time (not emails)."""
    groups: dict[tuple[dt.datetime, dt.datetime], list[int]] = {}
    for _n, job, outcome in jobs:
        assert outcome.due_at is not None
        groups.setdefault((outcome.due_at, job.claimed_at), []).append(job.id)
    back: set[int] = set()
    for (due, claimed), ids in groups.items():
        stmt = (
            sa.update(Delivery)
            .where(
                Delivery.id.in_(ids),
                Delivery.status == DeliveryStatus.SENDING,
                Delivery.claimed_at == claimed,
            )
            .values(status=DeliveryStatus.PENDING, due_at=due, claimed_at=None)
            .returning(Delivery.id)
        )
        back.update(conn().execute(stmt).scalars())
    for n, job, _outcome in jobs:
        statuses[n] = DeliveryStatus.PENDING if job.id in back else _changed_hands(job)


def finish_many(
    done: list[tuple[Job, Outcome]],
    *,
    now: dt.datetime,
    max_attempts: int,
    hook: FinishHook | None = None,
) -> list[DeliveryStatus | None]:
    """Record the outcomes of one claim's deliveries in one transaction and commit (see
    :func:`finish`). Those not tried go back first, so that what the others' outcomes
    do to the endpoint's waiting deliveries applies to them too. The write lock is held
    for a few statements, however many deliveries the claim had: the untried go back in
    one, and the rows of the others are read in one."""
    begin_write()
    statuses: list[DeliveryStatus | None] = [None] * len(done)
    untried = [
        (n, job, outcome)
        for n, (job, outcome) in enumerate(done)
        if not outcome.attempted
        and outcome.status is DeliveryStatus.PENDING
        and outcome.due_at is not None
        and not outcome.reason
        and job.kind is not DeliveryKind.EMAIL
    ]
    if untried:
        _put_back(untried, statuses)
    taken = {n for n, _job, _outcome in untried}
    rest = sorted(set(range(len(done))) - taken, key=lambda n: (done[n][1].attempted, n))
    rows: dict[int, Delivery] = {}
    if rest:
        found = db.session.scalars(
            sa.select(Delivery)
            .where(Delivery.id.in_([done[n][0].id for n in rest]))
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        rows = {d.id: d for d in found}
    for n in rest:
        job, outcome = done[n]
        statuses[n] = _finish_one(job, rows.get(job.id), outcome, now, max_attempts, hook)
    db.session.commit()
    return statuses


def finish(
    job: Job,
    outcome: Outcome,
    *,
    now: dt.datetime,
    max_attempts: int,
    hook: FinishHook | None = None,
) -> DeliveryStatus | None:
    """Record a claimed delivery's outcome and commit; returns its new status.

    Returns None, recording nothing, when the row no longer carries this claim
    (another worker took it over): the other worker's outcome counts.
    """
    return finish_many([(job, outcome)], now=now, max_attempts=max_attempts, hook=hook)[0]


def note(delivery_id: int, **payload: Any) -> None:
    """Add to a claimed delivery's payload (what a handler must recognise if interrupted)."""
    d = db.session.get(Delivery, delivery_id)
    if d is not None:
        d.payload = dict(d.payload or {}) | payload
        db.session.flush()


INTERRUPTED = "Interrupted: the worker stopped during this delivery."


def recover(now: dt.datetime) -> int:
    """Hand back the deliveries a dead worker left ``sending``; returns how many.

    Call it when a worker becomes the one drainer (:mod:`kanban.core.drainer`):
    any delivery still ``sending`` then belongs to a worker that is gone. The
    interruption counts as an attempt; the delivery is due at once.
    """
    begin_write()
    orphans = list(
        db.session.scalars(
            sa.select(Delivery)
            .where(Delivery.status == DeliveryStatus.SENDING)
            .order_by(Delivery.id)
            .with_for_update()
        )
    )
    for d in orphans:
        d.attempts += 1
        started = d.claimed_at or now
        db.session.add(DeliveryAttempt(delivery_id=d.id, started_at=started, error=INTERRUPTED))
        _set_pending(d, now, INTERRUPTED, now)
        db.session.flush()
    db.session.commit()
    return len(orphans)


def redeliver(delivery_id: int, *, by: str) -> Delivery:
    """A person asks for a delivery again: a new pending copy, due now (flushes).

    The copy carries the same event id and body, and ``by`` in its payload (a
    person's request: an email ignores the batch window and the daily cap). An
    email that already waits for the supplier is made due now instead.
    """
    begin_write()
    old = db.session.get(Delivery, delivery_id)
    if old is None:
        raise NotFound("unknown_delivery", "No delivery has this id.")
    payload = dict(old.payload or {}) | {"by": by[:64], "again_of": old.id}
    waiting = None
    if old.kind == DeliveryKind.EMAIL:
        waiting = db.session.scalar(
            sa.select(Delivery)
            .where(
                Delivery.kind == DeliveryKind.EMAIL,
                Delivery.supplier_id == old.supplier_id,
                Delivery.status == DeliveryStatus.PENDING,
            )
            .with_for_update()
        )
    now = utcnow()
    if waiting is not None:
        waiting.due_at, waiting.payload = now, dict(waiting.payload or {}) | payload
        new = waiting
    else:
        new = Delivery(
            kind=old.kind,
            status=DeliveryStatus.PENDING,
            created_at=now,
            due_at=now,
            supplier_id=old.supplier_id,
            request_id=old.request_id,
            webhook_id=old.webhook_id,
            event=old.event,
            event_id=old.event_id,
            payload=payload,
        )
        db.session.add(new)
    db.session.flush()
    after_commit(poke)
    return new

"""Sending automatically (docs/manual/spec.md §2.3, issue 16): when a line opens on the draft
of a supplier that sends automatically, the draft is emailed, through the outbox.

**The listener** (:func:`install`) hears :data:`~kanban.core.signals.card_changed`
(a change that opened a line) and :data:`~kanban.core.signals.lines_waiting`
(lines a send left on a new draft) and writes an email delivery in the same
transaction: one waiting email per supplier, however many lines open. Nothing
is sent from the thread that made the change.

**The handler** (:class:`EmailHandler`), run by the outbox worker, emails the
supplier's draft as it is then (:func:`.sending.send_by_email`), within limits:

- at most one email per supplier per window (``KANBAN_AUTO_SEND_WINDOW_MINUTES``):
  the first line of a quiet window goes at once, the lines that open during
  the window go together when it ends;
- at most ``KANBAN_AUTO_SEND_DAILY_CAP`` automatic emails per supplier and UTC
  day: the next one switches the supplier's automatic sending off and tells
  supervisors (a notice), and the draft waits for a person;
- a claim left on the draft by a sender that died is settled (see
  docs/manual/decisions/requests.md, "Effectively once").

A person's retry (``by`` in the payload) ignores the window, the cap and the
supplier's switch.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from ..core import notices, outbox, signals
from ..core.errors import NotFound, ServiceError
from ..core.outbox import Job, Outcome
from ..core.tx import begin_write
from ..domain import clock
from ..domain import delivery as rules
from ..domain.statuses import (
    CLAIMS,
    DeliveryKind,
    DeliveryStatus,
    NoticeKind,
    RequestStatus,
    SentVia,
)
from ..extensions import db
from ..models import (
    LINE_IS_OPEN,
    REQUEST_IS_DRAFT,
    Delivery,
    Item,
    RequestLine,
    Supplier,
    SupplierRequest,
    utcnow,
)
from . import claims, requests
from .claims import AUTO_ACTOR
from .sending import send_by_email
from .settings import MailSettings

#: ServiceError codes of a send that cannot happen until a person fixes something.
_NEEDS_A_PERSON = ("smtp_not_configured", "smtp_misconfigured", "no_supplier_email")
#: How long to wait for another send of the same draft to end.
_BUSY_WAIT = dt.timedelta(seconds=30)


@dataclass(frozen=True)
class AutoSendSettings:
    """The limits of automatic sending (docs/manual/admins.md "Settings")."""

    window: dt.timedelta = dt.timedelta(minutes=15)
    daily_cap: int = 10

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> AutoSendSettings:
        """``KANBAN_AUTO_SEND_WINDOW_MINUTES`` and ``KANBAN_AUTO_SEND_DAILY_CAP``."""
        return cls(
            window=dt.timedelta(minutes=int(config.get("AUTO_SEND_WINDOW_MINUTES", 15))),
            daily_cap=int(config.get("AUTO_SEND_DAILY_CAP", 10)),
        )


# ------------------------------------------------------------------ the listener


def enqueue_email(supplier_id: int, request_id: int | None) -> None:
    """Make sure an email waits for the supplier (one at most), in this transaction.

    The caller holds the supplier's row lock (opening a line takes it), so two
    changes at once agree on one waiting email.
    """
    waiting = db.session.execute(
        sa.select(Delivery.id, Delivery.request_id).where(
            Delivery.kind == DeliveryKind.EMAIL,
            Delivery.supplier_id == supplier_id,
            Delivery.status == DeliveryStatus.PENDING,
        )
    ).first()
    if waiting is None:
        outbox.enqueue(DeliveryKind.EMAIL, supplier_id=supplier_id, request_id=request_id)
    elif request_id is not None and waiting.request_id != request_id:
        db.session.execute(
            sa.update(Delivery).where(Delivery.id == waiting.id).values(request_id=request_id)
        )


_AUTO_SUPPLIER_OF_LINE = (
    sa.select(Supplier.id, RequestLine.request_id)
    .join(Item, Item.supplier_id == Supplier.id)
    .join(RequestLine, RequestLine.item_id == Item.id)
    .where(RequestLine.id == sa.bindparam("line_id"), Supplier.auto_send.is_(True))
)


def _on_card_changed(_sender: Any, change: Any) -> None:
    if change.opened_line_id is None:
        return
    found = db.session.execute(_AUTO_SUPPLIER_OF_LINE, {"line_id": change.opened_line_id}).first()
    if found is not None:
        enqueue_email(found[0], found[1])


def _on_lines_waiting(_sender: Any, supplier_id: int) -> None:
    if db.session.scalar(sa.select(Supplier.auto_send).where(Supplier.id == supplier_id)):
        enqueue_email(supplier_id, _draft_id(supplier_id))


def install() -> None:
    """Write an email delivery for every line opened for an auto-send supplier
    (called by ``create_app``; connecting twice connects once)."""
    signals.card_changed.connect(_on_card_changed)
    signals.lines_waiting.connect(_on_lines_waiting)


# ------------------------------------------------------------------- the handler


def _draft_id(supplier_id: int) -> int | None:
    return db.session.scalar(
        sa.select(SupplierRequest.id).where(
            SupplierRequest.supplier_id == supplier_id,
            REQUEST_IS_DRAFT,
        )
    )


def _open_lines(request_id: int) -> int:
    return int(
        db.session.scalar(
            sa.select(sa.func.count(RequestLine.id)).where(
                RequestLine.request_id == request_id, LINE_IS_OPEN
            )
        )
        or 0
    )


def last_email_at(supplier_id: int) -> dt.datetime | None:
    """When the supplier was last emailed a request (automatically or by a person)."""
    return db.session.scalar(
        sa.select(sa.func.max(SupplierRequest.sent_at)).where(
            SupplierRequest.supplier_id == supplier_id,
            SupplierRequest.sent_via == SentVia.EMAIL,
            SupplierRequest.status.in_((RequestStatus.SENT, RequestStatus.RECEIVED)),
        )
    )


def emails_today(supplier_id: int, now: dt.datetime) -> int:
    """Emails the outbox delivered to the supplier since midnight UTC."""
    return int(
        db.session.scalar(
            sa.select(sa.func.count(Delivery.id)).where(
                Delivery.kind == DeliveryKind.EMAIL,
                Delivery.supplier_id == supplier_id,
                Delivery.status == DeliveryStatus.DELIVERED,
                Delivery.finished_at >= rules.day_start(now),
            )
        )
        or 0
    )


def _stop_for_the_day(supplier_id: int, draft_id: int, sent: int, cap: int, zone: dt.tzinfo) -> str:
    """Switch the supplier's automatic sending off and tell supervisors (commits)."""
    begin_write()
    sup = db.session.get(Supplier, supplier_id, with_for_update=True)
    assert sup is not None
    sup.auto_send = False
    reason = (
        f"{sent} automatic emails went to {sup.name} today, the daily cap "
        f"(KANBAN_AUTO_SEND_DAILY_CAP = {cap}): automatic sending for {sup.name} is now off. "
        "Check the requests, send this one by hand and switch automatic sending on again."
    )
    notices.add(NoticeKind.AUTO_SEND_STOPPED, reason, supplier_id=sup.id, request_id=draft_id)
    req = requests.get_request(draft_id, lock=True)
    req.send_error = f"{clock.local_text(utcnow(), zone)} · {reason}"
    db.session.flush()
    requests.announce(req, send_error=req.send_error)
    db.session.commit()
    return reason


class EmailHandler:
    """Emails a supplier's draft for the outbox (see the module docstring)."""

    def __init__(self, mail: MailSettings, limits: AutoSendSettings) -> None:
        self.mail = mail
        self.limits = limits

    def _settle_claim(self, job: Job, req: SupplierRequest, person: str) -> Outcome | None:
        """A claim sits on the draft: wait for it, give up, or drop it and send."""
        assert req.sent_at is not None
        ours = job.payload.get("claim") == req.sent_at.isoformat()
        if not ours and requests.is_sending(req):
            return Outcome.later(utcnow() + _BUSY_WAIT, "Another send of this draft is under way.")
        if req.sent_via == SentVia.HANDED_OVER and not person:
            return Outcome.give_up(
                f"The email for {requests.request_number(req.id)} was handed to the mail server "
                f"at {clock.local_text(req.sent_at, self.mail.zone)}, but the sender stopped "
                f"before the server answered: it has probably reached {req.supplier.name}. "
                "Check with them, then mark the request sent, or send it again."
            )
        # Nothing was handed over (the sender died before the end of the message),
        # or a person decided: the claim is dead, drop it and send.
        claims.release(req.id, req.sent_at, None, self.mail.zone)
        db.session.commit()
        return None

    def deliver(self, job: Job, now: dt.datetime) -> Outcome:
        """Email the supplier's draft, or say why not now (see the module docstring)."""
        assert job.supplier_id is not None
        person = str(job.payload.get("by") or "")
        sup = db.session.get(Supplier, job.supplier_id)
        assert sup is not None
        draft_id = _draft_id(sup.id)
        if draft_id is None or not _open_lines(draft_id):
            db.session.rollback()
            return Outcome.skipped("No draft with open lines was waiting: nothing to send.")
        if not person and not sup.auto_send:
            db.session.rollback()
            return Outcome.skipped(f"Automatic sending is off for {sup.name}.")
        req = requests.get_request(draft_id)
        if req.sent_via in CLAIMS:
            settled = self._settle_claim(job, req, person)
            if settled is not None:
                db.session.rollback()
                return settled
        if not person:
            due = rules.batch_due(last_email_at(sup.id), self.limits.window, now)
            if due > now:
                db.session.rollback()
                minutes = int(self.limits.window.total_seconds() // 60)
                return Outcome.later(
                    due,
                    f"One email per {minutes} min to {sup.name}: waits until "
                    f"{clock.local_text(due, self.mail.zone)}.",
                )
            sent = emails_today(sup.id, now)
            if rules.cap_reached(sent, self.limits.daily_cap):
                return Outcome.skipped(
                    _stop_for_the_day(sup.id, draft_id, sent, self.limits.daily_cap, self.mail.zone)
                )
        db.session.rollback()  # end the reads: sending opens its own transactions
        try:
            sent_req = send_by_email(
                draft_id,
                self.mail,
                actor=person or AUTO_ACTOR,
                on_claim=lambda at: outbox.note(job.id, claim=at.isoformat()),
            )
        except ServiceError as exc:
            db.session.rollback()
            return _refused(exc, draft_id)
        return Outcome.delivered(request_id=sent_req.id)

    def finished(
        self,
        job: Job,
        outcome: Outcome,
        status: DeliveryStatus,
        reason: str | None,
        now: dt.datetime,
    ) -> None:
        """A given-up email: the reason on the draft and a notice for supervisors."""
        if status is not DeliveryStatus.FAILED or job.supplier_id is None:
            return
        draft_id = outcome.request_id or _draft_id(job.supplier_id)
        if draft_id is None:
            return
        req = requests.get_request(draft_id, lock=True)
        if req.status != RequestStatus.DRAFT:
            return
        claimed = req.sent_at.isoformat() if req.sent_at is not None else None
        dead = claimed == job.payload.get("claim") or not requests.is_sending(req)
        if req.sent_via in CLAIMS and req.sent_at is not None and dead:
            # a dead sender's claim goes
            claims.release(req.id, req.sent_at, reason, self.mail.zone)
        elif reason and reason not in (req.send_error or ""):
            req.send_error = f"{clock.local_text(utcnow(), self.mail.zone)} · {reason}"[:2000]
            db.session.flush()
            requests.announce(req, send_error=req.send_error)
        notices.add(
            NoticeKind.AUTO_SEND_FAILED,
            f"Automatic email of {requests.request_number(req.id)} to {req.supplier.name} "
            f"given up: {reason}",
            supplier_id=req.supplier_id,
            request_id=req.id,
        )


def _refused(exc: ServiceError, draft_id: int) -> Outcome:
    """What a refused send means for the delivery."""
    if exc.code == "send_failed":
        if exc.details.get("permanent"):
            return Outcome.give_up(exc.message, request_id=draft_id)
        return Outcome.retry(exc.message, request_id=draft_id)
    if exc.code in _NEEDS_A_PERSON:
        return Outcome.give_up(exc.message, request_id=draft_id)
    if exc.code == "sending_in_progress":
        return Outcome.later(utcnow() + _BUSY_WAIT, exc.message)
    if exc.code == "changed_while_sending":  # the supplier got it; a person must look
        return Outcome(DeliveryStatus.DELIVERED, exc.message, request_id=draft_id)
    return Outcome.skipped(exc.message)  # not a draft any more, or emptied meanwhile


# ----------------------------------------------------------- for the request page


def deliveries_for(request_id: int, limit: int = 5) -> list[Delivery]:
    """The request's automatic emails with their attempts, newest first."""
    return list(
        db.session.scalars(
            sa.select(Delivery)
            .where(Delivery.kind == DeliveryKind.EMAIL, Delivery.request_id == request_id)
            .options(selectinload(Delivery.attempt_log))
            .order_by(Delivery.id.desc())
            .limit(limit)
        )
    )


def retry(request_id: int, delivery_id: int, *, by: str) -> Delivery:
    """A person asks to email a draft again after automatic sending gave up (flushes).

    The new delivery ignores the batch window, the daily cap and the supplier's
    switch: a person decided.
    """
    d = db.session.get(Delivery, delivery_id)
    if d is None or d.kind != DeliveryKind.EMAIL or d.request_id != request_id:
        raise NotFound("unknown_delivery", "This request has no such automatic email.")
    if d.status not in (DeliveryStatus.FAILED, DeliveryStatus.SKIPPED):
        raise ServiceError(
            "delivery_open", "This automatic email is not given up: it is still under way.", 409
        )
    if requests.get_request(request_id).status != RequestStatus.DRAFT:
        raise ServiceError("not_draft", "Only a draft can be emailed again.", 409)
    return outbox.redeliver(d.id, by=by)

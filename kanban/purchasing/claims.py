"""The claim an email send puts on a draft (docs/manual/decisions/requests.md, "Effectively once").

A draft being emailed carries a claim: ``sent_via`` says how far the send got
and ``sent_at`` holds when it was taken, which is also the claim's identity.

- ``sending``: the message is being built and transmitted. Until the line that
  ends it goes out, a mail server drops a message whose connection breaks: a
  sender that dies here has sent nothing.
- ``handed_over``: committed just before that line (:func:`hand_over`). From
  here on the server may have accepted the message, even if the sender dies
  before it hears so.

While a claim is fresh (:data:`~kanban.purchasing.requests.CLAIM_TIMEOUT`)
nobody else may send, edit or mark the draft sent. Every step checks that the
claim is still the one it took (:class:`ClaimLost` otherwise), so of two
senders at most one reaches the mail server.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from ..core.errors import ServiceError
from ..core.tx import begin_write
from ..domain import clock, leadtime
from ..domain.statuses import CLAIMS, LineStatus, RequestStatus, SentVia
from ..extensions import db
from ..models import SupplierRequest, utcnow
from . import documents, mail, requests
from .requests import get_request, is_sending, request_number
from .settings import MailSettings

#: Who the ledger and events name for sends that nobody clicked.
AUTO_ACTOR = "automatic"


class ClaimLost(Exception):
    """The draft changed hands while the email was on its way."""


@dataclass(frozen=True)
class Claim:
    """What a send took from the database before talking to the mail server."""

    request_id: int
    supplier_id: int
    auto_send: bool
    claimed_at: dt.datetime
    line_ids: tuple[int, ...]
    expected: dt.date
    to: str
    doc: documents.RequestDoc


def require_sendable_draft(req: SupplierRequest) -> None:
    """Refuse a request that is not a draft, or that is being emailed right now."""
    if req.status != RequestStatus.DRAFT:
        raise ServiceError(
            "not_draft", f"Request {request_number(req.id)} is {req.status}, not a draft.", 409
        )
    if is_sending(req):
        raise ServiceError(
            "sending_in_progress",
            f"Request {request_number(req.id)} is being emailed right now.",
            409,
        )


def holds(req: SupplierRequest, claimed_at: dt.datetime) -> bool:
    """The draft still carries the claim taken at ``claimed_at``."""
    return (
        req.status == RequestStatus.DRAFT and req.sent_via in CLAIMS and req.sent_at == claimed_at
    )


def claim(
    request_id: int,
    *,
    actor: str,
    settings: MailSettings,
    on_claim: Callable[[dt.datetime], None] | None = None,
) -> Claim:
    """Take the claim (flushes; the caller commits): snapshot the open lines.

    ``on_claim`` is called with the claim's time inside the same transaction
    (the outbox notes which claim is its own).
    """
    begin_write()
    req = get_request(request_id, lock=True)
    require_sendable_draft(req)
    open_lines = [line for line in req.lines if line.status == LineStatus.OPEN]
    if not open_lines:
        raise ServiceError("empty_request", "The request has no open lines to send.", 409)
    sup = req.supplier
    if not mail.valid_address(sup.email):
        raise ServiceError(
            "no_supplier_email",
            f"{sup.name} has no valid email address: add one, or download the request, "
            "send it yourself and mark it sent.",
            409,
        )
    now = utcnow()
    expected = leadtime.expected_date(now, sup.lead_time_days)
    doc = requests.request_doc(
        req,
        lines=open_lines,
        issued=now,
        expected=expected,
        contact_name="" if actor == AUTO_ACTOR else actor,
        contact_email=settings.sender,
        zone=settings.zone,
        site=settings.site,
    )
    req.sent_via = SentVia.SENDING
    req.sent_at = now
    req.send_error = None
    db.session.flush()
    if on_claim is not None:
        on_claim(now)
    return Claim(
        request_id=req.id,
        supplier_id=sup.id,
        auto_send=sup.auto_send,
        claimed_at=now,
        line_ids=tuple(line.id for line in open_lines),
        expected=expected,
        to=str(sup.email),
        doc=doc,
    )


def hand_over(request_id: int, claimed_at: dt.datetime) -> None:
    """Record, and commit, that the message is about to be ended (see module docstring).

    Raises :class:`ClaimLost` when the claim is no longer ours: then the
    message must not be ended.
    """
    begin_write()
    req = get_request(request_id, lock=True)
    if not holds(req, claimed_at) or req.sent_via != SentVia.SENDING:
        db.session.rollback()
        raise ClaimLost
    req.sent_via = SentVia.HANDED_OVER
    db.session.commit()


def release(
    request_id: int, claimed_at: dt.datetime, reason: str | None, zone: dt.tzinfo
) -> SupplierRequest:
    """Drop the claim taken at ``claimed_at`` (if it is still there); with a reason,
    record on the draft why the send failed, at the time on the site's clock ``zone``.
    Flushes and announces."""
    begin_write()
    req = get_request(request_id, lock=True)
    if holds(req, claimed_at):
        req.sent_via = None
        req.sent_at = None
    if reason is not None and req.status == RequestStatus.DRAFT:
        req.send_error = f"{clock.local_text(utcnow(), zone)} · {reason}"[:2000]
    db.session.flush()
    requests.announce(req, send_error=req.send_error)
    return req

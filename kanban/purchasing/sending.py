"""Sending supplier requests (docs/spec.md §2.3): by email over SMTP, or marked sent.

Sending by email never holds a database lock while it talks to the mail
server. It runs as three short transactions around the SMTP conversation:

1. **claim** the draft: check it can be sent, snapshot its open lines into the
   document (PDF, CSV, text) and mark the draft as "being sent"
   (``sent_via = "sending"``, ``sent_at`` = when the claim was taken). Edits and
   other sends of that draft are refused while the claim is fresh; scans still
   add and withdraw lines (a scan never fails because of a send).
2. **send** the message (no transaction open).
3. **finish**: on success, freeze exactly the emailed lines that are still
   open (cards → ordered); lines a scan added meanwhile move to a new draft. On
   failure, drop the claim and record the reason in ``send_error``: the draft
   is unchanged and can be sent again.

If the process dies between 2 and 3 the claim stays; after
:data:`~kanban.purchasing.requests.CLAIM_TIMEOUT` the page says that a send did
not finish (the email may have gone out) and the draft can be sent again. We
prefer that to marking a request sent before the mail server accepted it.

These functions own their transactions (they commit), like
:func:`kanban.stock.scanning.record_scan`; :func:`mark_sent` alone only flushes.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Collection
from dataclasses import dataclass
from email.message import EmailMessage

import sqlalchemy as sa

from ..cards import flow, lines
from ..catalog.views import card_view
from ..core import signals
from ..core.errors import ServiceError
from ..core.tx import begin_write
from ..domain import cards, clock, leadtime
from ..domain.statuses import ChangeCause, LineStatus, RequestStatus, SentVia
from ..extensions import db
from ..models import Bin, RequestLine, Supplier, SupplierRequest, utcnow
from . import documents, mail, requests
from .requests import get_request, is_sending, request_number
from .settings import MailSettings, smtp_settings

log = logging.getLogger("kanban.sending")

#: Who the ledger and events name for sends that nobody clicked.
AUTO_ACTOR = "automatic"


# ------------------------------------------------------------------ marking sent


class _ClaimLost(Exception):
    """The draft changed hands while the email was on its way."""


def _open_lines_locked(req: SupplierRequest) -> list[RequestLine]:
    return list(
        db.session.scalars(
            sa.select(RequestLine)
            .where(RequestLine.request_id == req.id, RequestLine.status == LineStatus.OPEN)
            .order_by(RequestLine.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    )


# long: the lock order (bins → supplier → request → lines) must stay in one place
def _freeze(
    request_id: int,
    line_ids: Collection[int],
    *,
    via: str,
    actor: str,
    expected: dt.date,
    claimed_at: dt.datetime | None,
) -> tuple[SupplierRequest, int]:
    """Mark these lines of a draft sent; open lines not among them move to a new draft.

    Locks bins (id order) → supplier → request, as scans do. Returns the request
    and how many lines moved. With ``claimed_at`` the draft must still carry
    that claim (else :class:`_ClaimLost`).
    """
    wanted = set(line_ids)
    bin_ids = sorted(
        set(db.session.scalars(sa.select(RequestLine.bin_id).where(RequestLine.id.in_(wanted))))
    )
    db.session.execute(
        sa.select(Bin)
        .where(Bin.id.in_(bin_ids))
        .order_by(Bin.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    supplier_id = get_request(request_id).supplier_id
    db.session.execute(sa.select(Supplier.id).where(Supplier.id == supplier_id).with_for_update())
    req = get_request(request_id, lock=True)
    if claimed_at is not None:
        if (
            req.sent_via != SentVia.SENDING
            or req.sent_at != claimed_at
            or req.status != RequestStatus.DRAFT
        ):
            raise _ClaimLost
    else:
        _require_sendable_draft(req)
    open_lines = _open_lines_locked(req)
    to_send = [line for line in open_lines if line.id in wanted]
    later = [line for line in open_lines if line.id not in wanted]
    if not to_send:
        raise ServiceError("empty_request", "The request has no open lines to send.", 409)
    req.status = RequestStatus.SENT
    req.sent_at = utcnow()
    req.sent_via = via
    req.send_error = None
    req.expected_date = expected
    db.session.flush()
    if later:
        # The supplier was not shown these: they wait on the next draft.
        draft = lines.lock_draft(req.supplier_id)
        for line in later:
            line.request_id = draft.id
        db.session.flush()
    db.session.expire(req, ["lines"])
    cause = flow.Cause(ChangeCause.SENT, actor, detail={"request_id": req.id, "via": via})
    for line in to_send:
        flow.apply(card_view(line.bin_id), cards.CardEvent.SENT, cause)
    requests.announce(req, actor=actor, via=via, moved_lines=len(later))
    if later:
        signals.lines_waiting.send(db.engine, supplier_id=req.supplier_id)
    return req, len(later)


def mark_sent(
    request_id: int,
    *,
    via: str = SentVia.MANUAL,
    actor: str = "",
    line_ids: Collection[int] | None = None,
) -> SupplierRequest:
    """Freeze a draft as sent: its bins' cards go to ordered (docs/spec.md §2.2).

    ``line_ids``: the lines the supplier was shown (the page sends the lines it
    listed); open lines not among them stay on a new draft. None means every
    open line. Flushes, does not commit.
    """
    begin_write()
    req = get_request(request_id)
    if req.status != RequestStatus.DRAFT:
        raise ServiceError(
            "not_draft", f"Request {request_number(req.id)} is {req.status}, not a draft.", 409
        )
    snapshot = [
        line.id
        for line in req.lines
        if line.status == LineStatus.OPEN and (line_ids is None or line.id in line_ids)
    ]
    if not snapshot:
        raise ServiceError("empty_request", "The request has no open lines to send.", 409)
    expected = leadtime.expected_date(utcnow(), req.supplier.lead_time_days)
    req, _ = _freeze(request_id, snapshot, via=via, actor=actor, expected=expected, claimed_at=None)
    return req


# ---------------------------------------------------------------------- email


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


def _require_sendable_draft(req: SupplierRequest) -> None:
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


def _claim(request_id: int, *, actor: str, settings: MailSettings) -> Claim:
    begin_write()
    req = get_request(request_id, lock=True)
    _require_sendable_draft(req)
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


def build_email(claim: Claim, sender: str) -> EmailMessage:
    """The supplier's email: text body, the request as PDF and as CSV; replies go to the
    site's buyer where one is set."""
    doc = claim.doc
    return mail.build_message(
        sender=sender,
        to=claim.to,
        reply_to=doc.site.buyer_email or None,
        subject=documents.subject(doc),
        text=documents.render_text(doc),
        attachments=[
            mail.Attachment(
                f"{doc.filename_stem}.pdf", documents.render_pdf(doc), "application/pdf"
            ),
            mail.Attachment(f"{doc.filename_stem}.csv", documents.render_csv(doc), "text/csv"),
        ],
    )


def _release(claim: Claim, reason: str | None, zone: dt.tzinfo) -> SupplierRequest:
    """Drop our claim; with a reason, record why the send failed."""
    begin_write()
    req = get_request(claim.request_id, lock=True)
    if req.sent_via == SentVia.SENDING and req.sent_at == claim.claimed_at:
        req.sent_via = None
        req.sent_at = None
    if reason is not None and req.status == RequestStatus.DRAFT:
        req.send_error = f"{clock.local_text(utcnow(), zone)} · {reason}"[:2000]
    db.session.flush()
    requests.announce(req, send_error=req.send_error)
    return req


def send_by_email(request_id: int, settings: MailSettings, *, actor: str = "") -> SupplierRequest:
    """Email a draft to its supplier, then mark it sent (commits; see module docstring).

    A refused or failed send raises ``send_failed`` (502) after recording the
    reason on the draft, which stays a draft with its cards unchanged.
    """
    server = smtp_settings(settings)
    try:
        claim = _claim(request_id, actor=actor, settings=settings)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    try:
        mail.send(server, build_email(claim, settings.sender))
    except mail.MailError as exc:
        _release(claim, exc.reason, settings.zone)
        db.session.commit()
        log.warning("request %s not sent: %s", claim.request_id, exc.reason)
        raise ServiceError("send_failed", f"Not sent: {exc.reason}", 502) from None
    except Exception:
        db.session.rollback()
        _release(claim, "The email could not be built or sent (see the server log).", settings.zone)
        db.session.commit()
        raise
    try:
        req, moved = _freeze(
            claim.request_id,
            claim.line_ids,
            via=SentVia.EMAIL,
            actor=actor,
            expected=claim.expected,
            claimed_at=claim.claimed_at,
        )
    except (_ClaimLost, ServiceError):
        db.session.rollback()
        req = _release(claim, None, settings.zone)
        db.session.commit()
        number = request_number(claim.request_id)
        log.warning("request %s was emailed but changed meanwhile (%s)", number, req.status)
        raise ServiceError(
            "changed_while_sending",
            f"The email for {number} went out, but the request changed meanwhile (it is now "
            f"{req.status}): nothing was marked sent. Check with the supplier.",
            409,
        ) from None
    except Exception:
        db.session.rollback()
        raise
    db.session.commit()
    return req


def send(
    request_id: int,
    settings: MailSettings,
    *,
    via: str | None = None,
    actor: str = "",
    line_ids: Collection[int] | None = None,
) -> SupplierRequest:
    """Send a draft and commit: by email where SMTP is configured, else mark it sent.

    ``via``: "email", "manual" (mark sent after downloading or printing) or
    None for the default (docs/spec.md §8.1).
    """
    if via is None:
        via = SentVia.EMAIL if settings.email_configured else SentVia.MANUAL
    if via == SentVia.EMAIL:
        return send_by_email(request_id, settings, actor=actor)
    if via != SentVia.MANUAL:
        raise ServiceError("invalid_via", "via must be email or manual.")
    try:
        req = mark_sent(request_id, via=SentVia.MANUAL, actor=actor, line_ids=line_ids)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return req

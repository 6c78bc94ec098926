"""Sending supplier requests (docs/manual/spec.md §2.3): by email over SMTP, or marked sent.

Sending by email never holds a database lock while it talks to the mail
server. It runs as three short transactions around the SMTP conversation:

1. **claim** the draft (:mod:`.claims`): check it can be sent, snapshot its
   open lines into the document (PDF, CSV, text) and mark the draft as "being
   sent". Edits and other sends of that draft are refused while the claim is
   fresh; scans still add and withdraw lines (a scan never fails because of a
   send).
2. **send** the message (no transaction open). Just before the line that ends
   it, the claim becomes ``handed_over`` (committed): up to there a sender
   that dies has sent nothing.
3. **finish**: on success, freeze exactly the emailed lines that are still
   open (cards → ordered); lines a scan added meanwhile move to a new draft. On
   failure, drop the claim and record the reason in ``send_error``: the draft
   is unchanged and can be sent again.

If the process dies between 2 and 3 the claim stays; after
:data:`~kanban.purchasing.requests.CLAIM_TIMEOUT` the page says that a send did
not finish and whether the email may have gone out, and the draft can be sent
again. We prefer that to marking a request sent before the mail server accepted
it. Automatic sending (:mod:`.autosend`) settles such a claim at once.

These functions own their transactions (they commit), like
:func:`kanban.stock.scanning.record_scan`; :func:`mark_sent` alone only flushes.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Collection
from email.message import EmailMessage

import sqlalchemy as sa

from ..cards import flow, lines
from ..catalog.views import card_view
from ..core import signals
from ..core.errors import ServiceError
from ..core.tx import begin_write
from ..domain import cards, leadtime
from ..domain.statuses import ChangeCause, LineStatus, RequestStatus, SentVia
from ..extensions import db
from ..models import LINE_IS_OPEN, Bin, RequestLine, Supplier, SupplierRequest, utcnow
from . import claims, documents, mail, requests
from .claims import ClaimLost
from .requests import get_request, request_number
from .settings import MailSettings, smtp_settings

log = logging.getLogger("kanban.sending")

# ------------------------------------------------------------------ marking sent


def _open_lines_locked(req: SupplierRequest) -> list[RequestLine]:
    return list(
        db.session.scalars(
            sa.select(RequestLine)
            .where(RequestLine.request_id == req.id, LINE_IS_OPEN)
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
    that claim (else :class:`~kanban.purchasing.claims.ClaimLost`).
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
        if not claims.holds(req, claimed_at):
            raise ClaimLost
    else:
        claims.require_sendable_draft(req)
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
    signals.request_sent.send(db.engine, request_id=req.id)
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
    """Freeze a draft as sent: its bins' cards go to ordered (docs/manual/spec.md §2.2).

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


def build_email(claim: claims.Claim, sender: str) -> EmailMessage:
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


# long: three transactions around the SMTP conversation, each failure settled in one place
def send_by_email(
    request_id: int,
    settings: MailSettings,
    *,
    actor: str = "",
    on_claim: Callable[[dt.datetime], None] | None = None,
) -> SupplierRequest:
    """Email a draft to its supplier, then mark it sent (commits; see module docstring).

    A refused or failed send raises ``send_failed`` (502, with ``permanent``
    in its details) after recording the reason on the draft, which stays a
    draft with its cards unchanged. ``on_claim``: see :func:`.claims.claim`.
    """
    server = smtp_settings(settings)
    sender = settings.sender
    try:
        claim = claims.claim(request_id, actor=actor, settings=settings, on_claim=on_claim)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    number = request_number(claim.request_id)
    try:
        mail.send(
            server,
            build_email(claim, sender),
            on_handover=lambda: claims.hand_over(claim.request_id, claim.claimed_at),
        )
    except mail.MailError as exc:
        claims.release(claim.request_id, claim.claimed_at, exc.reason, settings.zone)
        db.session.commit()
        log.warning("request %s not sent: %s", claim.request_id, exc.reason)
        raise ServiceError(
            "send_failed", f"Not sent: {exc.reason}", 502, permanent=exc.permanent
        ) from None
    except ClaimLost:
        db.session.rollback()
        raise ServiceError(
            "sending_in_progress",
            f"Another send took {number} over before this one ended its email: nothing was "
            "sent by this one.",
            409,
        ) from None
    except Exception:
        db.session.rollback()
        claims.release(
            claim.request_id,
            claim.claimed_at,
            "The email could not be built or sent (see the server log).",
            settings.zone,
        )
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
    except (ClaimLost, ServiceError):
        db.session.rollback()
        req = claims.release(claim.request_id, claim.claimed_at, None, settings.zone)
        db.session.commit()
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
    None for the default (docs/manual/spec.md §8.1).
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

"""Supplier requests (docs/manual/spec.md §2.3): reading them, their totals, documents and JSON.

Draft lines are opened, withdrawn and cancelled by the card flow
(:mod:`kanban.cards.lines`); reviewing drafts and receiving on the request
page is :mod:`.review`; sending is :mod:`.sending`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import joinedload, selectinload

from ..core import feed
from ..core.errors import NotFound
from ..domain import leadtime, units
from ..domain.codes import request_number as request_number
from ..domain.statuses import ACTIVE_LINES, CLAIMS, EventKind, LineStatus, RequestStatus
from ..extensions import db
from ..models import RequestLine, SupplierRequest, utcnow
from .documents import DocLine, RequestDoc, money
from .settings import SiteDetails

#: A send that claimed a draft and did not finish within this time is taken for
#: dead (its process stopped): the draft can be sent again. While a claim is
#: fresh, ``sent_via`` is ``sending`` or ``handed_over`` (see :mod:`.claims`) and
#: ``sent_at`` holds when it was taken.
CLAIM_TIMEOUT = dt.timedelta(minutes=5)
MAX_LINE_QUANTITY = 1_000_000


def is_sending(req: SupplierRequest, now: dt.datetime | None = None) -> bool:
    """An email for this draft is on its way (claimed less than CLAIM_TIMEOUT ago)."""
    if req.status != RequestStatus.DRAFT or req.sent_via not in CLAIMS or req.sent_at is None:
        return False
    return (now or utcnow()) - req.sent_at < CLAIM_TIMEOUT


def unfinished_send(req: SupplierRequest, now: dt.datetime | None = None) -> dt.datetime | None:
    """When a send started that never finished (its process died), if one did."""
    claimed = (
        req.status == RequestStatus.DRAFT and req.sent_via in CLAIMS and req.sent_at is not None
    )
    return req.sent_at if claimed and not is_sending(req, now) else None


def get_request(request_id: int, *, lock: bool = False) -> SupplierRequest:
    """A request by id, or NotFound (locked and re-read when ``lock``)."""
    stmt = sa.select(SupplierRequest).where(SupplierRequest.id == request_id)
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    req = db.session.scalar(stmt)
    if req is None:
        raise NotFound("unknown_request", "No supplier request has this id.")
    return req


def _with_lines(stmt: sa.Select[Any]) -> sa.Select[Any]:
    return stmt.options(
        joinedload(SupplierRequest.supplier),
        selectinload(SupplierRequest.lines).joinedload(RequestLine.item),
        selectinload(SupplierRequest.lines).joinedload(RequestLine.bin),
    )


def load_request(request_id: int) -> SupplierRequest:
    """A request with its supplier, lines, items and bins, for a page."""
    req = db.session.scalar(
        _with_lines(sa.select(SupplierRequest)).where(SupplierRequest.id == request_id)
    )
    if req is None:
        raise NotFound("unknown_request", "No supplier request has this id.")
    return req


def list_requests(
    status: str | None = None, *, supplier_id: int | None = None, overdue_on: dt.date | None = None
) -> list[SupplierRequest]:
    """Requests, newest first; optionally of one status, one supplier, or overdue
    on a given day (sent and past their expected date)."""
    stmt = _with_lines(sa.select(SupplierRequest)).order_by(SupplierRequest.id.desc())
    if status is not None:
        stmt = stmt.where(SupplierRequest.status == status)
    if supplier_id is not None:
        stmt = stmt.where(SupplierRequest.supplier_id == supplier_id)
    if overdue_on is not None:
        stmt = stmt.where(
            SupplierRequest.status == RequestStatus.SENT, SupplierRequest.expected_date < overdue_on
        )
    return list(db.session.scalars(stmt).unique())


def status_counts() -> dict[str, int]:
    """How many requests there are of each status."""
    rows = db.session.execute(
        sa.select(SupplierRequest.status, sa.func.count(SupplierRequest.id)).group_by(
            SupplierRequest.status
        )
    )
    return {status: int(n) for status, n in rows}


def overdue_count(today: dt.date) -> int:
    """Sent requests past their expected date."""
    return int(
        db.session.scalar(
            sa.select(sa.func.count(SupplierRequest.id)).where(
                SupplierRequest.status == RequestStatus.SENT, SupplierRequest.expected_date < today
            )
        )
        or 0
    )


@dataclass(frozen=True)
class Totals:
    """What a request adds up to over its active lines."""

    lines: int
    quantity: int  # over all units: for the API's total_quantity; people read by_unit
    value: Decimal | None
    value_complete: bool
    by_unit: tuple[tuple[str, int], ...] = ()

    @property
    def by_unit_text(self) -> str:
        """``12 ea + 4 bag``: what the pages and documents show."""
        return units.by_unit_text(self.by_unit)


def totals(req: SupplierRequest) -> Totals:
    """Quantity and value of the lines that count (open or received)."""
    active = [line for line in req.lines if line.status in ACTIVE_LINES]
    costs = [
        line.item.unit_cost * line.quantity for line in active if line.item.unit_cost is not None
    ]
    return Totals(
        lines=len(active),
        quantity=sum(line.quantity for line in active),
        value=sum(costs, Decimal(0)) if costs else None,
        value_complete=len(costs) == len(active),
        by_unit=units.by_unit((line.quantity, line.item.unit) for line in active),
    )


def doc_lines(lines: Iterable[RequestLine]) -> tuple[DocLine, ...]:
    """Lines as the documents show them, numbered from 1."""
    return tuple(
        DocLine(
            position=i,
            line_id=line.id,
            bin=line.bin.code,
            sku=line.item.sku,
            supplier_part_number=line.item.supplier_part_number,
            item=line.item.name,
            quantity=line.quantity,
            unit=line.item.unit,
            unit_cost=line.item.unit_cost,
        )
        for i, line in enumerate(lines, start=1)
    )


def request_doc(
    req: SupplierRequest,
    *,
    contact_name: str,
    contact_email: str,
    site: SiteDetails | None = None,
    lines: Iterable[RequestLine] | None = None,
    issued: dt.datetime | None = None,
    expected: dt.date | None = None,
    zone: dt.tzinfo = dt.UTC,
) -> RequestDoc:
    """The request as a document: by default its open lines while a draft (what would
    be sent), the lines that were sent once it is sent; with the site's details (company,
    delivery address, buyer, terms) where they are set."""
    if lines is None:
        wanted = (LineStatus.OPEN,) if req.status == RequestStatus.DRAFT else ACTIVE_LINES
        lines = [line for line in req.lines if line.status in wanted]
    if issued is None:
        issued = req.sent_at if req.status != RequestStatus.DRAFT and req.sent_at else utcnow()
    if expected is None:
        expected = (
            req.expected_date
            if req.status != RequestStatus.DRAFT
            else leadtime.expected_date(utcnow(), req.supplier.lead_time_days)
        )
    sup = req.supplier
    return RequestDoc(
        number=request_number(req.id),
        supplier=sup.name,
        supplier_email=sup.email,
        supplier_phone=sup.phone,
        issued=issued,
        expected_date=expected,
        lines=doc_lines(lines),
        contact_name=contact_name,
        contact_email=contact_email,
        zone=zone,
        site=site or SiteDetails(),
        supplier_contact=sup.contact,
        note=sup.request_note,
    )


#: What people who may not send see instead of why a send failed: a mail server's answer
#: can quote the relay's user or password.
HIDDEN_SEND_ERROR = feed.HIDDEN_SEND_ERROR


def request_dict(
    req: SupplierRequest, today: dt.date | None = None, *, send_error: bool = True
) -> dict[str, Any]:
    """The JSON form of a request with its lines; ``send_error=False`` replaces the
    reason of a failed send with :data:`HIDDEN_SEND_ERROR` (for operators)."""
    today = today or utcnow().date()
    draft = req.status == RequestStatus.DRAFT
    tot = totals(req)
    return {
        "id": req.id,
        "number": request_number(req.id),
        "supplier": {"id": req.supplier_id, "name": req.supplier.name, "email": req.supplier.email},
        "status": req.status,
        "created_at": req.created_at.isoformat(),
        "sent_at": req.sent_at.isoformat() if req.sent_at and not draft else None,
        "sent_via": req.sent_via if not draft else None,
        "sending": is_sending(req),
        "send_error": req.send_error if send_error or not req.send_error else HIDDEN_SEND_ERROR,
        "received_at": req.received_at.isoformat() if req.received_at else None,
        "expected_date": req.expected_date.isoformat() if req.expected_date else None,
        "overdue": leadtime.is_overdue(req.status, req.expected_date, today),
        "total_quantity": tot.quantity,
        "total_by_unit": dict(tot.by_unit),
        "total_value": money(tot.value) if tot.value is not None else None,
        "lines": [
            {
                "id": line.id,
                "bin": line.bin.code,
                "sku": line.item.sku,
                "item": line.item.name,
                "supplier_part_number": line.item.supplier_part_number,
                "unit": line.item.unit,
                "quantity": line.quantity,
                "received_quantity": line.received_quantity,
                "status": line.status,
                "reason": line.reason,
            }
            for line in req.lines
        ],
    }


def announce(req: SupplierRequest, **details: Any) -> None:
    """Append the ``request.changed`` event of a request (its status, supplier, details)."""
    feed.append(
        EventKind.REQUEST_CHANGED,
        request_id=req.id,
        data={"status": req.status, "supplier": req.supplier.name, **details},
    )

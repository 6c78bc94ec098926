"""Supplier requests (DESIGN §2.3): draft lines, sending, receiving."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from ..domain import cards
from ..extensions import db
from ..models import Bin, RequestLine, Supplier, SupplierRequest, utcnow
from . import NotFound, ServiceError, events


def _lock_draft(supplier_id: int) -> SupplierRequest:
    """The supplier's draft request, created if needed, locked for this transaction.

    The supplier row is locked first so that two bins flipping at once agree on
    one draft (the partial unique index is the safety net).
    """
    db.session.execute(
        sa.select(Supplier.id).where(Supplier.id == supplier_id).with_for_update()
    )
    draft = db.session.scalar(
        sa.select(SupplierRequest)
        .where(SupplierRequest.supplier_id == supplier_id, SupplierRequest.status == "draft")
        .with_for_update()
    )
    if draft is None:
        draft = SupplierRequest(supplier_id=supplier_id, status="draft", created_at=utcnow())
        db.session.add(draft)
        db.session.flush()
    return draft


def add_line(b: Bin, reason: str) -> RequestLine:
    """Open this cycle's line for the bin on its supplier's draft request."""
    item = b.item
    draft = _lock_draft(item.supplier_id)
    line = RequestLine(
        request_id=draft.id,
        bin_id=b.id,
        item_id=item.id,
        quantity=cards.line_quantity(b.order_quantity, item.pack_multiple),
        reason=reason[:300],
        status="open",
        created_at=utcnow(),
    )
    db.session.add(line)
    db.session.flush()
    return line


def open_line(bin_id: int) -> RequestLine | None:
    """The bin's open line (there is at most one)."""
    return db.session.scalar(
        sa.select(RequestLine).where(RequestLine.bin_id == bin_id, RequestLine.status == "open")
    )


def withdraw_line(bin_id: int) -> RequestLine | None:
    """Withdraw the bin's unsent draft line; a draft left empty is deleted."""
    line = open_line(bin_id)
    if line is None:
        return None
    if line.request.status != "draft":
        raise ServiceError("line_sent", "The line was already sent to the supplier.", 409)
    line.status = "withdrawn"
    line.closed_at = utcnow()
    db.session.flush()
    _close_if_empty(line.request)
    return line


def _close_if_empty(req: SupplierRequest) -> None:
    """A draft with no open line left is cancelled, so the next line opens a new one."""
    if req.status == "draft" and not any(line.status == "open" for line in req.lines):
        req.status = "cancelled"
        db.session.flush()


def allocate_receipt(bin_id: int, quantity: int) -> tuple[list[RequestLine], bool]:
    """Book a received quantity onto the bin's open sent line.

    Returns the lines touched and whether the bin now has no open sent line
    left (the cycle's delivery is complete).
    """
    line = db.session.scalar(
        sa.select(RequestLine)
        .join(SupplierRequest)
        .where(
            RequestLine.bin_id == bin_id,
            RequestLine.status == "open",
            SupplierRequest.status == "sent",
        )
        .with_for_update()
    )
    if line is None:
        return [], False
    line.received_quantity += quantity
    if line.received_quantity >= line.quantity:
        line.status = "received"
        line.closed_at = utcnow()
    db.session.flush()
    req = line.request
    if all(lin.status != "open" for lin in req.lines):
        req.status = "received"
        req.received_at = utcnow()
    db.session.flush()
    return [line], line.status == "received"


def open_sent_remaining(bin_id: int) -> int | None:
    """What is still to come on the bin's open sent line, or None if none is sent."""
    line = db.session.scalar(
        sa.select(RequestLine)
        .join(SupplierRequest)
        .where(
            RequestLine.bin_id == bin_id,
            RequestLine.status == "open",
            SupplierRequest.status == "sent",
        )
    )
    if line is None:
        return None
    return max(0, line.quantity - line.received_quantity)


def get_request(request_id: int, *, lock: bool = False) -> SupplierRequest:
    """A request by id, or NotFound."""
    stmt = sa.select(SupplierRequest).where(SupplierRequest.id == request_id)
    if lock:
        stmt = stmt.with_for_update()
    req = db.session.scalar(stmt)
    if req is None:
        raise NotFound("unknown_request", "No supplier request has this id.")
    return req


def list_requests(status: str | None = None) -> list[SupplierRequest]:
    """Requests, newest first, optionally of one status."""
    stmt = sa.select(SupplierRequest).order_by(SupplierRequest.id.desc())
    if status is not None:
        stmt = stmt.where(SupplierRequest.status == status)
    return list(db.session.scalars(stmt))


def request_dict(req: SupplierRequest) -> dict[str, Any]:
    """The JSON form of a request with its lines."""
    return {
        "id": req.id,
        "supplier": {"id": req.supplier_id, "name": req.supplier.name,
                     "email": req.supplier.email},
        "status": req.status,
        "created_at": req.created_at.isoformat(),
        "sent_at": req.sent_at.isoformat() if req.sent_at else None,
        "received_at": req.received_at.isoformat() if req.received_at else None,
        "expected_date": req.expected_date.isoformat() if req.expected_date else None,
        "lines": [
            {
                "id": line.id,
                "bin": line.bin.code,
                "sku": line.item.sku,
                "item": line.item.name,
                "quantity": line.quantity,
                "received_quantity": line.received_quantity,
                "status": line.status,
                "reason": line.reason,
            }
            for line in req.lines
        ],
    }

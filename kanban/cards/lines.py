"""Request lines as the card flow sees them: opening this cycle's line on the
supplier's draft, withdrawing or cancelling it, and booking receipts onto it.

Only :func:`kanban.cards.flow.apply` opens, withdraws or cancels a line; stock
books receipts through :func:`allocate_receipt`. Lock order, shared with scans
and sending so that PostgreSQL never deadlocks: bin rows (in id order) →
supplier row → request row → line rows. SQLite serialises writers with
``begin_write`` instead.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from ..core import direct, notices, signals
from ..core.errors import ServiceError
from ..domain import cards
from ..domain.codes import request_number
from ..domain.statuses import LineStatus, NoticeKind, RequestStatus
from ..extensions import db
from ..models import (
    LINE_IS_OPEN,
    REQUEST_IS_DRAFT,
    Bin,
    RequestLine,
    Supplier,
    SupplierRequest,
    utcnow,
)

#: The longest reason a line keeps.
REASON_MAX = 300
#: How the ledger notes a receipt that took its line past what was ordered: the scan
#: confirmed it (docs/manual/spec.md §2.3), and ``kanban check`` looks for this note.
OVER_RECEIPT = "over-receipt confirmed"


def lock_draft(supplier_id: int) -> SupplierRequest:
    """The supplier's draft request, created if needed, locked for this transaction.

    The supplier row is locked first so that two bins flipping at once agree on
    one draft (the partial unique index is the safety net).
    """
    db.session.execute(sa.select(Supplier.id).where(Supplier.id == supplier_id).with_for_update())
    draft = db.session.scalar(
        sa.select(SupplierRequest)
        .where(
            SupplierRequest.supplier_id == supplier_id,
            REQUEST_IS_DRAFT,
        )
        .with_for_update()
    )
    if draft is None:
        draft = SupplierRequest(
            supplier_id=supplier_id, status=RequestStatus.DRAFT, created_at=utcnow()
        )
        db.session.add(draft)
        db.session.flush()
    return draft


def add_line(bin_id: int, reason: str) -> RequestLine:
    """Open this cycle's line for the bin on its supplier's draft request."""
    b = db.session.get(Bin, bin_id)
    assert b is not None
    item = b.item
    draft = lock_draft(item.supplier_id)
    line = RequestLine(
        request_id=draft.id,
        bin_id=b.id,
        item_id=item.id,
        quantity=cards.line_quantity(b.order_quantity, item.pack_multiple),
        reason=reason[:REASON_MAX],
        status=LineStatus.OPEN,
        created_at=utcnow(),
    )
    db.session.add(line)
    db.session.flush()
    return line


def open_line(bin_id: int) -> RequestLine | None:
    """The bin's open line (there is at most one)."""
    return db.session.scalar(
        sa.select(RequestLine).where(RequestLine.bin_id == bin_id, LINE_IS_OPEN)
    )


_OPEN_LINE_REQUEST = (
    sa.select(RequestLine.request_id, SupplierRequest.status)
    .join(SupplierRequest, SupplierRequest.id == RequestLine.request_id)
    .where(RequestLine.bin_id == sa.bindparam("bin_id"), LINE_IS_OPEN)
)


def open_line_request(bin_id: int) -> tuple[int, str] | None:
    """(request id, request status) of the bin's open line, if it has one (Core on the
    session's connection, cheap: every scan of a card not stocked reads it)."""
    session = db.session()
    if session.new or session.dirty or session.deleted:
        session.flush()  # as the ORM would before a query: pending lines count
    row = direct.one_or_none(_OPEN_LINE_REQUEST, {"bin_id": bin_id})
    return (int(row[0]), str(row[1])) if row is not None else None


def withdraw_line(bin_id: int) -> RequestLine | None:
    """Withdraw the bin's unsent draft line; a draft left empty is cancelled."""
    line = open_line(bin_id)
    if line is None:
        return None
    if line.request.status != RequestStatus.DRAFT:
        raise ServiceError("line_sent", "The line was already sent to the supplier.", 409)
    line.status = LineStatus.WITHDRAWN
    line.closed_at = utcnow()
    db.session.flush()
    close_if_empty(line.request)
    return line


def cancel_line(bin_id: int, note: str) -> RequestLine | None:
    """Take the bin's unsent line off its draft (a supervisor's decision: hold the card).

    The line is cancelled with ``note`` added to its reason; a draft left empty
    is cancelled too.
    """
    line = open_line(bin_id)
    if line is None:
        return None
    line.status = LineStatus.CANCELLED
    line.closed_at = utcnow()
    line.reason = (line.reason + note)[:REASON_MAX]
    db.session.flush()
    close_if_empty(line.request)
    return line


def close_if_empty(req: SupplierRequest) -> None:
    """A draft with no open line left is cancelled, so the next line opens a new one."""
    if req.status == RequestStatus.DRAFT and not any(
        line.status == LineStatus.OPEN for line in req.lines
    ):
        req.status = RequestStatus.CANCELLED
        db.session.flush()


def _open_sent_line(bin_id: int, *, lock: bool = False) -> RequestLine | None:
    stmt = (
        sa.select(RequestLine)
        .join(SupplierRequest)
        .where(
            RequestLine.bin_id == bin_id,
            LINE_IS_OPEN,
            SupplierRequest.status == RequestStatus.SENT,
        )
    )
    return db.session.scalar(stmt.with_for_update() if lock else stmt)


def allocate_receipt(bin_id: int, quantity: int) -> tuple[list[RequestLine], bool]:
    """Book a received quantity onto the bin's open sent line.

    Returns the lines touched and whether the bin now has no open sent line
    left (the cycle's delivery is complete).
    """
    line = _open_sent_line(bin_id, lock=True)
    if line is None:
        return [], False
    line.received_quantity += quantity
    if line.received_quantity >= line.quantity:
        line.status = LineStatus.RECEIVED
        line.closed_at = utcnow()
    db.session.flush()
    req = line.request
    if all(lin.status != LineStatus.OPEN for lin in req.lines):
        req.status = RequestStatus.RECEIVED
        req.received_at = utcnow()
        db.session.flush()
        signals.request_received.send(db.engine, request_id=req.id)
    db.session.flush()
    return [line], line.status == LineStatus.RECEIVED


def over_receipt_note(booked: list[RequestLine]) -> str | None:
    """The ledger note of a receipt that took its line past what was ordered, or None."""
    over = sum(max(0, line.received_quantity - line.quantity) for line in booked)
    return f"{OVER_RECEIPT}: {over} more than ordered" if over else None


def open_sent_remaining(bin_id: int) -> int | None:
    """What is still to come on the bin's open sent line, or None if none is sent."""
    line = _open_sent_line(bin_id)
    if line is None:
        return None
    return max(0, line.quantity - line.received_quantity)


@dataclass(frozen=True)
class OverReceipt:
    """A receipt of more than is still open on the bin's sent line."""

    bin_id: int
    code: str
    unit: str
    request_id: int
    line_id: int
    remaining: int
    quantity: int

    @property
    def excess(self) -> int:
        """How much more than was still open."""
        return self.quantity - self.remaining

    def refusal(self) -> ServiceError:
        """``over_receipt`` (409): what the operator must confirm."""
        return ServiceError(
            "over_receipt",
            f"Only {self.remaining} {self.unit} of bin {self.code} are still open on the order; "
            f"receiving {self.quantity} is {self.excess} more. Confirm to book it anyway.",
            409,
            bin=self.code,
            quantity=self.quantity,
            remaining=self.remaining,
        )


def over_receipt(bin_id: int, quantity: int) -> OverReceipt | None:
    """The over-receipt a receipt of ``quantity`` would be, if it is one.

    Without an open sent line there is nothing to compare with: None.
    """
    line = _open_sent_line(bin_id)
    if line is None or quantity <= line.quantity - line.received_quantity:
        return None
    b = line.bin
    return OverReceipt(
        bin_id=bin_id,
        code=b.code,
        unit=line.item.unit,
        request_id=line.request_id,
        line_id=line.id,
        remaining=max(0, line.quantity - line.received_quantity),
        quantity=quantity,
    )


def record_over_receipt(over: OverReceipt, movement_id: int, who: str) -> None:
    """Tell supervisors about an over-receipt the operator confirmed (same transaction)."""
    notices.add(
        NoticeKind.OVER_RECEIPT,
        f"Bin {over.code}: {over.quantity} {over.unit} received on "
        f"{request_number(over.request_id)}, where {over.remaining} were still open "
        f"({over.excess} more than ordered), confirmed by {who or 'someone unnamed'}.",
        actor=who,
        data={"quantity": over.quantity, "remaining": over.remaining, "line_id": over.line_id},
        bin_id=over.bin_id,
        request_id=over.request_id,
        movement_id=movement_id,
    )

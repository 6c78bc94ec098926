"""Supplier requests (DESIGN §2.3): draft lines, review, receiving, lead times.

Lock order, shared with scans and sending so that PostgreSQL never deadlocks:
bin rows (in id order) → supplier row → request row → line rows. SQLite
serialises writers with ``begin_write`` instead.

Sending lives in ``sending.py``; the documents in ``request_docs.py``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import joinedload, selectinload

from ..domain import cards, leadtime
from ..extensions import db
from ..models import Bin, Item, Movement, RequestLine, Supplier, SupplierRequest, utcnow
from . import NotFound, ServiceError, events
from .request_docs import DocLine, RequestDoc, money
from .tx import begin_write

if TYPE_CHECKING:
    from .stock import Actor, MoveResult

#: A send that claimed a draft and did not finish within this time is taken for
#: dead (its process stopped): the draft can be sent again.
CLAIM_TIMEOUT = dt.timedelta(minutes=5)
#: ``SupplierRequest.sent_via`` of a draft while an email for it is on its way;
#: ``sent_at`` then holds when the send started (the claim).
SENDING = "sending"
MAX_LINE_QUANTITY = 1_000_000
#: Lines that count in a request's totals (withdrawn and removed ones do not).
ACTIVE_LINES = ("open", "received")


def request_number(request_id: int) -> str:
    """The number people and suppliers quote: ``REQ-00042``."""
    return f"REQ-{request_id:05d}"


# ------------------------------------------------------------------ draft lines


def _lock_draft(supplier_id: int) -> SupplierRequest:
    """The supplier's draft request, created if needed, locked for this transaction.

    The supplier row is locked first so that two bins flipping at once agree on
    one draft (the partial unique index is the safety net).
    """
    db.session.execute(sa.select(Supplier.id).where(Supplier.id == supplier_id).with_for_update())
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


def is_sending(req: SupplierRequest, now: dt.datetime | None = None) -> bool:
    """An email for this draft is on its way (claimed less than CLAIM_TIMEOUT ago)."""
    if req.status != "draft" or req.sent_via != SENDING or req.sent_at is None:
        return False
    return (now or utcnow()) - req.sent_at < CLAIM_TIMEOUT


def unfinished_send(req: SupplierRequest, now: dt.datetime | None = None) -> dt.datetime | None:
    """When a send started that never finished (its process died), if one did."""
    claimed = req.status == "draft" and req.sent_via == SENDING and req.sent_at is not None
    return req.sent_at if claimed and not is_sending(req, now) else None


def _lock_draft_line(request_id: int, line_id: int) -> tuple[SupplierRequest, RequestLine]:
    """A draft's open line, locked (bin → request → line) and ready to change."""
    begin_write()
    line = db.session.get(RequestLine, line_id)
    if line is None or line.request_id != request_id:
        raise NotFound("unknown_line", "This request has no such line.")
    db.session.execute(
        sa.select(Bin)
        .where(Bin.id == line.bin_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    req = get_request(request_id, lock=True)
    db.session.refresh(line, with_for_update=True)
    if req.status != "draft":
        raise ServiceError(
            "not_draft",
            f"Request {request_number(req.id)} is {req.status}: only drafts can be changed.",
            409,
        )
    if is_sending(req):
        raise ServiceError(
            "sending_in_progress",
            f"Request {request_number(req.id)} is being emailed right now; try again in a moment.",
            409,
        )
    if line.status != "open":
        raise ServiceError("line_closed", f"This line is {line.status}.", 409)
    return req, line


def update_line_quantity(
    request_id: int, line_id: int, quantity: int, *, actor: str = ""
) -> RequestLine:
    """Change a draft line's quantity (whole packs of the item's pack multiple)."""
    if isinstance(quantity, bool) or not isinstance(quantity, int):
        raise ServiceError("invalid_quantity", "Quantity must be a whole number.")
    if not 1 <= quantity <= MAX_LINE_QUANTITY:
        raise ServiceError(
            "invalid_quantity",
            f"Quantity must be between 1 and {MAX_LINE_QUANTITY}; to "
            "order nothing, remove the line.",
        )
    req, line = _lock_draft_line(request_id, line_id)
    pack = max(1, line.item.pack_multiple)
    if quantity % pack:
        raise ServiceError(
            "not_pack_multiple",
            f"{line.item.sku} is ordered in packs of {pack}: use "
            f"{cards.line_quantity(quantity, pack)} or {max(pack, quantity // pack * pack)}.",
        )
    old = line.quantity
    line.quantity = quantity
    db.session.flush()
    announce(
        req,
        actor=actor,
        change="quantity",
        line=line.id,
        bin=line.bin.code,
        **{"from": old, "to": quantity},
    )
    return line


def remove_line(request_id: int, line_id: int, *, actor: str = "") -> RequestLine:
    """Take a line off a draft: the supervisor decides not to order it now.

    The line is cancelled and the bin's card goes back to ``stocked`` *on hold*
    (card event ``removed``), although it is below its card quantity: the next
    movement that leaves it below (a pull, a count) starts a new cycle with a
    new line. ``kanban check`` accepts a stocked card below its card quantity
    only while the bin's newest line is such a cancelled one. A draft left
    without lines is cancelled.
    """
    from .bins import bin_dict
    from .cardflow import apply_card_event

    req, line = _lock_draft_line(request_id, line_id)
    b = line.bin
    apply_card_event(b, cards.CardEvent.REMOVED, movement_id=None)
    line.status = "cancelled"
    line.closed_at = utcnow()
    note = f" · removed by {actor}" if actor else " · removed"
    line.reason = (line.reason + note)[:300]
    db.session.flush()
    _close_if_empty(req)
    events.append("bin.changed", bin_code=b.code, data=bin_dict(b))
    announce(req, actor=actor, change="removed", line=line.id, bin=b.code)
    return line


# -------------------------------------------------------------------- receiving


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


def check_over_receipt(b: Bin, quantity: int) -> None:
    """Refuse a receipt larger than what is still open, unless the caller confirmed it.

    Raises ``over_receipt`` (409). Without an open sent line there is nothing
    to compare with: the receipt is simply recorded.
    """
    remaining = open_sent_remaining(b.id)
    if remaining is not None and quantity > remaining:
        raise ServiceError(
            "over_receipt",
            f"Only {remaining} {b.item.unit} of bin {b.code} are still open on the order; "
            f"receiving {quantity} is {quantity - remaining} more. Confirm to book it anyway.",
            409,
            remaining=remaining,
        )


def receive_line(
    request_id: int,
    line_id: int,
    quantity: int | None,
    actor: Actor,
    *,
    scan_id: str | None,
    confirm: bool = False,
) -> MoveResult:
    """Receive on a line from the request page: the same stock path as a receive scan.

    Owns its transaction like :func:`kanban.services.stock.record_scan` (it
    calls it): the receipt is a ledger movement with a scan id, so a form sent
    twice books once.
    """
    from . import stock

    sid = stock.check_scan_id(scan_id)
    begin_write()
    seen = db.session.scalar(sa.select(Movement.id).where(Movement.scan_id == sid))
    if seen is None:  # a replay answers with the first result, whatever the line is now
        line = db.session.get(RequestLine, line_id)
        if line is None or line.request_id != request_id:
            raise NotFound("unknown_line", "This request has no such line.")
        if line.request.status != "sent" or line.status != "open":
            raise ServiceError(
                "line_not_open",
                f"Bin {line.bin.code}'s line is {line.status} on a {line.request.status} "
                "request: nothing is expected on it.",
                409,
            )
        code = line.bin.code
    else:
        code = db.session.get(Movement, seen).bin.code  # type: ignore[union-attr]
    return stock.record_scan(code, "receive", quantity, actor, sid, confirm=confirm)


# ---------------------------------------------------------------------- reading


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
            SupplierRequest.status == "sent", SupplierRequest.expected_date < overdue_on
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
                SupplierRequest.status == "sent", SupplierRequest.expected_date < today
            )
        )
        or 0
    )


@dataclass(frozen=True)
class Totals:
    """What a request adds up to over its active lines."""

    lines: int
    quantity: int
    value: Decimal | None
    value_complete: bool


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
    lines: Iterable[RequestLine] | None = None,
    issued: dt.date | None = None,
    expected: dt.date | None = None,
) -> RequestDoc:
    """The request as a document: by default its open lines while a draft (what would
    be sent), the lines that were sent once it is sent."""
    if lines is None:
        wanted = ("open",) if req.status == "draft" else ACTIVE_LINES
        lines = [line for line in req.lines if line.status in wanted]
    if issued is None:
        issued = (req.sent_at if req.status != "draft" and req.sent_at else utcnow()).date()
    if expected is None:
        expected = (
            req.expected_date
            if req.status != "draft"
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
    )


def request_dict(req: SupplierRequest, today: dt.date | None = None) -> dict[str, Any]:
    """The JSON form of a request with its lines."""
    today = today or utcnow().date()
    draft = req.status == "draft"
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
        "send_error": req.send_error,
        "received_at": req.received_at.isoformat() if req.received_at else None,
        "expected_date": req.expected_date.isoformat() if req.expected_date else None,
        "overdue": leadtime.is_overdue(req.status, req.expected_date, today),
        "total_quantity": tot.quantity,
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


# -------------------------------------------------------------------- suppliers


def list_suppliers() -> list[Supplier]:
    """All suppliers by name."""
    return list(db.session.scalars(sa.select(Supplier).order_by(Supplier.name)))


def get_supplier(supplier_id: int) -> Supplier:
    """A supplier by id, or NotFound."""
    sup = db.session.get(Supplier, supplier_id)
    if sup is None:
        raise NotFound("unknown_supplier", "No supplier has this id.")
    return sup


def set_auto_send(supplier_id: int, on: bool, *, actor: str = "") -> Supplier:
    """Switch "send automatically" for a supplier."""
    begin_write()
    sup = get_supplier(supplier_id)
    sup.auto_send = bool(on)
    db.session.flush()
    return sup


@dataclass(frozen=True)
class MeasuredLine:
    """One sent line with its measured lead time, for the supplier page."""

    line: RequestLine
    request: SupplierRequest
    times: leadtime.LineLeadTime


def measured_lines(
    supplier_ids: Iterable[int] | None = None, limit: int | None = None
) -> list[MeasuredLine]:
    """Lines sent to the suppliers (all when None), newest first, with their lead times."""
    stmt = (
        sa.select(RequestLine, SupplierRequest)
        .join(SupplierRequest, RequestLine.request_id == SupplierRequest.id)
        .where(
            SupplierRequest.status.in_(("sent", "received")), RequestLine.status.in_(ACTIVE_LINES)
        )
        .options(joinedload(RequestLine.bin), joinedload(RequestLine.item))
        .order_by(RequestLine.id.desc())
    )
    if supplier_ids is not None:
        stmt = stmt.where(SupplierRequest.supplier_id.in_(list(supplier_ids)))
    if limit is not None:
        stmt = stmt.limit(limit)
    out = []
    for line, req in db.session.execute(stmt).unique():
        received = line.closed_at if line.status == "received" else None
        out.append(
            MeasuredLine(line, req, leadtime.line_lead_time(line.created_at, req.sent_at, received))
        )
    return out


def supplier_lead_times() -> dict[int, leadtime.SupplierLeadTime]:
    """Every supplier's measured lead times (suppliers without sent lines are absent)."""
    per: dict[int, list[leadtime.LineLeadTime]] = {}
    for m in measured_lines():
        per.setdefault(m.request.supplier_id, []).append(m.times)
    return {sid: leadtime.supplier_lead_time(times) for sid, times in per.items()}


def supplier_items(supplier_id: int) -> list[Item]:
    """The supplier's items, by SKU."""
    return list(
        db.session.scalars(
            sa.select(Item).where(Item.supplier_id == supplier_id).order_by(Item.sku)
        )
    )


def announce(req: SupplierRequest, **details: Any) -> None:
    """Append the ``request.changed`` event of a request (its status, supplier, details)."""
    events.append(
        "request.changed",
        request_id=req.id,
        data={"status": req.status, "supplier": req.supplier.name, **details},
    )

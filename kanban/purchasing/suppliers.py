"""Suppliers: finding them, their items, "send automatically", and measured lead times
(docs/manual/spec.md §2.3: signal → sent → received, per line and per supplier)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from ..core import audit
from ..core.actor import Actor, as_actor
from ..core.errors import NotFound
from ..core.tx import begin_write
from ..domain import leadtime
from ..domain.statuses import ACTIVE_LINES, AuditAction, AuditObject, LineStatus, RequestStatus
from ..extensions import db
from ..models import Item, RequestLine, Supplier, SupplierRequest


def list_suppliers() -> list[Supplier]:
    """All suppliers by name."""
    return list(db.session.scalars(sa.select(Supplier).order_by(Supplier.name)))


def get_supplier(supplier_id: int) -> Supplier:
    """A supplier by id, or NotFound."""
    sup = db.session.get(Supplier, supplier_id)
    if sup is None:
        raise NotFound("unknown_supplier", "No supplier has this id.")
    return sup


def set_auto_send(supplier_id: int, on: bool, *, actor: Actor | str = "") -> Supplier:
    """Switch "send automatically" for a supplier (audited; a new record version)."""
    begin_write()
    sup = get_supplier(supplier_id)
    db.session.refresh(sup, with_for_update=True)
    if sup.auto_send != bool(on):
        sup.auto_send = bool(on)
        sup.record_version += 1
        audit.record(
            AuditObject.SUPPLIER,
            AuditAction.EDITED,
            actor=as_actor(actor),
            object_id=sup.id,
            label=sup.name,
            before={"auto_send": not on},
            after={"auto_send": bool(on)},
        )
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
            SupplierRequest.status.in_((RequestStatus.SENT, RequestStatus.RECEIVED)),
            RequestLine.status.in_(ACTIVE_LINES),
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
        received = line.closed_at if line.status == LineStatus.RECEIVED else None
        out.append(
            MeasuredLine(line, req, leadtime.line_lead_time(line.created_at, req.sent_at, received))
        )
    return out


def recent_lead_times(per_supplier: int) -> dict[int, list[leadtime.LineLeadTime]]:
    """The lead times of each supplier's newest ``per_supplier`` sent lines, newest first
    (the same lines as :func:`measured_lines` with a limit, for every supplier at once).

    One query that returns only those lines' times: what the card-sizes overview needs,
    at a cost that does not grow with the years of lines behind them."""
    newest_first = RequestLine.id.desc()
    rank = sa.func.row_number().over(
        partition_by=SupplierRequest.supplier_id, order_by=newest_first
    )
    ranked = (
        sa.select(
            SupplierRequest.supplier_id,
            RequestLine.id,
            RequestLine.status,
            RequestLine.created_at,
            SupplierRequest.sent_at,
            RequestLine.closed_at,
            rank.label("rank"),
        )
        .join(SupplierRequest, RequestLine.request_id == SupplierRequest.id)
        .where(
            SupplierRequest.status.in_((RequestStatus.SENT, RequestStatus.RECEIVED)),
            RequestLine.status.in_(ACTIVE_LINES),
        )
        .subquery()
    )
    rows = db.session.execute(
        sa.select(ranked)
        .where(ranked.c.rank <= per_supplier)
        .order_by(ranked.c.supplier_id, ranked.c.id.desc())
    )
    out: dict[int, list[leadtime.LineLeadTime]] = {}
    for supplier_id, _id, status, created, sent, closed, _rank in rows:
        received = closed if status == LineStatus.RECEIVED else None
        out.setdefault(supplier_id, []).append(leadtime.line_lead_time(created, sent, received))
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

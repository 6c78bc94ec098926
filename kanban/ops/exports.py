"""Exports for spreadsheets and accountants: the stock ledger (every movement, with who,
where and from which source) and the supplier requests with their lines, over a range of
days, read page by page so that a year of a big site streams. The cells are made
formula-safe by the writer (:mod:`kanban.core.csvsafe`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from ..core.errors import ServiceError
from ..extensions import db
from ..models import Bin, Item, Movement, RequestLine, Supplier, SupplierRequest, User, Zone
from ..purchasing.documents import unit_cost_text
from ..purchasing.requests import request_number

#: The days an export covers when none are asked for: the last 30, today included.
DEFAULT_DAYS = 30
PAGE = 2000
LEDGER_COLUMNS = (
    "movement",
    "time",
    "bin",
    "sku",
    "item",
    "zone",
    "kind",
    "quantity",
    "on_hand_after",
    "card_after",
    "flipped",
    "who",
    "user",
    "station",
    "source",
    "scan_id",
    "undo_of",
    "request",
    "note",
)
REQUEST_COLUMNS = (
    "request",
    "supplier",
    "status",
    "created_at",
    "sent_at",
    "sent_via",
    "expected_date",
    "received_at",
    "line",
    "bin",
    "sku",
    "supplier_part_number",
    "item",
    "quantity",
    "received_quantity",
    "unit",
    "unit_cost",
    "line_status",
    "reason",
)


def _day(raw: str, name: str) -> dt.date | None:
    raw = raw.strip()
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise ServiceError(f"invalid_{name}", f"{name} must be a date: YYYY-MM-DD.") from None


@dataclass(frozen=True)
class Days:
    """A range of whole days, UTC, both ends included."""

    first: dt.date
    last: dt.date

    @classmethod
    def from_args(cls, args: Mapping[str, str], today: dt.date | None = None) -> Days:
        """``from`` and ``to`` of a query string (the last 30 days when left out)."""
        today = today or dt.datetime.now(dt.UTC).date()
        last = _day(args.get("to", ""), "to") or today
        first = _day(args.get("from", ""), "from") or last - dt.timedelta(days=DEFAULT_DAYS - 1)
        if first > last:
            raise ServiceError("invalid_to", "to must not be before from.")
        return cls(first, last)

    @property
    def start(self) -> dt.datetime:
        return dt.datetime.combine(self.first, dt.time(0), tzinfo=dt.UTC)

    @property
    def end(self) -> dt.datetime:
        """The first moment after the range."""
        return dt.datetime.combine(self.last + dt.timedelta(days=1), dt.time(0), tzinfo=dt.UTC)

    def filename(self, what: str) -> str:
        return f"kanban-{what}-{self.first.isoformat()}-to-{self.last.isoformat()}.csv"


def _iso(value: dt.datetime | dt.date | None) -> str:
    return "" if value is None else value.isoformat()


def ledger_page(days: Days, after: int, size: int = PAGE) -> tuple[list[list[Any]], int | None]:
    """The movements of the days with an id above ``after``, oldest first, as rows of
    :data:`LEDGER_COLUMNS`, and the id to continue after (None at the end)."""
    stmt = (
        sa.select(Movement, Bin.code, Item.sku, Item.name, Zone.name, User.username)
        .join(Bin, Bin.id == Movement.bin_id)
        .join(Item, Item.id == Bin.item_id)
        .join(Zone, Zone.id == Bin.zone_id)
        .outerjoin(User, User.id == Movement.user_id)
        .where(
            Movement.created_at >= days.start,
            Movement.created_at < days.end,
            Movement.id > after,
        )
        .order_by(Movement.id)
        .limit(size)
    )
    found = db.session.execute(stmt).all()
    rows = [
        [
            m.id,
            _iso(m.created_at),
            code,
            sku,
            item,
            zone,
            m.kind,
            m.quantity,
            m.on_hand_after,
            m.state_after,
            int(m.flipped),
            m.actor,
            username or "",
            m.station or "",
            m.source,
            m.scan_id or "",
            m.undo_of_id or "",
            request_number(m.request_id) if m.request_id else "",
            m.note or "",
        ]
        for m, code, sku, item, zone, username in found
    ]
    return rows, (found[-1][0].id if len(found) == size else None)


def requests_page(days: Days, after: int, size: int = PAGE) -> tuple[list[list[Any]], int | None]:
    """The lines of the supplier requests created in the days, with their request, line
    id above ``after``, by line, as rows of :data:`REQUEST_COLUMNS`, and the line id to
    continue after (None at the end)."""
    line_item = aliased(Item)
    stmt = (
        sa.select(RequestLine, SupplierRequest, Supplier.name, Bin.code, line_item)
        .join(SupplierRequest, SupplierRequest.id == RequestLine.request_id)
        .join(Supplier, Supplier.id == SupplierRequest.supplier_id)
        .join(Bin, Bin.id == RequestLine.bin_id)
        .join(line_item, line_item.id == RequestLine.item_id)
        .where(
            SupplierRequest.created_at >= days.start,
            SupplierRequest.created_at < days.end,
            RequestLine.id > after,
        )
        .order_by(RequestLine.id)
        .limit(size)
    )
    found = db.session.execute(stmt).all()
    rows = [
        [
            request_number(req.id),
            supplier,
            req.status,
            _iso(req.created_at),
            _iso(req.sent_at),
            req.sent_via or "",
            _iso(req.expected_date),
            _iso(req.received_at),
            line.id,
            code,
            item.sku,
            item.supplier_part_number or "",
            item.name,
            line.quantity,
            line.received_quantity,
            item.unit,
            unit_cost_text(item.unit_cost),
            line.status,
            line.reason,
        ]
        for line, req, supplier, code, item in found
    ]
    return rows, (found[-1][0].id if len(found) == size else None)

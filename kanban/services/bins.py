"""Reading bins: lookup by scanned code and their JSON form."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from ..domain import cards
from ..domain.codes import normalise_bin_code
from ..extensions import db
from ..models import Bin, Item, Movement, RequestLine, SupplierRequest
from . import NotFound, ServiceError


def get_bin(code: str) -> Bin:
    """The bin with this code, or NotFound."""
    found = db.session.scalar(sa.select(Bin).where(Bin.code == normalise_bin_code(code)))
    if found is None:
        raise NotFound("unknown_bin", "No bin has this code.")
    return found


def resolve_scan(text: str) -> Bin:
    """Resolve scanned text to a bin (DESIGN §3.1): bin code, then barcode or SKU."""
    code = normalise_bin_code(text)
    found = db.session.scalar(sa.select(Bin).where(Bin.code == code, Bin.active.is_(True)))
    if found is not None:
        return found
    candidates = [text]
    digits = text.strip()
    if digits.isdigit() and len(digits) == 12:
        candidates.append("0" + digits)  # UPC-A and its EAN-13 form are one product
    if digits.isdigit() and len(digits) == 13 and digits.startswith("0"):
        candidates.append(digits[1:])
    stmt = (
        sa.select(Bin)
        .join(Item)
        .where(
            Bin.active.is_(True),
            sa.or_(Item.manufacturer_barcode.in_(candidates), Item.sku == text),
        )
        .limit(3)
    )
    bins = list(db.session.scalars(stmt))
    if len(bins) == 1:
        return bins[0]
    if len(bins) > 1:
        raise ServiceError(
            "ambiguous_code",
            "This product is stocked in several bins: scan the bin label instead.",
            status=409,
        )
    raise NotFound("unknown_code", "Unknown code: no bin, product barcode or SKU matches it.")


def overdue_bin_ids(bin_ids: list[int] | None = None, today: dt.date | None = None) -> set[int]:
    """Bins with an open line on a sent request whose expected date has passed."""
    today = today or dt.datetime.now(dt.UTC).date()
    stmt = (
        sa.select(RequestLine.bin_id)
        .join(SupplierRequest)
        .where(
            RequestLine.status == "open",
            SupplierRequest.status == "sent",
            SupplierRequest.expected_date < today,
        )
    )
    if bin_ids is not None:
        stmt = stmt.where(RequestLine.bin_id.in_(bin_ids))
    return set(db.session.scalars(stmt))


def reason_line(b: Bin, movement: Movement | None) -> str:
    """Why the card is in its state: "3 on hand < card 5 · since 10:42 · pulled by ana"."""
    cmp = "<" if b.on_hand < b.card_quantity else "≥"
    parts = [f"{b.on_hand} on hand {cmp} card {b.card_quantity}"]
    parts.append(f"since {b.state_since.strftime('%Y-%m-%d %H:%M')} UTC")
    if movement is not None:
        verb = {"pull": "pulled", "receipt": "received", "count": "counted",
                "undo": "undone", "initial": "set up"}.get(movement.kind, movement.kind)
        who = f"{verb} by {movement.actor}" if movement.actor else verb
        if movement.station:
            who += f" at {movement.station}"
        parts.append(who)
    return " · ".join(parts)


def bin_dict(b: Bin, *, overdue: bool = False) -> dict[str, Any]:
    """The JSON form of a bin, as the API and the event feed give it."""
    fl = cards.flags(b.on_hand, b.state, overdue)
    return {
        "code": b.code,
        "item": {"sku": b.item.sku, "name": b.item.name, "unit": b.item.unit},
        "zone": b.zone.name,
        "supplier": b.item.supplier.name,
        "on_hand": b.on_hand,
        "card_quantity": b.card_quantity,
        "order_quantity": b.order_quantity,
        "pull_quantity": b.pull_quantity,
        "state": b.state,
        "state_since": b.state_since.isoformat(),
        "reason": reason_line(b, b.state_movement),
        "flags": {"stockout": fl.stockout, "overdue": fl.overdue,
                  "count_needed": fl.count_needed},
        "active": b.active,
    }


def list_bins() -> list[Bin]:
    """All bins with what their JSON form needs, loaded in a fixed number of queries."""
    stmt = (
        sa.select(Bin)
        .options(
            joinedload(Bin.item).joinedload(Item.supplier),
            joinedload(Bin.zone),
            joinedload(Bin.state_movement),
        )
        .order_by(Bin.code)
    )
    return list(db.session.scalars(stmt).unique())


def recent_movements(bin_id: int, limit: int = 50) -> list[Movement]:
    """The bin's newest ledger rows."""
    stmt = (sa.select(Movement).where(Movement.bin_id == bin_id)
            .order_by(Movement.id.desc()).limit(limit))
    return list(db.session.scalars(stmt))

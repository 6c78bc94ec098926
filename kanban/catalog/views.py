"""Reading bins: lookup by scanned code, the card view and their JSON form."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.attributes import set_committed_value

from ..core import direct
from ..core.errors import NotFound, ServiceError
from ..domain import cards, clock
from ..domain.codes import normalise_bin_code
from ..domain.statuses import VERBS, RequestStatus
from ..extensions import db
from ..models import LINE_IS_OPEN, Bin, Item, Movement, RequestLine, Supplier, SupplierRequest, Zone


def get_bin(code: str) -> Bin:
    """The bin with this code, or NotFound."""
    # No code holds NUL (PostgreSQL cannot store it in text, and asking would fail).
    found = None
    if "\x00" not in code:
        found = db.session.scalar(sa.select(Bin).where(Bin.code == normalise_bin_code(code)))
    if found is None:
        raise NotFound("unknown_bin", "No bin has this code.")
    return found


def _with_card_data(stmt: sa.Select[Any]) -> sa.Select[Any]:
    """Load what :func:`bin_dict` needs in the same query."""
    return stmt.options(
        joinedload(Bin.item).joinedload(Item.supplier),
        joinedload(Bin.zone),
        joinedload(Bin.state_movement),
    )


def resolve_scan(text: str) -> Bin:
    """Resolve scanned text to a bin (docs/manual/spec.md §3.1): bin code, then barcode or SKU."""
    code = normalise_bin_code(text)
    found = db.session.scalar(
        _with_card_data(sa.select(Bin).where(Bin.code == code, Bin.active.is_(True)))
    )
    if found is not None:
        return found
    candidates = [text]
    digits = text.strip()
    if digits.isdigit() and len(digits) == 12:
        candidates.append("0" + digits)  # UPC-A and its EAN-13 form are one product
    if digits.isdigit() and len(digits) == 13 and digits.startswith("0"):
        candidates.append(digits[1:])
    stmt = _with_card_data(
        sa.select(Bin)
        .join(Item)
        .where(
            Bin.active.is_(True),
            sa.or_(Item.manufacturer_barcode.in_(candidates), Item.sku == text),
        )
        .limit(3)
    )
    bins = list(db.session.scalars(stmt).unique())
    if len(bins) == 1:
        return bins[0]
    if len(bins) > 1:
        raise ServiceError(
            "ambiguous_code",
            "This product is stocked in several bins: scan the bin label instead.",
            status=409,
        )
    if db.session.scalar(sa.select(Bin.id).where(Bin.code == code)) is not None:
        raise ServiceError(
            "inactive_bin", f"Bin {code} is retired: its label no longer scans.", 409
        )
    raise NotFound("unknown_code", "Unknown code: no bin, product barcode or SKU matches it.")


def overdue_bin_ids(bin_ids: list[int] | None = None, today: dt.date | None = None) -> set[int]:
    """Bins with an open line on a sent request whose expected date has passed."""
    today = today or dt.datetime.now(dt.UTC).date()
    stmt = (
        sa.select(RequestLine.bin_id)
        .join(SupplierRequest)
        .where(
            LINE_IS_OPEN,
            SupplierRequest.status == RequestStatus.SENT,
            SupplierRequest.expected_date < today,
        )
    )
    if bin_ids is not None:
        stmt = stmt.where(RequestLine.bin_id.in_(bin_ids))
    return set(db.session.scalars(stmt))


@dataclass
class CardView:
    """Everything a card shows, as plain values (read in one Core query).

    The scan path works on this rather than on ORM objects: it is several
    times cheaper, and the scan path is the hottest code in the product.
    """

    id: int
    code: str
    sku: str
    item_name: str
    unit: str
    zone: str
    supplier: str
    on_hand: int
    card_quantity: int
    order_quantity: int
    pull_quantity: int
    state: str
    state_since: dt.datetime
    active: bool
    state_movement_id: int | None
    why_kind: str | None
    why_actor: str | None
    why_station: str | None
    #: of the bin's master data (docs/manual/decisions.md, "Editing master data")
    record_version: int

    @classmethod
    def of(cls, b: Bin) -> CardView:
        """The view of a loaded ORM bin."""
        m = b.state_movement
        return cls(
            b.id,
            b.code,
            b.item.sku,
            b.item.name,
            b.item.unit,
            b.zone.name,
            b.item.supplier.name,
            b.on_hand,
            b.card_quantity,
            b.order_quantity,
            b.pull_quantity,
            b.state,
            b.state_since,
            b.active,
            b.state_movement_id,
            m.kind if m else None,
            m.actor if m else None,
            m.station if m else None,
            b.record_version,
        )


def _card_query(why: tuple[Any, Any, Any]) -> sa.Select[*tuple[Any, ...]]:
    """The card's columns, with the kind, actor and station of the movement behind its
    state taken from ``why``."""
    kind, actor, station = why
    return (
        sa.select(
            Bin.id,
            Bin.code,
            Item.sku,
            Item.name.label("item_name"),
            Item.unit,
            Zone.name.label("zone"),
            Supplier.name.label("supplier"),
            Bin.on_hand,
            Bin.card_quantity,
            Bin.order_quantity,
            Bin.pull_quantity,
            Bin.state,
            Bin.state_since,
            Bin.active,
            Bin.state_movement_id,
            kind.label("why_kind"),
            actor.label("why_actor"),
            station.label("why_station"),
            Bin.record_version,
        )
        .select_from(Bin)
        .join(Item, Item.id == Bin.item_id)
        .join(Supplier, Supplier.id == Item.supplier_id)
        .join(Zone, Zone.id == Bin.zone_id)
    )


def _why_of(column: Any) -> Any:
    return sa.select(column).where(Movement.id == Bin.state_movement_id).scalar_subquery()


_why = sa.orm.aliased(Movement)
#: One card (or a few): the movement behind its state joined in.
CARD_QUERY = _card_query((_why.kind, _why.actor, _why.station)).outerjoin(
    _why, _why.id == Bin.state_movement_id
)
#: Every card at once (the board, the wall, ``GET /api/bins``): the movement behind each
#: state is looked up by its id, bin by bin. Joined, PostgreSQL would hash the whole
#: ledger (millions of rows at a big site) to find a few thousand of them.
CARDS_QUERY = _card_query(
    (_why_of(Movement.kind), _why_of(Movement.actor), _why_of(Movement.station))
)


_CARD_BY_ID = CARD_QUERY.where(Bin.id == sa.bindparam("bin_id"))
#: The card of an active bin by code, and the movement an earlier scan with the
#: same scan id made (if any): the scan path's one read.
_SCAN_CARD = CARD_QUERY.add_columns(
    sa.select(Movement.id)
    .where(Movement.scan_id == sa.bindparam("scan_id"))
    .scalar_subquery()
    .label("replay_id")
).where(Bin.code == sa.bindparam("code"), Bin.active.is_(True))
_CARD_FIELDS = len(CARD_QUERY.selected_columns)


def card_view(bin_id: int) -> CardView:
    """The card of one bin, by id."""
    return CardView(*direct.one(_CARD_BY_ID, {"bin_id": bin_id}))


def resolve_card(text: str) -> CardView:
    """Like :func:`resolve_scan`, as a :class:`CardView` (one query in the common case)."""
    found = scan_card(text, "")
    return found[0] if found is not None else card_view(resolve_scan(text).id)


def scan_card(text: str, scan_id: str) -> tuple[CardView, int | None] | None:
    """The active bin whose code is ``text``, and the movement id if ``scan_id``
    was seen before; None when the text is not a bin code (a barcode, a SKU or
    unknown: see :func:`resolve_scan`). The scan path's one read."""
    params = {"code": normalise_bin_code(text), "scan_id": scan_id}
    row = direct.one_or_none(_SCAN_CARD, params)
    if row is None:
        return None
    return CardView(*row[:_CARD_FIELDS]), row[_CARD_FIELDS]


def sync_loaded_bin(v: CardView) -> None:
    """Keep an ORM copy of the bin in this session (if any) in step with the row,
    after Core statements changed it (the scan path works on :class:`CardView`)."""
    if not db.session.identity_map:
        return
    b = db.session.identity_map.get(sa.inspect(Bin).identity_key_from_primary_key((v.id,)))
    if b is not None:
        for name in ("on_hand", "card_quantity", "state", "state_since", "state_movement_id"):
            set_committed_value(b, name, getattr(v, name))


def reason_text(v: CardView) -> str:
    """Why the card is in its state: "3 on hand < card 5 · since 2026-03-02 10:42 UTC ·
    pulled by ana". In UTC, as the API gives it; a card shows the moment on the site's
    clock (kanban/web/clock.py card_reason)."""
    cmp = "<" if v.on_hand < v.card_quantity else "≥"
    parts = [
        f"{v.on_hand} on hand {cmp} card {v.card_quantity}",
        f"since {clock.local_text(v.state_since, dt.UTC)}",
    ]
    if v.why_kind is not None:
        verb = VERBS.get(v.why_kind, v.why_kind)
        who = f"{verb} by {v.why_actor}" if v.why_actor else verb
        if v.why_station:
            who += f" at {v.why_station}"
        parts.append(who)
    return " · ".join(parts)


def card_dict(v: CardView, *, overdue: bool = False) -> dict[str, Any]:
    """The JSON form of a bin, as the API, the board and the event feed give it."""
    fl = cards.flags(v.on_hand, v.state, overdue)
    return {
        "code": v.code,
        "item": {"sku": v.sku, "name": v.item_name, "unit": v.unit},
        "zone": v.zone,
        "supplier": v.supplier,
        "on_hand": v.on_hand,
        "card_quantity": v.card_quantity,
        "order_quantity": v.order_quantity,
        "pull_quantity": v.pull_quantity,
        "state": v.state,
        "state_since": v.state_since.isoformat(),
        "reason": reason_text(v),
        "flags": {"stockout": fl.stockout, "overdue": fl.overdue, "count_needed": fl.count_needed},
        "active": v.active,
        "version": v.record_version,
    }


def reason_line(b: Bin, movement: Movement | None) -> str:
    """The reason line of an ORM bin (see :func:`reason_text`)."""
    return reason_text(CardView.of(b))


def bin_dict(b: Bin, *, overdue: bool = False) -> dict[str, Any]:
    """The JSON form of a loaded ORM bin."""
    return card_dict(CardView.of(b), overdue=overdue)


def list_cards() -> list[CardView]:
    """Every bin (active or not) as a card, by code, in one Core query (as the board)."""
    rows = db.session.execute(CARDS_QUERY.order_by(Bin.code))
    return [CardView(**row._asdict()) for row in rows]


def retired_bins() -> list[Bin]:
    """The bins taken off the board, by code, with their item and zone."""
    stmt = (
        sa.select(Bin)
        .where(Bin.active.is_(False))
        .options(joinedload(Bin.item), joinedload(Bin.zone))
        .order_by(Bin.code)
    )
    return list(db.session.scalars(stmt))


def recent_movements(bin_id: int, limit: int = 50) -> list[Movement]:
    """The bin's newest ledger rows."""
    stmt = (
        sa.select(Movement)
        .where(Movement.bin_id == bin_id)
        .order_by(Movement.id.desc())
        .limit(limit)
    )
    return list(db.session.scalars(stmt))

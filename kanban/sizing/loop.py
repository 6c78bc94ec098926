"""Sizing the loop (docs/manual/spec.md §2.4): a bin's recommended card quantity, and applying it.

The maths is in :mod:`kanban.domain.sizing`; this module reads its inputs from the ledger
(pulls net of undone pulls) and from the supplier's measured lead times
(:func:`kanban.purchasing.suppliers.measured_lines`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from ..cards import flow
from ..catalog.views import card_view, get_bin
from ..core.actor import Actor, as_actor
from ..core.errors import ServiceError
from ..core.tx import begin_write
from ..domain import cards, leadtime, sizing
from ..domain.statuses import AuditObject, ChangeCause, LineStatus, MovementKind
from ..extensions import db
from ..masterdata import records
from ..models import Bin, Item, Movement, Supplier, Zone
from ..purchasing import suppliers
from ..stock.scanning import MAX_QUANTITY

#: Fully received deliveries of the supplier looked at, newest first.
DELIVERIES_LOOKED_AT = 50


@dataclass(frozen=True)
class Recommendation:
    """What the bin page shows: the inputs, the result, or why there is none."""

    code: str
    unit: str
    supplier: str
    current: int
    demand: sizing.Demand  # over the window, or the bin's life if that is shorter
    lead_time_days: float
    lead_source: str  # "measured" (median of ``deliveries``) or "configured"
    deliveries: int
    safety_factor: float
    recommended: int | None
    why_none: str = ""

    @property
    def advice(self) -> str:
        if self.recommended is None:
            return "none"
        return sizing.advice(self.current, self.recommended)


def _pulled(bin_id: int, since: dt.datetime) -> list[tuple[dt.date, int]]:
    """(day, quantity) pulled from the bin since ``since``; an undone pull counts back on
    the day of the pull it undoes."""
    pulls = sa.select(Movement.created_at, Movement.quantity).where(
        Movement.bin_id == bin_id, Movement.kind == MovementKind.PULL, Movement.created_at >= since
    )
    original = aliased(Movement)
    undone = (
        sa.select(original.created_at, Movement.quantity)
        .join(original, original.id == Movement.undo_of_id)
        .where(
            Movement.bin_id == bin_id,
            Movement.kind == MovementKind.UNDO,
            original.kind == MovementKind.PULL,
            original.created_at >= since,
        )
    )
    rows = [*db.session.execute(pulls), *db.session.execute(undone)]
    # Pulls are negative in the ledger and their undos positive: demand is the opposite.
    return [(at.date(), -quantity) for at, quantity in rows]


def _lead(times: Iterable[leadtime.LineLeadTime], configured_days: int) -> tuple[float, str, int]:
    measured = leadtime.spread(t.total for t in times)
    if measured is not None and measured.count >= sizing.MIN_MEASURED_DELIVERIES:
        return measured.median, "measured", measured.count
    return float(configured_days), "configured", measured.count if measured else 0


def lead_time(supplier_id: int, configured_days: int) -> tuple[float, str, int]:
    """(days, source, deliveries): the median measured replenishment time (signal →
    received) over the supplier's recent deliveries, or its configured lead time while
    fewer than ``MIN_MEASURED_DELIVERIES`` were measured."""
    lines = suppliers.measured_lines([supplier_id], limit=DELIVERIES_LOOKED_AT)
    return _lead((m.times for m in lines), configured_days)


def recommendation(
    code: str, *, window_days: int, safety_factor: float, today: dt.date | None = None
) -> Recommendation:
    """The card quantity the bin's last ``window_days`` days recommend."""
    b = get_bin(code)
    started = db.session.scalar(
        sa.select(sa.func.min(Movement.created_at)).where(Movement.bin_id == b.id)
    )
    first, last = sizing.window(
        today or dt.datetime.now(dt.UTC).date(),
        window_days,
        started.date() if started is not None else None,
    )
    since = dt.datetime.combine(first, dt.time(0), tzinfo=dt.UTC)
    demand = sizing.daily_demand(_pulled(b.id, since), first, last)
    supplier = b.item.supplier
    days, source, deliveries = lead_time(supplier.id, supplier.lead_time_days)
    recommended, why_none = sizing.decide(len(demand.days), demand.total, days, safety_factor)
    if recommended is not None:
        recommended = sizing.fit_to_bin(recommended, b.pull_quantity, b.item.pack_multiple)
    return Recommendation(
        code=b.code,
        unit=b.item.unit,
        supplier=supplier.name,
        current=b.card_quantity,
        demand=demand,
        lead_time_days=days,
        lead_source=source,
        deliveries=deliveries,
        safety_factor=safety_factor,
        recommended=recommended,
        why_none=why_none,
    )


def set_card_quantity(code: str, quantity: int, actor: Actor | str) -> tuple[int, Bin]:
    """Set a bin's card quantity and re-check its card (it may flip, and open a request
    line, or flip back; a retired bin's card is checked when it is brought back). Returns
    the old quantity and the bin. The audit trail records the change."""
    who = as_actor(actor)
    if not 0 <= quantity <= MAX_QUANTITY:
        raise ServiceError(
            "invalid_quantity",
            f"The card quantity must be a whole number from 0 to {MAX_QUANTITY}.",
        )
    begin_write()
    b = get_bin(code)
    db.session.refresh(b, with_for_update=True)  # the row as it is now, locked
    old = b.card_quantity
    if old == quantity:
        return old, b
    b.card_quantity = quantity
    records.changed(
        AuditObject.BIN, b, b.code, who, {"card_quantity": old}, {"card_quantity": quantity}
    )
    db.session.flush()
    v = card_view(b.id)
    cause = flow.Cause(
        ChangeCause.CARD_QUANTITY,
        who.name,
        detail={
            "card_quantity": [old, quantity],
            "reason": f"card quantity {old} → {quantity} by {who.name}",
        },
    )
    flow.apply(v, cards.level_event(v.on_hand, v.card_quantity) if v.active else None, cause)
    db.session.refresh(b)
    return old, b


@dataclass(frozen=True)
class OverviewRow:
    """One active bin in the card-size overview."""

    code: str
    item: str
    zone: str
    supplier: str
    unit: str
    current: int
    per_day: float
    lead_time_days: float
    lead_source: str
    recommended: int | None

    @property
    def advice(self) -> str:
        if self.recommended is None:
            return "none"
        return sizing.advice(self.current, self.recommended)

    @property
    def change(self) -> int:
        return 0 if self.recommended is None else self.recommended - self.current

    @property
    def to_change(self) -> bool:
        return self.advice in ("raise", "lower")


# long: a fixed number of queries for every bin, then one pass that combines them
def overview(
    *, window_days: int, safety_factor: float, today: dt.date | None = None
) -> list[OverviewRow]:
    """Every active bin's recommendation in a fixed number of queries (the same rule as
    :func:`recommendation`: net pulls over the window or the bin's life, whichever is
    shorter; the supplier's measured or configured lead time)."""
    today = today or dt.datetime.now(dt.UTC).date()
    first, _ = sizing.window(today, window_days, None)
    since = dt.datetime.combine(first, dt.time(0), tzinfo=dt.UTC)
    bins = db.session.execute(
        sa.select(
            Bin.id,
            Bin.code,
            Bin.card_quantity,
            Item.name,
            Item.unit,
            Zone.name,
            Supplier.id,
            Supplier.name,
            Supplier.lead_time_days,
            Bin.pull_quantity,
            Item.pack_multiple,
        )
        .join(Item, Item.id == Bin.item_id)
        .join(Zone, Zone.id == Bin.zone_id)
        .join(Supplier, Supplier.id == Item.supplier_id)
        .where(Bin.active.is_(True))
        .order_by(Bin.code)
    ).all()
    # Each bin's first movement through the (bin, time) index, bin by bin: a GROUP BY
    # over the ledger would read all of it.
    first_movement = (
        sa.select(sa.func.min(Movement.created_at))
        .where(Movement.bin_id == Bin.id)
        .scalar_subquery()
    )
    started = dict(
        db.session.execute(sa.select(Bin.id, first_movement).where(Bin.active.is_(True))).all()
    )
    pulled: dict[int, int] = dict(
        db.session.execute(
            sa.select(Movement.bin_id, -sa.func.sum(Movement.quantity))
            .where(Movement.kind == MovementKind.PULL, Movement.created_at >= since)
            .group_by(Movement.bin_id)
        ).all()
    )
    original = aliased(Movement)
    for bin_id, back in db.session.execute(
        sa.select(Movement.bin_id, sa.func.sum(Movement.quantity))
        .join(original, original.id == Movement.undo_of_id)
        .where(
            # Only undos have undo_of_id: its index finds them without reading the ledger.
            Movement.undo_of_id.is_not(None),
            Movement.kind == MovementKind.UNDO,
            original.kind == MovementKind.PULL,
            original.created_at >= since,
        )
        .group_by(Movement.bin_id)
    ):
        pulled[bin_id] = pulled.get(bin_id, 0) - int(back)
    per_supplier = suppliers.recent_lead_times(DELIVERIES_LOOKED_AT)
    leads = {}
    out = []
    for bin_id, code, card, item, unit, zone, sid, supplier, configured, pull, pack in bins:
        if sid not in leads:
            leads[sid] = _lead(per_supplier.get(sid, []), configured)
        days, source, _ = leads[sid]
        start = started.get(bin_id)
        begin, _ = sizing.window(today, window_days, start.date() if start is not None else None)
        history = (today - begin).days + 1
        total = max(0, int(pulled.get(bin_id, 0)))
        recommended, _ = sizing.decide(history, total, days, safety_factor)
        if recommended is not None:
            recommended = sizing.fit_to_bin(recommended, pull, pack)
        out.append(
            OverviewRow(
                code, item, zone, supplier, unit, card, total / history, days, source, recommended
            )
        )
    return out


def shortlist(
    rows: list[OverviewRow], *, zone: str = "", supplier: str = "", show_all: bool = False
) -> list[OverviewRow]:
    """The overview rows a supervisor reviews: those of a zone and supplier (any when
    empty) whose card should change (or all), the biggest change relative to the card
    first."""
    shown = [
        r
        for r in rows
        if (not zone or r.zone == zone)
        and (not supplier or r.supplier == supplier)
        and (show_all or r.to_change)
    ]
    return sorted(shown, key=lambda r: (-abs(r.change) / max(r.current, 1), r.code))


@dataclass(frozen=True)
class PlannedChange:
    """One bin of a planned apply: its card quantity and what its card would do."""

    code: str
    old: int
    new: int
    on_hand: int
    state_before: cards.CardState
    state_after: cards.CardState
    action: cards.CardAction  # what happens to the bin's request line

    @property
    def line_change(self) -> str:
        """What happens to the bin's request line, in a word ("" for nothing)."""
        words = {
            cards.CardAction.ADD_LINE: "opened",
            cards.CardAction.WITHDRAW_LINE: LineStatus.WITHDRAWN.value,
        }
        return words.get(self.action, "")


@dataclass(frozen=True)
class ApplyPlan:
    """What applying several card quantities would change, before anything is written."""

    changes: tuple[PlannedChange, ...]  # the bins whose card quantity changes, by code

    def _count(self, action: cards.CardAction) -> int:
        return sum(1 for c in self.changes if c.action is action)

    @property
    def cards(self) -> int:
        """Cards whose card quantity changes."""
        return len(self.changes)

    @property
    def flips(self) -> int:
        """Cards whose state changes."""
        return sum(1 for c in self.changes if c.state_after is not c.state_before)

    @property
    def lines_opened(self) -> int:
        """Request lines opened on suppliers' drafts (cards flipping to replenish)."""
        return self._count(cards.CardAction.ADD_LINE)

    @property
    def lines_withdrawn(self) -> int:
        """Draft lines withdrawn (cards back to stocked)."""
        return self._count(cards.CardAction.WITHDRAW_LINE)

    @property
    def lines(self) -> int:
        """Request lines the apply would change in all."""
        return self.lines_opened + self.lines_withdrawn


def plan_apply(quantities: dict[str, int]) -> ApplyPlan:
    """What :func:`apply_many` would do with these card quantities as the bins are now:
    the same transition table decides (docs/manual/spec.md §2.2). Writes nothing; an unknown bin
    or an impossible quantity is refused as :func:`apply_many` would refuse it."""
    planned = []
    for code, quantity in quantities.items():
        if not 0 <= quantity <= MAX_QUANTITY:
            raise ServiceError(
                "invalid_quantity",
                f"The card quantity must be a whole number from 0 to {MAX_QUANTITY}.",
            )
        b = get_bin(code)
        if b.card_quantity == quantity:
            continue
        before = cards.CardState(b.state)
        step = cards.transition(before, cards.level_event(b.on_hand, quantity))
        planned.append(
            PlannedChange(
                b.code, b.card_quantity, quantity, b.on_hand, before, step.state, step.action
            )
        )
    return ApplyPlan(tuple(sorted(planned, key=lambda c: c.code)))


def apply_many(quantities: dict[str, int], actor: Actor | str) -> list[tuple[str, int, int]]:
    """Set several card quantities in one transaction (all or nothing); returns (code, old,
    new) for the bins that changed."""
    changed = []
    for code, quantity in quantities.items():
        old, b = set_card_quantity(code, quantity, actor)
        if old != quantity:
            changed.append((b.code, old, quantity))
    return changed

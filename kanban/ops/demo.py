"""A realistic demo site: zones, suppliers, 60+ bins and 30 days of pulls."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

import sqlalchemy as sa

from ..auth.users import create_user
from ..cards import flow
from ..catalog.views import card_view
from ..core.actor import Actor
from ..core.tx import begin_write
from ..domain import cards
from ..domain.cards import CardState
from ..domain.statuses import (
    ChangeCause,
    LineStatus,
    MovementKind,
    RequestStatus,
    Role,
    SentVia,
    Source,
)
from ..extensions import db
from ..models import (
    Bin,
    Item,
    Movement,
    RequestLine,
    Supplier,
    SupplierRequest,
    User,
    Zone,
    utcnow,
)
from ..purchasing.sending import mark_sent

SUPPLIERS = [
    ("Würth Industrie", "orders@wurth.example", 5),
    ("Bossard Fasteners", "kanban@bossard.example", 7),
    ("RS Components", "po@rs.example", 2),
    ("Brammer Supplies", "orders@brammer.example", 10),
]
ZONES = ["Assembly line 1", "Assembly line 2", "Aisle B", "Packing"]
PARTS = [
    ("M6 hex bolt 20 mm", "box"),
    ("M6 nyloc nut", "box"),
    ("M8 washer", "box"),
    ("Cable tie 200 mm", "bag"),
    ("Heat-shrink 6 mm", "ea"),
    ("Crimp ring M5", "box"),
    ("Nitrile gloves L", "box"),
    ("Label roll 50x25", "ea"),
    ("Stretch film", "ea"),
    ("Packing tape 48 mm", "ea"),
    ("Carton 300x200", "ea"),
    ("Loctite 243", "ea"),
    ("Drill bit 6 mm", "ea"),
    ("Rivet 4x10", "box"),
    ("Grease cartridge", "ea"),
    ("Fuse 5 A", "box"),
]
#: (username, role, password) of the demo's users, as `kanban demo` and the demo site's
#: login page show them: a supervisor first, who sees the most.
DEMO_LOGINS = [
    ("super", Role.SUPERVISOR, "kanban-super"),
    ("ana", Role.OPERATOR, "kanban-ana"),
    ("ben", Role.OPERATOR, "kanban-ben"),
    (str(Role.ADMIN), Role.ADMIN, "kanban-admin"),  # the user is called "admin"
]


def is_seeded() -> bool:
    """True when the database already holds bins (the demo is seeded only once)."""
    return bool(db.session.scalar(sa.select(sa.func.count(Bin.id))))


# long: the demo site is built top to bottom, in the order a reader expects
def seed(*, bins_per_zone: int = 16, days: int = 30, seed_value: int = 7) -> dict[str, int]:
    """Seed an empty database with a demo site; refuses a database that has bins."""
    begin_write()
    if is_seeded():
        raise ValueError("the database already holds bins; demo data goes into an empty one")
    rng = random.Random(seed_value)
    for name, role, password in DEMO_LOGINS:
        if not db.session.scalar(sa.select(User.id).where(User.username == name)):
            create_user(name, password, role, actor=Actor(name="demo", source=Source.DEMO))
    suppliers = [Supplier(name=n, email=e, lead_time_days=lt) for n, e, lt in SUPPLIERS]
    db.session.add_all(suppliers)
    zones = [Zone(name=n, position=i) for i, n in enumerate(ZONES)]
    db.session.add_all(zones)
    db.session.flush()
    now = utcnow()
    start = now - dt.timedelta(days=days)
    bins: list[Bin] = []
    for zi, zone in enumerate(zones):
        for n in range(bins_per_zone):
            part, unit = PARTS[(zi * 5 + n) % len(PARTS)]
            sku = f"{zi + 1}{n + 1:03d}-{part.split()[0][:4].upper()}"
            item = Item(
                sku=sku,
                name=part,
                unit=unit,
                supplier=suppliers[(zi + n) % 4],
                pack_multiple=rng.choice([1, 1, 5, 10]),
                manufacturer_barcode=None,
            )
            card = rng.randint(4, 20)
            b = Bin(
                code=f"{'ABCD'[zi]}-{n // 6 + 1:02d}-{n % 6 + 1:02d}",
                item=item,
                zone=zone,
                on_hand=0,
                card_quantity=card,
                order_quantity=card * 2,
                pull_quantity=1,
                state=CardState.STOCKED,
                state_since=start,
            )
            db.session.add(b)
            bins.append(b)
    db.session.flush()
    movements = 0
    cycles: list[_Cycle] = []
    for b in bins:
        history, cycles_of_bin = _history(b, start, days, rng)
        db.session.add_all(history)
        db.session.flush()
        movements += len(history)
        cycles += cycles_of_bin
        on_hand = sum(m.quantity for m in history)
        db.session.execute(sa.update(Bin).where(Bin.id == b.id).values(on_hand=on_hand))
        db.session.refresh(b)
        last = history[-1]
        flow.apply(
            card_view(b.id),
            cards.level_event(b.on_hand, b.card_quantity),
            flow.Cause(ChangeCause.DEMO, detail={"reason": "demo history"}),
            movement_id=last.id,
        )
    _past_requests(cycles)
    db.session.flush()
    # Send two suppliers' drafts so that some cards are ordered, one of them overdue.
    drafts = list(
        db.session.scalars(
            sa.select(SupplierRequest)
            .where(SupplierRequest.status == RequestStatus.DRAFT)
            .order_by(SupplierRequest.id)
        )
    )
    for i, req in enumerate(drafts[:2]):
        mark_sent(req.id, via=SentVia.MANUAL, actor="demo")
        if i == 0:
            req.sent_at = now - dt.timedelta(days=req.supplier.lead_time_days + 2)
            req.expected_date = (now - dt.timedelta(days=2)).date()
    db.session.flush()
    return {
        "zones": len(zones),
        "suppliers": len(suppliers),
        "bins": len(bins),
        "movements": movements,
    }


@dataclass
class _Cycle:
    """One earlier replenishment of a bin: signal → sent → received."""

    bin: Bin
    signal: dt.datetime
    sent: dt.datetime
    receipt: Movement
    on_hand_at_signal: int


def _history(
    b: Bin, start: dt.datetime, days: int, rng: random.Random
) -> tuple[list[Movement], list[_Cycle]]:
    """A bin's ledger over ``days`` days: pulls at its own rate, and for every time the stock
    fell below the card a request sent the same or next afternoon and delivered after the
    supplier's lead time (give or take a day). An empty bin is not pulled from."""
    on_hand = b.card_quantity * 2 + rng.randint(0, 10)

    def move(kind: str, quantity: int, when: dt.datetime, **more: str) -> Movement:
        return Movement(
            bin_id=b.id,
            kind=kind,
            quantity=quantity,
            on_hand_after=on_hand,
            state_after=CardState.STOCKED,
            source=Source.DEMO,
            created_at=when,
            **more,
        )

    history = [move(MovementKind.INITIAL, on_hand, start, actor="demo")]
    cycles: list[_Cycle] = []
    pending: tuple[dt.datetime, dt.datetime, int, int] | None = None  # signal, sent, due, stock
    lead = b.item.supplier.lead_time_days
    delivered = cards.line_quantity(b.order_quantity, b.item.pack_multiple)
    rate = rng.uniform(0.3, 2.5)
    for day in range(days):
        if pending is not None and day >= pending[2]:
            on_hand += delivered
            receipt = move(
                MovementKind.RECEIPT,
                delivered,
                start + dt.timedelta(days=day, hours=5),  # goods in, before the first pull
                actor="ben",
                station="Goods in",
            )
            history.append(receipt)
            cycles.append(_Cycle(b, pending[0], pending[1], receipt, pending[3]))
            pending = None
        times = sorted(
            start + dt.timedelta(days=day, hours=rng.randint(6, 17), minutes=rng.randint(0, 59))
            for _ in range(rng.randint(0, int(rate * 2)))
        )
        for when in times:
            if on_hand <= 0:
                break  # nothing left to pull until the delivery
            on_hand -= 1
            station = rng.choice(["Station 1", "Station 2"])
            history.append(
                move(MovementKind.PULL, -1, when, actor=rng.choice(["ana", "ben"]), station=station)
            )
            if pending is None and on_hand < b.card_quantity:
                # Requests go out at 15:00; one signalled later goes the next afternoon.
                sent = when.replace(hour=15, minute=0) + dt.timedelta(days=int(when.hour >= 15))
                due = (sent - start).days + max(1, lead + rng.randint(-1, 2))
                pending = (when, sent, due, on_hand)
    return history, cycles


def _past_requests(cycles: list[_Cycle]) -> None:
    """Received supplier requests for the earlier cycles (one per supplier and sending), so
    that lead times are measured and the request lists have a history."""
    requests: dict[tuple[int, dt.datetime], SupplierRequest] = {}
    for c in sorted(cycles, key=lambda c: c.sent):
        supplier = c.bin.item.supplier
        req = requests.get((supplier.id, c.sent))
        if req is None:
            req = requests[(supplier.id, c.sent)] = SupplierRequest(
                supplier_id=supplier.id,
                status=RequestStatus.RECEIVED,
                created_at=c.signal,
                sent_at=c.sent,
                sent_via=SentVia.MANUAL,
                expected_date=(c.sent + dt.timedelta(days=supplier.lead_time_days)).date(),
            )
            db.session.add(req)
        req.received_at = max(req.received_at or c.receipt.created_at, c.receipt.created_at)
        line = RequestLine(
            request=req,
            bin_id=c.bin.id,
            item_id=c.bin.item_id,
            quantity=c.receipt.quantity,
            received_quantity=c.receipt.quantity,
            status=LineStatus.RECEIVED,
            reason=f"{c.on_hand_at_signal} on hand < card {c.bin.card_quantity} · demo history",
            created_at=c.signal,
            closed_at=c.receipt.created_at,
        )
        db.session.add(line)
        db.session.flush()
        c.receipt.request_id, c.receipt.line_id = req.id, line.id

"""A realistic demo site: zones, suppliers, 60+ bins and 30 days of pulls."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

import sqlalchemy as sa

from ..auth.users import create_user
from ..cards import flow, lines
from ..catalog.views import card_view
from ..core.actor import Actor
from ..core.tx import begin_write
from ..domain import cards, leadtime
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


#: The supplier whose last deliveries are late, so that the demo has overdue orders.
LATE_SUPPLIER = SUPPLIERS[-1][0]
#: Deliveries of the late supplier due in the history's last days do not come.
LATE_DAYS = 5


def is_seeded() -> bool:
    """True when the database already holds bins (the demo is seeded only once)."""
    return bool(db.session.scalar(sa.select(sa.func.count(Bin.id))))


# long: the demo site is built top to bottom, in the order a reader expects
def seed(
    *, bins_per_zone: int = 16, days: int = 30, seed_value: int = 7, now: dt.datetime | None = None
) -> dict[str, int]:
    """Seed an empty database with a demo site; refuses a database that has bins.

    The history follows the loop (docs/manual/spec.md §2.2): every movement records the state the
    card was in after it, a pull that takes the stock below the card starts a cycle whose
    request goes out the same or the next afternoon, and the delivery is what was ordered.
    Cycles still open at the end become lines on the suppliers' requests, through the card
    flow: sent (ordered, some overdue) or, for the last day's, waiting on the drafts.
    """
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
    now = now or utcnow()
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
    still_open: list[_Cycle] = []
    for b in bins:
        history = _History(b, start, days, send_until=now - dt.timedelta(days=1), rng=rng)
        db.session.add_all(history.movements)
        db.session.flush()
        movements += len(history.movements)
        cycles += history.cycles
        on_hand = sum(m.quantity for m in history.movements)
        db.session.execute(sa.update(Bin).where(Bin.id == b.id).values(on_hand=on_hand))
        db.session.refresh(b)
        if history.open is not None:
            still_open.append(history.open)
        else:
            _settle(b, history.movements)
    _past_requests(cycles)
    _open_requests(still_open)
    db.session.flush()
    return {
        "zones": len(zones),
        "suppliers": len(suppliers),
        "bins": len(bins),
        "movements": movements,
    }


@dataclass
class _Cycle:
    """One replenishment of a bin: signal → sent → received (``receipt`` None while open)."""

    bin: Bin
    signal: Movement  # the pull that took the stock below the card
    sent: dt.datetime
    due: int  # the day of the history the delivery comes
    on_hand_at_signal: int
    was_sent: bool  # the request went out within the history
    receipt: Movement | None = None
    during: list[Movement] = field(default_factory=list)  # the movements of the cycle


class _History:
    """A bin's ledger over ``days`` days: pulls at its own rate, and for every time the
    stock fell below the card a request sent at 15:00 the same or the next day (up to
    ``send_until``: the last day's lines wait on the drafts) and delivered after the
    supplier's lead time, give or take a day. An empty bin is not pulled from. Each
    movement records the card's state after it, as the card flow would have."""

    def __init__(
        self,
        b: Bin,
        start: dt.datetime,
        days: int,
        *,
        send_until: dt.datetime,
        rng: random.Random,
    ) -> None:
        self.b, self.start, self.days, self.send_until, self.rng = b, start, days, send_until, rng
        self.on_hand = b.card_quantity * 2 + rng.randint(0, 10)
        self.card_state = CardState.STOCKED
        self.cycles: list[_Cycle] = []
        self.open: _Cycle | None = None
        self.movements = [self._move(MovementKind.INITIAL, self.on_hand, start, actor="demo")]
        supplier = b.item.supplier
        self.lead = supplier.lead_time_days
        self.late = supplier.name == LATE_SUPPLIER
        self.delivered = cards.line_quantity(b.order_quantity, b.item.pack_multiple)
        rate = rng.uniform(0.3, 2.5)
        for day in range(days):
            self._deliver(day)
            times = sorted(
                start + dt.timedelta(days=day, hours=rng.randint(6, 17), minutes=rng.randint(0, 59))
                for _ in range(rng.randint(0, int(rate * 2)))
            )
            for when in times:
                if self.on_hand <= 0:
                    break  # nothing left to pull until the delivery
                self._pull(when)

    def _move(
        self, kind: str, quantity: int, when: dt.datetime, *, flipped: bool = False, **more: str
    ) -> Movement:
        m = Movement(
            bin_id=self.b.id,
            kind=kind,
            quantity=quantity,
            on_hand_after=self.on_hand,
            state_after=self.card_state,
            flipped=flipped,
            source=Source.DEMO,
            created_at=when,
            **more,
        )
        if self.open is not None:
            self.open.during.append(m)
        return m

    def _pull(self, when: dt.datetime) -> None:
        self.on_hand -= 1
        cycle = self.open
        if cycle is not None and cycle.was_sent and cycle.sent <= when:
            self.card_state = CardState.ORDERED  # the request went out before this pull
        flips = cycle is None and self.on_hand < self.b.card_quantity
        if flips:
            self.card_state = CardState.REPLENISH
        actor, station = (
            self.rng.choice(["ana", "ben"]),
            self.rng.choice(["Station 1", "Station 2"]),
        )
        m = self._move(MovementKind.PULL, -1, when, flipped=flips, actor=actor, station=station)
        self.movements.append(m)
        if flips:
            self._signal(m, when)

    def _signal(self, pull: Movement, when: dt.datetime) -> None:
        """A new cycle: requests go out at 15:00; one signalled later goes the next day."""
        sent = when.replace(hour=15, minute=0) + dt.timedelta(days=int(when.hour >= 15))
        due = (sent - self.start).days + max(1, self.lead + self.rng.randint(-1, 2))
        was_sent = sent <= self.send_until
        if not was_sent or (self.late and due >= self.days - LATE_DAYS):
            due = self.days  # not sent yet, or the supplier is late: no delivery in the history
        during = [pull] if pull.kind == MovementKind.PULL else []  # a receipt has its own
        self.open = _Cycle(self.b, pull, sent, due, self.on_hand, was_sent, during=during)

    def _deliver(self, day: int) -> None:
        cycle = self.open
        if cycle is None or day < cycle.due:
            return
        self.on_hand += self.delivered
        low = self.on_hand < self.b.card_quantity
        self.card_state = CardState.REPLENISH if low else CardState.STOCKED
        when = self.start + dt.timedelta(days=day, hours=5)  # goods in, before the first pull
        receipt = self._move(
            MovementKind.RECEIPT,
            self.delivered,
            when,
            flipped=True,
            actor="ben",
            station="Goods in",
        )
        self.movements.append(receipt)
        cycle.receipt = receipt
        self.cycles.append(cycle)
        self.open = None
        if self.card_state is CardState.REPLENISH:  # still below the card: a new cycle at once
            self._signal(receipt, when)


def _settle(b: Bin, history: list[Movement]) -> None:
    """A bin whose last cycle was delivered: stocked since its last flip, through the card
    flow (which finds nothing to do but announce it)."""
    last_flip = next(m for m in reversed(history) if m.flipped or m.kind == MovementKind.INITIAL)
    flow.apply(
        card_view(b.id),
        cards.level_event(b.on_hand, b.card_quantity),
        flow.Cause(ChangeCause.DEMO, detail={"reason": "demo history"}),
        movement_id=last_flip.id,
    )
    db.session.execute(
        sa.update(Bin)
        .where(Bin.id == b.id)
        .values(state_since=last_flip.created_at, state_movement_id=last_flip.id)
    )


def _past_requests(cycles: list[_Cycle]) -> None:
    """Received supplier requests for the earlier cycles (one per supplier and sending), so
    that lead times are measured and the request lists have a history."""
    requests: dict[tuple[int, dt.datetime], SupplierRequest] = {}
    for c in sorted(cycles, key=lambda c: c.sent):
        assert c.receipt is not None
        supplier = c.bin.item.supplier
        req = requests.get((supplier.id, c.sent))
        if req is None:
            req = requests[(supplier.id, c.sent)] = SupplierRequest(
                supplier_id=supplier.id,
                status=RequestStatus.RECEIVED,
                created_at=c.signal.created_at,
                sent_at=c.sent,
                sent_via=SentVia.MANUAL,
                expected_date=leadtime.expected_date(c.sent, supplier.lead_time_days),
            )
            db.session.add(req)
        req.received_at = max(req.received_at or c.receipt.created_at, c.receipt.created_at)
        req.created_at = min(req.created_at, c.signal.created_at)
        line = RequestLine(
            request=req,
            bin_id=c.bin.id,
            item_id=c.bin.item_id,
            quantity=c.receipt.quantity,  # what was ordered is what came
            received_quantity=c.receipt.quantity,
            status=LineStatus.RECEIVED,
            reason=_reason(c),
            created_at=c.signal.created_at,
            closed_at=c.receipt.created_at,
        )
        db.session.add(line)
        db.session.flush()
        for m in c.during:
            m.request_id = req.id
        c.receipt.line_id = line.id


def _reason(c: _Cycle) -> str:
    """Why the cycle's line exists, in the card flow's words."""
    s = c.signal
    by = f"{s.kind} by {s.actor} at {s.station}"
    return f"{c.on_hand_at_signal} on hand < card {c.bin.card_quantity} · {by}"


def _open_requests(still_open: list[_Cycle]) -> None:
    """The cycles open at the end of the history, through the card flow: each bin's card
    flips and its line opens on the supplier's draft; the lines sent in the history are
    then sent as they were (one request per supplier and afternoon). Everything is dated
    when it happened."""
    opened: dict[int, RequestLine] = {}
    for c in still_open:
        flow.apply(
            card_view(c.bin.id),
            cards.level_event(c.bin.on_hand, c.bin.card_quantity),
            flow.Cause(ChangeCause.DEMO, detail={"reason": _reason(c)}),
            movement_id=c.signal.id,
        )
        line = lines.open_line(c.bin.id)
        assert line is not None
        line.created_at = c.signal.created_at
        opened[c.bin.id] = line
        _dated(c.bin.id, c.signal.created_at)
    sendings: dict[tuple[int, dt.datetime], list[_Cycle]] = {}
    for c in still_open:
        if c.was_sent:
            sendings.setdefault((c.bin.item.supplier_id, c.sent), []).append(c)
    for (_, sent), group in sorted(sendings.items(), key=lambda kv: kv[0][1]):
        draft_id = opened[group[0].bin.id].request_id  # lines sent earlier moved to a new draft
        req = mark_sent(
            draft_id,
            via=SentVia.MANUAL,
            actor="super",
            line_ids=[opened[c.bin.id].id for c in group],
        )
        req.sent_at = sent
        req.expected_date = leadtime.expected_date(sent, req.supplier.lead_time_days)
        for c in group:
            _dated(c.bin.id, sent)
    db.session.flush()
    for c in still_open:
        line = opened[c.bin.id]
        for m in c.during:
            m.request_id = line.request_id
        req = line.request
        req.created_at = min(req.created_at, line.created_at)
    db.session.flush()


def _dated(bin_id: int, since: dt.datetime) -> None:
    """The card has been in its state since ``since`` (in the history, not now)."""
    db.session.execute(sa.update(Bin).where(Bin.id == bin_id).values(state_since=since))

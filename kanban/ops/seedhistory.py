"""The year of a big site, simulated in memory for ``kanban seed-load`` (:mod:`.seedload`).

The same loop as the demo's history (:mod:`.demo`): a pull that takes a bin below its
card opens a cycle and a line on the supplier's draft; the drafts go out at 15:00 the
same or the next day; the delivery comes after the supplier's lead time, give or take a
day, at 05:00, and is what was ordered; still below the card after it, a new cycle starts
at once. Deliveries of the late suppliers due in the last days do not come (overdue
orders). Every movement records the state the card was in after it, as the card flow
would have.

Unlike the demo it works on plain rows, not ORM objects, and walks all bins day by day,
so that movement ids follow time as on a real site and the whole year fits in memory.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from typing import Any

from ..catalog.views import CardView, card_dict
from ..domain.cards import CardState
from ..domain.statuses import (
    ChangeCause,
    EventKind,
    LineStatus,
    MovementKind,
    RequestStatus,
    Source,
)
from .demo import LATE_DAYS

SEND_HOUR = 15  # drafts go out at 15:00
GOODS_IN_HOUR = 5  # deliveries are scanned in before the first shift's pulls
OPERATORS = ("ana", "ben", "cem", "dora", "eli", "fay")
STATIONS = tuple(f"Station {n}" for n in range(1, 9))
#: Seeded movements say where they came from (plain text: COPY writes values as they are).
SOURCE = Source.DEMO.value
#: The ledger's columns that seed-load fills, in this order.
MOVEMENT_COLUMNS = (
    "id",
    "bin_id",
    "kind",
    "quantity",
    "on_hand_after",
    "state_after",
    "flipped",
    "request_id",
    "line_id",
    "actor",
    "station",
    "source",
    "scan_id",
    "created_at",
)


@dataclass
class Request:
    """A supplier request as it ends up: drafted at its first line, sent at ``sent``."""

    id: int
    supplier: int  # index into the suppliers
    created_at: dt.datetime
    sent: dt.datetime | None  # None: still a draft
    lines: list[Line] = field(default_factory=list)
    received_at: dt.datetime | None = None

    @property
    def status(self) -> RequestStatus:
        """Draft, sent, or received once every line came."""
        if self.sent is None:
            return RequestStatus.DRAFT
        if all(line.status is LineStatus.RECEIVED for line in self.lines):
            return RequestStatus.RECEIVED
        return RequestStatus.SENT


@dataclass
class Line:
    """One cycle of a bin: its request line."""

    id: int
    request: Request
    bin: BinSim
    created_at: dt.datetime
    reason: str
    due_day: int | None  # the day of the history the delivery comes (None: not in it)
    status: LineStatus = LineStatus.OPEN
    closed_at: dt.datetime | None = None


class BinSim:
    """A bin's card and stock while the history runs."""

    __slots__ = (
        "card",
        "code",
        "delivered",
        "id",
        "late",
        "lead",
        "line",
        "on_hand",
        "since",
        "spec",
        "state",
        "supplier",
        "why",
    )

    def __init__(self, spec: dict[str, Any], start: dt.datetime) -> None:
        self.spec = spec
        self.id: int = spec["id"]
        self.code: str = spec["code"]
        self.card: int = spec["card_quantity"]
        self.delivered: int = spec["line_quantity"]
        self.supplier: int = spec["supplier"]
        self.lead: int = spec["lead_time_days"]
        self.late: bool = spec["late"]
        self.on_hand: int = spec["opening"]
        self.state = CardState.STOCKED
        self.since = start
        self.why: tuple[int, str, str | None, str | None] = (0, MovementKind.INITIAL, "", None)
        self.line: Line | None = None

    def view(self) -> CardView:
        """The card as the board shows it now (for the feed's events)."""
        s = self.spec
        mid, kind, actor, station = self.why
        return CardView(
            self.id,
            self.code,
            s["sku"],
            s["item_name"],
            s["unit"],
            s["zone"],
            s["supplier_name"],
            self.on_hand,
            self.card,
            s["order_quantity"],
            1,
            self.state,
            self.since,
            True,
            mid or None,
            kind,
            actor,
            station,
            1,
        )


@dataclass
class History:
    """What the simulation produced, ready to be written."""

    movements: list[tuple[Any, ...]]
    requests: list[Request]
    lines: list[Line]
    #: (time, kind, bin code, request id, data) of the feed's window, oldest first.
    events: list[tuple[dt.datetime, str, str | None, int | None, dict[str, Any]]]
    bins: list[BinSim]


class Simulation:
    """Runs the loop over every bin for ``days`` days ending yesterday (see the module)."""

    def __init__(
        self,
        bins: list[dict[str, Any]],
        suppliers: list[str],
        *,
        movements: int,
        days: int,
        now: dt.datetime,
        event_days: int,
        rng: random.Random,
    ) -> None:
        self.rng, self.days, self.target, self.suppliers = rng, days, movements, suppliers
        self.start = dt.datetime.combine(now.date() - dt.timedelta(days=days), dt.time(0), dt.UTC)
        self.events_since = now - dt.timedelta(days=event_days)
        self.bins = [BinSim(spec, self.start) for spec in bins]
        self.weights = [spec["rate"] for spec in bins]
        self.moves: list[tuple[Any, ...]] = []
        self.events: list[tuple[dt.datetime, str, str | None, int | None, dict[str, Any]]] = []
        self.requests: dict[tuple[int, dt.datetime | None], Request] = {}
        self.all_requests: list[Request] = []
        self.lines: list[Line] = []
        self.due: dict[int, list[BinSim]] = {}
        self.sending: dict[int, list[Request]] = {}

    def run(self) -> History:
        """The whole history: opening stock, then day by day deliveries, pulls and sends."""
        for b in self.bins:
            who = ("seed", None)
            self._move(b, MovementKind.INITIAL, b.on_hand, self.start, who, b.state, opening=True)
        rng, n_bins = self.rng, len(self.bins)
        cum: list[float] = []
        total = 0.0
        for w in self.weights:
            total += w
            cum.append(total)
        for day in range(self.days):
            midnight = self.start + dt.timedelta(days=day)
            for b in self.due.pop(day, []):
                self._receive(b, midnight + dt.timedelta(hours=GOODS_IN_HOUR))
            wanted = n_bins + (self.target - n_bins) * (day + 1) // self.days
            n = max(0, wanted - len(self.moves))
            picks = rng.choices(range(n_bins), cum_weights=cum, k=n)
            seconds = sorted((rng.randrange(GOODS_IN_HOUR * 3600 + 60, 86400), i) for i in picks)
            sent = False  # the afternoon's drafts, once the pulls reach 15:00
            for sec, i in seconds:
                if not sent and sec >= SEND_HOUR * 3600:
                    self._send(self.sending.pop(day, []))
                    sent = True
                actor = OPERATORS[i % len(OPERATORS)]
                self._pull(self.bins[i], midnight + dt.timedelta(seconds=sec), actor)
            if not sent:
                self._send(self.sending.pop(day, []))
        return History(self.moves, self.all_requests, self.lines, self.events, self.bins)

    def _move(
        self,
        b: BinSim,
        kind: MovementKind,
        quantity: int,
        when: dt.datetime,
        who: tuple[str, str | None],
        before: CardState,
        *,
        line: Line | None = None,
        opening: bool = False,
    ) -> None:
        """Write one ledger row (and its event inside the feed's window); ``line`` is the
        cycle it belongs to (default: the bin's open one), ``before`` the card's state."""
        mid = len(self.moves) + 1
        flipped = before is not b.state
        if flipped or opening:
            b.why, b.since = (mid, kind, *who), when
        line = line or b.line
        receipt = kind is MovementKind.RECEIPT
        self.moves.append(
            (
                mid,
                b.id,
                kind.value,
                quantity,
                b.on_hand,
                b.state.value,
                flipped,
                line.request.id if line is not None else None,
                line.id if receipt and line is not None else None,
                who[0],
                who[1],
                SOURCE,
                f"seed-{mid}" if kind is MovementKind.PULL else None,
                when,
            )
        )
        if when >= self.events_since:
            change = {"cause": kind.value, "actor": who[0], "station": who[1], "quantity": quantity}
            self._event(b, when, change, before)

    def _event(
        self, b: BinSim, when: dt.datetime, change: dict[str, Any], before: CardState
    ) -> None:
        line = b.line
        overdue = line is not None and line.due_day is None and line.request.sent is not None
        data = card_dict(b.view(), overdue=overdue and b.state is CardState.ORDERED) | {
            "change": change,
            "previous_state": before.value,
            "flipped": before is not b.state,
        }
        self.events.append((when, EventKind.BIN_CHANGED.value, b.code, None, data))

    def _pull(self, b: BinSim, when: dt.datetime, actor: str) -> None:
        before = b.state
        b.on_hand -= 1
        station = STATIONS[b.id % len(STATIONS)]
        if b.line is None and b.on_hand < b.card:
            b.state = CardState.REPLENISH
            self._signal(b, when, f"pull by {actor} at {station}")
        self._move(b, MovementKind.PULL, -1, when, (actor, station), before)

    def _receive(self, b: BinSim, when: dt.datetime) -> None:
        line = b.line
        assert line is not None
        before = b.state
        line.status, line.closed_at = LineStatus.RECEIVED, when
        req = line.request
        req.received_at = max(req.received_at or when, when)
        b.on_hand += b.delivered
        b.line = None
        b.state = CardState.REPLENISH if b.on_hand < b.card else CardState.STOCKED
        if b.state is CardState.REPLENISH:  # still below the card: a new cycle at once
            self._signal(b, when, "receipt by ben at Goods in")
        self._move(
            b, MovementKind.RECEIPT, b.delivered, when, ("ben", "Goods in"), before, line=line
        )

    def _signal(self, b: BinSim, when: dt.datetime, by: str) -> None:
        """A new cycle: its line lands on the draft that goes out next."""
        sent: dt.datetime | None = when.replace(hour=SEND_HOUR, minute=0, second=0)
        assert sent is not None
        if when.hour >= SEND_HOUR:
            sent += dt.timedelta(days=1)
        send_day = (sent - self.start).days
        if send_day >= self.days - 1:
            sent = None  # the last day's lines wait on the drafts
        key = (b.supplier, sent)
        req = self.requests.get(key)
        if req is None:
            req = self.requests[key] = Request(len(self.all_requests) + 1, b.supplier, when, sent)
            self.all_requests.append(req)
            if sent is not None:
                self.sending.setdefault(send_day, []).append(req)
        due_day: int | None = None
        if sent is not None:
            due_day = send_day + max(1, b.lead + self.rng.randint(-1, 2))
            if due_day >= self.days or (b.late and due_day >= self.days - LATE_DAYS):
                due_day = None  # not delivered within the history
            else:
                self.due.setdefault(due_day, []).append(b)
        reason = f"{b.on_hand} on hand < card {b.card} · {by}"
        line = Line(len(self.lines) + 1, req, b, when, reason, due_day)
        req.lines.append(line)
        self.lines.append(line)
        b.line = line

    def _send(self, requests: list[Request]) -> None:
        """The drafts of the afternoon go out: their cards turn ordered."""
        for req in requests:
            assert req.sent is not None
            when = req.sent
            for line in req.lines:
                b = line.bin
                if b.line is not line:
                    continue
                before, b.state, b.since = b.state, CardState.ORDERED, when
                if when >= self.events_since:
                    self._event(b, when, {"cause": ChangeCause.SENT, "actor": "super"}, before)
            if when >= self.events_since:
                data = {"status": RequestStatus.SENT, "supplier": self.suppliers[req.supplier]}
                self.events.append((when, EventKind.REQUEST_CHANGED.value, None, req.id, data))

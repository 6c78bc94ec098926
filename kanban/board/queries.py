"""The board: which cards to show, in which groups, with which counts (docs/manual/spec.md §4).

The board and the wall screen read the same thing: every active bin as its JSON
form (:func:`kanban.catalog.views.bin_dict`, the same dict the event feed
carries), the zones in their order, and a filter taken from the query string.
Filtering keeps every card and marks the ones that do not match as hidden, so a
page can re-filter instantly and patch any card from the live feed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from ..catalog import views
from ..core import feed
from ..domain import cards as domain_cards
from ..domain import sizing
from ..domain.cards import CARD_STATES
from ..extensions import db
from ..models import Bin, Zone

VIEWS = ("zones", "columns")
#: Above this many active bins, a board filtered by zone holds that zone's cards only.
SCOPE_ABOVE = 5000
#: Longest search text kept from a query string.
QUERY_MAX = 100
#: Longest zone or supplier name kept from a query string (the model's limits).
NAME_MAX = 120


def _arg(args: Mapping[str, str], name: str, limit: int) -> str:
    value = args.get(name) or ""
    if not isinstance(value, str):
        return ""
    value = "".join(ch for ch in value[: limit * 2] if ch.isprintable()).strip()
    return value[:limit]


@dataclass(frozen=True)
class BoardFilter:
    """What the page asks to see: zone, supplier, state and free text (all optional)."""

    zone: str = ""
    supplier: str = ""
    state: str = ""
    q: str = ""

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> BoardFilter:
        """Read a filter from query arguments; bad or unknown values mean "any"."""
        state = _arg(args, "state", 16)
        return cls(
            zone=_arg(args, "zone", NAME_MAX),
            supplier=_arg(args, "supplier", NAME_MAX),
            state=state if state in CARD_STATES else "",
            q=_arg(args, "q", QUERY_MAX),
        )

    @property
    def active(self) -> bool:
        """True when the filter hides anything."""
        return bool(self.zone or self.supplier or self.state or self.q)

    def as_args(self) -> dict[str, str]:
        """The filter as query arguments (only the ones set), for links."""
        pairs = {"zone": self.zone, "supplier": self.supplier, "state": self.state, "q": self.q}
        return {k: v for k, v in pairs.items() if v}

    def matches(self, card: Mapping[str, Any]) -> bool:
        """True if the card (a bin dict) passes every part of the filter.

        Search: every word of ``q`` must occur (case-insensitively) in the bin
        code, SKU, item name, supplier or zone. static/js/cards.js applies the
        same rule in the browser.
        """
        if self.zone and card["zone"] != self.zone:
            return False
        if self.supplier and card["supplier"] != self.supplier:
            return False
        if self.state and card["state"] != self.state:
            return False
        if self.q:
            text = search_text(card)
            return all(word in text for word in self.q.casefold().split())
        return True


def search_text(card: Mapping[str, Any]) -> str:
    """The text the search box looks in."""
    item = card["item"]
    return " ".join(
        (card["code"], item["sku"], item["name"], card["supplier"], card["zone"])
    ).casefold()


def age_text(since: dt.datetime | str, now: dt.datetime | None = None) -> str:
    """How long a card has been in its state, short: "just now", "12 min", "3 h 5 min", "2 d 4 h".

    ``since`` may be the ISO text of a bin dict. static/js/cards.js formats the
    same way when it refreshes the times.
    """
    if isinstance(since, str):
        since = dt.datetime.fromisoformat(since)
    now = now or dt.datetime.now(dt.UTC)
    minutes = max(0, int((now - since).total_seconds() // 60))
    if minutes < 1:
        return "just now"
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def level(on_hand: int, card_quantity: int) -> dict[str, float]:
    """The on-hand bar: a scale of twice the card quantity, so the card quantity sits
    in the middle; below it the bar reads as low (``<meter low>``)."""
    top = max(2 * card_quantity, 1)
    low = max(card_quantity - 0.5, 0)
    return {"max": top, "low": low, "high": low, "value": min(max(on_hand, 0), top)}


def demand_chart(demand: sizing.Demand, width: int = 560, height: int = 140) -> dict[str, Any]:
    """Bar geometry of a demand history for the bin page's SVG chart (one bar a day, the
    daily average as a line), in the SVG's own units."""
    top = max(demand.peak, 1)
    plot = height - 16  # headroom above the tallest bar
    step = width / max(len(demand.days), 1)
    bars = []
    for i, (day, quantity) in enumerate(demand.days):
        h = round(quantity / top * plot, 1)
        bars.append(
            {
                "x": round(i * step + 1, 1),
                "y": round(height - h, 1),
                "w": round(max(step - 2, 1), 1),
                "h": h,
                "day": day.isoformat(),
                "quantity": quantity,
            }
        )
    return {
        "width": width,
        "height": height,
        "bars": bars,
        "average_y": round(height - demand.per_day / top * plot, 1),
    }


@dataclass
class Board:
    """Everything the board and wall pages render."""

    cards: list[dict[str, Any]]
    zones: list[str]
    suppliers: list[str]
    filter: BoardFilter
    last_event_id: int
    now: dt.datetime
    shown: set[str] = field(default_factory=set)
    #: The one zone whose cards the page holds (a big site's board filtered by zone), or "".
    scope_zone: str = ""

    @property
    def counts(self) -> dict[str, int]:
        """Cards per state among the shown cards."""
        out: dict[str, int] = dict.fromkeys(CARD_STATES, 0)
        for card in self.cards:
            if card["code"] in self.shown:
                out[card["state"]] += 1
        return out

    @property
    def flag_counts(self) -> dict[str, int]:
        """Shown cards with the stockout and the overdue flag."""
        shown = [c for c in self.cards if c["code"] in self.shown]
        return {
            "stockout": sum(1 for c in shown if c["flags"]["stockout"]),
            "overdue": sum(1 for c in shown if c["flags"]["overdue"]),
        }

    @property
    def refresh_at(self) -> dt.datetime:
        """When what the page shows goes out of date without any event: the overdue
        flag depends on the date (UTC), so an open board or wall reloads itself a
        minute after the next midnight."""
        tomorrow = self.now.astimezone(dt.UTC).date() + dt.timedelta(days=1)
        return dt.datetime.combine(tomorrow, dt.time(0, 1), tzinfo=dt.UTC)

    def by_zone(self) -> list[tuple[str, list[dict[str, Any]]]]:
        """(zone, cards) in zone order, each zone's cards by bin code; zones without
        bins are left out."""
        groups: dict[str, list[dict[str, Any]]] = {z: [] for z in self.zones}
        for card in self.cards:
            groups.setdefault(card["zone"], []).append(card)
        return [(zone, cards) for zone, cards in groups.items() if cards]

    def wall_sections(self, action_first: bool = False) -> list[tuple[str, list[dict[str, Any]]]]:
        """The wall's groups: (zone, cards) as :meth:`by_zone`; with ``action_first``, a
        first group (named "") of the cards that need action, from every zone in zone
        order, which the zones then leave out."""
        if not action_first:
            return self.by_zone()
        urgent = [c for c in self.cards if needs_action(c)]
        rest = [(zone, [c for c in cards if not needs_action(c)]) for zone, cards in self.by_zone()]
        return [("", urgent), *rest]

    def by_state(self) -> list[tuple[str, list[dict[str, Any]]]]:
        """(state, cards) for the three columns, cards by zone order then bin code."""
        groups: dict[str, list[dict[str, Any]]] = {s: [] for s in CARD_STATES}
        for card in self.cards:
            groups[card["state"]].append(card)
        return list(groups.items())


def needs_action(card: Mapping[str, Any]) -> bool:
    """A card (bin dict) to replenish, out of stock or overdue."""
    flags = card["flags"]
    return domain_cards.needs_action(card["state"], flags["stockout"], flags["overdue"])


def zone_names() -> list[str]:
    """Zone names in their board order."""
    return list(db.session.scalars(sa.select(Zone.name).order_by(Zone.position, Zone.name)))


def load_board(
    filt: BoardFilter, now: dt.datetime | None = None, *, scope_above: int = SCOPE_ABOVE
) -> Board:
    """Every active bin as a card, sorted by zone order then code, with the filter applied.

    A big site's board (more than ``scope_above`` active bins) filtered by zone holds the
    cards of that zone only (``Board.scope_zone``): twenty thousand cards are megabytes of
    page that nobody reads at once. Otherwise every card is there, the ones that do not
    match hidden, so that the page re-filters at once.

    The newest event id is read *before* the bins: an event committed in between
    is then sent again by the feed (it carries the full bin, so applying it
    twice is harmless), while reading it after could skip one.
    """
    last = feed.last_event_id()
    zones = zone_names()
    overdue = views.overdue_bin_ids()
    order = {name: i for i, name in enumerate(zones)}
    # One Core query (no ORM objects): the board of a few thousand bins stays fast.
    stmt = views.CARDS_QUERY.where(Bin.active.is_(True))
    scope = ""
    if filt.zone and filt.zone in order:
        active = sa.select(sa.func.count()).where(Bin.active.is_(True))
        if (db.session.scalar(active) or 0) > scope_above:
            scope, stmt = filt.zone, stmt.where(Zone.name == filt.zone)
    rows = db.session.execute(stmt)
    cards = [
        views.card_dict(v, overdue=v.id in overdue)
        for v in (views.CardView(**row._asdict()) for row in rows)
    ]
    cards.sort(key=lambda c: (order.get(c["zone"], len(order)), c["zone"], c["code"]))
    suppliers = sorted({c["supplier"] for c in cards}, key=str.casefold)
    board = Board(
        cards=cards,
        zones=zones,
        suppliers=suppliers,
        filter=filt,
        last_event_id=last,
        now=now or dt.datetime.now(dt.UTC),
        scope_zone=scope,
    )
    board.shown = {c["code"] for c in cards if filt.matches(c)}
    return board

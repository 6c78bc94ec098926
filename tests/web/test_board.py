"""The board page (docs/manual/spec.md §4): both views, filters, what a card shows, the bin page."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from kanban.board.queries import Board, BoardFilter
from kanban.core import feed
from kanban.extensions import db
from kanban.models import Bin, RequestLine, SupplierRequest

from ..conftest import Api, pull_history


@dataclass
class Card:
    """One board card as the page rendered it (outside any <template>)."""

    attrs: dict[str, str]
    text: str = ""
    classes: set[str] = field(default_factory=set)  # classes of the elements inside
    meter: dict[str, str] = field(default_factory=dict)
    group: str = ""  # the zone section or state column it sits in

    @property
    def code(self) -> str:
        return self.attrs["data-bin"]

    @property
    def state(self) -> str:
        return self.attrs["data-state"]

    @property
    def hidden(self) -> bool:
        return "hidden" in self.attrs


class Cards(HTMLParser):
    """Every card of a board or wall page, in page order, with the group it sits in."""

    VOID = {"img", "input", "br", "meta", "link", "hr"}

    def __init__(self, html: str) -> None:
        super().__init__()
        self.cards: list[Card] = []
        self._template = 0
        self._group = ""
        self._card: Card | None = None
        self._depth = 0
        self._text: list[str] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "template":
            self._template += 1
        if self._template or tag in self.VOID:
            return
        if "data-zone-section" in a:
            self._group = a["data-zone-section"]
        elif "data-column" in a:
            self._group = a["data-column"]
        if self._card is not None:
            self._depth += 1
            self._card.classes.update(a.get("class", "").split())
            if tag == "meter":
                self._card.meter = a
        elif "data-bin" in a and "card" in a.get("class", "").split():
            self._card = Card(a, group=self._group)
            self._depth = 1
            self._text = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "template":
            self._template -= 1
            return
        if self._template or self._card is None or tag in self.VOID:
            return
        self._depth -= 1
        if self._depth == 0:
            self._card.text = " ".join("".join(self._text).split())
            self.cards.append(self._card)
            self._card = None

    def handle_data(self, data: str) -> None:
        if self._card is not None and not self._template:
            self._text.append(data)

    def by_code(self) -> dict[str, Card]:
        return {c.code: c for c in self.cards}

    def shown(self) -> set[str]:
        return {c.code for c in self.cards if not c.hidden}


def login(client: FlaskClient, make_user: Callable[..., str], role: str = "operator") -> str:
    """Log in through the form (with its CSRF token)."""
    name = make_user(f"{role}1", role)
    html = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)
    assert token is not None
    resp = client.post(
        "/login",
        data={"username": name, "password": f"password-{name}", "csrf_token": token.group(1)},
    )
    assert resp.status_code == 302
    return name


def board(client: FlaskClient, query: str = "") -> Cards:
    resp = client.get("/" + query)
    assert resp.status_code == 200, resp.status_code
    return Cards(resp.get_data(as_text=True))


@pytest.fixture
def floor(make_bin: Callable[..., str]) -> dict[str, str]:
    """Five bins over two zones and two suppliers, in all three states' reach."""
    make_bin("A-1", on_hand=2, card=5, zone="Assembly", supplier="Acme", sku="BOLT-M6")
    make_bin("A-2", on_hand=9, card=5, zone="Assembly", supplier="Bolt & Co")
    make_bin("B-1", on_hand=1, card=4, zone="Packing", supplier="Acme", sku="TAPE-50")
    make_bin("B-2", on_hand=8, card=4, zone="Packing", supplier="Bolt & Co")
    make_bin("B-3", on_hand=7, card=3, zone="Packing", supplier="Acme")
    return {
        "A-1": "replenish",
        "A-2": "stocked",
        "B-1": "replenish",
        "B-2": "stocked",
        "B-3": "stocked",
    }


def test_zone_view_shows_every_bin_in_its_zone_with_its_state(
    client: FlaskClient, make_user: Callable[..., str], floor: dict[str, str]
) -> None:
    login(client, make_user)
    page = board(client)
    assert {c.code: c.state for c in page.cards} == floor
    assert {c.code: c.group for c in page.cards} == {
        "A-1": "Assembly",
        "A-2": "Assembly",
        "B-1": "Packing",
        "B-2": "Packing",
        "B-3": "Packing",
    }
    assert page.shown() == set(floor)


def test_state_view_puts_each_card_in_the_column_of_its_state(
    client: FlaskClient, make_user: Callable[..., str], floor: dict[str, str]
) -> None:
    login(client, make_user)
    page = board(client, "?view=columns")
    assert {c.code: c.group for c in page.cards} == floor
    html = client.get("/board?view=columns").get_data(as_text=True)
    columns = re.findall(r'data-column="(\w+)"', html)
    assert columns == ["stocked", "replenish", "ordered"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("?zone=Packing", {"B-1", "B-2", "B-3"}),
        ("?supplier=Bolt+%26+Co", {"A-2", "B-2"}),
        ("?state=replenish", {"A-1", "B-1"}),
        ("?q=bolt", {"A-1", "A-2", "B-2"}),  # SKU BOLT-M6, supplier Bolt & Co
        ("?q=tape+packing", {"B-1"}),  # every word must match
        ("?zone=Packing&supplier=Acme&state=stocked", {"B-3"}),
        ("?zone=Nowhere", set()),
        ("?state=bogus", {"A-1", "A-2", "B-1", "B-2", "B-3"}),  # unknown value: no filter
    ],
)
def test_filters_show_exactly_the_matching_cards(
    client: FlaskClient,
    make_user: Callable[..., str],
    floor: dict[str, str],
    query: str,
    expected: set[str],
) -> None:
    login(client, make_user)
    for view in ("", "&view=columns"):
        page = board(client, query + view)
        assert page.shown() == expected, view
        assert {c.code for c in page.cards} == set(floor)  # the rest stay, hidden, for live JS


def test_a_big_sites_board_filtered_by_zone_holds_only_that_zones_cards(
    app: Flask, client: FlaskClient, make_user: Callable[..., str], floor: dict[str, str]
) -> None:
    app.config["BOARD_SCOPE_ABOVE"] = 4  # five bins make a big site here
    login(client, make_user)
    html = client.get("/?zone=Packing&state=stocked").get_data(as_text=True)
    page = Cards(html)
    assert {c.code for c in page.cards} == {"B-1", "B-2", "B-3"}  # no other zone's card
    assert page.shown() == {"B-2", "B-3"}
    assert 'data-scope-zone="Packing"' in html  # the page asks the server for another zone
    whole = board(client, "?state=stocked")  # no zone: every card, as on a small site
    assert {c.code for c in whole.cards} == set(floor)
    assert 'data-scope-zone=""' in client.get("/?zone=Nowhere").get_data(as_text=True)
    app.config["BOARD_SCOPE_ABOVE"] = 5  # not above: every card stays, hidden
    assert {c.code for c in board(client, "?zone=Packing").cards} == set(floor)


def test_filter_form_lists_zones_and_suppliers_and_keeps_the_choice(
    client: FlaskClient, make_user: Callable[..., str], floor: dict[str, str]
) -> None:
    login(client, make_user)
    html = client.get("/?zone=Packing&q=tape").get_data(as_text=True)
    assert "<option selected>Packing</option>" in html
    assert "<option>Assembly</option>" in html
    assert "<option>Bolt &amp; Co</option>" in html
    assert 'name="q" value="tape"' in html
    assert re.search(r"Showing <b data-shown-n>1</b> of <b data-total-n>5</b>", html)


def test_card_shows_item_sku_bar_state_age_supplier_and_reason(
    client: FlaskClient, make_user: Callable[..., str], make_bin: Callable[..., str]
) -> None:
    make_bin("C-7", on_hand=3, card=5, zone="Assembly", supplier="Acme", sku="NUT-M8")
    login(client, make_user)
    card = board(client).by_code()["C-7"]
    assert card.state == "replenish" and "state-replenish" in card.attrs["class"]
    assert "Replenish" in card.text  # the word, not colour alone
    assert {"icon", "state-word", "age", "bar", "reason"} <= card.classes
    assert "Part in C-7" in card.text and "NUT-M8" in card.text and "Acme" in card.text
    assert "3 on hand / card 5" in card.text
    assert card.meter["value"] == "3" and card.meter["max"] == "10"
    assert float(card.meter["low"]) < 5 <= float(card.meter["max"])
    assert "just now" in card.text
    assert "3 on hand < card 5" in card.text  # the reason line
    assert card.attrs["href"] == "/bins/C-7"


def test_stockout_and_overdue_flags_show_on_their_cards(
    client: FlaskClient,
    make_user: Callable[..., str],
    make_bin: Callable[..., str],
    api: Api,
    supervisor_api: Api,
) -> None:
    make_bin("S-1", on_hand=1, card=5, supplier="Other Supplier")
    make_bin("O-1", on_hand=6, card=5)
    make_bin("F-1", on_hand=9, card=5)
    make_bin("N-1", on_hand=1, card=5, supplier="Other Supplier")
    assert api.scan("S-1", quantity=1).status_code == 201  # to zero: stockout
    assert api.scan("N-1", quantity=3, confirm=True).status_code == 201  # below zero
    scanned = api.scan("O-1", quantity=2).get_json()
    request_id = scanned["request"]["id"]
    assert supervisor_api.post(f"/api/requests/{request_id}/send").status_code == 200
    db.session.execute(
        sa.update(SupplierRequest)
        .where(SupplierRequest.id == request_id)
        .values(expected_date=dt.datetime.now(dt.UTC).date() - dt.timedelta(days=2))
    )
    db.session.commit()
    login(client, make_user)
    cards = board(client).by_code()
    assert "badge-stockout" in cards["S-1"].classes and "Stockout" in cards["S-1"].text
    assert "count needed" not in cards["S-1"].text  # empty is not wrong
    assert "Stockout · count needed" in cards["N-1"].text
    assert "badge-overdue" not in cards["S-1"].classes
    assert cards["O-1"].state == "ordered"
    assert "badge-overdue" in cards["O-1"].classes and "Overdue" in cards["O-1"].text
    assert not {"badge-stockout", "badge-overdue"} & cards["F-1"].classes
    html = client.get("/").get_data(as_text=True)
    assert re.search(r'data-count="overdue">.*?<b class="count-n">1</b>', html)


def test_bin_page_opens_for_a_card_including_codes_with_a_slash(
    client: FlaskClient, make_user: Callable[..., str], make_bin: Callable[..., str]
) -> None:
    make_bin("R/2-1", on_hand=4, card=2)
    login(client, make_user)
    card = board(client).by_code()["R/2-1"]
    resp = client.get(card.attrs["href"])
    assert resp.status_code == 200
    page = Cards(resp.get_data(as_text=True))
    assert [(c.code, c.state) for c in page.cards] == [("R/2-1", "stocked")]
    assert client.get("/bins/r/2-1").status_code == 200  # typed in lower case
    assert client.get("/bins/NOPE-1").status_code == 404


def test_board_needs_an_operator_not_a_display(
    client: FlaskClient, make_token: Callable[..., str]
) -> None:
    token = make_token("display")
    resp = client.get("/", headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 403


@pytest.fixture
def count_queries(app: Flask) -> Iterator[list[str]]:
    statements: list[str] = []

    def record(*args: Any) -> None:
        statements.append(args[2])

    engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", record)
    yield statements
    sa.event.remove(engine, "before_cursor_execute", record)


def test_board_query_count_does_not_grow_with_the_number_of_bins(
    client: FlaskClient,
    make_user: Callable[..., str],
    make_bin: Callable[..., str],
    count_queries: list[str],
) -> None:
    login(client, make_user)

    def queries_for_board() -> int:
        count_queries.clear()
        for view in ("zones", "columns"):
            feed.forget_head()  # the feed's head read afresh each time (PostgreSQL)
            assert client.get(f"/?view={view}").status_code == 200
        return len(count_queries)

    for i in range(3):
        make_bin(f"N-{i}", zone=f"Zone {i}", supplier=f"Supplier {i}")
    few = queries_for_board()
    for i in range(3, 30):
        make_bin(f"N-{i}", zone=f"Zone {i % 7}", supplier=f"Supplier {i % 5}")
    many = queries_for_board()
    assert len(Cards(client.get("/").get_data(as_text=True)).cards) == 30
    assert many == few


@pytest.mark.parametrize(
    ("now", "refresh"),
    [
        ("2026-03-01T23:59:30+00:00", "2026-03-02T00:01:00+00:00"),
        ("2026-12-31T00:00:00+00:00", "2027-01-01T00:01:00+00:00"),
        # A server in another zone still counts days in UTC, as the overdue flag does.
        ("2026-03-01T20:00:00-05:00", "2026-03-03T00:01:00+00:00"),
    ],
)
def test_a_board_is_due_for_a_reload_a_minute_after_the_next_utc_midnight(
    now: str, refresh: str
) -> None:
    # The overdue flag turns on with the date alone, with no event to carry it.
    b = Board([], [], [], BoardFilter(), 0, dt.datetime.fromisoformat(now))
    assert b.refresh_at == dt.datetime.fromisoformat(refresh)


def test_the_board_page_tells_the_live_feed_when_to_reload(
    client: FlaskClient, make_user: Callable[..., str], make_bin: Callable[..., str]
) -> None:
    make_bin("C-1", on_hand=4, card=2)
    login(client, make_user)
    before = dt.datetime.now(dt.UTC)
    html = client.get("/").get_data(as_text=True)
    after = dt.datetime.now(dt.UTC)
    found = re.search(r'id="board"[^>]*data-refresh-at="([^"]+)"', html, re.S)
    assert found is not None
    expected = {
        dt.datetime.combine(t.date() + dt.timedelta(days=1), dt.time(0, 1), tzinfo=dt.UTC)
        for t in (before, after)
    }
    assert dt.datetime.fromisoformat(found.group(1)) in expected


# ----------------------------------------------------------------- card sizing


def _csrf(html: str) -> str:
    found = re.search(r'<meta name="csrf-token" content="([^"]+)"', html)
    assert found is not None
    return found.group(1)


def test_the_bin_page_recommends_a_card_quantity_with_its_inputs_and_chart(
    client: FlaskClient, make_user: Callable[..., str], make_bin: Callable[..., str]
) -> None:
    make_bin("Z-1", on_hand=500, card=5, lead_time_days=5)
    pull_history("Z-1", 2, 28)
    login(client, make_user, "operator")
    html = client.get("/bins/Z-1").get_data(as_text=True)
    assert 'data-advice="raise"' in html
    assert '<strong class="sizing-recommended">13</strong>' in html  # ⌈2 × 5 × 1.25⌉
    assert "▲ raise from 5" in html  # a word and an arrow, not colour alone
    assert "2.00 ea/day (56 ea pulled in 28 days)" in html
    assert "configured lead time" in html and "25 %" in html
    assert "⌈2.00 × 5.00 × 1.25⌉ = 13" in html
    assert html.count('class="demand-bar"') == 28
    assert 'role="img" aria-labelledby="demand-caption"' in html
    assert "sizing-apply" not in html  # operators see the advice but cannot apply it


def test_a_supervisor_applies_the_recommendation_and_the_card_flips(
    client: FlaskClient, make_user: Callable[..., str], make_bin: Callable[..., str]
) -> None:
    make_bin("Z-1", on_hand=66, card=5, order=20, lead_time_days=5)
    pull_history("Z-1", 2, 28)  # 10 left: stocked under a card of 5, not under 13
    assert db.session.scalar(sa.select(Bin.state)) == "stocked"
    login(client, make_user, "supervisor")
    html = client.get("/bins/Z-1").get_data(as_text=True)
    assert 'class="sizing-apply"' in html and 'value="13"' in html
    resp = client.post(
        "/bins/Z-1/card-quantity", data={"card_quantity": "13", "csrf_token": _csrf(html)}
    )
    assert resp.status_code == 302 and resp.headers["Location"] == "/bins/Z-1"
    page = client.get("/bins/Z-1").get_data(as_text=True)
    assert "card quantity 5 → 13" in page
    assert board(client).by_code()["Z-1"].state == "replenish"
    lines = db.session.scalars(sa.select(RequestLine)).all()
    assert len(lines) == 1 and lines[0].status == "open"


@pytest.mark.parametrize("bad", ["", "abc", "-1", "1e3", "2.5", "1000001", "9" * 40])
def test_a_bad_card_quantity_is_refused_and_changes_nothing(
    client: FlaskClient, make_user: Callable[..., str], make_bin: Callable[..., str], bad: str
) -> None:
    make_bin("Z-1", on_hand=12, card=5)
    login(client, make_user, "supervisor")
    token = _csrf(client.get("/bins/Z-1").get_data(as_text=True))
    resp = client.post("/bins/Z-1/card-quantity", data={"card_quantity": bad, "csrf_token": token})
    assert resp.status_code == 302
    assert "must be a whole number from 0 to 1000000" in client.get("/bins/Z-1").get_data(
        as_text=True
    )
    db.session.rollback()
    assert db.session.scalar(sa.select(Bin.card_quantity)) == 5


def test_only_supervisors_may_set_a_card_quantity(
    client: FlaskClient, make_user: Callable[..., str], make_bin: Callable[..., str]
) -> None:
    make_bin("Z-1", on_hand=12, card=5)
    login(client, make_user, "operator")
    token = _csrf(client.get("/bins/Z-1").get_data(as_text=True))
    resp = client.post("/bins/Z-1/card-quantity", data={"card_quantity": "40", "csrf_token": token})
    assert resp.status_code == 403
    db.session.rollback()
    assert db.session.scalar(sa.select(Bin.card_quantity)) == 5


def test_setting_the_card_of_an_unknown_bin_is_not_found(
    client: FlaskClient, make_user: Callable[..., str], make_bin: Callable[..., str]
) -> None:
    make_bin("Z-1", on_hand=12, card=5)
    login(client, make_user, "supervisor")
    token = _csrf(client.get("/bins/Z-1").get_data(as_text=True))
    resp = client.post("/bins/NOPE/card-quantity", data={"card_quantity": "4", "csrf_token": token})
    assert resp.status_code == 404


def test_the_card_size_overview_agrees_with_each_bin_page_and_lists_changes_first(
    client: FlaskClient, make_user: Callable[..., str], make_bin: Callable[..., str]
) -> None:
    make_bin("R-1", on_hand=500, card=5, lead_time_days=5, zone="Assembly")  # 2/day → 13
    make_bin("R-2", on_hand=500, card=40, lead_time_days=5, zone="Packing")  # 1/day → 7
    make_bin("R-3", on_hand=500, card=13, lead_time_days=5, zone="Assembly")  # 2/day → 13
    make_bin("R-4", on_hand=500, card=5, lead_time_days=5, zone="Assembly")  # new: no advice
    pull_history("R-1", 2, 28)
    pull_history("R-2", 1, 28)
    pull_history("R-3", 2, 28)
    login(client, make_user, "supervisor")
    html = client.get("/bins/sizing").get_data(as_text=True)
    rows = re.findall(r'<tr data-bin="([^"]+)" data-advice="(\w+)">', html)
    assert rows == [("R-1", "raise"), ("R-2", "lower")]  # +160 % before −82 %; right ones hidden
    assert "2 of 4 active bins would change" in html
    every = client.get("/bins/sizing?show=all").get_data(as_text=True)
    found = dict(re.findall(r'<tr data-bin="([^"]+)" data-advice="(\w+)">', every))
    assert found == {"R-1": "raise", "R-2": "lower", "R-3": "keep", "R-4": "none"}
    for code in ("R-1", "R-2", "R-3"):
        page = client.get(f"/bins/{code}").get_data(as_text=True)
        shown = re.search(r'<strong class="sizing-recommended">(\d+)</strong>', page)
        assert shown is not None
        assert f'value="{code}:{shown.group(1)}"' in every or code == "R-3"
    assert 'value="R-1:13"' in html and 'value="R-2:7"' in html
    packing = client.get("/bins/sizing?zone=Packing").get_data(as_text=True)
    assert re.findall(r'<tr data-bin="([^"]+)"', packing) == ["R-2"]


def test_applying_the_ticked_card_sizes_changes_them_all_or_none(
    client: FlaskClient, make_user: Callable[..., str], make_bin: Callable[..., str]
) -> None:
    make_bin("R-1", on_hand=10, card=5, order=20)
    make_bin("R-2", on_hand=10, card=40, order=20)
    login(client, make_user, "supervisor")
    token = _csrf(client.get("/bins/sizing").get_data(as_text=True))
    for bad in (["R-1:13", "R-2:abc"], ["R-1:13", "NOPE:4"], ["R-1:13", "R-2:1000001"], []):
        resp = client.post(
            "/bins/sizing", data={"apply": bad, "csrf_token": token, "zone": "Assembly"}
        )
        assert resp.status_code == 302 and resp.headers["Location"] == "/bins/sizing?zone=Assembly"
        db.session.rollback()
        assert dict(db.session.execute(sa.select(Bin.code, Bin.card_quantity)).all()) == {
            "R-1": 5,
            "R-2": 40,
        }, bad
    chosen = {"apply": ["R-1:13", "R-2:7"], "csrf_token": token}
    review = client.post("/bins/sizing", data=chosen)  # first the plan, to confirm
    assert review.status_code == 200 and 'id="sizing-confirm"' in review.get_data(as_text=True)
    db.session.rollback()
    assert dict(db.session.execute(sa.select(Bin.code, Bin.card_quantity)).all()) == {
        "R-1": 5,
        "R-2": 40,
    }
    resp = client.post("/bins/sizing", data={**chosen, "confirm": "1"})
    assert resp.status_code == 302
    assert "Card size applied to 2 bins." in client.get("/bins/sizing").get_data(as_text=True)
    db.session.rollback()
    got = {b.code: (b.card_quantity, b.state) for b in db.session.scalars(sa.select(Bin))}
    assert got == {"R-1": (13, "replenish"), "R-2": (7, "stocked")}
    lines = {(line.bin.code, line.status) for line in db.session.scalars(sa.select(RequestLine))}
    # R-2 started below its card of 40 with a draft line; lowered to 7 it is withdrawn.
    assert lines == {("R-1", "open"), ("R-2", "withdrawn")}


def test_the_card_size_review_starts_with_nothing_ticked(
    client: FlaskClient, make_user: Callable[..., str], make_bin: Callable[..., str]
) -> None:
    make_bin("R-1", on_hand=500, card=5, lead_time_days=5)
    make_bin("R-2", on_hand=500, card=40, lead_time_days=5)
    pull_history("R-1", 2, 28)
    pull_history("R-2", 1, 28)
    login(client, make_user, "supervisor")
    html = client.get("/bins/sizing?show=all").get_data(as_text=True)
    boxes = re.findall(r'<input type="checkbox" name="apply"[^>]*>', html)
    assert len(boxes) == 2 and not any("checked" in box for box in boxes)


def test_the_review_says_how_many_cards_and_request_lines_an_apply_changes(
    client: FlaskClient, make_user: Callable[..., str], make_bin: Callable[..., str]
) -> None:
    make_bin("R-1", on_hand=10, card=5, order=20)  # raised above its stock: opens a line
    make_bin("R-2", on_hand=10, card=40, order=20)  # on a draft; lowered: withdraws it
    make_bin("R-3", on_hand=10, card=5, order=20)  # raised, still covered: nothing else
    login(client, make_user, "supervisor")
    token = _csrf(client.get("/bins/sizing").get_data(as_text=True))
    chosen = {"apply": ["R-1:13", "R-2:7", "R-3:8"], "csrf_token": token, "zone": "Packing"}
    resp = client.post("/bins/sizing", data=chosen)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    counts = dict(re.findall(r'<strong data-count="(\w+)">([^<]+)</strong>', html))
    assert counts == {"cards": "3 cards", "lines": "2 request lines"}
    said = dict(re.findall(r'<li data-count="(\w+)">([^<]+)</li>', html))
    assert said["opened"].startswith("1 card flips to") and "1 request line opens" in said["opened"]
    assert (
        said["withdrawn"].startswith("1 card returns to") and "1 draft line is" in said["withdrawn"]
    )
    assert said["same"] == "1 card keeps its state and request lines"
    rows = re.findall(r'<tr data-bin="([^"]+)" data-state-after="(\w+)">', html)
    assert rows == [("R-1", "replenish"), ("R-2", "stocked"), ("R-3", "stocked")]
    # The confirm form carries the same choice and asks for the confirmation.
    hidden = re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', html)
    assert ("confirm", "1") in hidden and ("zone", "Packing") in hidden
    assert [v for k, v in hidden if k == "apply"] == ["R-1:13", "R-2:7", "R-3:8"]
    assert re.search(r'<a href="/bins/sizing\?zone=Packing" id="sizing-cancel">', html)
    assert not re.search(r"<script(?![^>]*\s(?:src=|type=\"application/json\"))[^>]*>", html)
    db.session.rollback()
    assert db.session.scalars(sa.select(RequestLine.status)).all() == ["open"]  # R-2's, as before


def test_the_card_size_overview_is_for_supervisors(
    client: FlaskClient, make_user: Callable[..., str], make_bin: Callable[..., str]
) -> None:
    make_bin("R-1", on_hand=10, card=5)
    login(client, make_user, "operator")
    assert client.get("/bins/sizing").status_code == 403
    token = _csrf(client.get("/").get_data(as_text=True))
    resp = client.post("/bins/sizing", data={"apply": ["R-1:50"], "csrf_token": token})
    assert resp.status_code == 403
    sure = {"apply": ["R-1:50"], "csrf_token": token, "confirm": "1"}
    assert client.post("/bins/sizing", data=sure).status_code == 403
    db.session.rollback()
    assert db.session.scalar(sa.select(Bin.card_quantity)) == 5

"""The live board and the wall screen in a real Chromium (docs/manual/spec.md §4).

Scans go through the real API of the real server; the pages must follow within a second,
without a reload. A wall screen whose connection is cut must say it is stale, then catch up
on everything it missed.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests as http
import sqlalchemy as sa
from playwright.sync_api import expect

from kanban.core import feed
from kanban.extensions import db
from kanban.models import Event, SupplierRequest

from ..conftest import LiveServer, pull_history, start_server, stop_server
from .conftest import CuttableProxy, login

TIMEOUT = 15_000  # ms, for waits that end as soon as their condition holds

# Like the rest of the suite, these run on SQLite and again on PostgreSQL.


@pytest.fixture
def floor(make_bin: Callable[..., str]) -> list[str]:
    codes = ["A-1", "A-2", "A-3", "B-1"]
    for code in codes:
        make_bin(
            code,
            on_hand=6,
            card=5,
            zone="Assembly" if code[0] == "A" else "Packing",
            supplier="Acme",
        )
    return codes


@pytest.fixture
def scan(live_server: LiveServer, make_token: Callable[..., str]) -> Callable[..., Any]:
    """Scan through the real API of the running server, as a USB scanner station does."""
    headers = {"Authorization": f"Bearer {make_token('operator')}"}

    def send(code: str, quantity: int = 2, mode: str = "pull") -> dict[str, Any]:
        resp = http.post(
            live_server.url + "/api/scans",
            headers=headers,
            timeout=10,
            json={"code": code, "mode": mode, "quantity": quantity},
        )
        assert resp.status_code == 201, resp.text
        return dict(resp.json())

    return send


@pytest.fixture
def open_wall(
    browser: Any, live_server: LiveServer, make_token: Callable[..., str]
) -> Iterator[Callable[..., Any]]:
    """A new browser opening the wall screen through a display link."""
    contexts: list[Any] = []

    def open_page(base_url: str | None = None, **context_args: Any) -> Any:
        context = browser.new_context(**context_args)
        contexts.append(context)
        page = context.new_page()
        page.goto(f"{base_url or live_server.url}/wall?token={make_token('display', 'TV1')}")
        expect(page.locator("#wall .live")).to_have_attribute("data-live", "live", timeout=TIMEOUT)
        return page

    yield open_page
    for context in contexts:
        context.close()


def mark_no_reload(page: Any) -> None:
    page.evaluate("window.__noReload = true")


def assert_not_reloaded(page: Any) -> None:
    assert page.evaluate("window.__noReload === true")


def test_a_scan_flips_the_card_on_an_open_board_and_wall_within_a_second(
    logged_in: Callable[..., Any],
    open_wall: Callable[..., Any],
    floor: list[str],
    scan: Callable[..., Any],
) -> None:
    board = logged_in("operator")
    board.click("nav a[href='/board']")  # operators land on Scan: the menu leads here
    expect(board.locator("#board .live")).to_have_attribute("data-live", "live", timeout=TIMEOUT)
    wall = open_wall()
    for page in (board, wall):
        expect(page.locator('.card[data-bin="A-2"]')).to_have_attribute("data-state", "stocked")
        mark_no_reload(page)
    result = scan("A-2")
    assert result["flipped"] and result["bin"]["state"] == "replenish"
    for page in (board, wall):
        card = page.locator('.card[data-bin="A-2"]')
        expect(card).to_have_attribute("data-state", "replenish", timeout=1000)
        expect(card.locator(".state-word")).to_have_text("Replenish")
        expect(card.locator(".on-hand")).to_have_text("4")
        expect(page.locator('[data-count="replenish"] .count-n')).to_have_text("1")
        assert_not_reloaded(page)
    # Only the changed card was re-rendered: the others are the very same elements.
    assert (
        board.evaluate("document.querySelector('.card[data-bin=\"A-1\"]').dataset.state")
        == "stocked"
    )


def test_a_wall_that_loses_its_connection_says_stale_then_catches_up(
    live_server: LiveServer,
    open_wall: Callable[..., Any],
    floor: list[str],
    scan: Callable[..., Any],
) -> None:
    proxy = CuttableProxy(int(live_server.url.rsplit(":", 1)[1]))
    try:
        wall = open_wall(proxy.url)
        mark_no_reload(wall)
        wall.route("**/api/events**", lambda route: route.abort())
        proxy.cut()
        scan("A-1")
        scan("A-3", quantity=1)  # 5 left: stays stocked, on hand changes
        scan("B-1")
        scan("B-1", quantity=1)
        live_text = wall.locator("#wall .live-text")
        expect(live_text).to_contain_text("Stale since", timeout=TIMEOUT)
        expect(wall.locator("#wall .live")).to_have_attribute("data-live", "stale")
        expect(wall.locator('.card[data-bin="A-1"]')).to_have_attribute("data-state", "stocked")
        wall.unroute("**/api/events**")
        expect(wall.locator("#wall .live")).to_have_attribute("data-live", "live", timeout=TIMEOUT)
        expected = {
            "A-1": ("replenish", "4"),
            "A-2": ("stocked", "6"),
            "A-3": ("stocked", "5"),
            "B-1": ("replenish", "3"),
        }
        for code, (state, on_hand) in expected.items():
            card = wall.locator(f'.card[data-bin="{code}"]')
            expect(card).to_have_attribute("data-state", state, timeout=TIMEOUT)
            expect(card.locator(".on-hand")).to_have_text(on_hand)
        expect(wall.locator('[data-count="replenish"] .count-n')).to_have_text("2")
        assert "Stale" not in live_text.inner_text()
        assert_not_reloaded(wall)
    finally:
        proxy.close()


def test_a_display_link_cannot_reach_anything_that_changes_something(
    live_server: LiveServer,
    open_wall: Callable[..., Any],
    floor: list[str],
) -> None:
    wall = open_wall()
    for path in ("/", "/scan", "/requests", "/labels", "/admin/tokens"):
        assert wall.goto(live_server.url + path).status == 403, path
    wall.goto(live_server.url + "/wall")
    statuses = wall.evaluate(
        """async () => {
            const csrf = document.querySelector('meta[name="csrf-token"]').content;
            const post = (url, body) => fetch(url, {
                method: 'POST', credentials: 'same-origin',
                headers: {'Content-Type': 'application/json', 'X-CSRFToken': csrf},
                body: JSON.stringify(body)});
            const form = (url) => fetch(url, {method: 'POST', credentials: 'same-origin',
                body: new URLSearchParams({csrf_token: csrf, name: 'X', role: 'admin'})});
            return [
                (await post('/api/scans', {code: 'A-1', mode: 'pull', quantity: 1})).status,
                (await post('/api/requests/1/send', {})).status,
                (await form('/admin/tokens')).status,
                (await form('/admin/tokens/1/revoke')).status,
            ];
        }"""
    )
    assert statuses == [403, 403, 403, 403]
    # Nothing changed: the stock is as it was, and the token still exists unrevoked.
    wall.reload()
    expect(wall.locator('.card[data-bin="A-1"] .on-hand')).to_have_text("6")
    expect(wall.locator("#wall .live")).to_have_attribute("data-live", "live", timeout=TIMEOUT)


@pytest.mark.parametrize(("width", "height"), [(1920, 1080), (390, 844)])
def test_board_and_wall_fit_the_screen_without_sideways_scrolling(
    logged_in: Callable[..., Any],
    open_wall: Callable[..., Any],
    make_bin: Callable[..., str],
    scan: Callable[..., Any],
    artifacts_dir: Path,
    width: int,
    height: int,
) -> None:
    zones = ["Assembly line 1", "Assembly line 2", "Packing", "Goods-in"]
    for i in range(36):
        make_bin(
            f"{'ABPG'[i % 4]}-{i // 4:02d}-{i % 3}",
            on_hand=6 + i % 5,
            card=5,
            zone=zones[i % 4],
            supplier=["Acme Fasteners", "Bolt & Co"][i % 2],
        )
    scan("A-00-0", quantity=4)
    scan("B-00-1", quantity=6)  # stockout
    viewport = {"width": width, "height": height}
    board = logged_in("supervisor", viewport=viewport)
    wall = open_wall(viewport=viewport)
    shots = {
        "board": board,
        "board-columns": None,
        "wall": wall,
    }
    for name, page in shots.items():
        if page is None:
            page = board
            page.goto(board.url.split("?")[0] + "?view=columns")
            expect(page.locator("#board .live")).to_have_attribute(
                "data-live", "live", timeout=TIMEOUT
            )
        page.screenshot(path=str(artifacts_dir / f"{name}-{width}x{height}.png"))
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), name


def test_board_filters_as_you_type_keeps_them_in_the_link_and_live_cards_follow(
    logged_in: Callable[..., Any],
    floor: list[str],
    scan: Callable[..., Any],
) -> None:
    board = logged_in("operator")
    board.click("nav a[href='/board']")  # operators land on Scan: the menu leads here
    expect(board.locator("#board .live")).to_have_attribute("data-live", "live", timeout=TIMEOUT)
    board.fill("input[name=q]", "b-1")
    expect(board.locator("[data-shown-n]")).to_have_text("1")
    expect(board.locator('.card[data-bin="B-1"]')).to_be_visible()
    expect(board.locator('.card[data-bin="A-1"]')).to_be_hidden()
    assert "q=b-1" in board.url
    board.fill("input[name=q]", "")
    board.select_option("select[name=state]", "replenish")
    expect(board.locator("[data-shown-n]")).to_have_text("0")
    expect(board.locator("[data-empty]")).to_be_visible()
    # The link reproduces the board: the server applies the same filter.
    board.goto(board.url)
    expect(board.locator("#board .live")).to_have_attribute("data-live", "live", timeout=TIMEOUT)
    expect(board.locator("select[name=state]")).to_have_value("replenish")
    expect(board.locator('.card[data-bin="A-2"]')).to_be_hidden()
    # A card that starts to match appears live, with the counts.
    scan("A-2")
    expect(board.locator('.card[data-bin="A-2"]')).to_be_visible(timeout=1000)
    expect(board.locator("[data-shown-n]")).to_have_text("1")
    expect(board.locator('.card[data-bin="A-1"]')).to_be_hidden()


def test_a_scan_on_one_server_reaches_a_board_on_another(
    browser: Any,
    db_url: str,
    instance: Path,
    make_user: Callable[..., str],
    floor: list[str],
    scan: Callable[..., Any],
) -> None:
    """Two app processes share the database (on PostgreSQL, the multi-host set-up)."""
    other = start_server(db_url, instance / "server-b")
    context = browser.new_context()
    try:
        page = context.new_page()
        user = make_user("super-b", "supervisor")
        login(page, other.url, user, f"password-{user}")
        expect(page.locator("#board .live")).to_have_attribute("data-live", "live", timeout=TIMEOUT)
        scan("A-3")  # sent to the first server
        expect(page.locator('.card[data-bin="A-3"]')).to_have_attribute(
            "data-state", "replenish", timeout=1000
        )
    finally:
        context.close()
        stop_server(other)


def test_a_wall_pages_through_the_zones_when_the_cards_do_not_fit(
    browser: Any,
    live_server: LiveServer,
    make_bin: Callable[..., str],
    make_token: Callable[..., str],
) -> None:
    codes = set()
    # Enough bins that even dense cards need three pages at 1280×720 (about 64 a page).
    for z, zone in enumerate(["Assembly line 1", "Packing", "Goods-in"]):
        for i in range(50):
            codes.add(make_bin(f"{'APG'[z]}-{i:02d}", on_hand=3 + i % 5, card=5, zone=zone))
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    try:
        page = context.new_page()
        page.clock.install()  # fake timers: turn the pages without waiting for them
        page.goto(f"{live_server.url}/wall?rotate=5&token={make_token('display')}")
        expect(page.locator("#wall .live")).to_have_attribute("data-live", "live", timeout=TIMEOUT)
        info = page.locator("[data-page-info]")
        expect(info).to_have_text(re.compile(r"^Page 1/\d+$"))
        pages = int(info.inner_text().split("/")[1])
        assert pages >= 3
        seen: set[str] = set()
        for n in range(1, pages + 1):
            expect(info).to_have_text(f"Page {n}/{pages}")
            shown = page.evaluate(
                """() => {
                    const body = document.querySelector('[data-pages-root]')
                        .getBoundingClientRect();
                    return [...document.querySelectorAll('#wall .card')]
                        .filter((c) => c.offsetParent !== null)
                        .map((c) => {
                            const r = c.getBoundingClientRect();
                            return [c.dataset.bin, r.top >= body.top - 1
                                    && r.bottom <= body.bottom + 1];
                        });
                }"""
            )
            assert shown, f"page {n} shows no card"
            assert all(whole for _, whole in shown), f"page {n} cuts a card off: {shown}"
            seen |= {code for code, _ in shown}
            page.clock.fast_forward(5000)
        expect(info).to_have_text(f"Page 1/{pages}")
        assert seen == codes  # every card comes round
    finally:
        context.close()


def test_an_open_wall_reloads_after_midnight_to_show_deliveries_that_became_overdue(
    browser: Any,
    live_server: LiveServer,
    make_token: Callable[..., str],
    floor: list[str],
    scan: Callable[..., Any],
) -> None:
    # "Overdue" turns on with the date alone; no event carries it to an open screen.
    request_id = scan("A-1")["request"]["id"]
    sent = http.post(
        f"{live_server.url}/api/requests/{request_id}/send",
        headers={"Authorization": f"Bearer {make_token('supervisor')}"},
        timeout=10,
    )
    assert sent.status_code == 200, sent.text
    context = browser.new_context()
    try:
        context.clock.install()  # the page's clock: real time, until the test jumps it
        wall = context.new_page()
        wall.goto(f"{live_server.url}/wall?token={make_token('display', 'TV1')}")
        card = wall.locator('.card[data-bin="A-1"]')
        expect(card).to_have_attribute("data-state", "ordered", timeout=TIMEOUT)
        expect(card.locator(".badge-overdue")).to_have_count(0)
        mark_no_reload(wall)
        # The day the delivery was expected passes (no event is written).
        db.session.execute(
            sa.update(SupplierRequest)
            .where(SupplierRequest.id == request_id)
            .values(expected_date=dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1))
        )
        db.session.commit()
        refresh_at = wall.evaluate("Date.parse(document.getElementById('wall').dataset.refreshAt)")
        to_midnight = int(refresh_at - wall.evaluate("Date.now()"))
        assert 0 < to_midnight <= 24 * 3600 * 1000

        # At midnight the server cannot be reached: the screen keeps what it shows.
        wall.route("**/wall", lambda route: route.abort())
        wall.clock.fast_forward(to_midnight + 61_000)
        wall.wait_for_timeout(2500)
        assert_not_reloaded(wall)
        expect(card).to_have_attribute("data-state", "ordered")

        # Once it answers, the screen reloads by itself and shows the late delivery.
        wall.unroute("**/wall")
        wall.clock.fast_forward(61_000)
        expect(card.locator(".badge-overdue")).to_have_text("Overdue", timeout=TIMEOUT)
        assert wall.evaluate("window.__noReload") is None
        expect(wall.locator('[data-count="overdue"] .count-n')).to_have_text("1")
    finally:
        context.close()


def test_a_supervisor_sizes_a_card_from_its_chart_and_open_boards_follow(
    logged_in: Callable[..., Any],
    make_bin: Callable[..., str],
    live_server: LiveServer,
    artifacts_dir: Path,
) -> None:
    make_bin("S-1", on_hand=66, card=5, order=20, zone="Assembly", lead_time_days=5)
    pull_history("S-1", 2, 28)  # 10 left, 2 a day: ⌈2 × 5 × 1.25⌉ = 13
    board = logged_in("operator")
    board.click("nav a[href='/board']")  # operators land on Scan: the menu leads here
    card = board.locator('.card[data-bin="S-1"]')
    expect(card).to_have_attribute("data-state", "stocked")
    expect(board.locator("#board .live")).to_have_attribute("data-live", "live", timeout=TIMEOUT)
    mark_no_reload(board)

    page = logged_in("supervisor", viewport={"width": 390, "height": 844}, is_mobile=True)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(f"{live_server.url}/bins/S-1")
    expect(page.locator(".sizing-recommended")).to_have_text("13")
    expect(page.locator(".sizing-advice")).to_contain_text("raise from 5")
    bars = page.locator(".demand-bar")
    expect(bars).to_have_count(28)
    assert all(box and box["height"] > 10 for box in (b.bounding_box() for b in bars.all()))
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # fits a phone
    page.screenshot(path=str(artifacts_dir / "bin-card-size-390x844.png"), full_page=True)

    expect(page.locator("#card-quantity")).to_have_value("13")
    page.click(".sizing-apply button")
    expect(page.locator(".flash")).to_contain_text("card quantity 5 → 13")
    expect(page.locator(".sizing-advice")).to_contain_text("the card is right")
    # The board that was open all along shows the flip, without a reload.
    expect(card).to_have_attribute("data-state", "replenish", timeout=TIMEOUT)
    expect(card.locator(".on-hand")).to_have_text("10")
    assert_not_reloaded(board)
    assert errors == []


def test_retiring_a_bin_takes_its_card_off_open_boards_and_bringing_it_back_returns_it(
    logged_in: Callable[..., Any], floor: list[str], live_server: LiveServer
) -> None:
    board = logged_in("operator")
    board.click("nav a[href='/board']")  # operators land on Scan: the menu leads here
    expect(board.locator("#board .live")).to_have_attribute("data-live", "live", timeout=TIMEOUT)
    expect(board.locator(".card[data-bin]")).to_have_count(4)
    mark_no_reload(board)
    supervisor = logged_in("supervisor")
    supervisor.goto(f"{live_server.url}/bins/A-2")
    asked: list[str] = []
    supervisor.once("dialog", lambda d: (asked.append(d.message), d.accept()))
    supervisor.click("text=Retire this bin")  # it asks first, saying what happens
    expect(supervisor.locator(".flash")).to_contain_text("Bin A-2 is retired")
    assert asked and asked[0].startswith("Retire bin A-2? It leaves the board")
    expect(board.locator('.card[data-bin="A-2"]')).to_have_count(0, timeout=TIMEOUT)
    expect(board.locator('[data-count="stocked"] .count-n')).to_have_text("3")
    supervisor.click("text=Bring this bin back")
    expect(supervisor.locator(".flash")).to_contain_text("Bin A-2 is back on the board")
    expect(board.locator('.card[data-bin="A-2"]')).to_have_attribute(
        "data-state", "stocked", timeout=TIMEOUT
    )
    assert_not_reloaded(board)


def open_board(context: Any, base_url: str, user: str, query: str = "") -> Any:
    """A new page of ``context``: ``user`` logs in and opens the board, which goes live."""
    page = context.new_page()
    login(page, base_url, user, f"password-{user}")
    page.goto(f"{base_url}/board{query}")
    expect(page.locator("#board .live")).to_have_attribute("data-live", "live", timeout=TIMEOUT)
    return page


def test_a_board_away_longer_than_the_feed_keeps_events_reloads_in_full(
    live_server: LiveServer,
    browser: Any,
    make_user: Callable[..., str],
    floor: list[str],
    scan: Callable[..., Any],
) -> None:
    proxy = CuttableProxy(int(live_server.url.rsplit(":", 1)[1]))
    context = browser.new_context()
    try:
        board = open_board(context, proxy.url, make_user("super1", "supervisor"))
        mark_no_reload(board)
        # The board loses its connection; meanwhile the floor goes on and, while it is
        # away, the events it missed leave the feed (only the newest is kept).
        board.route("**/api/events**", lambda route: route.abort())
        proxy.cut()
        scan("A-1")
        scan("B-1")
        long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=40)
        db.session.execute(sa.update(Event).values(created_at=long_ago))
        db.session.commit()
        assert feed.prune(dt.datetime.now(dt.UTC) - dt.timedelta(days=30)) > 0
        expect(board.locator("#board .live")).to_have_attribute(
            "data-live", "stale", timeout=TIMEOUT
        )
        expect(board.locator('.card[data-bin="A-1"]')).to_have_attribute("data-state", "stocked")
        # Back online: the feed cannot replay what it no longer holds, so the page reloads
        # in full and shows the floor as it is now.
        board.unroute("**/api/events**")
        for code, state in {"A-1": "replenish", "B-1": "replenish", "A-2": "stocked"}.items():
            card = board.locator(f'.card[data-bin="{code}"]')
            expect(card).to_have_attribute("data-state", state, timeout=TIMEOUT)
        expect(board.locator('.card[data-bin="A-1"] .on-hand')).to_have_text("4")
        assert board.evaluate("window.__noReload === undefined")  # a new page: it reloaded
        expect(board.locator("#board .live")).to_have_attribute(
            "data-live", "live", timeout=TIMEOUT
        )
    finally:
        context.close()
        proxy.close()


def test_a_big_sites_board_shows_one_zone_and_another_zone_is_a_new_page(
    browser: Any,
    db_url: str,
    instance: Path,
    make_user: Callable[..., str],
    floor: list[str],
    scan: Callable[..., Any],
) -> None:
    """Above KANBAN_BOARD_SCOPE_ABOVE bins (3 here), a board filtered by zone holds that
    zone's cards only: live changes of other zones stay off it, and choosing another zone
    loads that zone's page."""
    big = start_server(db_url, instance / "big", extra_env={"KANBAN_BOARD_SCOPE_ABOVE": "3"})
    context = browser.new_context()
    try:
        user = make_user("super-big", "supervisor")
        page = open_board(context, big.url, user, "?zone=Assembly")
        expect(page.locator(".card[data-bin]")).to_have_count(3)
        mark_no_reload(page)
        scan("B-1")  # another zone: not on this page
        scan("A-1")
        card = page.locator('.card[data-bin="A-1"]')
        expect(card).to_have_attribute("data-state", "replenish", timeout=TIMEOUT)
        expect(page.locator('.card[data-bin="B-1"]')).to_have_count(0)
        assert_not_reloaded(page)
        page.select_option("select[name=zone]", "Packing")
        page.wait_for_url(re.compile(r"zone=Packing"), timeout=TIMEOUT)
        expect(page.locator('.card[data-bin="B-1"]')).to_have_attribute(
            "data-state", "replenish", timeout=TIMEOUT
        )
        expect(page.locator(".card[data-bin]")).to_have_count(1)
        expect(page.locator("#board")).to_have_attribute("data-scope-zone", "Packing")
    finally:
        context.close()
        stop_server(big)

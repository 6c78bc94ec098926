"""The wall at a glance, in a real Chromium (issue 13 points 2–4; docs/manual/supervisors.md,
"Wall mode on a TV").

What fits on a page at 1920×1080 and 1280×720 with the 64-bin demo and with 300 bins, that
no text on a card is clipped, that the text read from 5 m is big enough, the "needs action
first" option, that a card changing state is shown at once, and that the wall's clock and
cards are on the site's clock whatever the TV's own time zone.

Layout does not depend on the database, so these run on SQLite only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import requests as http
from flask import Flask
from playwright.sync_api import expect

from kanban.auth import users as auth_service
from kanban.extensions import db
from kanban.masterdata import bins as catalog
from kanban.ops import demo

from ..conftest import LiveServer

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)

TIMEOUT = 15_000
#: A change on screen "at once": well under a second on an idle machine; the bound leaves
#: room for a CI machine that runs other tests beside this one.
AT_ONCE = 5_000
SITE = "America/Chicago"
SCREENS = [(1920, 1080), (1280, 720)]
#: The smallest text read from 5 m, as a share of the screen height (24 px at 1080 lines).
MIN_5M = 24 / 1080
#: Text read from 5 m: the state word, the bin code, on hand / card, counts, clock, groups.
FIVE_METRE = [
    ".card .state-word",
    ".card .code",
    ".card .on-hand",
    ".card .card-qty",
    ".count-word",
    ".count-n",
    ".clock-hm",
    ".zone-name-title",
]
#: Every text element of a card (visible ones are checked for clipping).
CARD_TEXT = ".state-word, .age-text, .code, .sku, .name, .level-text, .supplier, .badge, .reason"


@pytest.fixture(scope="module")
def server_env() -> dict[str, str]:
    """The module's server runs a site in America/Chicago."""
    return {"KANBAN_TIMEZONE": SITE}


@pytest.fixture
def open_wall(
    browser: Any, live_server: LiveServer, make_token: Callable[..., str]
) -> Iterator[Callable[..., Any]]:
    """A TV (a browser of a given size, in Tokyo time) opening the wall's display link."""
    contexts: list[Any] = []
    token = make_token("display", "TV1")

    def open_page(width: int = 1920, height: int = 1080, query: str = "") -> Any:
        context = browser.new_context(
            viewport={"width": width, "height": height}, timezone_id="Asia/Tokyo"
        )
        contexts.append(context)
        page = context.new_page()
        page.goto(f"{live_server.url}/wall?token={token}{query}")
        expect(page.locator("#wall .live")).to_have_attribute("data-live", "live", timeout=TIMEOUT)
        page.wait_for_timeout(300)  # the first layout and the clock
        return page

    yield open_page
    for context in contexts:
        context.close()


def many_bins(per_zone: int) -> None:
    """Four zones of bins named as the demo's; one in five to replenish, some out of stock."""
    for zi, zone in enumerate(demo.ZONES):
        for n in range(per_zone):
            part, _unit = demo.PARTS[(zi * 5 + n) % len(demo.PARTS)]
            name, email, lead = demo.SUPPLIERS[(zi + n) % 4]
            card = 4 + (n * 7) % 17
            on_hand = (0 if n % 10 == 0 else card - 1) if n % 5 == 0 else card + 3 + n % 9
            catalog.create_bin(
                f"{'ABCD'[zi]}-{n // 6 + 1:02d}-{n % 6 + 1:02d}",
                sku=f"{zi + 1}{n + 1:03d}-{part.split()[0][:4].upper()}",
                item_name=part,
                zone=zone,
                supplier=name,
                supplier_email=email,
                lead_time_days=lead,
                on_hand=on_hand,
                card_quantity=card,
                order_quantity=card * 2,
            )
    db.session.commit()


def page_facts(page: Any) -> dict[str, Any]:
    """What the wall shows now: the page counter, the cards on screen, clipped text, sizes."""
    return dict(
        page.evaluate(
            """([cardText, fiveMetre]) => {
      const wall = document.getElementById('wall');
      const body = wall.querySelector('[data-pages-root]').getBoundingClientRect();
      const shown = [...wall.querySelectorAll('.card[data-bin]')].filter(
        (c) => c.getClientRects().length > 0);
      const clipped = [];
      const outside = [];
      for (const card of shown) {
        const box = card.getBoundingClientRect();
        if (box.top < body.top - 1 || box.bottom > body.bottom + 1) outside.push(card.dataset.bin);
        for (const el of card.querySelectorAll(cardText)) {
          const r = el.getBoundingClientRect();
          if (!el.getClientRects().length || r.width < 2) continue; // not shown (dense card)
          const over = el.scrollWidth > el.clientWidth + 1 && el.clientWidth > 0;
          const out = r.left < box.left - 0.5 || r.right > box.right + 0.5
            || r.top < box.top - 0.5 || r.bottom > box.bottom + 0.5;
          if (over || out) clipped.push(`${card.dataset.bin} ${el.className}: ${el.textContent}`);
        }
      }
      const small = {};
      for (const sel of fiveMetre) {
        for (const el of wall.querySelectorAll(sel)) {
          if (!el.getClientRects().length) continue;
          const size = parseFloat(getComputedStyle(el).fontSize);
          small[sel] = Math.min(small[sel] ?? 1e9, size);
        }
      }
      const icon = shown.length
        ? shown[0].querySelector('.state-tag .icon').getBoundingClientRect().height : 0;
      return {
        info: wall.querySelector('[data-page-info]').textContent,
        paged: wall.classList.contains('paged'),
        dense: wall.classList.contains('dense'),
        cards: shown.map((c) => c.dataset.bin),
        clipped, outside, sizes: small, icon,
      };
    }""",
            [CARD_TEXT, FIVE_METRE],
        )
    )


def assert_readable(facts: dict[str, Any], height: int) -> None:
    assert facts["clipped"] == [] and facts["outside"] == []
    least = MIN_5M * height - 0.5
    assert all(size >= least for size in facts["sizes"].values()), (least, facts["sizes"])
    assert set(facts["sizes"]) >= {".card .state-word", ".card .code", ".count-n"}
    # The state word (and its icon) is bigger than the 20 px it was at 1080 lines.
    assert facts["sizes"][".card .state-word"] > 20 * height / 1080
    assert facts["icon"] > 20 * height / 1080


def test_the_64_bin_demo_fits_one_page_at_1920_and_at_1280(
    app: Flask, open_wall: Callable[..., Any]
) -> None:
    demo.seed()
    db.session.commit()
    for width, height in SCREENS:
        wall = open_wall(width, height)
        facts = page_facts(wall)
        assert len(facts["cards"]) == 64, (width, facts["info"])
        assert not facts["paged"] and facts["dense"]
        assert_readable(facts, height)


def test_300_bins_page_through_dense_pages_that_are_full_and_unclipped(
    app: Flask, open_wall: Callable[..., Any]
) -> None:
    many_bins(75)
    for width, height in SCREENS:
        wall = open_wall(width, height, "&rotate=5")
        first = page_facts(wall)
        assert first["paged"] and first["dense"]
        pages = int(first["info"].rsplit("/", 1)[1])
        # At least 56 cards a page (the 64-bin demo's 64 minus a zone heading's row share).
        assert len(first["cards"]) >= 56 and pages <= 6, (width, first["info"], len(first["cards"]))
        assert_readable(first, height)
        expect(wall.locator("[data-page-info]")).to_have_text(f"Page 2/{pages}", timeout=30_000)
        second = page_facts(wall)
        assert len(second["cards"]) >= 56 and not set(second["cards"]) & set(first["cards"])
        assert_readable(second, height)


def test_few_bins_show_full_cards_without_clipping(
    make_bin: Callable[..., str], open_wall: Callable[..., Any], api_scan: Callable[..., Any]
) -> None:
    for n in range(6):
        make_bin(f"A-0{n + 1}", on_hand=6, card=5, zone="Assembly line 1")
    api_scan("A-01", 2)
    api_scan("A-02", 6)  # to 0: a stockout
    for width, height in SCREENS:
        facts = page_facts(open_wall(width, height))
        assert len(facts["cards"]) == 6 and not facts["dense"] and not facts["paged"]
        assert_readable(facts, height)


@pytest.fixture
def api_scan(live_server: LiveServer, make_token: Callable[..., str]) -> Callable[..., Any]:
    """A pull through the running server's API, as a scanner station sends it."""
    headers = {"Authorization": f"Bearer {make_token('operator')}"}

    def send(code: str, quantity: int) -> dict[str, Any]:
        resp = http.post(
            live_server.url + "/api/scans",
            headers=headers,
            timeout=10,
            # confirm: a pull this size is unusual for a bin that is pulled one at a time
            json={"code": code, "mode": "pull", "quantity": quantity, "confirm": True},
        )
        assert resp.status_code == 201, resp.text
        return dict(resp.json())

    return send


def below_card(wall: Any, code: str) -> int:
    """The pull that takes a card's stock just below its card quantity."""
    card = wall.locator(f'.card[data-bin="{code}"]')
    on_hand = int(card.locator(".on-hand").text_content())
    return on_hand - int(card.locator(".card-qty").text_content()) + 1


def test_needs_action_first_puts_replenish_stockout_and_overdue_first(
    app: Flask, open_wall: Callable[..., Any], api_scan: Callable[..., Any]
) -> None:
    many_bins(16)
    wall = open_wall(1920, 1080, "&sort=action")
    urgent = wall.locator("[data-action-section] .card")
    first = wall.evaluate(
        "[...document.querySelectorAll('#wall .card[data-bin]')].map((c) => c.dataset.bin)"
    )
    n = urgent.count()
    assert n > 0 and first[:n] == urgent.evaluate_all("cs => cs.map((c) => c.dataset.bin)")
    states = urgent.evaluate_all("cs => cs.map((c) => c.dataset.state)")
    assert set(states) == {"replenish"}
    rest = wall.locator("[data-zone-section]:not([data-action-section]) .card")
    assert "replenish" not in rest.evaluate_all("cs => cs.map((c) => c.dataset.state)")
    # A card that flips joins the group at once.
    stocked = rest.first.get_attribute("data-bin")
    api_scan(stocked, below_card(wall, stocked))
    expect(wall.locator(f'[data-action-section] .card[data-bin="{stocked}"]')).to_be_visible(
        timeout=AT_ONCE
    )
    assert page_facts(wall)["clipped"] == []


def test_a_card_that_changes_state_is_shown_at_once_whichever_page_is_up(
    app: Flask, open_wall: Callable[..., Any], api_scan: Callable[..., Any]
) -> None:
    many_bins(75)
    wall = open_wall(1280, 720, "&rotate=300")
    facts = page_facts(wall)
    assert facts["info"].startswith("Page 1/")
    far = "D-12-01"  # in the last zone: never on the first page
    assert far not in facts["cards"]
    card = wall.locator(f'.card[data-bin="{far}"]')
    assert card.get_attribute("data-state") == "stocked"
    api_scan(far, below_card(wall, far))
    expect(card).to_have_attribute("data-state", "replenish", timeout=AT_ONCE)
    expect(card).to_be_visible(timeout=AT_ONCE)
    assert "flipped" in (card.get_attribute("class") or "")
    assert wall.locator("[data-page-info]").text_content() != facts["info"]


def test_wall_clock_and_cards_are_on_the_site_clock_not_the_tvs(
    app: Flask,
    make_bin: Callable[..., str],
    open_wall: Callable[..., Any],
    api_scan: Callable[..., Any],
    logged_in: Callable[..., Any],
    live_server: LiveServer,
) -> None:
    make_bin("A-01", on_hand=6, card=5, zone="Assembly line 1")
    wall = open_wall()  # the TV runs on Tokyo time
    flip = api_scan("A-01", 2)["bin"]
    since = dt.datetime.fromisoformat(flip["state_since"]).astimezone(ZoneInfo(SITE))
    local = f"{since:%Y-%m-%d %H:%M} {since.tzname()}"
    reason = wall.locator('.card[data-bin="A-01"] .reason')
    expect(reason).to_contain_text(f"since {local}", timeout=AT_ONCE)

    now = dt.datetime.now(ZoneInfo(SITE))
    shown = wall.locator(".clock-hm").text_content()
    later = now + dt.timedelta(seconds=70)
    assert shown in (f"{now:%H:%M}", f"{later:%H:%M}")
    assert wall.locator(".clock-zone").text_content() == now.tzname()

    # The wall after a reload (rendered by the server), and the browser's own formatting
    # on another page, say the same.
    wall.reload()
    expect(wall.locator('.card[data-bin="A-01"] .reason')).to_contain_text(f"since {local}")
    text = wall.evaluate(
        "(iso) => import('/static/js/clock.js').then((m) => m.localText(iso))",
        flip["state_since"],
    )
    assert text == local
    # The scan page (recent scans, "scanned at … while offline") names the same moment alike.
    scan_page = logged_in("operator", timezone_id="Asia/Tokyo")
    scan_page.goto(f"{live_server.url}/scan")
    clock_text = scan_page.evaluate(
        "(iso) => import('/static/js/scan-station.js').then((m) => m.clock(iso))",
        flip["state_since"],
    )
    assert clock_text == f"{since:%H:%M:%S} {since.tzname()}"


def test_a_revoked_display_says_so_on_the_screen_and_stops_asking(
    open_wall: Callable[..., Any], app: Flask
) -> None:
    page = open_wall()
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if "/api/events" in r.url else None)
    [token] = auth_service.list_tokens()
    auth_service.revoke_token(token.id)
    db.session.commit()
    banner = page.locator("#access-revoked")
    expect(banner).to_have_text(
        "⛔ This screen's access was revoked; ask a supervisor for a new link.", timeout=TIMEOUT
    )
    expect(page.locator("#wall .live")).to_have_attribute("data-live", "revoked")
    expect(page.locator("#wall .live")).to_have_text("Access revoked")
    assert banner.get_attribute("role") == "alert"
    asked.clear()
    page.wait_for_timeout(3_000)  # longer than a poll and the stream's retry
    assert asked == []  # it stopped asking, and never reloaded into a login form
    assert "/wall" in page.url and page.locator("input[name=password]").count() == 0


def test_revoking_a_token_asks_first_and_says_what_happens(
    logged_in: Callable[..., Any], live_server: LiveServer, make_token: Callable[..., str]
) -> None:
    make_token("display", "TV1")
    page = logged_in("admin")
    page.goto(f"{live_server.url}/admin/tokens")
    questions: list[str] = []

    def answer(dialog: Any, accept: bool) -> None:
        questions.append(dialog.message)
        if accept:
            dialog.accept()
        else:
            dialog.dismiss()

    page.once("dialog", lambda d: answer(d, accept=False))
    page.click("tr:has-text('TV1') button:has-text('Revoke')")
    page.wait_for_timeout(500)
    assert "/admin/tokens" in page.url
    assert auth_service.list_tokens()[0].revoked_at is None  # "no" changes nothing
    page.once("dialog", lambda d: answer(d, accept=True))
    with page.expect_navigation():
        page.click("tr:has-text('TV1') button:has-text('Revoke')")
    db.session.rollback()
    assert auth_service.list_tokens()[0].revoked_at is not None
    assert questions[0] == questions[1]
    assert questions[0].startswith("Revoke the token TV1?")
    assert "shows that its access was revoked" in questions[0]

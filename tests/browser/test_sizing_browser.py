"""The card-size review in a real Chromium: nothing ticked, a plan with its counts, then
the confirmation (no script needed: the page works under the Content-Security-Policy)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from playwright.sync_api import expect

from kanban.extensions import db
from kanban.models import Bin, RequestLine

from ..conftest import LiveServer, pull_history


def test_a_supervisor_ticks_reviews_the_counts_and_confirms_card_sizes(
    logged_in: Callable[..., Any],
    make_bin: Callable[..., str],
    live_server: LiveServer,
    artifacts_dir: Path,
) -> None:
    make_bin("R-1", on_hand=66, card=5, order=20, lead_time_days=5)  # 2/day → 13, above stock
    make_bin("R-2", on_hand=500, card=40, order=20, lead_time_days=5)  # 1/day → 7
    make_bin("R-3", on_hand=500, card=4, order=20, lead_time_days=5)  # 2/day → 13
    for code, per_day in (("R-1", 2), ("R-2", 1), ("R-3", 2)):
        pull_history(code, per_day, 28)
    page = logged_in("supervisor")
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(f"{live_server.url}/")
    page.click("nav >> text=Card sizes")
    boxes = page.locator('input[name="apply"]')
    expect(boxes).to_have_count(3)
    for i in range(3):
        expect(boxes.nth(i)).not_to_be_checked()  # nothing changes by accident

    page.check('tr[data-bin="R-1"] input[name="apply"]')
    page.check('tr[data-bin="R-3"] input[name="apply"]')
    page.click("#sizing-review")
    expect(page.locator("h1")).to_have_text("Apply 2 card sizes?")
    expect(page.locator('[data-count="cards"]')).to_have_text("2 cards")
    expect(page.locator('[data-count="lines"]')).to_have_text("1 request line")
    expect(page.locator('li[data-count="opened"]')).to_contain_text("1 card flips to")
    expect(page.locator('tr[data-bin="R-1"]')).to_contain_text("5 → 13")
    page.screenshot(path=str(artifacts_dir / "sizing-confirm.png"), full_page=True)
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(RequestLine.id))) == 0  # not yet

    page.click("#sizing-confirm")
    expect(page.locator(".flash")).to_contain_text("Card size applied to 2 bins.")
    db.session.rollback()
    got = {b.code: (b.card_quantity, b.state) for b in db.session.scalars(sa.select(Bin))}
    assert got == {"R-1": (13, "replenish"), "R-2": (40, "stocked"), "R-3": (13, "stocked")}
    assert db.session.scalar(sa.select(sa.func.count(RequestLine.id))) == 1

    # Backing out of a review changes nothing.
    page.check('tr[data-bin="R-2"] input[name="apply"]')
    page.click("#sizing-review")
    page.click("#sizing-cancel")
    expect(page.locator("h1")).to_have_text("Card sizes")
    db.session.rollback()
    assert db.session.scalar(sa.select(Bin.card_quantity).where(Bin.code == "R-2")) == 40
    assert errors == []

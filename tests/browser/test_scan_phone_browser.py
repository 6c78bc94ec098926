"""The phone is made for scanning (issue 13, point 5), in a real Chromium at 390 × 844.

Where the bullet is about working the page (the time a scan was made, a renamed station,
the scans sent after a drop) it runs with touch on the phone and again with a USB wedge on
a station PC.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from kanban.domain.statuses import Mode

from ..conftest import LiveServer
from .scan_page import PHONE, TIMEOUT, Hands, movements, open_scan, wait_result, watch

STYLES = ["wedge", "touch"]

#: Every element a finger can use, and where a checkbox's target is its label.
TAP_TARGETS = """() => {
  const seen = [];
  const targets = document.querySelectorAll(
    'a[href], button, summary, select, input:not([type=hidden]):not([type=file]), label.btn');
  for (const el of targets) {
    const target = el.type === 'checkbox' ? el.closest('label') || el : el;
    const rects = target.getClientRects();
    const style = getComputedStyle(target);
    if (!rects.length || style.visibility === 'hidden' || target.closest('[hidden]')) continue;
    if (target.classList.contains('visually-hidden')) continue;
    const box = target.getBoundingClientRect();
    seen.push({what: target.id || target.textContent.trim().slice(0, 30) || target.tagName,
               width: Math.round(box.width), height: Math.round(box.height)});
  }
  return seen;
}"""

#: Buttons (and things that look like one) whose text does not fit.
OVERFLOWING = """() => [...document.querySelectorAll('button, .btn')]
  .filter((b) => b.getClientRects().length && !b.closest('[hidden]'))
  .filter((b) => b.scrollWidth > b.clientWidth || b.scrollHeight > b.clientHeight)
  .map((b) => `${b.id || b.className}: ${b.textContent.trim()} (${b.scrollWidth} px)`)
"""


def page_for(
    style: str, logged_in: Callable[..., Any], server: LiveServer, errors: list[str]
) -> tuple[Any, Hands]:
    extra = PHONE if style == "touch" else {}
    page = open_scan(watch(logged_in("operator", name="ana", **extra), errors), server)
    return page, Hands(page, style)


def test_an_operator_lands_on_scan_and_a_supervisor_on_the_board(
    logged_in: Callable[..., Any], live_server: LiveServer, errors: list[str]
) -> None:
    operator = watch(logged_in("operator", **PHONE), errors)
    assert operator.url == f"{live_server.url}/scan"
    operator.wait_for_selector("#scan-app[data-ready=true]", timeout=TIMEOUT)
    supervisor = watch(logged_in("supervisor", **PHONE), errors)
    assert supervisor.url == f"{live_server.url}/board"


def test_every_tap_target_is_44_px_and_no_button_text_overflows_on_a_phone(
    logged_in: Callable[..., Any],
    live_server: LiveServer,
    make_bin: Callable[..., str],
    artifacts_dir: Path,
    errors: list[str],
) -> None:
    make_bin("H-1", on_hand=5, card=5)
    make_bin("H-2", on_hand=26, card=5)
    page, hands = page_for("touch", logged_in, live_server, errors)
    hands.scan("H-1")  # a recent scan with Undo
    wait_result(page, "ok", "H-1")
    page.wait_for_selector("#scan-recent .r-undo", timeout=TIMEOUT)
    hands.quantity(99)
    hands.scan("H-2")  # an open question, its two buttons
    page.wait_for_selector("#scan-ask:not([hidden])", timeout=TIMEOUT)
    page.tap(".settings summary")  # the station settings, their links and the beep toggle
    page.wait_for_selector("#scan-sound", timeout=TIMEOUT)
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390

    targets = page.evaluate(TAP_TARGETS)
    names = {t["what"] for t in targets}
    for expected in ("Board", "Scan", "Log out", "ask-confirm", "ask-cancel", "qty-plus"):
        assert expected in names, expected
    assert any("Print the command barcodes" in n for n in names)
    assert any("Beep on every scan" in n for n in names)
    small = [t for t in targets if t["width"] < 44 or t["height"] < 44]
    assert small == [], small
    page.screenshot(path=str(artifacts_dir / "scan-phone-question.png"), full_page=True)

    for mode in (Mode.PULL, Mode.RECEIVE, Mode.COUNT):  # the pressed mode gets a ✓
        hands.mode(mode)
        assert page.evaluate(OVERFLOWING) == [], mode


@pytest.mark.parametrize("style", STYLES)
def test_scans_sent_after_a_network_drop_are_listed_with_what_each_did(
    style: str,
    logged_in: Callable[..., Any],
    live_server: LiveServer,
    make_bin: Callable[..., str],
    errors: list[str],
) -> None:
    make_bin("N-1", on_hand=5, card=5)  # flips on the first pull
    make_bin("N-2", on_hand=30, card=5)
    page, hands = page_for(style, logged_in, live_server, errors)
    page.route("**/api/scans", lambda route: route.abort())
    for code in ("N-1", "N-2", "NOPE"):
        hands.scan(code)
        wait_result(page, "queued", code)
    page.unroute("**/api/scans")
    page.wait_for_selector("#scan-sent:not([hidden])", timeout=TIMEOUT)
    assert page.get_attribute("#scan-sent", "data-count") == "3"
    title = page.inner_text("#scan-sent-title")
    assert (
        title == "3 waiting scans sent now that the server is back · 1 card flipped · 1 not booked."
    )
    rows = page.locator("#scan-sent-list li")
    assert [rows.nth(i).get_attribute("data-result") for i in range(3)] == [
        "flipped",
        "ok",
        "refused",
    ]
    flipped = rows.nth(0).inner_text()
    assert "Pulled 1" in flipped and "N-1" in flipped and "→ 4 on hand" in flipped
    assert "⚑ Card flipped to Replenish: 4 on hand < card 5" in flipped
    assert "→ 29 on hand" in rows.nth(1).inner_text()
    assert "✖ Not recorded" in rows.nth(2).inner_text()
    # The recent list marks the flip too.
    page.wait_for_selector("#scan-recent .r-flip", timeout=TIMEOUT)
    assert "card flipped to Replenish" in page.inner_text("#scan-recent .r-flip")
    if style == "touch":
        page.tap("#scan-sent-close")
    else:
        page.click("#scan-sent-close")
    page.wait_for_selector("#scan-sent", state="hidden", timeout=TIMEOUT)
    assert [m.bin.code for m in movements("pull")] == ["N-1", "N-2"]


@pytest.mark.parametrize("style", STYLES)
def test_the_recent_list_shows_when_each_scan_was_made_not_when_it_was_received(
    style: str,
    logged_in: Callable[..., Any],
    live_server: LiveServer,
    make_bin: Callable[..., str],
    errors: list[str],
) -> None:
    make_bin("T-1", on_hand=30, card=5)
    page, hands = page_for(style, logged_in, live_server, errors)
    made = dt.datetime.now(dt.UTC) - dt.timedelta(hours=2, minutes=17, seconds=5)
    page.clock.set_fixed_time(made)  # scanned while the device was offline, long ago
    page.route("**/api/scans", lambda route: route.abort())
    hands.scan("T-1")
    wait_result(page, "queued", "T-1")
    # Shown on the site's clock with its zone named, whatever the device's own setting.
    site = ZoneInfo(page.evaluate("() => import('/static/js/clock.js').then((m) => m.ZONE)"))
    there = made.astimezone(site)
    shown = f"{there:%H:%M:%S} {there.tzname()}"
    assert page.inner_text("#scan-recent .recent-waiting .r-time") == shown
    page.unroute("**/api/scans")
    page.wait_for_selector("#scan-recent .recent-done", timeout=TIMEOUT)
    [pull] = movements("pull")
    assert abs(pull.created_at - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=5)  # booked now
    assert page.inner_text("#scan-recent .recent-done .r-time") == shown  # ...made 2 h ago
    page.reload()  # the device remembers when its scans were made
    page.wait_for_selector("#scan-recent .recent-done", timeout=TIMEOUT)
    assert page.inner_text("#scan-recent .recent-done .r-time") == shown


@pytest.mark.parametrize("style", STYLES)
def test_renaming_the_station_keeps_your_scans_and_their_undo(
    style: str,
    logged_in: Callable[..., Any],
    live_server: LiveServer,
    make_bin: Callable[..., str],
    errors: list[str],
) -> None:
    # A label's length: the scanner types into the station field, and the page tells its
    # burst by the median key gap, which three keys cannot keep on a busy test machine.
    make_bin("S-01-01", on_hand=30, card=5)
    page, hands = page_for(style, logged_in, live_server, errors)
    if style == "touch":
        page.tap(".settings summary")
    else:
        page.click(".settings summary")
    page.fill("#scan-station", "Dock 1")
    page.dispatch_event("#scan-station", "change")
    hands.scan("S-01-01")
    wait_result(page, "ok", "S-01-01")
    page.wait_for_selector("#scan-recent .recent-done .r-undo", timeout=TIMEOUT)

    page.fill("#scan-station", "Dock 2")  # a typo fixed, the phone carried to another dock
    page.dispatch_event("#scan-station", "change")
    page.wait_for_function(
        "() => document.querySelector('#station-label').textContent.includes('Dock 2')"
        " && document.querySelector('#scan-recent .recent-done .r-who')"
        "?.textContent === 'you at Dock 1'",
        timeout=TIMEOUT,
    )
    assert page.locator("#scan-recent .recent-done").count() == 1
    if style == "touch":
        page.tap("#scan-recent .r-undo")
    else:
        page.click("#scan-recent .r-undo")
    wait_result(page, "undo", "Undone")
    page.wait_for_selector("#scan-recent .recent-undone", timeout=TIMEOUT)
    assert [m.kind for m in movements()] == ["pull", "undo"]


def test_a_press_on_undo_is_not_lost_when_the_recent_list_refreshes(
    logged_in: Callable[..., Any],
    live_server: LiveServer,
    make_bin: Callable[..., str],
    errors: list[str],
) -> None:
    """The recent list refreshes on a timer; a finger that presses Undo while it does must
    still undo (press and release on the same button)."""
    make_bin("S-2", on_hand=30, card=5)
    page, hands = page_for("wedge", logged_in, live_server, errors)
    hands.scan("S-2")
    wait_result(page, "ok", "S-2")
    undo = page.locator("#scan-recent .recent-done .r-undo")
    undo.wait_for(timeout=TIMEOUT)
    box = undo.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    # The list refreshes from the server while the button is held down.
    page.evaluate(
        "() => import('/static/js/scan-recent.js').then(async (m) => {"
        " for (let i = 0; i < 3; i++) await m.refreshRecent(); })"
    )
    page.mouse.up()
    wait_result(page, "undo", "Undone")
    page.wait_for_selector("#scan-recent .recent-undone", timeout=TIMEOUT)
    assert [m.kind for m in movements()] == ["pull", "undo"]

"""No wrong booking without a question (issue 13, point 1), in a real Chromium.

Each case runs twice: with a USB wedge (keys at scanner speed, command barcodes to answer)
on a station PC, and with touch on a 390 × 844 phone. Every test checks what the page
shows and what the server recorded.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from kanban.core.actor import Actor
from kanban.extensions import db
from kanban.purchasing import sending
from kanban.stock.scanning import record_scan

from ..conftest import LiveServer
from .scan_page import (
    PHONE,
    TIMEOUT,
    Hands,
    movements,
    on_hand,
    open_scan,
    wait_result,
    watch,
)

STYLES = ["wedge", "touch"]
SETUP = Actor(name="setup")
#: A second scan of the same label comes after the double-read window (1.5 s).
AFTER_DOUBLE_READ_MS = 1600


def operator_page(
    style: str, logged_in: Callable[..., Any], server: LiveServer, errors: list[str]
) -> tuple[Any, Hands]:
    extra = PHONE if style == "touch" else {}
    page = open_scan(watch(logged_in("operator", name="ana", **extra), errors), server)
    return page, Hands(page, style)


def send_order(code: str, received: int = 0) -> None:
    """Flip the bin with a pull, send its request, and receive ``received`` of it."""
    flipped = record_scan(code, "pull", None, SETUP, None)
    assert flipped.request is not None
    sending.mark_sent(int(flipped.request["id"]))
    db.session.commit()
    if received:
        record_scan(code, "receive", received, SETUP, None)


def booked() -> list[tuple[str, str, int]]:
    """The ledger rows the operator made (not the set-up's)."""
    return [(m.kind, m.bin.code, m.quantity) for m in movements() if m.actor == "ana"]


def wait_question(page: Any, contains: str) -> str:
    page.wait_for_selector("#scan-ask:not([hidden])", timeout=TIMEOUT)
    page.wait_for_function(
        "(t) => document.querySelector('#scan-ask').textContent.includes(t)",
        arg=contains,
        timeout=TIMEOUT,
    )
    return str(page.inner_text("#scan-ask"))


def expect_automatic(page: Any) -> None:
    """The quantity field is empty and the page says the next scan is automatic."""
    assert page.input_value("#scan-qty") == ""
    assert page.get_attribute("#scan-app", "data-qty") == "auto"
    assert page.inner_text("#scan-qty-now") == "· quantity: automatic"


@pytest.mark.parametrize("style", STYLES)
def test_a_receipt_over_the_order_asks_and_its_quantity_never_reaches_the_next_scan(
    style: str,
    logged_in: Callable[..., Any],
    live_server: LiveServer,
    make_bin: Callable[..., str],
    errors: list[str],
) -> None:
    # The issue: Receive 9 with 4 still open answered "Confirm to book it anyway" with no
    # way to confirm, left the 9 in the field, and the next pull on another bin booked it.
    make_bin("R-1", on_hand=5, card=5, order=20)
    make_bin("B-2", on_hand=26, card=5, order=20)
    send_order("R-1", received=16)  # 4 still open
    page, hands = operator_page(style, logged_in, live_server, errors)

    hands.mode("receive")
    hands.quantity(9)
    hands.scan("R-1")
    wait_result(page, "ask", "Confirm or cancel")
    text = wait_question(page, "Receive 9 · bin R-1")
    assert "Only 4 ea of bin R-1 are still open on the order" in text
    expect_automatic(page)  # the refused 9 is not left for the next scan

    hands.mode("pull")
    hands.scan("B-2")  # the next scan: another bin, automatic quantity
    assert "Pulled 1" in wait_result(page, "ok", "B-2")
    assert page.is_visible("#scan-ask")  # the question waits for its answer
    assert booked() == [("pull", "B-2", -1)]

    hands.confirm()
    text = wait_result(page, "ok", "Received 9")
    assert "Confirmed by you" in text
    page.wait_for_selector("#scan-ask", state="hidden", timeout=TIMEOUT)
    assert booked() == [("pull", "B-2", -1), ("receipt", "R-1", 9)]
    assert on_hand("R-1") == 4 + 16 + 9 and on_hand("B-2") == 25


@pytest.mark.parametrize("style", STYLES)
def test_a_pull_far_above_stock_asks_and_is_booked_only_when_confirmed(
    style: str,
    logged_in: Callable[..., Any],
    live_server: LiveServer,
    make_bin: Callable[..., str],
    errors: list[str],
) -> None:
    make_bin("A-1", on_hand=26, card=5, order=20, pull=1)  # the bin
    page, hands = operator_page(style, logged_in, live_server, errors)

    hands.quantity(99)
    hands.scan("A-1")
    wait_result(page, "ask", "Confirm or cancel")
    text = wait_question(page, "Pull 99 · bin A-1")
    assert "more than the 26 on hand, the order quantity of 20 and 10 times the usual pull" in text
    assert page.inner_text("#ask-confirm") == "✔ Yes, pull 99"
    expect_automatic(page)
    hands.cancel()
    assert "Nothing was booked" in wait_result(page, "command", "Cancelled")
    page.wait_for_selector("#scan-ask", state="hidden", timeout=TIMEOUT)
    page.wait_for_selector("#scan-recent .recent-failed", timeout=TIMEOUT)
    assert "cancelled by you" in page.inner_text("#scan-recent .recent-failed")
    assert booked() == [] and on_hand("A-1") == 26

    page.wait_for_timeout(AFTER_DOUBLE_READ_MS)
    if style == "wedge":  # a command barcode with nothing to answer says so
        hands.cancel()
        wait_result(page, "error", "No question open")
    else:  # the buttons are gone with the question
        assert not page.is_visible("#ask-cancel")
    hands.quantity(99)
    hands.scan("A-1")
    wait_question(page, "Pull 99 · bin A-1")
    hands.confirm()
    assert "On hand -73" in wait_result(page, "ok", "Pulled 99")
    assert booked() == [("pull", "A-1", -99)]
    expect_automatic(page)


@pytest.mark.parametrize("style", STYLES)
def test_a_quantity_typed_into_a_field_holding_one_replaces_it_and_serves_one_scan(
    style: str,
    logged_in: Callable[..., Any],
    live_server: LiveServer,
    make_bin: Callable[..., str],
    errors: list[str],
) -> None:
    # The issue: tapping into a field holding 12 and typing 50 gave 1502.
    make_bin("C-1", on_hand=200, card=20, order=100, pull=5)
    make_bin("C-2", on_hand=200, card=20, order=100, pull=5)
    page, hands = operator_page(style, logged_in, live_server, errors)
    page.fill("#scan-qty", "12")
    page.dispatch_event("#scan-qty", "input")
    page.locator("#scan-qty").blur()
    # Into the middle of "12", by finger or by mouse: the first key replaces what it holds.
    if style == "touch":
        page.tap("#scan-qty")
    else:
        page.click("#scan-qty")
    page.keyboard.type("50", delay=120)  # a person's keys, not a scanner's burst
    assert page.input_value("#scan-qty") == "50"
    assert page.get_attribute("#scan-app", "data-qty") == "set"
    now = page.inner_text("#scan-qty-now")
    assert now == "· quantity 50 for the next scan only, then automatic"

    if style == "wedge":
        page.keyboard.press("Enter")  # back to the scan field
    hands.scan("C-1")
    text = wait_result(page, "ok", "Pulled 50")
    assert "Quantity 50 was for this scan only: the next scan is automatic." in text
    expect_automatic(page)
    hands.scan("C-2")
    wait_result(page, "ok", "C-2")
    assert booked() == [("pull", "C-1", -50), ("pull", "C-2", -5)]


@pytest.mark.parametrize("style", STYLES)
def test_a_waiting_scan_that_comes_back_with_a_question_asks_and_is_never_lost(
    style: str,
    logged_in: Callable[..., Any],
    live_server: LiveServer,
    make_bin: Callable[..., str],
    errors: list[str],
) -> None:
    make_bin("G-1", on_hand=26, card=5, order=20)
    make_bin("G-2", on_hand=5, card=5, order=20)
    page, hands = operator_page(style, logged_in, live_server, errors)
    page.route("**/api/scans", lambda route: route.abort())  # the network drops
    hands.quantity(99)
    hands.scan("G-1")
    wait_result(page, "queued", "G-1")
    hands.scan("G-2")
    page.wait_for_function(
        "() => document.querySelectorAll('#scan-recent .recent-waiting').length === 2",
        timeout=TIMEOUT,
    )
    if style == "wedge":  # the station PC reloads: the waiting scans survive it
        page.reload()
        page.wait_for_selector("#scan-app[data-ready=true]", timeout=TIMEOUT)

    page.unroute("**/api/scans")  # back: the page sends them by itself
    if style == "wedge":
        page.click("#scan-send-now")
    else:
        page.tap("#scan-send-now")
    wait_question(page, "Pull 99 · bin G-1")
    page.wait_for_selector("#scan-sent:not([hidden])", timeout=TIMEOUT)
    sent = page.inner_text("#scan-sent")
    assert "2 waiting scans sent" in sent and "1 card flipped" in sent and "1 not booked" in sent
    assert "? Not booked yet: answer the question" in sent
    assert "⚑ Card flipped to Replenish" in sent
    assert booked() == [("pull", "G-2", -1)]  # the 99 is not booked without an answer

    if style == "wedge":  # the question survives a reload too
        page.reload()
        page.wait_for_selector("#scan-app[data-ready=true]", timeout=TIMEOUT)
        wait_question(page, "Pull 99 · bin G-1")
    hands.confirm()
    wait_result(page, "ok", "Pulled 99")
    assert booked() == [("pull", "G-2", -1), ("pull", "G-1", -99)]
    assert page.evaluate(
        "() => Object.keys(localStorage).filter(k => k.startsWith('kanban.scanAsk'))"
        ".map(k => JSON.parse(localStorage[k]).length)"
    ) == [0]

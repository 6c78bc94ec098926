"""Driving the scan page in the browser tests: open it, scan as a USB scanner does, wait for
the result banner, and read what the server recorded."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from kanban.extensions import db
from kanban.models import Bin, Movement

from ..conftest import LiveServer

TIMEOUT = 15_000  # ms; waits end as soon as their condition holds
PHONE = {"viewport": {"width": 390, "height": 844}, "has_touch": True, "is_mobile": True}


def open_scan(page: Any, server: LiveServer) -> Any:
    page.goto(f"{server.url}/scan")
    page.wait_for_selector("#scan-app[data-ready=true]", timeout=TIMEOUT)
    return page


def scan(page: Any, text: str) -> None:
    """What a USB scanner does: type fast, then Enter.

    One call, so that the keys and the Enter leave together rather than in two round
    trips from this process, which a busy test machine can hold apart for longer than
    any scanner would; and no timer between the keys (``delay=0``): each key still
    waits for the browser to take it, and on a busy machine a 5 ms timer fired late
    enough, twice, to make a three-key code look typed by hand (the page counts a
    median gap over 80 ms as a person).
    """
    page.keyboard.type(text + "\n", delay=0)


def wait_result(page: Any, outcome: str, contains: str = "") -> str:
    sel = f"#scan-result[data-outcome={outcome}]"
    page.wait_for_selector(sel, timeout=TIMEOUT)
    if contains:
        page.wait_for_function(
            "([sel, text]) => document.querySelector(sel)?.textContent.includes(text)",
            arg=[sel, contains],
            timeout=TIMEOUT,
        )
    return str(page.inner_text("#scan-result"))


def movements(kind: str | None = None) -> list[Movement]:
    db.session.rollback()
    stmt = sa.select(Movement).where(Movement.kind != "initial").order_by(Movement.id)
    if kind:
        stmt = stmt.where(Movement.kind == kind)
    return list(db.session.scalars(stmt))


def on_hand(code: str) -> int:
    db.session.rollback()
    return int(db.session.scalar(sa.select(Bin.on_hand).where(Bin.code == code)) or 0)


def watch(page: Any, found: list[str]) -> Any:
    page.on("pageerror", lambda exc: found.append(str(exc)))
    return page


class Hands:
    """How an operator works the scan page: ``wedge`` is a station PC with a USB scanner
    (codes and command barcodes typed at scanner speed, the keyboard for a quantity above
    10); ``touch`` is a phone (taps, the on-screen keyboard, the Go button)."""

    def __init__(self, page: Any, style: str) -> None:
        assert style in ("wedge", "touch")
        self.page = page
        self.touch = style == "touch"

    def scan(self, code: str) -> None:
        if self.touch:
            self.page.fill("#scan-code", code)
            self.page.tap("button.btn-go")
        else:
            scan(self.page, code)

    def mode(self, mode: str) -> None:
        if self.touch:
            self.page.tap(f"button.mode-{mode}")
        else:
            scan(self.page, f"*KB:MODE:{mode.upper()}")
            wait_result(self.page, "command", f"Next scan: {mode.capitalize()}")

    def quantity(self, n: int) -> None:
        """Set the next scan's quantity the way this operator would."""
        if self.touch:
            self.page.tap("#scan-qty")
            self.page.keyboard.type(str(n), delay=120)  # a person's keys, not a burst
        elif n <= 10:
            scan(self.page, f"*KB:QTY:{n}")  # the command sheet
            wait_result(self.page, "command", f"Quantity {n}")
        else:
            self.page.click("#scan-qty")
            self.page.keyboard.type(str(n), delay=120)  # a person's keys, not a burst
            self.page.keyboard.press("Enter")  # back to the scan field

    def confirm(self) -> None:
        if self.touch:
            self.page.tap("#ask-confirm")
        else:
            scan(self.page, "*KB:CONFIRM")

    def cancel(self) -> None:
        if self.touch:
            self.page.tap("#ask-cancel")
        else:
            scan(self.page, "*KB:CANCEL")

"""Every supervisor and admin page fits a phone: no sideways scrolling at 390 px."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ..conftest import LiveServer, pull_history

PAGES = [
    "/",
    "/bins/P-1",
    "/bins/sizing?show=all",
    "/bins/spreadsheet",
    "/admin/users",
    "/admin/tokens",
    "/requests",
    "/suppliers",
    "/labels",
    "/scan",
    "/bins/new",
    "/bins/P-1/edit",
    "/suppliers/new",
    "/items",
    "/zones",
    "/audit",
    "/exports",
]


UNREACHABLE_SCROLLERS = """() => [...document.querySelectorAll('body *')]
  .filter((el) => ['auto', 'scroll'].includes(getComputedStyle(el).overflowX)
    && el.scrollWidth > el.clientWidth + 1)
  .filter((el) => el.tabIndex < 0
    && !el.querySelector('a[href], button, input, select, textarea, [tabindex]'))
  .map((el) => `${el.tagName.toLowerCase()}.${el.className}`)"""


@pytest.mark.parametrize("path", PAGES)
def test_page_fits_a_phone_screen(
    logged_in: Callable[..., Any],
    make_bin: Callable[..., str],
    make_user: Callable[..., str],
    live_server: LiveServer,
    artifacts_dir: Path,
    path: str,
) -> None:
    make_bin("P-1", on_hand=90, card=5, lead_time_days=4)
    make_bin("P-2", on_hand=2, card=5, supplier="A supplier with a rather long name Ltd")
    pull_history("P-1", 2, 14)
    for role in ("operator", "supervisor"):
        make_user(f"someone-{role}", role)
    page = logged_in("admin", viewport={"width": 390, "height": 844}, is_mobile=True)
    resp = page.goto(f"{live_server.url}{path}")
    assert resp is not None and resp.status == 200
    width = page.evaluate("document.documentElement.scrollWidth")
    name = path.strip("/").replace("/", "-").split("?")[0] or "board"
    page.screenshot(path=str(artifacts_dir / f"phone-{name}.png"), full_page=True)
    assert width <= 390, f"{path} is {width} px wide on a 390 px phone"
    # What scrolls sideways can be reached and scrolled by keyboard: it takes the focus
    # itself or holds something that does (axe's scrollable-region-focusable).
    unreachable = page.evaluate(UNREACHABLE_SCROLLERS)
    assert unreachable == [], f"{path}: scrolls but no keyboard reaches it: {unreachable}"

"""The browser set-up itself: Chromium opens the board after a real login."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def test_login_and_board_in_chromium(
    logged_in: Callable[..., Any], make_bin: Callable[..., str]
) -> None:
    make_bin("A-1", on_hand=2, card=5)
    page = logged_in("supervisor")  # supervisors land on the board (operators on Scan)
    card = page.locator('[data-bin="A-1"]')
    assert card.get_attribute("data-state") == "replenish"
    assert "replenish" in card.inner_text().lower()

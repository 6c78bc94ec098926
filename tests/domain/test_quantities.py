"""When a scanned quantity is far outside the bin's normal range: the pure rule."""

from __future__ import annotations

import pytest

from kanban.domain.quantities import (
    BinNumbers,
    describe,
    full_bin,
    unusual_count,
    unusual_pull,
)
from kanban.domain.statuses import QuantityLimit

#: 26 on hand, card 5, order 20, pull 1.
BIN = BinNumbers(on_hand=26, card_quantity=5, order_quantity=20, pull_quantity=1)


@pytest.mark.parametrize("quantity", [1, 2, 10])
def test_a_pull_within_stock_order_and_ten_usual_pulls_does_not_ask(quantity: int) -> None:
    assert unusual_pull(quantity, BIN) is None


def test_a_pull_above_ten_usual_pulls_asks_even_with_stock_and_order_to_spare() -> None:
    big = BinNumbers(on_hand=500, card_quantity=50, order_quantity=200, pull_quantity=2)
    assert unusual_pull(20, big) is None
    found = unusual_pull(21, big)
    assert found is not None and found.exceeds == (QuantityLimit.USUAL_PULL,)
    assert found.limits[QuantityLimit.USUAL_PULL] == 20


def test_a_pull_above_the_order_quantity_asks() -> None:
    roomy = BinNumbers(on_hand=500, card_quantity=50, order_quantity=20, pull_quantity=5)
    found = unusual_pull(21, roomy)
    assert found is not None and found.exceeds == (QuantityLimit.ORDER_QUANTITY,)


def test_the_issue_99_pull_passes_every_limit_and_says_so() -> None:
    found = unusual_pull(99, BIN)
    assert found is not None
    assert found.exceeds == (
        QuantityLimit.ON_HAND,
        QuantityLimit.ORDER_QUANTITY,
        QuantityLimit.USUAL_PULL,
    )
    assert found.details() == {
        "quantity": 99,
        "exceeds": ["on_hand", "order_quantity", "usual_pull"],
        "limits": {"on_hand": 26, "order_quantity": 20, "usual_pull": 10},
        "factor": 10,
        "on_hand": 26,
        "card_quantity": 5,
        "order_quantity": 20,
        "pull_quantity": 1,
    }
    assert describe(found, code="A-1", unit="ea") == (
        "Pulling 99 ea from bin A-1 is more than the 26 on hand, the order quantity of 20 "
        "and 10 times the usual pull of 1. Confirm to book it anyway."
    )


def test_a_pull_that_takes_the_bin_below_zero_asks() -> None:
    low = BinNumbers(on_hand=2, card_quantity=5, order_quantity=20, pull_quantity=1)
    found = unusual_pull(3, low)
    assert found is not None and found.exceeds == (QuantityLimit.ON_HAND,)
    assert "more than the 2 on hand." in describe(found, code="A-1", unit="ea")


@pytest.mark.parametrize("on_hand", [-5, 0, 1])
def test_the_bins_own_pull_quantity_never_asks_even_on_an_empty_bin(on_hand: int) -> None:
    empty = BinNumbers(on_hand=on_hand, card_quantity=5, order_quantity=4, pull_quantity=6)
    assert unusual_pull(6, empty) is None  # what a scan without a quantity takes
    assert unusual_pull(7, empty) is not None


def test_the_factor_is_a_setting() -> None:
    big = BinNumbers(on_hand=500, card_quantity=50, order_quantity=200, pull_quantity=2)
    assert unusual_pull(7, big, factor=3) is not None
    assert unusual_pull(6, big, factor=3) is None


def test_a_count_asks_only_far_above_what_the_bin_holds() -> None:
    assert full_bin(BIN) == 26  # on hand 26 > card 5 + order 20
    assert unusual_count(260, BIN) is None
    assert unusual_count(0, BIN) is None  # less than recorded: what counts are for
    found = unusual_count(261, BIN)
    assert found is not None and found.exceeds == (QuantityLimit.FULL_BIN,)
    assert found.limits == {QuantityLimit.FULL_BIN: 260}
    assert describe(found, code="A-1", unit="ea") == (
        "A count of 261 ea in bin A-1 is more than 10 times the most it normally holds (26). "
        "Confirm to book it anyway."
    )
    empty = BinNumbers(on_hand=0, card_quantity=5, order_quantity=20, pull_quantity=1)
    assert unusual_count(250, empty) is None and unusual_count(251, empty) is not None

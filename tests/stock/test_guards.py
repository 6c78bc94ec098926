"""A scan with an unusual quantity asks first (409 unusual_quantity) unless confirmed, on
both databases; a replay still answers the first result."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import sqlalchemy as sa

from kanban.core.actor import Actor
from kanban.core.errors import ServiceError
from kanban.extensions import db
from kanban.models import Bin, Movement
from kanban.stock.scanning import record_scan

ANA = Actor(name="ana", station="Station 2", source="usb")


def on_hand(code: str) -> int:
    db.session.rollback()
    return int(db.session.scalar(sa.select(Bin.on_hand).where(Bin.code == code)) or 0)


def ledger() -> list[tuple[str, int]]:
    db.session.rollback()
    rows = db.session.execute(
        sa.select(Movement.kind, Movement.quantity)
        .where(Movement.kind != "initial")
        .order_by(Movement.id)
    )
    return [(k, q) for k, q in rows]


def refused(code: str, mode: str, qty: int | None, sid: str, factor: int = 10) -> ServiceError:
    with pytest.raises(ServiceError) as err:
        record_scan(code, mode, qty, ANA, sid, factor=factor)
    return err.value


def test_the_99_pull_of_the_issue_is_refused_until_confirmed(make_bin: Callable[..., str]) -> None:
    code = make_bin("A-1", on_hand=26, card=5, order=20, pull=1)
    err = refused(code, "pull", 99, "s-99")
    assert (err.code, err.status) == ("unusual_quantity", 409)
    assert "Pulling 99 ea from bin A-1 is more than the 26 on hand" in err.message
    assert err.details["exceeds"] == ["on_hand", "order_quantity", "usual_pull"]
    assert err.details["limits"] == {"on_hand": 26, "order_quantity": 20, "usual_pull": 10}
    assert (err.details["bin"], err.details["mode"], err.details["quantity"]) == ("A-1", "pull", 99)
    assert ledger() == [] and on_hand(code) == 26  # nothing moved

    # The same scan id, confirmed: booked once; sent again (a replay), the first result.
    done = record_scan(code, "pull", 99, ANA, "s-99", confirm=True)
    assert done.bin["on_hand"] == -73 and not done.replayed
    again = record_scan(code, "pull", 99, ANA, "s-99")  # no confirm: still the first result
    assert again.replayed and again.movement_id == done.movement_id
    assert ledger() == [("pull", -99)] and on_hand(code) == -73


def test_usual_pulls_never_ask(make_bin: Callable[..., str]) -> None:
    code = make_bin("A-1", on_hand=26, card=5, order=20, pull=2)
    record_scan(code, "pull", None, ANA, "auto")  # the bin's own pull quantity
    record_scan(code, "pull", 20, ANA, "twenty")  # = order quantity, = 10 × pull, ≤ on hand
    assert on_hand(code) == 4
    err = refused(code, "pull", 5, "five")  # more than the 4 left
    assert err.details["exceeds"] == ["on_hand"]


def test_the_bins_own_pull_quantity_on_an_empty_bin_goes_through(
    make_bin: Callable[..., str],
) -> None:
    code = make_bin("A-1", on_hand=0, card=5, pull=3)
    done = record_scan(code, "pull", None, ANA, "empty")
    assert done.bin["on_hand"] == -3 and done.bin["flags"]["stockout"]


def test_the_factor_comes_from_the_caller(make_bin: Callable[..., str]) -> None:
    code = make_bin("A-1", on_hand=500, card=50, order=200, pull=2)
    assert refused(code, "pull", 7, "f3", factor=3).details["limits"]["usual_pull"] == 6
    record_scan(code, "pull", 7, ANA, "f4", factor=4)
    assert on_hand(code) == 493


def test_a_count_far_above_what_the_bin_holds_asks(make_bin: Callable[..., str]) -> None:
    code = make_bin("A-1", on_hand=10, card=5, order=20)
    err = refused(code, "count", 251, "c-big")
    assert err.details["exceeds"] == ["full_bin"] and err.details["limits"] == {"full_bin": 250}
    record_scan(code, "count", 0, ANA, "c-zero")  # less than recorded never asks
    record_scan(code, "count", 250, ANA, "c-ok")
    record_scan(code, "count", 2600, ANA, "c-big", confirm=True)
    assert on_hand(code) == 2600


def test_a_receipt_without_a_sent_order_never_asks(make_bin: Callable[..., str]) -> None:
    code = make_bin("A-1", on_hand=10, card=5, order=20)
    # Nothing to compare with (the over-receipt question needs a sent order line).
    record_scan(code, "receive", 5000, ANA, "no-order")
    assert on_hand(code) == 5010

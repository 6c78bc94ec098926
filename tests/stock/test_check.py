"""``kanban check`` on request lines (kanban/stock/check.py): the receipts booked on a line
explain its received quantity, and a line gets more than was ordered only by a confirmed
over-receipt."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import sqlalchemy as sa

from kanban.cards import lines
from kanban.core.actor import Actor
from kanban.extensions import db
from kanban.models import Bin, Movement, RequestLine
from kanban.purchasing import sending
from kanban.stock import check as ledger
from kanban.stock.scanning import record_scan

BEN = Actor(name="ben", station="Goods in", source="usb")


def _ordered(make_bin: Callable[..., str], code: str = "A-1") -> RequestLine:
    """A bin whose line of 10 was sent to the supplier."""
    make_bin(code, on_hand=4, card=5, order=10)
    bin_id = db.session.scalar(sa.select(Bin.id).where(Bin.code == code))
    line = lines.open_line(int(bin_id))  # type: ignore[arg-type]
    assert line is not None
    sending.mark_sent(line.request_id)
    db.session.commit()
    return line


def test_a_confirmed_over_receipt_is_noted_in_the_ledger_and_check_accepts_it(
    make_bin: Callable[..., str],
) -> None:
    line = _ordered(make_bin)
    record_scan("A-1", "receive", 4, BEN, None)  # partial: no note
    record_scan("A-1", "receive", 9, BEN, None, confirm=True)  # 3 more than the 6 still open
    notes = db.session.scalars(
        sa.select(Movement.note).where(Movement.line_id == line.id).order_by(Movement.id)
    ).all()
    assert notes == [None, "over-receipt confirmed: 3 more than ordered"]
    db.session.rollback()
    assert db.session.get(RequestLine, line.id).received_quantity == 13  # type: ignore[union-attr]
    assert ledger.check() == []


@pytest.mark.ledger_broken
def test_check_finds_a_line_received_beyond_its_order_without_a_confirmation(
    make_bin: Callable[..., str],
) -> None:
    line = _ordered(make_bin)
    record_scan("A-1", "receive", None, BEN, None)  # the 10 that were ordered
    assert ledger.check() == []
    # What the demo used to be able to write: a receipt larger than the order, unconfirmed.
    db.session.execute(sa.update(Movement).where(Movement.line_id == line.id).values(quantity=14))
    db.session.execute(
        sa.update(RequestLine).where(RequestLine.id == line.id).values(received_quantity=14)
    )
    db.session.execute(sa.update(Bin).where(Bin.code == "A-1").values(on_hand=18))
    db.session.commit()
    assert [str(p) for p in ledger.check()] == [
        f"A-1: request line {line.id} received 14 of 10 ordered, without a confirmed over-receipt"
    ]


@pytest.mark.ledger_broken
def test_check_finds_a_received_quantity_the_ledger_does_not_explain(
    make_bin: Callable[..., str],
) -> None:
    line = _ordered(make_bin)
    record_scan("A-1", "receive", 6, BEN, None)
    db.session.execute(
        sa.update(RequestLine).where(RequestLine.id == line.id).values(received_quantity=8)
    )
    db.session.commit()
    assert [str(p) for p in ledger.check()] == [
        f"A-1: request line {line.id} received 8 but the receipts booked on it add up to 6"
    ]

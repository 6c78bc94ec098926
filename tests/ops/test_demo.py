"""The demo obeys its own rules (kanban/ops/demo.py): its history is what the loop would
have written, and ``kanban check`` says so."""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from kanban.catalog.views import overdue_bin_ids
from kanban.domain import cards
from kanban.extensions import db
from kanban.models import Bin, Movement, RequestLine, SupplierRequest
from kanban.ops import demo
from kanban.stock import check as ledger

from ..conftest import BACKENDS, SeededDatabases

#: Two times of day: the history's clock (when requests went out) depends on it.
NOWS = [
    dt.datetime(2026, 3, 10, 3, 17, tzinfo=dt.UTC),
    dt.datetime(2026, 3, 10, 16, 40, tzinfo=dt.UTC),
]


@pytest.fixture(params=NOWS, ids=["night", "afternoon"])
def now(request: pytest.FixtureRequest) -> dt.datetime:
    when: dt.datetime = request.param
    return when


@pytest.fixture(params=BACKENDS)
def db_url(
    request: pytest.FixtureRequest,
    now: dt.datetime,
    seeded_databases: SeededDatabases,
    tmp_path: Path,
) -> str:
    """A copy of the demo seeded at ``now`` (seeded once per worker)."""
    url, _ = seeded_databases.copy(
        request, f"demo-{now:%H%M}", functools.partial(demo.seed, now=now), tmp_path
    )
    return url


@pytest.fixture
def seeded(app: Any, now: dt.datetime) -> dt.datetime:
    """The app on the demo, seeded at ``now``."""
    return now


def test_the_demo_passes_kanban_check(seeded: dt.datetime, runner: Any) -> None:
    assert ledger.check() == []
    result = runner.invoke(args=["check"])
    assert result.exit_code == 0 and "Ledger OK" in result.output


def test_every_movement_records_the_state_the_loop_would_have(seeded: dt.datetime) -> None:
    cards = dict(db.session.execute(sa.select(Bin.id, Bin.card_quantity)).all())
    history: dict[int, list[Movement]] = defaultdict(list)
    for m in db.session.scalars(
        sa.select(Movement).order_by(Movement.bin_id, Movement.created_at, Movement.id)
    ):
        history[m.bin_id].append(m)
    for bin_id, moves in history.items():
        card, total, before = cards[bin_id], 0, "stocked"
        for m in moves:
            total += m.quantity
            assert m.on_hand_after == total, m.id
            # The demo never changes a card and holds no line: below the card means a cycle.
            if m.on_hand_after < card:
                assert m.state_after in ("replenish", "ordered"), (m.id, m.on_hand_after, card)
            else:
                assert m.state_after == "stocked", (m.id, m.on_hand_after, card)
            # A movement flips the card; sending (no movement) turns replenish into ordered.
            turned = m.state_after != before and (before, m.state_after) != ("replenish", "ordered")
            assert m.flipped == turned, m.id
            if m.flipped:
                assert m.kind in ("pull", "receipt")
            before = m.state_after
        b = db.session.get(Bin, bin_id)
        assert b is not None
        assert (before, b.state) in {
            ("stocked", "stocked"),
            ("replenish", "replenish"),
            ("replenish", "ordered"),  # sent after the last pull
            ("ordered", "ordered"),
        }


def test_no_receipt_is_larger_than_what_was_ordered(seeded: dt.datetime) -> None:
    receipts = db.session.execute(
        sa.select(Movement.quantity, Movement.line_id, Movement.request_id, RequestLine)
        .join(RequestLine, RequestLine.id == Movement.line_id, isouter=True)
        .where(Movement.kind == "receipt")
    ).all()
    assert receipts
    for quantity, line_id, request_id, line in receipts:
        assert line_id is not None and request_id == line.request_id
        assert quantity == line.quantity == line.received_quantity
    for line in db.session.scalars(sa.select(RequestLine)):
        assert line.received_quantity <= line.quantity
        if line.status == "open":
            assert line.received_quantity == 0


def test_open_cycles_are_lines_dated_when_they_happened(seeded: dt.datetime) -> None:
    now = seeded
    states = dict(db.session.execute(sa.select(Bin.id, Bin.state)).all())
    assert set(states.values()) == {"stocked", "replenish", "ordered"}
    assert overdue_bin_ids(list(states)), "the late supplier leaves some orders overdue"
    opened = db.session.scalars(sa.select(RequestLine).where(RequestLine.status == "open")).all()
    assert {line.bin_id for line in opened} == {i for i, s in states.items() if s != "stocked"}
    for line in opened:
        req = line.request
        assert req.created_at <= line.created_at < now
        if states[line.bin_id] == "ordered":
            assert req.status == "sent" and line.created_at < req.sent_at <= now  # type: ignore[operator]
            assert req.sent_at <= now - dt.timedelta(days=1)  # type: ignore[operator]
        else:
            assert req.status == "draft"
        signal = db.session.scalar(
            sa.select(Movement)
            .where(Movement.bin_id == line.bin_id, Movement.flipped.is_(True))
            .order_by(Movement.created_at.desc(), Movement.id.desc())
            .limit(1)
        )
        assert signal is not None and signal.created_at == line.created_at
        assert signal.request_id == line.request_id
        b = db.session.get(Bin, line.bin_id)
        assert b is not None and b.state_movement_id == signal.id
    received = db.session.scalars(
        sa.select(SupplierRequest).where(SupplierRequest.status == "received")
    ).all()
    for req in received:
        assert req.created_at <= req.sent_at <= req.received_at  # type: ignore[operator]


def test_the_demo_opens_with_no_count_needed_flag(seeded: dt.datetime) -> None:
    """Its history stops pulling at an empty bin, so a stockout there is an empty shelf the
    ledger agrees with: no card asks for a count it never meant."""
    bins = list(db.session.scalars(sa.select(Bin)))
    flags = [cards.flags(b.on_hand, b.state, overdue=False) for b in bins]
    assert not any(f.count_needed for f in flags)
    assert any(f.stockout for f in flags)  # the demo still shows what a stockout looks like

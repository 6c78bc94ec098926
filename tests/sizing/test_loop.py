"""The recommended card quantity from the ledger and the lead times, and applying it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
import sqlalchemy as sa

from kanban.cards import lines
from kanban.core.actor import Actor
from kanban.core.errors import ServiceError
from kanban.extensions import db
from kanban.models import Bin, Event, Movement, RequestLine
from kanban.purchasing import review, sending
from kanban.sizing import loop as sizing
from kanban.stock.scanning import MAX_QUANTITY, record_scan, undo_scan

ANA = Actor(name="ana", station="Station 2", source="usb")
TODAY = dt.datetime.now(dt.UTC).date()


def at(days_ago: int) -> dt.datetime:
    return dt.datetime.combine(TODAY - dt.timedelta(days=days_ago), dt.time(12), tzinfo=dt.UTC)


def backdate(movement_id: int, days_ago: int) -> None:
    db.session.execute(
        sa.update(Movement).where(Movement.id == movement_id).values(created_at=at(days_ago))
    )
    db.session.commit()


def pull(code: str, qty: int, days_ago: int, sid: str | None = None) -> int:
    """A pull made ``days_ago`` days ago; returns its movement id."""
    result = record_scan(code, "pull", qty, ANA, sid, confirm=True)  # history, not a question
    backdate(result.movement_id, days_ago)
    return result.movement_id


def opened(code: str, days_ago: int) -> None:
    """The bin's history starts ``days_ago`` days ago (its opening stock)."""
    first = db.session.scalar(
        sa.select(sa.func.min(Movement.id))
        .join(Bin, Bin.id == Movement.bin_id)
        .where(Bin.code == code)
    )
    backdate(first, days_ago)


def advise(code: str, window: int = 28, safety: float = 0.25) -> sizing.Recommendation:
    db.session.rollback()
    return sizing.recommendation(code, window_days=window, safety_factor=safety, today=TODAY)


def deliver(code: str, lead_days: float) -> None:
    """One full replenishment cycle of the bin whose signal → received took ``lead_days``."""
    b = db.session.scalar(sa.select(Bin).where(Bin.code == code))
    assert b is not None
    result = record_scan(code, "pull", b.on_hand - b.card_quantity + 1, ANA, None, confirm=True)
    assert result.flipped and result.request is not None
    line = lines.open_line(b.id)
    assert line is not None
    sending.mark_sent(int(result.request["id"]))
    db.session.commit()
    review.receive_line(
        int(result.request["id"]), line.id, line.quantity, ANA, scan_id=f"rcv-{line.id}"
    )
    db.session.commit()
    done = db.session.get(RequestLine, line.id)
    assert done is not None and done.closed_at is not None
    db.session.execute(
        sa.update(RequestLine)
        .where(RequestLine.id == line.id)
        .values(created_at=done.closed_at - dt.timedelta(days=lead_days))
    )
    db.session.commit()


def test_recommendation_from_four_weeks_of_pulls_and_the_configured_lead_time(
    make_bin: Callable[..., str],
) -> None:
    make_bin("S-1", on_hand=900, card=5, lead_time_days=5)
    opened("S-1", 60)
    for days_ago in range(28):
        pull("S-1", 2, days_ago)  # 2 a day, 56 in the window
    pull("S-1", 100, 28)  # the day before the window: not counted
    undone = pull("S-1", 30, 3, sid="big-one")  # a mistake, undone: not demand
    undo_scan("big-one", ANA, own_only=False, window=dt.timedelta(minutes=30))
    db.session.commit()
    assert db.session.get(Movement, undone) is not None

    advice = advise("S-1")
    assert [q for _, q in advice.demand.days] == [2] * 28
    assert advice.demand.days[0][0] == TODAY - dt.timedelta(days=27)
    assert advice.demand.days[-1][0] == TODAY
    assert advice.demand.total == 56 and advice.demand.per_day == 2.0
    assert (advice.lead_time_days, advice.lead_source, advice.deliveries) == (5.0, "configured", 0)
    assert advice.recommended == 13  # ⌈2 × 5 × 1.25⌉ = ⌈12.5⌉
    assert (advice.current, advice.advice) == (5, "raise")
    assert advise("S-1", safety=0.0).recommended == 10
    assert advise("S-1", window=7).demand.total == 14


def test_advice_is_never_below_the_pull_quantity_and_comes_in_whole_packs(
    make_bin: Callable[..., str],
) -> None:
    make_bin("P-1", on_hand=900, card=5, lead_time_days=1, pull=10, supplier="Quick")
    make_bin("K-1", on_hand=900, card=5, lead_time_days=5, pack=6, supplier="Slow")
    for code in ("P-1", "K-1"):
        opened(code, 60)
    for days_ago in range(0, 28, 7):
        pull("P-1", 1, days_ago)  # 4 in 28 days: ⌈1/7 × 1 × 1.25⌉ = 1 alone
    for days_ago in range(28):
        pull("K-1", 2, days_ago)  # ⌈2 × 5 × 1.25⌉ = 13, two packs of 6 are 12: three
    assert advise("P-1").recommended == 10  # one scan takes 10: a card of 1 says nothing
    assert advise("K-1").recommended == 18
    db.session.rollback()
    rows = sizing.overview(window_days=28, safety_factor=0.25, today=TODAY)
    assert {r.code: r.recommended for r in rows} == {"P-1": 10, "K-1": 18}


def test_the_measured_lead_time_takes_over_after_three_deliveries(
    make_bin: Callable[..., str],
) -> None:
    make_bin("S-1", on_hand=900, card=5, lead_time_days=5, supplier="Bolt Co")
    make_bin("S-2", on_hand=5, card=5, order=10, lead_time_days=5, supplier="Bolt Co")
    opened("S-1", 30)
    for days_ago in range(14):
        pull("S-1", 2, days_ago)
    deliver("S-2", 2.0)
    deliver("S-2", 9.0)
    advice = advise("S-1")
    assert (advice.lead_source, advice.deliveries, advice.lead_time_days) == ("configured", 2, 5.0)
    deliver("S-2", 4.0)
    advice = advise("S-1")
    assert (advice.lead_source, advice.deliveries) == ("measured", 3)
    assert advice.lead_time_days == pytest.approx(4.0)  # the median of 2, 4 and 9
    # 28 pulls over the 28 days since the window began (the bin is older): 1 a day.
    assert advice.demand.per_day == 1.0
    assert advice.recommended == 5  # ⌈1 × 4 × 1.25⌉
    assert advice.advice == "keep"


def test_no_recommendation_for_a_new_bin_or_one_nobody_pulls_from(
    make_bin: Callable[..., str],
) -> None:
    make_bin("N-1", on_hand=50, card=5)
    opened("N-1", 2)
    pull("N-1", 3, 1)
    advice = advise("N-1")
    assert advice.recommended is None and advice.advice == "none"
    assert len(advice.demand.days) == 3 and advice.demand.total == 3
    assert "3 days of history" in advice.why_none and "needs 7" in advice.why_none

    make_bin("Q-1", on_hand=50, card=5)
    opened("Q-1", 40)
    advice = advise("Q-1")
    assert advice.recommended is None
    assert advice.why_none == "Nothing was pulled from this bin in the last 28 days."


def test_setting_the_card_quantity_flips_the_card_once_and_back(
    make_bin: Callable[..., str],
) -> None:
    make_bin("C-1", on_hand=10, card=5, order=20)
    before = db.session.scalar(sa.select(sa.func.count(Event.id)))
    old, b = sizing.set_card_quantity("C-1", 12, "super")
    db.session.commit()
    assert old == 5 and b.card_quantity == 12 and b.state == "replenish"
    lines = db.session.scalars(sa.select(RequestLine).where(RequestLine.status == "open")).all()
    assert len(lines) == 1 and "card quantity 5 → 12 by super" in lines[0].reason
    events = db.session.scalars(sa.select(Event).where(Event.id > (before or 0))).all()
    changed = [e for e in events if e.kind == "bin.changed"]
    assert changed and changed[-1].data["state"] == "replenish"
    change = changed[-1].data["change"]
    assert change["cause"] == "card_quantity" and change["actor"] == "super"
    assert change["card_quantity"] == [5, 12]

    again = sizing.set_card_quantity("C-1", 12, "super")  # the same again: nothing happens
    db.session.commit()
    assert again[0] == 12
    assert len(db.session.scalars(sa.select(RequestLine)).all()) == 1

    old, b = sizing.set_card_quantity("C-1", 8, "super")  # below the stock again
    db.session.commit()
    assert old == 12 and b.state == "stocked"
    assert db.session.scalars(sa.select(RequestLine.status)).all() == ["withdrawn"]


@pytest.mark.parametrize("bad", [-1, MAX_QUANTITY + 1])
def test_an_impossible_card_quantity_is_refused_and_changes_nothing(
    make_bin: Callable[..., str], bad: int
) -> None:
    make_bin("C-1", on_hand=10, card=5)
    with pytest.raises(ServiceError) as refused:
        sizing.set_card_quantity("C-1", bad, "super")
    db.session.rollback()
    assert refused.value.code == "invalid_quantity"
    assert db.session.scalar(sa.select(Bin.card_quantity)) == 5


def _states() -> dict[str, tuple[int, str]]:
    db.session.rollback()
    return dict(
        (code, (card, state))
        for code, card, state in db.session.execute(
            sa.select(Bin.code, Bin.card_quantity, Bin.state)
        )
    )


def test_the_plan_of_an_apply_counts_the_cards_and_lines_it_changes_and_writes_nothing(
    make_bin: Callable[..., str],
) -> None:
    make_bin("P-1", on_hand=10, card=5, order=20)  # raised above its stock: flips, opens
    make_bin("P-2", on_hand=10, card=40, order=20)  # on a draft; lowered below its stock
    make_bin("P-3", on_hand=10, card=5, order=20)  # raised but still covered: no change
    make_bin("P-4", on_hand=2, card=5, order=20, supplier="Bolt Co")  # ordered: keeps it
    p4 = lines.open_line_request(db.session.scalar(sa.select(Bin.id).where(Bin.code == "P-4")))
    assert p4 is not None
    sending.mark_sent(p4[0])
    db.session.commit()
    make_bin("P-5", on_hand=10, card=5)  # ticked with the card it has: left out
    before, lines_before = _states(), db.session.scalars(sa.select(RequestLine.status)).all()
    wanted = {"P-1": 13, "P-2": 7, "P-3": 8, "P-4": 9, "P-5": 5}

    plan = sizing.plan_apply(wanted)
    assert [(c.code, c.old, c.new, c.state_after, c.line_change) for c in plan.changes] == [
        ("P-1", 5, 13, "replenish", "opened"),
        ("P-2", 40, 7, "stocked", "withdrawn"),
        ("P-3", 5, 8, "stocked", ""),
        ("P-4", 5, 9, "ordered", ""),
    ]
    assert (plan.cards, plan.flips, plan.lines_opened, plan.lines_withdrawn, plan.lines) == (
        4, 2, 1, 1, 2,
    )  # fmt: skip
    assert _states() == before  # a plan writes nothing
    assert db.session.scalars(sa.select(RequestLine.status)).all() == lines_before

    # Applying does what the plan said.
    changed = sizing.apply_many(wanted, "super")
    db.session.commit()
    assert [code for code, _, _ in changed] == ["P-1", "P-2", "P-3", "P-4"]
    after = _states()
    assert {c.code: (c.new, c.state_after) for c in plan.changes} == {
        code: after[code] for code in ("P-1", "P-2", "P-3", "P-4")
    }
    statuses = list(db.session.scalars(sa.select(RequestLine.status)))
    assert statuses.count("withdrawn") == 1 and statuses.count("open") == 2  # P-1 new, P-4 sent


def test_a_plan_refuses_what_an_apply_would_refuse(make_bin: Callable[..., str]) -> None:
    make_bin("P-1", on_hand=10, card=5)
    with pytest.raises(ServiceError) as unknown:
        sizing.plan_apply({"P-1": 7, "NOPE": 3})
    assert unknown.value.code == "unknown_bin"
    with pytest.raises(ServiceError) as bad:
        sizing.plan_apply({"P-1": MAX_QUANTITY + 1})
    assert bad.value.code == "invalid_quantity"

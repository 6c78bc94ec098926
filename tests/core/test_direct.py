"""Statements run on the driver's cursor (``core.direct``) give what ``conn().execute()``
gives: the same rows and types read back, the same values stored, the same errors."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator

import pytest
import sqlalchemy as sa
from flask import Flask

from kanban.catalog import views
from kanban.core import direct
from kanban.core.tx import begin_write, conn
from kanban.extensions import db
from kanban.models import Bin, Event, Movement, utcnow

#: A card by code: text, numbers, a boolean and a UTC timestamp to read back.
CARD = views.CARD_QUERY.where(Bin.code == sa.bindparam("code"))


def test_a_card_reads_the_same_as_through_sqlalchemy(
    app: Flask, make_bin: Callable[..., str]
) -> None:
    make_bin("A-1", on_hand=3, card=5)
    fast = direct.one(CARD, {"code": "A-1"})
    slow = tuple(conn().execute(CARD, {"code": "A-1"}).one())
    assert fast == slow
    assert [type(v) for v in fast] == [type(v) for v in slow]
    card = views.CardView(*fast)
    assert card.active is True  # a boolean, not SQLite's 1
    assert card.state_since.tzinfo is dt.UTC
    assert direct.one_or_none(CARD, {"code": "B-9"}) is None
    with pytest.raises(sa.exc.NoResultFound):
        direct.one(CARD, {"code": "B-9"})
    db.session.rollback()


def test_what_it_inserts_is_stored_as_sqlalchemy_stores_it(app: Flask) -> None:
    begin_write()
    at = dt.datetime(2026, 3, 2, 10, 14, 3, 120, tzinfo=dt.UTC)
    stmt = sa.insert(Event.__table__).returning(Event.__table__.c.id)
    values = {"created_at": at, "kind": "bin.changed", "bin_code": "A-1", "request_id": None}
    data = {"code": "A-1", "reason": "3 on hand < card 5 · pulled by ana", "n": [1, None]}
    fast = direct.scalar_one(stmt, values | {"data": data})
    slow = conn().execute(stmt, values | {"data": data}).scalar_one()
    db.session.commit()
    raw = sa.select(sa.text("created_at, data")).select_from(sa.text("events"))
    stored = db.session.execute(raw.where(sa.text("id IN (:a, :b)")), {"a": fast, "b": slow})
    first, second = stored.all()
    assert first == second  # the same text, the same JSON
    events = db.session.scalars(sa.select(Event).order_by(Event.id)).all()
    assert [(e.created_at, e.data) for e in events] == [(at, data), (at, data)]


def test_a_duplicate_scan_id_is_sqlalchemys_integrity_error(
    app: Flask, make_bin: Callable[..., str]
) -> None:
    make_bin("A-1")
    bin_id = db.session.scalar(sa.select(Bin.id).where(Bin.code == "A-1"))
    begin_write()
    row = {
        "bin_id": bin_id,
        "kind": "pull",
        "quantity": 0,
        "on_hand_after": 10,
        "state_after": "stocked",
        "flipped": False,
        "actor": "ana",
        "source": "api",
        "scan_id": "twice",
        "created_at": utcnow(),
    }
    stmt = sa.insert(Movement.__table__).returning(Movement.__table__.c.id)
    direct.scalar_one(stmt, row)
    with pytest.raises(sa.exc.IntegrityError):
        direct.scalar_one(stmt, row)
    db.session.rollback()


def test_the_scan_path_runs_on_the_drivers_cursor_on_sqlite_and_postgresql(
    app: Flask, make_bin: Callable[..., str]
) -> None:
    from kanban.stock import scanning

    make_bin("A-1")
    assert direct.runs_direct(CARD, {"code": "A-1"})
    assert direct.runs_direct(scanning._STOCK_UPDATE, {"bin_id": 1, "delta": -1})  # noqa: SLF001
    insert = sa.insert(Event.__table__).returning(Event.__table__.c.id)
    values = {"created_at": utcnow(), "kind": "k", "bin_code": "A-1", "request_id": None}
    assert direct.runs_direct(insert, values | {"data": {}})
    in_list = sa.select(Bin.id).where(Bin.code.in_(sa.bindparam("codes", expanding=True)))
    assert not direct.runs_direct(in_list, {"codes": ["A-1"]})  # its SQL depends on them
    bin_id = db.session.scalar(sa.select(Bin.id).where(Bin.code == "A-1"))
    assert direct.rows(in_list, {"codes": ["A-1", "B-2"]}) == [(bin_id,)]
    db.session.rollback()


@pytest.fixture
def statements(app: Flask) -> Iterator[list[str]]:
    """Every statement the engine runs, as a listener sees them."""
    seen: list[str] = []

    def record(*args: object) -> None:
        seen.append(str(args[2]))

    sa.event.listen(db.engine, "before_cursor_execute", record)
    yield seen
    sa.event.remove(db.engine, "before_cursor_execute", record)


def test_statements_are_seen_by_whoever_listens_to_the_engine(
    statements: list[str], make_bin: Callable[..., str]
) -> None:
    make_bin("A-1")
    statements.clear()
    assert direct.one(CARD, {"code": "A-1"})[1] == "A-1"
    assert len(statements) >= 1 and "FROM bins" in statements[-1]
    db.session.rollback()


def test_a_parameter_named_like_a_column_sets_it_as_sqlalchemy_does(
    app: Flask, make_bin: Callable[..., str]
) -> None:
    make_bin("A-1", pull=1, order=20)
    make_bin("B-1", pull=1, order=20)
    stmt = (
        sa.update(Bin).where(Bin.code == sa.bindparam("c")).values(pull_quantity=sa.bindparam("n"))
    )
    begin_write()
    direct.rows(stmt, {"c": "A-1", "n": 2, "order_quantity": 30})
    conn().execute(stmt, {"c": "B-1", "n": 2, "order_quantity": 30})
    db.session.commit()
    found = db.session.execute(sa.select(Bin.pull_quantity, Bin.order_quantity).order_by(Bin.code))
    assert found.all() == [(2, 30), (2, 30)]

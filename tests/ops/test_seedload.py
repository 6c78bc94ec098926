"""``kanban seed-load`` (kanban/ops/seedload.py): a big site's year, at a small size here,
on SQLite and PostgreSQL. What it writes is what the loop would have: ``kanban check``
passes, the pages open on it, the feed holds the window's events, and it never touches a
database that holds data."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask, current_app
from flask.testing import FlaskClient

from kanban.extensions import db
from kanban.models import Bin, Event, Item, Movement, RequestLine, Supplier, SupplierRequest, Zone
from kanban.purchasing import suppliers

from ..conftest import BACKENDS, Api, SeededDatabases, empty_database
from ..web.test_board import board, login

SMALL = ["--bins", "200", "--suppliers", "20", "--movements", "20000", "--days", "365"]


def count(model: Any) -> int:
    return int(db.session.scalar(sa.select(sa.func.count()).select_from(model)) or 0)


PRINTED = pytest.StashKey[str]()


def seed_load() -> str:
    """``kanban seed-load`` as typed; returns what it printed."""
    result = current_app.test_cli_runner().invoke(args=["seed-load", *SMALL])
    assert result.exit_code == 0, result.output
    return str(result.output)


@pytest.fixture(params=BACKENDS)
def db_url(
    request: pytest.FixtureRequest, seeded_databases: SeededDatabases, tmp_path: Path
) -> str:
    """For a test of the seeded site, a copy of it (seed-loaded once per worker); else an
    empty database."""
    if "seeded" not in request.fixturenames:
        return empty_database(request, tmp_path)
    url, printed = seeded_databases.copy(request, "seed-load", seed_load, tmp_path)
    request.node.stash[PRINTED] = printed
    return url


@pytest.fixture
def seeded(app: Flask, request: pytest.FixtureRequest) -> str:
    """The app on the seed-loaded site; returns what ``kanban seed-load`` printed."""
    return request.node.stash[PRINTED]


def test_seed_load_writes_what_was_asked_and_check_passes(seeded: str, runner: Any) -> None:
    assert (count(Bin), count(Supplier), count(Item), count(Movement)) == (200, 20, 200, 20000)
    assert count(Zone) >= 1
    assert "200 bins" in seeded and "20000 movements" in seeded
    result = runner.invoke(args=["check"])
    assert result.exit_code == 0, result.output
    assert "Ledger OK" in result.output


def test_the_history_has_flips_requests_and_receipts_over_the_whole_year(seeded: str) -> None:
    kinds = dict(
        db.session.execute(sa.select(Movement.kind, sa.func.count()).group_by(Movement.kind)).all()
    )
    assert kinds["initial"] == 200 and kinds["pull"] > 15000 and kinds["receipt"] > 100
    flips = db.session.scalar(sa.select(sa.func.count()).where(Movement.flipped.is_(True)))
    assert flips and flips > 200
    first, last = db.session.execute(
        sa.select(sa.func.min(Movement.created_at), sa.func.max(Movement.created_at))
    ).one()
    assert (last - first).days >= 360
    statuses = set(db.session.scalars(sa.select(SupplierRequest.status).distinct()))
    assert {"received", "sent"} <= statuses
    # Every receipt is booked on a line it fully received, as ordered.
    for quantity, line in db.session.execute(
        sa.select(Movement.quantity, RequestLine).join(
            RequestLine, RequestLine.id == Movement.line_id
        )
    ).all():
        assert line.status == "received" and line.received_quantity == line.quantity == quantity
    states = set(db.session.scalars(sa.select(Bin.state).distinct()))
    assert "stocked" in states and states & {"replenish", "ordered"}


def test_the_feed_holds_the_retention_window_in_order(
    seeded: str, client: FlaskClient, make_user: Callable[..., str]
) -> None:
    rows = db.session.execute(sa.select(Event.id, Event.created_at).order_by(Event.id)).all()
    assert rows, "the window's events were written"
    times = [t for _, t in rows]
    assert times == sorted(times)
    assert (times[-1] - times[0]).days <= 30
    newest = rows[-1][0]
    login(client, make_user, "supervisor")
    resp = client.get(f"/api/events?after={newest - 3}")
    assert resp.status_code == 200
    events = resp.get_json()["events"]
    assert [e["id"] for e in events] == [newest - 2, newest - 1, newest]
    # A bin.changed event carries the card as it was, as the app writes it.
    card_event = next(e for e in reversed(events) if e["kind"] == "bin.changed")
    assert card_event["data"]["code"] == card_event["bin"]
    assert card_event["data"]["state"] in ("stocked", "replenish", "ordered")
    assert json.dumps(card_event["data"])  # plain JSON


def test_the_board_and_a_bin_page_open_on_the_seeded_site(
    seeded: str, client: FlaskClient, make_user: Callable[..., str]
) -> None:
    login(client, make_user, "supervisor")
    cards = board(client)
    assert len(cards.cards) == 200
    states = {c.state for c in cards.cards}
    assert states <= {"stocked", "replenish", "ordered"} and "stocked" in states
    code = db.session.scalar(
        sa.select(Bin.code).where(Bin.state == "ordered").order_by(Bin.code).limit(1)
    ) or db.session.scalar(sa.select(Bin.code).order_by(Bin.code).limit(1))
    resp = client.get(f"/bins/{code}")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert code in html and "<svg" in html  # the demand chart


def test_a_scan_after_the_seed_gets_the_next_ids(seeded: str, api: Api) -> None:
    code = db.session.scalar(sa.select(Bin.code).where(Bin.on_hand > 50).limit(1)) or "A-01-01"
    resp = api.scan(code, "pull")
    assert resp.status_code == 201, resp.get_json()
    db.session.remove()
    assert db.session.scalar(sa.select(sa.func.max(Movement.id))) == 20001
    newest = db.session.scalar(sa.select(Event).order_by(Event.id.desc()).limit(1))
    assert newest is not None and newest.bin_code == code


def test_a_second_run_refuses_and_changes_nothing(seeded: str, runner: Any) -> None:
    result = runner.invoke(args=["seed-load", *SMALL])
    assert result.exit_code == 1
    assert "not empty" in result.output
    assert count(Bin) == 200 and count(Movement) == 20000


def test_seed_load_refuses_a_database_with_a_bin(make_bin: Callable[..., str], runner: Any) -> None:
    make_bin("A-01-01")
    result = runner.invoke(args=["seed-load", *SMALL])
    assert result.exit_code == 1 and "not empty" in result.output
    assert count(Bin) == 1 and count(Supplier) == 1


def test_the_card_sizes_overview_reads_each_suppliers_newest_deliveries_as_a_bin_page(
    seeded: str,
) -> None:
    recent = suppliers.recent_lead_times(5)
    ids = list(db.session.scalars(sa.select(Supplier.id).order_by(Supplier.id)))
    assert sum(len(v) for v in recent.values()) == 5 * len(ids)  # each has more lines
    for sid in ids:
        assert recent[sid] == [m.times for m in suppliers.measured_lines([sid], limit=5)]

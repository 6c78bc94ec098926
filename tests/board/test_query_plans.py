"""The pages a big site opens all day use indexes, not a read of the whole ledger or feed.

PostgreSQL only, by design: the question is what PostgreSQL's planner does on a site's
worth of rows (SQLite has no comparable planner statistics). After ``kanban seed-load``
of 2,000 bins and 200,000 movements and an ANALYZE, every SELECT that the board (whole,
and filtered by zone), a bin page with its chart, the card-sizes overview and
``GET /api/events?after=N`` near the head run is captured (a ``before_cursor_execute``
listener) and explained (``EXPLAIN (FORMAT JSON)``, with its parameters): none may read
the ``movements`` or ``events`` table sequentially.

``kanban check`` is different: it proves that every bin's stock is the sum of its
movements, so it reads every movement once, by design. For it the test asserts a
bounded number of statements, whatever the number of bins (no query per bin).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from kanban.extensions import db
from kanban.models import Bin, Event, Movement, Zone
from kanban.ops import seedload

from ..conftest import SeededDatabases
from ..web.test_board import login

BIG_TABLES = {Movement.__tablename__, Event.__tablename__}
SIZE = seedload.LoadSize(bins=2000, suppliers=100, movements=200_000, days=365)


def seed_big_site() -> None:
    seedload.seed_load(SIZE)
    db.session.commit()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("ANALYZE")


@pytest.fixture(params=["postgresql"])
def db_url(
    request: pytest.FixtureRequest, seeded_databases: SeededDatabases, tmp_path: Path
) -> str:
    """This module runs on PostgreSQL only (see the docstring): a copy of the big site,
    seeded and analysed once per worker (the copy keeps the planner's statistics)."""
    url, _ = seeded_databases.copy(request, "big-site", seed_big_site, tmp_path)
    return url


@pytest.fixture
def big_site(app: Flask) -> None:
    """The app runs on the big site (see ``db_url``)."""


class Captured:
    """The statements the app sent while capturing, with their parameters."""

    def __init__(self) -> None:
        self.statements: list[tuple[str, Any]] = []
        self.on = True

    def __call__(self, _conn: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if self.on:
            self.statements.append((statement, params))

    @property
    def selects(self) -> list[tuple[str, Any]]:
        return [
            (s, p)
            for s, p in self.statements
            if s.lstrip().upper().startswith(("SELECT", "WITH")) and "pg_catalog" not in s
        ]


@pytest.fixture
def capture(app: Flask) -> Iterator[Callable[[], Captured]]:
    listeners: list[Captured] = []

    def start() -> Captured:
        captured = Captured()
        sa.event.listen(db.engine, "before_cursor_execute", captured)
        listeners.append(captured)
        return captured

    yield start
    for captured in listeners:
        sa.event.remove(db.engine, "before_cursor_execute", captured)


def seq_scans(plan: dict[str, Any]) -> list[str]:
    """The big tables a plan reads sequentially."""
    found = []
    if plan.get("Node Type") == "Seq Scan" and plan.get("Relation Name") in BIG_TABLES:
        found.append(plan["Relation Name"])
    for child in plan.get("Plans", []):
        found += seq_scans(child)
    return found


def explain(statements: list[tuple[str, Any]]) -> list[tuple[str, list[str]]]:
    """(statement, big tables read sequentially) for every statement."""
    out = []
    with db.engine.connect() as conn:
        for statement, params in statements:
            rows = conn.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {statement}", params).scalar_one()
            out.append((statement, seq_scans(rows[0]["Plan"])))
    return out


def stop(captured: Captured) -> list[tuple[str, Any]]:
    captured.on = False
    return captured.selects


@pytest.fixture
def supervisor(big_site: None, client: FlaskClient, make_user: Callable[..., str]) -> FlaskClient:
    login(client, make_user, "supervisor")
    return client


def pages(client: FlaskClient) -> dict[str, str]:
    zone = db.session.scalar(sa.select(Zone.name).order_by(Zone.position).limit(1))
    code = db.session.scalar(sa.select(Bin.code).where(Bin.state == "ordered").limit(1))
    head = db.session.scalar(sa.select(sa.func.max(Event.id)))
    assert zone and code and head
    db.session.remove()
    return {
        "board": "/",
        "board filtered by zone": "/?" + "zone=" + zone.replace(" ", "+"),
        "bin page with its chart": f"/bins/{code}",
        "card sizes": "/bins/sizing",
        "events near the head": f"/api/events?after={head - 5}",
    }


@pytest.mark.parametrize(
    "page",
    [
        "board",
        "board filtered by zone",
        "bin page with its chart",
        "card sizes",
        "events near the head",
    ],
)
def test_no_page_reads_the_ledger_or_the_feed_sequentially(
    page: str, supervisor: FlaskClient, capture: Callable[[], Captured]
) -> None:
    url = pages(supervisor)[page]
    captured = capture()
    resp = supervisor.get(url)
    assert resp.status_code == 200, url
    statements = stop(captured)
    assert statements, "the page ran its queries"
    bad = [(s, tables) for s, tables in explain(statements) if tables]
    assert bad == [], f"{page}: sequential scans on {bad}"


def test_kanban_check_reads_the_ledger_in_a_bounded_number_of_queries(
    big_site: None, runner: Any, capture: Callable[[], Captured]
) -> None:
    captured = capture()
    result = runner.invoke(args=["check"])
    assert result.exit_code == 0, result.output
    # A handful of whole-table statements, not one per bin (there are 2,000 bins).
    assert len(captured.statements) < 20, [s for s, _ in captured.statements]

"""The lookups of a bin's open line and of a supplier's draft use their partial indexes
whatever the statement's parameters are, on SQLite and on PostgreSQL.

Every scan of a card in replenish reads the bin's open line while it holds the write
lock. The partial index ``uq_request_lines_one_open_per_bin`` (``WHERE status = 'open'``)
serves it only when the query's own text implies ``status = 'open'``. With the status
as a bound parameter, SQLite prepared the statement anew on each run to find out
(79 µs instead of 12 µs, measured in a scan), and PostgreSQL's generic plan of a
prepared statement, which psycopg uses after five runs, cannot use the index at all.

So each plan is asked for with nothing known of the parameters but the bin (or the
supplier): SQLite's ``EXPLAIN QUERY PLAN`` with that one value bound, and PostgreSQL's
plan of a prepared statement forced generic. Written with the status as a parameter,
these same queries fail the test (``test_a_status_given_as_a_parameter_misses_it``).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from kanban.cards import lines
from kanban.domain.statuses import LineStatus, RequestStatus
from kanban.extensions import db
from kanban.models import LINE_IS_OPEN, REQUEST_IS_DRAFT, RequestLine, SupplierRequest

from ..conftest import BACKENDS, empty_database, truncate_postgresql

OPEN_LINE_INDEX = "uq_request_lines_one_open_per_bin"


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database whose tables are new on disk, too (on PostgreSQL the plan of a
    tiny table depends on the pages that earlier tests' rows left behind)."""
    url = empty_database(request, tmp_path)
    if request.param == "postgresql":
        truncate_postgresql(url)
    return url


DRAFT_INDEX = "uq_supplier_requests_one_draft"


def plan_knowing_only(stmt: Any, known: dict[str, Any]) -> str:
    """The plan of ``stmt`` as the database makes it knowing only ``known`` of its
    parameters (any other parameter unknown), as text."""
    connection = db.session.connection()
    dialect = connection.dialect
    compiled = stmt.compile(dialect=dialect)
    if dialect.name == "sqlite":
        # An unbound parameter is NULL, which implies nothing about a partial index.
        names = compiled.positiontup or []
        values = [known.get(name) for name in names]
        rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled.string}", tuple(values))
        return "\n".join(str(row[-1]) for row in rows)
    names = list(compiled.binds)
    sql = compiled.string
    for n, name in enumerate(names, start=1):
        sql = sql.replace(f"%({name})s", f"${n}")
    types = ", ".join("int" if name in known else "text" for name in names)
    args = ", ".join(str(known[name]) if name in known else "NULL" for name in names)
    connection.exec_driver_sql("SET plan_cache_mode = force_generic_plan")
    connection.exec_driver_sql("SET enable_seqscan = off")  # a tiny table: say how, not if
    connection.exec_driver_sql(f"PREPARE plan_probe ({types}) AS {sql}")
    try:
        rows = connection.exec_driver_sql(f"EXPLAIN EXECUTE plan_probe ({args})")
        return "\n".join(str(row[0]) for row in rows)
    finally:
        connection.exec_driver_sql("DEALLOCATE plan_probe")
        db.session.rollback()


def uses(plan: str, index: str) -> bool:
    return re.search(rf"\b{index}\b", plan) is not None


def test_the_scans_open_line_lookup_uses_the_partial_index(app: Flask) -> None:
    plan = plan_knowing_only(lines._OPEN_LINE_REQUEST, {"bin_id": 1})  # noqa: SLF001
    assert uses(plan, OPEN_LINE_INDEX), plan


def test_an_open_line_and_a_draft_are_found_by_their_partial_indexes(app: Flask) -> None:
    line = sa.select(RequestLine.id).where(RequestLine.bin_id == sa.bindparam("bin_id"))
    assert uses(plan_knowing_only(line.where(LINE_IS_OPEN), {"bin_id": 1}), OPEN_LINE_INDEX)
    draft = sa.select(SupplierRequest.id).where(
        SupplierRequest.supplier_id == sa.bindparam("supplier_id"), REQUEST_IS_DRAFT
    )
    assert uses(plan_knowing_only(draft, {"supplier_id": 1}), DRAFT_INDEX)


def test_a_status_given_as_a_parameter_misses_it(app: Flask) -> None:
    """The control: the same lookups with the status as a parameter (as SQLAlchemy
    writes ``column == value``) are planned without the partial index."""
    line = sa.select(RequestLine.id).where(
        RequestLine.bin_id == sa.bindparam("bin_id"), RequestLine.status == LineStatus.OPEN
    )
    assert not uses(plan_knowing_only(line, {"bin_id": 1}), OPEN_LINE_INDEX)
    draft = sa.select(SupplierRequest.id).where(
        SupplierRequest.supplier_id == sa.bindparam("supplier_id"),
        SupplierRequest.status == RequestStatus.DRAFT,
    )
    assert not uses(plan_knowing_only(draft, {"supplier_id": 1}), DRAFT_INDEX)

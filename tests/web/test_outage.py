"""A database that cannot be reached answers 503 with Retry-After (JSON in the API's error
shape, a page for people) and logs one line, not a traceback per request; a real bug
(an integrity error, a missing table) stays a 500 with its traceback."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

from kanban import create_app
from kanban.core import outage
from kanban.extensions import db

from ..conftest import IsolatedClient
from ..pg import free_port
from .test_requests_pages import Page

BROWSER = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


@pytest.fixture(autouse=True)
def no_outage_before() -> Iterator[None]:
    outage.ended()  # another test's outage in this process is not this one's
    yield
    outage.ended()  # nor this one another's


@pytest.fixture
def unreachable(tmp_path: Path) -> Iterator[Flask]:
    """The app with its PostgreSQL server gone (nothing listens on its port)."""
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/x",
            "INSTANCE_PATH": str(tmp_path),
            "SECRET_KEY": "test-secret",
            "TESTING": True,
        }
    )
    app.test_client_class = IsolatedClient
    yield app
    with app.app_context():
        db.engine.dispose()


def test_an_unreachable_database_is_a_503_with_retry_after_for_the_api_and_for_people(
    unreachable: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    client = unreachable.test_client()
    bearer = {"Authorization": "Bearer abc.def"}
    answers = [
        client.post("/api/scans", json={"code": "A-1", "mode": "pull"}, headers=bearer),
        client.get("/api/bins", headers=bearer),
        client.get("/api/whoami", headers=bearer),
    ]
    for resp in answers:
        assert resp.status_code == 503
        assert resp.headers["Retry-After"] == str(outage.RETRY_AFTER)
        error = resp.get_json()["error"]  # the shape of every API error
        assert set(error) == {"code", "message"}
        assert error["code"] == "database_unavailable"
    page = client.get("/board", headers={**BROWSER, **bearer})
    assert page.status_code == 503 and page.mimetype == "text/html"
    assert page.headers["Retry-After"] == str(outage.RETRY_AFTER)
    p = Page(page.get_data(as_text=True), 503)
    assert p.one("section", **{"class": "error-page"}).attrs["data-status"] == "503"
    assert p.one("h1").text == "Cannot save right now"
    assert [r for r in caplog.records if r.exc_info] == []  # no traceback
    lines = [r.getMessage() for r in caplog.records if r.name == "kanban.outage"]
    assert len(lines) == 1  # once for the four, when it started
    assert "cannot be reached" in lines[0] and "POST /api/scans" in lines[0]
    assert outage.down() == outage.UNREACHABLE


@pytest.fixture
def failing(app: Flask) -> Flask:
    """Two addresses with a bug behind them (added for the test): a missing value and a
    table that does not exist. The app answers as in production (no exception raised
    through to the test)."""

    def null() -> str:
        db.session.execute(sa.text("INSERT INTO zones (name, active) VALUES (NULL, true)"))
        return "never"

    def missing() -> str:
        db.session.execute(sa.text("SELECT * FROM no_such_table"))
        return "never"

    app.add_url_rule("/api/test-null", view_func=null)
    app.add_url_rule("/test-missing-table", view_func=missing)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    return app


@pytest.mark.parametrize("path", ["/api/test-null", "/test-missing-table"])
def test_a_database_error_from_a_bug_stays_a_500_with_its_traceback(
    failing: Flask, path: str, caplog: pytest.LogCaptureFixture
) -> None:
    resp = failing.test_client().get(path, headers=BROWSER)
    assert resp.status_code == 500
    assert "Retry-After" not in resp.headers
    tracebacks = [r for r in caplog.records if r.exc_info]
    assert len(tracebacks) == 1
    assert isinstance(tracebacks[0].exc_info[1], sa.exc.IntegrityError | sa.exc.DBAPIError)
    assert outage.down() == ""  # not an outage


def test_errors_are_told_apart(app: Flask) -> None:
    """The classification on real errors of the app's database: a bug is no outage."""
    with pytest.raises(sa.exc.DBAPIError) as bug:
        db.session.execute(sa.text("SELECT * FROM no_such_table"))
    db.session.rollback()
    assert outage.unavailable(bug.value) is None
    with pytest.raises(sa.exc.IntegrityError) as null:
        db.session.execute(sa.text("INSERT INTO zones (name, active) VALUES (NULL, true)"))
    db.session.rollback()
    assert outage.unavailable(null.value) is None
    assert outage.unavailable(OSError(28, "No space left on device")) == outage.FULL
    assert outage.unavailable(ValueError("x")) is None

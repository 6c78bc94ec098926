"""The audit trail page (/audit) and its CSV: filters by record, user and days; nobody can
change or delete an entry through the app (issue 14, point 2)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient

from ..conftest import Api
from .test_requests_pages import Page, login


@pytest.fixture
def trail(
    client: FlaskClient, make_user: Callable[..., str], make_token: Callable[..., str]
) -> FlaskClient:
    """A supervisor logged in, after a token "robot" made three zones, one named like a
    formula, and renamed the first."""
    robot = Api(client, make_token("supervisor", "robot"))
    ids = []
    for name in ("Dock", "Aisle A", "=HYPERLINK(1)"):
        ids.append(
            robot.client.post(
                "/api/zones", json={"name": name}, headers=robot.headers()
            ).get_json()["id"]
        )
    robot.client.patch(
        f"/api/zones/{ids[0]}", json={"version": 1, "name": "Goods-in"}, headers=robot.headers()
    )
    login(client, make_user, "supervisor")
    return client


def rows(client: FlaskClient, query: str = "") -> list[list[str]]:
    resp = client.get(f"/audit{query}")
    assert resp.status_code == 200
    p = Page(resp.get_data(as_text=True))
    return [p.cells(row) for row in p.find("tr", data_entry=None)]


def test_the_audit_page_lists_who_changed_what_newest_first(trail: FlaskClient) -> None:
    found = rows(trail, "?object=zone")
    assert [(r[1].split(" ")[0], r[2], r[3], r[4]) for r in found] == [
        ("robot", "Zone Goods-in", "Changed", "Name: Dock → Goods-in"),
        (
            "robot",
            "Zone =HYPERLINK(1)",
            "Created",
            "Name: =HYPERLINK(1)Display order: 2Active: yes",
        ),
        ("robot", "Zone Aisle A", "Created", "Name: Aisle ADisplay order: 1Active: yes"),
        ("robot", "Zone Dock", "Created", "Name: DockDisplay order: 0Active: yes"),
    ]
    assert all("(device token)" in r[1] for r in found)


def test_the_audit_page_filters_by_record_user_and_days(trail: FlaskClient) -> None:
    assert [r[2] for r in rows(trail, "?record=aisle")] == ["Zone Aisle A"]
    assert rows(trail, "?user=nobody") == []
    assert len(rows(trail, "?user=Robot&object=zone")) == 4
    today = dt.datetime.now(dt.UTC).date()
    assert rows(trail, f"?object=zone&to={today - dt.timedelta(days=1)}") == []
    assert len(rows(trail, f"?object=zone&from={today}&to={today}")) == 4
    resp = trail.get("/audit?from=31.12.2026")
    assert resp.status_code == 400
    assert (
        "from must be a date: YYYY-MM-DD."
        in Page(resp.get_data(as_text=True)).one(role="alert").text
    )


def test_the_csv_has_the_filtered_entries_oldest_first_and_no_formula(trail: FlaskClient) -> None:
    resp = trail.get("/audit.csv?object=zone&user=robot")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    assert "attachment" in resp.headers["Content-Disposition"]
    table = list(csv.DictReader(io.StringIO(resp.get_data(as_text=True).lstrip("\ufeff"))))
    assert [(r["action"], r["record"]) for r in table] == [
        ("created", "Dock"),
        ("created", "Aisle A"),
        ("created", "'=HYPERLINK(1)"),
        ("edited", "Goods-in"),
    ]
    assert table[3]["before"] == '{"name": "Dock"}' and table[3]["after"] == '{"name": "Goods-in"}'
    assert all(r["actor"] == "robot" and r["source"] == "api" for r in table)


def test_nothing_in_the_app_edits_or_deletes_the_trail(app: Flask) -> None:
    writes = [
        (str(rule), sorted(rule.methods - {"GET", "HEAD", "OPTIONS"}))
        for rule in app.url_map.iter_rules()
        if "audit" in str(rule) and rule.methods - {"GET", "HEAD", "OPTIONS"}
    ]
    assert writes == []


def test_the_audit_trail_is_for_supervisors(
    client: FlaskClient, make_user: Callable[..., str]
) -> None:
    login(client, make_user, "operator")
    assert client.get("/audit").status_code == 403
    assert client.get("/audit.csv").status_code == 403

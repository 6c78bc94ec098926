"""Exports (issue 14, point 3): the ledger and the supplier requests with their lines as
CSV over a range of days, safe against spreadsheet formulas; the bins spreadsheet still
goes round (export, import, nothing changes)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from kanban.extensions import db
from kanban.masterdata import imports
from kanban.models import Movement, SupplierRequest
from kanban.ops import exports

from ..conftest import Api
from .test_requests_pages import Page, login

TODAY = dt.datetime.now(dt.UTC).date()  # fixed at import: tests pin their rows to it


def table(client: FlaskClient, path: str) -> list[dict[str, str]]:
    resp = client.get(path)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert resp.mimetype == "text/csv" and "attachment" in resp.headers["Content-Disposition"]
    text = resp.get_data(as_text=True)
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text[1:])))


def backdate(days: int) -> None:
    """Move every movement and request so far ``days`` into the past."""
    when = dt.datetime.combine(TODAY - dt.timedelta(days=days), dt.time(9), tzinfo=dt.UTC)
    db.session.execute(sa.update(Movement).values(created_at=when))
    db.session.execute(sa.update(SupplierRequest).values(created_at=when))
    db.session.commit()


def test_the_ledger_export_has_each_movement_with_who_where_and_source_for_the_days(
    client: FlaskClient, make_user: Callable[..., str], make_bin: Callable[..., str], api: Api
) -> None:
    make_bin("A-1", on_hand=6, card=5)
    api.scan("A-1", quantity=1, station="Station 2", source="usb", scan_id="s-old")
    backdate(40)
    api.scan("A-1", quantity=2, station="Station 2", source="usb", scan_id="s-1")
    login(client, make_user, "supervisor")
    recent = table(client, "/exports/ledger.csv")  # the last 30 days by default
    assert [(r["kind"], r["quantity"], r["on_hand_after"], r["card_after"]) for r in recent] == [
        ("pull", "-2", "3", "replenish")
    ]
    row = recent[0]
    assert (row["bin"], row["sku"], row["zone"], row["who"], row["station"], row["source"]) == (
        "A-1",
        "SKU-A-1",
        "Assembly line 1",
        "operator device",
        "Station 2",
        "usb",
    )
    assert row["scan_id"] == "s-1" and row["request"].startswith("REQ-") and row["flipped"] == "1"
    older = TODAY - dt.timedelta(days=40)
    old = table(client, f"/exports/ledger.csv?from={older}&to={older}")
    assert [(r["kind"], r["scan_id"]) for r in old] == [("initial", ""), ("pull", "s-old")]


def test_the_requests_export_has_one_row_per_line_with_its_request(
    client: FlaskClient,
    make_user: Callable[..., str],
    make_bin: Callable[..., str],
    api: Api,
    supervisor_api: Api,
) -> None:
    make_bin("A-1", on_hand=6, card=5, order=20, supplier="Acme")
    make_bin("A-2", on_hand=6, card=5, order=10, supplier="Acme")
    request_id = api.scan("A-1", quantity=2).get_json()["request"]["id"]
    api.scan("A-2", quantity=2)
    assert supervisor_api.post(f"/api/requests/{request_id}/send").status_code == 200
    backdate(0)  # made at 09:00 of TODAY, even when the test runs across midnight
    login(client, make_user, "supervisor")
    rows = table(client, f"/exports/requests.csv?from={TODAY}&to={TODAY}")
    assert [
        (r["request"], r["bin"], r["quantity"], r["status"], r["line_status"]) for r in rows
    ] == [
        (f"REQ-{request_id:05d}", "A-1", "20", "sent", "open"),
        (f"REQ-{request_id:05d}", "A-2", "10", "sent", "open"),
    ]
    assert rows[0]["supplier"] == "Acme" and rows[0]["sent_at"] and rows[0]["expected_date"]
    assert rows[0]["reason"].startswith("4 on hand < card 5")
    tomorrow = TODAY + dt.timedelta(days=1)
    assert table(client, f"/exports/requests.csv?from={tomorrow}&to={tomorrow}") == []


def test_exported_cells_never_start_a_formula(
    client: FlaskClient, make_user: Callable[..., str], make_bin: Callable[..., str], api: Api
) -> None:
    make_bin("A-1", on_hand=6, card=5, zone="=cmd|' /C calc'!A0", supplier="@Acme")
    api.scan("A-1", quantity=2, station="+Station")
    login(client, make_user, "supervisor")
    ledger = table(client, "/exports/ledger.csv")
    assert {r["zone"] for r in ledger} == {"'=cmd|' /C calc'!A0"}
    assert ledger[-1]["station"] == "'+Station" and ledger[-1]["quantity"] == "-2"
    assert table(client, "/exports/requests.csv")[0]["supplier"] == "'@Acme"


def test_the_bins_spreadsheet_goes_round_even_with_formula_like_names(
    client: FlaskClient, make_user: Callable[..., str], make_bin: Callable[..., str]
) -> None:
    make_bin("A-1", zone="=Dock", supplier="-5 mm parts")
    make_bin("A-2")
    login(client, make_user, "supervisor")
    sheet = client.get("/bins/export.csv").get_data(as_text=True)
    assert ",'=Dock,'-5 mm parts," in sheet
    report = imports.parse(sheet)
    assert report.ok and [(r.zone, r.supplier) for r in report.rows][0] == ("=Dock", "-5 mm parts")
    assert {c.kind for c in imports.preview(report)} == {"same"}


def test_a_bad_range_is_refused_and_exports_are_for_supervisors(
    app: Flask, client: FlaskClient, make_user: Callable[..., str]
) -> None:
    operator = app.test_client()
    login(operator, make_user, "operator")
    assert operator.get("/exports").status_code == 403
    assert operator.get("/exports/ledger.csv").status_code == 403
    login(client, make_user, "supervisor")
    resp = client.get("/exports?from=2026-05-02&to=2026-05-01")
    assert resp.status_code == 400
    assert "to must not be before from." in Page(resp.get_data(as_text=True)).one(role="alert").text
    assert client.get("/exports/ledger.csv?from=yesterday").status_code == 400
    p = Page(client.get(f"/exports?from={TODAY}&to={TODAY}").get_data(as_text=True))
    assert p.one(id="export-ledger").attrs["href"] == f"/exports/ledger.csv?from={TODAY}&to={TODAY}"


def test_the_ledger_is_read_page_by_page(app: object, make_bin: Callable[..., str]) -> None:
    make_bin("A-1")
    make_bin("A-2")
    make_bin("A-3")
    days = exports.Days.from_args({})
    first, after = exports.ledger_page(days, 0, size=2)
    rest, end = exports.ledger_page(days, after or 0, size=2)
    assert [r[2] for r in first + rest] == ["A-1", "A-2", "A-3"] and end is None

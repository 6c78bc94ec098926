"""No 500 from any input (issue 15, point 6): Unicode digits in numeric fields, odd JSON
types, JSON nested beyond the parser, and parallel imports that create the same supplier."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from kanban.core.actor import Actor
from kanban.domain.numbers import whole_number
from kanban.domain.statuses import Source
from kanban.extensions import db
from kanban.masterdata import imports
from kanban.models import RequestLine, Supplier

from ..conftest import Api
from .test_board import login

#: Characters for which str.isdigit() is true and int() fails ("²") or reads a number
#: that no one typed on a warehouse keyboard ("٣", Arabic-Indic three).
UNICODE_DIGITS = ["²", "1²", "٣", "１"]


def csrf_of(client: FlaskClient, path: str = "/board") -> str:
    html = client.get(path).get_data(as_text=True)
    found = re.search(r'<meta name="csrf-token" content="([^"]+)"', html)
    assert found is not None
    return found.group(1)


@pytest.mark.parametrize("text", UNICODE_DIGITS + ["", "-1", "+1", " 1", "1e3", "0x1"])
def test_whole_number_takes_ascii_digits_only(text: str) -> None:
    assert whole_number(text) is None


def test_whole_number_reads_ascii_digits_within_the_bound() -> None:
    assert whole_number("0") == 0 and whole_number("0042") == 42
    assert whole_number("1234", max_digits=3) is None


@pytest.mark.parametrize("digit", UNICODE_DIGITS)
def test_unicode_digits_in_query_strings_are_refused_not_500(
    client: FlaskClient, make_token: Callable[[str], str], digit: str
) -> None:
    bearer = {"Authorization": f"Bearer {make_token('display')}"}
    resp = client.get(f"/api/events?after={digit}", headers=bearer)
    assert resp.status_code == 400 and resp.get_json()["error"]["code"] == "invalid_after"
    resp = client.get("/api/events/stream", headers={**bearer, "Last-Event-ID": digit})
    assert resp.status_code == 400
    resp = client.get(f"/api/events/stream?after={digit}", headers=bearer)
    assert resp.status_code == 400
    resp = client.get(f"/wall?rotate={digit}", headers=bearer)
    assert resp.status_code == 200 and 'data-rotate="15"' in resp.get_data(as_text=True)


@pytest.mark.parametrize("digit", ["²", "٣"])
def test_unicode_digits_in_forms_are_refused_not_500(
    client: FlaskClient,
    make_user: Callable[..., str],
    make_bin: Callable[..., str],
    api: Api,
    digit: str,
) -> None:
    make_bin("A-1", on_hand=5, card=5)
    request_id = api.scan("A-1").get_json()["request"]["id"]
    line = db.session.scalar(sa.select(RequestLine.id).where(RequestLine.request_id == request_id))
    login(client, make_user, "supervisor")
    token = csrf_of(client)
    posts = [
        (f"/requests/{request_id}/lines/{line}/quantity", {"quantity": digit}),
        (f"/requests/{request_id}/lines/{line}/receive", {"quantity": digit}),
        (f"/requests/{request_id}/send", {"via": "manual", "line_id": digit}),
        ("/bins/A-1/card-quantity", {"card_quantity": digit}),
        ("/bins/sizing", {"apply": f"A-1:{digit}"}),
    ]
    for path, data in posts:
        resp = client.post(path, data={"csrf_token": token, **data})
        assert resp.status_code < 500, (path, resp.status_code)
    # Nothing was changed by any of them (the manual send marked nothing: no valid line).
    db.session.rollback()
    assert db.session.scalar(sa.select(RequestLine.quantity).where(RequestLine.id == line)) == 20


def test_a_command_barcode_with_a_unicode_quantity_is_an_unknown_code(
    api: Api, make_bin: Callable[..., str]
) -> None:
    resp = api.scan("*KB:QTY:²")
    assert resp.status_code in (400, 404, 422), resp.status_code


@pytest.mark.parametrize("source", [[], {}, 1, None, True])
def test_a_source_of_the_wrong_type_is_refused(
    api: Api, make_bin: Callable[..., str], source: object
) -> None:
    make_bin("A-1")
    resp = api.scan("A-1", source=source)
    assert resp.status_code == 400 and resp.get_json()["error"]["code"] == "invalid_source"


@pytest.mark.parametrize("path", ["/api/scans", "/api/requests/1/send"])
def test_json_nested_100000_deep_is_bad_json(supervisor_api: Api, path: str) -> None:
    body = "[" * 100_000 + "]" * 100_000
    resp = supervisor_api.post(path, data=body, content_type="application/json")
    assert resp.status_code == 400, resp.status_code


def test_json_nested_deep_in_a_scan_is_refused_as_invalid_json(api: Api) -> None:
    body = '{"code": ' + "[" * 100_000 + "]" * 100_000 + "}"
    resp = api.post("/api/scans", data=body, content_type="application/json")
    assert resp.status_code == 400
    assert resp.get_json()["error"]["code"] in ("invalid_json", "bad_request")


CSV_HEAD = ",".join(imports.COLUMNS) + "\n"


def _import_in_thread(app: Flask, data: str, errors: list[BaseException]) -> None:
    with app.app_context():
        try:
            report = imports.import_bins(
                data, dry_run=False, actor=Actor(name="t", source=Source.IMPORT)
            )
            assert report.ok, report.errors
            db.session.commit()
        except BaseException as exc:  # noqa: BLE001 (reported to the test thread)
            db.session.rollback()
            errors.append(exc)
        finally:
            db.session.remove()


def test_parallel_imports_that_create_the_same_supplier_all_succeed(app: Flask) -> None:
    files = [
        CSV_HEAD + f"Z-{n:02d},SKU-{n},Part {n},Zone {n % 2},New Supplier,,5,2,10,,\n"
        for n in range(8)
    ]
    errors: list[BaseException] = []
    threads = [threading.Thread(target=_import_in_thread, args=(app, f, errors)) for f in files]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(Supplier.id))) == 1

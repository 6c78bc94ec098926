"""Notices for supervisors (over-receipts operators confirmed, automatic sending stopped or
given up) and the automatic sending part of a request page, with its retry button."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from kanban.core.feed import HIDDEN_SEND_ERROR
from kanban.extensions import db
from kanban.models import Notice, Supplier

from ..conftest import Api
from ..outbox import deliveries, drain
from ..smtp_server import SmtpServer
from .test_requests_pages import flip, login, page, post


def notices() -> list[Notice]:
    db.session.rollback()
    return list(db.session.scalars(sa.select(Notice).order_by(Notice.id)))


def sent_and_over(api: Api, supervisor_api: Api, code: str, quantity: int, confirm: bool) -> int:
    rid = flip(api, code)
    assert (
        supervisor_api.post(f"/api/requests/{rid}/send", json={"via": "manual"}).status_code == 200
    )
    body = {"code": code, "mode": "receive", "quantity": quantity, "confirm": confirm}
    return api.post("/api/scans", json=body).status_code


def test_an_over_receipt_needs_a_confirmation_and_a_confirmed_one_is_recorded(
    app: Flask, make_bin: Callable[..., str], api: Api, supervisor_api: Api
) -> None:
    make_bin("A-1", on_hand=5, card=5, order=10)
    assert sent_and_over(api, supervisor_api, "A-1", 25, confirm=False) == 409
    assert notices() == []  # refused: nothing booked, nothing recorded
    body = {"code": "A-1", "mode": "receive", "quantity": 25, "confirm": True}
    assert api.post("/api/scans", json=body).status_code == 201
    [notice] = notices()
    assert (notice.kind, notice.actor, notice.data["remaining"]) == (
        "over_receipt",
        "operator device",
        10,
    )
    assert "25 ea received on REQ-00001" in notice.message and "15 more" in notice.message
    assert notice.movement_id is not None and notice.request_id == 1
    replay = api.post("/api/scans", json=body | {"scan_id": "again"})
    assert replay.status_code == 201  # a new receipt, with nothing open any more...
    assert len(notices()) == 1  # ...is no over-receipt


def test_supervisors_see_notices_and_mark_them_seen(
    app: Flask,
    client: FlaskClient,
    make_user: Callable[..., str],
    make_bin: Callable[..., str],
    api: Api,
    supervisor_api: Api,
) -> None:
    make_bin("A-1", on_hand=5, card=5, order=10)
    sent_and_over(api, supervisor_api, "A-1", 12, confirm=True)
    login(client, make_user, "supervisor")
    board = page(client, "/board")
    assert board.one("span", data_unseen="1")
    listed = page(client, "/notices")
    row = listed.one("tr", data_kind="over_receipt")
    assert row.attrs["data-seen"] == "0" and "2 more than ordered" in row.text
    post(client, "/notices/seen")
    assert page(client, "/notices").find("tr", data_kind="over_receipt") == []
    everything = page(client, "/notices?show=all")
    assert everything.one("tr", data_kind="over_receipt").attrs["data-seen"] == "1"
    assert page(client, "/board").find("span", data_unseen=None) == []
    assert notices()[0].seen_by == "supervisor1"


def test_operators_are_not_shown_notices(
    app: Flask, client: FlaskClient, make_user: Callable[..., str]
) -> None:
    login(client, make_user, "operator")
    assert client.get("/notices").status_code == 403
    assert page(client, "/board").find("a", id="nav-notices") == []


@pytest.fixture
def smtp(app: Flask) -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        app.config["SMTP_URL"] = server.url()
        yield server


def test_a_request_page_shows_why_automatic_sending_gave_up_and_retries_it(
    app: Flask,
    client: FlaskClient,
    make_user: Callable[..., str],
    make_bin: Callable[..., str],
    api: Api,
    smtp: SmtpServer,
) -> None:
    make_bin("A-1", on_hand=5, card=5)
    db.session.execute(sa.update(Supplier).values(auto_send=True))
    db.session.commit()
    smtp.inbox.rcpt_reply = "550 5.1.1 Mailbox unknown"
    rid = flip(api, "A-1")
    login(client, make_user, "supervisor")
    waiting = page(client, f"/requests/{rid}")
    assert waiting.one("section", id="auto-send").attrs["data-delivery-status"] == "pending"
    drain(app)
    failed = page(client, f"/requests/{rid}")
    assert failed.one("section", id="auto-send").attrs["data-delivery-status"] == "failed"
    assert "550 5.1.1 Mailbox unknown" in failed.one("span", id="auto-send-reason").text
    assert [r.attrs["data-attempt-ok"] for r in failed.find("tr", data_attempt_ok=None)] == ["0"]
    assert failed.one("button", id="retry-auto-send")
    # An operator reads that it was not sent, never the mail server's words.
    operator = app.test_client()
    login(operator, make_user, "operator")
    seen = page(operator, f"/requests/{rid}")
    assert seen.one("section", id="auto-send").attrs["data-delivery-status"] == "failed"
    assert seen.one("span", id="auto-send-reason").text == HIDDEN_SEND_ERROR
    html = operator.get(f"/requests/{rid}").get_data(as_text=True)
    assert "550" not in html and "Mailbox unknown" not in html
    notice = page(client, "/notices").one("tr", data_kind="auto_send_failed")
    assert "550 5.1.1" in notice.text
    smtp.inbox.rcpt_reply = None
    [d] = deliveries(kind="email")
    retried = post(client, f"/requests/{rid}/deliveries/{d.id}/retry")
    assert any("emailed again" in f for f in retried.flashes())
    drain(app)
    done = page(client, f"/requests/{rid}")
    assert done.one(id="request-status").attrs["data-status"] == "sent"
    assert len(smtp.inbox.messages) == 1


def test_operators_cannot_retry(
    app: Flask,
    client: FlaskClient,
    make_user: Callable[..., str],
    make_bin: Callable[..., str],
    api: Api,
) -> None:
    app.config["SMTP_URL"] = ""
    make_bin("A-1", on_hand=5, card=5)
    db.session.execute(sa.update(Supplier).values(auto_send=True))
    db.session.commit()
    rid = flip(api, "A-1")
    drain(app)  # no SMTP: given up at once
    [d] = deliveries(kind="email")
    assert d.status == "failed" and "Email is not set up" in (d.last_error or "")
    login(client, make_user, "operator")
    shown = page(client, f"/requests/{rid}")
    assert shown.find("button", id="retry-auto-send") == []
    assert post(client, f"/requests/{rid}/deliveries/{d.id}/retry", follow=False).status == 403

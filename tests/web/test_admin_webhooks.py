"""The webhooks admin pages: only admins configure URLs; the secret is shown once; the
delivery log shows each attempt's status code and response time and sends again."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from kanban.extensions import db
from kanban.models import Webhook

from ..conftest import Api
from ..outbox import deliveries, drain
from ..webhook_receiver import ERROR, Receiver
from .test_admin import secret
from .test_requests_pages import Page, login, page


def csrf(client: FlaskClient) -> str:
    return page(client, "/admin/webhooks").one("meta", name="csrf-token").attrs["content"] or ""


def hooks() -> list[Webhook]:
    db.session.rollback()
    return list(db.session.scalars(sa.select(Webhook).order_by(Webhook.id)))


@pytest.fixture
def receiver(app: Flask) -> Iterator[Receiver]:
    with Receiver() as r:
        yield r


@pytest.mark.parametrize("role", ["operator", "supervisor"])
def test_only_admins_see_or_add_webhooks(
    app: Flask, client: FlaskClient, make_user: Callable[..., str], role: str
) -> None:
    assert client.get("/admin/webhooks").status_code == 302  # to the login page
    login(client, make_user, role)
    assert client.get("/admin/webhooks").status_code == 403
    token = Page(client.get("/requests").get_data(as_text=True)).one("meta", name="csrf-token")
    resp = client.post(
        "/admin/webhooks",
        data={
            "url": "https://evil.example/",
            "events": "bin.changed",
            "csrf_token": token.attrs["content"],
        },
    )
    assert resp.status_code == 403 and hooks() == []


def test_admin_adds_a_webhook_and_sees_its_secret_once(
    app: Flask, client: FlaskClient, make_user: Callable[..., str]
) -> None:
    login(client, make_user, "admin")
    resp = client.post(
        "/admin/webhooks",
        data={
            "url": " https://erp.example/kanban ",
            "events": ["card.state_changed", "request.sent"],
            "csrf_token": csrf(client),
        },
    )
    assert resp.status_code == 201 and resp.headers["Cache-Control"] == "no-store"
    shown = secret(resp.get_data(as_text=True), "webhook")
    [hook] = hooks()
    assert (hook.url, hook.events, hook.secret) == (
        "https://erp.example/kanban",
        ["card.state_changed", "request.sent"],
        shown,
    )
    again = page(client, "/admin/webhooks")
    row = again.one("tr", data_webhook=str(hook.id))
    assert "https://erp.example/kanban" in row.text and shown not in row.text
    assert again.find(data_secret="webhook") == []


@pytest.mark.parametrize(
    ("data", "says"),
    [
        ({"url": "ftp://erp.example/", "events": "bin.changed"}, "http:// or https://"),
        ({"url": "https://erp.example/", "events": "card.flipped"}, "Unknown event"),
        ({"url": "https://erp.example/"}, "Choose at least one event"),
    ],
)
def test_bad_input_is_refused_with_a_clear_error_and_nothing_added(
    app: Flask, client: FlaskClient, make_user: Callable[..., str], data: dict[str, str], says: str
) -> None:
    login(client, make_user, "admin")
    resp = client.post("/admin/webhooks", data={**data, "csrf_token": csrf(client)})
    assert resp.status_code == 400
    error = Page(resp.get_data(as_text=True)).one("p", role="alert")
    assert says in error.text
    assert hooks() == []


def test_the_delivery_log_shows_each_attempt_and_sends_again(
    app: Flask,
    client: FlaskClient,
    make_user: Callable[..., str],
    make_bin: Callable[..., str],
    api: Api,
    receiver: Receiver,
) -> None:
    login(client, make_user, "admin")
    resp = client.post(
        "/admin/webhooks",
        data={"url": receiver.url, "events": "card.state_changed", "csrf_token": csrf(client)},
    )
    receiver.secret = secret(resp.get_data(as_text=True), "webhook")
    [hook] = hooks()
    make_bin("A-1", on_hand=5, card=5)
    receiver.mode = ERROR
    api.scan("A-1")  # flips
    drain(app)
    receiver.mode = "ok"
    drain(app, later=dt.timedelta(hours=1))
    log = page(client, f"/admin/webhooks/{hook.id}")
    [d] = deliveries(webhook_id=hook.id)
    row = log.one("tr", data_delivery=str(d.id))
    assert row.attrs["data-status"] == "delivered" and d.event_id in row.text
    codes = [el.text for el in log.find("span", data_status_code=None)]
    assert codes == ["500", "204"]
    assert all(el.attrs["data-ms"].isdigit() for el in log.find("span", data_ms=None))
    resp = client.post(
        f"/admin/webhooks/{hook.id}/deliveries/{d.id}/redeliver",
        data={"csrf_token": csrf(client)},
        follow_redirects=True,
    )
    assert "will be sent again" in resp.get_data(as_text=True)
    drain(app)
    assert [h.json()["id"] for h in receiver.hits[-2:]] == [d.event_id, d.event_id]
    assert receiver.hits[-1].verified


def test_removing_a_webhook_keeps_its_log(
    app: Flask, client: FlaskClient, make_user: Callable[..., str]
) -> None:
    login(client, make_user, "admin")
    client.post(
        "/admin/webhooks",
        data={"url": "https://erp.example/", "events": "bin.changed", "csrf_token": csrf(client)},
    )
    [hook] = hooks()
    resp = client.post(
        f"/admin/webhooks/{hook.id}/remove",
        data={"csrf_token": csrf(client)},
        follow_redirects=True,
    )
    assert "removed" in resp.get_data(as_text=True)
    assert [h.active for h in hooks()] == [False]
    assert page(client, "/admin/webhooks").find("tr", data_webhook=str(hook.id)) == []
    assert client.get(f"/admin/webhooks/{hook.id}").status_code == 200


def test_the_list_shows_the_card_changes_an_endpoint_has_not_read_yet(
    app: Flask,
    client: FlaskClient,
    make_user: Callable[..., str],
    make_bin: Callable[..., str],
    api: Api,
) -> None:
    login(client, make_user, "admin")
    client.post(
        "/admin/webhooks",
        data={"url": "http://127.0.0.1:9/", "events": "bin.changed", "csrf_token": csrf(client)},
    )
    [hook] = hooks()
    make_bin("A-1", on_hand=50, card=5)
    for _ in range(3):
        api.scan("A-1")
    listing = page(client, "/admin/webhooks")
    [unread] = listing.find("span", data_unread=None)
    assert unread.attrs["data-unread"] == "4"  # the opening stock and three pulls
    assert unread.text.startswith("4 card changes not read yet")
    drain(app)  # nothing listens on port 9: the worker read them, one attempt failed
    listing = page(client, "/admin/webhooks")
    assert listing.find("span", data_unread=None) == []
    assert "pending 4" in listing.one("tr", data_webhook=str(hook.id)).text

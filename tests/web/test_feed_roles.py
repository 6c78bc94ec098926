"""The change feed shows each principal only what it may see (issue 15, point 4): display
tokens get no supplier requests through the feed, operators never get a mail server's error
text, and the relay's password never reaches anybody's screen."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from aiosmtpd.smtp import AuthResult
from flask import Flask
from flask.testing import FlaskClient

from kanban.core.errors import ServiceError
from kanban.extensions import db
from kanban.purchasing import mail, sending
from kanban.purchasing.requests import HIDDEN_SEND_ERROR

from ..conftest import Api, LiveServer
from ..smtp_server import SmtpServer
from .test_board import login
from .test_stream import Stream

PASSWORD = "s3cret-relay-pw"  # noqa: S105 (the secret the test makes sure never leaks)


def _accept_any_login(*_args: Any) -> AuthResult:
    return AuthResult(success=True)


@pytest.fixture
def leaky_relay(app: Flask) -> Iterator[SmtpServer]:
    """A relay that wants a login and refuses every recipient with an answer that quotes
    the password it was given (as a badly written relay did)."""
    with SmtpServer(authenticator=_accept_any_login, auth_require_tls=False) as server:
        server.inbox.rcpt_reply = f"550 5.7.1 relay denied for kanban:{PASSWORD} (policy)"
        app.config["SMTP_URL"] = (
            f"smtp://kanban:{PASSWORD}@127.0.0.1:{server.port}?insecure_login=1&timeout=5"
        )
        yield server


@pytest.fixture
def failed_send(app: Flask, leaky_relay: SmtpServer, make_bin: Callable[..., str], api: Api) -> int:
    """A draft whose send failed at the leaky relay."""
    make_bin("A-1", on_hand=5, card=5)
    request_id = int(api.scan("A-1").get_json()["request"]["id"])
    with pytest.raises(ServiceError) as err:
        sending.send_by_email(request_id, sending.MailSettings.from_config(app.config))
    assert PASSWORD not in err.value.message and "[password]" in err.value.message
    db.session.rollback()
    return request_id


def _events(client: FlaskClient, token: str) -> list[dict[str, Any]]:
    resp = client.get("/api/events?after=0", headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 200
    return list(resp.get_json()["events"])


def test_the_relays_password_never_reaches_the_request(
    client: FlaskClient, failed_send: int, make_token: Callable[..., str]
) -> None:
    supervisor = Api(client, make_token("supervisor"))
    body = json.dumps(supervisor.get("/api/requests").get_json())
    assert "550 5.7.1 relay denied" in body  # supervisors see why
    assert PASSWORD not in body
    assert PASSWORD not in json.dumps(_events(client, supervisor.token))


def test_display_tokens_get_no_supplier_request_through_the_feed(
    client: FlaskClient, failed_send: int, make_token: Callable[..., str]
) -> None:
    display = make_token("display")
    assert (
        client.get("/api/requests", headers={"Authorization": f"Bearer {display}"}).status_code
        == 403
    )
    events = _events(client, display)
    assert events and {e["kind"] for e in events} == {"bin.changed"}
    assert "relay denied" not in json.dumps(events)
    everything = _events(client, make_token("supervisor"))
    assert "request.changed" in {e["kind"] for e in everything}
    last = client.get(
        "/api/events?after=0", headers={"Authorization": f"Bearer {display}"}
    ).get_json()["last_id"]
    assert last == everything[-1]["id"]  # skipped events are not asked for again


def test_operators_never_get_the_mail_servers_answer(
    client: FlaskClient,
    failed_send: int,
    make_token: Callable[..., str],
    make_user: Callable[..., str],
) -> None:
    operator = make_token("operator")
    events = _events(client, operator)
    changed = [e for e in events if e["kind"] == "request.changed"]
    assert changed and all("relay denied" not in json.dumps(e) for e in changed)
    assert any(e["data"].get("send_error") == HIDDEN_SEND_ERROR for e in changed)
    listed = json.dumps(
        client.get("/api/requests", headers={"Authorization": f"Bearer {operator}"}).get_json()
    )
    assert "relay denied" not in listed and HIDDEN_SEND_ERROR in listed
    login(client, make_user, "operator")
    page = client.get(f"/requests/{failed_send}").get_data(as_text=True)
    assert "Not sent." in page and "relay denied" not in page and HIDDEN_SEND_ERROR in page


def test_the_live_stream_filters_as_the_feed_does(
    live_server: LiveServer, failed_send: int, make_token: Callable[..., str], api: Api
) -> None:
    everything = _events(api.client, make_token("supervisor"))
    bins = [e["id"] for e in everything if e["kind"] == "bin.changed"]
    assert len(bins) < len(everything)
    display = Stream(live_server.url, make_token("display"), last_event_id=0)
    operator = Stream(live_server.url, make_token("operator"), last_event_id=0)
    try:
        assert [display.next_event()[0] for _ in bins] == bins
        seen = [operator.next_event()[1] for _ in everything]
        assert [e["id"] for e in seen] == [e["id"] for e in everything]
        assert "relay denied" not in json.dumps(seen)
        api.scan("A-1")  # the next event a display gets is this one: nothing in between
        event_id, data = display.next_event()
        assert data["kind"] == "bin.changed" and event_id > everything[-1]["id"]
    finally:
        display.close()
        operator.close()


@pytest.mark.parametrize(
    "form",
    [
        PASSWORD,
        "czNjcmV0LXJlbGF5LXB3",  # base64(password): AUTH LOGIN
        "AGthbmJhbgBzM2NyZXQtcmVsYXktcHc=",  # base64("\0kanban\0password"): AUTH PLAIN
    ],
)
def test_scrub_takes_the_password_out_in_every_form(form: str) -> None:
    settings = mail.parse_smtp_url(f"smtps://kanban:{PASSWORD}@relay.example")
    assert form not in mail.scrub(f"535 bad credentials {form} (try again)", settings)

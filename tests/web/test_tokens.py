"""Tokens (issue 15, point 3): an optional expiry, a revoked token's open stream ends within a
second, and tokens never reach the access log. (The bearer-over-cookie and 401-before-CSRF
rules are in test_sessions.py.)"""

from __future__ import annotations

import datetime as dt
import json
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests as http
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from kanban.auth import users as auth_service
from kanban.core.errors import ServiceError
from kanban.extensions import db
from kanban.models import DeviceToken, utcnow
from kanban.ops.accesslog import redact, redact_atoms

from ..conftest import Api, LiveServer, start_server, stop_server
from .test_board import login
from .test_stream import Stream


def expire(token_id: int) -> None:
    db.session.execute(
        sa.update(DeviceToken)
        .where(DeviceToken.id == token_id)
        .values(expires_at=utcnow() - dt.timedelta(seconds=1))
    )
    db.session.commit()


def test_a_token_stops_working_when_it_expires(client: FlaskClient, app: Flask) -> None:
    token, plain = auth_service.create_token("handheld", "operator", dt.timedelta(days=30))
    db.session.commit()
    assert token.expires_at is not None
    assert abs(token.expires_at - utcnow() - dt.timedelta(days=30)) < dt.timedelta(minutes=1)
    api = Api(client, plain)
    assert api.get("/api/whoami").status_code == 200
    expire(token.id)
    assert api.get("/api/whoami").status_code == 401
    assert api.post("/api/scans", json={"code": "A-1"}).status_code == 401


def test_an_expired_display_link_and_its_wall_session_stop_working(
    client: FlaskClient, app: Flask
) -> None:
    token, plain = auth_service.create_token("TV", "display", dt.timedelta(days=1))
    db.session.commit()
    assert client.get(f"/wall?token={plain}").status_code == 302
    assert client.get("/wall").status_code == 200
    expire(token.id)
    assert client.get("/wall").status_code == 302  # back to the login page
    assert client.get(f"/wall?token={plain}").status_code == 403


def test_tokens_without_an_expiry_live_until_revoked(
    client: FlaskClient, make_token: Callable[..., str]
) -> None:
    api = Api(client, make_token("display"))
    assert api.get("/api/whoami").status_code == 200
    db.session.rollback()
    assert db.session.scalar(sa.select(DeviceToken.expires_at)) is None


@pytest.mark.parametrize("days", [0, 3651])
def test_an_expiry_out_of_bounds_is_refused(app: Flask, days: int) -> None:
    with pytest.raises(ServiceError, match="1 to 3650 days"):
        auth_service.create_token("x", "operator", dt.timedelta(days=days))
    db.session.rollback()


def test_an_admin_gives_a_new_token_an_expiry(
    client: FlaskClient, make_user: Callable[..., str]
) -> None:
    login(client, make_user, "admin")
    page = client.get("/admin/tokens").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert csrf is not None and 'name="expires"' in page
    resp = client.post(
        "/admin/tokens",
        data={"name": "integration", "role": "supervisor", "expires": "90", "csrf_token": csrf[1]},
    )
    assert resp.status_code == 201
    db.session.rollback()
    token = db.session.scalar(sa.select(DeviceToken))
    assert token is not None and token.expires_at is not None
    assert dt.timedelta(days=89) < token.expires_at - utcnow() <= dt.timedelta(days=90)
    expire(token.id)
    listed = client.get("/admin/tokens").get_data(as_text=True)
    assert re.search(r"<td>expired</td>", listed)


def test_the_cli_gives_a_token_an_expiry(runner: Any) -> None:
    made = runner.invoke(
        args=["token", "create", "scanner", "--role", "operator", "--expires-days", "7"]
    )
    assert made.exit_code == 0, made.output
    listed = runner.invoke(args=["token", "list"]).output
    until = (utcnow() + dt.timedelta(days=7)).date().isoformat()
    assert f"active until {until}" in listed


# -------------------------------------------------------------- open streams end


def _wait_denied(stream: Stream, since: float) -> float:
    msg = stream.next(lambda m: m.get("event") in ("denied", "reset"))
    assert msg["event"] == "denied"
    return time.monotonic() - since


def test_a_revoked_tokens_open_stream_ends_within_a_second(
    live_server: LiveServer, make_token: Callable[..., str]
) -> None:
    plain = make_token("display")
    stream = Stream(live_server.url, plain)
    try:
        stream.next(lambda m: m.get("event") == "heartbeat")
        token_id = auth_service.token_for(plain).id  # type: ignore[union-attr]
        db.session.rollback()
        auth_service.revoke_token(token_id)
        db.session.commit()
        assert _wait_denied(stream, time.monotonic()) < 1.0
    finally:
        stream.close()


def test_an_expiring_tokens_open_stream_ends_within_a_second(
    live_server: LiveServer, app: Flask
) -> None:
    token, plain = auth_service.create_token("TV", "display", dt.timedelta(days=1))
    db.session.commit()
    stream = Stream(live_server.url, plain)
    try:
        stream.next(lambda m: m.get("event") == "heartbeat")
        expire(token.id)
        assert _wait_denied(stream, time.monotonic()) < 1.0
    finally:
        stream.close()


# ---------------------------------------------------------------- the access log


def test_redaction_of_urls_and_headers() -> None:
    assert redact("GET /wall?token=kbt_abc&rotate=5 HTTP/1.1") == (
        "GET /wall?token=[redacted]&rotate=5 HTTP/1.1"
    )
    assert redact("/wall?rotate=5&Token=kbt_abc") == "/wall?rotate=5&Token=[redacted]"
    atoms = redact_atoms(
        {
            "{authorization}i": "Bearer kbt_1",
            "{http_authorization}e": "Bearer kbt_1",
            "{cookie}i": "session=abc",
            "{set-cookie}o": "session=abc",
            "{referer}i": "https://h/wall?token=kbt_2",
            "q": "token=kbt_3",
            "s": 200,
        }
    )
    assert "kbt_" not in json.dumps(atoms) and "abc" not in json.dumps(atoms)
    assert atoms["s"] == 200


def test_tokens_never_reach_the_access_log(
    app: Flask, db_url: str, instance: Path, make_token: Callable[..., str]
) -> None:
    display, operator = make_token("display"), make_token("operator")
    db.session.remove()
    log = instance / "access.log"
    server = start_server(
        db_url,
        instance,
        workers=1,
        threads=4,
        extra_env={
            "KANBAN_ACCESS_LOG": str(log),
        },
    )
    try:
        s = http.Session()
        s.get(f"{server.url}/wall?token={display}&rotate=20", timeout=10)
        http.get(
            f"{server.url}/api/whoami", headers={"Authorization": f"Bearer {operator}"}, timeout=10
        )
        http.get(f"{server.url}/login?token={operator}", timeout=10)
    finally:
        stop_server(server)
    text = log.read_text()
    assert "/wall?token=[redacted]&rotate=20" in text and "/api/whoami" in text
    assert display not in text and operator not in text
    assert display[4:12] not in text  # not even a part of it

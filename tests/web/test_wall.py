"""Wall mode (docs/manual/spec.md §4): the display link, what the wall shows, and that it
changes nothing."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from kanban.auth import users as auth_service
from kanban.extensions import db
from kanban.models import (
    Bin,
    Delivery,
    DeviceToken,
    Event,
    Movement,
    Notice,
    RequestLine,
    SupplierRequest,
    User,
    Webhook,
)

from ..conftest import Api
from .test_board import Cards

CHANGING = {"POST", "PUT", "PATCH", "DELETE"}
#: GET routes a display principal may read: the wall itself, the read-only API and the feed.
DISPLAY_GETS = {
    "static",
    "auth.login",
    "wall.wall",
    "api.list_bins",
    "api.get_bin",
    "api.list_events",
    "api.event_stream",
    "api.whoami",
    "api.health",  # anyone may ask whether the site is up (a load balancer has no token)
}
#: Dummy values for URL arguments; they name things that exist (see ``world``), so a
#: refusal is the role check at work rather than a "not found".
URL_ARGS = {
    "code": "A-1",
    "scan_id": "scan-1",
    "request_id": 1,
    "line_id": 1,
    "supplier_id": 1,
    "item_id": 1,
    "zone_id": 1,
    "record_id": 1,  # a supplier, item or zone on its master-data form
    "token_id": 1,
    "user_id": 1,
    "filename": "css/app.css",
    "webhook_id": 1,
    "delivery_id": 1,
}


def open_link(client: FlaskClient, token: str, query: str = "") -> Any:
    return client.get(f"/wall?token={token}{query}")


def csrf_of(html: str) -> str:
    found = re.search(r'<meta name="csrf-token" content="([^"]+)"', html)
    assert found is not None
    return found.group(1)


@pytest.fixture
def world(make_bin: Callable[..., str], api: Api) -> dict[str, Any]:
    """Bins, a draft supplier request with a line, a scan to undo, users and tokens."""
    make_bin("A-1", on_hand=6, card=5, zone="Assembly")
    make_bin("B-1", on_hand=9, card=5, zone="Packing")
    scan = api.scan("A-1", quantity=2, scan_id="scan-1")
    assert scan.status_code == 201 and scan.get_json()["request"]["id"] == 1
    return {"flipped": "A-1"}


def snapshot() -> dict[str, Any]:
    """Everything a changing route could change."""
    db.session.rollback()

    def count(model: Any, *where: Any) -> int:
        return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where)) or 0

    return {
        "movements": count(Movement),
        "events": count(Event),
        "lines": count(RequestLine),
        "open lines": count(RequestLine, RequestLine.status == "open"),
        "lines quantity": db.session.scalar(sa.select(sa.func.sum(RequestLine.quantity))),
        "requests": sorted(
            tuple(r)
            for r in db.session.execute(sa.select(SupplierRequest.id, SupplierRequest.status))
        ),
        "users": sorted(
            tuple(r) for r in db.session.execute(sa.select(User.username, User.role, User.active))
        ),
        "tokens": count(DeviceToken),
        "revoked tokens": count(DeviceToken, DeviceToken.revoked_at.is_not(None)),
        "webhooks": count(Webhook, Webhook.active.is_(True)),
        "deliveries": count(Delivery),
        "notices seen": count(Notice, Notice.seen_at.is_not(None)),
        "bins": sorted(
            tuple(r) for r in db.session.execute(sa.select(Bin.code, Bin.on_hand, Bin.state))
        ),
    }


def test_display_link_signs_in_and_drops_the_token_from_the_address(
    client: FlaskClient, make_token: Callable[..., str], world: dict[str, Any]
) -> None:
    token = make_token("display")
    resp = open_link(client, token, "&rotate=20")
    assert resp.status_code == 302
    assert resp.headers["Location"] == "/wall?rotate=20"
    assert token not in resp.headers["Location"]
    assert resp.headers["Referrer-Policy"] == "no-referrer"
    wall = client.get(resp.headers["Location"])
    assert wall.status_code == 200
    html = wall.get_data(as_text=True)
    cards = Cards(html)
    assert {c.code: c.state for c in cards.cards} == {"A-1": "replenish", "B-1": "stocked"}
    assert not any("href" in c.attrs for c in cards.cards)  # a TV has no bin pages to open
    assert 'data-rotate="20"' in html and "data-clock" in html and 'class="live"' in html
    assert 'data-refresh-at="' in html  # reloads itself after midnight (test_board)
    counts = dict(re.findall(r'data-count="(\w+)">.*?<b class="count-n">(\d+)</b>', html))
    assert counts["stocked"] == "1" and counts["replenish"] == "1" and counts["ordered"] == "0"
    assert "wall-mode" in html  # the dark full-screen theme


def test_wall_applies_the_filter_of_its_link(
    client: FlaskClient, make_token: Callable[..., str], world: dict[str, Any]
) -> None:
    resp = open_link(client, make_token("display"), "&zone=Packing")
    page = Cards(client.get(resp.headers["Location"]).get_data(as_text=True))
    assert page.shown() == {"B-1"}


@pytest.mark.parametrize("kind", ["unknown", "revoked", "operator token"])
def test_a_link_without_a_live_display_token_is_refused(
    app: Flask, client: FlaskClient, make_token: Callable[..., str], kind: str
) -> None:
    if kind == "unknown":
        token = "kbt_not-a-real-token"
    elif kind == "revoked":
        token = make_token("display")
        auth_service.revoke_token(auth_service.list_tokens()[0].id)
        db.session.commit()
    else:
        token = make_token("operator")
    resp = open_link(client, token)
    assert resp.status_code == 403
    assert "This display link is not valid" in resp.get_data(as_text=True)
    assert client.get("/wall").status_code == 302  # not signed in


def test_revoking_a_display_token_ends_its_wall_session(
    client: FlaskClient, make_token: Callable[..., str], world: dict[str, Any]
) -> None:
    open_link(client, make_token("display", "TV1"))
    assert client.get("/wall").status_code == 200
    assert client.get("/api/events?after=0").status_code == 200
    tv = db.session.scalar(sa.select(DeviceToken).where(DeviceToken.name == "TV1"))
    assert tv is not None
    auth_service.revoke_token(tv.id)
    db.session.commit()
    wall = client.get("/wall")
    assert wall.status_code == 302 and "/login" in wall.headers["Location"]
    assert client.get("/api/events?after=0").status_code == 401
    assert client.get("/api/events/stream").status_code == 401


def test_wall_needs_a_display_link_or_login(client: FlaskClient) -> None:
    resp = client.get("/wall")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def _changing_rules(app: Flask) -> list[tuple[str, str, str]]:
    out = []
    for rule in app.url_map.iter_rules():
        for method in sorted((rule.methods or set()) & CHANGING):
            if rule.endpoint in ("auth.login", "auth.logout"):
                continue  # signing in and out touch only the caller's own session
            args = {name: URL_ARGS[name] for name in rule.arguments}
            with app.test_request_context():
                path = app.url_for(rule.endpoint, **args)
            out.append((method, path, rule.endpoint))
    return out


@pytest.mark.parametrize("via", ["display link", "bearer token"])
def test_display_principal_is_refused_every_changing_route_and_changes_nothing(
    app: Flask,
    client: FlaskClient,
    make_token: Callable[..., str],
    world: dict[str, Any],
    via: str,
) -> None:
    token = make_token("display")
    headers: dict[str, str] = {}
    if via == "display link":
        open_link(client, token)
        wall = client.get("/wall")
        assert wall.status_code == 200
        # A valid CSRF token, so that the role check is what refuses the request.
        headers["X-CSRFToken"] = csrf_of(wall.get_data(as_text=True))
    else:
        headers["Authorization"] = f"Bearer {token}"
    before = snapshot()
    rules = _changing_rules(app)
    assert len(rules) >= 10  # the rule walk found the app's routes
    for method, path, _endpoint in rules:
        if path.startswith("/api/"):
            body: dict[str, Any] = {"json": {"code": "A-1", "mode": "pull", "quantity": 1}}
        else:
            body = {
                "data": {
                    "csrf_token": headers.get("X-CSRFToken", ""),
                    "quantity": "1",
                    "name": "TV2",
                    "role": "admin",
                    "on": "1",
                }
            }
        resp = client.open(path, method=method, headers=headers, **body)
        assert resp.status_code in (400, 401, 403, 404, 405), (method, path, resp.status_code)
        if via == "display link" or path.startswith("/api/"):
            # A valid CSRF token (or none needed) and a plausible body: the role check refuses.
            assert resp.status_code == 403, (method, path, resp.status_code)
    assert snapshot() == before
    if via == "display link":
        assert client.get("/wall").status_code == 200  # still the same display session


@pytest.mark.parametrize("via", ["display link", "bearer token"])
def test_display_principal_cannot_open_operator_or_supervisor_pages(
    app: Flask,
    client: FlaskClient,
    make_token: Callable[..., str],
    world: dict[str, Any],
    via: str,
) -> None:
    token = make_token("display")
    headers = {}
    if via == "display link":
        open_link(client, token)
    else:
        headers["Authorization"] = f"Bearer {token}"
    checked = 0
    for rule in app.url_map.iter_rules():
        if "GET" not in (rule.methods or set()) or rule.endpoint in DISPLAY_GETS:
            continue
        args = {name: URL_ARGS[name] for name in rule.arguments}
        with app.test_request_context():
            path = app.url_for(rule.endpoint, **args)
        resp = client.get(path, headers=headers)
        assert resp.status_code == 403, (path, resp.status_code)
        checked += 1
    assert checked >= 15
    for path in ("/api/bins", "/api/bins/A-1", "/api/events?after=0", "/api/whoami"):
        assert client.get(path, headers=headers).status_code == 200, path


def test_sort_action_puts_the_cards_that_need_action_first(
    client: FlaskClient, make_token: Callable[..., str], world: dict[str, Any]
) -> None:
    resp = open_link(client, make_token("display"), "&sort=action")
    assert resp.headers["Location"] == "/wall?sort=action"
    html = client.get(resp.headers["Location"]).get_data(as_text=True)
    cards = Cards(html).cards
    # A-1 (replenish) sits in the "Needs action" group (data-zone-section=""), first.
    assert [(c.code, c.group) for c in cards] == [("A-1", ""), ("B-1", "Packing")]
    assert "data-action-section" in html and "Needs action" in html
    # Without the option the cards stay in their zones, and there is no such group.
    plain = client.get("/wall").get_data(as_text=True)
    assert [(c.code, c.group) for c in Cards(plain).cards] == [
        ("A-1", "Assembly"),
        ("B-1", "Packing"),
    ]
    assert "data-action-section" not in plain

"""The JSON API: happy paths, every bad input, and roles. Bad input changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from kanban.extensions import db
from kanban.models import Event, Movement, RequestLine

from ..conftest import Api


def world() -> tuple[int, int, int, list[tuple[str, int]]]:
    """Everything a bad request must leave untouched."""
    db.session.rollback()
    from kanban.models import Bin

    return (
        db.session.scalar(sa.select(sa.func.count(Movement.id))) or 0,
        db.session.scalar(sa.select(sa.func.count(Event.id))) or 0,
        db.session.scalar(sa.select(sa.func.count(RequestLine.id))) or 0,
        list(db.session.execute(sa.select(Bin.code, Bin.on_hand).order_by(Bin.code)).all()),
    )


def test_scan_flips_card_and_reports_request(api: Api, make_bin: Callable[..., str]) -> None:
    code = make_bin(on_hand=5, card=5)
    resp = api.scan(code, scan_id="abc-1", station="Station 2")
    assert resp.status_code == 201
    body = resp.get_json()
    assert body["scan_id"] == "abc-1" and body["replayed"] is False and body["flipped"] is True
    assert body["bin"]["code"] == code and body["bin"]["on_hand"] == 4
    assert body["bin"]["card_quantity"] == 5 and body["bin"]["state"] == "replenish"
    assert body["request"]["status"] == "draft"
    replay = api.scan(code, scan_id="abc-1")
    assert replay.status_code == 200 and replay.get_json()["replayed"] is True
    assert replay.get_json()["bin"]["on_hand"] == 4


def test_scan_without_scan_id_gets_one(api: Api, make_bin: Callable[..., str]) -> None:
    code = make_bin()
    body = api.scan(code).get_json()
    assert len(body["scan_id"]) == 32


BAD_BODIES: list[tuple[str, Any, str]] = [
    ("unknown code", {"code": "NOPE-1"}, "unknown_code"),
    ("zero quantity", {"code": "A-01-01", "quantity": 0}, "invalid_quantity"),
    ("negative quantity", {"code": "A-01-01", "quantity": -2}, "invalid_quantity"),
    ("fraction quantity", {"code": "A-01-01", "quantity": 1.5}, "invalid_quantity"),
    ("text quantity", {"code": "A-01-01", "quantity": "3"}, "invalid_quantity"),
    ("bool quantity", {"code": "A-01-01", "quantity": True}, "invalid_quantity"),
    ("huge quantity", {"code": "A-01-01", "quantity": 10**12}, "invalid_quantity"),
    ("unknown mode", {"code": "A-01-01", "mode": "steal"}, "invalid_mode"),
    ("mode not text", {"code": "A-01-01", "mode": 3}, "invalid_mode"),
    ("too long", {"code": "A" * 5000}, "code_too_long"),
    ("control chars", {"code": "A-01\x00-01"}, "invalid_code"),
    ("escape sequence", {"code": "\x1b[31mA-01-01"}, "invalid_code"),
    ("empty code", {"code": ""}, "invalid_code"),
    ("code not text", {"code": 12345}, "invalid_code"),
    ("missing code", {"mode": "pull"}, "missing_code"),
    ("unknown field", {"code": "A-01-01", "qty": 1}, "unknown_field"),
    ("bad scan id", {"code": "A-01-01", "scan_id": "x" * 65}, "invalid_scan_id"),
    ("scan id with spaces", {"code": "A-01-01", "scan_id": "a b"}, "invalid_scan_id"),
    ("station too long", {"code": "A-01-01", "station": "S" * 65}, "invalid_station"),
    ("bad source", {"code": "A-01-01", "source": "telepathy"}, "invalid_source"),
    ("count without quantity", {"code": "A-01-01", "mode": "count"}, "quantity_required"),
    ("receive with no open line", {"code": "A-01-01", "mode": "receive"}, "quantity_required"),
    ("array body", ["A-01-01"], "invalid_json"),
    ("unusual pull", {"code": "A-01-01", "quantity": 99}, "unusual_quantity"),
    ("confirm not bool", {"code": "A-01-01", "quantity": 99, "confirm": "yes"}, "invalid_confirm"),
    (
        "scanned_at no zone",
        {"code": "A-01-01", "scanned_at": "2024-05-01T9:30"},
        "invalid_scanned_at",
    ),
    ("scanned_at number", {"code": "A-01-01", "scanned_at": 1714555800}, "invalid_scanned_at"),
    ("scanned_at too long", {"code": "A-01-01", "scanned_at": "2" * 41}, "invalid_scanned_at"),
]


def test_every_refused_quantity_says_the_one_range_of_its_mode(
    api: Api, make_bin: Callable[..., str]
) -> None:
    make_bin("A-01-01", on_hand=5, card=5)
    said = {
        api.post("/api/scans", json={"code": "A-01-01", **body}).get_json()["error"]["message"]
        for body in (
            {"quantity": 0},
            {"quantity": -2},
            {"quantity": "3"},
            {"quantity": 1.5},
            {"quantity": 10**12},
            {"mode": "receive", "quantity": 0},
        )
    }
    assert said == {"The quantity must be a whole number from 1 to 1000000."}
    count = {"code": "A-01-01", "mode": "count"}
    assert {
        api.post("/api/scans", json={**count, "quantity": q}).get_json()["error"]["message"]
        for q in (-1, 2.5, "7")
    } == {"The quantity must be a whole number from 0 to 1000000."}


@pytest.mark.parametrize(("label", "body", "code"), BAD_BODIES, ids=[b[0] for b in BAD_BODIES])
def test_bad_scan_is_4xx_with_error_and_changes_nothing(
    api: Api, make_bin: Callable[..., str], label: str, body: Any, code: str
) -> None:
    make_bin("A-01-01", on_hand=5, card=5)
    before = world()
    resp = api.post("/api/scans", json=body)
    assert 400 <= resp.status_code < 500, label
    assert resp.get_json()["error"]["code"] == code
    assert isinstance(resp.get_json()["error"]["message"], str)
    assert world() == before


@pytest.mark.parametrize(
    ("label", "data", "content_type", "status", "code"),
    [
        ("invalid utf-8", b'{"code": "A-01-\xff\xfe"}', "application/json", 400, "invalid_json"),
        ("broken json", b'{"code": ', "application/json", 400, "invalid_json"),
        (
            "form body",
            b"code=A-01-01",
            "application/x-www-form-urlencoded",
            415,
            "unsupported_media_type",
        ),
        ("text body", b"A-01-01", "text/plain", 415, "unsupported_media_type"),
    ],
)
def test_bad_raw_body_is_refused(
    api: Api,
    make_bin: Callable[..., str],
    label: str,
    data: bytes,
    content_type: str,
    status: int,
    code: str,
) -> None:
    make_bin("A-01-01", on_hand=5, card=5)
    before = world()
    resp = api.post("/api/scans", data=data, content_type=content_type)
    assert resp.status_code == status, label
    assert resp.get_json()["error"]["code"] == code
    assert world() == before


def test_oversized_body_is_413_json(api: Api, make_bin: Callable[..., str]) -> None:
    make_bin("A-01-01")
    resp = api.post(
        "/api/scans", data=b"{" + b" " * (17 * 1024 * 1024) + b"}", content_type="application/json"
    )
    assert resp.status_code == 413
    assert "error" in resp.get_json()


def test_unknown_code_is_escaped_nowhere_echoed(api: Api, make_bin: Callable[..., str]) -> None:
    make_bin("A-01-01")
    resp = api.scan("<script>alert(1)</script>")
    assert resp.status_code == 404
    assert "<script>" not in resp.get_data(as_text=True)


def test_undo_own_scan(api: Api, make_bin: Callable[..., str]) -> None:
    code = make_bin(on_hand=5, card=5)
    api.scan(code, scan_id="u1", quantity=3)
    resp = api.post("/api/scans/u1/undo")
    assert resp.status_code == 201
    assert resp.get_json()["bin"]["on_hand"] == 5
    assert resp.get_json()["bin"]["state"] == "stocked"
    assert api.post("/api/scans/u1/undo").get_json()["replayed"] is True
    assert api.post("/api/scans/nope/undo").status_code == 404
    assert api.post("/api/scans/bad%20id/undo").status_code == 400


def test_operator_cannot_undo_other_devices_scan(
    client: FlaskClient, make_token: Callable[[str], str], make_bin: Callable[..., str]
) -> None:
    code = make_bin(on_hand=9)
    one, two = Api(client, make_token("operator")), Api(client, make_token("operator"))
    one.scan(code, scan_id="mine")
    before = world()
    assert two.post("/api/scans/mine/undo").status_code == 403
    assert world() == before
    boss = Api(client, make_token("supervisor"))
    assert boss.post("/api/scans/mine/undo").status_code == 201


def test_bins_list_and_one(api: Api, make_bin: Callable[..., str]) -> None:
    make_bin("A-1", on_hand=0, card=5)
    make_bin("B-2", on_hand=9, card=5)
    listed = api.get("/api/bins").get_json()["bins"]
    assert [(b["code"], b["state"], b["flags"]["stockout"]) for b in listed] == [
        ("A-1", "replenish", True),
        ("B-2", "stocked", False),
    ]
    one = api.get("/api/bins/b-2").get_json()
    assert one["code"] == "B-2" and one["on_hand"] == 9
    missing = api.get("/api/bins/ZZZ")
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "unknown_bin"


def test_requests_list_filter_and_send(
    api: Api, supervisor_api: Api, make_bin: Callable[..., str]
) -> None:
    code = make_bin(on_hand=5, card=5, order=12)
    req_id = api.scan(code).get_json()["request"]["id"]
    drafts = api.get("/api/requests?status=draft").get_json()["requests"]
    assert [(r["id"], r["lines"][0]["bin"], r["lines"][0]["quantity"]) for r in drafts] == [
        (req_id, code, 12)
    ]
    assert api.get("/api/requests?status=bogus").status_code == 400
    assert api.post(f"/api/requests/{req_id}/send").status_code == 403
    sent = supervisor_api.post(f"/api/requests/{req_id}/send")
    assert sent.status_code == 200 and sent.get_json()["status"] == "sent"
    assert api.get(f"/api/bins/{code}").get_json()["state"] == "ordered"
    again = supervisor_api.post(f"/api/requests/{req_id}/send")
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "not_draft"
    assert supervisor_api.post("/api/requests/999/send").status_code == 404


def test_events_after(api: Api, make_bin: Callable[..., str]) -> None:
    code = make_bin(on_hand=9)
    start = api.get("/api/events?after=0").get_json()["last_id"]
    api.scan(code)
    body = api.get(f"/api/events?after={start}").get_json()
    assert [(e["kind"], e["bin"], e["data"]["on_hand"]) for e in body["events"]] == [
        ("bin.changed", code, 8)
    ]
    assert body["last_id"] > start
    assert api.get(f"/api/events?after={body['last_id']}").get_json()["events"] == []
    assert api.get("/api/events?after=-1").status_code == 400
    assert api.get("/api/events?after=abc").status_code == 400


ROUTES = [
    ("POST", "/api/scans"),
    ("POST", "/api/scans/x/undo"),
    ("GET", "/api/bins"),
    ("GET", "/api/bins/A-1"),
    ("GET", "/api/requests"),
    ("POST", "/api/requests/1/send"),
    ("GET", "/api/events"),
]


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_every_api_call_needs_authentication(client: FlaskClient, method: str, path: str) -> None:
    resp = client.open(
        path, method=method, json={}, headers={"Authorization": "Bearer kbt_not-a-real-token"}
    )
    assert resp.status_code == 401
    assert resp.get_json()["error"]["code"] == "unauthorized"


@pytest.mark.parametrize(
    ("role", "method", "path", "allowed"),
    [
        ("display", "POST", "/api/scans", False),
        ("display", "POST", "/api/scans/x/undo", False),
        ("display", "GET", "/api/requests", False),
        ("display", "POST", "/api/requests/1/send", False),
        ("display", "GET", "/api/bins", True),
        ("display", "GET", "/api/events", True),
        ("operator", "POST", "/api/requests/1/send", False),
        ("supervisor", "POST", "/api/requests/1/send", True),
        ("admin", "POST", "/api/requests/1/send", True),
    ],
)
def test_roles_are_checked_on_the_server(
    client: FlaskClient,
    make_token: Callable[[str], str],
    make_bin: Callable[..., str],
    role: str,
    method: str,
    path: str,
    allowed: bool,
) -> None:
    make_bin("A-1")
    before = world()
    resp = client.open(
        path,
        method=method,
        json={"code": "A-1"},
        headers={"Authorization": f"Bearer {make_token(role)}"},
    )
    if allowed:
        assert resp.status_code != 403
    else:
        assert resp.status_code == 403
        assert world() == before


def test_revoked_token_stops_working(
    client: FlaskClient, make_token: Callable[[str], str], runner: Any, make_bin: Callable[..., str]
) -> None:
    make_bin("A-1")
    token = make_token("operator")
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/bins", headers=headers).status_code == 200
    from kanban.models import DeviceToken

    token_id = db.session.scalar(sa.select(DeviceToken.id))
    assert runner.invoke(args=["token", "revoke", str(token_id)]).exit_code == 0
    assert client.get("/api/bins", headers=headers).status_code == 401
    stored = db.session.scalar(sa.select(DeviceToken.token_hash))
    assert token not in stored and len(stored) == 64


def test_cookie_session_api_changes_need_csrf_header(
    client: FlaskClient, make_user: Callable[..., str], make_bin: Callable[..., str]
) -> None:
    code = make_bin(on_hand=9)
    make_user("ana")
    page = client.get("/login")
    token = _csrf_from(page.get_data(as_text=True))
    client.post("/login", data={"username": "ana", "password": "password-ana", "csrf_token": token})
    before = world()
    refused = client.post("/api/scans", json={"code": code})
    assert refused.status_code == 400 and refused.get_json()["error"]["code"] == "csrf_failed"
    assert world() == before
    board = client.get("/").get_data(as_text=True)
    ok = client.post("/api/scans", json={"code": code}, headers={"X-CSRFToken": _meta_csrf(board)})
    assert ok.status_code == 201


def _csrf_from(html: str) -> str:
    import re

    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]


def _meta_csrf(html: str) -> str:
    import re

    return re.search(r'<meta name="csrf-token" content="([^"]+)"', html).group(1)  # type: ignore[union-attr]


def test_unknown_api_route_is_json_404(api: Api) -> None:
    resp = api.get("/api/nothing-here")
    assert resp.status_code == 404 and resp.get_json()["error"]["code"] == "not_found"


# --------------------------------------------------------------- questions and scan times


def test_an_unusual_pull_is_409_with_its_limits_until_confirmed(
    api: Api, make_bin: Callable[..., str]
) -> None:
    make_bin("A-1", on_hand=26, card=5, order=20, pull=1)
    resp = api.scan("A-1", quantity=99, scan_id="big-1")
    assert resp.status_code == 409
    err = resp.get_json()["error"]
    assert err["code"] == "unusual_quantity"
    assert err["message"].startswith("Pulling 99 ea from bin A-1 is more than the 26 on hand")
    assert err["details"] == {
        "bin": "A-1",
        "mode": "pull",
        "quantity": 99,
        "exceeds": ["on_hand", "order_quantity", "usual_pull"],
        "limits": {"on_hand": 26, "order_quantity": 20, "usual_pull": 10},
        "factor": 10,
        "on_hand": 26,
        "card_quantity": 5,
        "order_quantity": 20,
        "pull_quantity": 1,
    }
    assert api.get("/api/bins/A-1").get_json()["on_hand"] == 26

    done = api.scan("A-1", quantity=99, scan_id="big-1", confirm=True)
    assert done.status_code == 201 and done.get_json()["bin"]["on_hand"] == -73
    replay = api.scan("A-1", quantity=99, scan_id="big-1")  # the first result, no question
    assert replay.status_code == 200 and replay.get_json()["replayed"] is True
    assert replay.get_json()["movement_id"] == done.get_json()["movement_id"]
    assert api.scan("A-1", quantity=10).status_code == 409  # still below zero: asks
    assert api.scan("A-1").status_code == 201  # the bin's own pull quantity never asks


def test_the_unusual_factor_is_a_setting(app: Any, api: Api, make_bin: Callable[..., str]) -> None:
    make_bin("A-1", on_hand=500, card=50, order=200, pull=2)
    app.config["UNUSUAL_FACTOR"] = 3
    err = api.scan("A-1", quantity=7).get_json()["error"]
    assert err["details"]["limits"]["usual_pull"] == 6
    assert "3 times the usual pull" in err["message"]
    assert api.scan("A-1", quantity=6).status_code == 201


def test_an_over_receipt_409_carries_what_is_still_open(
    api: Api, supervisor_api: Api, make_bin: Callable[..., str]
) -> None:
    make_bin("A-1", on_hand=5, card=5, order=20)
    request_id = api.scan("A-1").get_json()["request"]["id"]
    supervisor_api.post(f"/api/requests/{request_id}/send")
    err = api.scan("A-1", mode="receive", quantity=25).get_json()["error"]
    assert err["code"] == "over_receipt"
    assert err["details"] == {"bin": "A-1", "quantity": 25, "remaining": 20}


def test_scanned_at_is_echoed_in_utc_and_never_after_the_server_received_it(
    api: Api, make_bin: Callable[..., str]
) -> None:
    make_bin("A-1", on_hand=26)
    made = api.scan("A-1", scanned_at="2024-05-01T11:30:00+02:00").get_json()
    assert made["scanned_at"] == "2024-05-01T09:30:00+00:00"
    ahead = api.scan("A-1", scanned_at="2999-01-01T00:00:00Z").get_json()
    assert ahead["scanned_at"] < "2999" and ahead["scanned_at"].endswith("+00:00")
    assert api.scan("A-1").get_json()["scanned_at"] is None

"""Login, roles on pages, rate limiting and security headers."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient

#: A <script> that would run inline: one without src, unless it is a JSON data block (the
#: page's vocabulary, #kanban-vocab), which the browser never executes.
INLINE_SCRIPT = r'<script(?![^>]*\s(?:src=|type="application/json"))[^>]*>'


def csrf(client: FlaskClient) -> str:
    html = client.get("/login").get_data(as_text=True)
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]


def login(client: FlaskClient, name: str, password: str) -> int:
    resp = client.post(
        "/login", data={"username": name, "password": password, "csrf_token": csrf(client)}
    )
    return resp.status_code


@pytest.mark.parametrize("path", ["/", "/board", "/bins/A-1"])
def test_pages_need_login(client: FlaskClient, path: str) -> None:
    resp = client.get(path)
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_login_shows_board_with_cards(
    client: FlaskClient, make_user: Callable[..., str], make_bin: Callable[..., str]
) -> None:
    make_user("ana")
    make_bin("A-1", on_hand=3, card=5)
    make_bin("B-1", on_hand=9, card=5)
    assert login(client, "ana", "password-ana") == 302
    html = client.get("/").get_data(as_text=True)
    cards = dict(re.findall(r'data-bin="([^"]+)" data-state="([^"]+)"', html))
    assert cards == {"A-1": "replenish", "B-1": "stocked"}
    assert "Replenish" in html and "Stocked" in html  # a word, not colour alone
    assert client.get("/bins/A-1").status_code == 200


def test_wrong_password_is_refused(client: FlaskClient, make_user: Callable[..., str]) -> None:
    make_user("ana")
    assert login(client, "ana", "nope-nope") == 401
    assert client.get("/").status_code == 302


def test_login_without_csrf_token_is_refused(
    client: FlaskClient, make_user: Callable[..., str]
) -> None:
    make_user("ana")
    resp = client.post("/login", data={"username": "ana", "password": "password-ana"})
    assert resp.status_code == 400
    assert client.get("/").status_code == 302


def test_failed_logins_are_rate_limited(
    app: Flask, client: FlaskClient, make_user: Callable[..., str]
) -> None:
    make_user("ana")
    for _ in range(app.config["LOGIN_ATTEMPTS"]):
        assert login(client, "ana", "wrong-password") == 401
    assert login(client, "ana", "password-ana") == 429


def test_open_redirect_after_login_is_refused(
    client: FlaskClient, make_user: Callable[..., str]
) -> None:
    make_user("ana")
    resp = client.post(
        "/login?next=https://evil.example/",
        data={"username": "ana", "password": "password-ana", "csrf_token": csrf(client)},
    )
    assert resp.headers["Location"] == "/scan"  # an operator's landing page, not evil.example


@pytest.mark.parametrize(
    ("role", "next_", "landing"),
    [
        ("operator", None, "/scan"),
        ("operator", "/?", "/scan"),  # the site's address (the board) asks for no page
        ("operator", "/board", "/scan"),
        ("operator", "/requests", "/requests"),  # a page asked for is kept
        ("supervisor", None, "/board"),
        ("supervisor", "/?", "/board"),
        ("admin", None, "/board"),
    ],
)
def test_operators_land_on_scan_and_supervisors_on_the_board(
    client: FlaskClient, make_user: Callable[..., str], role: str, next_: str | None, landing: str
) -> None:
    make_user("kim", role)
    url = "/login" if next_ is None else f"/login?next={next_}"
    resp = client.post(
        url, data={"username": "kim", "password": "password-kim", "csrf_token": csrf(client)}
    )
    assert resp.status_code == 302 and resp.headers["Location"] == landing


def test_logout_needs_post(client: FlaskClient, make_user: Callable[..., str]) -> None:
    make_user("ana")
    login(client, "ana", "password-ana")
    assert client.get("/logout").status_code == 405
    html = client.get("/").get_data(as_text=True)
    token = re.search(r'<meta name="csrf-token" content="([^"]+)"', html).group(1)  # type: ignore[union-attr]
    client.post("/logout", data={"csrf_token": token})
    assert client.get("/").status_code == 302


def test_display_token_cannot_open_operator_pages(
    client: FlaskClient, make_token: Callable[[str], str]
) -> None:
    headers = {"Authorization": f"Bearer {make_token('display')}"}
    assert client.get("/", headers=headers).status_code == 403


def test_security_headers_and_csp_without_inline_script(client: FlaskClient) -> None:
    resp = client.get("/login")
    csp = resp.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["X-Frame-Options"] == "DENY"
    html = resp.get_data(as_text=True)
    assert not re.search(INLINE_SCRIPT, html)
    assert not re.search(r"\son[a-z]+=", html)


def test_session_cookie_is_httponly(client: FlaskClient, make_user: Callable[..., str]) -> None:
    make_user("ana")
    client.get("/login")
    resp = client.post(
        "/login", data={"username": "ana", "password": "password-ana", "csrf_token": csrf(client)}
    )
    cookie = resp.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_templates_have_no_inline_script() -> None:
    from kanban import paths

    for path in paths.TEMPLATES.rglob("*.html"):
        text = path.read_text()
        assert not re.search(INLINE_SCRIPT, text), path
        assert not re.search(r"\son(click|load|submit|change|input)=", text), path


def test_only_the_demo_site_shows_the_demo_logins_on_the_login_page(
    app: Flask, client: FlaskClient
) -> None:
    shown = r'<tr data-demo-user="([^"]+)"><td><code>[^<]+</code></td><td><code>([^<]+)</code>'
    assert re.findall(shown, client.get("/login").get_data(as_text=True)) == []
    app.config["DEMO"] = True  # what `kanban demo` sets
    html = client.get("/login").get_data(as_text=True)
    assert re.findall(shown, html) == [
        ("super", "kanban-super"),
        ("ana", "kanban-ana"),
        ("ben", "kanban-ben"),
        ("admin", "kanban-admin"),
    ]
    assert re.search(INLINE_SCRIPT, html) is None

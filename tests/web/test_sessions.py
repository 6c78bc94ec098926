"""Sessions end when they should (issue 15, point 2), and who a request is does not depend on
a cookie the client happens to keep (point 3): logout, a new password, switching off and an
admin's "log out everywhere" end every session on the server; a display link does not
replace a person's session; authenticated answers are not cached; HTTPS sends HSTS."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from kanban.extensions import db
from kanban.models import User

from ..conftest import Api


def log_in(app: Flask, name: str, role: str, make_user: Callable[..., str]) -> FlaskClient:
    make_user(name, role)
    return again(app, name)


def again(app: Flask, name: str, password: str | None = None) -> FlaskClient:
    """A new browser, logged in as ``name``."""
    client = app.test_client()
    html = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)
    assert token is not None
    resp = client.post(
        "/login",
        data={
            "username": name,
            "password": password or f"password-{name}",
            "csrf_token": token.group(1),
        },
    )
    assert resp.status_code == 302, resp.status_code
    return client


def csrf(client: FlaskClient) -> str:
    html = client.get("/board").get_data(as_text=True)
    found = re.search(r'<meta name="csrf-token" content="([^"]+)"', html)
    assert found is not None
    return found.group(1)


def copy_of(app: Flask, client: FlaskClient) -> FlaskClient:
    """Another browser holding a copy of ``client``'s session cookie (a stolen cookie)."""
    cookie = client.get_cookie("session")
    assert cookie is not None
    thief = app.test_client()
    thief.set_cookie("session", cookie.value)
    return thief


def user_id(name: str) -> int:
    db.session.rollback()
    return int(db.session.scalar(sa.select(User.id).where(User.username == name)) or 0)


def test_after_logout_a_copy_of_the_old_cookie_opens_nothing(
    app: Flask, make_user: Callable[..., str]
) -> None:
    ana = log_in(app, "ana", "operator", make_user)
    thief = copy_of(app, ana)
    assert thief.get("/board").status_code == 200
    ana.post("/logout", data={"csrf_token": csrf(ana)})
    assert ana.get("/board").status_code == 302
    assert thief.get("/board").status_code == 302


def test_logout_ends_the_sessions_on_other_devices_too(
    app: Flask, make_user: Callable[..., str]
) -> None:
    phone = log_in(app, "ana", "operator", make_user)
    pc = again(app, "ana")
    phone.post("/logout", data={"csrf_token": csrf(phone)})
    assert pc.get("/board").status_code == 302


def test_a_new_password_ends_the_old_sessions(app: Flask, make_user: Callable[..., str]) -> None:
    ana = log_in(app, "ana", "operator", make_user)
    admin = log_in(app, "boss", "admin", make_user)
    admin.post(
        f"/admin/users/{user_id('ana')}/password",
        data={"password": "pallet-jack-77", "csrf_token": csrf(admin)},
    )
    assert ana.get("/board").status_code == 302
    assert again(app, "ana", "pallet-jack-77").get("/board").status_code == 200
    assert admin.get("/admin/users").status_code == 200  # the admin is not affected


def test_an_admin_who_sets_their_own_password_stays_logged_in_here_only(
    app: Flask, make_user: Callable[..., str]
) -> None:
    admin = log_in(app, "boss", "admin", make_user)
    other_tab = again(app, "boss")
    admin.post(
        f"/admin/users/{user_id('boss')}/password",
        data={"password": "a-much-longer-one-9", "csrf_token": csrf(admin)},
    )
    assert admin.get("/admin/users").status_code == 200
    assert other_tab.get("/admin/users").status_code == 302


def test_switching_a_user_off_and_on_again_does_not_revive_old_sessions(
    app: Flask, make_user: Callable[..., str]
) -> None:
    ana = log_in(app, "ana", "operator", make_user)
    admin = log_in(app, "boss", "admin", make_user)
    for active in ("0", "1"):
        admin.post(
            f"/admin/users/{user_id('ana')}/active",
            data={"active": active, "csrf_token": csrf(admin)},
        )
    assert ana.get("/board").status_code == 302
    assert again(app, "ana").get("/board").status_code == 200


def test_an_admin_logs_a_user_out_everywhere(app: Flask, make_user: Callable[..., str]) -> None:
    phone = log_in(app, "ana", "operator", make_user)
    pc = again(app, "ana")
    admin = log_in(app, "boss", "admin", make_user)
    page = admin.get("/admin/users").get_data(as_text=True)
    assert f'action="/admin/users/{user_id("ana")}/logout"' in page
    admin.post(f"/admin/users/{user_id('ana')}/logout", data={"csrf_token": csrf(admin)})
    assert phone.get("/board").status_code == 302 and pc.get("/board").status_code == 302
    assert again(app, "ana").get("/board").status_code == 200


def test_an_admin_logging_out_their_own_other_sessions_keeps_this_one(
    app: Flask, make_user: Callable[..., str]
) -> None:
    admin = log_in(app, "boss", "admin", make_user)
    other = again(app, "boss")
    admin.post(f"/admin/users/{user_id('boss')}/logout", data={"csrf_token": csrf(admin)})
    assert admin.get("/admin/users").status_code == 200
    assert other.get("/admin/users").status_code == 302


def test_operators_cannot_log_others_out(app: Flask, make_user: Callable[..., str]) -> None:
    make_user("boss", "admin")
    ana = log_in(app, "ana", "operator", make_user)
    resp = ana.post(f"/admin/users/{user_id('boss')}/logout", data={"csrf_token": csrf(ana)})
    assert resp.status_code == 403


# ------------------------------------------------------------------- display links


def test_a_display_link_does_not_replace_a_logged_in_session(
    app: Flask, make_user: Callable[..., str], make_token: Callable[..., str]
) -> None:
    ana = log_in(app, "ana", "operator", make_user)
    link = f"/wall?token={make_token('display')}"
    resp = ana.get(link)
    assert resp.status_code == 302 and resp.headers["Location"] == "/wall"
    assert ana.get("/wall").status_code == 200  # the wall, seen as ana
    assert ana.get("/board").status_code == 200  # still ana: not a display
    assert ana.get("/api/whoami").get_json() == {
        "name": "ana",
        "role": "operator",
        "via": "session",
    }


def test_a_display_link_still_signs_in_a_browser_nobody_is_logged_in_on(
    client: FlaskClient, make_token: Callable[..., str]
) -> None:
    client.get(f"/wall?token={make_token('display')}")
    assert client.get("/api/whoami").get_json()["role"] == "display"


# ------------------------------------------------------------ bearer over cookies


def test_an_api_client_that_keeps_cookies_keeps_its_bearer_identity(
    client: FlaskClient, make_token: Callable[..., str], make_bin: Callable[..., str]
) -> None:
    make_bin("A-1")
    client.get(f"/wall?token={make_token('display')}")  # the client now holds a display cookie
    operator = Api(client, make_token("operator", "handheld 1"))
    assert operator.get("/api/whoami").get_json() == {
        "name": "handheld 1",
        "role": "operator",
        "via": "token",
    }
    assert operator.scan("A-1").status_code == 201


def test_a_cookie_session_with_a_bogus_bearer_header_does_not_skip_csrf(
    app: Flask, make_user: Callable[..., str], make_bin: Callable[..., str]
) -> None:
    make_bin("A-1")
    ana = log_in(app, "ana", "operator", make_user)
    resp = ana.post(
        "/api/scans", json={"code": "A-1"}, headers={"Authorization": "Bearer not-a-token"}
    )
    assert resp.status_code in (400, 401) and resp.status_code != 201
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(sa.text("movements"))) == 1


@pytest.mark.parametrize("path", ["/api/scans", "/api/scans/x/undo", "/api/requests/1/send"])
def test_no_credentials_is_401_before_any_csrf_check(client: FlaskClient, path: str) -> None:
    resp = client.post(path, json={"code": "A-1"})
    assert resp.status_code == 401
    assert resp.get_json()["error"]["code"] == "unauthorized"


# ------------------------------------------------------------------------ headers


def test_authenticated_answers_are_not_cached(
    app: Flask, make_user: Callable[..., str], make_token: Callable[..., str]
) -> None:
    ana = log_in(app, "ana", "operator", make_user)
    for path in ("/board", "/requests", "/scan", "/api/whoami"):
        assert ana.get(path).headers.get("Cache-Control") == "no-store", path
    api = Api(app.test_client(), make_token("display"))
    assert api.get("/api/bins").headers.get("Cache-Control") == "no-store"
    assert app.test_client().get("/static/css/app.css").headers.get("Cache-Control") != "no-store"


def test_hsts_over_https_only(client: FlaskClient) -> None:
    secure = client.get("/login", base_url="https://localhost")
    assert secure.headers["Strict-Transport-Security"] == "max-age=15552000"
    assert "Strict-Transport-Security" not in client.get("/login").headers

"""Admin pages: display tokens for wall screens are created (shown once) and revoked."""

from __future__ import annotations

import html as htmllib
import re
from collections.abc import Callable

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from kanban.extensions import db
from kanban.models import DeviceToken

from .test_board import login


def form_csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


def secret(html: str, name: str) -> str:
    found = re.search(rf'value="([^"]+)" data-secret="{name}"', html)
    assert found is not None, name
    return htmllib.unescape(found.group(1))


def tokens() -> list[DeviceToken]:
    db.session.rollback()
    return list(db.session.scalars(sa.select(DeviceToken).order_by(DeviceToken.id)))


def test_admin_creates_a_display_token_shown_once_with_its_wall_link(
    app: Flask, client: FlaskClient, make_user: Callable[..., str]
) -> None:
    login(client, make_user, "admin")
    page = client.get("/admin/tokens").get_data(as_text=True)
    resp = client.post(
        "/admin/tokens",
        data={"name": "TV goods-in", "role": "display", "csrf_token": form_csrf(page)},
    )
    assert resp.status_code == 201
    assert resp.headers["Cache-Control"] == "no-store"
    html = resp.get_data(as_text=True)
    plain = secret(html, "token")
    link = secret(html, "link")
    assert link == f"http://localhost/wall?token={plain}"
    [token] = tokens()
    assert (token.name, token.role, token.revoked_at) == ("TV goods-in", "display", None)
    # The link opens the wall in a browser that is not logged in.
    tv = app.test_client()
    opened = tv.get(link.removeprefix("http://localhost"))
    assert opened.status_code == 302 and tv.get("/wall").status_code == 200
    # Shown once: the list names the token but never shows its secret again.
    again = client.get("/admin/tokens").get_data(as_text=True)
    assert "TV goods-in" in again and plain not in again and "data-secret" not in again


def test_admin_revokes_a_token_and_its_wall_link_stops_working(
    app: Flask,
    client: FlaskClient,
    make_user: Callable[..., str],
    make_token: Callable[..., str],
) -> None:
    plain = make_token("display", "TV1")
    tv = app.test_client()
    assert tv.get(f"/wall?token={plain}").status_code == 302
    login(client, make_user, "admin")
    page = client.get("/admin/tokens").get_data(as_text=True)
    [token] = tokens()
    assert f"/admin/tokens/{token.id}/revoke" in page
    resp = client.post(f"/admin/tokens/{token.id}/revoke", data={"csrf_token": form_csrf(page)})
    assert resp.status_code == 303
    assert tokens()[0].revoked_at is not None
    listed = client.get("/admin/tokens").get_data(as_text=True)
    assert "revoked" in listed and f"/admin/tokens/{token.id}/revoke" not in listed
    assert tv.get("/wall").status_code == 302  # its open session ended
    assert tv.get(f"/wall?token={plain}").status_code == 403


@pytest.mark.parametrize("role", ["operator", "supervisor"])
def test_non_admins_cannot_see_create_or_revoke_tokens(
    client: FlaskClient,
    make_user: Callable[..., str],
    make_token: Callable[..., str],
    role: str,
) -> None:
    make_token("display", "TV1")
    login(client, make_user, role)
    csrf = form_csrf(client.get("/login").get_data(as_text=True))
    assert client.get("/admin/tokens").status_code == 403
    assert client.get("/admin/").status_code == 403
    created = client.post(
        "/admin/tokens", data={"name": "Mine", "role": "admin", "csrf_token": csrf}
    )
    assert created.status_code == 403
    revoked = client.post(f"/admin/tokens/{tokens()[0].id}/revoke", data={"csrf_token": csrf})
    assert revoked.status_code == 403
    assert [(t.name, t.revoked_at) for t in tokens()] == [("TV1", None)]


def test_creating_or_revoking_a_token_needs_the_csrf_token(
    client: FlaskClient, make_user: Callable[..., str], make_token: Callable[..., str]
) -> None:
    make_token("display", "TV1")
    login(client, make_user, "admin")
    assert client.post("/admin/tokens", data={"name": "TV2", "role": "display"}).status_code == 400
    assert (
        client.post(
            "/admin/tokens", data={"name": "TV2", "role": "display", "csrf_token": "forged"}
        ).status_code
        == 400
    )
    assert client.post(f"/admin/tokens/{tokens()[0].id}/revoke").status_code == 400
    assert [(t.name, t.revoked_at) for t in tokens()] == [("TV1", None)]


def test_a_token_without_a_name_or_with_an_unknown_role_is_refused(
    client: FlaskClient, make_user: Callable[..., str]
) -> None:
    login(client, make_user, "admin")
    csrf = form_csrf(client.get("/admin/tokens").get_data(as_text=True))
    for data in ({"name": "", "role": "display"}, {"name": "TV", "role": "root"}):
        resp = client.post("/admin/tokens", data={**data, "csrf_token": csrf})
        assert resp.status_code == 400 and "form-error" in resp.get_data(as_text=True)
    assert tokens() == []

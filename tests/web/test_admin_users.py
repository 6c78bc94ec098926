"""Admin pages: users are created, given roles and passwords, switched off and on; the
admins can never lock themselves out."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from kanban.auth import users as auth_service
from kanban.core.errors import ServiceError
from kanban.extensions import db
from kanban.models import User

from .test_board import login


def csrf(client: FlaskClient) -> str:
    page = client.get("/admin/users").get_data(as_text=True)
    found = re.search(r'<meta name="csrf-token" content="([^"]+)"', page)
    assert found is not None
    return found.group(1)


def user(name: str) -> User:
    db.session.rollback()
    found = db.session.scalar(sa.select(User).where(User.username == name))
    assert found is not None
    return found


def flash_of(client: FlaskClient) -> str:
    page = client.get("/admin/users").get_data(as_text=True)
    found = re.search(r'<p class="flash flash-(\w+)" role="alert">(.*?)</p>', page, re.S)
    assert found is not None
    return f"{found.group(1)}: {found.group(2)}"


def log_in_as(app: Flask, name: str, password: str) -> FlaskClient:
    other = app.test_client()
    page = other.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert token is not None
    other.post(
        "/login", data={"username": name, "password": password, "csrf_token": token.group(1)}
    )
    return other


@pytest.fixture
def admin(client: FlaskClient, make_user: Callable[..., str]) -> FlaskClient:
    login(client, make_user, "admin")
    return client


def test_admin_creates_a_user_who_can_log_in_with_that_role(app: Flask, admin: FlaskClient) -> None:
    resp = admin.post(
        "/admin/users",
        data={
            "username": "carla",
            "role": "supervisor",
            "password": "forklift-4242",
            "csrf_token": csrf(admin),
        },
    )
    assert resp.status_code == 303
    assert flash_of(admin) == "info: User &#39;carla&#39; (supervisor) created."
    assert 'data-user="carla" data-active="true"' in admin.get("/admin/users").get_data(
        as_text=True
    )
    carla = log_in_as(app, "carla", "forklift-4242")
    assert carla.get("/requests").status_code == 200  # a supervisor page
    assert carla.get("/admin/users").status_code == 403  # not an admin


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"username": "dan", "role": "operator", "password": "short"}, "at least 8"),
        ({"username": "", "role": "operator", "password": "long-enough"}, "This field is required"),
        ({"username": "dan", "role": "king", "password": "long-enough"}, "Not a valid choice"),
        ({"username": "admin1", "role": "operator", "password": "long-enough"}, "exists already"),
        ({"username": "x" * 65, "role": "operator", "password": "long-enough"}, "64"),
    ],
)
def test_a_bad_new_user_is_refused_with_the_reason_and_nothing_is_created(
    admin: FlaskClient, data: dict[str, str], message: str
) -> None:
    before = db.session.scalar(sa.select(sa.func.count(User.id)))
    resp = admin.post("/admin/users", data={**data, "csrf_token": csrf(admin)})
    assert resp.status_code == 400
    assert message in resp.get_data(as_text=True)
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(User.id))) == before


def test_a_role_change_applies_at_the_next_click(
    app: Flask, admin: FlaskClient, make_user: Callable[..., str]
) -> None:
    make_user("eve", "supervisor")
    eve = log_in_as(app, "eve", "password-eve")
    assert eve.get("/bins/spreadsheet").status_code == 200
    resp = admin.post(
        f"/admin/users/{user('eve').id}/role", data={"role": "operator", "csrf_token": csrf(admin)}
    )
    assert resp.status_code == 303
    assert user("eve").role == "operator"
    assert eve.get("/bins/spreadsheet").status_code == 403  # same session, new role
    assert eve.get("/scan").status_code == 200


def test_switching_a_user_off_logs_them_out_and_keeps_them_out(
    app: Flask, admin: FlaskClient, make_user: Callable[..., str]
) -> None:
    make_user("finn", "operator")
    finn = log_in_as(app, "finn", "password-finn")
    assert finn.get("/scan").status_code == 200
    finn_id = user("finn").id
    admin.post(f"/admin/users/{finn_id}/active", data={"active": "0", "csrf_token": csrf(admin)})
    assert user("finn").active is False
    assert finn.get("/scan").status_code == 302  # to the login page
    assert log_in_as(app, "finn", "password-finn").get("/scan").status_code == 302
    admin.post(f"/admin/users/{finn_id}/active", data={"active": "1", "csrf_token": csrf(admin)})
    assert log_in_as(app, "finn", "password-finn").get("/scan").status_code == 200


def test_a_new_password_replaces_the_old_one(
    app: Flask, admin: FlaskClient, make_user: Callable[..., str]
) -> None:
    make_user("gus", "operator")
    gus_id = user("gus").id
    admin.post(
        f"/admin/users/{gus_id}/password", data={"password": "tiny", "csrf_token": csrf(admin)}
    )
    assert flash_of(admin) == "error: Passwords of operators must have at least 8 characters."
    admin.post(
        f"/admin/users/{gus_id}/password",
        data={"password": "pallet-jack-9", "csrf_token": csrf(admin)},
    )
    assert log_in_as(app, "gus", "password-gus").get("/scan").status_code == 302
    assert log_in_as(app, "gus", "pallet-jack-9").get("/scan").status_code == 200


def test_admins_cannot_lock_themselves_out(
    admin: FlaskClient, make_user: Callable[..., str]
) -> None:
    me = user("admin1")
    for url, data in (
        (f"/admin/users/{me.id}/role", {"role": "operator"}),
        (f"/admin/users/{me.id}/active", {"active": "0"}),
    ):
        admin.post(url, data={**data, "csrf_token": csrf(admin)})
        assert "cannot change your own role" in flash_of(admin)
    me = user("admin1")
    assert (me.role, me.active) == ("admin", True)


def test_the_last_active_admin_stays_one(make_user: Callable[..., str]) -> None:
    # Through the pages the acting admin is always a second one; the service itself still
    # refuses to remove the last admin for any other caller (a script, say).
    make_user("root", "admin")
    root = user("root").id
    for change in (
        lambda: auth_service.set_active(root, False, by_user_id=-1),
        lambda: auth_service.set_role(root, "operator", by_user_id=-1),
    ):
        with pytest.raises(ServiceError) as refused:
            change()
        db.session.rollback()
        assert refused.value.code == "last_admin"
    make_user("root2", "admin")
    auth_service.set_role(root, "supervisor", by_user_id=-1)  # now another admin remains
    db.session.commit()
    assert user("root").role == "supervisor"


def test_user_pages_are_for_admins_only(client: FlaskClient, make_user: Callable[..., str]) -> None:
    make_user("hal", "operator")
    login(client, make_user, "supervisor")
    hal = user("hal").id
    assert client.get("/admin/users").status_code == 403
    page = client.get("/").get_data(as_text=True)
    token = re.search(r'<meta name="csrf-token" content="([^"]+)"', page)
    assert token is not None
    resp = client.post(
        f"/admin/users/{hal}/role", data={"role": "admin", "csrf_token": token.group(1)}
    )
    assert resp.status_code == 403
    assert user("hal").role == "operator"

"""Logins that hold against a hostile user (issue 15, point 1): the limit slows the attacker
without locking the victim out, counts the real client behind a trusted proxy only, is
atomic under parallel attempts, answers unknown users as slowly as known ones, and
passwords follow the rules for the role."""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
import requests as http
from flask import Flask
from flask.testing import FlaskClient

from kanban import create_app
from kanban.auth import users as auth_service
from kanban.core.errors import ServiceError
from kanban.domain.passwords import common_passwords, password_problem
from kanban.extensions import db
from kanban.web.proxies import TrustedProxies, parse_networks

from ..conftest import IsolatedClient, start_server, stop_server

#: KANBAN_LOGIN_ATTEMPTS for these tests: small, so that reaching each limit is quick.
LIMIT = 3


@pytest.fixture(autouse=True)
def small_limit(request: pytest.FixtureRequest) -> None:
    if "app" in request.fixturenames:
        request.getfixturevalue("app").config["LOGIN_ATTEMPTS"] = LIMIT


def login(
    client: FlaskClient, name: str, password: str, address: str = "198.51.100.1", **env: str
) -> int:
    """Post the login form from ``address``; the status code (302 in, 401 wrong, 429 held)."""
    environ = {"REMOTE_ADDR": address, **env}
    html = client.get("/login", environ_base=environ).get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)
    assert token is not None
    resp = client.post(
        "/login",
        data={"username": name, "password": password, "csrf_token": token.group(1)},
        environ_base=environ,
    )
    return resp.status_code


# ----------------------------------------------------------------- who is held back


def test_wrong_passwords_from_one_address_do_not_lock_the_user_out_elsewhere(
    app: Flask, client: FlaskClient, make_user: Callable[..., str]
) -> None:
    make_user("ana")
    attacker = app.test_client()
    for _ in range(LIMIT):
        assert login(attacker, "ana", "wrong-password", "203.0.113.66") == 401
    assert login(attacker, "ana", "password-ana", "203.0.113.66") == 429  # the attacker waits
    assert login(client, "ana", "password-ana", "198.51.100.1") == 302  # ana does not


def test_one_address_trying_many_users_is_held_back(
    app: Flask, client: FlaskClient, make_user: Callable[..., str]
) -> None:
    make_user("ana")
    attacker = app.test_client()
    for n in range(3 * LIMIT):
        assert login(attacker, f"user{n}", "wrong-password", "203.0.113.66") == 401
    assert login(attacker, "ana", "password-ana", "203.0.113.66") == 429
    assert login(client, "ana", "password-ana", "198.51.100.1") == 302


def test_a_known_device_logs_in_while_the_username_is_held_everywhere_else(
    app: Flask, client: FlaskClient, make_user: Callable[..., str]
) -> None:
    make_user("ana")
    assert login(client, "ana", "password-ana", "198.51.100.1") == 302  # ana's phone
    client.delete_cookie("session")
    attacker = app.test_client()
    for n in range(5 * LIMIT):  # spread over many addresses, never a pair limit
        assert login(attacker, "ana", "wrong-password", f"203.0.113.{n % 9}") == 401
    newcomer = app.test_client()
    assert login(newcomer, "ana", "password-ana", "198.51.100.2") == 429  # a new device waits
    assert login(client, "ana", "password-ana", "192.0.2.50") == 302  # her phone, anywhere


def test_a_known_device_has_its_own_limit(
    app: Flask, client: FlaskClient, make_user: Callable[..., str]
) -> None:
    make_user("ana")
    assert login(client, "ana", "password-ana") == 302
    client.delete_cookie("session")
    for n in range(LIMIT):
        assert login(client, "ana", "wrong-password", f"203.0.113.{n}") == 401
    assert login(client, "ana", "password-ana", "192.0.2.50") == 429


def test_a_forged_device_cookie_counts_for_nothing(
    app: Flask, client: FlaskClient, make_user: Callable[..., str]
) -> None:
    make_user("ana")
    attacker = app.test_client()
    for n in range(5 * LIMIT):
        login(attacker, "ana", "wrong-password", f"203.0.113.{n % 9}")
    client.set_cookie("kanban_device", '{"d":"x","u":[1]}.forged')
    assert login(client, "ana", "password-ana", "192.0.2.50") == 429


# ------------------------------------------------------------------ behind a proxy


@pytest.fixture
def proxied(db_url: str, tmp_path: Path) -> Flask:
    """The app as configured behind a reverse proxy at 10.0.0.1."""
    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": db_url,
            "INSTANCE_PATH": str(tmp_path / "proxied"),
            "SECRET_KEY": "test-secret",
            "TRUSTED_PROXIES": "10.0.0.1",
            "LOGIN_ATTEMPTS": LIMIT,
        }
    )


def test_behind_a_trusted_proxy_each_client_is_counted_by_its_own_address(
    app: Flask, proxied: Flask, make_user: Callable[..., str]
) -> None:
    make_user("ana")
    attacker, ana = proxied.test_client(), proxied.test_client()
    via = {"HTTP_X_FORWARDED_FOR": "203.0.113.66"}
    for _ in range(LIMIT):
        assert login(attacker, "ana", "wrong-password", "10.0.0.1", **via) == 401
    assert login(attacker, "ana", "password-ana", "10.0.0.1", **via) == 429
    mine = {"HTTP_X_FORWARDED_FOR": "198.51.100.7"}
    assert login(ana, "ana", "password-ana", "10.0.0.1", **mine) == 302
    with proxied.app_context():
        db.engine.dispose()


def test_a_client_cannot_choose_its_address_with_x_forwarded_for(
    app: Flask, proxied: Flask, make_user: Callable[..., str]
) -> None:
    make_user("ana")
    attacker = proxied.test_client()
    for n in range(LIMIT):
        spoof = {"HTTP_X_FORWARDED_FOR": f"198.51.100.{n}"}
        assert login(attacker, "ana", "wrong-password", "203.0.113.66", **spoof) == 401
    spoof = {"HTTP_X_FORWARDED_FOR": "198.51.100.200"}
    assert login(attacker, "ana", "password-ana", "203.0.113.66", **spoof) == 429
    with proxied.app_context():
        db.engine.dispose()


@pytest.mark.parametrize(
    ("remote", "forwarded", "client"),
    [
        ("10.0.0.1", "198.51.100.7", "198.51.100.7"),
        ("10.0.0.1", "1.2.3.4, 198.51.100.7", "198.51.100.7"),  # the left end is the client's
        ("10.0.0.1", "198.51.100.7, 10.0.0.2", "198.51.100.7"),  # a chain of our proxies
        ("10.0.0.1", "", "10.0.0.1"),
        ("203.0.113.9", "198.51.100.7", "203.0.113.9"),  # not a proxy of ours
    ],
)
def test_the_client_address_behind_proxies(remote: str, forwarded: str, client: str) -> None:
    seen: dict[str, str] = {}

    def app(environ: dict[str, str], start_response: Callable[..., object]) -> list[bytes]:
        seen["addr"] = environ["REMOTE_ADDR"]
        seen["xff"] = environ.get("HTTP_X_FORWARDED_FOR", "-")
        return []

    wrapped = TrustedProxies(app, parse_networks("10.0.0.0/29"))
    wrapped({"REMOTE_ADDR": remote, "HTTP_X_FORWARDED_FOR": forwarded}, lambda *a: None)
    assert seen["addr"] == client
    if remote.startswith("203."):
        assert seen["xff"] == "-"  # dropped, so nothing later reads it


def test_a_bad_trusted_proxies_setting_stops_the_start() -> None:
    with pytest.raises(ValueError, match="KANBAN_TRUSTED_PROXIES"):
        parse_networks("10.0.0.1, proxy.local")


# --------------------------------------------------------------- atomic under load


def test_sixty_parallel_wrong_logins_never_get_past_the_limit(
    app: Flask, db_url: str, instance: Path, make_user: Callable[..., str]
) -> None:
    """The server runs with the default limit, 10."""
    make_user("ana")
    db.session.remove()
    server = start_server(db_url, instance, workers=2, threads=16)
    try:
        sessions = []
        for _ in range(60):
            s = http.Session()
            page = s.get(server.url + "/login", timeout=30).text
            token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
            assert token is not None
            s.close()  # keep the cookies, not the idle connection (the server drops it)
            sessions.append((s, token.group(1)))
        statuses: list[int] = []
        go = threading.Barrier(60)

        def attempt(s: http.Session, token: str) -> None:
            go.wait()
            data = {"username": "ana", "password": "wrong-password", "csrf_token": token}
            statuses.append(s.post(server.url + "/login", data=data, timeout=120).status_code)

        threads = [threading.Thread(target=attempt, args=pair) for pair in sessions]
        for t in threads:
            t.start()
        for t in threads:
            t.join(180)
    finally:
        stop_server(server)
    assert len(statuses) == 60 and set(statuses) <= {401, 429}
    assert statuses.count(401) == 10, statuses


# ------------------------------------------------------------------------- timing


def _derivations(
    monkeypatch: pytest.MonkeyPatch, client: FlaskClient, name: str, address: str
) -> list[tuple[int, int, int]]:
    """The password-hash derivations (scrypt's n, r, p) that one wrong login costs."""
    real = hashlib.scrypt
    seen: list[tuple[int, int, int]] = []

    def counting(password: bytes, *, salt: bytes, n: int, r: int, p: int, **kw: int) -> bytes:
        seen.append((n, r, p))
        return real(password, salt=salt, n=n, r=r, p=p, **kw)

    monkeypatch.setattr(hashlib, "scrypt", counting)
    try:
        login(client, name, "wrong-password", address)
    finally:
        monkeypatch.setattr(hashlib, "scrypt", real)
    return seen


def test_an_unknown_user_costs_the_same_password_hash_as_a_known_one(
    app: Flask,
    client: FlaskClient,
    make_user: Callable[..., str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An unknown name is refused after the same work as a known one (one scrypt of the
    same cost), so the answer's time does not tell which names exist. Counted, not timed:
    timings on a shared machine say more about its load than about the code."""
    make_user("ana")
    _derivations(monkeypatch, client, "nobody", "192.0.2.1")  # the first one makes the dummy
    for n in range(3):
        known = _derivations(monkeypatch, client, "ana", f"192.0.2.{10 + n}")
        unknown = _derivations(monkeypatch, client, f"nobody{n}", f"192.0.2.{20 + n}")
        assert len(known) == 1 and unknown == known, (known, unknown)


def test_the_product_hashes_passwords_with_scrypt_at_full_strength(
    sqlite_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The suite's apps hash at a lower cost (tests/conftest.py); a site's app, configured
    by nothing but its environment, stores werkzeug's default scrypt (n=2**15), and its
    login form checks a known and an unknown name with one derivation of that cost."""
    (tmp_path / "kanban.db").write_bytes(sqlite_template.read_bytes())
    site = create_app(
        {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'kanban.db'}", "SECRET_KEY": "s"}
    )
    site.test_client_class = IsolatedClient
    with site.app_context():
        user = auth_service.create_user("ana", "a-long-passphrase", "operator")
        db.session.commit()
        assert user.password_hash.startswith("scrypt:32768:8:1$")
        assert user.check_password("a-long-passphrase")
        assert not user.check_password("a-long-passphrasE")
        client = site.test_client()
        full = [(32768, 8, 1)]
        assert _derivations(monkeypatch, client, "ana", "192.0.2.31") == full
        first = _derivations(monkeypatch, client, "nobody", "192.0.2.32")  # makes the dummy
        assert set(first) == set(full)
        assert _derivations(monkeypatch, client, "nobody2", "192.0.2.34") == full
        assert login(client, "ana", "a-long-passphrase", "192.0.2.33") == 302
        db.session.remove()
        db.engine.dispose()


# ----------------------------------------------------------------------- passwords


@pytest.mark.parametrize(
    ("password", "role", "problem"),
    [
        ("eleven-char", "supervisor", "at least 12"),
        ("eleven-char", "admin", "at least 12"),
        ("pallet-j", "operator", None),
        ("seven-7", "operator", "at least 8"),
        ("password1234", "admin", "most common"),
        ("Password2024!", "operator", "most common"),
        ("qwertyuiop123", "supervisor", "most common"),
        ("monkey", "operator", "at least 8"),
        ("aaaaaaaaaaaaaa", "admin", "different characters"),
        ("anastasia-1990", "operator", "username"),
        ("anastasia-on-a-forklift", "operator", None),
        ("Anastasia1", "operator", "username"),
    ],
)
def test_password_rules(password: str, role: str, problem: str | None) -> None:
    found = password_problem(password, role, "anastasia")
    assert (found is None) if problem is None else (problem in (found or "")), found


def test_the_common_password_list_ships_in_the_package() -> None:
    common = common_passwords()
    assert len(common) > 400 and {"123456", "password", "qwerty", "letmein"} <= common


@pytest.mark.parametrize("role", ["supervisor", "admin"])
def test_supervisors_and_admins_need_twelve_characters(app: Flask, role: str) -> None:
    with pytest.raises(ServiceError, match="at least 12"):
        auth_service.create_user("boss", "short-pass1", role)
    db.session.rollback()
    auth_service.create_user("boss", "long-enough-pass", role)
    db.session.commit()


def test_a_common_password_cannot_be_set_later(app: Flask, make_user: Callable[..., str]) -> None:
    make_user("ana")
    with pytest.raises(ServiceError, match="most common"):
        auth_service.set_password("ana", "letmein12345")
    db.session.rollback()


def test_a_promoted_user_with_a_short_password_is_told_to_get_a_new_one(
    app: Flask, client: FlaskClient, make_user: Callable[..., str]
) -> None:
    make_user("ana")  # password-ana: 12 characters, fine for any role
    auth_service.create_user("bo", "forklift", "operator")
    db.session.commit()
    user = auth_service.set_role(
        db.session.scalar(
            db.select(auth_service.User.id).where(auth_service.User.username == "bo")
        ),
        "supervisor",
        by_user_id=-1,
    )
    db.session.commit()
    assert user.role == "supervisor"
    assert login(client, "bo", "forklift") == 302
    page = client.get("/board", environ_base={"REMOTE_ADDR": "198.51.100.1"})
    assert "no longer meets the rules for a supervisor" in page.get_data(as_text=True)


def test_next_with_a_backslash_does_not_leave_the_site(
    client: FlaskClient, make_user: Callable[..., str]
) -> None:
    make_user("ana")
    html = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)
    assert token is not None
    resp = client.post(
        "/login?next=/%5Cevil.example/",
        data={"username": "ana", "password": "password-ana", "csrf_token": token.group(1)},
    )
    assert resp.headers["Location"] == "/scan"  # an operator's own landing page, not away

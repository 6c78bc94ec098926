"""Property tests (issue 15, point 6): random text, bytes, Unicode, nesting and huge values
posted to every form and JSON endpoint, and sent in every page's query string, by an admin
(so that every role check passes and the input reaches the code behind it). Each answer is
a 4xx or a success, never a 500; the ``app`` fixture runs ``kanban check`` afterwards."""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kanban.auth import users as auth_service
from kanban.extensions import db
from kanban.models import User

from ..conftest import Api

SETTINGS = settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

#: Every field name a form or query string of the site reads, and some it does not.
FIELDS = [
    "action", "active", "apply", "auto_send", "bins", "card_quantity", "code", "confirm",
    "copies", "csv", "dpi", "expires", "filename", "format", "line_id", "live", "name",
    "password", "preset", "q", "quantity", "role", "scan_id", "show", "start", "state",
    "station", "status", "supplier", "username", "via", "view", "zone", "after", "rotate",
    "token", "next", "inline",
]  # fmt: skip
#: Values that broke, or could break, a parser somewhere.
NASTY = [
    "", " ", "0", "1", "-1", "+1", "²", "٣", "１", "𝟘", "1e9", "9" * 40, "\x00", "\uffff",
    "A-1", "A-1:5", "A-1:²", "Z/../A-1", "../..", "%2e%2e", "manual", "email", "preview",
    "import", "operator", "supervisor", "admin", "display", "draft", "all", "overdue",
    "<script>alert(1)</script>", "=cmd|' /C calc'!A0", "a" * 5000, "on", "true",
]  # fmt: skip

texts = st.one_of(
    st.sampled_from(NASTY),
    st.text(max_size=60),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.binary(max_size=60).map(lambda b: b.decode("latin-1")),
)
form_data = st.dictionaries(
    st.one_of(st.sampled_from(FIELDS), st.text(max_size=12)),
    st.one_of(texts, st.lists(texts, max_size=4)),
    max_size=8,
)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**40), max_value=10**40)
    | st.floats(allow_nan=True, allow_infinity=True)
    | texts,
    lambda children: (
        st.lists(children, max_size=5)
        | st.dictionaries(st.one_of(st.sampled_from(FIELDS), st.text(max_size=10)), children)
    ),
    max_leaves=25,
)
SCAN_KEYS = ["code", "mode", "quantity", "scan_id", "station", "source", "confirm", "via"]
json_bodies = st.one_of(
    st.fixed_dictionaries({}, optional={k: json_values for k in SCAN_KEYS}),
    json_values,
    st.binary(max_size=200),
    st.integers(min_value=1, max_value=3000).map(lambda n: "[" * n + "]" * n),
)


class World:
    """What the fuzzed requests run against: an admin, a few bins, a draft, a token."""

    def __init__(self, client: FlaskClient, token: str, ids: dict[str, list[int]]) -> None:
        self.client = client
        self.token = token
        self.ids = ids
        page = client.get("/board").get_data(as_text=True)
        found = re.search(r'<meta name="csrf-token" content="([^"]+)"', page)
        assert found is not None, "not logged in"
        self.csrf = found.group(1)


@pytest.fixture
def world(
    app: Flask,
    client: FlaskClient,
    make_user: Callable[..., str],
    make_bin: Callable[..., str],
    make_token: Callable[..., str],
) -> World:
    make_user("fuzzadmin", "admin")
    make_user("other", "operator")
    make_bin("A-1", on_hand=5, card=5)
    make_bin("B/2", on_hand=9, card=5)
    token = make_token("admin")
    op_token = make_token("operator")
    Api(client, op_token).scan("A-1")  # a draft with a line
    html = client.get("/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)
    assert csrf is not None
    client.post(
        "/login",
        data={"username": "fuzzadmin", "password": "password-fuzzadmin", "csrf_token": csrf[1]},
    )
    db.session.rollback()
    other = db.session.query(User.id).filter(User.username == "other").scalar()
    tokens = [t.id for t in auth_service.list_tokens() if t.role != "admin"]
    ids = {"user_id": [other], "token_id": tokens, "request_id": [1], "line_id": [1]}
    return World(client, token, ids)


HUGE_IDS = [0, 999_999, 2**31 - 1, 2**31, 2**63, 10**30]


def _rules(app: Flask, method: str) -> Iterator[Any]:
    for rule in app.url_map.iter_rules():
        if method in (rule.methods or ()) and rule.endpoint not in ("static", "auth.logout"):
            yield rule


def _path(draw: Any, rule: Any, world: World) -> str:
    """The rule's URL with every variable drawn: known ids, huge ids, hostile text."""
    values: dict[str, str] = {}
    for name in rule.arguments:
        converter = rule._converters[name].__class__.__name__
        if converter == "IntegerConverter":
            number = draw(st.sampled_from(world.ids.get(name, [1]) + HUGE_IDS))
            values[name] = str(number)
        else:
            text = draw(st.one_of(st.sampled_from(["A-1", "B/2", "Z/../A-1"]), texts))
            safe = "/" if converter == "PathConverter" else ""
            values[name] = quote(text.encode("utf-8", "surrogatepass"), safe=safe) or "x"
    path = rule.rule
    for name, value in values.items():
        path = re.sub(r"<(?:[^:<>]+:)?" + name + r">", lambda _m, v=value: v, path)
    return path


@SETTINGS
@given(data=st.data())
def test_every_form_answers_4xx_or_success(app: Flask, world: World, data: Any) -> None:
    rules = sorted(
        (r for r in _rules(app, "POST") if not r.rule.startswith("/api/")), key=lambda r: r.rule
    )
    rule = data.draw(st.sampled_from(rules))
    fields = data.draw(form_data)
    fields["csrf_token"] = world.csrf
    if data.draw(st.booleans()):
        fields["file"] = (io.BytesIO(data.draw(st.binary(max_size=300))), "x.csv")
    resp = world.client.post(_path(data.draw, rule, world), data=fields)
    assert resp.status_code < 500, (rule.rule, resp.status_code)


@SETTINGS
@given(data=st.data())
def test_every_json_endpoint_answers_4xx_or_success(app: Flask, world: World, data: Any) -> None:
    rules = sorted((r for r in _rules(app, "POST") if r.rule.startswith("/api/")), key=str)
    rule = data.draw(st.sampled_from(rules))
    body = data.draw(json_bodies)
    headers = {"Authorization": f"Bearer {world.token}"}
    path = _path(data.draw, rule, world)
    if rule.endpoint == "api.decode_image":
        image = (io.BytesIO(data.draw(st.binary(max_size=500))), "x.jpg")
        resp = world.client.post(path, data={"image": image}, headers=headers)
    elif isinstance(body, bytes | str):
        resp = world.client.post(path, data=body, headers=headers, content_type="application/json")
    else:
        resp = world.client.post(path, json=body, headers=headers)
    assert resp.status_code < 500, (rule.rule, resp.status_code)


@SETTINGS
@given(data=st.data())
def test_every_page_answers_4xx_or_success_to_any_query(
    app: Flask, world: World, data: Any
) -> None:
    rules = sorted(
        (r for r in _rules(app, "GET") if r.endpoint != "api.event_stream"), key=lambda r: r.rule
    )
    rule = data.draw(st.sampled_from(rules))
    query = data.draw(form_data)
    resp = world.client.get(_path(data.draw, rule, world), query_string=query)
    status = resp.status_code
    resp.close()
    assert status < 500, (rule.rule, status)


def test_a_bin_code_holding_nul_is_unknown_on_every_backend(
    client: FlaskClient, make_token: Callable[..., str], make_bin: Callable[..., str]
) -> None:
    """Found by the page fuzzing above on PostgreSQL, which cannot hold NUL in text: asking
    for such a bin answered 500."""
    make_bin("A-1")
    headers = {"Authorization": f"Bearer {make_token('operator')}"}
    for path in ("/api/bins/%00", "/api/bins/A-1%00", "/api/bins/%00A-1"):
        resp = client.get(path, headers=headers)
        assert resp.status_code == 404, (path, resp.status_code)
        assert resp.get_json()["error"]["code"] == "unknown_bin"
    assert client.get("/api/bins/A-1", headers=headers).status_code == 200

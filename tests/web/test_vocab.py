"""The enums reach templates and JavaScript from one place (kanban.web.vocab).

Pages carry them as a JSON data block that static/js/vocab.js reads; templates compare with
the enum members. The JavaScript side is checked in tests/test_structure_js.py.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path

import pytest
from flask import Flask, render_template_string
from flask.testing import FlaskClient

from kanban.domain.cards import CardState
from kanban.domain.statuses import (
    EventKind,
    LineStatus,
    Mode,
    MovementKind,
    RequestStatus,
    Role,
    SentVia,
    Source,
)
from kanban.web import vocab

ROOT = Path(__file__).resolve().parents[2]

#: Written out here rather than taken from vocab.ENUMS, so that a missing enum shows.
EXPECTED = {
    "card_states": CardState,
    "request_statuses": RequestStatus,
    "line_statuses": LineStatus,
    "movement_kinds": MovementKind,
    "modes": Mode,
    "sources": Source,
    "event_kinds": EventKind,
    "roles": Role,
    "sent_via": SentVia,
}


class Scripts(HTMLParser):
    """Every <script> of a page: its attributes and its text."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.found: list[tuple[dict[str, str | None], str]] = []
        self._open: dict[str, str | None] | None = None
        self._text = ""
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "script":
            self._open, self._text = dict(attrs), ""

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self._text += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._open is not None:
            self.found.append((self._open, self._text))
            self._open = None

    def vocabulary_block(self) -> tuple[dict[str, str | None], str]:
        blocks = [(a, t) for a, t in self.found if a.get("id") == "kanban-vocab"]
        assert len(blocks) == 1, f"expected one #kanban-vocab, found {len(blocks)}"
        return blocks[0]


def test_vocabulary_is_every_enum_as_names_to_values() -> None:
    assert vocab.vocabulary() == {
        key: {m.name: m.value for m in enum} for key, enum in EXPECTED.items()
    }
    assert vocab.vocabulary()["event_kinds"]["BIN_CHANGED"] == "bin.changed"
    assert vocab.vocabulary()["card_states"]["ORDERED"] == "ordered"


@pytest.mark.parametrize(
    "path", ["/login", "/board", "/scan", "/requests", "/suppliers", "/wall", "/labels"]
)
def test_pages_carry_the_vocabulary_block_equal_to_the_enums(
    client: FlaskClient, make_token: Callable[[str], str], path: str
) -> None:
    headers = {} if path == "/login" else {"Authorization": f"Bearer {make_token('admin')}"}
    resp = client.get(path, headers=headers)
    assert resp.status_code == 200
    attrs, text = Scripts(resp.get_data(as_text=True)).vocabulary_block()
    assert attrs.get("type") == "application/json" and "src" not in attrs
    assert json.loads(text) == {
        key: {m.name: m.value for m in enum} for key, enum in EXPECTED.items()
    }
    # The block is data: the CSP still lets no inline script run.
    assert "script-src 'self'" in resp.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in resp.headers["Content-Security-Policy"]


def test_templates_see_the_enum_members(app: Flask) -> None:
    template = (
        "{{ CardState.ORDERED }} {{ RequestStatus.DRAFT }} {{ LineStatus.OPEN }} "
        "{{ MovementKind.RECEIPT }} {{ Mode.COUNT }} {{ Role.DISPLAY }} "
        "{{ EventKind.BIN_CHANGED }} {{ SentVia.EMAIL }} "
        "{{ 'yes' if 'sent' == RequestStatus.SENT }} {{ vocabulary.roles.ADMIN }}"
    )
    with app.test_request_context():
        out = render_template_string(template)
    assert out.split() == [
        "ordered",
        "draft",
        "open",
        "receipt",
        "count",
        "display",
        "bin.changed",
        "email",
        "yes",
        "admin",
    ]


@pytest.mark.parametrize(
    ("role", "shown", "hidden"),
    [
        ("display", ["/board", "/scan"], ["/requests", "/labels", "/admin/users"]),
        ("operator", ["/requests", "/suppliers"], ["/labels", "/admin/users"]),
        ("supervisor", ["/labels", "/bins/sizing"], ["/admin/users"]),
        ("admin", ["/requests", "/labels", "/admin/users", "/admin/tokens"], []),
    ],
)
def test_the_menu_follows_the_role_members(
    client: FlaskClient,
    make_token: Callable[[str], str],
    role: str,
    shown: list[str],
    hidden: list[str],
) -> None:
    resp = client.get("/wall", headers={"Authorization": f"Bearer {make_token(role)}"})
    assert resp.status_code == 200
    nav = resp.get_data(as_text=True).split("<nav>")[1].split("</nav>")[0]
    links = set(re.findall(r'<a href="([^"]+)"', nav))
    assert set(shown) <= links
    assert not set(hidden) & links


def test_templates_compare_with_enum_members_not_strings() -> None:
    values = {m.value for enum in EXPECTED.values() for m in enum}
    compared = re.compile(r"""(?:==|!=)\s*(['"])([a-z._]+)\1|(['"])([a-z._]+)\3\s*(?:==|!=)""")
    listed = re.compile(r"""\bin\s*\(([^)]*)\)""")
    offenders = []
    for path in sorted((ROOT / "templates").rglob("*.html")):
        for n, line in enumerate(path.read_text().splitlines(), 1):
            words = [m[2] or m[4] for m in compared.finditer(line)]
            for group in listed.findall(line):
                words += re.findall(r"""['"]([a-z._]+)['"]""", group)
            offenders += [f"{path.relative_to(ROOT)}:{n}: {w!r}" for w in words if w in values]
    assert offenders == []


def test_vocab_js_exports_every_enum_of_the_block() -> None:
    source = (ROOT / "static" / "js" / "vocab.js").read_text()
    assert set(re.findall(r"members\('([a-z_]+)'\)", source)) == set(EXPECTED)

"""The scan station's server side: the page, the command sheet, recent scans, the CA download.

The page's behaviour in a real browser is in tests/browser/test_scan_browser.py.
"""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import zxingcpp
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image, ImageDraw
from pyzbar import pyzbar

from kanban.barcodes.commands import command_png
from kanban.domain.codes import COMMAND_PREFIX, MAX_SCAN_LENGTH, all_commands, parse_command
from kanban.ops.https import ensure_certificate
from kanban.web.scan import SCAN_CACHE

from ..conftest import Api


class Page(HTMLParser):
    """Every element's tag and attributes, and the text of each element with an id."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str]]] = []
        self.scripts: list[tuple[dict[str, str], str]] = []
        self._script: dict[str, str] | None = None
        self._script_text = ""
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: (v if v is not None else "") for k, v in attrs}
        self.elements.append((tag, a))
        if tag == "script":
            self._script, self._script_text = a, ""

    def handle_data(self, data: str) -> None:
        if self._script is not None:
            self._script_text += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._script is not None:
            self.scripts.append((self._script, self._script_text))
            self._script = None

    def find(self, tag: str, **attrs: str) -> list[dict[str, str]]:
        return [
            a
            for t, a in self.elements
            if t == tag and all(a.get(k.replace("_", "-")) == v for k, v in attrs.items())
        ]

    def by_id(self, element_id: str) -> dict[str, str]:
        found = [a for _, a in self.elements if a.get("id") == element_id]
        assert len(found) == 1, f"expected one #{element_id}, found {len(found)}"
        return found[0]


def login(client: FlaskClient, name: str) -> str:
    """Log ``name`` in through the form; returns the page's CSRF token."""
    page = client.get("/login").get_data(as_text=True)
    token = page.split('name="csrf-token" content="')[1].split('"')[0]
    resp = client.post(
        "/login", data={"username": name, "password": f"password-{name}", "csrf_token": token}
    )
    assert resp.status_code == 302
    return token


@pytest.fixture
def operator_client(client: FlaskClient, make_user: Callable[..., str]) -> FlaskClient:
    login(client, make_user("ana", "operator"))
    return client


# --------------------------------------------------------------------------- the page


def test_scan_page_needs_a_login(client: FlaskClient) -> None:
    resp = client.get("/scan")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_display_token_cannot_open_the_scan_page(
    client: FlaskClient, make_token: Callable[[str], str]
) -> None:
    resp = client.get("/scan", headers={"Authorization": f"Bearer {make_token('display')}"})
    assert resp.status_code == 403


def test_scan_page_has_a_focused_field_modes_quantity_and_the_command_table(
    operator_client: FlaskClient,
) -> None:
    resp = operator_client.get("/scan")
    assert resp.status_code == 200
    page = Page(resp.get_data(as_text=True))
    field = page.by_id("scan-code")
    assert "autofocus" in field and field["type"] == "text"
    assert int(field["maxlength"]) == MAX_SCAN_LENGTH + 1  # one more, to tell "too long"
    assert [b["data-mode"] for b in page.find("button") if "data-mode" in b] == [
        "pull",
        "receive",
        "count",
    ]
    qty = page.by_id("scan-qty")  # text: no wheel changes it, and its text can be selected
    assert (qty["type"], qty["inputmode"], qty["maxlength"]) == ("text", "numeric", "7")
    photo = page.by_id("scan-photo")
    assert photo["type"] == "file" and photo["accept"] == "image/*"
    assert photo["capture"] == "environment"
    assert page.by_id("scan-station")["maxlength"] == "64"
    assert page.by_id("scan-result")["aria-live"] == "assertive"

    config = json.loads(page.by_id("scan-app")["data-config"])
    assert config["user"] == "ana"
    assert config["max_length"] == MAX_SCAN_LENGTH
    assert config["command_prefix"] == COMMAND_PREFIX
    # The page gets every command from the server, as data; it parses none itself.
    assert set(config["commands"]) == {c.text for c in all_commands()}
    for text, cmd in config["commands"].items():
        parsed = parse_command(text)
        assert parsed is not None
        assert (cmd["action"], cmd["value"]) == (parsed.action, parsed.value)
    assert config["commands"]["*KB:MODE:RECEIVE"]["label"] == "Mode: Receive"
    assert config["commands"]["*KB:CONFIRM"]["action"] == "confirm"
    assert config["confirmable"] == ["unusual_quantity", "over_receipt"]
    assert set(config["modes"]) >= {"pull", "receive", "count"}
    assert config["states"]["replenish"]["word"] == "Replenish"


def test_scan_page_obeys_the_content_security_policy(operator_client: FlaskClient) -> None:
    resp = operator_client.get("/scan")
    page = Page(resp.get_data(as_text=True))
    assert "script-src 'self'" in resp.headers["Content-Security-Policy"]
    # Scripts come from files; the one inline block is JSON data (the vocabulary), never run.
    assert all(
        (attrs.get("src") and not text.strip()) or attrs.get("type") == "application/json"
        for attrs, text in page.scripts
    )
    assert any(
        a.get("src", "").endswith("/static/js/scan.js") and a.get("type") == "module"
        for a, _ in page.scripts
    )
    for _, attrs in page.elements:
        assert "style" not in attrs
        assert not any(k.startswith("on") for k in attrs)


def test_scan_scripts_and_styles_are_served(operator_client: FlaskClient) -> None:
    for name in (
        "scan.js",
        "scan-station.js",
        "scan-api.js",
        "scan-result.js",
        "scan-outbox.js",
        "scan-recent.js",
        "scan-input.js",
        "scan-capture.js",
        "scan-offline.js",
        "scan-keys.js",
        "scan-queue.js",
        "scan-camera.js",
        "scan-feedback.js",
        "scan-sheet.js",
        "vocab.js",
    ):
        resp = operator_client.get(f"/static/js/{name}")
        assert resp.status_code == 200, name
        assert "innerHTML" not in resp.get_data(as_text=True), name  # textContent only
    assert operator_client.get("/static/css/scan.css").status_code == 200


def test_the_offline_worker_is_served_from_the_root_fresh_and_only_to_operators(
    client: FlaskClient, make_user: Callable[..., str], make_token: Callable[[str], str]
) -> None:
    assert client.get("/scan-sw.js").status_code == 302  # not logged in: to the login page
    display = {"Authorization": f"Bearer {make_token('display')}"}
    assert client.get("/scan-sw.js", headers=display).status_code == 403
    login(client, make_user("ana", "operator"))
    resp = client.get("/scan-sw.js")
    assert resp.status_code == 200
    assert resp.mimetype in {"text/javascript", "application/javascript"}
    assert resp.headers["Cache-Control"] == "no-cache"  # a new version reaches phones at once
    body = resp.get_data(as_text=True)
    assert "addEventListener('fetch'" in body


def test_the_offline_cache_is_named_once_on_the_server(
    operator_client: FlaskClient, app: Flask
) -> None:
    # The scan page fills the cache named in its config and registers the worker with the
    # same name in its URL; the worker reads it from there (self.location).
    page = Page(operator_client.get("/scan").get_data(as_text=True))
    config = json.loads(page.by_id("scan-app")["data-config"])
    assert config["cache"] == SCAN_CACHE
    worker_url = urlsplit(config["urls"]["worker"])
    assert worker_url.path == "/scan-sw.js"
    assert parse_qs(worker_url.query) == {"cache": [SCAN_CACHE]}
    worker = operator_client.get(config["urls"]["worker"])
    assert worker.status_code == 200
    assert "new URL(self.location.href).searchParams.get('cache')" in worker.get_data(as_text=True)
    # The login page, which empties the cache, gets the same name.
    login_page = Page(app.test_client().get("/login").get_data(as_text=True))
    assert [a["data-scan-cache"] for _, a in login_page.elements if "data-scan-cache" in a] == [
        SCAN_CACHE
    ]
    # And no browser file spells a name of its own.
    static = Path(__file__).resolve().parents[2] / "static"
    spelled = [
        p.name for p in static.rglob("*") if p.is_file() and b"kanban-scan-v" in p.read_bytes()
    ]
    assert spelled == []


# --------------------------------------------------------------------------- command sheet


def _draw_svg(svg: ET.Element, scale: int = 3) -> Image.Image:
    """Raster the sheet's SVG barcode: each viewBox unit (one module) becomes ``scale`` px."""
    _, _, width, height = (int(float(v)) for v in svg.attrib["viewBox"].split())
    img = Image.new("L", (width * scale, 60), 255)
    draw = ImageDraw.Draw(img)
    ns = "{http://www.w3.org/2000/svg}"
    for rect in svg.iter(f"{ns}rect"):
        if rect.attrib.get("fill") == "#fff":
            continue
        x, w = int(rect.attrib["x"]), int(rect.attrib["width"])
        assert int(rect.attrib["height"]) == height
        draw.rectangle((x * scale, 0, (x + w) * scale - 1, 59), fill=0)
    return img


def test_command_sheet_prints_every_command_as_a_readable_barcode(
    operator_client: FlaskClient,
) -> None:
    resp = operator_client.get("/scan/commands")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    page = Page(html)
    figures = page.find("figure")
    assert [f["data-command"] for f in figures] == [c.text for c in all_commands()]
    for cmd in all_commands():
        start = html.index(f'data-command="{cmd.text}"')
        svg_text = html[html.index("<svg", start) : html.index("</svg>", start) + 6]
        svg = ET.fromstring(svg_text)  # noqa: S314 (our own server's output, in a test)
        assert svg.attrib["width"].endswith("mm")  # printed at a physical size
        img = _draw_svg(svg)
        assert [r.text for r in zxingcpp.read_barcodes(img)] == [cmd.text]
        assert [r.data.decode() for r in pyzbar.decode(img)] == [cmd.text]


def test_command_sheet_has_the_answers_to_the_pages_question(
    operator_client: FlaskClient,
) -> None:
    html = operator_client.get("/scan/commands").get_data(as_text=True)
    page = Page(html)
    assert len(page.find("h2")) == 4  # mode, quantity, undo, answers
    assert [f["data-command"] for f in page.find("figure")][-2:] == ["*KB:CONFIRM", "*KB:CANCEL"]
    assert "Confirm: book it anyway" in html and "Cancel: do not book it" in html
    assert html.index("<h2>Answer a question") < html.index('data-command="*KB:CONFIRM"')


@pytest.mark.parametrize("text", [c.text for c in all_commands()])
def test_command_barcode_png_decodes_with_both_engines(text: str) -> None:
    img = Image.open(io.BytesIO(command_png(text, module_px=2)))
    assert [(r.format.name, r.text) for r in zxingcpp.read_barcodes(img)] == [("Code128", text)]
    assert [(r.type, r.data.decode()) for r in pyzbar.decode(img)] == [("CODE128", text)]


def test_command_sheet_needs_an_operator(
    client: FlaskClient, make_token: Callable[[str], str]
) -> None:
    assert client.get("/scan/commands").status_code == 302
    resp = client.get(
        "/scan/commands", headers={"Authorization": f"Bearer {make_token('display')}"}
    )
    assert resp.status_code == 403


# --------------------------------------------------------------------------- recent scans


def test_recent_scans_of_a_station_offer_undo_for_your_own_only(
    client: FlaskClient, make_token: Callable[[str], str], make_bin: Callable[..., str]
) -> None:
    make_bin("A-1", on_hand=10, card=5)
    make_bin("B-2", on_hand=10, card=5)
    mine, theirs = Api(client, make_token("operator")), Api(client, make_token("operator"))
    assert mine.scan("A-1", scan_id="m-1", station="Station 1", source="usb").status_code == 201
    assert theirs.scan("B-2", scan_id="t-1", station="Station 1").status_code == 201
    assert mine.scan("B-2", scan_id="m-2", station="Station 2", quantity=2).status_code == 201

    body = mine.get("/scan/recent?station=Station%201").get_json()
    assert body["station"] == "Station 1"
    scans = body["scans"]
    # Newest first: this station's scans, and your own wherever they were made (a renamed
    # station keeps your scans and their Undo).
    assert [s["scan_id"] for s in scans] == ["m-2", "t-1", "m-1"]
    assert [s["station"] for s in scans] == ["Station 2", "Station 1", "Station 1"]
    assert scans[0]["undoable"] is True
    assert [
        s["scan_id"] for s in theirs.get("/scan/recent?station=Station%201").get_json()["scans"]
    ] == ["t-1", "m-1"]  # someone else's scans at another station are not listed
    _, t1, m1 = scans
    assert (m1["mine"], m1["undoable"], m1["undone"]) == (True, True, False)
    assert (t1["mine"], t1["undoable"]) == (False, False)
    assert m1["bin"] == "A-1" and m1["mode"] == "pull" and m1["quantity"] == 1
    assert m1["on_hand_after"] == 9 and m1["source"] == "usb"

    assert mine.post("/api/scans/m-1/undo").status_code == 201
    m1 = mine.get("/scan/recent?station=Station%201").get_json()["scans"][2]
    assert (m1["undone"], m1["undoable"]) == (True, False)

    # Without a station name: your own scans, wherever they were made.
    own = mine.get("/scan/recent").get_json()["scans"]
    assert [s["scan_id"] for s in own] == ["m-2", "m-1"]


def test_recent_scans_refuse_an_overlong_station_name(
    client: FlaskClient, make_token: Callable[[str], str]
) -> None:
    api = Api(client, make_token("operator"))
    resp = api.get("/scan/recent?station=" + "S" * 65)
    assert resp.status_code == 400
    assert resp.get_json()["error"]["code"] == "invalid_station"


# --------------------------------------------------------------------------- CA download


def test_phones_can_download_the_local_ca_once_https_was_set_up(
    operator_client: FlaskClient, instance: Path
) -> None:
    assert operator_client.get("/scan/ca.crt").status_code == 404
    assert not Page(operator_client.get("/scan").get_data(as_text=True)).find(
        "a", href="/scan/ca.crt"
    )
    files = ensure_certificate(instance)
    resp = operator_client.get("/scan/ca.crt")
    assert resp.status_code == 200
    assert resp.data == files.ca.read_bytes()
    assert resp.mimetype == "application/x-x509-ca-cert"
    assert b"PRIVATE KEY" not in resp.data
    assert Page(operator_client.get("/scan").get_data(as_text=True)).find("a", href="/scan/ca.crt")

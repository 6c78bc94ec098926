"""What the live camera needs from the server (docs/manual/decoding.md): ``GET /api/resolve`` says
whether a read code is a bin without changing anything, and the page gets the on-phone
reader (zxing-wasm, vendored under static/) from this server, allowed by the CSP."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from kanban.extensions import db
from kanban.masterdata import bins as catalog
from kanban.models import Bin, Event, Movement
from kanban.web.scan import READER_FILES

from .test_scan import Page, login

STATIC = Path(__file__).resolve().parents[2] / "static"


@pytest.fixture
def operator(client: FlaskClient, make_user: Callable[..., str]) -> FlaskClient:
    login(client, make_user("ana", "operator"))
    return client


def ledger() -> tuple[int, int, list[tuple[str, int]]]:
    db.session.rollback()
    return (
        db.session.scalar(sa.select(sa.func.count(Movement.id))) or 0,
        db.session.scalar(sa.select(sa.func.count(Event.id))) or 0,
        list(db.session.execute(sa.select(Bin.code, Bin.on_hand).order_by(Bin.code)).all()),
    )


def resolve(client: FlaskClient, code: str) -> tuple[int, dict]:
    resp = client.get("/api/resolve", query_string={"code": code})
    return resp.status_code, resp.get_json()


def test_a_bin_code_a_product_barcode_and_a_sku_resolve_to_their_bin(
    operator: FlaskClient, make_bin: Callable[..., str]
) -> None:
    make_bin("A-01-03", sku="BOLT-M8", barcode="4006381333931")
    before = ledger()
    assert resolve(operator, "a-01-03") == (200, {"code": "a-01-03", "bin": "A-01-03"})
    assert resolve(operator, "4006381333931")[1]["bin"] == "A-01-03"
    assert resolve(operator, "BOLT-M8")[1]["bin"] == "A-01-03"
    assert ledger() == before  # looking up changes nothing


def test_a_code_that_is_not_a_bin_says_why_and_changes_nothing(
    operator: FlaskClient, make_bin: Callable[..., str]
) -> None:
    make_bin("R-1")
    make_bin("S-1", barcode="4006381333931")
    make_bin("S-2", barcode="4006381333931")
    catalog.set_bin_active("R-1", False, "test")
    db.session.commit()
    before = ledger()
    status, body = resolve(operator, "NOBIN-42")
    assert (status, body["error"]["code"]) == (404, "unknown_code")
    status, body = resolve(operator, "R-1")
    assert (status, body["error"]["code"]) == (409, "inactive_bin")
    status, body = resolve(operator, "4006381333931")
    assert (status, body["error"]["code"]) == (409, "ambiguous_code")
    status, body = resolve(operator, "bad\x07code")
    assert status == 400 and "bad" not in json.dumps(body)  # never echoed back
    assert resolve(operator, "")[0] == 400
    assert ledger() == before


def test_resolve_needs_an_operator(
    client: FlaskClient, make_bin: Callable[..., str], make_token: Callable[[str], str]
) -> None:
    make_bin("A-1")
    assert client.get("/api/resolve?code=A-1").status_code in (401, 302)
    display = {"Authorization": f"Bearer {make_token('display')}"}
    assert client.get("/api/resolve?code=A-1", headers=display).status_code == 403
    operator = {"Authorization": f"Bearer {make_token('operator')}"}
    assert client.get("/api/resolve?code=A-1", headers=operator).status_code == 200


def test_the_scan_page_gets_its_reader_from_this_server_and_the_csp_lets_it_compile(
    operator: FlaskClient,
) -> None:
    resp = operator.get("/scan")
    csp = resp.headers["Content-Security-Policy"]
    script_src = next(d for d in csp.split(";") if d.strip().startswith("script-src")).split()
    # WebAssembly compiles; JavaScript's eval() stays forbidden; nothing from elsewhere.
    assert script_src == ["script-src", "'self'", "'wasm-unsafe-eval'"]
    assert "connect-src 'self'" in csp
    config = json.loads(Page(resp.get_data(as_text=True)).by_id("scan-app")["data-config"])
    reader = config["urls"]["reader"]
    assert reader == {
        "module": "/static/vendor/zxing_wasm/reader/index.js",
        "wasm": "/static/vendor/zxing_wasm/zxing_reader.wasm",
    }
    assert config["urls"]["resolve"] == "/api/resolve"
    # The offline copy keeps every file of the reader.
    assert config["urls"]["offline"] == [f"/static/{f}" for f in READER_FILES]
    for url in config["urls"]["offline"]:
        assert operator.get(url).status_code == 200
    wasm = operator.get(reader["wasm"])
    assert wasm.mimetype == "application/wasm" and wasm.data[:4] == b"\0asm"


def test_the_vendored_reader_carries_its_licences_and_loads_nothing_from_a_cdn() -> None:
    folder = STATIC / "vendor" / "zxing_wasm"
    assert "MIT" in (folder / "LICENSE").read_text()
    assert "Apache License" in (folder / "LICENSE-zxing-cpp").read_text()
    assert "zxing-wasm 3.1.6" in (folder / "VERSION").read_text()
    for name in READER_FILES:
        assert (STATIC / name).is_file()
    # zxing-wasm's default is a CDN; the camera overrides locateFile with our own URL.
    reader_js = (STATIC / "js" / "scan-reader.js").read_text()
    assert "locateFile" in reader_js and "urls.wasm" in reader_js
    assert "http" not in reader_js


def test_the_camera_modules_are_served_and_write_text_only(operator: FlaskClient) -> None:
    for name in ("scan-camera.js", "scan-reader.js", "scan-overlay.js", "scan-lookup.js"):
        resp = operator.get(f"/static/js/{name}")
        assert resp.status_code == 200, name
        assert "innerHTML" not in resp.get_data(as_text=True), name  # textContent only

"""``POST /api/decode``: photos and camera frames in, codes out; bad uploads change nothing."""

from __future__ import annotations

import io
import struct
import time
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests as http
import sqlalchemy as sa
from flask.testing import FlaskClient

from kanban.barcodes import decode
from kanban.barcodes.labels import LabelData, render_png
from kanban.extensions import db
from kanban.models import Event, Movement

from ..conftest import LiveServer


@pytest.fixture(scope="module", autouse=True)
def _stop_decoder_pool() -> Iterator[None]:
    yield
    decode.shutdown()


def label_png(code: str = "A-01-03") -> bytes:
    """A bin label rendered by the product's own label code."""
    return render_png(LabelData(code, "Hex bolt M8", "SKU-1", "Aisle B", 5, 20, "Acme"), dpi=200)


def header_bomb(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims width x height pixels (a decompression bomb)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body))
            + kind
            + body
            + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 1024)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def world() -> tuple[int, int, list[tuple[str, int]]]:
    """What a decode must never change: the ledger, the events, the stock."""
    db.session.rollback()
    from kanban.models import Bin

    return (
        db.session.scalar(sa.select(sa.func.count(Movement.id))) or 0,
        db.session.scalar(sa.select(sa.func.count(Event.id))) or 0,
        list(db.session.execute(sa.select(Bin.code, Bin.on_hand).order_by(Bin.code)).all()),
    )


def post_image(
    client: FlaskClient,
    token: str,
    data: bytes,
    *,
    field: str = "image",
    filename: str = "photo.png",
    query: str = "",
) -> Any:
    return client.post(
        f"/api/decode{query}",
        data={field: (io.BytesIO(data), filename)},
        content_type="multipart/form-data",
        headers={"Authorization": f"Bearer {token}"},
    )


def test_code128_label_photo_decodes_to_its_code(
    client: FlaskClient, make_token: Callable[[str], str], make_bin: Callable[..., str]
) -> None:
    make_bin("A-01-03", on_hand=10)
    before = world()
    resp = post_image(client, make_token("operator"), label_png("A-01-03"))
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json() == {"codes": [{"text": "A-01-03", "format": "Code128"}]}
    assert world() == before  # decoding reads; it never pulls


def test_live_camera_frame_decodes_in_quick_mode(
    client: FlaskClient, make_token: Callable[[str], str]
) -> None:
    from PIL import Image

    label = Image.open(io.BytesIO(label_png("B-7")))
    frame = Image.new("L", (640, 480), 128)
    frame.paste(label, ((640 - label.width) // 2, (480 - label.height) // 2))
    buf = io.BytesIO()
    frame.save(buf, "JPEG", quality=90)
    resp = post_image(
        client, make_token("operator"), buf.getvalue(), filename="frame.jpg", query="?live=1"
    )
    assert resp.status_code == 200
    assert [c["text"] for c in resp.get_json()["codes"]] == ["B-7"]


def test_picture_without_a_code_gives_an_empty_list(
    client: FlaskClient, make_token: Callable[[str], str]
) -> None:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("L", (300, 200), 200).save(buf, "PNG")
    resp = post_image(client, make_token("operator"), buf.getvalue())
    assert resp.status_code == 200 and resp.get_json() == {"codes": []}


def _assert_error(resp: Any, status: int, code: str) -> None:
    assert resp.status_code == status, resp.get_data(as_text=True)[:300]
    body = resp.get_json()
    assert body["error"]["code"] == code
    assert body["error"]["message"]


BAD_UPLOADS: list[tuple[str, bytes, int, str]] = [
    ("text file", b"A-01-03\nthis is not a picture\n", 415, "not_an_image"),
    ("empty file", b"", 400, "not_an_image"),
    ("truncated png", label_png()[:200], 400, "not_an_image"),
    ("decompression bomb", header_bomb(20000, 20000), 413, "too_many_pixels"),
    (
        "over the upload bound",
        b"\xff\xd8\xff" + b"\0" * decode.MAX_UPLOAD_BYTES,
        413,
        "image_too_large",
    ),
]


@pytest.mark.parametrize(
    ("name", "data", "status", "code"), BAD_UPLOADS, ids=[b[0] for b in BAD_UPLOADS]
)
def test_bad_upload_is_a_clear_4xx_and_changes_nothing(
    client: FlaskClient,
    make_token: Callable[[str], str],
    make_bin: Callable[..., str],
    name: str,
    data: bytes,
    status: int,
    code: str,
) -> None:
    make_bin("A-01-03")
    before = world()
    _assert_error(post_image(client, make_token("operator"), data), status, code)
    assert world() == before


def test_upload_above_the_request_limit_is_refused_before_reading(
    client: FlaskClient, make_token: Callable[[str], str]
) -> None:
    huge = b"\0" * (17 * 1024 * 1024)  # above MAX_CONTENT_LENGTH (16 MiB)
    resp = post_image(client, make_token("operator"), huge)
    assert resp.status_code == 413
    assert resp.get_json()["error"]["code"] == "request_entity_too_large"


def test_missing_image_field_is_400(client: FlaskClient, make_token: Callable[[str], str]) -> None:
    resp = post_image(client, make_token("operator"), label_png(), field="photo")
    _assert_error(resp, 400, "missing_image")


def test_json_body_instead_of_a_picture_is_415(
    client: FlaskClient, make_token: Callable[[str], str]
) -> None:
    resp = client.post(
        "/api/decode",
        json={"image": "A-01-03"},
        headers={"Authorization": f"Bearer {make_token('operator')}"},
    )
    _assert_error(resp, 415, "unsupported_media_type")


def test_display_token_may_not_decode(
    client: FlaskClient, make_token: Callable[[str], str]
) -> None:
    resp = post_image(client, make_token("display"), label_png())
    _assert_error(resp, 403, "forbidden")


def test_anonymous_upload_is_refused(client: FlaskClient) -> None:
    resp = client.post(
        "/api/decode",
        data={"image": (io.BytesIO(label_png()), "x.png")},
        content_type="multipart/form-data",
    )
    assert resp.status_code in (400, 401)  # no CSRF token, no session: refused either way
    assert resp.get_json()["error"]["code"] in ("csrf_failed", "unauthorized")
    assert "codes" not in resp.get_json()


def test_session_user_needs_the_csrf_header(
    client: FlaskClient, make_user: Callable[..., str]
) -> None:
    make_user("ana", "operator")
    page = client.get("/login")
    token = page.get_data(as_text=True).split('name="csrf-token" content="')[1].split('"')[0]
    client.post("/login", data={"username": "ana", "password": "password-ana", "csrf_token": token})
    without = client.post(
        "/api/decode",
        data={"image": (io.BytesIO(label_png()), "x.png")},
        content_type="multipart/form-data",
    )
    _assert_error(without, 400, "csrf_failed")
    with_header = client.post(
        "/api/decode",
        data={"image": (io.BytesIO(label_png()), "x.png")},
        content_type="multipart/form-data",
        headers={"X-CSRFToken": token},
    )
    assert with_header.status_code == 200
    assert with_header.get_json()["codes"][0]["text"] == "A-01-03"


def _children(pid: int) -> set[int]:
    out: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        out |= {int(t) for t in text}
    return out


def test_decoder_pool_starts_in_a_worker_never_in_the_server_master(
    live_server: LiveServer, make_token: Callable[[str], str]
) -> None:
    master = live_server.proc.pid
    deadline = time.time() + 10
    while len(_children(master)) < 2 and time.time() < deadline:
        time.sleep(0.05)  # the server answers once one worker is up; wait for the second
    workers = _children(master)
    assert len(workers) == 2  # `kanban serve` starts two gunicorn workers, nothing else
    resp = http.post(
        f"{live_server.url}/api/decode",
        files={"image": ("label.png", label_png("C-9"), "image/png")},
        headers={"Authorization": f"Bearer {make_token('operator')}"},
        timeout=30,
    )
    assert resp.status_code == 200 and resp.json()["codes"][0]["text"] == "C-9"
    # The pool's processes hang below the worker that decoded, not below the master.
    deadline = time.time() + 5
    while time.time() < deadline and not any(_children(w) for w in workers):
        time.sleep(0.05)
    assert any(_children(w) for w in workers)
    assert _children(master) == workers

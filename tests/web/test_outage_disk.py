"""An SQLite database on a disk that fills up or turns read-only (a real tmpfs mounted for the
test: it needs root, as CI has): scans and logins answer 503 with Retry-After, never 500,
and work again once the disk takes writes; the log has one line when it starts and one
when it ends, and no traceback."""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from kanban import create_app
from kanban.core import outage
from kanban.extensions import db

from ..conftest import Api, IsolatedClient
from .test_requests_pages import Page

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs needs root")


@pytest.fixture
def disk() -> Iterator[Path]:
    """A 3 MB filesystem of its own, unmounted at the end."""
    where = Path(tempfile.mkdtemp(prefix="kanban-disk-"))
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(where)], check=True)
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)
        with contextlib.suppress(OSError):
            where.rmdir()


@pytest.fixture
def db_url(disk: Path, sqlite_template: Path) -> str:
    """The test's database on :func:`disk` (SQLite only: a full disk is SQLite's case)."""
    shutil.copy(sqlite_template, disk / "kanban.db")
    return f"sqlite:///{disk / 'kanban.db'}"


@pytest.fixture
def instance(disk: Path) -> Path:
    path = disk / "instance"
    path.mkdir()
    return path


@pytest.fixture(autouse=True)
def no_outage_before() -> Iterator[None]:
    outage.ended()  # another test's outage in this process is not this one's
    yield
    outage.ended()  # nor this one another's


def fill(disk: Path) -> Path:
    """Take every free byte of ``disk``; returns the file that holds them."""
    filler = disk / "filler"
    with filler.open("wb", buffering=0) as f:
        for size in (1 << 16, 1 << 10, 1):
            with contextlib.suppress(OSError):
                while True:
                    f.write(b"\0" * size)
    try:  # nothing is left
        with (disk / "probe").open("wb", buffering=0) as f:
            f.write(b"\0" * 4096)
    except OSError as exc:
        assert exc.errno == errno.ENOSPC
    return filler


def scan(api: Api, scan_id: str | None = None) -> tuple[int, dict[str, str], object]:
    resp = api.scan("D-1", scan_id=scan_id or uuid.uuid4().hex)
    return resp.status_code, dict(resp.headers), resp.get_json()


def assert_unavailable(status: int, headers: dict[str, str], body: object) -> None:
    assert status == 503
    assert headers["Retry-After"] == str(outage.RETRY_AFTER)
    assert isinstance(body, dict)
    assert body["error"]["code"] == "database_unavailable"
    assert "try again" in body["error"]["message"]


def until_refused(api: Api) -> tuple[str, list[int]]:
    """Scan until the database refuses one (SQLite may still fit a few in the space its
    files already have); returns the refused scan's id and every status seen."""
    seen = []
    for _ in range(200):
        scan_id = uuid.uuid4().hex
        status, headers, body = scan(api, scan_id)
        seen.append(status)
        if status != 201:
            assert_unavailable(status, headers, body)
            return scan_id, seen
    raise AssertionError("the full disk took 200 scans")


def login_page(client: FlaskClient) -> tuple[int, str, dict[str, str]]:
    html = client.get("/login").get_data(as_text=True)
    token = Page(html).one("input", name="csrf_token").attrs["value"]
    resp = client.post(
        "/login",
        data={"username": "operator1", "password": "password-operator1", "csrf_token": token},
        headers={"Accept": "text/html"},
    )
    return resp.status_code, resp.get_data(as_text=True), dict(resp.headers)


def assert_no_traceback(caplog: pytest.LogCaptureFixture) -> None:
    tracebacks = [r.getMessage() for r in caplog.records if r.exc_info]
    assert tracebacks == []


def outage_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "kanban.outage"]


def test_on_a_full_disk_scans_and_logins_answer_503_and_work_again_once_space_is_freed(
    app: Flask,
    disk: Path,
    api: Api,
    client: FlaskClient,
    make_bin: Callable[..., str],
    make_user: Callable[..., str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    make_bin("D-1", on_hand=500, card=5)
    make_user("operator1", "operator")
    caplog.set_level(logging.INFO)
    filler = fill(disk)
    refused_id, seen = until_refused(api)
    assert set(seen) <= {201, 503}
    assert_unavailable(*scan(api))  # and the next one too
    status, html, headers = login_page(client)
    assert status == 503 and headers["Retry-After"] == str(outage.RETRY_AFTER)
    page = Page(html)
    section = page.one("section", **{"class": "error-page"})
    assert section.attrs["data-code"] == "database_unavailable"
    assert page.one("h1").text == "Cannot save right now"
    assert_no_traceback(caplog)
    started = outage_lines(caplog)
    assert len(started) == 1 and "is full" in started[0]

    filler.unlink()
    status, _headers, body = scan(api, refused_id)  # the refused scan, sent again
    assert status == 201 and isinstance(body, dict) and body["replayed"] is False
    status, _headers, body = scan(api, refused_id)  # once more: a replay, counted once
    assert status == 200 and isinstance(body, dict) and body["replayed"] is True
    assert login_page(client)[0] == 302
    lines = outage_lines(caplog)
    assert len(lines) == 2 and "over" in lines[1]
    assert lines[1].endswith("requests refused with 503 meanwhile: 3")  # 2 scans, a login
    assert_no_traceback(caplog)


def test_a_database_on_a_read_only_mount_answers_503_and_works_again_once_writable(
    app: Flask,
    disk: Path,
    make_bin: Callable[..., str],
    make_token: Callable[[str], str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    make_bin("D-1", on_hand=500, card=5)
    token = make_token("operator")
    view = Path(tempfile.mkdtemp(prefix="kanban-ro-"))  # the same files, through a read-only mount
    subprocess.run(["mount", "--bind", str(disk), str(view)], check=True)
    try:
        subprocess.run(["mount", "-o", "remount,bind,ro", str(view)], check=True)
        on_view = create_app(
            {
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{view / 'kanban.db'}",
                "INSTANCE_PATH": str(view / "instance"),
                "SECRET_KEY": "test-secret",
                "TESTING": True,
            }
        )
        on_view.test_client_class = IsolatedClient
        api = Api(on_view.test_client(), token)
        caplog.set_level(logging.INFO)
        refused = uuid.uuid4().hex
        assert_unavailable(*scan(api, refused))
        assert_unavailable(*scan(api, refused))
        subprocess.run(["mount", "-o", "remount,bind,rw", str(view)], check=True)
        status, _headers, body = scan(api, refused)
        assert status == 201 and isinstance(body, dict) and body["replayed"] is False
        with on_view.app_context():
            db.engine.dispose()
    finally:
        subprocess.run(["umount", "-l", str(view)], check=False)
        view.rmdir()
    lines = outage_lines(caplog)
    assert len(lines) == 2, lines
    assert "over" in lines[1] and lines[1].endswith("meanwhile: 2")
    assert_no_traceback(caplog)

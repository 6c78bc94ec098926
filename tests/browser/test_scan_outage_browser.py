"""The scan page while the server's database cannot save (its disk is full: a real tmpfs,
mounted for the test, which needs root as CI has): the scan waits on the device, the page
says why, and once the server can save again the scan is sent with the same scan id and
booked once."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests as http
from flask import Flask

from ..conftest import LiveServer, start_server, stop_server
from ..web.test_outage_disk import disk, fill  # noqa: F401 (disk is a fixture)
from .scan_page import TIMEOUT, movements, open_scan, scan, wait_result, watch

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs needs root")


@pytest.fixture
def db_url(disk: Path, sqlite_template: Path) -> str:  # noqa: F811 (the fixture above)
    """The test's database on a small disk of its own (SQLite: a full disk is its case)."""
    (disk / "kanban.db").write_bytes(sqlite_template.read_bytes())
    return f"sqlite:///{disk / 'kanban.db'}"


@pytest.fixture
def live_server(app: Flask, db_url: str, instance: Path) -> Iterator[LiveServer]:
    """A server of the test's own, on the small disk."""
    server = start_server(db_url, instance)
    yield server
    stop_server(server)


def refuse_writes(server: LiveServer, token: str) -> None:
    """Scan another bin until the full disk refuses one (SQLite may first fit a few scans
    in the space its files already have)."""
    with http.Session() as s:
        s.headers["Authorization"] = f"Bearer {token}"
        for _ in range(200):
            body = {"code": "F-0", "mode": "pull", "scan_id": uuid.uuid4().hex}
            resp = s.post(f"{server.url}/api/scans", json=body, timeout=30)
            if resp.status_code == 503:
                return
            assert resp.status_code == 201
    raise AssertionError("the full disk took 200 scans")


def test_a_scan_the_server_cannot_save_waits_on_the_device_and_is_booked_once_later(
    logged_in: Callable[..., Any],
    live_server: LiveServer,
    make_bin: Callable[..., str],
    make_token: Callable[[str], str],
    disk: Path,  # noqa: F811 (the fixture above)
    errors: list[str],
) -> None:
    make_bin("F-0", on_hand=5000, card=5)
    make_bin("F-1", on_hand=50, card=5)
    token = make_token("operator")
    page = open_scan(watch(logged_in("operator", name="ana"), errors), live_server)
    filler = fill(disk)
    refuse_writes(live_server, token)

    scan(page, "F-1")
    text = wait_result(page, "queued", "F-1")
    assert "1 scan waiting" in text and "cannot save right now" in text
    page.wait_for_selector("#scan-waiting:not([hidden])", timeout=TIMEOUT)
    assert page.get_attribute("#scan-waiting", "data-count") == "1"
    assert "not sent yet, the server cannot save right now" in page.inner_text("#scan-waiting")
    waiting = json.loads(page.evaluate("() => localStorage.getItem('kanban.scanQueue.v1:ana')"))
    [queued] = waiting
    assert movements() == [] or all(m.bin.code == "F-0" for m in movements())

    filler.unlink()  # the disk takes writes again: the page sends the scan by itself
    page.wait_for_selector("#scan-waiting", state="hidden", timeout=TIMEOUT)
    [pull] = [m for m in movements() if m.bin.code == "F-1"]
    assert pull.scan_id == queued["scan_id"] and pull.quantity == -1  # the same scan, once
    assert "Traceback" not in live_server.log.read_text()

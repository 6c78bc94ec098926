"""PostgreSQL stopped and started under load, behind a real `kanban serve` with two worker
processes: every answer is a success or a 503 with Retry-After, never a 500; scans work
again once it is back; the log has the outage's start and end lines and no traceback; the
ledger is clean and no acknowledged scan is lost."""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests as http
import sqlalchemy as sa

from kanban import create_app
from kanban.auth import users as auth_service
from kanban.extensions import db
from kanban.masterdata import bins as catalog
from kanban.models import Event, Movement
from kanban.webhooks import endpoints

from ..conftest import _migrate, start_server, stop_server
from ..pg import ThrowawayPostgres
from ..webhook_receiver import Receiver

BINS = ("P-1", "P-2", "P-3")


@pytest.fixture
def postgres() -> Iterator[ThrowawayPostgres]:
    """A PostgreSQL server of this test's own, to stop and start."""
    pg = ThrowawayPostgres().start()
    try:
        yield pg
    finally:
        pg.stop()


def prepare(url: str, instance: Path, hook_url: str) -> str:
    """The site: three bins, a supervisor, a webhook endpoint; returns an operator device's
    token."""
    _migrate(url, instance)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "INSTANCE_PATH": str(instance)})
    with app.app_context():
        for code in BINS:
            catalog.create_bin(
                code,
                sku=f"SKU-{code}",
                item_name=f"Part in {code}",
                zone="Line 1",
                supplier="Acme",
                on_hand=5000,
                card_quantity=10,
                order_quantity=20,
                pull_quantity=1,
                supplier_email="orders@acme.example",
            )
        auth_service.create_user("sue", "password-sue", "supervisor")
        db.session.commit()  # (the endpoint starts after the feed's head: committed first)
        endpoints.add(hook_url, ["bin.changed"], by="admin")
        _, token = auth_service.create_token("handheld", "operator")
        db.session.commit()
        db.engine.dispose()
    return token


def logged_in(url: str) -> http.Session:
    s = http.Session()
    html = s.get(f"{url}/login", timeout=30).text
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)
    assert csrf is not None
    form = {"username": "sue", "password": "password-sue", "csrf_token": csrf.group(1)}
    assert s.post(f"{url}/login", data=form, timeout=30, allow_redirects=False).status_code == 302
    return s


class Load:
    """Scans and board loads from a few threads until stopped; keeps every answer."""

    def __init__(self, url: str, token: str) -> None:
        self.url, self.token = url, token
        self.answers: list[tuple[str, int, str | None, float]] = []  # what, status, Retry-After
        self.scans: dict[str, int] = {}  # scan id → last status
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self.scanning, args=(n,)) for n in range(2)]
        self.threads.append(threading.Thread(target=self.browsing, args=(logged_in(url),)))
        self.threads.append(threading.Thread(target=self.following))

    def record(self, what: str, resp: http.Response) -> None:
        self.answers.append((what, resp.status_code, resp.headers.get("Retry-After"), time.time()))

    def scanning(self, n: int) -> None:
        with http.Session() as s:
            s.headers["Authorization"] = f"Bearer {self.token}"
            i = 0
            while not self.stop.is_set():
                scan_id = uuid.uuid4().hex
                body = {"code": BINS[(n + i) % 3], "mode": "pull", "scan_id": scan_id}
                resp = s.post(f"{self.url}/api/scans", json=body, timeout=60)
                self.scans[scan_id] = resp.status_code
                self.record("scan", resp)
                i += 1
                time.sleep(0.02)

    def browsing(self, s: http.Session) -> None:
        while not self.stop.is_set():
            self.record("board", s.get(f"{self.url}/board", timeout=60))
            time.sleep(0.05)

    def following(self) -> None:
        """The live stream, as a board keeps it open: reconnecting whenever it ends."""
        with http.Session() as s:
            s.headers["Authorization"] = f"Bearer {self.token}"
            while not self.stop.is_set():
                try:
                    with s.get(f"{self.url}/api/events/stream", stream=True, timeout=(5, 2)) as r:
                        self.record("stream", r)
                        for _line in r.iter_lines():
                            if self.stop.is_set():
                                break
                except http.RequestException:  # (no event for 2 s, or the stream ended)
                    pass
                self.stop.wait(0.5)

    def __enter__(self) -> Load:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(90)


def test_postgresql_stopped_and_started_under_load_answers_503_then_serves_again(
    postgres: ThrowawayPostgres, tmp_path: Path
) -> None:
    url = postgres.url
    instance = tmp_path / "instance"
    receiver = Receiver().__enter__()
    token = prepare(url, instance, receiver.url)
    server = start_server(url, instance, workers=2, threads=8)
    try:
        with Load(server.url, token) as load:
            time.sleep(2)
            down_at = time.time()
            postgres.pause()
            time.sleep(4)
            postgres.resume()
            up_at = time.time()
            time.sleep(6)
        # Every scan refused during the outage, sent again with its id (as the scan page does)
        with http.Session() as s:
            s.headers["Authorization"] = f"Bearer {token}"
            for scan_id, status in list(load.scans.items()):
                if status == 503:
                    body = {"code": "P-1", "mode": "pull", "scan_id": scan_id}
                    again = s.post(f"{server.url}/api/scans", json=body, timeout=60)
                    assert again.status_code in (200, 201)
                    load.scans[scan_id] = again.status_code
        # The outbox worker came through too: the endpoint gets every card event
        events = len(load.scans)
        deadline = time.monotonic() + 120
        while len({h.json()["id"] for h in receiver.hits}) < events and time.monotonic() < deadline:
            time.sleep(0.5)
    finally:
        stop_server(server)
        receiver.__exit__()
    log = server.log.read_text()
    statuses = {status for _what, status, _retry, _at in load.answers}
    assert statuses <= {200, 201, 503}, log[log.find("Traceback") - 300 :][:6000]
    refused = [a for a in load.answers if a[1] == 503]
    assert refused, "the outage was not felt"
    assert all(retry is not None and int(retry) > 0 for _w, _s, retry, _at in refused)
    assert {what for what, *_rest in refused} >= {"scan", "board"}
    assert {status for what, status, *_rest in load.answers if what == "stream"} >= {200}
    assert all(down_at - 1 <= at <= up_at + 10 for *_rest, at in refused)
    last_scans = [
        status for what, status, _r, at in load.answers if what == "scan" and at > up_at + 4
    ]
    assert last_scans and set(last_scans) == {201}  # working again

    assert "Traceback" not in log
    starts = log.count("database outage: the database cannot be reached")
    ends = log.count("database outage over")
    assert 1 <= starts <= 2 and ends == starts, log[-3000:]  # once per process that saw it

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "INSTANCE_PATH": str(instance)})
    with app.app_context():
        feed = set(db.session.scalars(sa.select(Event.id).where(Event.kind == "bin.changed")))
        booked = list(
            db.session.scalars(
                sa.select(Movement.scan_id).where(Movement.scan_id.in_(list(load.scans)))
            )
        )
        db.engine.dispose()
    acknowledged = {scan_id for scan_id, status in load.scans.items() if status in (200, 201)}
    assert acknowledged == set(load.scans)  # every scan was answered in the end
    assert sorted(booked) == sorted(acknowledged)  # each booked once: none lost, none twice
    delivered = {int(h.json()["id"].split("-")[0]) for h in receiver.hits}
    assert delivered == {i for i in feed if i >= min(delivered)} and len(delivered) >= events
    result = app.test_cli_runner().invoke(args=["check"])
    assert result.exit_code == 0, result.output

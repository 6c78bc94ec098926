"""An endpoint gets its card events in feed order, whatever the number of server processes
and delivery threads: a real `kanban serve --workers 4` (or servers without the worker and a
`kanban worker --threads 8` beside them), scans from several threads, and a real receiver on
loopback."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests as http
import sqlalchemy as sa
from flask import Flask

from kanban.domain.statuses import EventKind
from kanban.extensions import db
from kanban.models import Event
from kanban.webhooks import endpoints

from ..conftest import KANBAN, ROOT, start_server, stop_server
from ..webhook_receiver import Receiver

#: The order of the two webhook events one feed event makes.
RANK = {"bin.changed": 0, "card.state_changed": 1}
SCANS = 200
BINS = ("O-1", "O-2", "O-3", "O-4")


def feed_position(event_id: str) -> tuple[int, int]:
    """Where a card event's id (``<feed id>-<type>``) stands in feed order."""
    feed_id, kind = event_id.split("-", 1)
    return int(feed_id), RANK[kind]


def start_worker(db_url: str, instance: Path) -> subprocess.Popen[bytes]:
    """``kanban worker --threads 8`` beside the servers, as a site with ``--no-worker`` runs."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p),
        "KANBAN_DATABASE_URL": db_url,
        "KANBAN_INSTANCE_PATH": str(instance),
        "KANBAN_SECRET_KEY": "test-secret",
    }
    log = (instance / "worker.log").open("wb")
    return subprocess.Popen([KANBAN, "worker", "--threads", "8"], env=env, stdout=log, stderr=log)


@pytest.mark.parametrize("delivered_by", ["serve --workers 4", "kanban worker"])
def test_an_endpoint_gets_every_card_event_once_in_feed_order_from_many_processes(
    delivered_by: str,
    app: Flask,
    db_url: str,
    instance: Path,
    make_bin: Callable[..., str],
    make_token: Callable[[str], str],
) -> None:
    for code in BINS:  # 50 pulls each: two of the bins flip to replenish on the way
        make_bin(code, on_hand=60 if code in ("O-1", "O-3") else 400, card=20)
    token = make_token("operator")
    before = db.session.scalar(sa.select(sa.func.max(Event.id))) or 0  # bins were created
    with Receiver() as receiver:
        hook, receiver.secret = endpoints.add(receiver.url, None, by="admin")
        db.session.commit()
        worker = None
        if delivered_by == "kanban worker":
            server = start_server(db_url, instance, workers=2, extra_args=("--no-worker",))
            worker = start_worker(db_url, instance)
        else:
            server = start_server(db_url, instance, workers=4, threads=8)
        try:
            with http.Session() as s, ThreadPoolExecutor(6) as pool:
                s.headers["Authorization"] = f"Bearer {token}"

                def scan(n: int) -> int:
                    body = {"code": BINS[n % 4], "mode": "pull", "scan_id": uuid.uuid4().hex}
                    return s.post(f"{server.url}/api/scans", json=body, timeout=60).status_code

                answers = list(pool.map(scan, range(SCANS)))
            assert answers == [201] * SCANS
            db.session.rollback()
            feed = db.session.execute(
                sa.select(Event.id, Event.data).where(
                    Event.kind == EventKind.BIN_CHANGED, Event.id > before
                )
            ).all()
            expected = sorted(
                (row.id, rank)
                for row in feed
                for rank in ((0, 1) if (row.data or {}).get("flipped") else (0,))
            )
            assert len(feed) == SCANS and len(expected) > SCANS  # some flips among them
            deadline = time.monotonic() + 180
            while len(receiver.hits) < len(expected) and time.monotonic() < deadline:
                time.sleep(0.2)
            time.sleep(1)  # anything more (a duplicate) would arrive now
        finally:
            stop_server(server)
            if worker is not None:
                worker.send_signal(signal.SIGTERM)
                worker.wait(30)
    got = [feed_position(h.json()["id"]) for h in receiver.hits]
    inversions = [(a, b) for a, b in zip(got, got[1:], strict=False) if b <= a]
    assert inversions == [], f"{len(inversions)} out of order of {len(got)}"
    assert got == expected  # every one, once, in feed order
    assert all(h.verified for h in receiver.hits)
    assert {h.json()["data"]["code"] for h in receiver.hits} == set(BINS)
    assert hook.id

"""The outbox and its worker: each delivery claimed once however many workers race, one
leader per database, what a dead worker left taken back, and scans that never wait."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator

import pytest
from flask import Flask

from kanban.core import claiming, outbox
from kanban.core.drainer import leader_lock
from kanban.core.outbox import Outcome
from kanban.domain.statuses import WebhookEvent
from kanban.extensions import db
from kanban.models import utcnow
from kanban.ops.worker import make_drainer
from kanban.webhooks import endpoints

from ..conftest import Api
from ..outbox import deliveries, drain, read
from ..webhook_receiver import HANG, Receiver


@pytest.fixture
def receiver(app: Flask) -> Iterator[Receiver]:
    with Receiver() as r:
        hook, r.secret = endpoints.add(r.url, [WebhookEvent.BIN_CHANGED], by="admin")
        db.session.commit()
        yield r


def test_workers_racing_deliver_each_delivery_once(
    app: Flask, make_bin: Callable[..., str], api: Api, receiver: Receiver
) -> None:
    make_bin("A-1", on_hand=1000, card=5)
    for n in range(30):
        assert api.scan("A-1", scan_id=f"race-{n}").status_code == 201
    start = threading.Barrier(3)

    def work() -> None:
        with app.app_context():
            start.wait()
            make_drainer(app).drain()
            db.session.remove()

    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    ids = Counter(h.json()["id"] for h in receiver.hits)
    written = deliveries(kind="webhook")
    assert len(written) == 31  # the bin's opening stock, then the 30 scans
    assert len(ids) == 31 and set(ids.values()) == {1}
    assert {(d.status, d.attempts) for d in written} == {("delivered", 1)}


def test_one_leader_per_database(app: Flask) -> None:
    first, second = leader_lock(db.engine), leader_lock(db.engine)
    assert first.acquire()
    try:
        assert first.alive()
        assert not second.acquire()  # another process (or host) stands by
    finally:
        first.release()
    assert second.acquire()  # the leader is gone: the next one takes over
    second.release()


def test_a_delivery_a_dead_worker_left_is_taken_back_and_its_late_finish_ignored(
    app: Flask, make_bin: Callable[..., str], api: Api, receiver: Receiver
) -> None:
    make_bin("A-1", on_hand=10, card=5)  # its opening stock: one bin.changed
    assert read(app) == 1  # the worker reads it from the feed
    job = claiming.claim_next(utcnow())
    assert job is not None  # a worker claimed it, then stopped answering
    assert outbox.recover(utcnow()) == 1  # the next leader takes it back
    assert drain(app) == 1
    late = outbox.finish(job, Outcome.retry("too late"), now=utcnow(), max_attempts=8)
    assert late is None  # the claim is no longer its: nothing recorded
    [d] = deliveries(kind="webhook")
    assert d.status == "delivered"
    assert [a.error for a in d.attempt_log] == [outbox.INTERRUPTED, None]
    assert len(receiver.hits) == 1


def test_a_scan_never_waits_for_a_receiver_that_hangs(
    app: Flask, make_bin: Callable[..., str], api: Api, receiver: Receiver
) -> None:
    app.config["WEBHOOK_TIMEOUT"] = 10
    receiver.mode = HANG
    make_bin("A-1", on_hand=1000, card=5)
    drainer = make_drainer(app)
    drainer.standby = 0.2
    drainer.start()  # the worker of `kanban serve`, in this process
    try:
        slowest = 0.0
        for n in range(20):
            started = time.monotonic()
            assert api.scan("A-1", scan_id=f"hang-{n}").status_code == 201
            slowest = max(slowest, time.monotonic() - started)
            if n == 0:
                assert receiver.arrived.wait(10)  # the worker is stuck on the receiver...
        assert slowest < 3.0  # ...and no scan waited for it (it would take 10 s)
        assert len(receiver.hits) == 1  # a failing endpoint holds its other deliveries back
    finally:
        receiver._release.set()
        drainer.stop()

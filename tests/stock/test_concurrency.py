"""Many clients at once through a real server process: nothing lost, nothing doubled."""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Callable

import pytest
import requests as http
import sqlalchemy as sa

from kanban.extensions import db
from kanban.models import Bin, Movement, RequestLine

from ..conftest import LiveServer

THREADS = 8
PULLS_EACH = 200


@pytest.mark.slow
def test_concurrent_pulls_are_exact(
    live_server: LiveServer, make_bin: Callable[..., str], make_token: Callable[[str], str]
) -> None:
    codes = [
        make_bin(f"C-{i}", on_hand=1000, card=900, order=50, supplier="Acme") for i in range(3)
    ]
    token = make_token("operator")
    done: Counter[str] = Counter()
    failures: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(THREADS)

    def worker(n: int) -> None:
        session = http.Session()
        session.headers["Authorization"] = f"Bearer {token}"
        start.wait()
        for i in range(PULLS_EACH):
            code = codes[(n + i) % len(codes)]
            try:
                resp = session.post(
                    f"{live_server.url}/api/scans",
                    timeout=30,
                    json={"code": code, "scan_id": f"t{n}-{i}"},
                )
            except http.RequestException as exc:
                with lock:
                    failures.append(repr(exc))
                continue
            with lock:
                if resp.status_code == 201:
                    done[code] += 1
                else:
                    failures.append(f"{resp.status_code} {resp.text[:200]}")

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert failures == []
    assert sum(done.values()) == THREADS * PULLS_EACH
    db.session.rollback()
    for code in codes:
        b = db.session.scalar(sa.select(Bin).where(Bin.code == code))
        assert b.on_hand == 1000 - done[code]
        ledger_sum = db.session.scalar(
            sa.select(sa.func.sum(Movement.quantity)).where(Movement.bin_id == b.id)
        )
        assert ledger_sum == b.on_hand
        assert b.state == "replenish"
        lines = db.session.scalar(
            sa.select(sa.func.count(RequestLine.id)).where(RequestLine.bin_id == b.id)
        )
        assert lines == 1
    flips = db.session.scalar(
        sa.select(sa.func.count(Movement.id)).where(Movement.flipped.is_(True))
    )
    assert flips == len(codes)


@pytest.mark.slow
def test_same_scan_id_fifty_times_at_once_is_applied_once(
    live_server: LiveServer, make_bin: Callable[..., str], make_token: Callable[[str], str]
) -> None:
    code = make_bin("D-1", on_hand=10, card=5)
    token = make_token("operator")
    scan_id = uuid.uuid4().hex
    answers: list[tuple[int, bool, int]] = []
    lock = threading.Lock()
    start = threading.Barrier(50)

    def worker() -> None:
        start.wait()
        resp = http.post(
            f"{live_server.url}/api/scans",
            timeout=30,
            headers={"Authorization": f"Bearer {token}"},
            json={"code": code, "quantity": 6, "scan_id": scan_id},
        )
        body = resp.json()
        with lock:
            answers.append((resp.status_code, body["replayed"], body["bin"]["on_hand"]))

    threads = [threading.Thread(target=worker) for _ in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert len(answers) == 50
    assert sorted(a[0] for a in answers) == [200] * 49 + [201]
    assert [a[1] for a in answers].count(False) == 1
    assert {a[2] for a in answers} == {4}
    db.session.rollback()
    assert db.session.scalar(sa.select(Bin.on_hand).where(Bin.code == code)) == 4
    assert (
        db.session.scalar(sa.select(sa.func.count(Movement.id)).where(Movement.scan_id == scan_id))
        == 1
    )
    assert db.session.scalar(sa.select(sa.func.count(RequestLine.id))) == 1

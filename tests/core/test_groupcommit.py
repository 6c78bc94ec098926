"""Group commit on SQLite: scans of one process that wait for the write lock are written
together with one COMMIT; each gets its own answer, a write that fails is rolled back
alone, and a thread already writing never waits for the group.

The group is made to form as it does under load: the test holds the write lock (a
writing transaction on another thread), scans queue up behind it, and the lock is let go.
"""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from kanban.core import groupcommit
from kanban.core.actor import Actor
from kanban.core.tx import begin_write
from kanban.extensions import db
from kanban.models import Bin, Movement
from kanban.stock.scanning import MoveResult, record_scan

WHO = Actor(name="ana", station="Station 1", source="usb")
WAIT = 10.0


@pytest.fixture
def db_url(tmp_path: Path, sqlite_template: Path) -> str:
    """Group commit is SQLite's (PostgreSQL writers commit side by side): SQLite only."""
    path = tmp_path / "kanban.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def commits(app: Flask) -> Iterator[list[int]]:
    """The COMMITs the database was sent (one item each), counted while the test runs."""
    seen: list[int] = []

    def count(_conn: Any) -> None:
        seen.append(1)

    sa.event.listen(db.engine, "commit", count)
    yield seen
    sa.event.remove(db.engine, "commit", count)


class Lock:
    """The write lock, held by a writing transaction on a thread of its own."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.taken = threading.Event()
        self.free = threading.Event()
        self.thread = threading.Thread(target=self._hold, daemon=True)

    def _hold(self) -> None:
        with self.app.app_context():
            begin_write()
            self.taken.set()
            self.free.wait(WAIT * 3)
            db.session.rollback()

    def __enter__(self) -> Lock:
        self.thread.start()
        assert self.taken.wait(WAIT)
        return self

    def __exit__(self, *_: object) -> None:
        self.free.set()
        self.thread.join(WAIT)


def queued(n: int) -> None:
    """Wait until ``n`` writes wait in this process's group (behind the one writing)."""
    group = groupcommit.group_of(db.engine)
    assert group is not None
    deadline = time.monotonic() + WAIT
    while len(group._waiting) < n:  # noqa: SLF001 (the queue under test)
        assert time.monotonic() < deadline, f"{len(group._waiting)} of {n} queued"  # noqa: SLF001
        time.sleep(0.01)


def on_threads(app: Flask, jobs: list[Callable[[], Any]]) -> list[Any]:
    """Run each job on a thread of its own (in an app context); their results or errors,
    in order."""
    out: list[Any] = [None] * len(jobs)

    def run(i: int) -> None:
        with app.app_context():
            try:
                out[i] = jobs[i]()
            except Exception as exc:  # the test looks at it
                out[i] = exc

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(len(jobs))]
    for t in threads:
        t.start()
        time.sleep(0.05)  # in this order: the first writes alone, the others queue
    for t in threads:
        t.join(WAIT * 3)
    return out


def test_scans_that_wait_for_the_lock_are_written_with_one_commit(
    app: Flask, make_bin: Callable[..., str], commits: list[int]
) -> None:
    codes = [make_bin(f"G-{n}", on_hand=100, card=5) for n in range(6)]

    def scan(code: str, n: int) -> Callable[[], MoveResult]:
        return lambda: record_scan(code, "pull", n + 1, WHO, f"group-{n}")

    with Lock(app):
        commits.clear()
        jobs = [scan(code, n) for n, code in enumerate(codes)]
        results: list[Any] = []
        worker = threading.Thread(target=lambda: results.extend(on_threads(app, jobs)))
        worker.start()
        with app.app_context():
            queued(len(codes) - 1)  # the first waits for the lock itself, alone
    worker.join(WAIT * 3)

    assert all(isinstance(r, MoveResult) for r in results), results
    assert [r.bin["code"] for r in results] == codes  # each thread its own answer
    assert [r.quantity for r in results] == [1, 2, 3, 4, 5, 6]
    assert len({r.movement_id for r in results}) == len(codes)
    assert len(commits) == 2  # the first alone, then the five that waited: one COMMIT
    db.session.rollback()
    for n, code in enumerate(codes):
        assert db.session.scalar(sa.select(Bin.on_hand).where(Bin.code == code)) == 100 - n - 1


def test_a_write_that_fails_is_rolled_back_alone(
    app: Flask, make_bin: Callable[..., str], commits: list[int]
) -> None:
    code = make_bin("G-1", on_hand=100, card=5)
    other = make_bin("G-2", on_hand=100, card=5)

    def pull(code: str, sid: str) -> Callable[[], MoveResult]:
        return lambda: record_scan(code, "pull", 1, WHO, sid)

    def failing() -> None:
        def write() -> None:
            db.session.execute(sa.update(Bin).where(Bin.code == other).values(on_hand=0))
            raise ValueError("refused after writing")

        groupcommit.run(write)

    with Lock(app):
        commits.clear()
        results: list[Any] = []
        jobs = [pull(code, "a"), pull(code, "b"), failing, pull(other, "c"), pull(code, "b")]
        worker = threading.Thread(target=lambda: results.extend(on_threads(app, jobs)))
        worker.start()
        with app.app_context():
            queued(len(jobs) - 1)
    worker.join(WAIT * 3)

    assert len(commits) == 2  # the first alone, then the group of four
    assert isinstance(results[2], ValueError)  # its thread gets its error...
    db.session.rollback()
    # ...and its UPDATE is gone, while the writes before and after it in the group stay
    assert db.session.scalar(sa.select(Bin.on_hand).where(Bin.code == other)) == 99
    assert db.session.scalar(sa.select(Bin.on_hand).where(Bin.code == code)) == 98
    # the same scan id twice in one group: written once, the second answer is a replay
    assert results[1].replayed is False and results[4].replayed is True
    assert results[4].movement_id == results[1].movement_id
    moved = db.session.scalar(sa.select(sa.func.count()).where(Movement.scan_id == "b"))
    assert moved == 1


def test_a_thread_already_writing_does_not_wait_for_the_group(
    app: Flask, make_bin: Callable[..., str]
) -> None:
    """A receipt from the request page takes the write lock before it records its scan:
    it must write in its own transaction, not wait behind a group that waits for it."""
    code = make_bin("G-1", on_hand=100, card=5)
    begin_write()  # this thread holds the lock
    waiting: list[Any] = []
    other = threading.Thread(
        target=lambda: waiting.extend(
            on_threads(app, [lambda: record_scan(code, "pull", 1, WHO, "other")])
        )
    )
    other.start()
    queued(0)
    time.sleep(0.2)  # the other thread now waits for the lock this one holds
    mine = record_scan(code, "pull", 2, WHO, "mine")  # would hang if it joined the group
    other.join(WAIT * 3)
    assert mine.quantity == 2 and mine.replayed is False
    assert isinstance(waiting[0], MoveResult)
    db.session.rollback()
    assert db.session.scalar(sa.select(Bin.on_hand).where(Bin.code == code)) == 97

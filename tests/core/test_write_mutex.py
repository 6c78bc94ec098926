"""SQLite's write mutex: one writer at a time across threads and processes, also in the
worker processes that gunicorn forks from a parent that wrote before (``kanban demo``)."""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

from kanban.core.tx import WriteMutex, _mutex_for, begin_write
from kanban.extensions import db


def test_a_forked_child_and_its_parent_exclude_each_other(tmp_path: Path) -> None:
    mutex = WriteMutex(tmp_path / "kanban.db.writelock")
    mutex.acquire()  # the parent wrote before forking (its lock file is open)
    mutex.release()
    held_r, held_w = os.pipe()
    go_r, go_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: a gunicorn worker
        try:
            mutex.acquire()
            os.write(held_w, b"x")
            os.read(go_r, 1)
            mutex.release()
        finally:
            os._exit(0)
    try:
        assert os.read(held_r, 1) == b"x"  # the child holds it now
        got = threading.Event()

        def parent_writer() -> None:
            mutex.acquire()
            got.set()
            mutex.release()

        thread = threading.Thread(target=parent_writer)
        thread.start()
        assert not got.wait(0.5)  # the parent waits for the child...
        os.write(go_w, b"x")
        assert got.wait(10)  # ...and goes on once the child has let go
        thread.join(10)
    finally:
        os.write(go_w, b"x")
        os.waitpid(pid, 0)


@pytest.fixture
def db_url(tmp_path: Path, sqlite_template: Path) -> str:
    """The tests below are about SQLite's write mutex: a fresh SQLite database."""
    path = tmp_path / "kanban.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


def other_writer_gets_in(timeout: float) -> bool:
    """Whether a writer on another thread takes the write mutex within ``timeout`` s."""
    mutex = _mutex_for(db.engine)
    assert mutex is not None
    got = threading.Event()

    def writer() -> None:
        mutex.acquire()
        got.set()
        mutex.release()

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    return got.wait(timeout)


def test_a_savepoint_keeps_the_write_and_the_commit_ends_it(app: Flask) -> None:
    """The next writer goes on as soon as the COMMIT is done, never after a savepoint's
    release only (SQLAlchemy announces both as a commit): that writer would then wait
    in SQLite's busy handler, or worse, write while this transaction still may."""
    begin_write()
    with db.session.begin_nested():
        db.session.execute(sa.text("UPDATE bins SET version = version + 1"))
    mutex = _mutex_for(db.engine)
    assert mutex is not None and mutex.held()
    waiting = threading.Event()
    got = threading.Event()

    def writer() -> None:
        waiting.set()
        mutex.acquire()
        got.set()
        mutex.release()

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    assert waiting.wait(10)
    assert not got.wait(0.3)  # the savepoint's release let nobody in
    db.session.commit()
    assert got.wait(10)  # the commit did
    thread.join(10)
    assert not mutex.held()


def test_a_rollback_ends_the_write(app: Flask) -> None:
    begin_write()
    db.session.rollback()
    assert other_writer_gets_in(10)

"""The change feed's head on PostgreSQL: writers of events commit side by side, and a
reader never skips an event that commits after a later one (boards and webhooks read
"events after N" and would lose it for good)."""

from __future__ import annotations

import threading
import time

import pytest
from flask import Flask

from kanban.core import feed
from kanban.core.tx import begin_write
from kanban.domain.statuses import EventKind
from kanban.extensions import db


def _append(code: str) -> int:
    begin_write()
    return feed.append(EventKind.BIN_CHANGED, bin_code=code, data={"code": code})


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_reader_waits_for_an_earlier_event_still_being_written(app: Flask) -> None:
    first_written, release = threading.Event(), threading.Event()
    first: list[int] = []

    def slow_writer() -> None:
        with app.app_context():
            first.append(_append("A-1"))
            first_written.set()
            release.wait(20)
            db.session.commit()
            db.session.remove()

    writer = threading.Thread(target=slow_writer)
    writer.start()
    assert first_written.wait(10)
    started = time.monotonic()
    second = _append("B-1")  # a later id, committed first: it does not wait for the other
    db.session.commit()
    assert second > first[0] and time.monotonic() - started < 2
    feed.forget_head()

    seen: list[list[int]] = []

    def reader() -> None:
        with app.app_context():
            seen.append([e.id for e in feed.events_after(first[0] - 1)])
            db.session.remove()

    board = threading.Thread(target=reader)
    board.start()
    board.join(0.3)
    assert board.is_alive() and seen == []  # it does not see the later event alone...
    release.set()
    writer.join(20)
    board.join(20)
    assert seen == [[first[0], second]]  # ...but both, in order, once the first commits
    assert feed.last_event_id() == second

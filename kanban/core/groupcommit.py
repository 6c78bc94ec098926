"""Group commit on SQLite: the writes that the threads of one process have waiting are
made in one transaction, with one COMMIT.

SQLite has one writer at a time, and each writing transaction ends with a COMMIT that
waits for the disk (``synchronous=FULL``). Under load, every scan then waits in line
for the write lock while each writer ahead of it takes it, writes a few rows, waits for
the disk and hands the lock on. With :func:`run`, a thread that wants to write puts its
write (a function) in its process's queue. If no thread of the process is writing, it
writes: it takes the write lock once for the whole queue, runs each write in a
savepoint of its own (a write that fails is rolled back alone, and its thread gets its
error), and commits once. Otherwise it waits, and the writer of the moment carries its
write out in the next group. Every thread gets its answer only after the COMMIT that
made its write durable, as it would on its own.

With one write waiting, it runs as before: no savepoint, one transaction. On PostgreSQL,
which has row locks and commits side by side, for a database without a write mutex
(``:memory:``), and for a thread already in a writing transaction, :func:`run` calls the
function and commits, nothing else.

A write runs on the writing thread's session, in its application context (what it needs
must be in its closure, not in the request). After-commit hooks
(:func:`kanban.core.tx.after_commit`) run after the group's COMMIT, in that thread.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Callable
from typing import Any, Generic, TypeVar

import sqlalchemy as sa

from ..extensions import db
from .tx import begin_write, write_mutex_of, writing

T = TypeVar("T")


class _Write(Generic[T]):
    """One thread's write: its function, then its outcome."""

    __slots__ = ("done", "error", "fn", "value")

    def __init__(self, fn: Callable[[], T]) -> None:
        self.fn = fn
        self.value: T | None = None
        self.error: BaseException | None = None
        self.done = False

    def outcome(self) -> T:
        if self.error is not None:
            raise self.error
        return self.value  # type: ignore[return-value]


class GroupCommit:
    """The queue of one process's writes to one SQLite file (see the module docstring)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._waiting: list[_Write[Any]] = []
        self._writing = False

    def run(self, fn: Callable[[], T]) -> T:
        """Make the write ``fn`` and commit it, alone or with others; returns what ``fn``
        returned, or raises what it raised (nothing of it was written then)."""
        mine = _Write(fn)
        with self._cond:
            self._waiting.append(mine)
            while self._writing and not mine.done:
                self._cond.wait()
            if mine.done:  # another thread wrote it
                return mine.outcome()
            self._writing = True
            group, self._waiting = self._waiting, []
        try:
            _write(group)
        finally:
            with self._cond:
                self._writing = False
                for write in group:
                    write.done = True
                self._cond.notify_all()
        return mine.outcome()


def _write(group: list[_Write[Any]]) -> None:
    """Carry out ``group`` in one transaction on this thread's session; each write gets
    its value or its error."""
    session = db.session()
    try:
        begin_write()
        if len(group) == 1:
            only = group[0]
            try:
                only.value = only.fn()
            except BaseException as exc:
                only.error = exc
                raise
        else:
            for write in group:
                try:
                    with session.begin_nested():
                        # The SAVEPOINT now: SQLAlchemy emits it on the first use of the
                        # session's connection, which Core statements on it do not make.
                        session.connection()
                        write.value = write.fn()
                except Exception as exc:  # rolled back to its savepoint, alone
                    write.error = exc
                    write.value = None
        session.commit()
    except BaseException as exc:
        session.rollback()
        for write in group:
            if write.error is None:  # nothing of the group was written
                write.error, write.value = exc, None


_groups: weakref.WeakKeyDictionary[sa.Engine, tuple[int, GroupCommit]] = weakref.WeakKeyDictionary()
_groups_lock = threading.Lock()


def group_of(engine: sa.Engine) -> GroupCommit | None:
    """This process's queue of writes to ``engine``'s SQLite file; None when the engine
    has no write mutex (PostgreSQL, ``:memory:``). A process forked from another gets a
    queue of its own."""
    if write_mutex_of(engine) is None:
        return None
    pid = os.getpid()
    with _groups_lock:
        found = _groups.get(engine)
        if found is None or found[0] != pid:
            found = _groups[engine] = (pid, GroupCommit())
        return found[1]


def run(fn: Callable[[], T]) -> T:
    """Make the write ``fn`` and commit it (see the module docstring); returns what
    ``fn`` returned. ``fn`` must not commit, and must be safe to run on another thread of
    this process, with that thread's session."""
    group = group_of(db.engine)
    if group is None or writing():
        # Already writing (a caller that took the write lock first): this thread must
        # not wait for another that waits for that lock.
        try:
            value = fn()
            db.session.commit()
        except BaseException:
            db.session.rollback()
            raise
        return value
    return group.run(fn)

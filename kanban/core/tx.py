"""Transaction helpers that differ between SQLite and PostgreSQL.

SQLite serialises writers; a transaction that first reads and then writes can
fail with "database is locked" without waiting (WAL snapshot upgrade). So every
writing operation starts with :func:`begin_write`, which opens a
``BEGIN IMMEDIATE`` transaction that takes the write lock up front.

Writers that find the lock taken would wait in SQLite's busy handler, which
polls with sleeps of up to 100 ms: under load that makes a convoy with long
tail latencies. So on SQLite, writers first queue on a *write mutex* (a thread
lock inside the process plus an ``flock`` on a file beside the database across
processes), which hands over the moment the previous writer commits.

PostgreSQL uses row locks instead and needs none of this.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, SessionTransaction

from ..extensions import db

WRITE_OPTION = "kanban_write"
#: Keys in ``Session.info``: the transaction's connection (see :func:`conn`) and
#: whether the transaction is a writing one (see :func:`begin_write`).
_CONN = "kanban_conn"
_WRITING = "kanban_writing"
#: Key of the PostgreSQL advisory lock that makes the feed's head safe to read (writers of
#: events hold it shared until they commit; a reader takes it exclusively for an instant).
EVENT_LOCK_KEY = 0x6B616E62
#: Key of the PostgreSQL advisory lock that serialises changes to suppliers, zones and items
#: by name (two imports creating the same supplier at once).
MASTERDATA_LOCK_KEY = 0x6B616E63
#: Key of the PostgreSQL advisory lock that makes a login attempt's limit check and its
#: record one step (60 parallel attempts must not all pass a limit of 10).
LOGIN_LOCK_KEY = 0x6B616E64
#: Key of the PostgreSQL advisory lock (session-level) that the outbox worker's leader
#: holds (:mod:`kanban.core.drainer`). Every key is defined here, so that no two meet.
LEADER_LOCK_KEY = 0x6B616E65


class WriteMutex:
    """One writer at a time across threads and processes, for one SQLite file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._thread_lock = threading.Lock()
        self._fd: int | None = None
        self._pid = os.getpid()
        self._owner = threading.local()

    def held(self) -> bool:
        """True if the current thread holds the mutex."""
        return bool(getattr(self._owner, "held", False))

    def acquire(self) -> None:
        """Block until this thread is the only writer."""
        if self.held():
            return
        self._thread_lock.acquire()
        try:
            if self._fd is None or self._pid != os.getpid():
                # A process forked after the parent wrote (gunicorn's workers after a demo
                # seed, say) must not share the parent's open file: flock locks belong to
                # it, so parent and children would all hold the lock at once.
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
                self._pid = os.getpid()
            fcntl.flock(self._fd, fcntl.LOCK_EX)
        except BaseException:
            self._thread_lock.release()
            raise
        self._owner.held = True

    def release(self) -> None:
        """Let the next writer in (no-op if this thread does not hold it)."""
        if not self.held():
            return
        self._owner.held = False
        assert self._fd is not None
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        self._thread_lock.release()


_mutexes: dict[str, WriteMutex] = {}
_mutexes_lock = threading.Lock()


# Keyed by the engine itself, weakly: an id() could be reused by a later engine (a
# PostgreSQL one, say) once the first is gone, which then got the SQLite mutex.
_mutex_of_engine: weakref.WeakKeyDictionary[sa.Engine, WriteMutex | None] = (
    weakref.WeakKeyDictionary()
)


def _mutex_for(engine: sa.Engine) -> WriteMutex | None:
    """The write mutex of an SQLite engine's file (None for other databases)."""
    try:
        return _mutex_of_engine[engine]  # the hot path: no path resolution
    except KeyError:
        pass
    database = engine.url.database
    mutex = None
    if engine.dialect.name == "sqlite" and database and database != ":memory:":
        path = str(Path(database).resolve()) + ".writelock"
        with _mutexes_lock:
            mutex = _mutexes.setdefault(path, WriteMutex(Path(path)))
    _mutex_of_engine[engine] = mutex
    return mutex


def write_mutex_of(engine: sa.Engine) -> WriteMutex | None:
    """The write mutex of an SQLite engine's file; None for other databases and
    ``:memory:``."""
    return _mutex_for(engine)


def create_private_file(database: str | None) -> None:
    """Create an SQLite database file readable by its owner only, before SQLite creates it
    with the umask's mode (its -wal and -shm files then take the same mode)."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    if path.parent.is_dir():
        with contextlib.suppress(FileExistsError):
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def install_sqlite_hooks(engine: sa.Engine) -> None:
    """Per-connection pragmas and explicit BEGIN for SQLite engines; a new database file
    is created readable by its owner only."""
    create_private_file(engine.url.database)

    @sa.event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        # Take transaction control away from the driver so BEGIN is ours.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=FULL")
        cur.close()

    @sa.event.listens_for(engine, "begin")
    def _begin(conn: sa.Connection) -> None:
        immediate = conn.get_execution_options().get(WRITE_OPTION)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


#: Key in ``Session.info``: callables to run once the transaction commits.
_AFTER_COMMIT = "kanban_after_commit"


def after_commit(fn: Callable[[], None]) -> None:
    """Run ``fn`` once the current transaction has committed; never if it rolls back.

    For work that must not happen before the change is durable, and must not
    hold the transaction open (starting a background send, say).
    """
    hooks = db.session().info.setdefault(_AFTER_COMMIT, [])
    if fn not in hooks:  # the same function registered twice runs once
        hooks.append(fn)


@sa.event.listens_for(Session, "after_commit")
def _run_after_commit(session: Session) -> None:
    # The database let go of its write lock with the COMMIT: the next writer may go on
    # now, not once the session has also returned its connection to the pool (which
    # resets it with a ROLLBACK, a call into SQLite, and more Python). Not after a
    # savepoint's release, which SQLAlchemy announces the same way: the write goes on.
    if not session.in_nested_transaction():
        _release_mutex(session)
    for fn in session.info.pop(_AFTER_COMMIT, ()):
        fn()


@sa.event.listens_for(Session, "after_rollback")
def _drop_after_commit(session: Session) -> None:
    # A savepoint rolled back (one write of a group, kanban.core.groupcommit) leaves the
    # hooks of the writes before it; a hook of its own then runs for nothing (they poke).
    if not session.in_nested_transaction():
        session.info.pop(_AFTER_COMMIT, None)


@sa.event.listens_for(Session, "after_transaction_end")
def _release_write_mutex(session: Session, transaction: SessionTransaction) -> None:
    # Commit, rollback or close of the outermost transaction ends the write.
    if transaction.parent is None:
        session.info.pop(_CONN, None)
        session.info.pop(_WRITING, None)
        _release_mutex(session)


def _release_mutex(session: Session) -> None:
    mutex = session.info.pop("kanban_write_mutex", None)
    if mutex is not None:
        mutex.release()


def conn() -> sa.Connection:
    """The session's connection, for prebuilt Core statements on hot paths.

    Executing on the connection skips the ORM's statement handling, which
    costs about three times the statement itself (see bench/scan_throughput.py).
    It is the same connection and transaction as the session's.
    """
    session = db.session()
    found: sa.Connection | None = session.info.get(_CONN)
    if found is None:
        found = session.info[_CONN] = session.connection()
    return found


def is_sqlite() -> bool:
    """True when the app runs on SQLite."""
    return db.engine.dialect.name == "sqlite"


def writing() -> bool:
    """True while this thread's session is in a writing transaction (:func:`begin_write`)."""
    return bool(db.session().info.get(_WRITING))


def writing_session(session: Session) -> bool:
    """True while ``session`` is in a writing transaction (also in its after_commit)."""
    return bool(session.info.get(_WRITING))


def begin_write() -> None:
    """Start a writing transaction (see module docstring).

    Anything already read in this session (the logged-in user, say) is
    committed away first: it holds no changes, only a read snapshot. On
    SQLite a read transaction is upgraded in place (COMMIT, then BEGIN
    IMMEDIATE on the same connection, under the write mutex), which costs two
    statements instead of an ORM commit and a fresh connection.
    """
    session = db.session()
    if session.info.get(_WRITING):
        return
    mutex = _mutex_for(db.engine)
    if session.in_transaction():
        if session.new or session.dirty or session.deleted:
            # Pending changes must not be lost: write them in this transaction.
            return
        if mutex is None:
            session.commit()
        else:
            mutex.acquire()
            session.info["kanban_write_mutex"] = mutex
            try:
                cursor = session.connection().connection.driver_connection.cursor()  # type: ignore[union-attr]
                cursor.execute("COMMIT")
                cursor.execute("BEGIN IMMEDIATE")
                cursor.close()
            except BaseException:
                session.info.pop("kanban_write_mutex", None)
                mutex.release()
                raise
            session.info[_WRITING] = True
            return
    if mutex is not None:
        mutex.acquire()
        session.info["kanban_write_mutex"] = mutex
    try:
        session.connection(execution_options={WRITE_OPTION: True})
    except BaseException:
        session.info.pop("kanban_write_mutex", None)
        if mutex is not None:
            mutex.release()
        raise
    session.info[_WRITING] = True


def lock_event_order() -> None:
    """On PostgreSQL, announce a writer of events (held until commit): a *shared* lock,
    so writers do not wait for each other and their commits overlap; a reader of the
    feed takes it exclusively for an instant (:func:`kanban.core.feed.last_event_id`) to
    learn the newest id below which no event can still appear."""
    if not is_sqlite():
        db.session.execute(sa.select(sa.func.pg_advisory_xact_lock_shared(EVENT_LOCK_KEY)))


def lock_masterdata() -> None:
    """On PostgreSQL, one writer at a time of suppliers, zones, items and bins by name
    (held until commit). Call it right after :func:`begin_write`, before reading what
    exists: two imports that both create supplier "Acme" would otherwise both insert it
    and one would fail on the unique name. SQLite's write lock does this already."""
    if not is_sqlite():
        db.session.execute(sa.select(sa.func.pg_advisory_xact_lock(MASTERDATA_LOCK_KEY)))


def lock_logins() -> None:
    """On PostgreSQL, one login attempt at a time between its limit check and its record
    (held until commit; the password is checked after the commit, outside the lock). Call it
    right after :func:`begin_write`; SQLite's write lock does this already."""
    if not is_sqlite():
        db.session.execute(sa.select(sa.func.pg_advisory_xact_lock(LOGIN_LOCK_KEY)))

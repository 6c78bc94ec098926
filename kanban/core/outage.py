"""When the database cannot serve: unreachable, full, read-only, or locked for too long.

:func:`unavailable` tells such an error from a bug. The web answers it with 503 and
``Retry-After`` (:mod:`kanban.web.errors`), the outbox worker and the live stream wait and
try again; none of them logs a traceback for it. Instead each process logs one line when
an outage starts and one when it ends, with how many requests it refused meanwhile:

- it starts at the first error of the kind (:func:`refused`, :func:`noticed`);
- it ends when a write commits again, or, when the database could not be reached at all,
  as soon as a new connection to it is made (:func:`install` listens for both).

A real bug (an ``IntegrityError``, a ``ProgrammingError``, a deadlock) is none of these:
it stays a 500 with its traceback.
"""

from __future__ import annotations

import errno
import logging
import sqlite3
import threading
import time
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from .tx import writing_session

log = logging.getLogger("kanban.outage")

#: Seconds a client is told to wait before it tries again (``Retry-After``).
RETRY_AFTER = 5

#: The kinds of outage, as the log says them.
UNREACHABLE, FULL, READ_ONLY, BUSY = (
    "cannot be reached",
    "is full",
    "is read-only",
    "is busy (locked for too long)",
)

# SQLite's primary result codes (sqlite3.h); an extended code carries one in its low byte.
_SQLITE = {
    5: BUSY,  # SQLITE_BUSY: "database is locked" after the busy timeout
    6: BUSY,  # SQLITE_LOCKED
    8: READ_ONLY,  # SQLITE_READONLY: "attempt to write a readonly database"
    10: UNREACHABLE,  # SQLITE_IOERR: "disk I/O error"
    13: FULL,  # SQLITE_FULL: "database or disk is full"
    14: UNREACHABLE,  # SQLITE_CANTOPEN: "unable to open database file"
}
_SQLITE_TEXT = (
    ("database or disk is full", FULL),
    ("readonly database", READ_ONLY),
    ("unable to open database file", UNREACHABLE),
    ("disk i/o error", UNREACHABLE),
    ("database is locked", BUSY),
    ("database table is locked", BUSY),
)


def _postgresql(sqlstate: str) -> str | None:
    """The outage a PostgreSQL error code stands for (SQLSTATE classes)."""
    if sqlstate.startswith("08") or sqlstate.startswith("57P"):
        return UNREACHABLE  # connection exceptions; shut down, restarting, not accepting
    if sqlstate == "53100":
        return FULL  # disk_full
    if sqlstate.startswith("53"):
        return BUSY  # out of memory, too many connections
    if sqlstate == "25006":
        return READ_ONLY  # read_only_sql_transaction (a standby, or set read-only)
    return None


#: Errors of the files beside the database (SQLite's write lock, say).
_ERRNO = {
    errno.ENOSPC: FULL,
    errno.EDQUOT: FULL,
    errno.EROFS: READ_ONLY,
    errno.EACCES: READ_ONLY,
    errno.EPERM: READ_ONLY,
    errno.EIO: UNREACHABLE,
}


def _kind_of_driver_error(err: BaseException) -> str | None:
    if isinstance(err, OSError):
        return _ERRNO.get(err.errno or 0)
    if isinstance(err, sqlite3.Error):
        code = getattr(err, "sqlite_errorcode", None)
        if code is not None and (code & 0xFF) in _SQLITE:
            return _SQLITE[code & 0xFF]
        text = str(err).lower()
        return next((kind for words, kind in _SQLITE_TEXT if words in text), None)
    sqlstate = getattr(err, "sqlstate", None) or getattr(err, "pgcode", None)
    if sqlstate:
        return _postgresql(str(sqlstate))
    return None


def unavailable(exc: BaseException) -> str | None:
    """The kind of outage ``exc`` shows (one of the kinds above), or None for any other
    error, a bug included."""
    seen: set[int] = set()
    err: BaseException | None = exc
    while err is not None and id(err) not in seen:  # the error and what caused it
        seen.add(id(err))
        if isinstance(err, sa.exc.DBAPIError):
            if err.connection_invalidated:
                return UNREACHABLE
            kind = _kind_of_driver_error(err.orig) if err.orig is not None else None
            if kind is not None:
                return kind
            if isinstance(err, sa.exc.InterfaceError):
                return UNREACHABLE  # the driver lost its connection
            if isinstance(err, sa.exc.OperationalError) and not _has_sqlstate(err.orig):
                return UNREACHABLE  # a connection that failed before the server answered
        elif isinstance(err, sa.exc.TimeoutError):
            return BUSY  # every pooled connection taken for the pool's whole timeout
        else:
            kind = _kind_of_driver_error(err)
            if kind is not None:
                return kind
        err = err.__cause__ or err.__context__
    return None


def _has_sqlstate(err: BaseException | None) -> bool:
    """Whether the server answered with an error code (PostgreSQL's own errors have one; a
    connection refused has none). SQLite's errors count as answered."""
    return isinstance(err, sqlite3.Error) or bool(getattr(err, "sqlstate", None))


@dataclass
class _State:
    kind: str = ""
    since: float = 0.0
    refused: int = 0


_state = _State()
_lock = threading.Lock()


def down() -> str:
    """The kind of the outage this process sees now, or ``""``."""
    return _state.kind


def noticed(kind: str, where: str = "a request") -> None:
    """Record that ``where`` met an outage of ``kind``; logs its start once."""
    with _lock:
        if _state.kind:
            return
        _state.kind, _state.since, _state.refused = kind, time.monotonic(), 0
    log.error(
        "database outage: the database %s (first met by %s); answering 503 until it is back",
        kind,
        where,
    )


def refused(kind: str, where: str = "a request") -> None:
    """Record a request answered 503 because of an outage of ``kind``."""
    noticed(kind, where)
    with _lock:
        _state.refused += 1


def ended() -> None:
    """The database serves again: log the end of the outage, if there was one."""
    if not _state.kind:  # the usual case: a plain read, no lock
        return
    with _lock:
        kind, since, count = _state.kind, _state.since, _state.refused
        if not kind:
            return
        _state.kind = ""
    log.warning(
        "database outage over after %.1f s (the database %s); requests refused with 503 "
        "meanwhile: %d",
        time.monotonic() - since,
        kind,
        count,
    )


def install(engine: sa.Engine) -> None:
    """End an outage when a write commits, or when a new connection is made after the
    database could not be reached (the pool checks each connection before use, so a
    connection broken by a restart is replaced, not used)."""

    @sa.event.listens_for(engine, "handle_error")
    def _stale(ctx: sa.engine.ExceptionContext) -> None:
        if _stale_sqlite(ctx.original_exception):
            ctx.is_disconnect = True  # every pooled connection is dropped (see below)

    @sa.event.listens_for(engine, "connect")
    def _connected(_dbapi_conn: object, _record: object) -> None:
        if _state.kind == UNREACHABLE:
            ended()

    if not _installed:
        sa.event.listen(Session, "after_commit", _after_commit)
        _installed.append(True)


_installed: list[bool] = []


def _stale_sqlite(exc: BaseException) -> bool:
    """Whether ``exc`` leaves SQLite connections that cannot write even once the disk can:
    SQLite opens a file it cannot write read-only, and the connection stays so."""
    return isinstance(exc, sqlite3.Error) and unavailable(exc) in (READ_ONLY, UNREACHABLE)


def drop_stale(engine: sa.Engine, exc: BaseException) -> None:
    """After an SQLite file could not be written or opened, open new connections: one opened
    meanwhile is read-only for good (SQLAlchemy's errors are covered by :func:`install`;
    this is for SQLite's own and those of the files beside the database)."""
    if engine.dialect.name == "sqlite" and unavailable(exc) in (READ_ONLY, UNREACHABLE):
        engine.dispose()


def _after_commit(session: Session) -> None:
    if _state.kind and writing_session(session):
        ended()


def log_failure(logger: logging.Logger, exc: BaseException, message: str, *args: object) -> None:
    """For a background thread that failed and will try again: log ``message`` with the
    traceback, unless the database cannot serve, which the outage's start line says once."""
    kind = unavailable(exc)
    if kind is None:
        logger.error(message, *args, exc_info=exc)
    else:
        noticed(kind, "the outbox worker")

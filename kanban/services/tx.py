"""Transaction helpers that differ between SQLite and PostgreSQL.

SQLite serialises writers; a transaction that first reads and then writes can
fail with "database is locked" without waiting (WAL snapshot upgrade). So every
writing operation starts with :func:`begin_write`, which opens a
``BEGIN IMMEDIATE`` transaction that takes the write lock up front and waits
for it under the busy timeout. PostgreSQL uses row locks instead.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from ..extensions import db

WRITE_OPTION = "kanban_write"
#: Key of the PostgreSQL advisory lock that orders event ids by commit.
EVENT_LOCK_KEY = 0x6B616E62


def install_sqlite_hooks(engine: sa.Engine) -> None:
    """Per-connection pragmas and explicit BEGIN for SQLite engines."""

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


def is_sqlite() -> bool:
    """True when the app runs on SQLite."""
    return db.engine.dialect.name == "sqlite"


def begin_write() -> None:
    """Start a writing transaction (see module docstring).

    Anything already read in this session (the logged-in user, say) is
    committed away first: it holds no changes, only a read snapshot.
    """
    session = db.session()
    if session.in_transaction():
        conn = session.connection()
        if conn.get_execution_options().get(WRITE_OPTION):
            return
        if session.new or session.dirty or session.deleted:
            # Pending changes must not be lost: write them in this transaction.
            return
        session.commit()
    session.connection(execution_options={WRITE_OPTION: True})


def lock_event_order() -> None:
    """On PostgreSQL, make event ids commit in order (held until commit)."""
    if not is_sqlite():
        db.session.execute(sa.select(sa.func.pg_advisory_xact_lock(EVENT_LOCK_KEY)))

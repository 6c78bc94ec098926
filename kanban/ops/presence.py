"""Which ``kanban serve`` and ``kanban worker`` processes run on a database, so that
``kanban restore`` can refuse while one does and name it (host, pid, since when).

Every such process announces itself for as long as it lives, in a way that ends with the
process, however it ends (docs/manual/decisions.md, "Restoring: who is running"):

- SQLite: a file beside the database per process, ``<database>.running-<host>-<pid>``,
  holding who it is and locked with ``flock`` while the process lives (the kernel drops
  the lock when the process dies, even by SIGKILL; a file left unlocked is stale).
- PostgreSQL: a connection of its own, named ``kanban|<pid>|<role>|<host>`` in
  ``application_name``; the server lists it in ``pg_stat_activity`` for every host and
  drops it when the process dies.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import socket
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

#: Start of the ``application_name`` of a presence connection on PostgreSQL.
PG_PREFIX = "kanban|"


@dataclass(frozen=True)
class Running:
    """A process that runs on the database."""

    role: str
    host: str
    pid: int
    since: str

    def __str__(self) -> str:
        return f"{self.role} on host {self.host}, pid {self.pid}, running since {self.since}"


class Presence:
    """A process's announcement; it lasts until ``close`` or the process's end."""

    def __init__(
        self, fd: int | None = None, conn: sa.Connection | None = None, path: Path | None = None
    ) -> None:
        self._fd = fd
        self._conn = conn
        self._path = path

    def close(self) -> None:
        """Stop announcing (a clean stop; a killed process stops on its own)."""
        if self._fd is not None:
            with contextlib.suppress(OSError):
                if self._path is not None:
                    self._path.unlink(missing_ok=True)  # tidy; an unlocked file says the same
                os.close(self._fd)
            self._fd = None
        if self._conn is not None:
            with contextlib.suppress(sa.exc.SQLAlchemyError):
                self._conn.close()
            self._conn = None


def _sqlite_file(url: sa.URL) -> Path | None:
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database).resolve()


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def announce(url: str, role: str) -> Presence:
    """Announce this process (``role``, e.g. ``kanban serve``) on the database at ``url``."""
    parsed = sa.make_url(url)
    host, pid = socket.gethostname(), os.getpid()
    if parsed.get_backend_name() == "sqlite":
        path = _sqlite_file(parsed)
        if path is None:
            return Presence()
        marker = path.with_name(f"{path.name}.running-{host}-{pid}")
        fd = os.open(marker, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        record = {"role": role, "host": host, "pid": pid, "since": _now()}
        os.write(fd, json.dumps(record).encode())
        return Presence(fd=fd, path=marker)
    # PostgreSQL keeps 63 bytes of a name: the host, last, is what may be cut short.
    name = f"{PG_PREFIX}{pid}|{role.removeprefix('kanban ')}|{host}"[:63]
    engine = sa.create_engine(
        parsed, poolclass=sa.pool.NullPool, connect_args={"application_name": name}
    )
    return Presence(conn=engine.connect())


def _sqlite_running(path: Path) -> list[Running]:
    found = []
    for marker in sorted(path.parent.glob(f"{path.name}.running-*")):
        try:
            fd = os.open(marker, os.O_RDWR)
        except OSError:
            continue
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:  # its process holds it: it runs
                with contextlib.suppress(ValueError, KeyError, OSError):
                    record = json.loads(marker.read_text())
                    found.append(
                        Running(record["role"], record["host"], record["pid"], record["since"])
                    )
                continue
            marker.unlink(missing_ok=True)  # its process is gone
        finally:
            os.close(fd)
    return found


def _pg_running(conn: sa.Connection) -> list[Running]:
    rows = conn.execute(
        sa.text(
            "SELECT application_name, backend_start FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND application_name LIKE :prefix ORDER BY backend_start"
        ),
        {"prefix": PG_PREFIX + "%"},
    ).all()
    found = []
    for name, started in rows:
        parts = name.removeprefix(PG_PREFIX).split("|", 2)
        if len(parts) != 3 or not parts[0].isdigit():
            continue
        since = started.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        found.append(Running(f"kanban {parts[1]}", parts[2], int(parts[0]), since))
    return found


def running(url: str) -> list[Running]:
    """The ``kanban serve`` and ``kanban worker`` processes that run on the database."""
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = _sqlite_file(parsed)
        return _sqlite_running(path) if path is not None else []
    engine = sa.create_engine(parsed, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            return _pg_running(conn)
    finally:
        engine.dispose()

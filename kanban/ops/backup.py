"""``kanban backup``: a consistent copy of the database while the app runs.

A backup holds everything, password hashes and token hashes included, so it is written
readable by its owner only. The PostgreSQL password goes to ``pg_dump`` in a passfile that
only the owner can read, never on its command line (which every user of the machine can
read in ``ps``).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import tempfile
from pathlib import Path

import sqlalchemy as sa

from ..core.errors import ServiceError

PG_BIN = Path("/usr/lib/postgresql/15/bin")


def _private(path: Path) -> None:
    """Create ``path`` empty and owner-only (or make an existing file owner-only)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    os.close(fd)


def _passfile_line(password: str) -> str:
    # libpq's passfile: host:port:database:user:password, with ":" and "\" escaped.
    escaped = password.replace("\\", "\\\\").replace(":", "\\:")
    return f"*:*:*:*:{escaped}\n"


def _pg_dump(url: sa.URL, target: Path) -> None:
    pg_dump = shutil.which("pg_dump") or str(PG_BIN / "pg_dump")
    if not Path(pg_dump).exists():
        raise ServiceError("no_pg_dump", "pg_dump is not installed (package postgresql-client).")
    password = url.password
    without = sa.URL.create(
        "postgresql",
        username=url.username,
        host=url.host,
        port=url.port,
        database=url.database,
        query=url.query,
    )
    dsn = without.render_as_string(hide_password=False)
    env = {k: v for k, v in os.environ.items() if k not in ("PGPASSWORD", "PGPASSFILE")}
    _private(target)
    with tempfile.TemporaryDirectory(prefix="kanban-backup-") as folder:  # mode 0700
        if password is not None:
            passfile = Path(folder) / "pgpass"
            _private(passfile)
            passfile.write_text(_passfile_line(str(password)))
            env["PGPASSFILE"] = str(passfile)
        # The arguments are ours: the pg_dump path and the database URL without password.
        subprocess.run(  # noqa: S603
            [pg_dump, "--format=custom", f"--file={target}", dsn], check=True, env=env
        )


def backup(url: str, target: Path) -> Path:
    """Copy the database at ``url`` to ``target`` (written readable by its owner only).

    SQLite: the online backup API, which copies a consistent snapshot while
    other connections keep writing. PostgreSQL: ``pg_dump`` (a consistent
    snapshot by design) in its custom format.
    """
    parsed = sa.make_url(url)
    target = target.resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    if parsed.get_backend_name() == "sqlite":
        source = parsed.database
        if not source or source == ":memory:":
            raise ServiceError("no_file", "An in-memory database cannot be backed up.")
        tmp = target.with_suffix(target.suffix + ".part")
        _private(tmp)
        with (
            sqlite3.connect(f"file:{source}?mode=ro", uri=True) as src,
            sqlite3.connect(tmp) as dst,
        ):
            src.execute("PRAGMA busy_timeout=30000")
            src.backup(dst)
        tmp.replace(target)
        return target
    if parsed.get_backend_name() == "postgresql":
        _pg_dump(parsed, target)
        return target
    raise ServiceError("unsupported", f"Backup of {parsed.get_backend_name()} is not supported.")

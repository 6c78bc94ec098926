"""``kanban backup``: a consistent copy of the database while the app runs."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from pathlib import Path

import sqlalchemy as sa

from ..core.errors import ServiceError

PG_BIN = Path("/usr/lib/postgresql/15/bin")


def backup(url: str, target: Path) -> Path:
    """Copy the database at ``url`` to ``target``.

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
        with (
            sqlite3.connect(f"file:{source}?mode=ro", uri=True) as src,
            sqlite3.connect(tmp) as dst,
        ):
            src.execute("PRAGMA busy_timeout=30000")
            src.backup(dst)
        tmp.replace(target)
        return target
    if parsed.get_backend_name() == "postgresql":
        pg_dump = shutil.which("pg_dump") or str(PG_BIN / "pg_dump")
        if not Path(pg_dump).exists():
            raise ServiceError(
                "no_pg_dump", "pg_dump is not installed (package postgresql-client)."
            )
        plain = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
        # The arguments are ours: the pg_dump path and the configured database URL.
        subprocess.run(  # noqa: S603
            [pg_dump, "--format=custom", f"--file={target}", plain], check=True
        )
        return target
    raise ServiceError("unsupported", f"Backup of {parsed.get_backend_name()} is not supported.")

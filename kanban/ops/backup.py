"""``kanban backup``: a consistent copy of the database while the app runs, checked.

A backup refuses a site that is not there (no database file, or a database without the
site's tables) rather than copy nothing: connecting to SQLite would create the file, so the
file is looked for first and opened read-only. It reports what it saved (bins, movements,
the newest movement) from the copy's own snapshot, and it verifies the copy before calling
it written: ``PRAGMA integrity_check`` on an SQLite copy, ``pg_restore --list`` on a
PostgreSQL dump. A copy that fails verification is deleted, never left to be trusted.

A backup holds everything, password hashes and token hashes included, so it is written
readable by its owner only. The PostgreSQL password goes to ``pg_dump`` in a passfile that
only the owner can read, never on its command line (which every user of the machine can
read in ``ps``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from ..core.errors import ServiceError

PG_BIN = Path("/usr/lib/postgresql/15/bin")
#: The tables a site's database has; a database without them holds no site.
SITE_TABLES = ("bins", "movements")
_SUMMARY = (
    "SELECT (SELECT count(*) FROM bins), (SELECT count(*) FROM movements),"
    " (SELECT max(created_at) FROM movements)"
)


@dataclass(frozen=True)
class Saved:
    """What a backup holds: its file, the number of bins and movements, and the time of
    the newest movement (UTC; None when there is none)."""

    path: Path
    bins: int
    movements: int
    last_movement: dt.datetime | None
    verified_by: str


def _private(path: Path) -> None:
    """Create ``path`` empty and owner-only (or make an existing file owner-only)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    os.close(fd)


def _passfile_line(password: str) -> str:
    # libpq's passfile: host:port:database:user:password, with ":" and "\" escaped.
    escaped = password.replace("\\", "\\\\").replace(":", "\\:")
    return f"*:*:*:*:{escaped}\n"


def _utc(value: dt.datetime | str | None) -> dt.datetime | None:
    # SQLite keeps the UTC timestamps as naive text; PostgreSQL returns them aware.
    if value is None:
        return None
    moment = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)


def _no_site(where: str, why: str) -> ServiceError:
    return ServiceError(
        "no_site",
        f"No site to back up: {why} ({where}). Set KANBAN_DATABASE_URL or "
        "KANBAN_INSTANCE_PATH to the site's database, or run the command in the folder that "
        "holds its instance folder. Nothing was written.",
    )


def _tool(name: str) -> str:
    found = shutil.which(name) or str(PG_BIN / name)
    if not Path(found).exists():
        raise ServiceError(f"no_{name}", f"{name} is not installed (package postgresql-client).")
    return found


# --- SQLite -------------------------------------------------------------------------


def _sqlite_source(database: str | None) -> Path:
    """The site's SQLite file, refused unless it exists and holds the site's tables."""
    if not database or database == ":memory:":
        raise ServiceError("no_file", "An in-memory database cannot be backed up.")
    source = Path(database)
    if not source.is_file() or source.stat().st_size == 0:
        raise _no_site(str(source), "the database file does not exist or is empty")
    with contextlib.closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True)) as con:
        names = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if not set(SITE_TABLES) <= names:
        raise _no_site(str(source), "the database has none of the site's tables")
    return source


def _sqlite_backup(source: Path, target: Path) -> Saved:
    part = target.with_name(target.name + ".part")
    _private(part)
    try:
        with (
            contextlib.closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True)) as src,
            contextlib.closing(sqlite3.connect(part)) as dst,
        ):
            src.execute("PRAGMA busy_timeout=30000")
            src.backup(dst)
            # Verified on the copy itself: what is counted is what was saved.
            try:
                check = [r[0] for r in dst.execute("PRAGMA integrity_check")]
                if check == ["ok"]:
                    bins, movements, last = dst.execute(_SUMMARY).fetchone()
            except sqlite3.DatabaseError as exc:
                check = [str(exc)]
            if check != ["ok"]:
                raise ServiceError(
                    "backup_unverified",
                    "The copy failed SQLite's integrity check and was deleted: "
                    + "; ".join(check[:5]),
                )
        part.replace(target)
    finally:
        part.unlink(missing_ok=True)
    return Saved(target, bins, movements, _utc(last), "PRAGMA integrity_check: ok")


# --- PostgreSQL ---------------------------------------------------------------------


@contextlib.contextmanager
def pg_env(url: sa.URL) -> Iterator[tuple[str, dict[str, str]]]:
    """For a PostgreSQL tool: the URL without its password, and an environment whose private
    passfile holds it (a password never shows in ``ps``)."""
    without = sa.URL.create(
        "postgresql",
        username=url.username,
        host=url.host,
        port=url.port,
        database=url.database,
        query=url.query,
    )
    env = {k: v for k, v in os.environ.items() if k not in ("PGPASSWORD", "PGPASSFILE")}
    with tempfile.TemporaryDirectory(prefix="kanban-backup-") as folder:  # mode 0700
        if url.password is not None:
            passfile = Path(folder) / "pgpass"
            _private(passfile)
            passfile.write_text(_passfile_line(str(url.password)))
            env["PGPASSFILE"] = str(passfile)
        yield without.render_as_string(hide_password=False), env


def pg_dump(url: sa.URL, target: Path, snapshot: str | None = None) -> None:
    """``pg_dump`` in custom format to ``target`` (owner-only), of ``snapshot`` if given."""
    program = _tool("pg_dump")
    _private(target)
    with pg_env(url) as (dsn, env):
        # The arguments are ours: the pg_dump path and the database URL without password.
        args = [program, "--format=custom", f"--file={target}"]
        if snapshot:
            args.append(f"--snapshot={snapshot}")
        subprocess.run([*args, dsn], check=True, env=env)  # noqa: S603


def verify_dump(path: Path) -> None:
    """Raise unless ``pg_restore --list`` reads the dump and finds the site's tables' data."""
    done = subprocess.run(  # noqa: S603 - our path to pg_restore and our file
        [_tool("pg_restore"), "--list", str(path)], capture_output=True, text=True
    )
    missing = [t for t in SITE_TABLES if f"TABLE DATA public {t} " not in done.stdout]
    if done.returncode or missing:
        why = done.stderr.strip()[:300] or f"no data of {', '.join(missing)}"
        raise ServiceError(
            "backup_unverified", f"pg_restore cannot read the dump, which was deleted: {why}"
        )


def _pg_backup(url: sa.URL, target: Path) -> Saved:
    engine = sa.create_engine(url, isolation_level="REPEATABLE READ", poolclass=sa.NullPool)
    part = target.with_name(target.name + ".part")
    try:
        with engine.connect() as conn:
            if not all(sa.inspect(conn).has_table(t) for t in SITE_TABLES):
                raise _no_site(url.render_as_string(), "the database has none of the site's tables")
            # The counts and pg_dump read one snapshot: the summary is what the dump holds.
            snapshot = conn.exec_driver_sql("SELECT pg_export_snapshot()").scalar_one()
            bins, movements, last = conn.exec_driver_sql(_SUMMARY).one()
            pg_dump(url, part, snapshot)
            conn.rollback()
        verify_dump(part)
        part.replace(target)
    except sa.exc.OperationalError as exc:
        raise _no_site(url.render_as_string(), f"cannot connect: {exc.orig}") from None
    except subprocess.CalledProcessError as exc:
        raise ServiceError("backup_failed", f"pg_dump failed (exit {exc.returncode}).") from None
    finally:
        part.unlink(missing_ok=True)
        engine.dispose()
    return Saved(target, bins, movements, _utc(last), "pg_restore --list: readable")


def backup(url: str, target: Path) -> Saved:
    """Copy the site's database at ``url`` to ``target`` (owner-only), verified.

    SQLite: the online backup API, which copies a consistent snapshot while other
    connections keep writing. PostgreSQL: ``pg_dump`` (a consistent snapshot by design)
    in its custom format. Refuses (:class:`ServiceError`, nothing written, no database
    created) when there is no site at ``url``.
    """
    parsed = sa.make_url(url)
    target = target.resolve()
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        source = _sqlite_source(parsed.database)
        target.parent.mkdir(parents=True, exist_ok=True)
        return _sqlite_backup(source, target)
    if backend == "postgresql":
        target.parent.mkdir(parents=True, exist_ok=True)
        return _pg_backup(parsed, target)
    raise ServiceError("unsupported", f"Backup of {backend} is not supported.")

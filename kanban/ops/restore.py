"""``kanban restore``: put a backup (``kanban backup``) in place of the site's database.

Nothing runs on the database meanwhile (:mod:`kanban.ops.presence` names whoever does).
The backup is checked before it replaces anything: it must be readable whole, be a kanban
database of a schema revision this code knows (an older one is migrated up), and pass
``kanban check``. The current database is kept aside, never deleted:

- SQLite: the checks run on a copy beside the database; the database moves aside with its
  ``-wal`` and ``-shm`` (a WAL left by a crash belongs to it and to no other file), renamed
  ``<name>-before-restore-<time>``, and the checked copy takes its name.
- PostgreSQL: the schema ``public`` is renamed ``kanban_before_restore_<time>``, the dump is
  restored into a new ``public`` owned by the site's role (``pg_restore --no-owner``), then
  migrated and checked; should any of it fail, the new schema is dropped and the old one
  takes its name back (docs/manual/decisions.md, "Restoring").
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic.script import ScriptDirectory
from flask import Flask

from .. import paths
from ..core.errors import ServiceError
from ..extensions import db
from ..stock import check as ledger
from . import presence
from .backup import pg_env

PG_BIN = Path("/usr/lib/postgresql/15/bin")
SUFFIXES = ("", "-wal", "-shm")

#: Builds the app on a database: ``kanban.create_app`` (handed in: ops sits below it).
MakeApp = Callable[[dict[str, Any]], Flask]


@dataclass(frozen=True)
class Restored:
    """What a restore did."""

    kept_aside: str | None  # where the database it replaced went (None: there was none)
    revision: str  # the backup's schema revision
    migrated: bool  # the backup was older than the code and was migrated up


def damaged(path: Path) -> str | None:
    """SQLite's ``PRAGMA quick_check`` of the database file: what is wrong, or None."""
    try:
        with contextlib.closing(sqlite3.connect(path)) as conn:
            rows = conn.execute("PRAGMA quick_check").fetchall()
    except sqlite3.DatabaseError as exc:
        return str(exc)
    found = [str(row[0]) for row in rows]
    return None if found == ["ok"] else "; ".join(found[:5])


def _stamp(now: dt.datetime) -> str:
    return now.astimezone(dt.UTC).strftime("%Y%m%d-%H%M%S")


def refuse_while_running(url: str) -> None:
    """Refuse (naming them) while a server or worker runs on the database."""
    found = presence.running(url)
    if found:
        names = "; ".join(str(r) for r in found)
        raise ServiceError(
            "site_running",
            f"{len(found)} process(es) run on this database: {names}. Stop them first "
            "(e.g. systemctl stop kanban kanban-worker on every host), then restore.",
        )


def _known(revision: str) -> bool:
    script = ScriptDirectory(str(paths.MIGRATIONS))
    with contextlib.suppress(Exception):  # alembic raises several kinds for an unknown id
        return script.get_revision(revision) is not None
    return False


def _check_revision(revision: str | None) -> str:
    if not revision:
        raise ServiceError(
            "not_kanban", "The backup is not a kanban database (no schema revision)."
        )
    if not _known(revision):
        raise ServiceError(
            "backup_newer",
            f"The backup's schema revision {revision} is unknown to this release: it comes from "
            "a newer release. Install that release to restore it.",
        )
    return revision


def _verify(make_app: MakeApp, url: str, instance: str, revision: str) -> bool:
    """Migrate the restored database up if it is older, then ``kanban check`` it."""
    head = ScriptDirectory(str(paths.MIGRATIONS)).get_current_head()
    app = make_app(
        {"SQLALCHEMY_DATABASE_URI": url, "INSTANCE_PATH": instance, "SECRET_KEY": "restore"}
    )
    with app.app_context():
        try:
            if revision != head:
                from flask_migrate import upgrade

                upgrade()
            problems = ledger.check()
            db.session.rollback()
        finally:
            db.session.remove()
            db.engine.dispose()
    if problems:
        shown = "; ".join(str(p) for p in problems[:5])
        raise ServiceError(
            "backup_check_failed",
            f"`kanban check` finds {len(problems)} problem(s) in the backup: {shown}",
        )
    return revision != head


# ------------------------------------------------------------------------------ SQLite


def _sqlite_revision(path: Path) -> str | None:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        try:
            row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        except sqlite3.DatabaseError:
            return None
    return str(row[0]) if row else None


def _copy(backup: Path, copy: Path) -> None:
    """Copy through SQLite's backup API, read-only: a write-ahead log beside the backup
    (a database copied from a live site) is read with it, and the backup is not changed."""
    with (
        contextlib.closing(sqlite3.connect(f"file:{backup}?mode=ro", uri=True)) as source,
        contextlib.closing(sqlite3.connect(copy)) as target,
    ):
        source.backup(target)


def _fold_wal(path: Path) -> None:
    """Write the copy's WAL into the file, so that it is one file again."""
    with contextlib.closing(sqlite3.connect(path)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("PRAGMA journal_mode=DELETE")


def _move(base: Path, to: Path) -> bool:
    moved = False
    for suffix in SUFFIXES:
        source = Path(f"{base}{suffix}")
        if source.exists():
            os.replace(source, f"{to}{suffix}")
            moved = True
    return moved


def restore_sqlite(make_app: MakeApp, live: Path, backup: Path, now: dt.datetime) -> Restored:
    """Check the SQLite ``backup`` on a copy, move ``live`` aside, put the copy in place."""
    url = f"sqlite:///{live}"
    refuse_while_running(url)
    live.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    stamp = _stamp(now)
    copy = live.with_name(f"{live.name}.restoring-{stamp}")
    try:
        os.close(os.open(copy, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))  # owner only
        try:
            _copy(backup, copy)
            with contextlib.closing(sqlite3.connect(copy)) as conn:
                result = [str(r[0]) for r in conn.execute("PRAGMA integrity_check").fetchall()]
        except sqlite3.DatabaseError as exc:
            result = [str(exc)]
        if result != ["ok"]:
            raise ServiceError(
                "backup_damaged", f"The backup fails its integrity check: {'; '.join(result[:5])}"
            )
        revision = _check_revision(_sqlite_revision(copy))
        migrated = _verify(make_app, f"sqlite:///{copy}", str(live.parent), revision)
        _fold_wal(copy)
        refuse_while_running(url)  # none started while the backup was checked
        aside = live.with_name(f"{live.stem}-before-restore-{stamp}{live.suffix}")
        if live.exists() and live.stat().st_size == 0 and not Path(f"{live}-wal").exists():
            live.unlink()  # an empty file (a site never set up) holds nothing to keep
        kept = _move(live, aside)
        try:
            os.replace(copy, live)
        except OSError:
            _move(aside, live)
            raise
    finally:
        for suffix in SUFFIXES:
            Path(f"{copy}{suffix}").unlink(missing_ok=True)
    return Restored(str(aside) if kept else None, revision, migrated)


# -------------------------------------------------------------------------- PostgreSQL


def _tool(name: str) -> str:
    found = shutil.which(name) or str(PG_BIN / name)
    if not Path(found).exists():
        raise ServiceError(f"no_{name}", f"{name} is not installed (package postgresql-client).")
    return found


def _run(args: list[str], url: sa.URL | None = None) -> str:
    """Run a PostgreSQL tool, on the database ``url`` where given (``--dbname``, its password
    in a private passfile: :func:`backup.pg_env`)."""
    with contextlib.ExitStack() as stack:
        env = dict(os.environ)
        if url is not None:
            dsn, env = stack.enter_context(pg_env(url))
            args = [*args, f"--dbname={dsn}"]
        # The arguments are ours: a tool's path, its options, the backup and the database.
        done = subprocess.run(args, capture_output=True, text=True, env=env, check=False)  # noqa: S603
    if done.returncode != 0:
        lines = [ln for ln in done.stderr.splitlines() if ln.strip()]
        raise ServiceError("pg_failed", "; ".join(lines[:3]) or f"{args[0]} failed")
    return done.stdout


def _dump_revision(pg_restore: str, backup: Path) -> str | None:
    try:
        listing = _run([pg_restore, "--list", str(backup)])
    except ServiceError as exc:
        raise ServiceError(
            "backup_damaged", f"The backup is not a readable pg_dump archive: {exc.message}"
        ) from None
    if " TABLE DATA public alembic_version " not in listing:
        return None
    data = _run([pg_restore, "--data-only", "--table=alembic_version", "--file=-", str(backup)])
    lines = data.splitlines()
    for n, line in enumerate(lines):
        if line.startswith("COPY public.alembic_version") and n + 1 < len(lines):
            return lines[n + 1].strip() if lines[n + 1] != "\\." else None
    return None


def _swap(engine: sa.Engine, aside: str, *, back: bool) -> None:
    with engine.begin() as conn:
        if back:
            conn.exec_driver_sql("DROP SCHEMA IF EXISTS public CASCADE")
            conn.exec_driver_sql(f'ALTER SCHEMA "{aside}" RENAME TO public')
        else:
            conn.exec_driver_sql(f'ALTER SCHEMA public RENAME TO "{aside}"')
            conn.exec_driver_sql("CREATE SCHEMA public")  # owned by the site's role


def restore_postgres(
    make_app: MakeApp, url: str, instance: str, backup: Path, now: dt.datetime
) -> Restored:
    """Check the dump, keep ``public`` aside, restore, migrate and check (or undo)."""
    refuse_while_running(url)
    pg_restore = _tool("pg_restore")
    revision = _check_revision(_dump_revision(pg_restore, backup))
    parsed = sa.make_url(url)
    aside = f"kanban_before_restore_{_stamp(now).replace('-', '_')}"
    engine = sa.create_engine(parsed, poolclass=sa.pool.NullPool)
    try:
        _swap(engine, aside, back=False)
        try:
            restore = [pg_restore, "--no-owner", "--no-acl", "--exit-on-error"]
            _run([*restore, "--single-transaction", str(backup)], parsed)
            migrated = _verify(make_app, url, instance, revision)
        except BaseException:
            _swap(engine, aside, back=True)
            raise
    finally:
        engine.dispose()
    return Restored(f"schema {aside}", revision, migrated)

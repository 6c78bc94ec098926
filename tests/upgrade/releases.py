"""The databases of earlier releases (tests/data/releases), loaded for a test, and what a
database holds, read so that before and after an upgrade can be compared."""

from __future__ import annotations

import gzip
import shutil
import subprocess
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from ..pg import PG_BIN, new_database

FOLDER = Path(__file__).resolve().parent.parent / "data" / "releases"
#: Every revision that has a database here; a new file is tested without more code.
REVISIONS = sorted(p.name.split(".")[0] for p in FOLDER.glob("*.sqlite.gz"))


def load_sqlite(revision: str, path: Path) -> str:
    """Unpack the release's SQLite file to ``path``; its URL."""
    with gzip.open(FOLDER / f"{revision}.sqlite.gz", "rb") as packed, path.open("wb") as out:
        shutil.copyfileobj(packed, out)
    return f"sqlite:///{path}"


def load_postgres(revision: str, server_url: str, name: str) -> str:
    """Restore the release's dump into a new database ``name`` on the server; its URL."""
    url = sa.make_url(new_database(server_url, name))
    psql = shutil.which("psql") or str(PG_BIN / "psql")
    with gzip.open(FOLDER / f"{revision}.pg.sql.gz", "rb") as packed:
        subprocess.run(
            [
                psql,
                "-q",
                "-v",
                "ON_ERROR_STOP=1",
                "-o",
                "/dev/null",
                "-f",
                "-",
                url.set(drivername="postgresql").render_as_string(hide_password=False),
            ],
            input=packed.read(),
            check=True,
            capture_output=True,
        )
    return url.render_as_string(hide_password=False)


def drop_postgres(server_url: str, name: str) -> None:
    """Drop the database ``name``."""
    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


def snapshot(url: str) -> dict[str, Any]:
    """Everything a database holds: its revision, each table's columns and rows (sorted)."""
    engine = sa.create_engine(url, poolclass=sa.NullPool)
    try:
        with engine.connect() as conn:
            inspector = sa.inspect(conn)
            tables: dict[str, Any] = {}
            for name in sorted(inspector.get_table_names()):
                columns = [c["name"] for c in inspector.get_columns(name)]
                sql = f'SELECT * FROM "{name}"'  # noqa: S608 - a name from the catalogue
                rows = conn.execute(sa.text(sql)).all()
                tables[name] = (columns, sorted(tuple(map(repr, r)) for r in rows))
            indexes = {
                name: sorted(i["name"] or "" for i in inspector.get_indexes(name))
                for name in tables
            }
        return {"tables": tables, "indexes": indexes}
    finally:
        engine.dispose()


def facts(url: str) -> dict[str, Any]:
    """What a site relies on: row counts of every table, every bin's on hand, every
    password hash and token hash."""
    engine = sa.create_engine(url, poolclass=sa.NullPool)
    try:
        with engine.connect() as conn:
            names = sa.inspect(conn).get_table_names()
            counts = {}
            for n in names:
                sql = f'SELECT count(*) FROM "{n}"'  # noqa: S608 - a name from the catalogue
                counts[n] = conn.execute(sa.text(sql)).scalar_one()
            on_hand = dict(conn.execute(sa.text("SELECT code, on_hand FROM bins")).all())
            passwords = dict(
                conn.execute(sa.text("SELECT username, password_hash FROM users")).all()
            )
            tokens = dict(conn.execute(sa.text("SELECT id, token_hash FROM device_tokens")).all())
            revision = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
        return {
            "counts": counts,
            "on_hand": on_hand,
            "passwords": passwords,
            "tokens": tokens,
            "revision": revision,
        }
    finally:
        engine.dispose()

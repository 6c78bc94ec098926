"""``kanban backup`` cannot lie: it refuses when there is no site, says what it saved, and
verifies the copy before calling it written."""

from __future__ import annotations

import os
import sqlite3
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from kanban.core.actor import Actor
from kanban.core.errors import ServiceError
from kanban.domain import clock
from kanban.extensions import db
from kanban.models import Movement
from kanban.ops import backup
from kanban.stock.scanning import record_scan

from ..conftest import KANBAN, ROOT

PLAIN_ENV = {k: v for k, v in os.environ.items() if not k.startswith("KANBAN_")}


def test_backup_in_a_folder_without_a_site_refuses_and_creates_nothing(tmp_path: Path) -> None:
    env = {**PLAIN_ENV, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [KANBAN, "backup", "nightly/kanban.db"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    # The command line refuses before the backup starts: no command but those that set up
    # a site runs where there is none.
    assert "no site is configured here" in done.stderr
    assert str(tmp_path / "instance" / "kanban.db") in done.stderr
    assert "Backup written" not in done.stdout
    assert list(tmp_path.iterdir()) == []  # no instance folder, no database, no backup


def test_backup_refuses_an_sqlite_database_without_the_sites_tables(tmp_path: Path) -> None:
    source = tmp_path / "other.db"
    with sqlite3.connect(source) as con:
        con.execute("CREATE TABLE notes (x)")
    with pytest.raises(ServiceError, match="none of the site's tables"):
        backup.backup(f"sqlite:///{source}", tmp_path / "out" / "b.db")
    assert not (tmp_path / "out").exists()


def test_backup_refuses_an_empty_postgresql_database(pg_server_url: str, tmp_path: Path) -> None:
    admin = sa.create_engine(pg_server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql('DROP DATABASE IF EXISTS "backup_empty" WITH (FORCE)')
        conn.exec_driver_sql('CREATE DATABASE "backup_empty"')
    try:
        url = sa.make_url(pg_server_url).set(database="backup_empty")
        with pytest.raises(ServiceError, match="none of the site's tables"):
            backup.backup(url.render_as_string(hide_password=False), tmp_path / "b.dump")
        assert list(tmp_path.iterdir()) == []
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql('DROP DATABASE "backup_empty" WITH (FORCE)')
        admin.dispose()


def test_backup_says_what_it_saved_on_the_sites_clock_and_verifies_it(
    app: Flask, runner: Any, make_bin: Callable[..., str], tmp_path: Path, db_url: str
) -> None:
    code = make_bin(on_hand=50, card=5)
    make_bin("B-01-01")
    for n in range(3):
        record_scan(code, "pull", 2, Actor(name="ana"), f"scan-{n}")
    app.config["TIMEZONE"] = "America/Chicago"
    last = db.session.scalar(sa.select(sa.func.max(Movement.created_at)))
    db.session.rollback()
    target = tmp_path / "nightly" / "kanban.backup"

    result = runner.invoke(args=["backup", str(target)])

    assert result.exit_code == 0, result.output
    shown = clock.local_text(last, clock.zone("America/Chicago"))
    assert shown.endswith(("CST", "CDT"))
    assert f"Backup written to {target}: 2 bins, 5 movements, last movement {shown}" in (
        result.output
    )
    if db_url.startswith("sqlite"):
        assert "verified (PRAGMA integrity_check: ok)" in result.output
        with sqlite3.connect(target) as con:
            assert con.execute("SELECT count(*) FROM movements").fetchone()[0] == 5
    else:
        assert "verified (pg_restore --list: readable)" in result.output
        backup.verify_dump(target)
    assert not list(target.parent.glob("*.part"))


def test_an_sqlite_copy_that_fails_its_integrity_check_is_refused_and_deleted(
    tmp_path: Path,
) -> None:
    source = tmp_path / "kanban.db"
    with sqlite3.connect(source) as con:
        con.execute("CREATE TABLE bins (id INTEGER PRIMARY KEY)")
        con.execute("CREATE TABLE movements (id INTEGER PRIMARY KEY, created_at TEXT, note TEXT)")
        con.execute("CREATE INDEX ix_note ON movements (note)")
        con.executemany(
            "INSERT INTO movements (created_at, note) VALUES ('2026-12-01 10:00:00', ?)",
            [(f"note {n:05}" * 4,) for n in range(3000)],
        )
        page_size = con.execute("PRAGMA page_size").fetchone()[0]
        root = con.execute("SELECT rootpage FROM sqlite_master WHERE name = 'ix_note'").fetchone()
    with source.open("r+b") as raw:  # the index's root page overwritten: a damaged disk
        raw.seek((root[0] - 1) * page_size)
        raw.write(b"\x07" * page_size)
    target = tmp_path / "out" / "b.db"

    with pytest.raises(ServiceError, match="failed SQLite's integrity check and was deleted"):
        backup.backup(f"sqlite:///{source}", target)
    assert list(target.parent.iterdir()) == []


def test_a_postgresql_dump_that_pg_restore_cannot_read_is_refused(
    pg_database: str, tmp_path: Path
) -> None:
    saved = backup.backup(pg_database, tmp_path / "b.dump")
    backup.verify_dump(saved.path)
    data = saved.path.read_bytes()
    saved.path.write_bytes(data[: len(data) // 3])
    with pytest.raises(ServiceError, match="pg_restore cannot read the dump"):
        backup.verify_dump(saved.path)

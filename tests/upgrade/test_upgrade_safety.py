"""An upgrade is all or nothing, and writes a backup first unless told not to."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

from kanban import create_app
from kanban.cli import main
from kanban.cli_db import upgrade_database
from kanban.extensions import db
from kanban.ops.backup import verify_dump

from ..conftest import start_server, stop_server
from .releases import load_sqlite, snapshot
from .test_releases import HEAD

#: The first release: every later migration is still to run.
FIRST = "9fcb6c4a2ece"


def _app(url: str, instance: Path) -> Flask:
    return create_app(
        {"SQLALCHEMY_DATABASE_URI": url, "INSTANCE_PATH": str(instance), "SECRET_KEY": "t"}
    )


def _revision(url: str) -> str | None:
    engine = sa.create_engine(url, poolclass=sa.NullPool)
    with engine.connect() as conn:
        found = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    engine.dispose()
    return found


def _upgrade_fails(app: Flask, capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as stopped:
        upgrade_database(app, backup=False)
    assert stopped.value.code != 0
    with app.app_context():
        db.engine.dispose()
    return capsys.readouterr().err


def test_a_migration_that_fails_half_way_leaves_the_database_as_it_was(
    release_db: Callable[[str], str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = release_db("acc0f2f54541")
    # The next migration (outbox, webhooks) runs; the one after it adds login_failures.device,
    # which is already there, and fails: both are in one transaction.
    engine = sa.create_engine(url, poolclass=sa.NullPool)
    with engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE login_failures ADD COLUMN device VARCHAR(64)")
    engine.dispose()
    before = snapshot(url)

    said = _upgrade_fails(_app(url, tmp_path / "instance"), capsys)

    assert "Running upgrade acc0f2f54541 -> 703b8b3996a7" in said
    assert "rolled back; the database is unchanged (revision acc0f2f54541)" in said
    assert _revision(url) == "acc0f2f54541"
    assert snapshot(url) == before


def test_an_orphan_row_stops_a_sqlite_upgrade_and_changes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = load_sqlite("5ec15a7e0015", tmp_path / "kanban.db")
    with sqlite3.connect(tmp_path / "kanban.db") as con:  # foreign keys off, as by default
        con.executescript(
            "CREATE TEMP TABLE orphan AS SELECT * FROM movements LIMIT 1;"
            "UPDATE orphan SET id = id + 1000000, bin_id = 999999, scan_id = NULL;"
            "INSERT INTO movements SELECT * FROM orphan;"
        )
    before = snapshot(url)

    said = _upgrade_fails(_app(url, tmp_path / "instance"), capsys)

    assert "ForeignKeyViolation: 1 row(s) refer to rows that do not exist" in said
    assert "movements row" in said
    assert _revision(url) == "5ec15a7e0015"
    assert snapshot(url) == before


def test_a_first_install_has_nothing_to_back_up_and_goes_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site = tmp_path / "site"
    site.mkdir()
    url = f"sqlite:///{site / 'kanban.db'}"
    upgrade_database(_app(url, site))
    assert "nothing to back up" in capsys.readouterr().err
    assert _revision(url) == HEAD
    assert not list(site.glob("*before-upgrade*"))


def test_db_upgrade_backs_up_first_unless_told_not_to(
    release_db: Callable[[str], str], tmp_path: Path
) -> None:
    url = release_db(FIRST)
    instance = tmp_path / "instance"
    sqlite = url.startswith("sqlite")
    folder = Path(sa.make_url(url).database or "").parent if sqlite else instance / "backups"
    app = _app(url, instance)
    runner = app.test_cli_runner()

    skipped = runner.invoke(main, ["db", "upgrade", "--no-backup"])

    assert skipped.exit_code == 0, skipped.output
    assert f"Database upgraded from {FIRST} to {HEAD}" in skipped.output
    assert not folder.exists() or not list(folder.glob("*before-upgrade*"))
    again = runner.invoke(main, ["db", "upgrade"])
    assert "already at the newest schema" in again.output
    assert not folder.exists() or not list(folder.glob("*before-upgrade*"))


def test_db_upgrade_names_its_backup_and_the_backup_restores_the_old_release(
    release_db: Callable[[str], str], tmp_path: Path
) -> None:
    url = release_db(FIRST)
    instance = tmp_path / "instance"
    before = snapshot(url)
    result = _app(url, instance).test_cli_runner().invoke(main, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    written = [line for line in result.output.splitlines() if "before the upgrade" in line]
    path = Path(written[0].split(" written to ")[1].split(":")[0])
    assert path.name.startswith(f"kanban-before-upgrade-{FIRST}-")
    if url.startswith("sqlite"):
        assert path.parent == Path(sa.make_url(url).database or "").resolve().parent
        assert snapshot(f"sqlite:///{path}") == before
    else:
        assert path.parent == instance / "backups"
        verify_dump(path)


@pytest.mark.slow
def test_serve_backs_up_an_old_database_before_it_migrates(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    url = load_sqlite(FIRST, site / "kanban.db")
    server = start_server(url, site)
    try:
        log = server.log.read_text()
    finally:
        stop_server(server)
    assert "Backup before the upgrade written to" in log
    backups = list(site.glob(f"kanban-before-upgrade-{FIRST}-*.db"))
    assert len(backups) == 1
    assert _revision(f"sqlite:///{backups[0]}") == FIRST
    assert _revision(url) == HEAD


def test_a_backup_that_fails_its_check_stops_the_upgrade_before_it_starts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site = tmp_path / "site"
    site.mkdir()
    url = load_sqlite("703b8b3996a7", site / "kanban.db")
    with sqlite3.connect(site / "kanban.db") as con:
        page_size = con.execute("PRAGMA page_size").fetchone()[0]
        root = con.execute(
            "SELECT rootpage FROM sqlite_master WHERE type = 'index' AND tbl_name = 'movements'"
        ).fetchone()[0]
    with (site / "kanban.db").open("r+b") as raw:  # an index page damaged on disk
        raw.seek((root - 1) * page_size)
        raw.write(b"\x07" * page_size)

    with pytest.raises(SystemExit):
        upgrade_database(_app(url, site))

    said = capsys.readouterr().err
    assert "The backup before the upgrade failed, so nothing was migrated" in said
    assert "integrity check" in said
    assert _revision(url) == "703b8b3996a7"
    assert not list(site.glob("*before-upgrade*"))

"""``kanban restore``: a backup checked before it replaces anything, the old database kept
aside, never while a server runs; after a crash that left a WAL behind too."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import sqlite3
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests as http
import sqlalchemy as sa
from alembic.script import ScriptDirectory
from flask import Flask
from flask_migrate import upgrade

from kanban import create_app, paths
from kanban.extensions import db
from kanban.masterdata import bins as catalog
from kanban.models import Bin

from ..conftest import KANBAN, ROOT, kill_server, start_server, stop_server


def kanban(db_url: str, instance: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``kanban`` as an admin would, on this test's site."""
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "KANBAN_DATABASE_URL": db_url,
        "KANBAN_INSTANCE_PATH": str(instance),
        "KANBAN_SECRET_KEY": "test-secret",
    }
    return subprocess.run(
        [KANBAN, *args], env=env, capture_output=True, text=True, timeout=300, check=False
    )


def scan(url: str, token: str, code: str) -> Any:
    return http.post(
        f"{url}/api/scans",
        json={"code": code, "mode": "pull", "quantity": 1},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )


def feed(url: str, token: str, after: int) -> Any:
    answer = http.get(
        f"{url}/api/events?after={after}",
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def on_hand(code: str) -> int:
    db.session.remove()
    value = db.session.scalar(sa.select(Bin.on_hand).where(Bin.code == code))
    db.session.remove()
    return int(value or 0)


def let_go(app: Flask) -> None:
    """Close this test's own connections, as every process must before a restore."""
    db.session.remove()
    db.engine.dispose()


@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_restore_after_a_crash_that_left_a_wal_puts_the_backup_in_place_and_the_site_serves(
    app: Flask,
    db_url: str,
    instance: Path,
    tmp_path: Path,
    runner: Any,
    make_bin: Callable[..., str],
    make_token: Callable[[str], str],
) -> None:
    code = make_bin(on_hand=100, card=5)
    token = make_token("operator")
    backup = tmp_path / "nightly.db"
    assert runner.invoke(args=["backup", str(backup)]).exit_code == 0
    let_go(app)
    live = Path(db_url.removeprefix("sqlite:///"))

    server = start_server(db_url, instance)
    for _ in range(3):
        assert scan(server.url, token, code).status_code == 201
    seen = feed(server.url, token, 0)["last_id"]  # where an open board has got to
    kill_server(server)  # SIGKILL: its WAL stays behind, with the three scans in it
    wal = Path(f"{live}-wal")
    assert wal.exists() and wal.stat().st_size > 0

    done = kanban(db_url, instance, "restore", str(backup))
    assert done.returncode == 0, done.stderr
    aside = live.with_name(next(p.name for p in live.parent.glob("kanban-before-restore-*.db")))
    assert str(aside) in done.stdout
    assert Path(f"{aside}-wal").exists()  # the crash's WAL went aside with its database
    with sqlite3.connect(aside) as old:  # and still holds what was written before the crash
        assert old.execute("SELECT on_hand FROM bins").fetchone()[0] == 97
    assert on_hand(code) == 100

    server = start_server(db_url, instance)
    try:
        answer = scan(server.url, token, code)
        assert answer.status_code == 201, answer.text
        assert answer.json()["bin"]["on_hand"] == 99
        # A board open before the restore saw changes the restore took back: it reloads.
        assert feed(server.url, token, seen)["reset"] is True
    finally:
        stop_server(server)
    checked = kanban(db_url, instance, "check")
    assert checked.returncode == 0, checked.stderr
    let_go(app)


@pytest.mark.slow
def test_restore_refuses_while_a_server_runs_and_names_it(
    app: Flask,
    db_url: str,
    instance: Path,
    tmp_path: Path,
    runner: Any,
    make_bin: Callable[..., str],
) -> None:
    code = make_bin(on_hand=100)
    backup = tmp_path / "nightly.dump"
    assert runner.invoke(args=["backup", str(backup)]).exit_code == 0
    server = start_server(db_url, instance, workers=1)
    try:
        done = kanban(db_url, instance, "restore", str(backup))
    finally:
        stop_server(server)
    assert done.returncode == 1
    assert f"kanban serve (worker of pid {server.proc.pid}) on host {socket.gethostname()}" in (
        done.stderr
    )
    assert "running since" in done.stderr and "Nothing was changed" in done.stderr
    assert on_hand(code) == 100
    if db_url.startswith("sqlite"):
        assert list(instance.parent.glob("kanban-before-restore-*")) == []
        # A server stopped cleanly takes its announcement with it.
        assert list(instance.parent.glob("kanban.db.running-*")) == []


def test_restore_refuses_a_damaged_backup_and_changes_nothing(
    app: Flask, db_url: str, instance: Path, tmp_path: Path, make_bin: Callable[..., str]
) -> None:
    code = make_bin(on_hand=100)
    backup = tmp_path / "nightly.dump"
    backup.write_bytes(b"not a backup at all" * 1000)
    let_go(app)
    done = kanban(db_url, instance, "restore", str(backup))
    assert done.returncode == 1
    assert "Nothing was changed" in done.stderr
    assert on_hand(code) == 100
    if db_url.startswith("sqlite"):
        assert "integrity check" in done.stderr
        left = [p.name for p in tmp_path.iterdir() if "restor" in p.name]
        assert left == []  # neither a copy nor a database moved aside
    else:
        assert "not a readable pg_dump archive" in done.stderr


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_restore_refuses_a_backup_of_a_newer_release(
    app: Flask,
    db_url: str,
    instance: Path,
    tmp_path: Path,
    runner: Any,
    make_bin: Callable[..., str],
) -> None:
    make_bin(on_hand=100)
    backup = tmp_path / "nightly.db"
    assert runner.invoke(args=["backup", str(backup)]).exit_code == 0
    with contextlib.closing(sqlite3.connect(backup)) as conn, conn:
        conn.execute("UPDATE alembic_version SET version_num = 'f00dfeed0001'")
    let_go(app)
    done = kanban(db_url, instance, "restore", str(backup))
    assert done.returncode == 1
    assert "f00dfeed0001 is unknown to this release" in done.stderr
    assert list(tmp_path.glob("kanban-before-restore-*")) == []


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_restore_refuses_a_backup_that_kanban_check_finds_wrong(
    app: Flask,
    db_url: str,
    instance: Path,
    tmp_path: Path,
    runner: Any,
    make_bin: Callable[..., str],
) -> None:
    code = make_bin(on_hand=100)
    backup = tmp_path / "nightly.db"
    assert runner.invoke(args=["backup", str(backup)]).exit_code == 0
    with contextlib.closing(sqlite3.connect(backup)) as conn, conn:  # stock no movement explains
        conn.execute("UPDATE bins SET on_hand = 7")
    let_go(app)
    done = kanban(db_url, instance, "restore", str(backup))
    assert done.returncode == 1
    assert "`kanban check` finds 1 problem(s)" in done.stderr
    assert on_hand(code) == 100
    assert list(tmp_path.glob("kanban-before-restore-*")) == []


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_restore_on_postgresql_keeps_the_old_schema_and_the_site_role_owns_the_tables(
    app: Flask,
    db_url: str,
    instance: Path,
    tmp_path: Path,
    runner: Any,
    make_bin: Callable[..., str],
    api: Any,
) -> None:
    code = make_bin(on_hand=100, card=5)
    backup = tmp_path / "nightly.dump"
    assert runner.invoke(args=["backup", str(backup)]).exit_code == 0
    for _ in range(3):
        assert api.scan(code, quantity=1).status_code == 201
    let_go(app)

    done = kanban(db_url, instance, "restore", str(backup))
    assert done.returncode == 0, done.stderr
    aside = done.stdout.split("kept aside as schema ", 1)[1].split(".", 1)[0]
    try:
        assert on_hand(code) == 100
        with db.engine.connect() as conn:
            # The schema's name is the one restore printed (a name of digits and _).
            kept = conn.scalar(sa.text(f'SELECT on_hand FROM "{aside}".bins'))  # noqa: S608
            owners = set(
                conn.scalars(
                    sa.text("SELECT tableowner FROM pg_tables WHERE schemaname = 'public'")
                )
            )
            me = conn.scalar(sa.text("SELECT current_user"))
        assert kept == 97 and owners == {me}
        assert api.scan(code, quantity=1).status_code == 201  # the restored site takes scans
        checked = kanban(db_url, instance, "check")
        assert checked.returncode == 0, checked.stderr
    finally:
        let_go(app)
        with db.engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{aside}" CASCADE'))
        let_go(app)


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_postgresql_restore_that_fails_its_check_puts_the_old_schema_back(
    app: Flask, db_url: str, instance: Path, tmp_path: Path, make_bin: Callable[..., str]
) -> None:
    code = make_bin(on_hand=100)
    backup = tmp_path / "wrong.dump"
    db.session.execute(sa.update(Bin).values(on_hand=7))  # stock no movement explains…
    db.session.commit()
    pg_dump = shutil.which("pg_dump") or "/usr/lib/postgresql/15/bin/pg_dump"
    dsn = sa.make_url(db_url).set(drivername="postgresql").render_as_string(hide_password=False)
    subprocess.run([pg_dump, "--format=custom", f"--file={backup}", dsn], check=True)
    db.session.execute(sa.update(Bin).values(on_hand=100))  # …in the dump only
    db.session.commit()
    let_go(app)

    done = kanban(db_url, instance, "restore", str(backup))
    assert done.returncode == 1
    assert "`kanban check` finds 1 problem(s)" in done.stderr
    assert "Nothing was changed" in done.stderr
    assert on_hand(code) == 100
    with db.engine.connect() as conn:
        left = conn.scalars(
            sa.text("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'kanban_before%'")
        ).all()
    assert left == []
    let_go(app)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_restore_refuses_while_an_outbox_worker_runs_and_not_once_it_stopped(
    app: Flask,
    db_url: str,
    instance: Path,
    tmp_path: Path,
    runner: Any,
    make_bin: Callable[..., str],
) -> None:
    make_bin(on_hand=100)
    backup = tmp_path / "nightly.db"
    assert runner.invoke(args=["backup", str(backup)]).exit_code == 0
    let_go(app)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "KANBAN_DATABASE_URL": db_url}
    worker = subprocess.Popen(
        [KANBAN, "worker"], env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL
    )
    try:
        assert worker.stderr is not None
        assert "Outbox worker started" in worker.stderr.readline().decode()
        refused = kanban(db_url, instance, "restore", str(backup))
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    assert refused.returncode == 1
    assert f"kanban worker on host {socket.gethostname()}, pid {worker.pid}" in refused.stderr
    done = kanban(db_url, instance, "restore", str(backup))
    assert done.returncode == 0, done.stderr


def test_a_backup_of_an_older_release_is_migrated_up_and_restored(
    tmp_path: Path, sqlite_template: Path
) -> None:
    script = ScriptDirectory(str(paths.MIGRATIONS))
    head = script.get_current_head()
    older = script.get_revision(head).down_revision
    backup = tmp_path / "old-release.db"
    old_app = create_app(
        {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{backup}", "INSTANCE_PATH": str(tmp_path)}
    )
    with old_app.app_context():
        upgrade(revision=older)
        db.engine.dispose()
    site = tmp_path / "site"
    site.mkdir()
    live = site / "kanban.db"
    live.write_bytes(sqlite_template.read_bytes())

    done = kanban(f"sqlite:///{live}", site, "restore", str(backup))
    assert done.returncode == 0, done.stderr
    assert f"migrated to schema {head}" in done.stdout
    with contextlib.closing(sqlite3.connect(live)) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchone()[0] == head
    with contextlib.closing(sqlite3.connect(backup)) as conn:  # the backup is left as it was
        assert conn.execute("SELECT version_num FROM alembic_version").fetchone()[0] == older


@pytest.fixture
def owned_database(pg_server_url: str) -> Any:
    """A database owned by a role that is no superuser, as docs/manual/ops/deploy.md sets one up."""
    admin = sa.create_engine(pg_server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql("DROP DATABASE IF EXISTS kanban_owned WITH (FORCE)")
        conn.exec_driver_sql("DROP ROLE IF EXISTS kanban_site")
        conn.exec_driver_sql("CREATE ROLE kanban_site LOGIN")
        conn.exec_driver_sql("CREATE DATABASE kanban_owned OWNER kanban_site")
    url = sa.make_url(pg_server_url).set(username="kanban_site", database="kanban_owned")
    yield url.render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.exec_driver_sql("DROP DATABASE IF EXISTS kanban_owned WITH (FORCE)")
        conn.exec_driver_sql("DROP ROLE IF EXISTS kanban_site")
    admin.dispose()


@pytest.mark.slow
def test_restore_works_for_a_site_role_that_owns_its_database_and_nothing_else(
    owned_database: str, tmp_path: Path
) -> None:
    instance = tmp_path / "instance"
    assert kanban(owned_database, instance, "db", "upgrade").returncode == 0
    site = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": owned_database,
            "INSTANCE_PATH": str(instance),
            "SECRET_KEY": "x",
        }
    )
    with site.app_context():
        catalog.create_bin(
            "A-01-01",
            sku="S-1",
            item_name="Washer",
            zone="Line 1",
            supplier="Acme",
            on_hand=40,
            card_quantity=5,
            order_quantity=20,
        )
        db.session.commit()
        db.engine.dispose()
    backup = tmp_path / "nightly.dump"
    made = kanban(owned_database, instance, "backup", str(backup))
    assert made.returncode == 0, made.stderr

    done = kanban(owned_database, instance, "restore", str(backup))
    assert done.returncode == 0, done.stderr
    checked = kanban(owned_database, instance, "check")
    assert checked.returncode == 0, checked.stderr
    engine = sa.create_engine(owned_database)
    with engine.connect() as conn:
        owners = set(
            conn.scalars(sa.text("SELECT tableowner FROM pg_tables WHERE schemaname = 'public'"))
        )
        stock = conn.scalar(sa.text("SELECT on_hand FROM bins"))
    engine.dispose()
    assert owners == {"kanban_site"} and stock == 40


@pytest.mark.slow
def test_a_role_that_does_not_own_the_database_is_told_so_and_nothing_changes(
    pg_server_url: str, tmp_path: Path
) -> None:
    admin = sa.create_engine(pg_server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql("DROP DATABASE IF EXISTS kanban_theirs WITH (FORCE)")
        conn.exec_driver_sql("DROP ROLE IF EXISTS kanban_guest")
        conn.exec_driver_sql("CREATE ROLE kanban_guest LOGIN")
        conn.exec_driver_sql("CREATE DATABASE kanban_theirs")  # owned by the superuser
    owner = sa.make_url(pg_server_url).set(database="kanban_theirs")
    guest = owner.set(username="kanban_guest").render_as_string(hide_password=False)
    owner_url = owner.render_as_string(hide_password=False)
    instance = tmp_path / "instance"
    try:
        assert kanban(owner_url, instance, "db", "upgrade").returncode == 0
        backup = tmp_path / "nightly.dump"
        assert kanban(owner_url, instance, "backup", str(backup)).returncode == 0
        done = kanban(guest, instance, "restore", str(backup))
        assert done.returncode == 1
        assert "must be owner of schema public" in done.stderr
        assert "Nothing was changed" in done.stderr and "Traceback" not in done.stderr
        engine = sa.create_engine(owner_url)
        with engine.connect() as conn:
            tables = conn.scalar(
                sa.text("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
            )
        engine.dispose()
        assert tables and tables > 10
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql("DROP DATABASE IF EXISTS kanban_theirs WITH (FORCE)")
            conn.exec_driver_sql("DROP ROLE IF EXISTS kanban_guest")
        admin.dispose()

"""Fixtures: a fresh database per test on SQLite and on PostgreSQL, the app,
clients with tokens, factories, and a real server process."""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import functools
import inspect
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests as http
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from kanban import create_app
from kanban.auth import users as auth_service
from kanban.core.actor import Actor
from kanban.extensions import db
from kanban.masterdata import bins as catalog
from kanban.models import Bin, Movement
from kanban.stock.scanning import record_scan

from .pg import ThrowawayPostgres, free_port

pytest_plugins = ["tests.timing"]

ROOT = Path(__file__).resolve().parent.parent
BACKENDS = ["sqlite", "postgresql"]
KANBAN = str(Path(sys.executable).with_name("kanban"))


_STARTS_PROCESSES = re.compile(r"start_server\(|subprocess\.|Popen\(|\bKANBAN\b")


@functools.cache
def _starts_processes(func: Callable[..., Any]) -> bool:
    try:
        return bool(_STARTS_PROCESSES.search(inspect.getsource(func)))
    except (OSError, TypeError):
        return False


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark what ``make test-quick`` leaves out: tests on PostgreSQL (``postgresql``) and
    tests whose function or fixtures start a server or another process (``server``)."""
    for item in items:
        callspec = getattr(item, "callspec", None)
        on_pg = callspec is not None and callspec.params.get("db_url") == "postgresql"
        if on_pg or {"pg_server_url", "pg_database"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.postgresql)
        funcs = [getattr(item, "function", None)]
        info = getattr(item, "_fixtureinfo", None)
        if info is not None:
            funcs += [d.func for defs in info.name2fixturedefs.values() for d in defs]
        if any(f is not None and _starts_processes(f) for f in funcs):
            item.add_marker(pytest.mark.server)


def _migrate(url: str, instance: Path) -> None:
    from flask_migrate import upgrade

    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": url, "INSTANCE_PATH": str(instance), "SECRET_KEY": "test"}
    )
    with app.app_context():
        upgrade()
        db.engine.dispose()


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[str]:
    """A PostgreSQL server: KANBAN_TEST_POSTGRES_URL, or a throwaway one started here."""
    url = os.environ.get("KANBAN_TEST_POSTGRES_URL")
    if url:
        yield url
        return
    pg = ThrowawayPostgres().start()
    try:
        yield pg.url
    finally:
        pg.stop()


@pytest.fixture(scope="session")
def pg_database(
    pg_server_url: str, worker_id: str, tmp_path_factory: pytest.TempPathFactory
) -> str:
    """A migrated database for this test worker."""
    name = f"kanban_test_{worker_id}".replace("-", "_")
    admin = sa.create_engine(pg_server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    url = sa.make_url(pg_server_url).set(database=name).render_as_string(hide_password=False)
    _migrate(url, tmp_path_factory.mktemp("pg-instance"))
    return url


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (faster than migrating each time)."""
    folder = tmp_path_factory.mktemp("sqlite-template")
    path = folder / "kanban.db"
    _migrate(f"sqlite:///{path}", folder)
    return path


def truncate_all(url: str) -> None:
    """Empty every table of a migrated database (its schema and revision stay), and start
    its ids from 1 again: on PostgreSQL ``TRUNCATE … RESTART IDENTITY``; on SQLite a
    ``DELETE`` of every row in one transaction, which a server holding the file open
    sees at its next read."""
    tables = [t.name for t in db.metadata.sorted_tables]
    if url.startswith("sqlite"):
        conn = sqlite3.connect(sa.make_url(url).database or "", isolation_level=None, timeout=30)
        try:
            conn.execute("PRAGMA foreign_keys = OFF")
            conn.execute("BEGIN IMMEDIATE")
            # The append-only audit trail's triggers refuse a DELETE: they are put back, as
            # they were, in the same transaction (TRUNCATE does not fire them on PostgreSQL).
            triggers = conn.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger'"
            ).fetchall()
            for name, _sql in triggers:
                conn.execute(f'DROP TRIGGER "{name}"')
            for name in reversed(tables):
                conn.execute(f'DELETE FROM "{name}"')  # noqa: S608 (our own table names)
            if conn.execute(
                "SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'"
            ).fetchone():
                conn.execute("DELETE FROM sqlite_sequence")
            for _name, sql in triggers:
                conn.execute(sql)
            conn.execute("COMMIT")
        finally:
            conn.close()
        return
    engine = sa.create_engine(url)
    names = ", ".join(f'"{name}"' for name in tables)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"TRUNCATE TABLE {names} RESTART IDENTITY CASCADE")
    engine.dispose()


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, migrated database for this test: SQLite and again PostgreSQL."""
    if request.param == "sqlite":
        path = tmp_path / "kanban.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("pg_database")
    truncate_all(url)
    return url


@pytest.fixture
def instance(tmp_path: Path) -> Path:
    """The instance folder of the test app."""
    path = tmp_path / "instance"
    path.mkdir()
    return path


@pytest.fixture
def app(request: pytest.FixtureRequest, db_url: str, instance: Path) -> Iterator[Flask]:
    """The app on a fresh database; ``kanban check`` must pass when the test ends."""
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": db_url,
            "INSTANCE_PATH": str(instance),
            "SECRET_KEY": "test-secret",
            "TESTING": True,
        }
    )
    app.test_client_class = IsolatedClient
    ctx = app.app_context()
    ctx.push()
    yield app
    db.session.remove()
    if request.node.get_closest_marker("ledger_broken") is None:
        result = app.test_cli_runner().invoke(args=["check"])
        assert result.exit_code == 0, f"kanban check failed after the test:\n{result.output}"
    db.session.remove()
    db.engine.dispose()
    ctx.pop()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client (no login)."""
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> Any:
    """A CLI runner for ``kanban`` commands."""
    return app.test_cli_runner()


@pytest.fixture
def make_bin(app: Flask) -> Callable[..., str]:
    """Create a bin with defaults; returns its code."""

    def make(
        code: str = "A-01-01",
        *,
        on_hand: int = 10,
        card: int = 5,
        order: int = 20,
        pull: int = 1,
        supplier: str = "Acme Fasteners",
        pack: int = 1,
        zone: str = "Assembly line 1",
        sku: str | None = None,
        barcode: str | None = None,
        lead_time_days: int = 7,
    ) -> str:
        catalog.create_bin(
            code,
            sku=sku or f"SKU-{code}",
            item_name=f"Part in {code}",
            zone=zone,
            supplier=supplier,
            on_hand=on_hand,
            card_quantity=card,
            order_quantity=order,
            pull_quantity=pull,
            pack_multiple=pack,
            supplier_email="orders@acme.example",
            manufacturer_barcode=barcode,
            lead_time_days=lead_time_days,
        )
        db.session.commit()
        return code

    return make


@pytest.fixture
def make_token(app: Flask) -> Callable[[str], str]:
    """Create a device token of a role; returns the plain token."""

    def make(role: str = "operator", name: str | None = None) -> str:
        _, plain = auth_service.create_token(name or f"{role} device", role)
        db.session.commit()
        return plain

    return make


@pytest.fixture
def make_user(app: Flask) -> Callable[..., str]:
    """Create a user; returns the username (password is 'password-<name>')."""

    def make(name: str = "ana", role: str = "operator") -> str:
        auth_service.create_user(name, f"password-{name}", role)
        db.session.commit()
        return name

    return make


class Api:
    """Repeated API calls with a bearer token (the "actions" helper)."""

    def __init__(self, client: FlaskClient, token: str) -> None:
        self.client = client
        self.token = token

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def scan(
        self,
        code: str,
        mode: str = "pull",
        quantity: int | None = None,
        scan_id: str | None = None,
        **extra: Any,
    ) -> Any:
        body: dict[str, Any] = {"code": code, "mode": mode, **extra}
        if quantity is not None:
            body["quantity"] = quantity
        if scan_id is not None:
            body["scan_id"] = scan_id
        return self.client.post("/api/scans", json=body, headers=self.headers())

    def get(self, path: str) -> Any:
        return self.client.get(path, headers=self.headers())

    def post(self, path: str, **kwargs: Any) -> Any:
        return self.client.post(path, headers=self.headers(), **kwargs)


@pytest.fixture
def api(client: FlaskClient, make_token: Callable[[str], str]) -> Api:
    """API calls as an operator device."""
    return Api(client, make_token("operator"))


@pytest.fixture
def supervisor_api(client: FlaskClient, make_token: Callable[[str], str]) -> Api:
    """API calls as a supervisor device."""
    return Api(client, make_token("supervisor"))


class IsolatedClient(FlaskClient):
    """A test client whose requests run in a fresh context, as in production.

    The test itself keeps an app context pushed (to use the database); without
    this, Flask would reuse it for requests and share ``g`` (the logged-in
    principal) and the database session between them.
    """

    def open(self, *args: Any, **kwargs: Any) -> Any:
        return contextvars.Context().run(super().open, *args, **kwargs)


class LiveServer:
    """``kanban serve`` in a subprocess on a free port."""

    def __init__(self, url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
        self.url = url
        self.proc = proc
        self.log = log


def start_server(
    db_url: str,
    instance: Path,
    *,
    workers: int = 2,
    threads: int = 16,
    extra_env: dict[str, str] | None = None,
    port: int | None = None,
    extra_args: tuple[str, ...] = (),
) -> LiveServer:
    """Start the production server (on a free port unless given) and wait until it answers."""
    port = port or free_port()
    env = {
        **os.environ,
        # This checkout's code, whichever checkout the virtualenv was installed from (an
        # editable install points at one folder; git worktrees share the venv).
        "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p),
        "KANBAN_DATABASE_URL": db_url,
        "KANBAN_INSTANCE_PATH": str(instance),
        "KANBAN_SECRET_KEY": "test-secret",
        **(extra_env or {}),
    }
    instance.mkdir(parents=True, exist_ok=True)
    log = instance / f"server-{port}.log"
    proc = subprocess.Popen(
        [
            KANBAN,
            "serve",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--threads",
            str(threads),
            *extra_args,
        ],
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        cwd=instance,
        start_new_session=True,  # its own process group: see kill_server
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    try:
        while time.time() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited:\n{log.read_text()}")
            try:
                # A first answer can take seconds on a busy machine (the worker imports
                # and compiles): a read that times out is tried again, not an error.
                if http.get(url + "/login", timeout=(1, 10)).status_code == 200:
                    return LiveServer(url, proc, log)
            except http.RequestException:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"server did not start:\n{log.read_text()}")
    except BaseException:
        # Never leave it running: a stray server would lead the outbox of the tests that
        # use this database after this one.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        raise


def kill_server(server: LiveServer) -> None:
    """Crash the server: SIGKILL to the master and its workers at once, mid-request."""
    os.killpg(server.proc.pid, signal.SIGKILL)
    server.proc.wait()


def stop_server(server: LiveServer) -> None:
    """Stop the server gracefully."""
    server.proc.terminate()
    try:
        server.proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.proc.kill()
        server.proc.wait()


@pytest.fixture
def live_server(app: Flask, db_url: str, instance: Path) -> Iterator[LiveServer]:
    """A real server process on this test's database."""
    server = start_server(db_url, instance)
    yield server
    stop_server(server)


def pull_history(code: str, per_day: int, days: int) -> None:
    """``per_day`` pulled on each of the last ``days`` days (and the bin opened before)."""
    today = dt.datetime.now(dt.UTC).date()
    bin_id = db.session.scalar(sa.select(Bin.id).where(Bin.code == code))
    opening = db.session.scalar(
        sa.select(sa.func.min(Movement.id)).where(Movement.bin_id == bin_id)
    )
    moved = {opening: days + 5}
    for n in range(days):
        done = record_scan(code, "pull", per_day, Actor(name="ana"), None, confirm=True)
        moved[done.movement_id] = n
    for movement_id, days_ago in moved.items():
        when = dt.datetime.combine(today - dt.timedelta(days=days_ago), dt.time(9), tzinfo=dt.UTC)
        db.session.execute(
            sa.update(Movement).where(Movement.id == movement_id).values(created_at=when)
        )
    db.session.commit()

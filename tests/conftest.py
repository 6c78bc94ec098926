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

import jinja2
import jinja2.bccache
import pytest
import requests as http
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.routing import Rule

from kanban import create_app
from kanban.auth import users as auth_service
from kanban.core.actor import Actor
from kanban.extensions import db
from kanban.masterdata import bins as catalog
from kanban.models import Bin, Movement
from kanban.stock.scanning import record_scan

from .pg import ThrowawayPostgres, free_port, new_database

pytest_plugins = ["tests.timing"]

ROOT = Path(__file__).resolve().parent.parent
BACKENDS = ["sqlite", "postgresql"]
#: The tests' apps hash passwords with scrypt at a 32nd of the product's cost (n=2**10 for
#: 2**15): the same code and method, and a hash costs a millisecond rather than the most
#: of a test's time. tests/auth/test_logins.py checks the product's own default.
TEST_PASSWORD_HASH = "scrypt:1024:8:1"
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
    _longest_files_first(items)


#: A rough cost of one test, in seconds, by what it does: enough to tell a long file from
#: a short one (tests/timing.py reports what they really took).
_COST = {"browser": 4.0, "server": 2.0, "postgresql": 0.4}


def _longest_files_first(items: list[pytest.Item]) -> None:
    """Order the files by their rough cost, the longest first, each file's tests in their
    own order. The workers take a file at a time (``--dist loadfile``) in this order
    (``--no-loadscope-reorder``), so the run does not end waiting on one long file that was
    handed out last."""
    cost: dict[str, float] = {}
    for item in items:
        path = str(item.path)
        each = 0.25 if "db_url" in getattr(item, "fixturenames", ()) else 0.02
        if f"{os.sep}browser{os.sep}" in path:
            each = _COST["browser"]
        else:
            for marker, seconds in _COST.items():
                if item.get_closest_marker(marker) is not None:
                    each = max(each, seconds)
        cost[path] = cost.get(path, 0.0) + each
    order = {id(item): n for n, item in enumerate(items)}
    items.sort(key=lambda item: (-cost[str(item.path)], order[id(item)]))


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
    url = new_database(pg_server_url, f"kanban_test_{worker_id}".replace("-", "_"))
    _migrate(url, tmp_path_factory.mktemp("pg-instance"))
    return url


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (faster than migrating each time)."""
    folder = tmp_path_factory.mktemp("sqlite-template")
    path = folder / "kanban.db"
    _migrate(f"sqlite:///{path}", folder)
    return path


def empty_tables(url: str) -> None:
    """Empty every table of a migrated database (its schema and revision stay) in one
    transaction, which a server holding the database open sees at its next read, and start
    its ids from 1 again."""
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
    # On PostgreSQL a DELETE of the few rows a test wrote costs a fifth of a TRUNCATE (which
    # makes every table's files anew). Triggers, those of the foreign keys and of the
    # append-only audit trail, are off for this transaction (``session_replication_role``:
    # the tests connect as a superuser); every sequence starts again at 1.
    with _admin_engine(url).begin() as conn:
        conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
        for name in tables:
            conn.exec_driver_sql(f'DELETE FROM "{name}"')  # noqa: S608 (our own table names)
        sequences = conn.exec_driver_sql(
            "SELECT sequencename FROM pg_sequences WHERE schemaname = current_schema()"
        ).scalars()
        for sequence in list(sequences):
            conn.exec_driver_sql(f'ALTER SEQUENCE "{sequence}" RESTART')


def truncate_postgresql(url: str) -> None:
    """Empty a PostgreSQL database with ``TRUNCATE … RESTART IDENTITY``, which also gives
    every table new, empty files: for a test of the planner's choices, which depend on a
    table's size on disk and not only on its rows."""
    names = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
    with _admin_engine(url).begin() as conn:
        conn.exec_driver_sql(f"TRUNCATE TABLE {names} RESTART IDENTITY CASCADE")


@functools.cache
def _admin_engine(url: str) -> sa.Engine:
    """An engine that holds no connection between uses (a database with one open cannot be
    copied or dropped)."""
    return sa.create_engine(url, poolclass=sa.pool.NullPool)


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, migrated database for this test: SQLite and again PostgreSQL."""
    return empty_database(request, tmp_path)


def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty, migrated database on the test's backend (``request.param``)."""
    if request.param == "sqlite":
        path = tmp_path / "kanban.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("pg_database")
    empty_tables(url)
    return url


class SeededDatabases:
    """Seeded databases built once per test worker; each test gets a copy of its own.

    A seed (the demo, ``seed-load``) takes seconds; copying its result takes a fraction of
    one: a file copy on SQLite, ``CREATE DATABASE … TEMPLATE`` on PostgreSQL. ``seed`` runs
    in an app context on a freshly migrated database and its return value (e.g. what a
    command printed) is kept with the template.
    """

    def __init__(self, folder: Path, worker_id: str) -> None:
        self.folder = folder
        self.worker = worker_id.replace("-", "_")
        self.built: dict[tuple[str, str], tuple[str, Any]] = {}

    def copy(
        self, request: pytest.FixtureRequest, key: str, seed: Callable[[], Any], into: Path
    ) -> tuple[str, Any]:
        """A copy of the ``key`` seed, on the backend the test runs on (``request.param``),
        for one test: its URL, and what the seed returned."""
        backend: str = request.param
        if (backend, key) not in self.built:
            self.built[backend, key] = self._build(request, key, seed)
        template, result = self.built[backend, key]
        if backend == "sqlite":
            path = into / "kanban.db"
            shutil.copy(template, path)
            return f"sqlite:///{path}", result
        server: str = request.getfixturevalue("pg_server_url")
        return new_database(server, f"kanban_copy_{self.worker}", template), result

    def _build(
        self, request: pytest.FixtureRequest, key: str, seed: Callable[[], Any]
    ) -> tuple[str, Any]:
        name = re.sub(r"\W", "_", key)
        if request.param == "sqlite":
            path = self.folder / f"{name}.db"
            shutil.copy(request.getfixturevalue("sqlite_template"), path)
            return str(path), self._seed(f"sqlite:///{path}", seed)
        migrated: str = request.getfixturevalue("pg_database")
        empty_tables(migrated)
        template = f"kanban_seed_{name}_{self.worker}"
        server: str = request.getfixturevalue("pg_server_url")
        url = new_database(server, template, sa.make_url(migrated).database)
        return template, self._seed(url, seed)

    def _seed(self, url: str, seed: Callable[[], Any]) -> Any:
        app = create_app(
            {
                "SQLALCHEMY_DATABASE_URI": url,
                "INSTANCE_PATH": str(self.folder),
                "SECRET_KEY": "t",
                "PASSWORD_HASH_METHOD": TEST_PASSWORD_HASH,
            }
        )
        with app.app_context():
            result = seed()
            db.session.commit()
            db.session.remove()
            db.engine.dispose()
        return result


@pytest.fixture(scope="session")
def seeded_databases(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> SeededDatabases:
    """Seeded databases built once per worker and copied for each test (see the class)."""
    return SeededDatabases(tmp_path_factory.mktemp("seeded"), worker_id)


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
            "PASSWORD_HASH_METHOD": TEST_PASSWORD_HASH,
        }
    )
    app.test_client_class = IsolatedClient
    app.jinja_env.bytecode_cache = TEMPLATES
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
        auth_service.create_user(name, f"password-{name}", role, hash_method=TEST_PASSWORD_HASH)
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


class SharedTemplates(jinja2.BytecodeCache):
    """Compiled templates shared by the apps of one test worker. Each test's app has a Jinja
    environment of its own, which would otherwise parse and compile every template it
    renders again; Jinja checks each entry against the template's source before using it."""

    def __init__(self) -> None:
        self.compiled: dict[str, bytes] = {}

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        if bucket.key in self.compiled:
            bucket.bytecode_from_string(self.compiled[bucket.key])

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        self.compiled[bucket.key] = bucket.bytecode_to_string()


TEMPLATES = SharedTemplates()


def _share_url_builders() -> None:
    """Share werkzeug's generated URL-building functions between the apps of one worker.

    Werkzeug writes and compiles two small Python functions for every URL rule each time
    an app is made: nine tenths of ``create_app``, made once per test. A builder's code
    depends only on the rule's parsed parts, its defaults and its converters, so the apps
    of one worker can share it; each rule still binds it to itself. Without the private
    method this relies on (another werkzeug), nothing is shared and tests are only slower.
    """
    compile_builder = getattr(Rule, "_compile_builder", None)
    if compile_builder is None or getattr(compile_builder, "shared", False):
        return
    built: dict[tuple[Any, ...], Any] = {}

    @functools.wraps(compile_builder)
    def shared(rule: Rule, append_unknown: bool = True) -> Any:
        converters = tuple(
            (name, type(c).__qualname__, c.regex) for name, c in rule._converters.items()
        )
        key = (tuple(rule._trace), repr(rule.defaults), converters, append_unknown)
        if key not in built:
            built[key] = compile_builder(rule, append_unknown)
        return built[key]

    shared.shared = True  # type: ignore[attr-defined]
    Rule._compile_builder = shared  # type: ignore[method-assign]


_share_url_builders()


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

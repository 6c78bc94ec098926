"""Real-browser fixtures: Playwright driving Debian's Chromium (see shared TESTING.md)."""

from __future__ import annotations

import contextlib
import os
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ..conftest import (
    BACKENDS,
    LiveServer,
    empty_database,
    empty_tables,
    start_server,
    stop_server,
)

CHROMIUM = os.environ.get("KANBAN_CHROMIUM", "/usr/bin/chromium")
BASE_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-default-apps",
    "--disable-quic",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """A failed browser test says what each of its pages showed and what its server logged,
    so that a failure seen once on a CI machine can be explained from its output alone."""
    outcome = yield
    report = outcome.get_result()
    funcargs = getattr(item, "funcargs", {})
    if report.when != "call" or not report.failed or "browser" not in funcargs:
        return
    seen = []
    for context in funcargs["browser"].contexts:
        for page in context.pages:
            try:
                body = page.inner_text("body", timeout=2_000)
            except Exception as exc:  # the page may be closed or hung: say so
                body = f"(no text: {exc})"
            seen.append(f"{page.url}\n{body[:1_500]}")
    report.sections.append(("browser pages", "\n\n".join(seen) or "(no page open)"))
    server = funcargs.get("live_server")
    if isinstance(server, LiveServer) and server.log.exists():
        lines = server.log.read_text(errors="replace").splitlines()
        report.sections.append(("server log (last 60 lines)", "\n".join(lines[-60:])))


@pytest.fixture(scope="module", params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """One migrated database for the module's tests on each backend (emptied before each
    test by ``fresh_database``), so that one server serves them all."""
    return empty_database(request, tmp_path_factory.mktemp("browser-db"))


@pytest.fixture(autouse=True)
def fresh_database(db_url: str) -> None:
    """Each test starts on an empty database, as it would with a server of its own."""
    empty_tables(db_url)


@pytest.fixture(scope="module")
def server_env() -> dict[str, str]:
    """Settings of the module's server (a module overrides this for a site of its own)."""
    return {}


@pytest.fixture(scope="module")
def live_server(
    db_url: str, server_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """``kanban serve`` on the module's database, started once for all of its tests: a
    server keeps nothing of a test in memory that the next could see (sessions, login
    failures, scans and the feed all live in the emptied database)."""
    server = start_server(db_url, tmp_path_factory.mktemp("server"), extra_env=server_env)
    yield server
    stop_server(server)


@pytest.fixture(scope="session")
def playwright_instance() -> Iterator[Any]:
    """The Playwright driver (one per test session)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="session")
def browser(playwright_instance: Any) -> Iterator[Any]:
    """Headless Debian Chromium."""
    browser = playwright_instance.chromium.launch(
        executable_path=CHROMIUM, args=BASE_ARGS, headless=True
    )
    yield browser
    browser.close()


@pytest.fixture
def launch_chromium(playwright_instance: Any) -> Iterator[Callable[..., Any]]:
    """Launch a separate Chromium with extra flags (e.g. a fake camera); closed after."""
    launched: list[Any] = []

    def launch(*extra_args: str) -> Any:
        b = playwright_instance.chromium.launch(
            executable_path=CHROMIUM, args=[*BASE_ARGS, *extra_args], headless=True
        )
        launched.append(b)
        return b

    yield launch
    for b in launched:
        b.close()


@pytest.fixture
def artifacts_dir() -> Path:
    """Where screenshots are saved (kept by CI as test artifacts)."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


def login(page: Any, base_url: str, username: str, password: str) -> None:
    """Log in through the real login form."""
    page.goto(f"{base_url}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)


@pytest.fixture
def logged_in(
    browser: Any, live_server: LiveServer, make_user: Callable[..., str]
) -> Iterator[Callable[..., Any]]:
    """Open a new page logged in as a fresh user of a role: ``logged_in("supervisor")``."""
    contexts: list[Any] = []

    def open_page(role: str = "operator", name: str | None = None, **context_args: Any) -> Any:
        username = make_user(name or f"{role}1", role)
        context = browser.new_context(**context_args)
        contexts.append(context)
        page = context.new_page()
        login(page, live_server.url, username, f"password-{username}")
        return page

    yield open_page
    for context in contexts:
        context.close()


class CuttableProxy:
    """A TCP relay in front of the server whose open connections can be cut at once.

    Blocking new requests with ``page.route`` does not end the event stream that is
    already open; cutting the relay does, as a pulled network cable would. Setting
    ``down`` refuses new connections too, which ``page.route`` cannot do for requests a
    service worker makes.
    """

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.down = False  # when set, new connections are closed at once (server unreachable)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.sockets: set[socket.socket] = set()
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.down:
                client.close()
                continue
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            with self.lock:
                self.sockets |= {client, upstream}
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := src.recv(65536):
                dst.sendall(data)
        for s in (src, dst):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        """Break every open connection (new ones still work)."""
        with self.lock:
            for s in self.sockets:
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
            self.sockets.clear()

    def close(self) -> None:
        self.listener.close()
        self.cut()


@pytest.fixture
def errors() -> Iterator[list[str]]:
    """Collects JavaScript errors of the pages a test attaches it to; none are allowed."""
    found: list[str] = []
    yield found
    assert not found, f"JavaScript errors: {found}"

"""What ``kanban serve`` and ``kanban restore`` share: the check before serving, the
gunicorn server with its workers' announcements, the newest schema revision."""

from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa
from alembic.script import ScriptDirectory
from flask import Flask

from . import config, paths
from .cli_common import fail
from .extensions import db
from .ops import presence
from .ops import restore as restore_service
from .ops.worker import make_drainer

log = logging.getLogger("kanban")


def refuse_damaged(url: str) -> None:
    """Serve no damaged SQLite database: ``PRAGMA quick_check`` first (seconds for a big
    site), since every scan on it would fail."""
    path = config.sqlite_path(url)
    if path is None or not path.exists() or path.stat().st_size == 0:
        return
    problem = restore_service.damaged(path)
    if problem:
        fail(
            f"the database {path} is damaged ({problem}); not serving it. Restore the newest "
            "backup with `kanban restore BACKUP` (docs/manual/ops/deploy.md, Restoring)."
        )


def schema_head() -> str:
    """The newest schema revision this release knows."""
    return str(ScriptDirectory(str(paths.MIGRATIONS)).get_current_head())


def _announce(app: Flask, role: str) -> None:
    """Seen by `kanban restore` for as long as this process lives (ops/presence.py)."""
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    try:
        app.extensions["kanban.presence"] = presence.announce(url, role)
    except (OSError, sa.exc.SQLAlchemyError):
        # A database that does not answer at a worker's start must not stop the server
        # from starting (the pool reconnects); say what is missing instead.
        log.exception("this process could not announce itself: kanban restore cannot see it")


def _leave(app: Flask) -> None:
    """A worker's clean exit: its outbox worker stopped, its announcement taken back."""
    drainer = app.extensions.get("kanban.drainer")
    if drainer is not None:
        drainer.stop(timeout=4)  # within gunicorn's graceful timeout
    here = app.extensions.get("kanban.presence")
    if here is not None:
        here.close()


def run_server(
    app: Flask,
    host: str,
    port: int,
    workers: int,
    threads: int,
    certfile: str | None = None,
    keyfile: str | None = None,
    *,
    outbox_worker: bool = True,
) -> None:
    """Serve ``app`` with gunicorn and the outbox worker (unless told not to)."""
    from gunicorn.app.base import BaseApplication

    class Server(BaseApplication):
        def load_config(self) -> None:
            options: dict[str, Any] = {
                "bind": f"{host}:{port}",
                "workers": workers,
                "threads": threads,
                "worker_class": "gthread",
                "timeout": 120,
                "graceful_timeout": 5,
                "accesslog": app.config.get("ACCESS_LOG"),
                # Tokens, Authorization headers and cookies never reach the access log.
                "logger_class": "kanban.ops.accesslog.RedactingLogger",
                # X-Forwarded-Proto is read by the app, from trusted proxies only (web/proxies.py).
                "secure_scheme_headers": {},
                "certfile": certfile,
                "keyfile": keyfile,
            }
            # No gunicorn control socket (25.1+): unused, a service's home is read-only,
            # and two servers on one machine would share its one path (~/.gunicorn).
            if "control_socket_disable" in self.cfg.settings:
                options["control_socket_disable"] = True
            for key, value in options.items():
                if value is not None:
                    self.cfg.set(key, value)

        def load(self) -> Flask:
            return app

    def post_fork(server: Any, _worker: Any) -> None:
        # Connections opened in the master (migrations) must not be shared.
        with app.app_context():
            db.engine.dispose(close=False)
        _announce(app, f"kanban serve (worker of pid {server.pid})")
        if outbox_worker:  # every worker stands by; one of them drains the outbox
            drainer = app.extensions["kanban.drainer"] = make_drainer(app)
            drainer.start()

    def worker_exit(_server: Any, _worker: Any) -> None:
        _leave(app)

    with app.app_context():
        db.engine.dispose()
    server = Server()
    server.cfg.set("post_fork", post_fork)
    server.cfg.set("worker_exit", worker_exit)
    server.run()

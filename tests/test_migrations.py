"""Schema changes go through migrations, and a restart never loses data."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest
import requests as http
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask

from kanban import create_app
from kanban.cli_db import upgrade_database
from kanban.extensions import db

from .conftest import KANBAN, start_server, stop_server
from .upgrade.releases import load_sqlite


def test_models_match_the_migrations(app: Flask) -> None:
    with db.engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), db.metadata)
    assert diffs == []


def test_after_an_upgrade_the_apps_connections_check_foreign_keys_again(tmp_path: Path) -> None:
    # The migrations run with foreign keys off on SQLite; the connection they used goes
    # back to the app's pool and must enforce them again.
    url = load_sqlite("9fcb6c4a2ece", tmp_path / "kanban.db")
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "INSTANCE_PATH": str(tmp_path)})
    upgrade_database(app, backup=False)
    with app.app_context():
        for _ in range(app.extensions["sqlalchemy"].engines[None].pool.size() + 1):
            with db.engine.connect() as conn:
                assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        with pytest.raises(sa.exc.IntegrityError), db.engine.begin() as conn:
            conn.exec_driver_sql("UPDATE movements SET bin_id = 999999 WHERE id = 1")
        db.engine.dispose()


@pytest.mark.slow
def test_first_start_creates_database_and_restart_keeps_data(tmp_path: Path) -> None:
    instance = tmp_path / "instance"
    url = f"sqlite:///{instance / 'kanban.db'}"
    server = start_server(url, instance)  # migrates an empty instance by itself
    try:
        assert (instance / "kanban.db").exists()
    finally:
        stop_server(server)
    env = {**os.environ, "KANBAN_DATABASE_URL": url, "KANBAN_INSTANCE_PATH": str(instance)}
    subprocess.run(
        [KANBAN, "create-user", "ana", "--role", "operator", "--password", "long-password"],
        env=env,
        check=True,
        capture_output=True,
    )
    server = start_server(url, instance)  # a later start migrates without losing data
    try:
        session = http.Session()
        page = session.get(server.url + "/login")
        import re

        csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
        resp = session.post(
            server.url + "/login",
            data={"username": "ana", "password": "long-password", "csrf_token": csrf},
        )
        assert resp.status_code == 200 and "Board" in resp.text
    finally:
        stop_server(server)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "INSTANCE_PATH": str(instance)})
    with app.app_context():
        version = db.session.scalar(sa.text("SELECT version_num FROM alembic_version"))
        assert version
        mode = db.session.scalar(sa.text("PRAGMA journal_mode"))
        assert mode == "wal"
        assert db.session.scalar(sa.text("PRAGMA foreign_keys")) == 1
        assert db.session.scalar(sa.text("PRAGMA busy_timeout")) >= 5000
        db.engine.dispose()
    _ = time

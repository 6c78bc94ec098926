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
from kanban.extensions import db

from .conftest import KANBAN, start_server, stop_server


def test_models_match_the_migrations(app: Flask) -> None:
    with db.engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), db.metadata)
    assert diffs == []


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

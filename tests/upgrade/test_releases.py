"""Every earlier release upgrades with its data, on SQLite and on PostgreSQL.

Each file in tests/data/releases is a database made by the code of a release (seeded demo,
pulls, a sent request, a partial receipt). A new migration must add its own file there.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory
from flask import Flask

import kanban
from kanban import create_app
from kanban.auth import users as auth_service
from kanban.cli_db import upgrade_database
from kanban.extensions import db

from .releases import FOLDER, REVISIONS, facts

SCRIPT = ScriptDirectory(str(Path(kanban.__file__).parent / "migrations"))
HEAD = SCRIPT.get_current_head()
#: Demo logins of every release so far (kanban/ops/demo.py).
OLD_LOGIN = ("ana", "kanban-ana")


def _app(url: str, instance: Path) -> Flask:
    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "INSTANCE_PATH": str(instance),
            "SECRET_KEY": "test-secret",
            "TESTING": True,
        }
    )


def test_the_newest_migration_has_a_database_of_its_release() -> None:
    every = {rev.revision for rev in SCRIPT.walk_revisions()}
    assert HEAD in REVISIONS, (
        f"tests/data/releases has no database of revision {HEAD}: "
        "run tests/data/releases/build.py (see the README there)"
    )
    assert set(REVISIONS) == every
    for revision in REVISIONS:
        assert (FOLDER / f"{revision}.pg.sql.gz").is_file()


@pytest.mark.parametrize("revision", REVISIONS)
def test_a_release_upgrades_with_all_its_data(
    revision: str,
    release_db: Callable[[str], str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = release_db(revision)
    before = facts(url)
    assert before["revision"] == revision
    assert before["counts"]["movements"] > 100 and before["passwords"]
    app = _app(url, tmp_path / "instance")

    upgrade_database(app)

    after = facts(url)
    assert after["revision"] == HEAD
    for table, count in before["counts"].items():
        assert after["counts"][table] == count, table
    assert after["on_hand"] == before["on_hand"]
    assert after["passwords"] == before["passwords"]
    assert after["tokens"] == before["tokens"]
    said = capsys.readouterr().err
    if revision != HEAD:
        backup = re.search(r"Backup before the upgrade written to (\S+):", said)
        assert backup and Path(backup.group(1)).is_file(), said
        assert f"{len(before['on_hand'])} bins, {before['counts']['movements']} movements" in said

    with app.app_context():
        checked = app.test_cli_runner().invoke(args=["check"])
        assert checked.exit_code == 0, checked.output

        client = app.test_client()
        page = client.get("/login").get_data(as_text=True)
        csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
        assert csrf
        name, password = OLD_LOGIN
        client.post(
            "/login", data={"username": name, "password": password, "csrf_token": csrf.group(1)}
        )
        who = client.get("/api/whoami")
        assert who.status_code == 200 and who.get_json()["name"] == name, who.get_data()

        code, quantity = db.session.execute(
            sa.text(
                "SELECT b.code, m.quantity FROM movements m JOIN bins b ON b.id = m.bin_id "
                "WHERE m.scan_id = 'release-pull-1'"
            )
        ).one()
        _, token = auth_service.create_token("after the upgrade", "operator")
        db.session.commit()
        moved = facts(url)
        replay = client.post(
            "/api/scans",
            json={
                "code": code,
                "mode": "pull",
                "quantity": abs(quantity),
                "scan_id": "release-pull-1",
                "confirm": True,
            },
            headers={"Authorization": f"Bearer {token}"},
        )
        assert replay.status_code == 200, replay.get_data(as_text=True)
        assert replay.get_json()["replayed"] is True
        unmoved = facts(url)
        assert unmoved["on_hand"] == moved["on_hand"]
        assert unmoved["counts"]["movements"] == moved["counts"]["movements"]
        db.session.remove()
        db.engine.dispose()

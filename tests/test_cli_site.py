"""The release a site runs, its start-up checks, and no site made by accident: ``kanban``
as a real process in a folder of its own, with no ``KANBAN_*`` variable set."""

from __future__ import annotations

import os
import re
import subprocess
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from kanban import create_app
from kanban.version import version

from .conftest import KANBAN, ROOT
from .pg import free_port


def run(folder: Path, *args: str, **extra_env: str) -> subprocess.CompletedProcess[str]:
    """``kanban ARGS`` in ``folder``, with no KANBAN_* variable but ``extra_env``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KANBAN_")}
    env.update(PYTHONPATH=str(ROOT), **extra_env)
    return subprocess.run(
        [KANBAN, *args], cwd=folder, env=env, capture_output=True, text=True, timeout=120
    )


def test_version_is_the_same_in_pyproject_the_command_and_the_changelog(tmp_path: Path) -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    changelog = (ROOT / "docs" / "manual" / "ops" / "changelog.md").read_text()
    newest = re.search(r"^## (\d+\.\d+\.\d+) — \d{4}-\d\d-\d\d$", changelog, re.M)
    assert newest is not None, (
        "docs/manual/ops/changelog.md needs a heading '## X.Y.Z — YYYY-MM-DD'"
    )
    shown = run(tmp_path, "--version")
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.strip() == f"kanban {pyproject}"
    assert newest.group(1) == pyproject == version()
    assert pyproject != "0.1.0"  # every release before this one was called 0.1.0


def test_an_installed_package_reads_its_version_from_its_metadata(tmp_path: Path) -> None:
    from importlib import metadata

    # No pyproject.toml beside the package (a wheel): the installed metadata speaks.
    assert version(tmp_path) == metadata.version("kanban-board")


@pytest.mark.parametrize(
    "args",
    [
        ("--help",),
        ("--version",),
        ("check",),
        ("export",),
        ("create-user", "ana", "--role", "operator", "--password", "a-long-password-1"),
        ("db", "current"),
        ("check", "--help"),
        ("serve", "--help"),
    ],
)
def test_no_command_but_those_that_set_up_a_site_creates_anything(
    tmp_path: Path, args: tuple[str, ...]
) -> None:
    done = run(tmp_path, *args)
    assert sorted(os.listdir(tmp_path)) == []
    if args[0] in ("--help", "--version") or "--help" in args:
        assert done.returncode == 0, done.stderr
    else:
        assert done.returncode == 1
        assert "no site is configured here" in done.stderr
        assert "KANBAN_INSTANCE_PATH" in done.stderr and "KANBAN_DATABASE_URL" in done.stderr
        assert "Traceback" not in done.stderr


def test_db_upgrade_sets_up_a_site_that_other_commands_then_use(tmp_path: Path) -> None:
    assert run(tmp_path, "db", "upgrade").returncode == 0
    assert sorted(os.listdir(tmp_path / "instance")) == ["kanban.db", "secret_key"]
    checked = run(tmp_path, "check")
    assert checked.returncode == 0, checked.stderr


def test_a_mistyped_setting_is_named_with_the_one_it_was_meant_to_be(tmp_path: Path) -> None:
    done = run(tmp_path, "check", KANBAN_DATABASE_URI=f"sqlite:///{tmp_path}/site.db")
    assert (
        "Warning: unknown setting KANBAN_DATABASE_URI is ignored; did you mean "
        "KANBAN_DATABASE_URL?" in done.stderr
    )
    assert os.listdir(tmp_path) == []  # and it made no stray site


def test_variables_of_the_test_suite_and_of_options_are_known(tmp_path: Path) -> None:
    done = run(tmp_path, "check", KANBAN_TEST_POSTGRES_URL="x", KANBAN_NEW_PASSWORD="x")
    assert "unknown setting" not in done.stderr


@pytest.mark.slow
def test_serve_refuses_a_damaged_database_and_names_kanban_restore(
    tmp_path: Path, sqlite_template: Path
) -> None:
    instance = tmp_path / "instance"
    instance.mkdir()
    database = instance / "kanban.db"
    data = bytearray(sqlite_template.read_bytes())
    middle = len(data) // 2 // 4096 * 4096  # a whole page in the middle of the file
    data[middle : middle + 4096] = b"\xa5" * 4096
    database.write_bytes(bytes(data))
    done = run(
        tmp_path,
        "serve",
        "--port",
        str(free_port()),
        KANBAN_INSTANCE_PATH=str(instance),
        KANBAN_SECRET_KEY="test-secret",
    )
    assert done.returncode == 1
    assert f"the database {database} is damaged" in done.stderr
    assert "kanban restore BACKUP" in done.stderr
    assert "Serving on" not in done.stderr


def test_health_answers_anyone_and_tells_the_release_to_a_token_only(
    client: FlaskClient, make_token: Callable[[str], str]
) -> None:
    anonymous = client.get("/api/health")
    assert anonymous.status_code == 200
    assert anonymous.get_json() == {"status": "ok", "database": "ok"}
    token = make_token("display")
    known = client.get("/api/health", headers={"Authorization": f"Bearer {token}"})
    assert known.get_json() == {"status": "ok", "database": "ok", "version": version()}


def _login(client: FlaskClient, name: str) -> None:
    html = client.get("/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)
    assert csrf is not None
    data = {"username": name, "password": f"password-{name}", "csrf_token": csrf.group(1)}
    assert client.post("/login", data=data).status_code == 302


def _foot(client: FlaskClient, page: str) -> str | None:
    html = client.get(page).get_data(as_text=True)
    foot = re.search(r'<footer[^>]*id="site-version"[^>]*>([^<]*)</footer>', html)
    return foot.group(1) if foot else None


def test_every_page_an_admin_sees_names_the_release(
    app: Flask, make_user: Callable[..., str]
) -> None:
    admin, operator = app.test_client(), app.test_client()
    _login(admin, make_user("boss", "admin"))
    for page in ("/admin/users", "/board", "/scan"):
        assert _foot(admin, page) == f"Kanban board {version()}", page
    _login(operator, make_user("ana", "operator"))
    assert _foot(operator, "/scan") is None  # the floor's pages stay as they were


def test_health_answers_503_when_the_database_does_not_answer(tmp_path: Path) -> None:
    gone = tmp_path / "no-such-folder" / "kanban.db"
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{gone}",
            "INSTANCE_PATH": str(tmp_path),
            "SECRET_KEY": "test-secret",
        }
    )
    answer = app.test_client().get("/api/health")
    assert answer.status_code == 503
    assert answer.get_json() == {"status": "unavailable", "database": "unavailable"}

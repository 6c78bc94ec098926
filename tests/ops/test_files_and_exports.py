"""Exports and files (issue 15, point 7): formula cells in the bins export, owner-only
database and instance folder, the PostgreSQL password never on pg_dump's command line,
plain SMTP logins refused, supplier emails checked on import as on send."""

from __future__ import annotations

import csv
import io
import json
import os
import sqlite3
import stat
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from kanban import config, create_app
from kanban.core.actor import Actor
from kanban.core.csvsafe import cell as safe_cell
from kanban.core.csvsafe import uncell as plain_cell
from kanban.domain.statuses import Source
from kanban.extensions import db
from kanban.masterdata import imports
from kanban.models import Item, Supplier
from kanban.ops import backup
from kanban.purchasing import mail

HEAD = ",".join(imports.COLUMNS) + "\n"
ACTOR = Actor(name="t", source=Source.IMPORT)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def loose_umask() -> Iterator[None]:
    """The common umask 022, under which files are world-readable unless made otherwise."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


# ---------------------------------------------------------------------------- export


@pytest.mark.parametrize(
    "text", ["=SUM(A1)", "+1", "-x", "@cmd", "\tx", "'quoted", "''", "-12", "plain", ""]
)
def test_safe_cell_round_trips(text: str) -> None:
    cell = safe_cell(text)
    assert plain_cell(cell) == text
    assert not cell.startswith(("=", "+", "@", "\t")) and (cell[:1] != "-" or cell == "-12")


def test_the_bins_export_neutralises_formulas_and_round_trips(app: Flask) -> None:
    rows = "A-1,=HYPERLINK(x),=cmd|' /C calc'!A0,@zone,+Supplier,orders@acme.example,5,2,10,,\n"
    rows += "B-1,-SKU,'quoted name,-zone,'=x,,7,2,10,,\n"
    report = imports.import_bins(HEAD + rows, dry_run=False, actor=ACTOR)
    assert report.ok, report.errors
    db.session.commit()
    exported = imports.export_bins()
    cells = [c for row in csv.reader(io.StringIO(exported)) for c in row]
    assert not any(c.startswith(("=", "+", "@")) for c in cells)
    assert not any(c.startswith("-") and not c.lstrip("-").isdigit() for c in cells)
    # Importing the export changes nothing: the names come back as they were.
    again = imports.import_bins(exported, dry_run=True, actor=ACTOR)
    assert again.ok, again.errors
    assert [c.kind for c in imports.preview(again)] == ["same", "same"]
    db.session.rollback()
    names = set(db.session.scalars(sa.select(Item.name)))
    assert names == {"=cmd|' /C calc'!A0", "'quoted name"}
    assert set(db.session.scalars(sa.select(Supplier.name))) == {
        "+Supplier",
        "=x",
    }  # '=x in a file is =x escaped


@pytest.mark.parametrize(
    "email", ["a,b@acme.example", "Acme <orders@acme.example>", '"x"@acme.example', "o@acme"]
)
def test_supplier_emails_are_checked_on_import_as_on_send(app: Flask, email: str) -> None:
    assert not mail.valid_address(email)
    report = imports.import_bins(
        HEAD + f'A-1,S-1,Part,Z,Acme,"{email.replace(chr(34), 2 * chr(34))}",5,2,10,,\n',
        dry_run=True,
        actor=ACTOR,
    )
    assert not report.ok and "supplier_email" in report.errors[0]


# ----------------------------------------------------------------------------- files


def test_the_instance_folder_and_sqlite_database_are_created_owner_only(
    tmp_path: Path, loose_umask: None
) -> None:
    instance = tmp_path / "fresh" / "instance"
    config.prepare_site(instance)  # what the commands that set up a site do first
    app = create_app(
        {"INSTANCE_PATH": str(instance), "SQLALCHEMY_DATABASE_URI": f"sqlite:///{instance}/k.db"}
    )
    with app.app_context():
        db.session.execute(sa.text("CREATE TABLE t (x INTEGER)"))
        db.session.commit()
        db.engine.dispose()
    assert mode(instance) == 0o700
    assert mode(instance / "secret_key") == 0o600
    for name in ("k.db", "k.db-wal", "k.db-shm"):
        if (instance / name).exists():
            assert mode(instance / name) == 0o600, name
    assert (instance / "k.db").exists()


def test_a_sqlite_backup_is_owner_only(tmp_path: Path, loose_umask: None) -> None:
    source = tmp_path / "src.db"
    with sqlite3.connect(source) as conn:
        conn.execute("CREATE TABLE bins (id INTEGER PRIMARY KEY)")
        conn.execute("CREATE TABLE movements (id INTEGER PRIMARY KEY, created_at DATETIME)")
    saved = backup.backup(f"sqlite:///{source}", tmp_path / "out" / "b.db")
    assert mode(saved.path) == 0o600


FAKE_PG_DUMP = """#!{python}
import json, os, sys
passfile = os.environ.get("PGPASSFILE")
record = {{
    "argv": sys.argv[1:],
    "env_password": os.environ.get("PGPASSWORD"),
    "passfile": open(passfile).read() if passfile else None,
    "passfile_mode": oct(os.stat(passfile).st_mode & 0o777) if passfile else None,
}}
json.dump(record, open({log!r}, "w"))
open([a for a in sys.argv if a.startswith("--file=")][0][7:], "ab").close()
"""


def test_pg_dump_gets_the_password_in_a_private_passfile_never_in_argv(
    tmp_path: Path, monkeypatch: Any, loose_umask: None
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "pg_dump.json"
    fake = bin_dir / "pg_dump"
    fake.write_text(FAKE_PG_DUMP.format(python=sys.executable, log=str(log)))
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    monkeypatch.setenv("PGPASSWORD", "leaked-from-env")
    # A temporary folder of this test's own: another test's backup may be writing its
    # passfile into the machine's at this moment.
    private_tmp = tmp_path / "tmp"
    private_tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(private_tmp))
    url = "postgresql+psycopg://kanban:s3cr%3At:pw@db.example:5433/kanban?sslmode=require"
    target = tmp_path / "b.dump"
    backup.pg_dump(sa.make_url(url), target)
    record = json.loads(log.read_text())
    assert not any("s3cr" in arg for arg in record["argv"]), record["argv"]
    assert any("db.example:5433/kanban" in arg for arg in record["argv"])
    assert record["env_password"] is None
    assert record["passfile"] == "*:*:*:*:s3cr\\:t\\:pw\n"
    assert record["passfile_mode"] == "0o600"
    assert mode(target) == 0o600
    assert list(private_tmp.iterdir()) == []  # the passfile and its folder removed


# ------------------------------------------------------------------------------ mail


@pytest.mark.parametrize("url", ["smtp://u:p@mail.example", "smtp://u@mail.example:2525"])
def test_plain_smtp_with_a_login_is_refused(url: str) -> None:
    with pytest.raises(mail.MailConfigError, match="insecure_login=1"):
        mail.parse_smtp_url(url)


def test_plain_smtp_with_a_login_is_allowed_when_asked_for() -> None:
    s = mail.parse_smtp_url("smtp://u:p@relay.lan?insecure_login=1")
    assert (s.security, s.username, s.password) == ("plain", "u", "p")
    assert mail.parse_smtp_url("smtp://relay.lan").username is None  # no login: fine
    with pytest.raises(mail.MailConfigError, match="insecure_login must be 0 or 1"):
        mail.parse_smtp_url("smtp://u:p@relay.lan?insecure_login=maybe")

"""``kanban db upgrade`` and the upgrade every start runs: a verified backup first, then
every pending migration in one transaction (kanban/migrations/env.py).

Flask-Migrate brings the ``db`` group as a Flask plugin, which Flask loads over any command
of the same name; so our ``upgrade`` replaces Flask-Migrate's inside that group, and
``kanban db upgrade`` and ``flask --app kanban db upgrade`` both take the backup.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import click
import sqlalchemy as sa
from alembic import command
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask
from flask.cli import ScriptInfo
from flask_migrate import cli as migrate_cli

from .cli_common import fail
from .core.errors import ServiceError
from .domain import clock
from .extensions import db
from .masterdata import bins as bins_service
from .ops import backup as backup_service


@dataclass(frozen=True)
class SchemaState:
    """Where a database stands: its revision (None before the first migration), the
    newest revision, and whether it holds any table at all."""

    current: str | None
    head: str
    has_tables: bool

    @property
    def pending(self) -> bool:
        """True when a migration is still to run."""
        return self.current != self.head


def schema_state(app: Flask) -> SchemaState:
    """The database's revision against the newest one (in an app context)."""
    script = ScriptDirectory.from_config(app.extensions["migrate"].migrate.get_config())
    with db.engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
        has_tables = bool(sa.inspect(conn).get_table_names())
    return SchemaState(current, str(script.get_current_head()), has_tables)


def backup_path(app: Flask, revision: str, now: dt.datetime | None = None) -> Path:
    """Where the backup before an upgrade goes: beside an SQLite file, or in the instance
    folder's ``backups`` folder for PostgreSQL; named with the revision and the UTC time."""
    stamp = (now or dt.datetime.now(dt.UTC)).strftime("%Y%m%dT%H%M%SZ")
    url = sa.make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() == "sqlite" and url.database:
        source = Path(url.database).resolve()
        return source.with_name(f"{source.stem}-before-upgrade-{revision}-{stamp}{source.suffix}")
    folder = Path(app.config["INSTANCE_PATH"]) / "backups"
    return folder / f"kanban-before-upgrade-{revision}-{stamp}.dump"


def describe(saved: backup_service.Saved, zone_name: str) -> str:
    """What a backup holds, for people: counts and the newest movement on the site's clock."""
    last = clock.local_text(saved.last_movement, clock.zone(zone_name))
    return (
        f"{saved.bins} bins, {saved.movements} movements, last movement {last}; "
        f"verified ({saved.verified_by})"
    )


def upgrade_database(app: Flask, *, backup: bool = True) -> None:
    """Create or migrate the database to the newest schema (keeps all data).

    With ``backup`` and a migration to run on a database that holds data, a verified
    backup is written first (:func:`backup_path`). A failed upgrade is rolled back whole
    and stops with a message. Refuses to go on while bins have codes that today's rules
    refuse (they would be confused in URLs).
    """
    Path(app.config["INSTANCE_PATH"]).mkdir(mode=0o700, parents=True, exist_ok=True)
    with app.app_context():
        state = schema_state(app)
        if state.pending and backup:
            _backup_before(app, state)
        try:
            # Alembic itself, not Flask-Migrate's wrapper, which exits on some errors
            # before we could say that nothing changed.
            command.upgrade(app.extensions["migrate"].migrate.get_config(), "head")
        except Exception as exc:  # noqa: BLE001 - any failure: the transaction rolled back
            db.session.rollback()
            fail(
                f"The upgrade failed and was rolled back; the database is unchanged "
                f"(revision {state.current or 'none'}). Cause: {_first_line(exc)}"
            )
        bad = bins_service.invalid_codes()
        db.session.rollback()
    if bad:
        shown = ", ".join(repr(c) for c in bad[:20]) + (" …" if len(bad) > 20 else "")
        fail(
            f"{len(bad)} bin code(s) break the rules for codes (no empty, '.' or '..' "
            f"part between '/'): {shown}. Run `kanban fix-codes --dry-run` to see the new "
            "codes, then `kanban fix-codes` to rename them (and print their labels again)."
        )


def _backup_before(app: Flask, state: SchemaState) -> None:
    if not state.has_tables:
        click.echo("New database: nothing to back up before creating the schema.", err=True)
        return
    target = backup_path(app, state.current or "none")
    try:
        saved = backup_service.backup(app.config["SQLALCHEMY_DATABASE_URI"], target)
    except ServiceError as exc:
        fail(f"The backup before the upgrade failed, so nothing was migrated: {exc.message}")
    except OSError as exc:
        fail(
            f"The backup before the upgrade could not be written to {target} "
            f"({exc.strerror or exc}), so nothing was migrated. Use --no-backup after a "
            "backup of your own."
        )
    click.echo(
        f"Backup before the upgrade written to {saved.path}: "
        f"{describe(saved, app.config['TIMEZONE'])}",
        err=True,
    )


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"


@click.command("upgrade")
@click.option(
    "--no-backup", is_flag=True, help="Do not write the backup that precedes a migration."
)
def db_upgrade(no_backup: bool) -> None:
    """Migrate the database to the newest schema, after a verified backup (keeps all data)."""
    app = click.get_current_context().ensure_object(ScriptInfo).load_app()
    with app.app_context():
        before = schema_state(app)
    upgrade_database(app, backup=not no_backup)
    if before.pending:
        click.echo(f"Database upgraded from {before.current or 'nothing'} to {before.head}.")
    else:
        click.echo(f"Database already at the newest schema ({before.head}); nothing to do.")


migrate_cli.db.add_command(db_upgrade)

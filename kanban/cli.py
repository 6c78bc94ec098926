"""The ``kanban`` command (docs/manual/spec.md §8.2): a Flask CLI group.

Commands call the same package operations as the views. ``flask --app kanban`` works the
same, because Flask finds ``create_app`` in the package.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path
from typing import Any

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import FlaskGroup, ScriptInfo, with_appcontext

from . import config, create_app
from .barcodes.decode import engines_status
from .cli_common import cli_actor, fail
from .cli_data import prune_events, seed_load
from .cli_db import describe, upgrade_database
from .cli_labels import labels
from .cli_outbox import webhook, worker
from .cli_site import refuse_damaged, run_server, schema_head
from .cli_users import create_user, token
from .core.errors import ServiceError
from .domain.statuses import Source
from .extensions import db
from .masterdata import bins as bins_service
from .masterdata import imports
from .ops import backup as backup_service
from .ops import demo as demo_service
from .ops import restore as restore_service
from .ops.demo import DEMO_LOGINS
from .ops.https import ensure_certificate
from .stock import check as ledger
from .version import version

#: Commands that set up a site: they may create its instance folder and secret key (and
#: ``kanban restore`` its database); every other command needs a site that exists.
SETS_UP_SITE = {"serve", "demo", "seed-demo", "restore", "db upgrade"}


class KanbanGroup(FlaskGroup):
    """The ``kanban`` group: remembers which command runs, so that ``main`` knows whether
    it may set up a site."""

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        """Find the command, and note its name (with ``db``'s sub-command) for ``main``."""
        name, command, rest = super().resolve_command(ctx, args)
        ctx.meta["kanban.command"] = f"{name} {rest[0]}" if name == "db" and rest else name
        ctx.meta["kanban.help"] = "--help" in rest  # a command's help needs no site
        return name, command, rest


def _print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value and not ctx.resilient_parsing:
        click.echo(f"kanban {version()}")
        ctx.exit()


@click.group(
    cls=KanbanGroup, create_app=create_app, add_version_option=False, add_default_commands=False
)
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_print_version,
    help="Show the release and exit.",
)
@click.pass_context
def main(ctx: click.Context) -> None:
    """Kanban replenishment board with barcode scanning."""
    for warning in config.unknown_variables():
        click.echo(f"Warning: {warning}", err=True)
    command = ctx.meta.get("kanban.command")
    if ctx.meta.get("kanban.help"):
        return
    if command in SETS_UP_SITE:
        config.prepare_site()
        return
    problem = config.missing_site()
    if problem:
        fail(problem)


def register(group: click.Group) -> None:
    """Attach every command to ``group`` (the console script and ``flask``)."""
    for command in (
        demo,
        serve,
        seed_demo,
        create_user,
        token,
        import_cmd,
        export_cmd,
        check,
        backup,
        restore,
        fix_codes,
        labels,
        worker,
        webhook,
        seed_load,
        prune_events,
    ):
        group.add_command(command)


@click.command("seed-demo")
@with_appcontext
def seed_demo() -> None:
    """Seed an empty database with the demo site (zones, suppliers, bins, history)."""
    upgrade_database(current_app._get_current_object())  # type: ignore[attr-defined]
    try:
        counts = demo_service.seed()
    except ValueError as exc:
        fail(str(exc))
    db.session.commit()
    click.echo("Seeded: " + ", ".join(f"{v} {k}" for k, v in counts.items()))


@click.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Validate and show what would change; write nothing.")
@with_appcontext
def import_cmd(file: Path, dry_run: bool) -> None:
    """Import the bins spreadsheet (CSV); nothing is written unless every row is valid."""
    if file.stat().st_size > imports.MAX_BYTES:
        fail(f"{file} is larger than {imports.MAX_BYTES // (1024 * 1024)} MiB")
    report = imports.import_bins(file.read_bytes(), dry_run=dry_run, actor=cli_actor(Source.IMPORT))
    if not report.ok:
        db.session.rollback()
        for err in report.errors:
            click.echo(err, err=True)
        fail(f"{len(report.errors)} error(s); nothing was imported.")
    if dry_run:
        db.session.rollback()
        click.echo(
            f"Dry run: {len(report.rows)} valid rows; the import would report "
            f"{report.summary}. Nothing written."
        )
        return
    db.session.commit()
    click.echo(f"Imported {len(report.rows)} rows: {report.summary}.")


@click.command("export")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to this file instead of standard output.",
)
@with_appcontext
def export_cmd(out: Path | None) -> None:
    """Export every bin as the bins spreadsheet (CSV)."""
    text = imports.export_bins()
    if out:
        out.write_text(text, encoding="utf-8")
        click.echo(f"Wrote {out}", err=True)
    else:
        click.echo(text, nl=False)


@click.command("check")
@click.option("--json", "as_json", is_flag=True, help="Print the problems as JSON.")
@with_appcontext
def check(as_json: bool) -> None:
    """Verify the ledger: on hand equals the sum of movements; cards agree with lines."""
    problems = ledger.check()
    if as_json:
        click.echo(json.dumps([str(p) for p in problems]))
    for p in problems:
        click.echo(str(p), err=True)
    if problems:
        fail(f"{len(problems)} problem(s) found.", 2)
    click.echo("Ledger OK: every bin's stock and card agree with its movements and lines.")


@click.command("fix-codes")
@click.option("--dry-run", is_flag=True, help="Show the new codes; rename nothing.")
@with_appcontext
def fix_codes(dry_run: bool) -> None:
    """Rename bins whose codes break the rules (e.g. Z/../A-01-01 becomes Z/A-01-01)."""
    renames = bins_service.fix_invalid_codes(dry_run=dry_run)
    if dry_run:
        db.session.rollback()
    else:
        db.session.commit()
    for old, new in renames.items():
        click.echo(f"{old}\t→ {new}")
    if not renames:
        click.echo("Every bin code follows the rules.")
    elif dry_run:
        click.echo(f"Dry run: {len(renames)} bin(s) would be renamed. Nothing written.")
    else:
        click.echo(f"Renamed {len(renames)} bin(s): print their labels again.")


@click.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
def backup(path: Path) -> None:
    """Write a verified, consistent copy of the database to PATH while the app runs; refuse
    when no site is configured here (nothing is created)."""
    try:
        url, zone_name = _site_for_backup()
        saved = backup_service.backup(url, path)
    except ServiceError as exc:
        fail(exc.message)
    except ValueError as exc:  # a setting out of range (KANBAN_TIMEZONE, say)
        fail(str(exc))
    except OSError as exc:
        fail(f"Cannot write the backup to {path}: {exc.strerror or exc}. Nothing was written.")
    click.echo(f"Backup written to {saved.path}: {describe(saved, zone_name)}")


def _site_for_backup() -> tuple[str, str]:
    # Building the app would create the instance folder and an empty SQLite file, which a
    # backup run in the wrong folder must not do: the console script reads the settings
    # alone. An app handed in ready-made (the test runner) is used as it is.
    info = click.get_current_context().find_object(ScriptInfo)
    if info is not None and info.create_app not in (None, create_app):
        app = info.load_app()
        return app.config["SQLALCHEMY_DATABASE_URI"], app.config["TIMEZONE"]
    return config.site_database_url(), config.site_timezone()


@click.command("restore")
@click.argument(
    "backup_file", metavar="BACKUP", type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
def restore(backup_file: Path) -> None:
    """Replace the database with BACKUP (from `kanban backup`), checked first; the current
    one is kept aside. Refuses while a server or worker runs on the database."""
    app = create_app()
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    now = dt.datetime.now(dt.UTC)
    try:
        live = config.sqlite_path(url)
        if live is not None:
            done = restore_service.restore_sqlite(create_app, live, backup_file.resolve(), now)
        elif url.startswith("postgresql"):
            instance = app.config["INSTANCE_PATH"]
            done = restore_service.restore_postgres(create_app, url, instance, backup_file, now)
        else:
            fail("kanban restore works on an SQLite file or a PostgreSQL database.")
    except ServiceError as exc:
        fail(f"{exc.message.rstrip('.')}. Nothing was changed.")
    except (OSError, sqlite3.Error, sa.exc.SQLAlchemyError) as exc:
        # A folder not writable, a role that may not rename the schema, a database that
        # does not answer: the restore undid what it had begun (ops/restore.py).
        fail(f"the restore stopped: {str(exc).splitlines()[0]}. Nothing was changed.")
    if done.migrated:
        click.echo(f"The backup was of an older release: migrated to schema {schema_head()}.")
    if done.kept_aside:
        click.echo(f"The database it replaced is kept aside as {done.kept_aside}.")
    click.echo(
        f"Restored {backup_file}: integrity and `kanban check` passed. Start the site again; "
        "everything after the backup was taken is gone (see docs/manual/ops/deploy.md, Restoring)."
    )


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port to listen on.")
@click.option("--workers", default=2, show_default=True, type=int, help="Worker processes.")
@click.option("--threads", default=16, show_default=True, type=int, help="Threads per worker.")
@click.option(
    "--https",
    "use_https",
    is_flag=True,
    help="Serve HTTPS with a certificate generated once in the instance folder "
    "(phones need HTTPS for live camera scanning).",
)
@click.option(
    "--no-worker",
    is_flag=True,
    help="Do not deliver the outbox in this server (run `kanban worker` instead).",
)
def serve(
    host: str, port: int, workers: int, threads: int, use_https: bool, no_worker: bool
) -> None:
    """Run the production server (gunicorn) and the outbox worker; migrates the database first."""
    # Over HTTPS the session cookie is marked Secure, whatever KANBAN_SECURE_COOKIES says.
    app = create_app({"SESSION_COOKIE_SECURE": True} if use_https else None)
    refuse_damaged(app.config["SQLALCHEMY_DATABASE_URI"])
    upgrade_database(app)
    click.echo(engines_status(), err=True)
    if not use_https:
        click.echo(f"Serving on http://{host}:{port}/", err=True)
        run_server(app, host, port, workers, threads, outbox_worker=not no_worker)
        return
    files = ensure_certificate(app.config["INSTANCE_PATH"], extra_names=[host])
    verb = "Created" if files.created else "Using"
    click.echo(f"{verb} the HTTPS certificate {files.cert} for: {', '.join(files.names)}", err=True)
    click.echo(f"Phones can trust it by installing {files.ca} (also at /scan/ca.crt).", err=True)
    if files.new_ca:
        click.echo(
            "This is a NEW local certificate authority: phones that trusted an older one must "
            "install this one (and may remove the old one).",
            err=True,
        )
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host  # noqa: S104
    click.echo(f"Serving on https://{shown}:{port}/", err=True)
    run_server(
        app,
        host,
        port,
        workers,
        threads,
        certfile=str(files.cert),
        keyfile=str(files.key),
        outbox_worker=not no_worker,
    )


@click.command("demo")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port to listen on.")
def demo(host: str, port: int) -> None:
    """Seed a demo site (in instance/demo.db unless KANBAN_DATABASE_URL is set) and serve it."""
    overrides: dict[str, Any] = {"DEMO": True}  # the login page shows the demo logins
    if not config.database_url_from_env():
        demo_db = config.default_instance_path() / "demo.db"
        overrides["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{demo_db}"
    app = create_app(overrides)
    upgrade_database(app)
    with app.app_context():
        if not demo_service.is_seeded():
            counts = demo_service.seed()
            db.session.commit()
            click.echo("Seeded the demo: " + ", ".join(f"{v} {k}" for k, v in counts.items()))
    logins = ", ".join(f"{name} / {password} ({role})" for name, role, password in DEMO_LOGINS)
    click.echo(
        f"\n  Kanban demo: http://{host}:{port}/\n"
        f"  Log in as {logins}.\n"
        "  The login page lists them too. Press Ctrl+C to stop.\n"
    )
    run_server(app, host, port, workers=2, threads=16)


register(main)

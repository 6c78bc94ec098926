"""The ``kanban`` command (docs/manual/spec.md §8.2): a Flask CLI group.

Commands call the same package operations as the views. ``flask --app kanban`` works the
same, because Flask finds ``create_app`` in the package.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, ScriptInfo, with_appcontext

from . import config, create_app
from .barcodes.decode import engines_status
from .cli_common import cli_actor, fail
from .cli_data import prune_events, seed_load
from .cli_db import describe, upgrade_database
from .cli_labels import labels
from .cli_outbox import webhook, worker
from .cli_users import create_user, token
from .core.errors import ServiceError
from .domain.statuses import Source
from .extensions import db
from .masterdata import bins as bins_service
from .masterdata import imports
from .ops import backup as backup_service
from .ops import demo as demo_service
from .ops.demo import DEMO_LOGINS
from .ops.https import ensure_certificate
from .ops.worker import make_drainer
from .stock import check as ledger


@click.group(
    cls=FlaskGroup, create_app=create_app, add_version_option=False, add_default_commands=False
)
def main() -> None:
    """Kanban replenishment board with barcode scanning."""


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


def _run_server(
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

    def post_fork(_server: Any, _worker: Any) -> None:
        # Connections opened in the master (migrations) must not be shared.
        with app.app_context():
            db.engine.dispose(close=False)
        if outbox_worker:  # every worker stands by; one of them drains the outbox
            drainer = app.extensions["kanban.drainer"] = make_drainer(app)
            drainer.start()

    def worker_exit(_server: Any, _worker: Any) -> None:
        drainer = app.extensions.get("kanban.drainer")
        if drainer is not None:
            drainer.stop(timeout=4)  # within gunicorn's graceful timeout

    with app.app_context():
        db.engine.dispose()
    server = Server()
    server.cfg.set("post_fork", post_fork)
    server.cfg.set("worker_exit", worker_exit)
    server.run()


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
    upgrade_database(app)
    click.echo(engines_status(), err=True)
    if not use_https:
        click.echo(f"Serving on http://{host}:{port}/", err=True)
        _run_server(app, host, port, workers, threads, outbox_worker=not no_worker)
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
    _run_server(
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
    _run_server(app, host, port, workers=2, threads=16)


register(main)

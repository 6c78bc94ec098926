"""``kanban seed-load`` and ``kanban prune-events`` (docs/manual/admins.md,
"A year of data", "Retention of the change feed")."""

from __future__ import annotations

import time

import click
from flask import current_app
from flask.cli import with_appcontext

from .cli_common import fail
from .extensions import db
from .ops import seedload
from .ops.worker import prune_events as prune


@click.command("seed-load")
@click.option("--bins", default=20_000, show_default=True, type=click.IntRange(1, 1_000_000))
@click.option("--suppliers", default=400, show_default=True, type=click.IntRange(1, 100_000))
@click.option(
    "--movements",
    default=5_000_000,
    show_default=True,
    type=click.IntRange(2, 100_000_000),
    help="Ledger rows in all, opening stock and receipts included.",
)
@click.option("--days", default=365, show_default=True, type=click.IntRange(2, 3650))
@click.option("--seed", default=17, show_default=True, type=int, help="Random seed.")
@with_appcontext
def seed_load(bins: int, suppliers: int, movements: int, days: int, seed: int) -> None:
    """Fill an EMPTY database with a big site's year, for benchmarks and sizing: bins,
    suppliers, items, zones, movements, supplier requests and the feed's recent events."""
    size = seedload.LoadSize(
        bins=bins,
        suppliers=suppliers,
        movements=movements,
        days=days,
        event_days=int(current_app.config["EVENT_RETENTION_DAYS"]),
        seed=seed,
    )
    started = time.monotonic()
    try:
        counts = seedload.seed_load(size)
    except ValueError as exc:
        db.session.rollback()
        fail(str(exc))
    db.session.commit()
    took = time.monotonic() - started
    click.echo("Seeded: " + ", ".join(f"{v} {k}" for k, v in counts.items()) + f" in {took:.0f} s.")


@click.command("prune-events")
@click.option(
    "--days",
    type=click.IntRange(1, 3650),
    help="Keep this many days (default: KANBAN_EVENT_RETENTION_DAYS).",
)
@with_appcontext
def prune_events(days: int | None) -> None:
    """Delete change events older than the retention window (the worker does it hourly)."""
    keep = days or int(current_app.config["EVENT_RETENTION_DAYS"])
    deleted = prune(keep)
    click.echo(f"Pruned {deleted} change event(s) older than {keep} days.")

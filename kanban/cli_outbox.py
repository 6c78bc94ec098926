"""``kanban worker`` and ``kanban webhook`` (docs/manual: "Webhooks", "Running the worker")."""

from __future__ import annotations

import signal
from typing import Any

import click
from flask import current_app
from flask.cli import with_appcontext

from .cli_common import fail
from .core.errors import ServiceError
from .domain.statuses import WebhookEvent
from .extensions import db
from .ops import presence
from .ops.worker import THREADS, make_drainer
from .webhooks import endpoints


@click.command("worker")
@click.option(
    "--threads",
    default=THREADS,
    show_default=True,
    type=click.IntRange(1, 32),
    help="Deliveries under way at once.",
)
@click.option("--once", is_flag=True, help="Deliver what is due now, then exit.")
@with_appcontext
def worker(threads: int, once: bool) -> None:
    """Deliver the outbox: automatic emails and webhooks (runs until stopped)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    drainer = make_drainer(app, threads=threads)
    if once:
        handled = drainer.drain()
        click.echo(f"Handled {handled} deliveries.")
        return

    def _stop(_signum: int, _frame: Any) -> None:
        drainer.stop(timeout=0)

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    # Seen by `kanban restore` for as long as this process lives (ops/presence.py).
    here = presence.announce(app.config["SQLALCHEMY_DATABASE_URI"], "kanban worker")
    click.echo(
        "Outbox worker started: it delivers while no other worker of this database does "
        "(Ctrl+C stops it).",
        err=True,
    )
    try:
        drainer.run()
    finally:
        here.close()


@click.group()
def webhook() -> None:
    """Webhook endpoints: URLs that hear about card and request changes."""


@webhook.command("add")
@click.argument("url")
@click.option(
    "--events",
    multiple=True,
    metavar="EVENT[,EVENT…]",
    help=f"What to send (default every event): {', '.join(WebhookEvent)}.",
)
@with_appcontext
def webhook_add(url: str, events: tuple[str, ...]) -> None:
    """Add an endpoint; prints its secret on the last line (shown only now)."""
    names = [name for value in events for name in value.split(",")]
    try:
        hook, secret = endpoints.add(url, names or None, by="cli")
    except ServiceError as exc:
        fail(exc.message, 2)
    db.session.commit()
    click.echo(f"Webhook {hook.id}: {hook.url}")
    click.echo(f"Events: {', '.join(hook.events)}")
    click.echo("Secret (shown only now; receivers check the Kanban-Signature header with it):")
    click.echo(secret)


@webhook.command("list")
@with_appcontext
def webhook_list() -> None:
    """List endpoints with their deliveries per status and the card events they have not
    read yet (never the secrets)."""
    hooks = endpoints.listing()
    counts, unread = endpoints.counts(h.id for h in hooks), endpoints.unread(hooks)
    for hook in hooks:
        done = " ".join(f"{status}={n}" for status, n in sorted(counts[hook.id].items()))
        if unread.get(hook.id):
            done += f" unread={unread[hook.id]}"
        click.echo(f"{hook.id}\t{hook.url}\t{','.join(hook.events)}\t{done or '-'}")


@webhook.command("remove")
@click.argument("webhook_id", type=int)
@with_appcontext
def webhook_remove(webhook_id: int) -> None:
    """Stop an endpoint at once (its delivery log stays)."""
    try:
        hook = endpoints.remove(webhook_id)
    except ServiceError as exc:
        fail(exc.message)
    db.session.commit()
    click.echo(f"Webhook {hook.id} ({hook.url}) removed.")

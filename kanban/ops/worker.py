"""The outbox worker of a site (docs/manual/admins.md "Running the worker"): which handler delivers
which kind of delivery, with the site's settings.

``kanban serve`` starts one in every worker process and ``kanban worker`` runs one
in the foreground; of all of them, one drains at a time (:mod:`kanban.core.drainer`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from flask import Flask

from ..core import feed
from ..core.drainer import Chore, Drainer, Handler, Source
from ..core.wake import feed_wake
from ..domain.statuses import DeliveryKind
from ..purchasing.autosend import AutoSendSettings, EmailHandler
from ..purchasing.sending import MailSettings
from ..webhooks import reader
from ..webhooks.delivery import WebhookHandler

#: Deliveries under way at once in the draining process.
THREADS = 4
#: How often the worker prunes the change feed (seconds).
PRUNE_EVERY = 3600.0


def handlers(config: Mapping[str, Any]) -> dict[DeliveryKind, Handler]:
    """The handler of each kind, configured from an app's config."""
    return {
        DeliveryKind.EMAIL: EmailHandler(
            MailSettings.from_config(config), AutoSendSettings.from_config(config)
        ),
        DeliveryKind.WEBHOOK: WebhookHandler(float(config.get("WEBHOOK_TIMEOUT", 5))),
    }


def prune_events(days: int, now: dt.datetime | None = None) -> int:
    """Delete the change events older than ``days`` days (``KANBAN_EVENT_RETENTION_DAYS``)."""
    now = now or dt.datetime.now(dt.UTC)
    return feed.prune(now - dt.timedelta(days=days))


def make_drainer(app: Flask, *, threads: int = THREADS) -> Drainer:
    """A drainer for ``app``'s database, with its settings as they are now; while it
    leads it also reads card events for webhooks from the change feed, and prunes the
    feed once an hour."""
    days = int(app.config.get("EVENT_RETENTION_DAYS", 30))
    return Drainer(
        app,
        handlers(app.config),
        threads=threads,
        max_attempts=int(app.config.get("DELIVERY_ATTEMPTS", 8)),
        chores=(Chore("prune events", PRUNE_EVERY, lambda: prune_events(days)),),
        sources=(Source("webhooks", reader.read_feed, feed_wake),),
    )

"""The outbox worker of a site (README "Running the worker"): which handler delivers
which kind of delivery, with the site's settings.

``kanban serve`` starts one in every worker process and ``kanban worker`` runs one
in the foreground; of all of them, one drains at a time (:mod:`kanban.core.drainer`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask

from ..core.drainer import Drainer, Handler
from ..domain.statuses import DeliveryKind
from ..purchasing.autosend import AutoSendSettings, EmailHandler
from ..purchasing.sending import MailSettings
from ..webhooks.delivery import WebhookHandler

#: Deliveries under way at once in the draining process.
THREADS = 4


def handlers(config: Mapping[str, Any]) -> dict[DeliveryKind, Handler]:
    """The handler of each kind, configured from an app's config."""
    return {
        DeliveryKind.EMAIL: EmailHandler(
            MailSettings.from_config(config), AutoSendSettings.from_config(config)
        ),
        DeliveryKind.WEBHOOK: WebhookHandler(float(config.get("WEBHOOK_TIMEOUT", 5))),
    }


def make_drainer(app: Flask, *, threads: int = THREADS) -> Drainer:
    """A drainer for ``app``'s database, with its settings as they are now."""
    return Drainer(
        app,
        handlers(app.config),
        threads=threads,
        max_attempts=int(app.config.get("DELIVERY_ATTEMPTS", 8)),
    )

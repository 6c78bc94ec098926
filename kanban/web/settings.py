"""Settings the packages need, read from the app's config by the web layer
(packages never read ``current_app`` themselves)."""

from __future__ import annotations

from flask import current_app

from ..purchasing.sending import MailSettings


def mail() -> MailSettings:
    """Where requests are emailed from (``KANBAN_SMTP_URL``, ``KANBAN_MAIL_FROM``)."""
    return MailSettings.from_config(current_app.config)

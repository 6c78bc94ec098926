"""Settings the packages need, read from the app's config by the web layer
(packages never read ``current_app`` themselves)."""

from __future__ import annotations

from flask import current_app

from ..purchasing.settings import MailSettings, SiteDetails


def mail() -> MailSettings:
    """Where requests are emailed from (``KANBAN_SMTP_URL``, ``KANBAN_MAIL_FROM``), with the
    site's details."""
    return MailSettings.from_config(current_app.config)


def site() -> SiteDetails:
    """Who orders and where the goods go (``KANBAN_COMPANY_NAME`` …), for request documents."""
    return SiteDetails.from_config(current_app.config)


def password_hash_method() -> str:
    """How the site hashes passwords (``PASSWORD_HASH_METHOD``: domain/passwords.py)."""
    return str(current_app.config["PASSWORD_HASH_METHOD"])

"""The site's settings that purchasing needs, handed in by the web layer and the CLI.

Packages below ``web/`` never read ``current_app``: ``kanban/web/settings.py`` builds these
from the app's config (``from_config``) and passes them to the operations.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..core.errors import ServiceError
from ..domain import clock
from . import mail

log = logging.getLogger("kanban.sending")


def _text(config: Mapping[str, Any], key: str) -> str:
    return str(config.get(key) or "").strip()


@dataclass(frozen=True)
class SiteDetails:
    """Who orders and where the goods go: what a supplier expects on a request
    (``KANBAN_COMPANY_NAME``, ``KANBAN_DELIVERY_ADDRESS``, ``KANBAN_BUYER_*``,
    ``KANBAN_TERMS``). Empty fields are left off the documents."""

    company: str = ""
    delivery_address: tuple[str, ...] = ()  # its lines
    buyer_name: str = ""
    buyer_email: str = ""
    buyer_phone: str = ""
    terms: str = ""

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> SiteDetails:
        """The details in an app's config; the address's lines are separated by new lines
        or by ``;``."""
        address = re.split(r"\s*(?:;|\n|\\n)\s*", _text(config, "DELIVERY_ADDRESS"))
        return cls(
            company=_text(config, "COMPANY_NAME"),
            delivery_address=tuple(line for line in address if line),
            buyer_name=_text(config, "BUYER_NAME"),
            buyer_email=_text(config, "BUYER_EMAIL"),
            buyer_phone=_text(config, "BUYER_PHONE"),
            terms=_text(config, "TERMS"),
        )


@dataclass(frozen=True)
class MailSettings:
    """Where requests are emailed from: the SMTP server URL and the sender address, and the
    site's details the email and its PDF carry."""

    smtp_url: str = ""
    sender: str = "kanban@localhost"
    site: SiteDetails = field(default_factory=SiteDetails)
    timezone: str = "UTC"  # the site's clock for the documents (KANBAN_TIMEZONE)

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> MailSettings:
        """The settings in an app's config (``KANBAN_SMTP_URL``, ``KANBAN_MAIL_FROM``, and
        the site's details)."""
        return cls(
            smtp_url=str(config.get("SMTP_URL") or ""),
            sender=str(config.get("MAIL_FROM") or "kanban@localhost"),
            site=SiteDetails.from_config(config),
            timezone=str(config.get("TIMEZONE") or "UTC"),
        )

    @property
    def zone(self) -> dt.tzinfo:
        """The site's time zone (checked at start-up by kanban/config.py)."""
        return clock.zone(self.timezone)

    @property
    def email_configured(self) -> bool:
        """True when an SMTP server is set."""
        return bool(self.smtp_url.strip())


#: What a supervisor is told when email is not set up (the setting is the admin's business).
NO_EMAIL = (
    "Email is not set up: ask your admin to set it up. Meanwhile download or print the "
    "request, send it yourself and mark it sent."
)
BAD_EMAIL = (
    "Email is not set up correctly: ask your admin to fix it. Meanwhile download or print "
    "the request, send it yourself and mark it sent."
)


def smtp_settings(settings: MailSettings) -> mail.SmtpSettings:
    """The configured SMTP server, or a ServiceError saying what is wrong: in words for a
    supervisor, with the setting to fix in ``details["admin_hint"]`` for an admin."""
    url = settings.smtp_url
    if not url.strip():
        raise ServiceError(
            "smtp_not_configured",
            NO_EMAIL,
            409,
            admin_hint="Set KANBAN_SMTP_URL (the manual: Admins, Settings) and restart the app.",
        )
    try:
        return mail.parse_smtp_url(url)
    except mail.MailConfigError as exc:
        log.warning("email is not set up correctly: %s", exc)
        raise ServiceError(
            "smtp_misconfigured", BAD_EMAIL, 503, admin_hint=f"{exc} Fix KANBAN_SMTP_URL."
        ) from None

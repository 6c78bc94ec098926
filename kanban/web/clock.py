"""The site's clock in templates and pages (``KANBAN_TIMEZONE``, kanban/domain/clock.py).

Templates format every timestamp with the ``local_time`` filter (``2026-03-02 14:08 CET``)
and name the zone in headings with ``site_zone``. ``templates/base.html`` writes
:func:`page_clock` into every page as a JSON data block (``#kanban-clock``) for
``static/js/clock.js``: the zone's IANA name (``Intl.DateTimeFormat`` takes it) and its
abbreviations, so the browser names the zone exactly as the server does.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask, current_app

from ..domain import clock


def zone() -> ZoneInfo:
    """The site's time zone (the app's ``TIMEZONE`` setting)."""
    return clock.zone(current_app.config["TIMEZONE"])


def local_time(moment: dt.datetime | str | None, seconds: bool = False) -> str:
    """A stored (UTC) timestamp, or its ISO text, on the site's clock with the zone named."""
    if isinstance(moment, str):
        moment = dt.datetime.fromisoformat(moment)
    return clock.local_text(moment, zone(), seconds=seconds)


def card_reason(card: dict[str, Any]) -> str:
    """A card's reason line with its "since" on the site's clock.

    The bin dict's ``reason`` (the API's, in UTC) says ``since 2026-03-02 13:08 UTC``;
    the card shows that moment in local time. static/js/clock.js does the same for the
    cards it redraws."""
    since = dt.datetime.fromisoformat(card["state_since"])
    utc = f"since {clock.local_text(since, dt.UTC)}"
    return str(card["reason"]).replace(utc, f"since {local_time(since)}", 1)


def page_clock() -> dict[str, Any]:
    """What static/js/clock.js needs: the zone's name and its abbreviations by offset."""
    tz = zone()
    year = dt.datetime.now(dt.UTC).year
    return {"zone": current_app.config["TIMEZONE"], "abbreviations": clock.abbreviations(tz, year)}


def init_app(app: Flask) -> None:
    """Register the filters and give every template ``site_zone`` and ``page_clock``."""
    app.add_template_filter(local_time, "local_time")
    app.add_template_filter(card_reason, "card_reason")
    app.add_template_global(page_clock, "page_clock")

    @app.context_processor
    def _site_zone() -> dict[str, Any]:
        return {"site_zone": app.config["TIMEZONE"]}

"""The site's clock (docs/manual/spec.md §4, docs/manual/admins.md "One clock"): timestamps
are stored and sent by
the API in UTC; people read them in the site's time zone, with the zone named.

One format everywhere a person reads a time: ``2026-03-02 14:08 CET`` (date, hours and
minutes, the zone's abbreviation at that moment). Pages, the PDF, the emails and the CSV
use :func:`local_text`; the browser formats the same way (``static/js/clock.js``), taking
the abbreviations from :func:`abbreviations` because its own time zone names differ by
locale. Pure functions: callers pass the zone in (``zoneinfo.ZoneInfo``).
"""

from __future__ import annotations

import datetime as dt
import functools
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

#: The format of a local time for people; ``%Z`` is the zone's abbreviation (CET, CDT).
TIME_FORMAT = "%Y-%m-%d %H:%M"


class UnknownZone(ValueError):
    """Not an IANA time zone name that this machine's zone database knows."""


def zone(name: str) -> ZoneInfo:
    """The time zone called ``name`` (an IANA name such as ``Europe/Berlin``)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise UnknownZone(
            f"{name!r} is not a time zone name (use an IANA name such as Europe/Berlin)"
        ) from None


def abbreviation(moment: dt.datetime, tz: dt.tzinfo) -> str:
    """The zone's short name at ``moment``: ``CET``/``CEST``, ``CST``/``CDT``, ``UTC``; a
    zone without letters (``+03``) gets ``UTC+03``, so that every local time names its
    zone."""
    name = moment.astimezone(tz).tzname() or ""
    if name[:1] in ("+", "-"):
        return f"UTC{name}"
    return name or "UTC"


def local(moment: dt.datetime, tz: dt.tzinfo) -> dt.datetime:
    """``moment`` (timezone-aware) on the site's clock."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime; timestamps are UTC-aware")
    return moment.astimezone(tz)


def local_text(moment: dt.datetime | None, tz: dt.tzinfo, *, seconds: bool = False) -> str:
    """``2026-03-02 14:08 CET``: a timestamp as people read it (``—`` for none)."""
    if moment is None:
        return "—"
    fmt = TIME_FORMAT + (":%S" if seconds else "")
    return f"{local(moment, tz).strftime(fmt)} {abbreviation(moment, tz)}"


def local_date(moment: dt.datetime, tz: dt.tzinfo) -> dt.date:
    """The site's calendar day at ``moment``."""
    return local(moment, tz).date()


@functools.cache
def abbreviations(tz: dt.tzinfo, year: int) -> dict[int, str]:
    """``{offset from UTC in minutes: abbreviation}`` of the zone in the years around
    ``year`` (for the browser, which has the offsets but not the names)."""
    out: dict[int, str] = {}
    start = dt.datetime(year - 1, 1, 1, 12, tzinfo=dt.UTC)
    for day in range(0, 3 * 366, 7):  # a week apart: finds every change of offset
        moment = start + dt.timedelta(days=day)
        offset = moment.astimezone(tz).utcoffset() or dt.timedelta(0)
        out.setdefault(int(offset.total_seconds() // 60), abbreviation(moment, tz))
    return out

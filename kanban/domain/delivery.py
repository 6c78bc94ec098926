"""When the outbox tries again, and when automatic sending may email a supplier
(docs/manual/admins.md "What is delivered, and when"). Pure rules: no clock, no database."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable

#: The wait after the first failed attempt; it doubles after each further one...
RETRY_BASE = dt.timedelta(seconds=30)
#: ...up to this.
RETRY_CAP = dt.timedelta(hours=1)


def retry_delay(
    failed_attempts: int,
    *,
    base: dt.timedelta = RETRY_BASE,
    cap: dt.timedelta = RETRY_CAP,
    rand: Callable[[], float] = random.random,
) -> dt.timedelta:
    """How long to wait after ``failed_attempts`` failures: exponential backoff with jitter.

    The ceiling is ``base · 2^(n−1)``, at most ``cap``; the wait is a random
    point in its upper half ("equal jitter"), so that deliveries that failed
    together (a receiver was down) do not all come back at the same moment,
    and none comes back sooner than half the ceiling.
    """
    if failed_attempts < 1:
        return dt.timedelta(0)
    ceiling = min(cap, base * 2 ** min(failed_attempts - 1, 30))
    return ceiling / 2 + ceiling / 2 * rand()


def batch_due(
    last_email: dt.datetime | None, window: dt.timedelta, now: dt.datetime
) -> dt.datetime:
    """When the next automatic email to a supplier may go: at once in a quiet window,
    else when the window that the last email opened ends."""
    if last_email is None or window <= dt.timedelta(0):
        return now
    return max(now, last_email + window)


def day_start(now: dt.datetime) -> dt.datetime:
    """Midnight UTC of ``now``'s day: the daily cap counts from there."""
    return dt.datetime.combine(now.astimezone(dt.UTC).date(), dt.time(0), tzinfo=dt.UTC)


def cap_reached(sent_today: int, cap: int) -> bool:
    """True when another automatic email would exceed the supplier's daily cap."""
    return sent_today >= cap

"""Lead-time maths (docs/manual/spec.md §2.3): per request line and per supplier.

A line's lead time has two legs: from the **signal** (the pull that opened the
line) to **sent** (the request went to the supplier), and from **sent** to
**received** (the line was fully received). Their sum is the replenishment
time that card sizing needs; the second leg is what the supplier controls and
what its configured lead time promises. Pure functions, no Flask, no database.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ..domain.statuses import RequestStatus

SECONDS_PER_DAY = 86_400.0


def days_between(start: dt.datetime, end: dt.datetime) -> float:
    """Elapsed days from ``start`` to ``end`` (fractional; negative if end is earlier)."""
    return (end - start).total_seconds() / SECONDS_PER_DAY


@dataclass(frozen=True)
class LineLeadTime:
    """One request line's measured legs, in days (None where a leg has not ended)."""

    signal_to_sent: float | None
    sent_to_received: float | None
    total: float | None


def line_lead_time(
    signal: dt.datetime, sent: dt.datetime | None, received: dt.datetime | None
) -> LineLeadTime:
    """The legs of one line: signal → sent → received.

    A leg that has not ended yet is None. A receipt without a send (never
    happens through the app, but imported data may have it) still gives the
    total.
    """
    to_sent = days_between(signal, sent) if sent is not None else None
    to_received = (
        days_between(sent, received) if sent is not None and received is not None else None
    )
    total = days_between(signal, received) if received is not None else None
    return LineLeadTime(signal_to_sent=to_sent, sent_to_received=to_received, total=total)


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """The q-quantile (0 ≤ q ≤ 1) of sorted values, by linear interpolation."""
    if not sorted_values:
        raise ValueError("percentile of no values")
    if not 0.0 <= q <= 1.0:
        raise ValueError("q must be between 0 and 1")
    pos = (len(sorted_values) - 1) * q
    low = math.floor(pos)
    high = math.ceil(pos)
    if low == high:
        return float(sorted_values[low])
    frac = pos - low
    return float(sorted_values[low] + (sorted_values[high] - sorted_values[low]) * frac)


@dataclass(frozen=True)
class Spread:
    """Where a set of durations lies: count, min, p10, median, p90, max (days)."""

    count: int
    minimum: float
    p10: float
    median: float
    p90: float
    maximum: float


def spread(values: Iterable[float | None]) -> Spread | None:
    """The spread of the known values, or None when there are none."""
    known = sorted(v for v in values if v is not None)
    if not known:
        return None
    return Spread(
        count=len(known),
        minimum=known[0],
        p10=percentile(known, 0.10),
        median=percentile(known, 0.50),
        p90=percentile(known, 0.90),
        maximum=known[-1],
    )


@dataclass(frozen=True)
class SupplierLeadTime:
    """A supplier's measured lead times over its lines."""

    lines: int
    signal_to_sent: Spread | None
    sent_to_received: Spread | None
    total: Spread | None

    def drift_days(self, configured_days: int) -> float | None:
        """Measured median delivery time minus the configured lead time (None if unknown)."""
        if self.sent_to_received is None:
            return None
        return self.sent_to_received.median - configured_days


def supplier_lead_time(lines: Iterable[LineLeadTime]) -> SupplierLeadTime:
    """Aggregate line lead times: each leg's spread over the lines where it ended."""
    items = list(lines)
    return SupplierLeadTime(
        lines=len(items),
        signal_to_sent=spread(x.signal_to_sent for x in items),
        sent_to_received=spread(x.sent_to_received for x in items),
        total=spread(x.total for x in items),
    )


def expected_date(sent: dt.datetime, lead_time_days: int) -> dt.date:
    """The date a request sent at ``sent`` is expected: sent date + lead time."""
    if lead_time_days < 0:
        raise ValueError("lead time cannot be negative")
    return (sent + dt.timedelta(days=lead_time_days)).date()


def days_overdue(expected: dt.date | None, today: dt.date) -> int:
    """Whole days past the expected date (0 when not late or no date is known)."""
    if expected is None:
        return 0
    return max(0, (today - expected).days)


def is_overdue(status: str, expected: dt.date | None, today: dt.date) -> bool:
    """A sent request whose expected date has passed (same rule as the board's flag)."""
    return status == RequestStatus.SENT and days_overdue(expected, today) > 0


def format_days(value: float | None) -> str:
    """Days for people: "—" when unknown, one decimal below 10 days, whole days above."""
    if value is None:
        return "—"
    if abs(value) < 10:
        return f"{value:.1f} d"
    return f"{value:.0f} d"

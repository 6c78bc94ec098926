"""Sizing the loop (docs/manual/spec.md §2.4): the card quantity a bin's history recommends.

    card quantity = ceil(average daily demand × lead time in days × (1 + safety factor))

The card quantity is the bin's reorder point: the card flips when stock falls below it, so
it must cover what is pulled while the replenishment is under way, plus a margin. Demand is
what was pulled, net of undone pulls; the lead time is the replenishment time (signal →
received) measured on the supplier's deliveries, or the supplier's configured lead time
while too few deliveries have been measured. Pure functions, no Flask, no database.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from dataclasses import dataclass

#: Fewer days of history than this give no recommendation: one busy day would set the card.
MIN_HISTORY_DAYS = 7
#: Fewer fully received deliveries than this: use the supplier's configured lead time.
MIN_MEASURED_DELIVERIES = 3
#: Bounds of the safety factor a site may configure.
MAX_SAFETY_FACTOR = 5.0


@dataclass(frozen=True)
class Demand:
    """Pulls per calendar day (UTC) over a window, oldest first, zeros included."""

    days: list[tuple[dt.date, int]]

    @property
    def total(self) -> int:
        return sum(q for _, q in self.days)

    @property
    def per_day(self) -> float:
        return self.total / len(self.days) if self.days else 0.0

    @property
    def peak(self) -> int:
        return max((q for _, q in self.days), default=0)


def daily_demand(pulls: Iterable[tuple[dt.date, int]], first: dt.date, last: dt.date) -> Demand:
    """Sum the pulled quantities per day from ``first`` to ``last`` (both included).

    ``pulls`` are (day, quantity pulled) pairs; an undone pull comes as a negative quantity
    on the day of the pull it undoes. Days outside the window are ignored. A day never goes
    below zero (an undo cannot un-pull more than was pulled that day).
    """
    if last < first:
        raise ValueError("the window ends before it starts")
    per: dict[dt.date, int] = {}
    for day, quantity in pulls:
        if first <= day <= last:
            per[day] = per.get(day, 0) + quantity
    n = (last - first).days + 1
    days = [first + dt.timedelta(days=i) for i in range(n)]
    return Demand([(d, max(0, per.get(d, 0))) for d in days])


def recommend(per_day: float, lead_time_days: float, safety_factor: float) -> int:
    """``ceil(per_day × lead_time_days × (1 + safety_factor))``.

    Rounded to a millionth before the ceiling, so that float noise (3 × 0.1 =
    0.30000000000000004) does not add a whole unit.
    """
    if per_day < 0 or lead_time_days < 0:
        raise ValueError("demand and lead time cannot be negative")
    if not 0 <= safety_factor <= MAX_SAFETY_FACTOR:
        raise ValueError(f"the safety factor must be from 0 to {MAX_SAFETY_FACTOR:g}")
    return math.ceil(round(per_day * lead_time_days * (1 + safety_factor), 6))


def window(today: dt.date, window_days: int, started: dt.date | None) -> tuple[dt.date, dt.date]:
    """The first and last day demand is averaged over: the last ``window_days`` days, or
    the days since the bin's first movement when it is younger than that."""
    first = today - dt.timedelta(days=window_days - 1)
    if started is not None and started > first:
        first = started
    return first, today


def decide(
    history_days: int, pulled: int, lead_time_days: float, safety_factor: float
) -> tuple[int | None, str]:
    """The recommendation for ``pulled`` units over ``history_days`` days, or None and why
    there is none (too little history, or no demand at all)."""
    if history_days < MIN_HISTORY_DAYS:
        plural = "" if history_days == 1 else "s"
        return None, (
            f"This bin has {history_days} day{plural} of history; "
            f"a recommendation needs {MIN_HISTORY_DAYS}."
        )
    if pulled <= 0:
        return None, f"Nothing was pulled from this bin in the last {history_days} days."
    return recommend(pulled / history_days, lead_time_days, safety_factor), ""


def fit_to_bin(recommended: int, pull_quantity: int, pack_multiple: int) -> int:
    """A recommendation the bin can use: never below its pull quantity (one scan takes
    that much, so a smaller card flips at once and says nothing), rounded up to whole
    packs of the item."""
    pack = max(1, pack_multiple)
    wanted = max(recommended, pull_quantity)
    return -(-wanted // pack) * pack


def advice(current: int, recommended: int) -> str:
    """ "raise", "lower" or "keep" the card quantity."""
    if recommended > current:
        return "raise"
    if recommended < current:
        return "lower"
    return "keep"

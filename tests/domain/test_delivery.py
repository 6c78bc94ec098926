"""When the outbox tries again, and when automatic sending may email a supplier."""

from __future__ import annotations

import datetime as dt

import pytest

from kanban.domain import delivery as rules

T0 = dt.datetime(2026, 12, 1, 10, 0, tzinfo=dt.UTC)
S = dt.timedelta(seconds=1)


@pytest.mark.parametrize(("failed", "ceiling"), [(1, 30), (2, 60), (3, 120), (7, 1920), (8, 3600)])
def test_retry_delay_doubles_up_to_an_hour_and_stays_in_the_upper_half(
    failed: int, ceiling: int
) -> None:
    assert rules.retry_delay(failed, rand=lambda: 0.0) == ceiling * S / 2
    assert rules.retry_delay(failed, rand=lambda: 1.0) == ceiling * S


def test_retry_delay_is_jittered_and_never_negative() -> None:
    delays = {rules.retry_delay(3) for _ in range(50)}
    assert len(delays) > 40  # spread out: receivers are not hit all at once
    assert all(60 * S <= d <= 120 * S for d in delays)
    assert rules.retry_delay(0) == dt.timedelta(0)
    assert rules.retry_delay(10_000) <= rules.RETRY_CAP


def test_the_first_line_of_a_quiet_window_goes_at_once() -> None:
    window = dt.timedelta(minutes=15)
    assert rules.batch_due(None, window, T0) == T0
    assert rules.batch_due(T0 - dt.timedelta(minutes=20), window, T0) == T0


def test_lines_during_a_window_wait_for_its_end() -> None:
    window = dt.timedelta(minutes=15)
    last = T0 - dt.timedelta(minutes=5)
    assert rules.batch_due(last, window, T0) == T0 + dt.timedelta(minutes=10)
    assert rules.batch_due(last, dt.timedelta(0), T0) == T0  # no window


def test_the_daily_cap_counts_from_midnight_utc() -> None:
    late = dt.datetime(2026, 12, 1, 23, 30, tzinfo=dt.timezone(dt.timedelta(hours=-2)))
    assert rules.day_start(late) == dt.datetime(2026, 12, 2, tzinfo=dt.UTC)
    assert not rules.cap_reached(9, 10)
    assert rules.cap_reached(10, 10)

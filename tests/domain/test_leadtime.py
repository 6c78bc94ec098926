"""Lead-time maths: line legs, spreads, overdue."""

from __future__ import annotations

import datetime as dt

import pytest

from kanban.domain import leadtime as lt

T0 = dt.datetime(2024, 3, 1, 8, 0, tzinfo=dt.UTC)


def at(days: float) -> dt.datetime:
    return T0 + dt.timedelta(days=days)


def test_line_lead_time_measures_signal_to_sent_to_received() -> None:
    line = lt.line_lead_time(T0, at(0.5), at(7.5))
    assert line == lt.LineLeadTime(signal_to_sent=0.5, sent_to_received=7.0, total=7.5)


def test_unfinished_legs_are_unknown() -> None:
    assert lt.line_lead_time(T0, None, None) == lt.LineLeadTime(None, None, None)
    assert lt.line_lead_time(T0, at(2), None) == lt.LineLeadTime(2.0, None, None)


def test_receipt_without_send_still_gives_the_total() -> None:
    assert lt.line_lead_time(T0, None, at(3)) == lt.LineLeadTime(None, None, 3.0)


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [
        ([5.0], 0.5, 5.0),
        ([1.0, 3.0], 0.5, 2.0),
        ([1.0, 2.0, 3.0, 4.0], 0.5, 2.5),
        ([0.0, 10.0], 0.1, 1.0),
        ([0.0, 10.0], 0.9, 9.0),
        ([1.0, 2.0, 3.0], 0.0, 1.0),
        ([1.0, 2.0, 3.0], 1.0, 3.0),
    ],
)
def test_percentile_interpolates_linearly(values: list[float], q: float, expected: float) -> None:
    assert lt.percentile(values, q) == pytest.approx(expected)


def test_percentile_refuses_nonsense() -> None:
    with pytest.raises(ValueError):
        lt.percentile([], 0.5)
    with pytest.raises(ValueError):
        lt.percentile([1.0], 1.5)


def test_spread_ignores_unknown_values_and_sorts() -> None:
    s = lt.spread([9.0, None, 1.0, 5.0, 3.0, 7.0])
    assert s == lt.Spread(
        count=5,
        minimum=1.0,
        p10=pytest.approx(1.8),
        median=5.0,
        p90=pytest.approx(8.2),
        maximum=9.0,
    )


def test_spread_of_nothing_is_none() -> None:
    assert lt.spread([]) is None
    assert lt.spread([None, None]) is None


def test_supplier_lead_time_aggregates_each_leg_over_finished_lines() -> None:
    lines = [
        lt.line_lead_time(T0, at(1), at(6)),  # 1 + 5
        lt.line_lead_time(T0, at(0), at(9)),  # 0 + 9
        lt.line_lead_time(T0, at(2), at(9)),  # 2 + 7
        lt.line_lead_time(T0, at(3), None),  # still open: only the first leg counts
    ]
    sup = lt.supplier_lead_time(lines)
    assert sup.lines == 4
    assert sup.signal_to_sent is not None and sup.signal_to_sent.count == 4
    assert sup.signal_to_sent.median == pytest.approx(1.5)
    assert sup.sent_to_received is not None
    assert (
        sup.sent_to_received.count,
        sup.sent_to_received.minimum,
        sup.sent_to_received.median,
        sup.sent_to_received.maximum,
    ) == (3, 5.0, 7.0, 9.0)
    assert sup.total is not None and sup.total.median == pytest.approx(9.0)
    assert sup.drift_days(5) == pytest.approx(2.0)


def test_supplier_without_received_lines_has_no_delivery_spread() -> None:
    sup = lt.supplier_lead_time([lt.line_lead_time(T0, None, None)])
    assert sup.sent_to_received is None and sup.total is None
    assert sup.drift_days(7) is None


def test_expected_date_adds_the_lead_time_to_the_sent_date() -> None:
    assert lt.expected_date(dt.datetime(2024, 3, 1, 23, 30, tzinfo=dt.UTC), 7) == dt.date(
        2024, 3, 8
    )
    assert lt.expected_date(T0, 0) == T0.date()
    with pytest.raises(ValueError):
        lt.expected_date(T0, -1)


@pytest.mark.parametrize(
    ("status", "expected", "today", "late", "days"),
    [
        ("sent", dt.date(2024, 3, 8), dt.date(2024, 3, 8), False, 0),  # due today is not late
        ("sent", dt.date(2024, 3, 8), dt.date(2024, 3, 11), True, 3),
        ("received", dt.date(2024, 3, 8), dt.date(2024, 3, 11), False, 3),
        ("draft", None, dt.date(2024, 3, 11), False, 0),
        ("sent", dt.date(2024, 3, 8), dt.date(2024, 3, 1), False, 0),
    ],
)
def test_overdue_only_for_sent_requests_past_their_date(
    status: str, expected: dt.date | None, today: dt.date, late: bool, days: int
) -> None:
    assert lt.is_overdue(status, expected, today) is late
    assert lt.days_overdue(expected, today) == days


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, "—"),
        (0.0, "0.0 d"),
        (2.345, "2.3 d"),
        (12.6, "13 d"),
        (-1.25, "-1.2 d"),
    ],
)
def test_format_days(value: float | None, text: str) -> None:
    assert lt.format_days(value) == text

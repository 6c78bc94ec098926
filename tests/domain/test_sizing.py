"""Card sizing maths (docs/manual/spec.md §2.4): demand per day, the formula, the advice."""

from __future__ import annotations

import datetime as dt

import pytest

from kanban.domain import sizing

D = dt.date(2026, 3, 1)


def day(n: int) -> dt.date:
    return D + dt.timedelta(days=n)


def test_daily_demand_fills_quiet_days_with_zero_and_keeps_to_the_window() -> None:
    pulls = [(day(0), 3), (day(0), 2), (day(2), 4), (day(-1), 50), (day(7), 50)]
    demand = sizing.daily_demand(pulls, day(0), day(6))
    assert demand.days == [(day(i), q) for i, q in enumerate([5, 0, 4, 0, 0, 0, 0])]
    assert demand.total == 9 and demand.peak == 5
    assert demand.per_day == pytest.approx(9 / 7)


def test_an_undone_pull_counts_back_but_a_day_never_goes_below_zero() -> None:
    demand = sizing.daily_demand(
        [(day(0), 6), (day(0), -6), (day(1), 2), (day(1), -9)], day(0), day(1)
    )
    assert demand.days == [(day(0), 0), (day(1), 0)]
    assert demand.total == 0 and demand.per_day == 0


def test_a_window_that_ends_before_it_starts_is_an_error() -> None:
    with pytest.raises(ValueError):
        sizing.daily_demand([], day(3), day(2))


@pytest.mark.parametrize(
    ("per_day", "lead", "safety", "expected"),
    [
        (2.0, 5.0, 0.25, 13),  # 12.5 → 13
        (2.0, 5.0, 0.0, 10),  # exactly 10 stays 10
        (0.1, 3.0, 0.0, 1),  # 0.30000000000000004 is 0.3 → 1, not 2
        (1.5, 2.0, 1.0, 6),
        (0.0, 9.0, 0.5, 0),
        (4.0, 0.0, 0.5, 0),
        (3.2, 9.4, 0.25, 38),  # 37.6 → 38
    ],
)
def test_recommend_is_the_ceiling_of_demand_times_lead_time_with_the_margin(
    per_day: float, lead: float, safety: float, expected: int
) -> None:
    assert sizing.recommend(per_day, lead, safety) == expected


@pytest.mark.parametrize(
    ("per_day", "lead", "safety"),
    [(-1.0, 5.0, 0.2), (1.0, -5.0, 0.2), (1.0, 5.0, -0.1), (1.0, 5.0, 5.5)],
)
def test_recommend_refuses_impossible_inputs(per_day: float, lead: float, safety: float) -> None:
    with pytest.raises(ValueError):
        sizing.recommend(per_day, lead, safety)


def test_advice_says_which_way_the_card_should_move() -> None:
    assert sizing.advice(10, 13) == "raise"
    assert sizing.advice(10, 7) == "lower"
    assert sizing.advice(10, 10) == "keep"


def test_the_window_is_the_last_days_or_the_bins_life_if_shorter() -> None:
    assert sizing.window(day(27), 28, None) == (day(0), day(27))
    assert sizing.window(day(27), 28, day(-40)) == (day(0), day(27))
    assert sizing.window(day(27), 28, day(20)) == (day(20), day(27))  # a week-old bin


def test_decide_needs_a_week_of_history_and_some_demand() -> None:
    assert sizing.decide(28, 56, 5.0, 0.25) == (13, "")
    assert sizing.decide(6, 56, 5.0, 0.25) == (
        None,
        "This bin has 6 days of history; a recommendation needs 7.",
    )
    assert sizing.decide(1, 3, 5.0, 0.25)[1].startswith("This bin has 1 day of history")
    assert sizing.decide(28, 0, 5.0, 0.25) == (
        None,
        "Nothing was pulled from this bin in the last 28 days.",
    )


@pytest.mark.parametrize(
    ("recommended", "pull", "pack", "fitted"),
    [(1, 10, 1, 10), (13, 1, 6, 18), (12, 1, 6, 12), (3, 4, 3, 6), (7, 1, 1, 7)],
)
def test_a_recommendation_fits_the_bin_pull_and_the_items_pack(
    recommended: int, pull: int, pack: int, fitted: int
) -> None:
    assert sizing.fit_to_bin(recommended, pull, pack) == fitted

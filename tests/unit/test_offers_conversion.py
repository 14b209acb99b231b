"""Conversion rates between plans, as observed in subscription change histories."""

from __future__ import annotations

from datetime import UTC, datetime

from app.offers import ConversionRate, PlanChange, conversion_rates


def at(day: int) -> datetime:
    return datetime(2026, 1, day, tzinfo=UTC)


def history() -> list[PlanChange]:
    return [
        PlanChange("ana", None, "basic", at(1)),
        PlanChange("ana", "basic", "plus", at(10)),
        PlanChange("ben", None, "basic", at(2)),
        PlanChange("ben", "basic", "family", at(12)),
        PlanChange("cem", None, "basic", at(3)),  # stays on basic
        PlanChange("dia", None, "basic", at(4)),
        PlanChange("dia", "basic", "plus", at(14)),
        PlanChange("dia", "plus", "business", at(20)),
    ]


def test_rate_is_the_share_of_customers_on_the_plan_who_moved() -> None:
    rates = conversion_rates(history())

    assert rates[("basic", "plus")] == ConversionRate(0.5, 2, 4)
    assert rates[("basic", "family")] == ConversionRate(0.25, 1, 4)
    assert rates[("plus", "business")] == ConversionRate(0.5, 1, 2)


def test_pairs_without_a_move_are_absent() -> None:
    assert ("basic", "business") not in conversion_rates(history())


def test_signups_and_cancellations_are_not_moves() -> None:
    changes = [PlanChange("eva", None, "basic", at(1)), PlanChange("eva", "basic", None, at(5))]

    assert conversion_rates(changes) == {}


def test_a_customer_counts_once_however_often_they_move() -> None:
    changes = [
        PlanChange("fay", "basic", "plus", at(1)),
        PlanChange("fay", "plus", "basic", at(2)),
        PlanChange("fay", "basic", "plus", at(3)),
    ]
    assert conversion_rates(changes)[("basic", "plus")] == ConversionRate(1.0, 1, 1)


def test_changes_are_read_in_time_order_per_customer() -> None:
    shuffled = list(reversed(history()))

    assert conversion_rates(shuffled) == conversion_rates(history())


def test_window_counts_moves_inside_it_and_customers_on_the_plan_during_it() -> None:
    rates = conversion_rates(history(), since=at(12), until=at(20))

    # ana left basic before the window; ben left exactly at its start; cem and dia were on it.
    assert rates[("basic", "family")] == ConversionRate(1 / 3, 1, 3)
    assert rates[("basic", "plus")] == ConversionRate(1 / 3, 1, 3)
    assert ("plus", "business") not in rates  # at(20) is outside [since, until)


def test_customer_who_joined_after_the_window_is_not_in_the_base() -> None:
    rates = conversion_rates(history(), until=at(4))

    assert rates == {}
    rates = conversion_rates([*history(), PlanChange("gus", "basic", "plus", at(3))], until=at(4))
    assert rates[("basic", "plus")] == ConversionRate(0.25, 1, 4)

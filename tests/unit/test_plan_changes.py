"""Subscription periods become plan changes; only a prompt switch counts as a conversion."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.jobs.plans_section import Period, plan_changes
from app.offers import PlanChange, conversion_rates

WINDOW = timedelta(days=30)


def day(n: float) -> datetime:
    return datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=n)


def test_a_prompt_switch_is_one_change_from_plan_to_plan() -> None:
    periods = [Period("c", "basic", day(0), day(10)), Period("c", "plus", day(10), None)]

    assert list(plan_changes(periods, WINDOW)) == [
        PlanChange("c", None, "basic", day(0)),
        PlanChange("c", "basic", "plus", day(10)),
    ]


def test_a_switch_later_than_the_window_is_a_cancellation_and_a_signup() -> None:
    periods = [Period("c", "basic", day(0), day(45)), Period("c", "plus", day(45), None)]

    assert list(plan_changes(periods, WINDOW)) == [
        PlanChange("c", None, "basic", day(0)),
        PlanChange("c", "basic", None, day(45)),
        PlanChange("c", None, "plus", day(45)),
    ]


def test_the_window_runs_from_joining_the_plan_not_from_renewing_it() -> None:
    # Two back-to-back periods on basic (a renewal), then a switch 40 days after joining.
    periods = [
        Period("c", "basic", day(0), day(20)),
        Period("c", "basic", day(20), day(40)),
        Period("c", "plus", day(40), None),
    ]

    moves = [c for c in plan_changes(periods, WINDOW) if c.from_plan and c.to_plan]

    assert moves == []


def test_a_new_plan_after_a_gap_of_more_than_a_day_is_a_new_signup() -> None:
    periods = [Period("c", "basic", day(0), day(5)), Period("c", "plus", day(9), None)]

    assert list(plan_changes(periods, WINDOW)) == [
        PlanChange("c", None, "basic", day(0)),
        PlanChange("c", "basic", None, day(5)),
        PlanChange("c", None, "plus", day(9)),
    ]


def test_each_customer_history_closes_with_its_cancellation() -> None:
    periods = [Period("a", "basic", day(0), day(3)), Period("b", "basic", day(1), None)]

    assert list(plan_changes(periods, WINDOW)) == [
        PlanChange("a", None, "basic", day(0)),
        PlanChange("a", "basic", None, day(3)),
        PlanChange("b", None, "basic", day(1)),
    ]


def test_late_movers_stay_in_the_base_of_their_old_plan() -> None:
    prompt = [Period("p", "basic", day(0), day(5)), Period("p", "plus", day(5), None)]
    late = [Period("l", "basic", day(0), day(50)), Period("l", "plus", day(50), None)]

    rates = conversion_rates(plan_changes([*prompt, *late], WINDOW))

    assert (rates["basic", "plus"].moved, rates["basic", "plus"].base) == (1, 2)

"""Upgrade offers on a storage ladder: who gets which plan, and why."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from app.offers import (
    ConversionRate,
    InvalidUsage,
    NoOfferReason,
    OfferPolicy,
    Plan,
    PlanCatalog,
    UnknownPlan,
    UpgradeDecision,
    UpgradeRequest,
    UsageSample,
    upgrade_offers,
)

TODAY = date(2026, 3, 1)

LADDER = (
    Plan("free-5gb", "Free 5 GB", 0, Decimal("0"), {"storage_gb": 5, "seats": 1}),
    Plan("basic-100gb", "Basic 100 GB", 1, Decimal("1.99"), {"storage_gb": 100, "seats": 2}),
    Plan("plus-2tb", "Plus 2 TB", 2, Decimal("9.99"), {"storage_gb": 2000, "seats": 3}),
    # Same storage as plus-2tb; the step up is seats, so storage alone never leads here.
    Plan("family-2tb", "Family 2 TB", 3, Decimal("16.99"), {"storage_gb": 2000, "seats": 6}),
    Plan("business-5tb", "Business 5 TB", 4, Decimal("24.99"), {"storage_gb": 5000, "seats": 10}),
)


def decide(
    plan_id: str,
    usage: dict[str, float],
    *,
    history: tuple[UsageSample, ...] = (),
    declined: frozenset[str] = frozenset(),
    plans: tuple[Plan, ...] = LADDER,
    conversion: dict[tuple[str, str], ConversionRate] | None = None,
    limit: int = 2,
) -> UpgradeDecision:
    request = UpgradeRequest(plan_id, usage, TODAY, history, limit, declined)
    return upgrade_offers(request, PlanCatalog(plans, conversion or {}))


def daily_history(resource: str, values: list[float]) -> tuple[UsageSample, ...]:
    """One sample a day, the last one yesterday."""
    start = TODAY - timedelta(days=len(values))
    return tuple(
        UsageSample(start + timedelta(days=day), {resource: value})
        for day, value in enumerate(values)
    )


def offered(decision: UpgradeDecision) -> list[str]:
    return [offer.plan_id for offer in decision.offers]


def test_user_at_96_of_100_gb_is_offered_the_2_tb_plan() -> None:
    decision = decide("basic-100gb", {"storage_gb": 96})

    assert decision.reason is None
    assert decision.trigger is not None
    assert (decision.trigger.resource, decision.trigger.used_ratio) == ("storage_gb", 0.96)
    assert decision.trigger.days_to_full is None
    first = decision.offers[0]
    assert first.offer_id == "basic-100gb->plus-2tb"
    assert first.reason == "storage_gb_96pct"
    assert first.price_step.absolute == Decimal("8.00")
    assert first.headroom_months is None
    assert first.headline == (
        "You're using 96 GB of 100 GB. Plus 2 TB gives you room for years for +€8.00/month."
    )


def test_alternative_has_more_of_the_triggering_resource() -> None:
    # family-2tb costs less than business-5tb but gives no more storage than plus-2tb.
    assert offered(decide("basic-100gb", {"storage_gb": 96})) == ["plus-2tb", "business-5tb"]


def test_limit_one_returns_only_the_first_choice() -> None:
    assert offered(decide("basic-100gb", {"storage_gb": 96}, limit=1)) == ["plus-2tb"]


def test_2_tb_user_near_full_gets_5_tb_not_the_family_plan() -> None:
    decision = decide("plus-2tb", {"storage_gb": 1900, "seats": 1})

    assert offered(decision) == ["business-5tb"]
    assert decision.offers[0].headline.startswith("You're using 1.9 TB of 2 TB.")


def test_full_seats_lead_to_the_family_plan() -> None:
    decision = decide("plus-2tb", {"storage_gb": 500, "seats": 3})

    assert decision.trigger is not None
    assert decision.trigger.reason == "seats_100pct"
    assert offered(decision) == ["family-2tb", "business-5tb"]
    assert decision.offers[0].headline.startswith("You're using 3 of 3 seats.")


def test_fast_growth_fires_before_the_threshold() -> None:
    # One GB a day for 30 days: 70 GB now, the 100 GB quota is reached in 30 days.
    history = daily_history("storage_gb", [40.0 + day for day in range(30)])
    decision = decide("basic-100gb", {"storage_gb": 70}, history=history)

    assert decision.trigger is not None
    assert decision.trigger.used_ratio == pytest.approx(0.7)
    assert decision.trigger.days_to_full == 30
    assert decision.trigger.reason == "storage_gb_full_in_30_days"
    assert offered(decision)[0] == "plus-2tb"
    assert decision.offers[0].headroom_months == 63  # (2000 - 70) GB at 1 GB/day
    assert decision.offers[0].headline.startswith(
        "At this pace your 100 GB will be full in 30 days."
    )


def test_slow_growth_below_the_threshold_does_not_fire() -> None:
    history = daily_history("storage_gb", [40.0 + day for day in range(20)])
    decision = decide("basic-100gb", {"storage_gb": 60}, history=history)

    assert decision == UpgradeDecision(None, (), NoOfferReason.USAGE_BELOW_THRESHOLD)


def test_plan_that_fills_within_the_horizon_is_skipped() -> None:
    # 15 GB a day outgrows 2 TB within six months, so the 5 TB plan comes first.
    history = daily_history("storage_gb", [10.0 + 15 * day for day in range(5)])
    decision = decide("basic-100gb", {"storage_gb": 85}, history=history)

    assert offered(decision) == ["business-5tb"]
    assert decision.offers[0].headroom_months == 10
    assert "room for 10 months" in decision.offers[0].headline


def test_most_urgent_trigger_is_the_one_that_fills_first() -> None:
    # Storage sits at 85 % without growing; seats grow by one every 25 days, full in 25.
    history = (UsageSample(TODAY - timedelta(days=25), {"storage_gb": 1700, "seats": 1}),)
    decision = decide("plus-2tb", {"storage_gb": 1700, "seats": 2}, history=history)

    assert decision.trigger is not None
    assert decision.trigger.reason == "seats_full_in_25_days"
    # Every fired trigger must be relieved: family-2tb adds seats but no storage.
    assert offered(decision) == ["business-5tb"]


def test_plan_specific_threshold_overrides_the_default() -> None:
    relaxed = tuple(
        Plan(p.plan_id, p.name, p.tier, p.monthly_price, p.quotas, trigger_ratio=0.9)
        if p.plan_id == "basic-100gb"
        else p
        for p in LADDER
    )
    assert decide("basic-100gb", {"storage_gb": 85}, plans=relaxed).offers == ()
    assert decide("basic-100gb", {"storage_gb": 85}).offers != ()


def test_declined_plan_is_skipped_for_the_next_cheapest() -> None:
    decision = decide("basic-100gb", {"storage_gb": 96}, declined=frozenset({"plus-2tb"}))

    assert offered(decision) == ["family-2tb", "business-5tb"]


def test_everything_declined_means_cooldown() -> None:
    declined = frozenset({"plus-2tb", "family-2tb", "business-5tb"})
    decision = decide("basic-100gb", {"storage_gb": 96}, declined=declined)

    assert decision.offers == ()
    assert decision.reason is NoOfferReason.COOLDOWN
    assert decision.trigger is not None


def test_top_tier_has_nothing_to_offer() -> None:
    decision = decide("business-5tb", {"storage_gb": 4900})

    assert (decision.offers, decision.reason) == ((), NoOfferReason.TOP_TIER)
    assert decision.trigger is not None


def test_inactive_plan_is_never_offered() -> None:
    retired = tuple(
        Plan(p.plan_id, p.name, p.tier, p.monthly_price, p.quotas, active=False)
        if p.plan_id == "plus-2tb"
        else p
        for p in LADDER
    )
    assert offered(decide("basic-100gb", {"storage_gb": 96}, plans=retired)) == [
        "family-2tb",
        "business-5tb",
    ]


def test_no_plan_big_enough_means_no_fitting_plan() -> None:
    decision = decide("basic-100gb", {"storage_gb": 50, "seats": 25})

    assert (decision.offers, decision.reason) == ((), NoOfferReason.NO_FITTING_PLAN)


def test_upgrade_from_a_free_plan_has_no_price_ratio() -> None:
    offer = decide("free-5gb", {"storage_gb": 4.5}).offers[0]

    assert offer.plan_id == "basic-100gb"
    assert offer.price_step.absolute == Decimal("1.99")
    assert offer.price_step.ratio is None


def test_price_ratio_compares_monthly_prices() -> None:
    offer = decide("plus-2tb", {"storage_gb": 1900}).offers[0]

    assert offer.price_step.ratio == pytest.approx(24.99 / 9.99)


def test_much_better_conversion_ranks_first() -> None:
    conversion = {
        ("basic-100gb", "plus-2tb"): ConversionRate(0.05, 10, 200),
        ("basic-100gb", "family-2tb"): ConversionRate(0.15, 30, 200),
    }
    decision = decide("basic-100gb", {"storage_gb": 96}, conversion=conversion)

    assert offered(decision) == ["family-2tb", "business-5tb"]
    assert [offer.conversion_rate for offer in decision.offers] == [0.15, None]


@pytest.mark.parametrize(
    "family_rate",
    [ConversionRate(0.09, 18, 200), ConversionRate(0.5, 5, 10)],
    ids=["less-than-twice", "too-few-moves"],
)
def test_weak_conversion_evidence_keeps_the_cheapest_first(family_rate: ConversionRate) -> None:
    conversion = {
        ("basic-100gb", "plus-2tb"): ConversionRate(0.05, 10, 200),
        ("basic-100gb", "family-2tb"): family_rate,
    }
    decision = decide("basic-100gb", {"storage_gb": 96}, conversion=conversion)

    assert offered(decision)[0] == "plus-2tb"


def test_unknown_plan_is_reported() -> None:
    with pytest.raises(UnknownPlan) as error:
        decide("gold", {"storage_gb": 1})
    assert error.value.plan_id == "gold"


@pytest.mark.parametrize(
    ("usage", "history", "field"),
    [
        ({"storage_gb": -1.0}, (), "usage.storage_gb"),
        ({"storage_gb": float("nan")}, (), "usage.storage_gb"),
        ({"bandwidth_gb": 3.0}, (), "usage.bandwidth_gb"),
        ({}, (), "usage"),
        (
            {"storage_gb": 50.0},
            (
                UsageSample(date(2026, 1, 1), {"storage_gb": 10.0}),
                UsageSample(date(2026, 2, 1), {"storage_gb": 20.0}),
                UsageSample(date(2026, 1, 15), {"storage_gb": 30.0}),
            ),
            "usage_history[2].at",
        ),
        (
            {"storage_gb": 50.0},
            (UsageSample(date(2026, 3, 2), {"storage_gb": 1.0}),),
            "usage_history[0].at",
        ),
        (
            {"storage_gb": 50.0},
            (UsageSample(date(2026, 2, 1), {"storage_gb": -2.0}),),
            "usage_history[0].usage.storage_gb",
        ),
    ],
    ids=["negative", "nan", "no-quota", "empty", "out-of-order", "future", "negative-history"],
)
def test_invalid_usage_names_the_field(
    usage: dict[str, float], history: tuple[UsageSample, ...], field: str
) -> None:
    with pytest.raises(InvalidUsage) as error:
        decide("basic-100gb", usage, history=history)
    assert error.value.field == field
    assert str(error.value).startswith(f"{field}: ")


def test_resource_without_quota_message_says_so() -> None:
    with pytest.raises(InvalidUsage, match="usage without a quota to compare"):
        decide("basic-100gb", {"bandwidth_gb": 3.0})


def test_limit_below_one_is_invalid() -> None:
    with pytest.raises(InvalidUsage) as error:
        decide("basic-100gb", {"storage_gb": 96}, limit=0)
    assert error.value.field == "limit"


def test_custom_policy_threshold_and_horizon() -> None:
    request = UpgradeRequest("basic-100gb", {"storage_gb": 60}, TODAY)
    strict = OfferPolicy(trigger_ratio=0.5)

    assert upgrade_offers(request, PlanCatalog(LADDER), strict).offers[0].plan_id == "plus-2tb"


def test_history_may_use_datetimes_from_earlier_today() -> None:
    morning = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    history = (
        UsageSample(morning - timedelta(days=10), {"storage_gb": 80.0}),
        UsageSample(morning, {"storage_gb": 90.0}),
    )
    decision = decide("basic-100gb", {"storage_gb": 91}, history=history)

    assert decision.trigger is not None
    assert decision.trigger.reason == "storage_gb_91pct"
    assert decision.trigger.days_to_full is not None


def test_usage_beyond_any_real_quota_is_invalid_not_an_overflow() -> None:
    history = (
        UsageSample(date(2026, 1, 1), {"storage_gb": 1e308}),
        UsageSample(date(2026, 2, 1), {"storage_gb": 1e308}),
    )
    with pytest.raises(InvalidUsage) as error:
        decide("basic-100gb", {"storage_gb": 1e300}, history=history)
    assert error.value.field == "usage.storage_gb"

"""Properties every upgrade decision keeps, on random plan ladders and usage."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from app.offers import (
    ConversionRate,
    Plan,
    PlanCatalog,
    PlanChange,
    UpgradeRequest,
    UsageSample,
    conversion_rates,
    offer_id,
    parse_offer_id,
    plans_from_json,
    plans_to_json,
    upgrade_offers,
)
from app.offers.usage import growth_per_day
from tests.unit.test_offers_examples import LADDER

TODAY = date(2026, 3, 1)
# About one quota in ten is unlimited.
quota_values = st.integers(0, 9).flatmap(
    lambda pick: st.just(math.inf) if pick == 0 else st.floats(1, 2_000)
)


@st.composite
def plans(draw: st.DrawFn, plan_id: str, tier: int) -> Plan:
    # Quotas loosely grow with the tier, as real ladders do, so upgrades are common.
    scale = float(tier + 1)
    quotas = {"storage_gb": draw(quota_values) * scale}  # every catalog knows storage
    if draw(st.booleans()):
        quotas["seats"] = draw(quota_values) * scale
    return Plan(
        plan_id=plan_id,
        name=plan_id.title(),
        tier=tier,
        monthly_price=draw(st.decimals(0, 50, places=2)),
        quotas=quotas,
        active=draw(st.sampled_from([True] * 6 + [False])),
        currency=draw(st.sampled_from(["EUR"] * 9 + ["USD"])),
        trigger_ratio=draw(st.none() | st.floats(0.5, 1)),
    )


@st.composite
def storage_ladders(draw: st.DrawFn) -> PlanCatalog:
    """The example ladder with random evidence, where most requests end in offers."""
    ids = [plan.plan_id for plan in LADDER]
    pairs = st.tuples(st.sampled_from(ids), st.sampled_from(ids))
    return PlanCatalog(LADDER, draw(st.dictionaries(pairs, conversion_evidence(), max_size=6)))


@st.composite
def catalogs(draw: st.DrawFn) -> PlanCatalog:
    ids = [f"plan-{index}" for index in range(draw(st.integers(2, 6)))]
    # Tiers mostly climb with the index; an occasional equal tier is a lateral move.
    steps = draw(st.lists(st.sampled_from([1, 1, 1, 0, 2]), min_size=len(ids), max_size=len(ids)))
    tiers = [sum(steps[: index + 1]) for index in range(len(ids))]
    ladder = tuple(draw(plans(plan_id, tier)) for plan_id, tier in zip(ids, tiers, strict=True))
    pairs = st.tuples(st.sampled_from(ids), st.sampled_from(ids))
    rates = draw(st.dictionaries(pairs, conversion_evidence(), max_size=6))
    return PlanCatalog(ladder, rates)


def conversion_evidence() -> st.SearchStrategy[ConversionRate]:
    return st.integers(1, 100).flatmap(
        lambda base: st.integers(1, base).map(
            lambda moved: ConversionRate(moved / base, moved, base)
        )
    )


@dataclass(frozen=True)
class Case:
    catalog: PlanCatalog
    request: UpgradeRequest


@st.composite
def cases(draw: st.DrawFn) -> Case:
    catalog = draw(catalogs() | storage_ladders())
    ids = [plan.plan_id for plan in catalog.plans]
    current = catalog.plan(draw(st.sampled_from(ids[:-1])))  # mostly not the top
    resources = draw(st.sets(st.sampled_from(sorted(catalog.resources())), min_size=1))
    usage = {resource: draw(usage_near(current, resource)) for resource in sorted(resources)}
    days_back = draw(st.lists(st.integers(1, 90), max_size=3, unique=True))
    history = tuple(
        UsageSample(
            TODAY - timedelta(days=back),
            {r: used * draw(st.floats(0, 1.2)) for r, used in usage.items()},
        )
        for back in sorted(days_back, reverse=True)
    )
    request = UpgradeRequest(
        plan_id=current.plan_id,
        usage=usage,
        today=TODAY,
        usage_history=history,
        limit=draw(st.integers(1, 3)),
        declined=frozenset(draw(st.sets(st.sampled_from(ids), max_size=2))),
    )
    return Case(catalog, request)


def usage_near(plan: Plan, resource: str) -> st.SearchStrategy[float]:
    """Mostly around the plan's quota, where the interesting decisions are."""
    quota = plan.quotas.get(resource, math.inf)
    if math.isinf(quota):
        return st.floats(0, 5_000)
    typical = st.sampled_from([0.5, 0.79, 0.8, 0.9, 0.96, 1.0, 1.1])
    shares = st.integers(0, 3).flatmap(lambda pick: st.floats(0, 1.3) if pick == 0 else typical)
    return shares.map(lambda share: share * quota)


@given(cases())
def test_offers_are_active_undeclined_strict_upgrades_covering_usage(case: Case) -> None:
    current = case.catalog.plan(case.request.plan_id)
    decision = upgrade_offers(case.request, case.catalog)

    for offer in decision.offers:
        plan = case.catalog.plan(offer.plan_id)
        assert plan.tier > current.tier
        assert plan.active
        assert plan.plan_id not in case.request.declined
        assert offer.offer_id == offer_id(current.plan_id, plan.plan_id)
        for resource, used in case.request.usage.items():
            assert plan.quotas[resource] >= used


@given(cases())
def test_decision_has_offers_or_a_reason_never_both(case: Case) -> None:
    decision = upgrade_offers(case.request, case.catalog)

    assert (decision.reason is None) == bool(decision.offers)
    assert len(decision.offers) <= case.request.limit
    assert len({offer.plan_id for offer in decision.offers}) == len(decision.offers)
    if decision.offers:
        assert decision.trigger is not None


@given(cases(), st.randoms(use_true_random=False))
def test_decision_is_deterministic_and_ignores_plan_order(
    case: Case, shuffle: random.Random
) -> None:
    shuffled = list(case.catalog.plans)
    shuffle.shuffle(shuffled)
    reordered = PlanCatalog(tuple(shuffled), case.catalog.conversion)

    first = upgrade_offers(case.request, case.catalog)
    assert upgrade_offers(case.request, case.catalog) == first
    assert upgrade_offers(case.request, reordered) == first


@given(catalogs())
def test_plans_survive_the_json_round_trip(catalog: PlanCatalog) -> None:
    assert plans_from_json(plans_to_json(catalog)) == catalog


@given(
    st.from_regex(r"[a-z0-9_-]{1,12}", fullmatch=True),
    st.from_regex(r"[a-z0-9_-]{1,12}", fullmatch=True),
)
def test_offer_id_parses_back(source: str, target: str) -> None:
    # Valid plan ids never contain "->", and without ">" they cannot.
    assert parse_offer_id(offer_id(source, target)) == (source, target)


@given(
    st.floats(-50, 50), st.floats(0, 1_000), st.lists(st.integers(1, 60), min_size=1, unique=True)
)
def test_linear_history_gives_its_slope(slope: float, now: float, days_back: list[int]) -> None:
    def value(back: int) -> float:
        return now - slope * back

    history = [
        UsageSample(TODAY - timedelta(days=back), {"storage_gb": value(back)})
        for back in sorted(days_back, reverse=True)
    ]
    growth = growth_per_day({"storage_gb": now}, history, TODAY)

    assert math.isclose(growth["storage_gb"], slope, rel_tol=1e-6, abs_tol=1e-6)


changes = st.builds(
    PlanChange,
    customer_id=st.sampled_from(["a", "b", "c", "d"]),
    from_plan=st.none() | st.sampled_from(["free", "basic", "plus"]),
    to_plan=st.none() | st.sampled_from(["free", "basic", "plus"]),
    changed_at=st.integers(0, 60).map(
        lambda day: datetime(2026, 1, 1, tzinfo=UTC) + timedelta(day)
    ),
)
window_edges = st.none() | st.integers(0, 60).map(
    lambda day: datetime(2026, 1, 1, tzinfo=UTC) + timedelta(day)
)


@given(st.lists(changes, max_size=20), window_edges, window_edges)
@settings(max_examples=200)
def test_conversion_rates_are_shares_of_their_base(
    history: list[PlanChange], since: datetime | None, until: datetime | None
) -> None:
    for (source, target), rate in conversion_rates(history, since=since, until=until).items():
        assert source != target
        assert 1 <= rate.moved <= rate.base
        assert rate.rate == rate.moved / rate.base

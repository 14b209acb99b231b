"""Which higher plan to offer a customer who is outgrowing theirs, and why."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum

from app.offers.conversion import ConversionRate
from app.offers.errors import InvalidOfferId, InvalidUsage
from app.offers.headline import headline
from app.offers.plans import OFFER_ID_SEPARATOR, Plan, PlanCatalog
from app.offers.triggers import (
    DAYS_PER_MONTH,
    Trigger,
    fired_triggers,
    headroom_months,
    trigger_ratio_for,
)
from app.offers.usage import UsageSample, growth_per_day, validate_usage

_UNOBSERVED = ConversionRate(rate=0.0, moved=0, base=0)


class NoOfferReason(StrEnum):
    TOP_TIER = "top_tier"
    USAGE_BELOW_THRESHOLD = "usage_below_threshold"
    NO_FITTING_PLAN = "no_fitting_plan"
    COOLDOWN = "cooldown"
    HOLDOUT = "holdout"  # the customer is in the experiment's control arm


@dataclass(frozen=True, slots=True)
class OfferPolicy:
    """Tunable knobs; the defaults match the settings' defaults."""

    trigger_ratio: float = 0.8
    trend_window_days: int = 30
    horizon_months: int = 6
    # A later plan ranks first when its observed conversion from the current plan
    # is at least `promote_factor` times the cheapest fit's, over >= `promote_min_moved` moves.
    promote_factor: float = 2.0
    promote_min_moved: int = 20

    def __post_init__(self) -> None:
        if not 0 < self.trigger_ratio <= 1:
            raise ValueError("trigger_ratio must be in (0, 1]")
        if self.trend_window_days < 0 or self.horizon_months < 0:
            raise ValueError("trend_window_days and horizon_months must be >= 0")
        if self.promote_factor < 1 or self.promote_min_moved < 1:
            raise ValueError("promote_factor and promote_min_moved must be >= 1")


@dataclass(frozen=True, slots=True)
class UpgradeRequest:
    """What the API passes in; `declined` holds plan ids still in their cooldown."""

    plan_id: str
    usage: Mapping[str, float]
    today: date
    usage_history: Sequence[UsageSample] = ()
    limit: int = 2
    declined: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True, slots=True)
class PriceStep:
    absolute: Decimal  # offered minus current monthly price
    ratio: float | None  # offered / current monthly price; None when the current plan is free


@dataclass(frozen=True, slots=True)
class Offer:
    offer_id: str
    plan_id: str
    name: str
    monthly_price: Decimal
    currency: str
    price_step: PriceStep
    quotas: Mapping[str, float]
    headroom_months: int | None
    conversion_rate: float | None  # None: no observed move from the current plan
    reason: str
    headline: str


@dataclass(frozen=True, slots=True)
class UpgradeDecision:
    """Either offers (best first, `reason` None) or no offers and a `reason`."""

    trigger: Trigger | None
    offers: tuple[Offer, ...]
    reason: NoOfferReason | None


def offer_id(from_plan: str, to_plan: str) -> str:
    return f"{from_plan}{OFFER_ID_SEPARATOR}{to_plan}"


def parse_offer_id(value: str) -> tuple[str, str]:
    """(from_plan, to_plan) of an offer id; raises InvalidOfferId."""
    source, separator, target = value.partition(OFFER_ID_SEPARATOR)
    if not separator or not source or not target or OFFER_ID_SEPARATOR in target:
        raise InvalidOfferId(value)
    return source, target


@dataclass(frozen=True, slots=True)
class Assessment:
    """A request judged on everything but cooldowns, which need the store.

    `decided` is the final answer when cooldowns cannot change it (no step up, nothing
    fired); otherwise `candidates` are the plans whose cooldowns `decide` needs.
    """

    request: UpgradeRequest
    current: Plan
    trigger: Trigger | None
    growth: Mapping[str, float]
    higher: tuple[Plan, ...]
    fitting: tuple[Plan, ...]
    conversion: Mapping[tuple[str, str], ConversionRate]
    policy: OfferPolicy
    decided: UpgradeDecision | None

    @property
    def candidates(self) -> tuple[str, ...]:
        """Plan ids whose cooldowns matter; with no fitting plan, every step up tells
        cooldown (all declined) from no_fitting_plan."""
        if self.decided is not None:
            return ()
        return tuple(plan.plan_id for plan in self.fitting or self.higher)


def upgrade_offers(
    request: UpgradeRequest, catalog: PlanCatalog, policy: OfferPolicy = OfferPolicy()
) -> UpgradeDecision:
    """Offers for one customer; raises UnknownPlan or InvalidUsage.

    Checks run in this order, the first that applies gives the reason:
    no active higher tier (top_tier), nothing fired (usage_below_threshold),
    no higher plan fits (no_fitting_plan), every fitting plan declined (cooldown).
    The most urgent fired trigger is reported; offers relieve every fired one.
    """
    return decide(assess(request, catalog, policy), request.declined)


def assess(request: UpgradeRequest, catalog: PlanCatalog, policy: OfferPolicy) -> Assessment:
    """The first half of `upgrade_offers`: all of it that needs no cooldowns."""
    current = catalog.plan(request.plan_id)
    _validate(request, catalog)
    usage = request.usage
    growth = growth_per_day(usage, request.usage_history, request.today)
    fired = fired_triggers(
        current,
        usage,
        growth,
        default_ratio=policy.trigger_ratio,
        window_days=policy.trend_window_days,
    )
    trigger = fired[0] if fired else None
    higher = tuple(plan for plan in catalog.plans if _is_upgrade(current, plan))
    fitting: tuple[Plan, ...] = ()
    decided = None
    if not higher:
        decided = UpgradeDecision(trigger, (), NoOfferReason.TOP_TIER)
    elif trigger is None:
        decided = UpgradeDecision(None, (), NoOfferReason.USAGE_BELOW_THRESHOLD)
    else:
        fitting = tuple(plan for plan in higher if _fits(plan, usage, growth, fired, policy))
    return Assessment(
        request, current, trigger, growth, higher, fitting, catalog.conversion, policy, decided
    )


def decide(assessment: Assessment, declined: frozenset[str]) -> UpgradeDecision:
    """The second half: the answer once the candidates' cooldowns are known."""
    if assessment.decided is not None:
        return assessment.decided
    trigger, current = assessment.trigger, assessment.current
    assert trigger is not None  # undecided means a trigger fired
    available = [plan for plan in assessment.fitting if plan.plan_id not in declined]
    if not available:
        return UpgradeDecision(
            trigger, (), _why_none(assessment.higher, assessment.fitting, declined)
        )
    conversion = assessment.conversion
    ranked = _rank(current, available, trigger.resource, conversion, assessment.policy)
    usage, growth = assessment.request.usage, assessment.growth
    offers = tuple(
        _offer(current, plan, trigger, usage, growth, conversion)
        for plan in ranked[: assessment.request.limit]
    )
    return UpgradeDecision(trigger, offers, None)


def _validate(request: UpgradeRequest, catalog: PlanCatalog) -> None:
    if request.limit < 1:
        raise InvalidUsage("limit", "must be at least 1")
    validate_usage(request.usage, request.usage_history, request.today, catalog.resources())


def _is_upgrade(current: Plan, plan: Plan) -> bool:
    # Another currency would make the price step meaningless, so it is not an upgrade path.
    return plan.active and plan.tier > current.tier and plan.currency == current.currency


def _fits(
    plan: Plan,
    usage: Mapping[str, float],
    growth: Mapping[str, float],
    fired: Sequence[Trigger],
    policy: OfferPolicy,
) -> bool:
    """Covers every resource's projected usage and relieves every fired trigger."""
    horizon_days = policy.horizon_months * DAYS_PER_MONTH
    for resource, used in usage.items():
        projected = max(used, used + growth[resource] * horizon_days)
        if resource not in plan.quotas or plan.quotas[resource] < projected:
            return False
    # A plan with no more room, or one that would trigger again at once, fixes nothing.
    threshold = trigger_ratio_for(plan, policy.trigger_ratio)
    return all(
        plan.quotas[t.resource] > t.quota and t.used < threshold * plan.quotas[t.resource]
        for t in fired
    )


def _why_none(
    higher: Sequence[Plan], fitting: Sequence[Plan], declined: frozenset[str]
) -> NoOfferReason:
    # A declined plan that would fit, or having declined every step up, is the cooldown talking.
    if fitting or all(plan.plan_id in declined for plan in higher):
        return NoOfferReason.COOLDOWN
    return NoOfferReason.NO_FITTING_PLAN


def _rank(
    current: Plan,
    available: Sequence[Plan],
    resource: str,
    conversion: Mapping[tuple[str, str], ConversionRate],
    policy: OfferPolicy,
) -> list[Plan]:
    """The first offer, then cheapest-first plans each with more `resource` than the one before.

    The first offer is the cheapest fit, unless another plan's observed
    conversion from the current plan is much better (see OfferPolicy).
    """
    ordered = sorted(available, key=lambda plan: (plan.monthly_price, plan.tier, plan.plan_id))
    ladder = [_promoted(current, ordered, conversion, policy) or ordered[0]]
    for plan in ordered:
        if plan.quotas[resource] > ladder[-1].quotas[resource]:
            ladder.append(plan)
    return ladder


def _promoted(
    current: Plan,
    ordered: Sequence[Plan],
    conversion: Mapping[tuple[str, str], ConversionRate],
    policy: OfferPolicy,
) -> Plan | None:
    def observed(plan: Plan) -> ConversionRate:
        return conversion.get((current.plan_id, plan.plan_id), _UNOBSERVED)

    baseline = observed(ordered[0]).rate
    strong = [
        plan
        for plan in ordered[1:]
        if observed(plan).moved >= policy.promote_min_moved
        and observed(plan).rate >= policy.promote_factor * baseline
        and observed(plan).rate > baseline
    ]
    # max keeps the first of equals, i.e. the cheaper plan.
    return max(strong, key=lambda plan: observed(plan).rate) if strong else None


def _offer(
    current: Plan,
    plan: Plan,
    trigger: Trigger,
    usage: Mapping[str, float],
    growth: Mapping[str, float],
    conversion: Mapping[tuple[str, str], ConversionRate],
) -> Offer:
    step = plan.monthly_price - current.monthly_price
    ratio = float(plan.monthly_price / current.monthly_price) if current.monthly_price else None
    headroom = headroom_months(plan, usage, growth)
    observed = conversion.get((current.plan_id, plan.plan_id))
    return Offer(
        offer_id=offer_id(current.plan_id, plan.plan_id),
        plan_id=plan.plan_id,
        name=plan.name,
        monthly_price=plan.monthly_price,
        currency=plan.currency,
        price_step=PriceStep(step, ratio),
        quotas=plan.quotas,
        headroom_months=headroom,
        conversion_rate=observed.rate if observed else None,
        reason=trigger.reason,
        headline=headline(trigger, plan, headroom, step),
    )

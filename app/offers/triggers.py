"""Usage triggers: which resource is, or soon will be, too full for the current plan."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace

from app.offers.plans import Plan

# An average Gregorian month, so horizons and headroom agree with the calendar over a year.
DAYS_PER_MONTH = 365.25 / 12
# A quota more than a century away counts as never filling: such growth is noise here.
MAX_DAYS_TO_FULL = 100 * 365
# Beyond ten years the headline only says "years"; the cap keeps the number meaningful.
HEADROOM_CAP_MONTHS = 120


@dataclass(frozen=True, slots=True)
class Trigger:
    """Why a customer should see an offer now.

    `days_to_full` is the whole number of days until usage reaches the quota at
    the current trend (rounded up), 0 when already at or over it, None when the
    resource is not growing. `by_trend` is True when only the projection fired.
    """

    resource: str
    used: float
    quota: float
    used_ratio: float
    days_to_full: int | None
    by_trend: bool
    reason: str


def trigger_ratio_for(plan: Plan, default: float) -> float:
    return default if plan.trigger_ratio is None else plan.trigger_ratio


def fired_triggers(
    plan: Plan,
    usage: Mapping[str, float],
    growth: Mapping[str, float],
    *,
    default_ratio: float,
    window_days: int,
) -> tuple[Trigger, ...]:
    """Triggers for every resource both the plan and the usage know, most urgent first.

    A resource fires when its used ratio reaches the plan's threshold (reason
    "<resource>_<pct>pct") or else when its trend fills the quota within
    `window_days` (reason "<resource>_full_in_<days>_days").
    """
    threshold = trigger_ratio_for(plan, default_ratio)
    found = []
    for resource in sorted(usage.keys() & plan.quotas.keys()):
        trigger = _evaluate(resource, usage[resource], plan.quotas[resource], growth[resource])
        if trigger.used_ratio >= threshold:
            found.append(trigger)
        elif trigger.days_to_full is not None and trigger.days_to_full <= window_days:
            reason = f"{resource}_full_in_{trigger.days_to_full}_days"
            found.append(replace(trigger, by_trend=True, reason=reason))
    return tuple(sorted(found, key=urgency))


def urgency(trigger: Trigger) -> tuple[float, float, str]:
    """Sort key: sooner full first; among resources that never fill, the fuller first.

    Time until the customer hits the wall is what makes a trigger urgent; a
    resource that is not growing never hits it, so it yields to any that is.
    """
    days = math.inf if trigger.days_to_full is None else trigger.days_to_full
    return (days, -trigger.used_ratio, trigger.resource)


def days_to_full(used: float, quota: float, growth_per_day: float) -> int | None:
    if used >= quota:
        return 0
    if growth_per_day <= 0 or math.isinf(quota):
        return None
    days = (quota - used) / growth_per_day
    # The tolerance keeps float noise (25.000000001) from adding a whole day.
    return math.ceil(days - 1e-9) if days <= MAX_DAYS_TO_FULL else None


def headroom_months(
    plan: Plan, usage: Mapping[str, float], growth: Mapping[str, float]
) -> int | None:
    """Whole months until the first resource fills `plan` at the current trends.

    None when no resource is growing; capped at HEADROOM_CAP_MONTHS.
    """
    months = [
        (plan.quotas[resource] - used) / growth[resource] / DAYS_PER_MONTH
        for resource, used in usage.items()
        if growth[resource] > 0 and resource in plan.quotas
    ]
    if not months:
        return None
    # Capped before flooring: an unlimited quota gives infinite months.
    return max(0, math.floor(min(HEADROOM_CAP_MONTHS, *months)))


def _evaluate(resource: str, used: float, quota: float, growth_per_day: float) -> Trigger:
    ratio = used / quota
    days = days_to_full(used, quota, growth_per_day)
    reason = f"{resource}_{math.floor(ratio * 100 + 1e-9)}pct"
    return Trigger(resource, used, quota, ratio, days, False, reason)

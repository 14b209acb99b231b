"""Plan ladder (tiers, prices, quotas) and its plain-JSON form for the rule store."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType
from typing import Any, TypeVar

from app.offers.conversion import ConversionRate
from app.offers.errors import UnknownPlan

# Offer ids are "FROM->TO", so a plan id must never contain the separator.
OFFER_ID_SEPARATOR = "->"

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class Plan:
    """A subscription plan. Money is Decimal throughout; quotas may be math.inf (unlimited).

    A resource missing from `quotas` is not offered by the plan: such a plan
    never covers usage of that resource. `trigger_ratio` overrides the policy's
    default usage threshold for customers on this plan.
    """

    plan_id: str
    name: str
    tier: int
    monthly_price: Decimal
    quotas: Mapping[str, float]
    active: bool = True
    currency: str = "EUR"
    trigger_ratio: float | None = None

    def __post_init__(self) -> None:
        if not self.plan_id or OFFER_ID_SEPARATOR in self.plan_id:
            raise ValueError(f"plan_id {self.plan_id!r} must be non-empty without '->'")
        if not self.monthly_price.is_finite() or self.monthly_price < 0:
            raise ValueError(f"plan {self.plan_id}: monthly_price must be >= 0")
        for resource, quota in self.quotas.items():
            if not quota > 0:  # also rejects NaN
                raise ValueError(f"plan {self.plan_id}: quota {resource} must be > 0")
        if self.trigger_ratio is not None and not 0 < self.trigger_ratio <= 1:
            raise ValueError(f"plan {self.plan_id}: trigger_ratio must be in (0, 1]")
        object.__setattr__(self, "quotas", MappingProxyType(dict(self.quotas)))


@dataclass(frozen=True, slots=True)
class PlanCatalog:
    """Every plan, retired ones included, plus observed conversion rates between them."""

    plans: tuple[Plan, ...]
    conversion: Mapping[tuple[str, str], ConversionRate] = field(default_factory=dict)
    _by_id: Mapping[str, Plan] = field(init=False, repr=False, compare=False)
    _resources: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_id = {plan.plan_id: plan for plan in self.plans}
        if len(by_id) != len(self.plans):
            raise ValueError("plan ids must be unique")
        object.__setattr__(self, "conversion", MappingProxyType(dict(self.conversion)))
        object.__setattr__(self, "_by_id", MappingProxyType(by_id))
        resources = frozenset(resource for plan in self.plans for resource in plan.quotas)
        object.__setattr__(self, "_resources", resources)

    def plan(self, plan_id: str) -> Plan:
        try:
            return self._by_id[plan_id]
        except KeyError:
            raise UnknownPlan(plan_id) from None

    def resources(self) -> frozenset[str]:
        """Resources at least one plan declares a quota for."""
        return self._resources


def plans_to_json(catalog: PlanCatalog) -> dict[str, Any]:
    """Plain dicts only: prices as decimal strings, unlimited quotas as null."""
    return {
        "plans": [_plan_to_json(plan) for plan in catalog.plans],
        "conversion": [
            {"from": source, "to": target, "rate": r.rate, "moved": r.moved, "base": r.base}
            for (source, target), r in sorted(catalog.conversion.items())
        ],
    }


def plans_from_json(data: Mapping[str, Any]) -> PlanCatalog:
    """Inverse of `plans_to_json`; raises ValueError naming the broken entry."""
    plans = tuple(
        _parse(f"plans[{index}]", _plan_from_json, item)
        for index, item in enumerate(data.get("plans", []))
    )
    rates = dict(
        _parse(f"conversion[{index}]", _rate_from_json, item)
        for index, item in enumerate(data.get("conversion", []))
    )
    return PlanCatalog(plans, rates)


def _plan_to_json(plan: Plan) -> dict[str, Any]:
    return {
        "plan_id": plan.plan_id,
        "name": plan.name,
        "tier": plan.tier,
        "monthly_price": str(plan.monthly_price),
        "currency": plan.currency,
        "quotas": {r: None if math.isinf(q) else q for r, q in sorted(plan.quotas.items())},
        "active": plan.active,
        "trigger_ratio": plan.trigger_ratio,
    }


def _plan_from_json(item: Mapping[str, Any]) -> Plan:
    quotas = {r: math.inf if q is None else float(q) for r, q in item["quotas"].items()}
    ratio = item.get("trigger_ratio")
    return Plan(
        plan_id=str(item["plan_id"]),
        name=str(item["name"]),
        tier=int(item["tier"]),
        monthly_price=Decimal(str(item["monthly_price"])),
        quotas=quotas,
        active=bool(item.get("active", True)),
        currency=str(item.get("currency", "EUR")),
        trigger_ratio=None if ratio is None else float(ratio),
    )


def _rate_from_json(item: Mapping[str, Any]) -> tuple[tuple[str, str], ConversionRate]:
    rate = ConversionRate(float(item["rate"]), int(item["moved"]), int(item["base"]))
    return (str(item["from"]), str(item["to"])), rate


def _parse(where: str, parse: Callable[[Mapping[str, Any]], _T], item: Any) -> _T:
    try:
        return parse(item)
    except (KeyError, TypeError, ValueError, ArithmeticError, AttributeError) as exc:
        raise ValueError(f"{where}: {exc!r}") from exc

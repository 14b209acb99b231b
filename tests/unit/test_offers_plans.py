"""Plans: validation, offer ids and the JSON form published to the rule store."""

from __future__ import annotations

import json
import math
from decimal import Decimal

import pytest

from app.offers import (
    ConversionRate,
    InvalidOfferId,
    Plan,
    PlanCatalog,
    UnknownPlan,
    offer_id,
    parse_offer_id,
    plans_from_json,
    plans_to_json,
)


def catalog() -> PlanCatalog:
    plans = (
        Plan("basic", "Basic", 1, Decimal("1.99"), {"storage_gb": 100}),
        Plan(
            "team",
            "Team",
            2,
            Decimal("12.50"),
            {"storage_gb": 2000, "seats": math.inf},
            active=False,
            currency="USD",
            trigger_ratio=0.9,
        ),
    )
    return PlanCatalog(plans, {("basic", "team"): ConversionRate(0.125, 5, 40)})


def test_json_round_trip_keeps_every_field() -> None:
    data = plans_to_json(catalog())

    assert plans_from_json(json.loads(json.dumps(data))) == catalog()


def test_json_is_plain_data_with_exact_prices_and_null_for_unlimited() -> None:
    data = plans_to_json(catalog())

    team = data["plans"][1]
    assert team["monthly_price"] == "12.50"
    assert team["quotas"] == {"seats": None, "storage_gb": 2000}
    assert data["conversion"] == [
        {"from": "basic", "to": "team", "rate": 0.125, "moved": 5, "base": 40}
    ]


def test_broken_json_names_the_entry() -> None:
    data = plans_to_json(catalog())
    del data["plans"][1]["tier"]

    with pytest.raises(ValueError, match=r"plans\[1\]"):
        plans_from_json(data)


def test_offer_id_round_trips() -> None:
    assert offer_id("basic", "team") == "basic->team"
    assert parse_offer_id("basic->team") == ("basic", "team")


@pytest.mark.parametrize("value", ["basic", "->team", "basic->", "a->b->c", ""])
def test_malformed_offer_id_is_rejected(value: str) -> None:
    with pytest.raises(InvalidOfferId):
        parse_offer_id(value)


def test_catalog_lookup_of_unknown_plan_raises() -> None:
    with pytest.raises(UnknownPlan):
        catalog().plan("gold")


def test_catalog_rejects_duplicate_plan_ids() -> None:
    plan = Plan("basic", "Basic", 1, Decimal("1"), {"storage_gb": 1})
    with pytest.raises(ValueError, match="unique"):
        PlanCatalog((plan, plan))


@pytest.mark.parametrize(
    "changes",
    [
        {"plan_id": "a->b"},
        {"plan_id": ""},
        {"monthly_price": Decimal("-1")},
        {"monthly_price": Decimal("NaN")},
        {"quotas": {"storage_gb": 0}},
        {"quotas": {"storage_gb": math.nan}},
        {"trigger_ratio": 1.5},
    ],
)
def test_invalid_plans_are_rejected(changes: dict[str, object]) -> None:
    fields: dict[str, object] = {
        "plan_id": "basic",
        "name": "Basic",
        "tier": 1,
        "monthly_price": Decimal("1.99"),
        "quotas": {"storage_gb": 100},
    }
    with pytest.raises(ValueError):
        Plan(**{**fields, **changes})  # type: ignore[arg-type]


def test_plan_quotas_cannot_be_changed_after_creation() -> None:
    quotas = {"storage_gb": 100.0}
    plan = Plan("basic", "Basic", 1, Decimal("1.99"), quotas)
    quotas["storage_gb"] = 1.0

    assert plan.quotas["storage_gb"] == 100.0
    with pytest.raises(TypeError):
        plan.quotas["storage_gb"] = 5.0  # type: ignore[index]

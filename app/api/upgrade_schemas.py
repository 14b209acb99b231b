"""Request and response bodies of /upgrade-offers, and their mapping from the offers core."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated, Literal

import orjson
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from pydantic.config import JsonDict

from app.api.fields import Amount, Count, iso_moment
from app.events.assign import Variant
from app.offers import (
    NoOfferReason,
    Offer,
    Trigger,
    UpgradeDecision,
    UpgradeRequest,
    UsageSample,
)

CustomerId = Annotated[str, Field(min_length=1, max_length=128, examples=["u-17"])]


class UsageReport(BaseModel):
    """Usage measured at one moment: `at` plus one number per resource."""

    model_config = ConfigDict(
        extra="allow", json_schema_extra={"examples": [{"at": "2026-10-01", "storage_gb": 1500}]}
    )
    __pydantic_extra__: dict[str, Amount] = Field(init=False)
    at: Annotated[date | datetime, BeforeValidator(iso_moment)] = Field(
        description="A date or a datetime; dates are UTC calendar days"
    )


class UpgradeOffersRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "customer_id": "u-17",
                    "plan": "basic-100gb",
                    "usage": {"storage_gb": 96},
                    "usage_history": [
                        {"at": "2026-10-01", "storage_gb": 80},
                        {"at": "2026-11-01", "storage_gb": 90},
                    ],
                    "limit": 2,
                }
            ]
        },
    )
    customer_id: CustomerId
    plan: str = Field(min_length=1, max_length=64, description="The customer's current plan")
    usage: dict[str, Amount] = Field(
        max_length=20, description="Current usage per resource the plans have quotas for"
    )
    usage_history: list[UsageReport] = Field(
        default_factory=list, max_length=366, description="Earlier usage, oldest first"
    )
    limit: Count = Field(default=2, ge=1, le=10)


class TriggerOut(BaseModel):
    resource: str
    used: float
    quota: float
    used_ratio: float
    days_to_full: int | None = Field(description="Days until full at the current trend")
    by_trend: bool = Field(description="True when only the usage trend fired")
    reason: str


class PriceStep(BaseModel):
    monthly: float = Field(description="Offered minus current monthly price")
    ratio: float | None = Field(description="Offered / current monthly price; null when free")


class OfferOut(BaseModel):
    offer_id: str = Field(
        description="`FROM->TO.SIGNATURE`, made for this answer's customer: accept or decline "
        "it with the same customer_id (any other is refused)"
    )
    plan: str
    name: str
    monthly_price: float
    currency: str
    price_step: PriceStep
    quota: dict[str, float | None] = Field(description="null means unlimited")
    headroom_months: int | None = Field(description="Months until full at the current trend")
    conversion_rate: float | None = Field(
        description="Share of customers on the current plan who moved to this one within "
        "30 days of joining it; null when never observed"
    )
    reason: str
    headline: str


_ANSWER_EXAMPLE: JsonDict = {
    "request_id": "aa63850a54814edea85885264930adf6",
    "model_version": 1,
    "trigger": {
        "resource": "storage_gb",
        "used": 96.0,
        "quota": 100.0,
        "used_ratio": 0.96,
        "days_to_full": None,
        "by_trend": False,
        "reason": "storage_gb_96pct",
    },
    "offers": [
        {
            "offer_id": "basic-100gb->plus-2tb.K1hD8n3RfSWbzL0cYb7a2Q",
            "plan": "plus-2tb",
            "name": "Plus 2 TB",
            "monthly_price": 9.99,
            "currency": "EUR",
            "price_step": {"monthly": 8.0, "ratio": 5.02},
            "quota": {"seats": 1.0, "storage_gb": 2000.0},
            "headroom_months": None,
            "conversion_rate": 0.1221,
            "reason": "storage_gb_96pct",
            "headline": "You're using 96 GB of 100 GB. "
            "Plus 2 TB gives you room for years for +€8.00/month.",
        }
    ],
    "reason": None,
    "variant": "treatment",
}


class UpgradeOffersResponse(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_ANSWER_EXAMPLE]})
    request_id: str
    model_version: int
    trigger: TriggerOut | None
    offers: list[OfferOut]
    reason: NoOfferReason | None = Field(description="Why `offers` is empty; null otherwise")
    variant: Variant = Field(description="The customer's holdout experiment arm")


class OutcomeRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"customer_id": "u-17"}]}
    )
    customer_id: CustomerId


class OutcomeResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "request_id": "4a93d052b4494ae6b902d6ad51335ef7",
                    "offer_id": "basic-100gb->plus-2tb.K1hD8n3RfSWbzL0cYb7a2Q",
                    "outcome": "declined",
                    "cooldown_until": "2026-12-07T13:38:28.810646Z",
                }
            ]
        }
    )
    request_id: str
    offer_id: str
    outcome: Literal["accepted", "declined"]
    cooldown_until: datetime | None = Field(
        description="Until when the declined plan is not offered to this customer again"
    )


def upgrade_request(body: UpgradeOffersRequest, today: date) -> UpgradeRequest:
    history = tuple(
        UsageSample(sample.at, dict(sample.model_extra or {})) for sample in body.usage_history
    )
    return UpgradeRequest(body.plan, body.usage, today, history, body.limit)


def answer_json(
    request_id: str,
    version: int,
    decision: UpgradeDecision,
    variant: Variant,
    offer_id: Callable[[str], str],
) -> bytes:
    """The UpgradeOffersResponse body, built straight from the decision.

    `offer_id` turns the core's `FROM->TO` into the id shown (signed for the customer).

    Building the response models and having them validated and dumped again cost
    more than choosing the offers; tests check these bytes against the models.
    """
    trigger = decision.trigger
    return orjson.dumps(
        {
            "request_id": request_id,
            "model_version": version,
            "trigger": None if trigger is None else _trigger_json(trigger),
            "offers": [_offer_json(offer, offer_id) for offer in decision.offers],
            "reason": decision.reason,
            "variant": variant,
        }
    )


def _trigger_json(trigger: Trigger) -> dict[str, object]:
    return {
        "resource": trigger.resource,
        "used": float(trigger.used),
        "quota": float(trigger.quota),
        "used_ratio": round(trigger.used_ratio, 4),
        "days_to_full": trigger.days_to_full,
        "by_trend": trigger.by_trend,
        "reason": trigger.reason,
    }


def _offer_json(offer: Offer, offer_id: Callable[[str], str]) -> dict[str, object]:
    ratio = offer.price_step.ratio
    conversion = offer.conversion_rate
    return {
        "offer_id": offer_id(offer.offer_id),
        "plan": offer.plan_id,
        "name": offer.name,
        "monthly_price": float(offer.monthly_price),
        "currency": offer.currency,
        "price_step": {
            "monthly": float(offer.price_step.absolute),
            "ratio": None if ratio is None else round(ratio, 3),
        },
        "quota": {r: None if math.isinf(q) else float(q) for r, q in sorted(offer.quotas.items())},
        "headroom_months": offer.headroom_months,
        "conversion_rate": None if conversion is None else round(conversion, 4),
        "reason": offer.reason,
        "headline": offer.headline,
    }

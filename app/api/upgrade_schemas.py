"""Request and response bodies of /upgrade-offers: what openapi.yaml shows and requests are
validated against. The answer itself is written by app.api.upgrade_answer."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from pydantic.config import JsonDict

from app.api.fields import Amount, Count, iso_moment
from app.events.assign import Variant
from app.offers import (
    NoOfferReason,
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

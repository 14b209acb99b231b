"""The /upgrade-offers answer written straight from the offers core, and the request read
into it. Tests hold these bytes to the response models of app.api.upgrade_schemas."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import date

import orjson

from app.api.upgrade_schemas import UpgradeOffersRequest
from app.events.assign import Variant
from app.offers import Offer, Trigger, UpgradeDecision, UpgradeRequest, UsageSample


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

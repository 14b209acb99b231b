"""Pure upgrade-offer logic: plan ladders, usage triggers, conversion evidence, offer choice."""

from app.offers.choice import (
    Assessment,
    NoOfferReason,
    Offer,
    OfferPolicy,
    PriceStep,
    UpgradeDecision,
    UpgradeRequest,
    assess,
    decide,
    offer_id,
    parse_offer_id,
    upgrade_offers,
)
from app.offers.conversion import ConversionRate, PlanChange, conversion_rates
from app.offers.errors import (
    InvalidOfferId,
    InvalidUsage,
    OfferNotForCustomer,
    OffersError,
    UnknownPlan,
)
from app.offers.offer_ids import sign_offer_id, verify_offer_id
from app.offers.plans import Plan, PlanCatalog, plans_from_json, plans_to_json
from app.offers.triggers import Trigger
from app.offers.usage import UsageSample

__all__ = [
    "Assessment",
    "ConversionRate",
    "InvalidOfferId",
    "InvalidUsage",
    "NoOfferReason",
    "Offer",
    "OfferNotForCustomer",
    "OfferPolicy",
    "OffersError",
    "Plan",
    "PlanCatalog",
    "PlanChange",
    "PriceStep",
    "Trigger",
    "UnknownPlan",
    "UpgradeDecision",
    "UpgradeRequest",
    "UsageSample",
    "assess",
    "conversion_rates",
    "decide",
    "offer_id",
    "parse_offer_id",
    "plans_from_json",
    "plans_to_json",
    "sign_offer_id",
    "upgrade_offers",
    "verify_offer_id",
]

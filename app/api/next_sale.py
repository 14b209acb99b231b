"""GET and POST /next-sale: what to send a customer after their purchases, and on which day."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from app import metrics
from app.api.deps import Resources, Serving, ServingDep
from app.api.errors import problem_responses
from app.api.fields import iso_day
from app.events.assign import Variant
from app.published.sequences import Purchase
from app.serving.guard import StoreUnavailable
from app.serving.next_sale import (
    Kind,
    NextSaleOffer,
    NextSalePlan,
    Strategy,
    plan_next_sale,
    popular_offers,
)
from app.serving.reader import LoadedVersion, RuleReader

router = APIRouter(tags=["next sale"])
UNKNOWN_CUSTOMER = "unknown customer (no purchases published for this id): popular items instead"
STORE_DOWN = "rule store unavailable: popular items instead"
HOLDOUT = "holdout: the experiment's control arm"
RESPONSE_EXAMPLE: dict[str, Any] = {
    "request_id": "4f6c0a8e2b1d4c3e",
    "model_version": 12,
    "customer_id": "2769",
    "strategy": "sequences",
    "reason": None,
    "items": [
        {
            "sku": "tv-wall-mount",
            "name": "TV wall mount",
            "price": 39.9,
            "kind": "next_sale",
            "send_on": "2026-11-01",
            "score": 0.4,
            "because": ["tv-32"],
            "evidence": {
                "customers": 231,
                "support": 0.0287,
                "confidence": 0.4,
                "lift": 1.76,
                "median_days": 12.0,
                "q1_days": 8.0,
                "q3_days": 16.0,
            },
        }
    ],
}


def plausible_day(value: date) -> date:
    # Dates near 9999-12-31 overflow once a typical delay is added to them.
    if value.year > MAX_YEAR:
        raise ValueError(f"dates after the year {MAX_YEAR} are not accepted")
    return value


MAX_YEAR = 9000
PurchaseDay = Annotated[
    date,
    BeforeValidator(iso_day),
    AfterValidator(plausible_day),
    # The year bound, documented where a client (or a generated test) can read it.
    Field(json_schema_extra={"pattern": rf"^(?:[0-8][0-9]{{3}}|{MAX_YEAR})-"}),
]


class PurchaseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sku: str = Field(min_length=1, max_length=128, examples=["tv-32"])
    at: PurchaseDay = Field(
        description="Purchase date, or an ISO 8601 timestamp whose UTC date is used",
        examples=["2026-10-20"],
    )


class NextSaleRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "purchases": [
                        {"sku": "tv-32", "at": "2026-10-20"},
                        {"sku": "candle-single", "at": "2026-10-02T18:30:00Z"},
                    ],
                    "limit": 3,
                    "as_of": "2026-10-25",
                }
            ]
        },
    )
    purchases: list[PurchaseIn] = Field(max_length=100)
    limit: int = Field(default=3, ge=1, le=50)
    session_id: str | None = Field(
        default=None, min_length=1, max_length=128, description="The experiment unit"
    )
    as_of: PurchaseDay | None = Field(
        default=None, description="The day to plan from; default today"
    )


class Evidence(BaseModel):
    """Sequential rule figures (next_sale) or rebuy figures (replenishment)."""

    customers: int = Field(description="Customers behind the figure")
    support: float | None = None
    confidence: float | None = None
    lift: float | None = None
    repeat_share: float | None = Field(default=None, description="Holders who rebuy the item")
    median_days: float
    q1_days: float
    q3_days: float


class NextSaleItem(BaseModel):
    sku: str
    name: str
    price: float | None
    kind: Kind
    send_on: date
    score: float
    because: list[str]
    evidence: Evidence | None = None


class NextSaleResponse(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [RESPONSE_EXAMPLE]})
    request_id: str
    model_version: int
    customer_id: str | None
    strategy: Strategy
    reason: str | None = None
    variant: Variant
    items: list[NextSaleItem]


@router.get(
    "/next-sale",
    responses=problem_responses(401, 422, 503),
    summary="Next items to offer a known customer, with the day to send each",
)
async def next_sale_for_customer(
    request: Request,
    serving: ServingDep,
    customer_id: Annotated[str, Query(min_length=1, max_length=128, examples=["2769"])],
    limit: Annotated[int, Query(ge=1, le=50)] = 3,
    as_of: Annotated[
        PurchaseDay | None, Query(description="The day to plan from; default today")
    ] = None,
) -> NextSaleResponse:
    today, loaded = as_of or datetime.now(UTC).date(), serving.loaded
    arm = Arm.of(serving, customer_id, None)
    if arm.variant == "control":
        return _respond(request, loaded, customer_id, arm.holdout(loaded, today, limit), arm)
    try:
        entry = await serving.reader.customer(loaded, customer_id)
    except StoreUnavailable:
        plan = _fallback(loaded, today, limit, STORE_DOWN)
        return _respond(request, loaded, customer_id, plan, arm)
    if entry is None:
        plan = _fallback(loaded, today, limit, UNKNOWN_CUSTOMER)
    else:
        blocked = _blocked(serving.reader, (p.sku for p in entry.purchases))
        plan = plan_next_sale(
            entry.purchases, entry.sequences, loaded.catalog, loaded.popular, today, limit, blocked
        )
    return _respond(request, loaded, customer_id, plan, arm)


@router.post(
    "/next-sale",
    responses=problem_responses(401, 413, 422, 503),
    summary="Next items to offer after the given purchases, with the day to send each",
)
async def next_sale_for_purchases(
    body: NextSaleRequest, request: Request, serving: ServingDep
) -> NextSaleResponse:
    today, loaded = body.as_of or datetime.now(UTC).date(), serving.loaded
    arm = Arm.of(serving, None, body.session_id)
    if arm.variant == "control":
        return _respond(request, loaded, None, arm.holdout(loaded, today, body.limit), arm)
    purchases = [Purchase(p.sku, p.at) for p in body.purchases]
    skus = list(dict.fromkeys(p.sku for p in purchases))
    known = [sku for sku in skus if sku in loaded.catalog]
    if len(known) < len(skus):
        metrics.UNKNOWN_SKUS.inc(len(skus) - len(known))
    try:
        sequences = await serving.reader.sequences(loaded, known)
    except StoreUnavailable:
        plan = _fallback(loaded, today, body.limit, STORE_DOWN)
        return _respond(request, loaded, None, plan, arm)
    blocked = _blocked(serving.reader, (p.sku for p in purchases))
    plan = plan_next_sale(
        purchases, sequences, loaded.catalog, loaded.popular, today, body.limit, blocked
    )
    return _respond(request, loaded, None, plan, arm)


def _blocked(reader: RuleReader, held: Iterable[str]) -> frozenset[str]:
    """The shop's block rules apply here as at checkout; held items play the cart's part."""
    return frozenset(reader.merchandising.blocked(frozenset(held)))


def _fallback(loaded: LoadedVersion, today: date, limit: int, reason: str) -> NextSalePlan:
    offers = popular_offers({}, loaded.catalog, loaded.popular, today, limit)
    return NextSalePlan("popular", offers, reason)


@dataclass(frozen=True)
class Arm:
    """The unit's holdout arm, and where its answer is recorded as an exposure."""

    unit: str | None
    variant: Variant
    resources: Resources

    @classmethod
    def of(cls, serving: Serving, customer_id: str | None, session_id: str | None) -> Arm:
        return cls(*serving.resources.holdout.assign(customer_id, session_id), serving.resources)

    def holdout(self, loaded: LoadedVersion, today: date, limit: int) -> NextSalePlan:
        if self.resources.holdout.arm == "empty":
            return NextSalePlan("popular", [], HOLDOUT)
        return _fallback(loaded, today, limit, HOLDOUT)


def _respond(
    request: Request,
    loaded: LoadedVersion,
    customer_id: str | None,
    plan: NextSalePlan,
    arm: Arm,
) -> NextSaleResponse:
    metrics.STRATEGY.labels("next_sale", plan.strategy).inc()
    if not plan.offers:
        metrics.EMPTY_ANSWERS.labels("next_sale").inc()
    request_id: str = request.state.request_id
    if arm.unit is not None:
        skus = [offer.sku for offer in plan.offers]
        arm.resources.exposures.record(request_id, arm.unit, arm.variant, "next_sale", skus)
    return NextSaleResponse(
        request_id=request_id,
        model_version=loaded.version,
        customer_id=customer_id,
        strategy=plan.strategy,
        reason=plan.reason,
        variant=arm.variant,
        items=[_item(offer, loaded) for offer in plan.offers],
    )


def _item(offer: NextSaleOffer, loaded: LoadedVersion) -> NextSaleItem:
    facts = loaded.catalog[offer.sku]
    return NextSaleItem(
        sku=offer.sku,
        name=facts.name,
        price=facts.price,
        kind=offer.kind,
        send_on=offer.send_on,
        score=round(offer.score, 6),
        because=list(offer.because),
        evidence=_evidence(offer),
    )


def _evidence(offer: NextSaleOffer) -> Evidence | None:
    if offer.follow_up is not None:
        f = offer.follow_up
        return Evidence(
            customers=f.count,
            support=f.support,
            confidence=f.confidence,
            lift=f.lift,
            median_days=f.median_days,
            q1_days=f.q1_days,
            q3_days=f.q3_days,
        )
    if offer.refill is not None:
        r = offer.refill
        return Evidence(
            customers=r.repeaters,
            repeat_share=r.repeat_share,
            median_days=r.median_days,
            q1_days=r.q1_days,
            q3_days=r.q3_days,
        )
    return None

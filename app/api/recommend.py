"""POST /recommend: what to add to this cart, with the evidence behind every item."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Request
from prometheus_client import Counter
from pydantic import BaseModel, ConfigDict, Field, StrictBool

from app import metrics
from app.api.deps import API_KEY_PARAMETER, serving_context
from app.api.errors import problem_responses
from app.api.fields import Count
from app.published.snapshot import ProductFacts, RuleHit
from app.serving import recommend
from app.serving.guard import StoreUnavailable
from app.serving.recommend import Answer, Policy, Query, RankBy

router = APIRouter(tags=["recommend"])
_STRATEGY_COUNTERS: dict[str, Counter] = {}
Sku = Annotated[str, Field(min_length=1, max_length=128, examples=["roses-red-12"])]


class CartLine(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sku: Sku
    quantity: Count = Field(default=1, ge=1, le=10_000)


class RecommendRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"cart": [{"sku": "roses-red-12", "quantity": 1}], "limit": 3}]
        },
    )
    cart: list[CartLine] = Field(max_length=100)
    customer_id: str | None = Field(default=None, max_length=128)
    limit: Count = Field(default=3, ge=1, le=50)
    exclude: list[Sku] = Field(default_factory=list, max_length=500)
    max_price: float | None = Field(default=None, ge=0, strict=True)  # strict: no bool/str
    include_upsell: StrictBool = True
    rank_by: RankBy = RankBy.CONFIDENCE


class RecommendedItem(BaseModel):
    sku: str
    name: str
    price: float | None
    kind: Literal["cross_sell", "upsell", "popular"]
    score: float
    because: list[str]
    support: float | None = None
    confidence: float | None = None
    lift: float | None = None
    weight: float | None = Field(
        default=None, description="Summed learned item-item weight from the cart items"
    )


class RecommendResponse(BaseModel):
    request_id: str
    model_version: int
    strategy: Literal["rules", "popular", "mixed"]
    items: list[RecommendedItem]


@router.post(
    "/recommend",
    responses=problem_responses(401, 413, 422, 503),
    summary="Cross-sell and upsell suggestions for a cart",
    openapi_extra={"parameters": [API_KEY_PARAMETER]},
)
async def recommend_for_cart(body: RecommendRequest, request: Request) -> RecommendResponse:
    # Called, not injected: FastAPI's dependency solving costs ~25 us, a tenth of this route.
    # So the key is checked once the body has parsed (the schema is public anyway).
    serving = await serving_context(request)
    loaded, reader = serving.loaded, serving.reader
    cart = tuple(dict.fromkeys(line.sku for line in body.cart))
    unknown = sum(1 for sku in cart if sku not in loaded.catalog)
    if unknown:
        metrics.UNKNOWN_SKUS.inc(unknown)
    query = Query(
        cart, body.limit, frozenset(body.exclude), body.max_price, body.include_upsell, body.rank_by
    )
    sources = recommend.rule_sources(cart, loaded.catalog)
    try:
        rules = await reader.rules(loaded, list(sources))
    except StoreUnavailable:
        rules = {}  # degrade to the popular lists held in process
    settings = serving.settings
    policy = Policy(settings.max_per_category, settings.upsell_max_price_step)
    merch = reader.merch_index.for_cart(cart)
    answer = recommend.rank(query, rules, loaded.assortment, merch, policy, sources)
    _count(answer)
    return RecommendResponse(
        request_id=request.state.request_id,
        model_version=loaded.version,
        strategy=answer.strategy,
        items=[_item(s, loaded.catalog) for s in answer.items],
    )


def _item(suggestion: recommend.Suggestion, catalog: dict[str, ProductFacts]) -> RecommendedItem:
    facts = catalog[suggestion.sku]
    rule: RuleHit | None = suggestion.rule
    return RecommendedItem(
        sku=suggestion.sku,
        name=facts.name,
        price=facts.price,
        kind=suggestion.kind,
        score=suggestion.score,
        because=list(suggestion.because),
        support=rule.support if rule else None,
        confidence=rule.confidence if rule else None,
        lift=rule.lift if rule else None,
        weight=suggestion.weight,
    )


def _count(answer: Answer) -> None:
    counter = _STRATEGY_COUNTERS.get(answer.strategy)
    if counter is None:  # resolved lazily: label lookups cost microseconds on every request
        counter = _STRATEGY_COUNTERS[answer.strategy] = metrics.STRATEGY.labels(
            "recommend", answer.strategy
        )
    counter.inc()
    if not answer.items:
        metrics.EMPTY_ANSWERS.labels("recommend").inc()

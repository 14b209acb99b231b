"""POST /recommend: what to add to this cart, with the evidence behind every item."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Request, Response
from prometheus_client import Counter
from pydantic import BaseModel, ConfigDict, Field, StrictBool

from app import metrics
from app.api.deps import Serving, serving_context
from app.api.errors import problem_responses
from app.api.fields import Count
from app.api.recommend_answer import answer_json
from app.events.assign import Variant
from app.serving import recommend
from app.serving.guard import StoreUnavailable
from app.serving.merchandising import Merchandising
from app.serving.reader import LoadedVersion
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
    session_id: str | None = Field(
        default=None, max_length=128, description="The experiment unit when there is no customer"
    )
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
    variant: Variant
    items: list[RecommendedItem]


@router.post(
    "/recommend",
    response_model=RecommendResponse,
    responses=problem_responses(401, 413, 422, 503),
    summary="Cross-sell and upsell suggestions for a cart",
)
async def recommend_for_cart(body: RecommendRequest, request: Request) -> Response:
    # Called, not injected: FastAPI's dependency solving costs ~25 us, a tenth of this route.
    serving = await serving_context(request)
    loaded = serving.loaded
    cart = tuple(dict.fromkeys(line.sku for line in body.cart))
    unknown = sum(1 for sku in cart if sku not in loaded.catalog)
    if unknown:
        metrics.UNKNOWN_SKUS.inc(unknown)
    query = Query(
        cart, body.limit, frozenset(body.exclude), body.max_price, body.include_upsell, body.rank_by
    )
    resources = serving.resources
    unit, variant = resources.holdout.assign(body.customer_id, body.session_id)
    if variant == "control":
        settings = serving.settings
        policy = Policy(settings.max_per_category, settings.upsell_max_price_step)
        answer = _holdout_answer(query, loaded, policy, resources.holdout.arm)
    else:
        answer = await _rank(serving, cart, query)
    _count(answer)
    request_id: str = request.state.request_id
    if unit is not None:
        skus = [item.sku for item in answer.items]
        resources.exposures.record(request_id, unit, variant, "recommend", skus)
    body_json = answer_json(request_id, loaded.version, answer, variant, loaded.catalog)
    return Response(body_json, media_type="application/json")


async def answer_cart(
    serving: Serving, body: RecommendRequest, merchandising: bool = True
) -> Answer:
    """What /recommend answers a treatment unit for this request, without counting it.

    The console's cart tester calls this too, so it shows exactly what a shop would get;
    `merchandising=False` shows what the rules alone would answer, for comparison.
    """
    cart = tuple(dict.fromkeys(line.sku for line in body.cart))
    query = Query(
        cart, body.limit, frozenset(body.exclude), body.max_price, body.include_upsell, body.rank_by
    )
    return await _rank(serving, cart, query, merchandising)


async def _rank(
    serving: Serving, cart: tuple[str, ...], query: Query, merchandising: bool = True
) -> Answer:
    loaded, reader = serving.loaded, serving.reader
    sources = recommend.rule_sources(cart, loaded.catalog)
    try:
        rules = await reader.rules(loaded, list(sources))
    except StoreUnavailable:
        rules = {}  # degrade to the popular lists held in process
    settings = serving.settings
    policy = Policy(settings.max_per_category, settings.upsell_max_price_step)
    merch = reader.merch_index.for_cart(cart) if merchandising else Merchandising()
    return recommend.rank(query, rules, loaded.assortment, merch, policy, sources)


def _holdout_answer(query: Query, loaded: LoadedVersion, policy: Policy, arm: str) -> Answer:
    """What control sees: the shop's bestsellers (no rules, no upsell, no merchandising), or
    nothing. Popular keeps the page looking the same and measures the rules' gain over a
    bestseller list; empty measures the whole slot's gain but shows a different page."""
    if arm == "empty":
        return Answer("popular")
    bare = Query(query.cart, query.limit, query.exclude, query.max_price, include_upsell=False)
    return recommend.rank(bare, {}, loaded.assortment, Merchandising(), policy)


def _count(answer: Answer) -> None:
    counter = _STRATEGY_COUNTERS.get(answer.strategy)
    if counter is None:  # resolved lazily: label lookups cost microseconds on every request
        counter = _STRATEGY_COUNTERS[answer.strategy] = metrics.STRATEGY.labels(
            "recommend", answer.strategy
        )
    counter.inc()
    if not answer.items:
        metrics.EMPTY_ANSWERS.labels("recommend").inc()

"""/console/try: what /recommend answers for a cart, through its own code, with the evidence."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from app.api.deps import ResourcesDep, Serving
from app.api.recommend import RecommendRequest, answer_cart
from app.console.session import PREFIX, SessionDep
from app.console.templates import page
from app.published.snapshot import ProductFacts
from app.serving.merchandising import Action, Merchandising
from app.serving.reader import LoadedVersion
from app.serving.recommend import RankBy, Suggestion

router = APIRouter(prefix=PREFIX, include_in_schema=False)
Text = Annotated[str, Query(max_length=4096)]
TIMES = "\N{MULTIPLICATION SIGN}"


@dataclass(frozen=True)
class CartForm:
    """The tester's controls as typed in; empty fields take /recommend's defaults."""

    cart: str = ""
    limit: str = "3"
    max_price: str = ""
    rank_by: str = RankBy.CONFIDENCE.value
    customer: str = ""
    upsell: bool = True

    @property
    def skus(self) -> list[str]:
        return [sku.strip() for sku in self.cart.replace("\n", ",").split(",") if sku.strip()]

    def request(self) -> RecommendRequest:
        """The very body /recommend would get; a bad field raises ValidationError."""
        body: dict[str, object] = {
            "cart": [{"sku": sku} for sku in self.skus],
            "limit": _number(self.limit) if self.limit.strip() else 3,
            "rank_by": self.rank_by,
            "include_upsell": self.upsell,
        }
        if self.max_price.strip():
            body["max_price"] = _number(self.max_price)
        if self.customer.strip():
            body["customer_id"] = self.customer.strip()
        return RecommendRequest.model_validate(body)


@dataclass(frozen=True)
class Explained:
    """One suggestion with what a person needs to trust it."""

    suggestion: Suggestion
    product: ProductFacts | None
    because: list[ProductFacts | str]
    shop_rules: list[str]


@dataclass
class Tried:
    strategy: str | None = None
    items: list[Explained] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    cart: list[ProductFacts | str] = field(default_factory=list)


async def try_cart(serving: Serving, given: CartForm, merchandising: bool = True) -> Tried:
    loaded = serving.loaded
    tried = Tried(cart=[loaded.catalog.get(sku, sku) for sku in given.skus])
    if not given.skus:
        return tried
    try:
        body = given.request()
    except ValidationError as error:
        tried.errors = validation_messages(error)
        return tried
    answer = await answer_cart(serving, body, merchandising)
    shop = serving.reader.merch_index.for_cart(given.skus) if merchandising else Merchandising()
    tried.strategy = answer.strategy
    tried.items = [_explain(s, loaded, shop) for s in answer.items]
    return tried


@router.get("/try", response_class=HTMLResponse)
async def tester_page(
    request: Request,
    session: SessionDep,
    resources: ResourcesDep,
    cart: Text = "",
    limit: Text = "3",
    max_price: Text = "",
    rank_by: Text = RankBy.CONFIDENCE.value,
    customer: Text = "",
    upsell: Text = "on",
) -> Response:
    given = CartForm(cart, limit, max_price, rank_by, customer, upsell == "on")
    loaded = resources.reader.loaded
    tried = await try_cart(Serving(resources, loaded), given) if loaded else Tried()
    context = {
        "title": "Try a cart",
        "given": given,
        "tried": tried,
        "loaded": loaded,
        "rank_choices": [choice.value for choice in RankBy],
    }
    return page(request, "try.html", session, context)


def _explain(suggestion: Suggestion, loaded: LoadedVersion, shop: Merchandising) -> Explained:
    notes = []
    for rule in shop.rules:
        if rule.sku != suggestion.sku:
            continue
        trigger = f" when {rule.antecedent} is in the cart" if rule.antecedent else ""
        weight = f" {TIMES}{rule.weight:g}" if rule.action in (Action.BOOST, Action.BURY) else ""
        notes.append(f"{rule.action.value}{weight}{trigger}")
    return Explained(
        suggestion,
        loaded.catalog.get(suggestion.sku),
        [loaded.catalog.get(sku, sku) for sku in suggestion.because],
        notes,
    )


def validation_messages(error: ValidationError) -> list[str]:
    """`field: what is wrong`, one line per problem, as a person reads it."""
    return [
        f"{'.'.join(str(part) for part in issue['loc']) or 'input'}: {issue['msg']}"
        for issue in error.errors()
    ]


def _number(text: str) -> object:
    """A typed number as the JSON one /recommend expects; other text fails its validation."""
    try:
        value = float(text)
    except ValueError:
        return text
    return int(value) if value.is_integer() else value

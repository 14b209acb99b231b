"""/console/rules: the published rules that fire for an item or a pair, and product search."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from app.api.deps import ReaderDep
from app.console.session import PREFIX, STORE_DEADLINE_SECONDS, SessionDep
from app.console.templates import page
from app.published import keys
from app.published.snapshot import ProductFacts, RuleHit
from app.serving.guard import StoreUnavailable
from app.serving.reader import LoadedVersion

router = APIRouter(prefix=PREFIX, include_in_schema=False)
SEARCH_RESULTS = 40
SortKey = Literal["confidence", "lift", "support", "count", "leverage", "conviction", "name"]
Text = Annotated[str, Query(max_length=256)]


@dataclass(frozen=True)
class RuleLine:
    """A rule as a merchandiser reads it: what it suggests, and how strong the evidence is."""

    hit: RuleHit
    product: ProductFacts | None

    @property
    def name(self) -> str:
        return self.product.name if self.product else self.hit.consequent

    @property
    def antecedent_count(self) -> int:
        """Baskets holding the antecedent: count / confidence, exact up to rounding."""
        return round(self.hit.count / self.hit.confidence) if self.hit.confidence else 0


@router.get("/rules", response_class=HTMLResponse)
async def rules_page(
    request: Request,
    session: SessionDep,
    reader: ReaderDep,
    sku: Text = "",
    with_: Annotated[str, Query(alias="with", max_length=256)] = "",
    q: Text = "",
    sort: SortKey = "confidence",
) -> Response:
    loaded = reader.loaded
    sku, other = sku.strip(), with_.strip()
    context: dict[str, object] = {
        "title": f"Rules for {sku}" if sku else "Rules",
        "sku": sku,
        "other": other,
        "q": q,
        "sort": sort,
        "loaded": loaded,
        "matches": search(loaded, q) if loaded and q.strip() else [],
    }
    if loaded is not None and sku:
        context |= await _rules_of(reader, loaded, sku, other, sort)
    return page(request, "rules.html", session, context)


async def _rules_of(
    reader: ReaderDep, loaded: LoadedVersion, sku: str, other: str, sort: SortKey
) -> dict[str, object]:
    unknown = [s for s in (sku, other) if s and s not in loaded.catalog]
    if unknown:
        return {"error": f"{', '.join(unknown)} is not in the catalog of version {loaded.version}"}
    name = keys.pair_rules(sku, other) if other and other != sku else keys.item_rules(sku)
    try:
        hits = (await reader.rules(loaded, [name], STORE_DEADLINE_SECONDS))[name]
    except StoreUnavailable as error:
        return {"error": f"the rule store did not answer: {error}"}
    # A rules entry holds rules only; the isinstance narrows the entry type for the checker.
    rules = [hit for hit in hits if isinstance(hit, RuleHit)]
    lines = [RuleLine(hit, loaded.catalog.get(hit.consequent)) for hit in rules]
    return {"rules": sort_lines(lines, sort), "product": loaded.catalog[sku]}


def sort_lines(lines: list[RuleLine], key: SortKey) -> list[RuleLine]:
    """Strongest first by the chosen figure; by name it reads A to Z."""
    if key == "name":
        return sorted(lines, key=lambda line: line.name.casefold())
    return sorted(lines, key=lambda line: getattr(line.hit, key), reverse=True)


def search(loaded: LoadedVersion, text: str) -> list[ProductFacts]:
    """Products whose SKU or name holds the text (any case); exact SKU first."""
    needle = text.strip().casefold()
    found = [
        facts
        for facts in loaded.catalog.values()
        if needle in facts.sku.casefold() or needle in facts.name.casefold()
    ]
    found.sort(key=lambda facts: (facts.sku.casefold() != needle, facts.name.casefold()))
    return found[:SEARCH_RESULTS]

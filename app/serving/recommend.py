"""Pure ranking for /recommend: rules from the whole cart, upsells, filters and fallbacks.

Scoring: every rule whose antecedent is in the cart (each item, each pair) votes for its
consequent; a candidate keeps its single best rule under `rank_by`. The best rule, not a
sum, because rules from one cart overlap (roses -> chocolates and {roses, card} ->
chocolates count the same baskets), and a sum would reward that double counting.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from itertools import combinations

from app.serving.merchandising import Merchandising
from app.serving.snapshot import Popular, ProductFacts, RuleHit
from app.store import keys

MAX_PAIR_ITEMS = 12  # pairs grow quadratically: big carts use their first 12 known items


class RankBy(StrEnum):
    CONFIDENCE = "confidence"
    LIFT = "lift"
    EXPECTED_REVENUE = "expected_revenue"
    EXPECTED_MARGIN = "expected_margin"


@dataclass(frozen=True)
class Query:
    cart: tuple[str, ...]
    limit: int = 3
    exclude: frozenset[str] = frozenset()
    max_price: float | None = None
    include_upsell: bool = True
    rank_by: RankBy = RankBy.CONFIDENCE


@dataclass(frozen=True)
class Policy:
    max_per_category: int = 2
    upsell_max_step: float = 0.6


@dataclass(frozen=True)
class Suggestion:
    sku: str
    kind: str  # cross_sell | upsell | popular
    score: float
    because: tuple[str, ...] = ()
    rule: RuleHit | None = None


@dataclass
class Answer:
    strategy: str
    items: list[Suggestion] = field(default_factory=list)


def antecedent_names(cart: Iterable[str], catalog: Mapping[str, ProductFacts]) -> list[str]:
    """The store entries to fetch for a cart: one per known item and per pair of them."""
    known = [sku for sku in cart if sku in catalog][:MAX_PAIR_ITEMS]
    names = [keys.item_rules(sku) for sku in known]
    names += [keys.pair_rules(a, b) for a, b in combinations(known, 2)]
    return names


def rule_sources(
    cart: Iterable[str], catalog: Mapping[str, ProductFacts]
) -> dict[str, tuple[str, ...]]:
    """Which cart items stand behind each entry name (the `because` of its rules)."""
    known = [sku for sku in cart if sku in catalog][:MAX_PAIR_ITEMS]
    sources: dict[str, tuple[str, ...]] = {keys.item_rules(s): (s,) for s in known}
    for a, b in combinations(known, 2):
        sources[keys.pair_rules(a, b)] = tuple(sorted((a, b)))
    return sources


def rank(
    query: Query,
    rules: Mapping[str, list[RuleHit]],
    catalog: Mapping[str, ProductFacts],
    popular: Popular,
    merch: Merchandising,
    policy: Policy,
) -> Answer:
    cart = frozenset(query.cart)
    admissible = _Admissible(query, catalog, merch, policy)
    upsells = _upsells(query, catalog, admissible) if query.include_upsell else []
    cross = _cross_sells(query, rules, catalog, merch, rule_sources(query.cart, catalog))
    picked = _pick(upsells[: max(1, query.limit // 3)] + _pinned(cart, merch) + cross,
                   admissible, catalog, query.limit)  # fmt: skip
    from_rules = len(picked)
    for sku in _popular_candidates(query.cart, catalog, popular):
        if len(picked) >= query.limit:
            break
        picked += _pick([Suggestion(sku, "popular", 0.0)], admissible, catalog, 1, picked)
    return Answer(_strategy(from_rules, len(picked)), picked)


class _Admissible:
    """The filters every answer obeys, whatever produced the candidate."""

    def __init__(
        self,
        query: Query,
        catalog: Mapping[str, ProductFacts],
        merch: Merchandising,
        policy: Policy,
    ) -> None:
        cart = frozenset(query.cart)
        self.catalog = catalog
        self.query = query
        self.policy = policy
        self.refused = (
            set(cart) | set(query.exclude) | merch.blocked(cart) | _families(cart, catalog)
        )

    def accepts(self, sku: str, chosen: list[Suggestion]) -> bool:
        facts = self.catalog.get(sku)
        if facts is None or sku in self.refused or not facts.available:
            return False
        if any(s.sku == sku for s in chosen):
            return False
        if self.query.max_price is not None and (
            facts.price is None or facts.price > self.query.max_price
        ):
            return False
        same = sum(1 for s in chosen if self.catalog[s.sku].category == facts.category)
        return not facts.category or same < self.policy.max_per_category


def _families(cart: frozenset[str], catalog: Mapping[str, ProductFacts]) -> set[str]:
    """Other sizes of a cart item (either direction of an upgrade path) are never add-ons."""
    related: set[str] = set()
    for sku in cart:
        related.update(catalog[sku].upgrades if sku in catalog else ())
    related.update(p.sku for p in catalog.values() if cart.intersection(p.upgrades))
    return related


def _upsells(
    query: Query, catalog: Mapping[str, ProductFacts], admissible: _Admissible
) -> list[Suggestion]:
    found: list[Suggestion] = []
    for sku in query.cart:
        source = catalog.get(sku)
        if source is None or source.price is None:
            continue
        for target in source.upgrades:
            facts = catalog.get(target)
            if facts is None or facts.price is None or target in query.cart:
                continue
            step = facts.price / source.price - 1 if source.price else float("inf")
            if 0 < step <= admissible.policy.upsell_max_step:
                found.append(Suggestion(target, "upsell", round(1 - step, 6), (sku,)))
                break
    return found


def _cross_sells(
    query: Query,
    rules: Mapping[str, list[RuleHit]],
    catalog: Mapping[str, ProductFacts],
    merch: Merchandising,
    sources: Mapping[str, tuple[str, ...]],
) -> list[Suggestion]:
    best: dict[str, Suggestion] = {}
    for name, hits in rules.items():
        for hit in hits:
            score = _score(hit, catalog.get(hit.consequent), query.rank_by)
            current = best.get(hit.consequent)
            if current is None or score > current.score:
                best[hit.consequent] = Suggestion(
                    hit.consequent, "cross_sell", score, sources.get(name, ()), hit
                )
    weights = merch.weights(frozenset(query.cart))
    ranked = [
        Suggestion(s.sku, s.kind, round(s.score * weights.get(s.sku, 1.0), 6), s.because, s.rule)
        for s in best.values()
    ]
    return sorted(ranked, key=lambda s: (-s.score, s.sku))


def _score(hit: RuleHit, facts: ProductFacts | None, rank_by: RankBy) -> float:
    price = facts.price if facts and facts.price is not None else 0.0
    if rank_by is RankBy.LIFT:
        return hit.lift
    if rank_by is RankBy.EXPECTED_REVENUE:
        return hit.confidence * price
    if rank_by is RankBy.EXPECTED_MARGIN:
        cost = facts.cost if facts and facts.cost is not None else price
        return hit.confidence * (price - cost)
    return hit.confidence


def _pinned(cart: frozenset[str], merch: Merchandising) -> list[Suggestion]:
    return [Suggestion(sku, "cross_sell", 1.0) for sku in merch.pinned(cart)]


def _pick(
    candidates: list[Suggestion],
    admissible: _Admissible,
    catalog: Mapping[str, ProductFacts],
    limit: int,
    chosen: list[Suggestion] | None = None,
) -> list[Suggestion]:
    taken = list(chosen or [])
    added: list[Suggestion] = []
    for candidate in candidates:
        if len(added) >= limit:
            break
        if admissible.accepts(candidate.sku, taken):
            taken.append(candidate)
            added.append(candidate)
    return added


def _popular_candidates(
    cart: Iterable[str], catalog: Mapping[str, ProductFacts], popular: Popular
) -> list[str]:
    categories = [catalog[sku].category for sku in cart if sku in catalog]
    in_categories = [
        sku for cat in dict.fromkeys(categories) for sku in popular.by_category.get(cat, ())
    ]
    return in_categories + list(popular.overall)


def _strategy(from_rules: int, total: int) -> str:
    if from_rules == 0:
        return "popular"
    return "rules" if from_rules == total else "mixed"

"""Pure ranking for /recommend: rules from the whole cart, upsells, filters and fallbacks.

Scoring: every rule whose antecedent is in the cart (each item, each pair) votes for its
consequent; a candidate keeps its single best rule under `rank_by`. The best rule, not a
sum, because rules from one cart overlap (roses -> chocolates and {roses, card} ->
chocolates count the same baskets), and a sum would reward that double counting.
The winning rule's antecedent is the `because`. Merchandising boost/bury multiply that
score; pins come first, then at most limit // 3 (at least one) upsells, then cross-sells,
then popular items of the cart's categories, then popular items overall. Every item of
every source passes the same filters (`_Picker.accepts`).

An item's upgrade family is every size reachable along upgrade paths in either direction
(tv-27 -> tv-32 -> tv-43). A cart item's family is never offered as an add-on (the
upgrade comes only as `kind: upsell`), and no answer holds two members of one family.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from itertools import combinations
from operator import attrgetter
from typing import NamedTuple

from app.published import keys
from app.published.snapshot import Popular, ProductFacts, RuleHit
from app.serving.merchandising import Action, Merchandising, MerchRule

MAX_PAIR_ITEMS = 12  # pairs grow quadratically: big carts pair their first 12 known items


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


class Suggestion(NamedTuple):
    """One answer item (a tuple: a checkout call builds a handful, cheaply)."""

    sku: str
    kind: str  # cross_sell | upsell | popular
    score: float
    because: tuple[str, ...] = ()
    rule: RuleHit | None = None


@dataclass
class Answer:
    strategy: str
    items: list[Suggestion] = field(default_factory=list)


@dataclass(frozen=True)
class Assortment:
    """One version's catalog and popular lists, indexed once when the version is loaded."""

    catalog: Mapping[str, ProductFacts]
    popular: Popular
    families: Mapping[str, frozenset[str]]
    revenue: Mapping[str, float]
    margin: Mapping[str, float]

    @classmethod
    def index(cls, catalog: Mapping[str, ProductFacts], popular: Popular) -> Assortment:
        revenue = {sku: p.price or 0.0 for sku, p in catalog.items()}
        margin = {
            sku: (p.price - p.cost) if p.price is not None and p.cost is not None else 0.0
            for sku, p in catalog.items()
        }
        return cls(catalog, popular, upgrade_families(catalog), revenue, margin)


@dataclass(frozen=True)
class MerchIndex:
    """The shop's rules by trigger, indexed when they change: a cart meets only its own."""

    everywhere: tuple[tuple[int, MerchRule], ...] = ()
    by_antecedent: Mapping[str, tuple[tuple[int, MerchRule], ...]] = field(default_factory=dict)

    @classmethod
    def of(cls, merch: Merchandising) -> MerchIndex:
        everywhere: list[tuple[int, MerchRule]] = []
        triggered: dict[str, list[tuple[int, MerchRule]]] = {}
        for position, rule in enumerate(merch.rules):
            if rule.antecedent is None:
                everywhere.append((position, rule))
            else:
                triggered.setdefault(rule.antecedent, []).append((position, rule))
        return cls(tuple(everywhere), {sku: tuple(rules) for sku, rules in triggered.items()})

    def for_cart(self, cart: Iterable[str]) -> Merchandising:
        """The rules that apply to this cart, in the shop's order (pins keep their rank)."""
        found = list(self.everywhere)
        for sku in set(cart):
            found.extend(self.by_antecedent.get(sku, ()))
        found.sort(key=lambda pair: pair[0])
        return Merchandising(tuple(rule for _, rule in found))


def upgrade_families(catalog: Mapping[str, ProductFacts]) -> dict[str, frozenset[str]]:
    """Each SKU on an upgrade path -> the other SKUs connected to it (either direction)."""
    links: dict[str, set[str]] = {}
    for sku, facts in catalog.items():
        for target in facts.upgrades:
            links.setdefault(sku, set()).add(target)
            links.setdefault(target, set()).add(sku)
    families: dict[str, frozenset[str]] = {}
    for start in links:
        if start in families:
            continue
        component, frontier = {start}, [start]
        while frontier:
            for neighbour in links[frontier.pop()] - component:
                component.add(neighbour)
                frontier.append(neighbour)
        for sku in component:
            families[sku] = frozenset(component - {sku})
    return families


def rule_sources(
    cart: Iterable[str], catalog: Mapping[str, ProductFacts]
) -> dict[str, tuple[str, ...]]:
    """The store entries to read for a cart, each with the cart items behind it (`because`)."""
    known = [sku for sku in cart if sku in catalog]
    sources: dict[str, tuple[str, ...]] = {keys.item_rules(s): (s,) for s in known}
    for a, b in combinations(known[:MAX_PAIR_ITEMS], 2):
        sources[keys.pair_rules(a, b)] = (a, b) if a < b else (b, a)
    return sources


def rank(
    query: Query,
    rules: Mapping[str, list[RuleHit]],
    assortment: Assortment,
    merch: Merchandising,
    policy: Policy,
    sources: Mapping[str, tuple[str, ...]] | None = None,
) -> Answer:
    """The answer for one cart; `sources` is `rule_sources(...)` when the caller has it."""
    cart = frozenset(query.cart)
    if merch.rules:
        merch = Merchandising(tuple(merch.active_for(cart)))
    picker = _Picker(query, assortment, merch.blocked(cart), policy.max_per_category)
    picker.offer(_pinned(merch))
    if query.include_upsell:
        quota = max(1, query.limit // 3)
        picker.offer(_upsells(query, assortment.catalog, policy), room=quota)
    if sources is None:
        sources = rule_sources(query.cart, assortment.catalog)
    picker.offer(_cross_sells(query, rules, assortment, merch, picker.refused, sources))
    from_rules = len(picker.chosen)
    for sku in _popular_candidates(query.cart, assortment):
        if len(picker.chosen) >= query.limit:
            break
        if picker.accepts(sku):
            picker.take(Suggestion(sku, "popular", 0.0))
    return Answer(_strategy(from_rules, len(picker.chosen)), picker.chosen)


class _Picker:
    """Takes candidates in order while they pass the filters every answer obeys."""

    def __init__(
        self, query: Query, assortment: Assortment, blocked: set[str], per_category: int
    ) -> None:
        self.query, self.catalog, self.families = query, assortment.catalog, assortment.families
        self.per_category = per_category
        self.chosen: list[Suggestion] = []
        self.refused = {*query.cart, *query.exclude, *blocked}
        # Other sizes of cart items: refused as add-ons, admitted as upsells.
        self.sizes: set[str] = set()
        for sku in query.cart:
            self.sizes.update(self.families.get(sku, ()))
        self._categories: dict[str, int] = {}

    def offer(self, candidates: Iterable[Suggestion], room: int | None = None) -> None:
        taken = 0
        for candidate in candidates:
            if len(self.chosen) >= self.query.limit or (room is not None and taken >= room):
                return
            if self.accepts(candidate.sku, upsell=candidate.kind == "upsell"):
                self.take(candidate)
                taken += 1

    def accepts(self, sku: str, upsell: bool = False) -> bool:
        facts = self.catalog.get(sku)
        if facts is None or sku in self.refused or not (facts.active and facts.in_stock):
            return False
        if not upsell and sku in self.sizes:
            return False
        limit = self.query.max_price
        if limit is not None and (facts.price is None or facts.price > limit):
            return False
        return not facts.category or self._categories.get(facts.category, 0) < self.per_category

    def take(self, candidate: Suggestion) -> None:
        self.chosen.append(candidate)
        self.refused.add(candidate.sku)
        self.refused.update(self.families.get(candidate.sku, ()))
        category = self.catalog[candidate.sku].category
        self._categories[category] = self._categories.get(category, 0) + 1


def _pinned(merch: Merchandising) -> Iterator[Suggestion]:
    """Pins (already narrowed to this cart) in the shop's order; a trigger is the `because`."""
    for rule in merch.rules:
        if rule.action is Action.PIN:
            because = (rule.antecedent,) if rule.antecedent else ()
            yield Suggestion(rule.sku, "cross_sell", 1.0, because)


def _upsells(
    query: Query, catalog: Mapping[str, ProductFacts], policy: Policy
) -> Iterator[Suggestion]:
    """The first offerable upgrade of each cart item within the allowed price step.

    An unavailable or excluded first size must not hide the next one, so those are
    skipped here rather than refused later.
    """
    for sku in query.cart:
        source = catalog.get(sku)
        if source is None or not source.price:
            continue
        for target in source.upgrades:
            facts = catalog.get(target)
            if facts is None or facts.price is None or not facts.available:
                continue
            if target in query.cart or target in query.exclude:
                continue
            if query.max_price is not None and facts.price > query.max_price:
                continue
            step = facts.price / source.price - 1
            if 0 < step <= policy.upsell_max_step:
                yield Suggestion(target, "upsell", round(1 - step, 6), (sku,))
                break


def _cross_sells(
    query: Query,
    rules: Mapping[str, list[RuleHit]],
    assortment: Assortment,
    merch: Merchandising,
    refused: set[str],
    sources: Mapping[str, tuple[str, ...]],
) -> Iterator[Suggestion]:
    """Candidates best first; Suggestions are built lazily, only for the ones looked at."""
    score_of = _scorer(query.rank_by, assortment)
    best: dict[str, tuple[float, RuleHit, str]] = {}
    for name, hits in rules.items():
        for hit in hits:
            sku = hit.consequent
            if sku in refused:
                continue
            score = score_of(hit)
            current = best.get(sku)
            # On equal scores the lower entry name wins, so the answer never depends on
            # which entries were cached (the order the rules arrive in).
            if current is None or score > current[0] or (score == current[0] and name < current[2]):
                best[sku] = (score, hit, name)
    weights = merch.weights(frozenset(query.cart)) if merch.rules else {}
    # Sorted on the rounded score the client sees, so equal scores fall back to SKU order.
    ranked = sorted((-round(s * weights.get(sku, 1.0), 6), sku) for sku, (s, _, _) in best.items())
    for negative, sku in ranked:
        _, hit, name = best[sku]
        yield Suggestion(sku, "cross_sell", -negative, sources.get(name, ()), hit)


def _scorer(rank_by: RankBy, assortment: Assortment) -> Callable[[RuleHit], float]:
    if rank_by is RankBy.LIFT:
        return attrgetter("lift")
    if rank_by is RankBy.EXPECTED_REVENUE:
        revenue = assortment.revenue
        return lambda hit: hit.confidence * revenue.get(hit.consequent, 0.0)
    if rank_by is RankBy.EXPECTED_MARGIN:
        margin = assortment.margin
        return lambda hit: hit.confidence * margin.get(hit.consequent, 0.0)
    return attrgetter("confidence")


def _popular_candidates(cart: Iterable[str], assortment: Assortment) -> Iterator[str]:
    """Popular in the cart's categories first, then popular overall."""
    catalog, popular = assortment.catalog, assortment.popular
    categories = dict.fromkeys(catalog[sku].category for sku in cart if sku in catalog)
    for category in categories:
        yield from popular.by_category.get(category, ())
    yield from popular.overall


def _strategy(from_rules: int, total: int) -> str:
    if from_rules == 0:
        return "popular"
    return "rules" if from_rules == total else "mixed"

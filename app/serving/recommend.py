"""Pure ranking for /recommend: rules from the whole cart, upsells, filters and fallbacks.

Scoring under the default `rank_by` (confidence): a candidate scores the sum of the item
weights its cart items publish for it (EASE, see app.mining.item_weights: a regression
that already discounts overlapping evidence) plus a small share of the chance that at
least one of its rules fires (noisy-or of their confidences, over each item and pair).
Candidates without weights rank by their rules alone; a negative total (the cart
predicts the item less likely) is no suggestion. Under the other `rank_by` measures a
candidate keeps its single best rule. The suggestion shows its best rule (by confidence)
and that rule's antecedent as `because`, or, without a rule, the cart item with the
largest weight for it; `weight` is the summed weight. Merchandising boost/bury multiply that
score; pins come first, then at most limit // 3 (at least one) upsells, then cross-sells,
then popular items of the cart's categories, then popular items overall. Every item of
every source passes the same filters (`_Picker.accepts`).

Diversity is soft (`spread_categories`): when the first `limit` items break the category
cap, the sources above fill a pool a few times the limit; each slot of the answer keeps
the source the same slot has without any category limit, and takes that source's best
item whose category is still under `max_per_category`, or its best item at all when none
is. So no slot is left empty or handed to a weaker source, and a shop with one category
(or none) gets the plain answer.

An item's upgrade family is every size reachable along upgrade paths in either direction
(tv-27 -> tv-32 -> tv-43). A cart item's family is never offered as an add-on (the
upgrade comes only as `kind: upsell`), and no answer holds two members of one family.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from heapq import heapify, heappop
from itertools import combinations
from operator import attrgetter
from typing import NamedTuple

from app.published import keys
from app.published.snapshot import Hits, Popular, ProductFacts, RuleHit, WeightEntry
from app.serving.merchandising import Action, Merchandising, MerchRule

MAX_PAIR_ITEMS = 12  # pairs grow quadratically: big carts pair their first 12 known items
POOL_PER_SLOT = 3  # candidates gathered per answer slot, for diversity to choose among
# Summed weights count this many times the rules' noisy-or: the rules then order the
# candidates the weights find alike without overruling them (see docs/relevance.md).
# A candidate with rules and no weights scores their noisy-or, a lone rule its confidence.
WEIGHT_SCALE = 5.0


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
    weight: float | None = None  # the summed item weights, when any fired


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
    sources.update((keys.item_weights(s), (s,)) for s in known)
    for a, b in combinations(known[:MAX_PAIR_ITEMS], 2):
        sources[keys.pair_rules(a, b)] = (a, b) if a < b else (b, a)
    return sources


def rank(
    query: Query,
    rules: Mapping[str, Hits],
    assortment: Assortment,
    merch: Merchandising,
    policy: Policy,
    sources: Mapping[str, tuple[str, ...]] | None = None,
) -> Answer:
    """The answer for one cart; `sources` is `rule_sources(...)` when the caller has it."""
    cart = frozenset(query.cart)
    if merch.rules:
        merch = Merchandising(tuple(merch.active_for(cart)))
    picker = _Picker(query, assortment, merch.blocked(cart))
    picker.add(_pinned(merch))
    if query.include_upsell:
        # The quota holds in the answer, so the pool gets no more upsells than it.
        picker.add(_upsells(query, assortment.catalog, policy), quota=max(1, query.limit // 3))
    if sources is None:
        sources = rule_sources(query.cart, assortment.catalog)
    picker.add(_cross_sells(query, rules, assortment, merch, picker.refused, sources))
    picker.add(
        Suggestion(sku, "popular", 0.0) for sku in _popular_candidates(query.cart, assortment)
    )
    # Most answers keep to the category cap as they come: the pool a few times the limit,
    # for diversity to choose among, is gathered only for the ones that do not.
    catalog, cap = assortment.catalog, policy.max_per_category
    picker.fill(query.limit)
    if _within_cap(picker.pool, catalog, cap):
        chosen = [item for _, item in picker.pool]
    else:
        picker.fill(query.limit * POOL_PER_SLOT)
        chosen = spread_categories(picker.pool, query.limit, catalog, policy)
    from_rules = sum(1 for item in chosen if item.kind != "popular")
    return Answer(_strategy(from_rules, len(chosen)), chosen)


def spread_categories(
    pool: list[tuple[int, Suggestion]],
    limit: int,
    catalog: Mapping[str, ProductFacts],
    policy: Policy,
) -> list[Suggestion]:
    """The answer from a pool of (source, item) best first: each slot keeps the source of
    the same slot in `pool[:limit]`, preferring that source's first item whose category
    is under the cap; without one, its first item (the cap never empties a slot)."""
    slots = [source for source, _ in pool[:limit]]
    if len(slots) == len(pool) or _within_cap(pool[:limit], catalog, policy.max_per_category):
        return [item for _, item in pool[:limit]]
    free = list(range(len(pool)))
    counts: dict[str, int] = {}
    chosen: list[Suggestion] = []
    for wanted in slots:
        same = [at for at in free if pool[at][0] == wanted]
        pick = next(
            (at for at in same if _under(catalog[pool[at][1].sku].category, counts, policy)),
            same[0],
        )
        free.remove(pick)
        item = pool[pick][1]
        category = catalog[item.sku].category
        counts[category] = counts.get(category, 0) + 1
        chosen.append(item)
    return chosen


def _under(category: str, counts: Mapping[str, int], policy: Policy) -> bool:
    return not category or counts.get(category, 0) < policy.max_per_category


def _within_cap(
    items: list[tuple[int, Suggestion]], catalog: Mapping[str, ProductFacts], cap: int
) -> bool:
    counts: dict[str, int] = {}
    for _, item in items:
        category = catalog[item.sku].category
        if category:
            counts[category] = counts.get(category, 0) + 1
    return all(count <= cap for count in counts.values())


class _Picker:
    """Takes candidates source by source while they pass the filters every answer obeys.

    The pool holds (source number, item): the order sources were added in is their rank.
    A source is read only as far as the pool needs, so a later `fill` with more room goes
    on where the last one stopped: the pool is the same as one filled at once.
    """

    def __init__(self, query: Query, assortment: Assortment, blocked: set[str]) -> None:
        self.query, self.catalog, self.families = query, assortment.catalog, assortment.families
        self.pool: list[tuple[int, Suggestion]] = []
        self.refused = {*query.cart, *query.exclude, *blocked}
        # Other sizes of cart items: refused as add-ons, admitted as upsells.
        self.sizes: set[str] = set()
        for sku in query.cart:
            self.sizes.update(self.families.get(sku, ()))
        self._sources: list[tuple[Iterator[Suggestion], int | None]] = []
        self._at = 0  # the source being read
        self._taken = 0  # items the pool took from it

    def add(self, candidates: Iterable[Suggestion], quota: int | None = None) -> None:
        """The next source, best first; at most `quota` of its items are taken."""
        self._sources.append((iter(candidates), quota))

    def fill(self, room: int) -> None:
        """Take candidates until the pool holds `room` items or every source is spent."""
        pool = self.pool
        while len(pool) < room and self._at < len(self._sources):
            candidates, quota = self._sources[self._at]
            for candidate in candidates:
                if not self.accepts(candidate.sku, upsell=candidate.kind == "upsell"):
                    continue
                pool.append((self._at, candidate))
                self.refused.add(candidate.sku)
                self.refused.update(self.families.get(candidate.sku, ()))
                self._taken += 1
                if quota is not None and self._taken >= quota:
                    break
                if len(pool) >= room:
                    return  # the next fill goes on with this source
            self._at, self._taken = self._at + 1, 0

    def accepts(self, sku: str, upsell: bool = False) -> bool:
        facts = self.catalog.get(sku)
        if facts is None or sku in self.refused or not (facts.active and facts.in_stock):
            return False
        if not upsell and sku in self.sizes:
            return False
        limit = self.query.max_price
        return limit is None or (facts.price is not None and facts.price <= limit)


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
    rules: Mapping[str, Hits],
    assortment: Assortment,
    merch: Merchandising,
    refused: set[str],
    sources: Mapping[str, tuple[str, ...]],
) -> Iterator[Suggestion]:
    """Candidates best first; their evidence is gathered only for the ones looked at."""
    explain: Callable[[str], _Candidate]
    if query.rank_by is RankBy.CONFIDENCE:
        blend = _Blend(rules, refused)
        # The cart makes these less likely than an item it says nothing about: no filler.
        refused.update(blend.against)
        scores, explain = blend.scores, blend.candidate
    else:
        found = _best_rules(rules, refused, _scorer(query.rank_by, assortment))
        scores = {sku: candidate.score for sku, candidate in found.items()}
        explain = found.__getitem__
    weights = merch.weights(frozenset(query.cart)) if merch.rules else {}
    if weights:
        scores = {sku: score * weights.get(sku, 1.0) for sku, score in scores.items()}
    for score, sku in _best_first(scores):
        c = explain(sku)
        because = sources.get(c.name, ())
        yield Suggestion(sku, "cross_sell", score, because, c.rule, c.weight)


def _best_first(scores: Mapping[str, float]) -> Iterator[tuple[float, str]]:
    """(rounded score, SKU), best first.

    Ordered on the rounded score the client sees, so equal scores fall back to SKU order.
    Rounding keeps the order of the scores, so the candidates one rounded score holds come
    one after the other, and only the ones taken are rounded; a heap, as an answer takes a
    handful of the candidates, not all of them in order.
    """
    heap = [(-score, sku) for sku, score in scores.items()]
    heapify(heap)
    while heap:
        negative, sku = heappop(heap)
        rounded = round(-negative, 6)
        tied = [(sku, rounded)]
        while heap and round(-heap[0][0], 6) == rounded:
            negative, sku = heappop(heap)
            tied.append((sku, round(-negative, 6)))  # its own: 0.0 and -0.0 tie
        for sku, score in sorted(tied):
            yield score, sku


class _Candidate(NamedTuple):
    score: float
    rule: RuleHit | None  # the evidence shown: its best rule
    name: str  # the entry behind `because`
    weight: float | None = None


def _best_rules(
    rules: Mapping[str, Hits],
    refused: set[str],
    score_of: Callable[[RuleHit], float],
) -> dict[str, _Candidate]:
    """Each candidate's single best rule under `score_of`."""
    best: dict[str, _Candidate] = {}
    for name, hits in rules.items():
        if isinstance(hits, dict):  # item weights: not a rule
            continue
        for hit in hits:
            sku = hit.consequent
            if sku in refused:
                continue
            score = score_of(hit)
            current = best.get(sku)
            # On equal scores the lower entry name wins, so the answer never depends on
            # which entries were cached (the order the rules arrive in).
            if current is None or (score, current.name) > (current.score, name):
                best[sku] = _Candidate(score, hit, name)
    return best


class _Blend:
    """Noisy-or of the rules plus WEIGHT_SCALE x summed weights, for every candidate.

    `scores` holds the positive totals, `against` the candidates whose total is negative.
    The hot loop of a checkout call: one pass over the hits, with the refused items left
    out once per candidate rather than once per hit, and an entry's kind read once (an
    entry holds rules or weights, never both; see app.published.snapshot.Hits). What a
    suggestion shows (its best rule, or its strongest weight) is found only for the
    handful of candidates an answer looks at.
    """

    def __init__(self, rules: Mapping[str, Hits], refused: set[str]) -> None:
        self.weighted: list[tuple[str, WeightEntry]] = []
        self.summed: dict[str, float] = {}
        self.best: dict[str, tuple[RuleHit, str]] = {}  # the most confident rule, its entry
        missed: dict[str, float] = {}  # the chance that no rule for the candidate holds
        for name, hits in rules.items():
            if isinstance(hits, dict):
                self._add_weights(name, hits)
            else:
                self._add_rules(name, hits, missed)
        # Addition is commutative, so this is (1 - missed) + WEIGHT_SCALE x summed.
        totals = {sku: WEIGHT_SCALE * weight for sku, weight in self.summed.items()}
        for sku, chance in missed.items():
            totals[sku] = (1.0 - chance) + totals.get(sku, 0.0)
        self.scores = {s: v for s, v in totals.items() if v > 0 and s not in refused}
        self.against = {s for s, v in totals.items() if v < 0 and s not in refused}

    def _add_weights(self, name: str, weights: WeightEntry) -> None:
        self.weighted.append((name, weights))
        summed = self.summed
        if not summed:
            summed.update(weights)
            return
        get = summed.get
        for sku, weight in weights.items():
            summed[sku] = get(sku, 0.0) + weight

    def _add_rules(self, name: str, hits: list[RuleHit], missed: dict[str, float]) -> None:
        """Multiply each candidate's chance that no rule holds; keep its most confident rule
        (on a tie, the lower entry name, so the answer never depends on the entries' order)."""
        best = self.best
        for hit in hits:
            sku = hit.consequent
            confidence = hit.confidence
            missed[sku] = missed.get(sku, 1.0) * (1.0 - confidence)
            current = best.get(sku)
            if current is None:
                best[sku] = (hit, name)
            else:
                top = current[0].confidence
                if confidence > top or (confidence == top and name < current[1]):
                    best[sku] = (hit, name)

    def candidate(self, sku: str) -> _Candidate:
        """A scored candidate with its evidence: its best rule, else its largest weight's
        entry (on a tie, the lower entry name)."""
        weight = self.summed.get(sku)
        rule = self.best.get(sku)
        if rule is not None:
            return _Candidate(self.scores[sku], rule[0], rule[1], weight)
        strongest: tuple[float, str] | None = None
        for name, weights in self.weighted:
            value = weights.get(sku)
            if value is None:
                continue
            if (
                strongest is None
                or value > strongest[0]
                or (value == strongest[0] and name < strongest[1])
            ):
                strongest = (value, name)
        assert strongest is not None  # a candidate has a rule or a weight
        return _Candidate(self.scores[sku], None, strongest[1], weight)


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

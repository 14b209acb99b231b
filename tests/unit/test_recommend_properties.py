"""Whatever the catalog, rules, merchandising and query: no answer breaks a filter."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

from hypothesis import given, settings
from hypothesis import strategies as st

from app.published import keys
from app.published.snapshot import Hits, Popular, ProductFacts, RuleHit
from app.serving.merchandising import Action, Merchandising, MerchRule
from app.serving.recommend import (
    Answer,
    Assortment,
    Policy,
    Query,
    RankBy,
    Suggestion,
    _Picker,
    rank,
    rule_sources,
)

SKUS = [f"sku-{n}" for n in range(10)]
CATEGORIES = ["a", "b", "c", ""]
sku = st.sampled_from(SKUS)
mostly = st.sampled_from([True, True, True, False])  # enough offerable items to collide


@st.composite
def catalogs(draw: st.DrawFn) -> dict[str, ProductFacts]:
    products: dict[str, ProductFacts] = {}
    for index, name in enumerate(draw(st.lists(sku, min_size=4, unique=True))):
        later = [s for s in SKUS[index + 1 :]]
        upgrades = (
            tuple(draw(st.lists(st.sampled_from(later), max_size=2, unique=True))) if later else ()
        )
        products[name] = ProductFacts(
            name,
            name,
            draw(st.sampled_from(CATEGORIES)),
            draw(st.none() | st.floats(0, 100, allow_nan=False)),
            draw(st.none() | st.floats(0, 100, allow_nan=False)),
            draw(mostly),
            draw(mostly),
            upgrades,
        )
    return products


rule_hits = st.lists(
    st.builds(
        RuleHit,
        sku,
        st.integers(1, 100),
        st.floats(0, 1),
        st.floats(0, 1),
        st.floats(0, 20),
        st.floats(-1, 1),
        st.floats(0, 10),
    ),
    max_size=8,
)
merch_rules = st.lists(
    st.builds(
        MerchRule,
        sku,
        st.sampled_from(list(Action)),
        st.none() | sku,
        st.none() | st.floats(0.01, 100),
    ),
    max_size=5,
)
queries = st.builds(
    Query,
    st.lists(sku | st.just("unknown"), max_size=6, unique=True).map(tuple),
    st.integers(1, 10),
    st.frozensets(sku, max_size=4),
    st.none() | st.floats(0, 100, allow_nan=False),
    st.booleans(),
    st.sampled_from(list(RankBy)),
)
policies = st.builds(Policy, st.integers(1, 3), st.floats(0, 2))


item_weights = st.dictionaries(sku, st.floats(-1, 1), max_size=8)
Situation = tuple[Query, dict[str, Hits], Assortment, Merchandising]


@st.composite
def situations(draw: st.DrawFn) -> Situation:
    """A catalog, a query, the published evidence its cart reads, popular lists, merch."""
    catalog, query = draw(catalogs()), draw(queries)
    evidence: dict[str, Hits] = {}
    for name in rule_sources(query.cart, catalog):
        if draw(mostly):
            if name.startswith(keys.ITEM_WEIGHTS_PREFIX):
                evidence[name] = draw(item_weights)
            else:
                evidence[name] = list(draw(rule_hits))
    overall = draw(st.lists(sku, unique=True))
    categories = {p.category for p in catalog.values()}
    popular = Popular(tuple(overall), {c: tuple(overall[::-1]) for c in categories})
    merch = Merchandising(tuple(draw(merch_rules)))
    return query, evidence, Assortment.index(catalog, popular), merch


@settings(max_examples=300, deadline=None)
@given(situations(), policies)
def test_no_returned_item_violates_a_filter(situation: Situation, policy: Policy) -> None:
    query, evidence, assortment, merch = situation
    result = rank(query, evidence, assortment, merch, policy)
    check_filters(result, query, assortment, merch, policy)


def check_filters(
    result: Answer, query: Query, assortment: Assortment, merch: Merchandising, policy: Policy
) -> None:
    catalog, families = assortment.catalog, assortment.families
    cart = frozenset(query.cart)
    chosen = [item.sku for item in result.items]
    assert len(chosen) <= query.limit
    assert len(chosen) == len(set(chosen))
    for item in result.items:
        facts = catalog[item.sku]
        assert facts.active and facts.in_stock
        assert item.sku not in cart and item.sku not in query.exclude
        assert item.sku not in merch.blocked(cart)
        if query.max_price is not None:
            assert facts.price is not None and facts.price <= query.max_price
        others = families.get(item.sku, frozenset())
        assert not others & (set(chosen) - {item.sku}), "two sizes of one item"
        if others & cart:
            assert item.kind == "upsell" and query.include_upsell
            source = catalog[item.because[0]]
            assert item.sku in source.upgrades and source.price and facts.price
            assert 0 < facts.price / source.price - 1 <= policy.upsell_max_step
    kinds = {item.kind for item in result.items}
    expected = "popular" if kinds <= {"popular"} else "rules" if "popular" not in kinds else "mixed"
    assert result.strategy == expected


def source(item: Suggestion) -> tuple[str, bool]:
    """Where an item came from: pins are cross-sells without a rule or a weight."""
    return item.kind, item.rule is None and item.weight is None


def over_cap(result: Answer, catalog: Mapping[str, ProductFacts], cap: int) -> int:
    counts = Counter(catalog[item.sku].category for item in result.items)
    return sum(max(0, n - cap) for category, n in counts.items() if category)


@settings(max_examples=300, deadline=None)
@given(situations(), st.integers(1, 3))
def test_diversity_only_reorders_within_a_source_and_never_empties_a_slot(
    situation: Situation, cap: int
) -> None:
    query, evidence, assortment, merch = situation
    catalog = assortment.catalog
    free = rank(query, evidence, assortment, merch, Policy(len(catalog) + 1))
    soft = rank(query, evidence, assortment, merch, Policy(cap))
    assert len(soft.items) == len(free.items)
    assert [source(item) for item in soft.items] == [source(item) for item in free.items]
    assert soft.strategy == free.strategy
    assert over_cap(soft, catalog, cap) <= over_cap(free, catalog, cap)
    categories = {p.category for p in catalog.values()}
    if len(categories - {""}) <= 1 or over_cap(free, catalog, cap) == 0:
        assert soft.items == free.items


kinds = st.sampled_from(["cross_sell", "upsell", "popular"])
pool_sources = st.lists(
    st.tuples(
        st.lists(st.builds(Suggestion, sku, kinds, st.floats(0, 1)), max_size=10),
        st.none() | st.integers(1, 3),  # a quota, as upsells have
    ),
    min_size=1,
    max_size=4,
)


@settings(max_examples=300, deadline=None)
@given(
    catalogs(),
    st.lists(sku, max_size=2, unique=True),
    pool_sources,
    st.integers(1, 3),
    st.integers(4, 12),
)
def test_a_pool_filled_in_two_steps_is_the_pool_filled_at_once(
    catalog: dict[str, ProductFacts],
    cart: list[str],
    sources: list[tuple[list[Suggestion], int | None]],
    first: int,
    room: int,
) -> None:
    """rank() gathers the diversity pool only when the first answer breaks the cap: going
    on where the first fill stopped must lose, repeat or reorder nothing."""
    assortment = Assortment.index(catalog, Popular(()))
    at_once, in_steps = (_Picker(Query(tuple(cart)), assortment, set()) for _ in range(2))
    for candidates, quota in sources:
        at_once.add(candidates, quota)
        in_steps.add(candidates, quota)
    at_once.fill(room)
    in_steps.fill(first)
    in_steps.fill(room)
    assert in_steps.pool == at_once.pool
    assert in_steps.refused == at_once.refused

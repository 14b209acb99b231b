"""The pure /recommend ranking: filters, pairs, rank_by, upsell, merchandising and fallbacks."""

from __future__ import annotations

import math
from collections.abc import Mapping

import pytest

from app.published import keys
from app.published.snapshot import Hits, Popular, ProductFacts, RuleHit, WeightEntry
from app.serving.merchandising import Action, Merchandising, MerchRule
from app.serving.recommend import (
    MAX_PAIR_ITEMS,
    WEIGHT_SCALE,
    Answer,
    Assortment,
    MerchIndex,
    Policy,
    Query,
    RankBy,
    rank,
    rule_sources,
    upgrade_families,
)


def product(
    sku: str,
    category: str,
    price: float | None = 10.0,
    cost: float | None = 4.0,
    *,
    active: bool = True,
    in_stock: bool = True,
    upgrades: tuple[str, ...] = (),
) -> ProductFacts:
    return ProductFacts(sku, sku.title(), category, price, cost, active, in_stock, upgrades)


def hit(consequent: str, confidence: float, lift: float = 2.0) -> RuleHit:
    return RuleHit(consequent, 10, 0.01, confidence, lift, 0.005, 1.5)


CATALOG = {
    p.sku: p
    for p in (
        product("roses-12", "roses", 30.0, 12.0, upgrades=("roses-24",)),
        product("roses-24", "roses", 45.0, 20.0),
        product("card", "cards", 4.0, 1.0),
        product("card-love", "cards", 4.0, 1.0),
        product("card-thanks", "cards", 3.5, 1.0),
        product("choc-s", "chocolates", 10.0, 4.0, upgrades=("choc-l",)),
        product("choc-l", "chocolates", 20.0, 9.0),
        product("truffles", "chocolates", 13.0, 5.0),
        product("pralines", "chocolates", 15.0, 6.0),
        product("vase", "vases", 60.0, 10.0),
        product("balloon", "balloons", 7.0, 2.0),
        product("teddy", "teddy-bears", 35.0, 13.0, in_stock=False),
        product("candle", "candles", 7.0, 2.0, active=False),
        product("tv-27", "electronics", 179.0, 132.0, upgrades=("tv-32",)),
        product("tv-32", "electronics", 249.0, 181.0, upgrades=("tv-43",)),
        product("tv-43", "electronics", 379.0, 279.0),
        product("hdmi", "electronics", 12.9, 2.6),
        product("mount", "electronics", 39.9, 14.0),
    )
}
POPULAR = Popular(
    overall=("roses-12", "card", "choc-s", "balloon", "vase", "truffles", "hdmi"),
    by_category={
        "roses": ("roses-12", "roses-24"),
        "cards": ("card", "card-love", "card-thanks"),
        "chocolates": ("choc-s", "truffles", "pralines", "choc-l"),
        "electronics": ("tv-27", "hdmi", "mount", "tv-32", "tv-43"),
    },
)
ASSORTMENT = Assortment.index(CATALOG, POPULAR)
ROSES_RULES = {
    keys.item_rules("roses-12"): [
        hit("card", 0.30, lift=3.0),
        hit("choc-s", 0.25, lift=4.0),
        hit("truffles", 0.20, lift=5.0),
        hit("balloon", 0.10, lift=6.0),
    ]
}


def answer(
    cart: tuple[str, ...],
    rules: Mapping[str, Hits] | None = None,
    merch: Merchandising | None = None,
    policy: Policy | None = None,
    **query: object,
) -> Answer:
    return rank(
        Query(cart, **query),  # type: ignore[arg-type]
        ROSES_RULES if rules is None else rules,
        ASSORTMENT,
        merch or Merchandising(),
        policy or Policy(),
    )


def skus(result: Answer) -> list[str]:
    return [item.sku for item in result.items]


def test_rules_of_the_cart_rank_by_confidence_and_name_their_source() -> None:
    result = answer(("roses-12",), limit=3, include_upsell=False)
    assert skus(result) == ["card", "choc-s", "truffles"]
    assert result.strategy == "rules"
    assert all(item.kind == "cross_sell" and item.because == ("roses-12",) for item in result.items)
    assert [item.score for item in result.items] == [0.3, 0.25, 0.2]
    assert result.items[0].rule is not None and result.items[0].rule.lift == 3.0


def test_recommend_never_returns_cart_items() -> None:
    rules = {**ROSES_RULES, keys.item_rules("card"): [hit("roses-12", 0.9), hit("vase", 0.2)]}
    result = answer(("roses-12", "card"), rules, limit=10)
    assert not {"roses-12", "card"} & set(skus(result))


def test_excluded_inactive_out_of_stock_and_too_expensive_items_are_never_offered() -> None:
    rules = {
        keys.item_rules("roses-12"): [
            hit("teddy", 0.9),
            hit("candle", 0.8),
            hit("vase", 0.7),
            hit("card", 0.6),
            hit("balloon", 0.5),
            hit("choc-s", 0.4),
        ]
    }
    result = answer(("roses-12",), rules, limit=10, exclude=frozenset({"card"}), max_price=50.0)
    offered = set(skus(result))
    assert not offered & {"teddy", "candle", "vase", "card"}
    assert {"balloon", "choc-s"} <= offered
    assert all((CATALOG[sku].price or 0) <= 50.0 for sku in offered)


def test_an_item_without_a_price_is_never_offered_under_max_price() -> None:
    catalog = {**CATALOG, "mystery": product("mystery", "gifts", None)}
    assortment = Assortment.index(catalog, POPULAR)
    rules = {keys.item_rules("roses-12"): [hit("mystery", 0.9)]}

    def first(max_price: float | None) -> str:
        query = Query(("roses-12",), max_price=max_price, include_upsell=False)
        return skus(rank(query, rules, assortment, Merchandising(), Policy()))[0]

    assert first(None) == "mystery"
    assert first(100.0) != "mystery"


def test_max_per_category_spreads_the_answer_when_another_category_has_a_rule() -> None:
    rules = {
        keys.item_rules("roses-12"): [
            hit("truffles", 0.5),
            hit("pralines", 0.45),
            hit("choc-s", 0.4),
            hit("card", 0.1),
        ]
    }
    two = answer(("roses-12",), rules, limit=3, include_upsell=False)
    assert skus(two) == ["truffles", "pralines", "card"]
    one = answer(("roses-12",), rules, limit=3, include_upsell=False, policy=Policy(1, 0.6))
    assert skus(one) == ["truffles", "card", "pralines"]


def test_a_full_category_never_leaves_a_slot_empty_or_to_a_weaker_source() -> None:
    rules = {keys.item_rules("roses-12"): [hit("truffles", 0.5), hit("pralines", 0.45)]}
    result = answer(("roses-12",), rules, limit=3, include_upsell=False, policy=Policy(1, 0.6))
    # Both rules stay (no other category has one); popular fills only the slot it had anyway.
    assert [(item.sku, item.kind) for item in result.items] == [
        ("truffles", "cross_sell"),
        ("pralines", "cross_sell"),
        ("card", "popular"),
    ]


def test_a_shop_with_one_category_gets_the_answer_it_would_get_without_a_cap() -> None:
    catalog = {sku: product(sku, "all") for sku in ("a", "b", "c", "d", "e", "f")}
    assortment = Assortment.index(catalog, Popular(("f", "e", "d")))
    rules = {keys.item_rules("a"): [hit("b", 0.5), hit("c", 0.4), hit("d", 0.3)]}
    query = Query(("a",), limit=5)
    capped = rank(query, rules, assortment, Merchandising(), Policy(1, 0.6))
    free = rank(query, rules, assortment, Merchandising(), Policy(100, 0.6))
    assert capped == free
    assert skus(capped) == ["b", "c", "d", "f", "e"]


def test_pair_rules_take_part_and_because_names_both_items() -> None:
    rules = {
        keys.item_rules("roses-12"): [hit("choc-s", 0.2)],
        keys.item_rules("card"): [hit("truffles", 0.1)],
        keys.pair_rules("roses-12", "card"): [hit("balloon", 0.6), hit("choc-s", 0.5)],
    }
    result = answer(("roses-12", "card"), rules, limit=3, include_upsell=False)
    assert skus(result) == ["balloon", "choc-s", "truffles"]
    by_sku = {item.sku: item for item in result.items}
    assert by_sku["balloon"].because == ("card", "roses-12")
    assert by_sku["choc-s"].because == ("card", "roses-12")  # the pair's 0.5 beat roses' 0.2
    assert by_sku["truffles"].because == ("card",)


def test_equal_evidence_gives_the_same_answer_whatever_order_the_rules_arrive_in() -> None:
    rules = {
        keys.item_rules("roses-12"): [hit("balloon", 0.4, lift=2.0)],
        keys.item_rules("card"): [hit("balloon", 0.4, lift=3.0)],
    }
    forward = answer(("roses-12", "card"), rules, limit=1, include_upsell=False)
    backward = answer(
        ("roses-12", "card"), dict(reversed(rules.items())), limit=1, include_upsell=False
    )
    assert forward.items == backward.items
    assert forward.items[0].because == ("card",)  # "r:card" < "r:roses-12"


@pytest.mark.parametrize(
    ("rank_by", "expected"),
    [
        (RankBy.CONFIDENCE, ["card", "choc-s", "truffles", "balloon"]),
        (RankBy.LIFT, ["balloon", "truffles", "choc-s", "card"]),
        # confidence x price: 1.2, 2.5, 2.6, 0.7
        (RankBy.EXPECTED_REVENUE, ["truffles", "choc-s", "card", "balloon"]),
        # confidence x (price - cost): 0.9, 1.5, 1.6, 0.5
        (RankBy.EXPECTED_MARGIN, ["truffles", "choc-s", "card", "balloon"]),
    ],
)
def test_rank_by_orders_candidates_by_the_chosen_measure(
    rank_by: RankBy, expected: list[str]
) -> None:
    result = answer(("roses-12",), limit=4, rank_by=rank_by, include_upsell=False)
    assert skus(result) == expected
    scores = [item.score for item in result.items]
    assert scores == sorted(scores, reverse=True)


def test_expected_margin_prefers_the_richer_margin_over_the_likelier_sale() -> None:
    rules = {keys.item_rules("tv-27"): [hit("hdmi", 0.5), hit("mount", 0.3)]}
    by_confidence = answer(("tv-27",), rules, limit=2, include_upsell=False)
    by_margin = answer(
        ("tv-27",), rules, limit=2, include_upsell=False, rank_by=RankBy.EXPECTED_MARGIN
    )
    assert skus(by_confidence) == ["hdmi", "mount"]
    assert skus(by_margin) == ["mount", "hdmi"]  # 0.3 x 25.9 > 0.5 x 10.3


def test_upsell_offers_the_upgrade_within_the_price_step() -> None:
    rules = {keys.item_rules("tv-27"): [hit("hdmi", 0.5), hit("mount", 0.3)]}
    result = answer(("tv-27",), rules, limit=3, policy=Policy(3, 0.6))
    assert result.items[0].sku == "tv-32" and result.items[0].kind == "upsell"
    assert result.items[0].because == ("tv-27",)
    assert skus(result)[1:] == ["hdmi", "mount"]
    assert result.strategy == "rules"


def test_no_upsell_beyond_the_price_step_or_when_turned_off() -> None:
    rules = {keys.item_rules("tv-27"): [hit("hdmi", 0.5)]}
    narrow = answer(("tv-27",), rules, limit=3, policy=Policy(2, 0.3))  # tv-32 is +39 %
    off = answer(("tv-27",), rules, limit=3, include_upsell=False)
    for result in (narrow, off):
        assert "tv-32" not in skus(result)
        assert all(item.kind != "upsell" for item in result.items)


def test_an_unavailable_upgrade_is_not_offered() -> None:
    catalog = {**CATALOG, "tv-32": product("tv-32", "electronics", 249.0, in_stock=False)}
    result = rank(
        Query(("tv-27",)), {}, Assortment.index(catalog, POPULAR), Merchandising(), Policy()
    )
    assert "tv-32" not in skus(result)


def test_the_upgrade_of_a_cart_item_is_never_an_add_on() -> None:
    rules = {keys.item_rules("roses-12"): [hit("roses-24", 0.9), hit("card", 0.3)]}
    off = answer(("roses-12",), rules, limit=5, include_upsell=False)
    on = answer(("roses-12",), rules, limit=5)
    assert "roses-24" not in skus(off)
    assert [(i.sku, i.kind) for i in on.items if i.sku == "roses-24"] == [("roses-24", "upsell")]


def test_the_smaller_size_of_a_cart_item_is_never_an_add_on() -> None:
    rules = {keys.item_rules("roses-24"): [hit("roses-12", 0.9), hit("card", 0.3)]}
    result = answer(("roses-24",), rules, limit=5)
    assert "roses-12" not in skus(result)


def test_an_answer_never_holds_two_sizes_of_one_item() -> None:
    rules = {keys.item_rules("roses-12"): [hit("choc-l", 0.5), hit("choc-s", 0.4)]}
    result = answer(("roses-12",), rules, limit=5, include_upsell=False)
    assert "choc-l" in skus(result) and "choc-s" not in skus(result)


def test_upgrade_families_follow_paths_in_both_directions() -> None:
    families = upgrade_families(CATALOG)
    assert families["tv-27"] == {"tv-32", "tv-43"}
    assert families["tv-43"] == {"tv-27", "tv-32"}
    assert families["roses-24"] == {"roses-12"}
    assert "card" not in families


def test_pins_come_first_and_name_their_trigger() -> None:
    merch = Merchandising(
        (MerchRule("vase", Action.PIN, "roses-12"), MerchRule("balloon", Action.PIN))
    )
    result = answer(("roses-12",), merch=merch, limit=4, include_upsell=False)
    assert skus(result)[:2] == ["vase", "balloon"]
    assert result.items[0].because == ("roses-12",) and result.items[1].because == ()
    assert skus(answer(("card",), {}, merch=merch, limit=1)) == ["balloon"]


def test_a_pinned_item_still_obeys_the_filters() -> None:
    merch = Merchandising((MerchRule("teddy", Action.PIN), MerchRule("vase", Action.PIN)))
    result = answer(("roses-12",), merch=merch, limit=4, max_price=50.0)
    assert not {"teddy", "vase"} & set(skus(result))


def test_boost_and_bury_reorder_by_their_factor() -> None:
    boosted = Merchandising((MerchRule("balloon", Action.BOOST, factor=4.0),))
    buried = Merchandising((MerchRule("card", Action.BURY),))
    up = answer(("roses-12",), merch=boosted, limit=4, include_upsell=False)
    down = answer(("roses-12",), merch=buried, limit=4, include_upsell=False)
    assert skus(up)[0] == "balloon" and up.items[0].score == 0.4
    assert skus(down) == ["choc-s", "truffles", "balloon", "card"]


def test_merchandising_for_an_antecedent_applies_only_when_it_is_in_the_cart() -> None:
    merch = Merchandising(
        (MerchRule("card", Action.BLOCK, "roses-12"), MerchRule("balloon", Action.BLOCK, "vase"))
    )
    result = answer(("roses-12",), merch=merch, limit=4, include_upsell=False)
    assert "card" not in skus(result) and "balloon" in skus(result)


def test_a_global_block_removes_the_item_from_every_source() -> None:
    merch = Merchandising((MerchRule("card", Action.BLOCK), MerchRule("roses-24", Action.BLOCK)))
    from_rules = answer(("roses-12",), merch=merch, limit=10)
    from_popular = answer((), {}, merch=merch, limit=10)
    for result in (from_rules, from_popular):
        assert not {"card", "roses-24"} & set(skus(result))


def test_the_merchandising_index_gives_a_cart_its_rules_in_the_shops_order() -> None:
    rules = (
        MerchRule("vase", Action.PIN, "roses-12"),
        MerchRule("card", Action.BLOCK),
        MerchRule("balloon", Action.PIN, "tv-27"),
        MerchRule("truffles", Action.PIN),
        MerchRule("teddy", Action.BURY, "roses-12"),
    )
    index = MerchIndex.of(Merchandising(rules))
    assert index.for_cart(["roses-12", "roses-12"]).rules == tuple(rules[i] for i in (0, 1, 3, 4))
    assert index.for_cart([]).rules == (rules[1], rules[3])
    assert index.for_cart(["tv-27", "roses-12"]).rules == rules


def test_without_rules_popular_items_of_the_cart_categories_come_first() -> None:
    result = answer(("card",), {}, limit=3)
    assert skus(result) == ["card-love", "card-thanks", "roses-12"]
    assert result.strategy == "popular"
    assert all(item.kind == "popular" and item.because == () for item in result.items)


def test_too_few_rule_matches_are_topped_up_with_popular_items() -> None:
    rules = {keys.item_rules("vase"): [hit("card", 0.2)]}
    result = answer(("vase",), rules, limit=3)
    assert skus(result) == ["card", "roses-12", "choc-s"]
    assert [item.kind for item in result.items] == ["cross_sell", "popular", "popular"]
    assert result.strategy == "mixed"


def test_an_empty_or_unknown_cart_gets_popular_items_overall() -> None:
    for cart in ((), ("no-such-sku",)):
        result = answer(cart, {}, limit=3)
        assert skus(result) == ["roses-12", "card", "choc-s"]
        assert result.strategy == "popular"


def test_the_answer_is_empty_only_when_nothing_at_all_passes_the_filters() -> None:
    everything = frozenset(CATALOG)
    result = answer(("roses-12",), limit=5, exclude=everything)
    assert result.items == [] and result.strategy == "popular"


def test_rule_sources_cover_every_item_and_pairs_of_the_first_known_items() -> None:
    cart = ["unknown", *sorted(CATALOG)]
    sources = rule_sources(cart, CATALOG)
    assert keys.item_rules("unknown") not in sources
    assert sum(1 for name in sources if name.startswith("r:")) == len(CATALOG)
    pairs = [because for name, because in sources.items() if name.startswith("r2:")]
    assert len(pairs) == MAX_PAIR_ITEMS * (MAX_PAIR_ITEMS - 1) // 2
    assert all(list(because) == sorted(because) for because in pairs)


def test_an_unavailable_first_upgrade_does_not_hide_the_next_size() -> None:
    catalog = {
        **CATALOG,
        "tv-27": product("tv-27", "electronics", 179.0, upgrades=("tv-32", "tv-40")),
        "tv-32": product("tv-32", "electronics", 249.0, in_stock=False),
        "tv-40": product("tv-40", "electronics", 269.0),
    }
    result = rank(
        Query(("tv-27",)), {}, Assortment.index(catalog, POPULAR), Merchandising(), Policy()
    )
    assert [(s.sku, s.kind) for s in result.items[:1]] == [("tv-40", "upsell")]


def weights(*pairs: tuple[str, float]) -> WeightEntry:
    return dict(pairs)


def test_item_weights_of_every_cart_item_add_up_next_to_the_rules() -> None:
    evidence: dict[str, Hits] = {
        **ROSES_RULES,
        keys.item_weights("roses-12"): weights(("truffles", 0.02), ("vase", 0.08)),
        keys.item_weights("card"): weights(("truffles", 0.04), ("balloon", -0.1)),
    }
    result = answer(("roses-12", "card"), evidence, limit=3, include_upsell=False)
    truffles, vase, choc = result.items
    assert (truffles.sku, vase.sku, choc.sku) == ("truffles", "vase", "choc-s")
    assert truffles.score == pytest.approx(0.2 + WEIGHT_SCALE * 0.06)
    assert truffles.weight == pytest.approx(0.06) and truffles.because == ("roses-12",)
    assert truffles.rule is not None and truffles.rule.confidence == 0.2
    # Without a rule, the evidence is the weight and the cart item that gave most of it.
    assert vase.rule is None and vase.weight == 0.08 and vase.because == ("roses-12",)
    assert choc.weight is None and choc.score == 0.25


def test_an_item_the_cart_predicts_against_is_neither_a_suggestion_nor_a_filler() -> None:
    evidence: dict[str, Hits] = {
        keys.item_weights("roses-12"): weights(("balloon", -0.2), ("vase", 0.01)),
    }
    result = answer(("roses-12",), evidence, limit=6, include_upsell=False)
    assert "balloon" not in skus(result)  # popular overall, but not with roses
    assert skus(result)[0] == "vase" and result.items[1].kind == "popular"


def test_rules_alone_blend_by_the_chance_that_one_of_them_holds() -> None:
    evidence = {
        keys.item_rules("roses-12"): [hit("truffles", 0.3), hit("vase", 0.4)],
        keys.item_rules("card"): [hit("truffles", 0.3)],
    }
    result = answer(("roses-12", "card"), evidence, limit=2, include_upsell=False)
    assert skus(result) == ["truffles", "vase"]  # 1 - 0.7 * 0.7 = 0.51 beats 0.4
    assert result.items[0].score == pytest.approx(0.51)


def test_each_item_keeps_its_own_rounded_score_when_scores_tie() -> None:
    """0.0 and -0.0 tie on the rounded score, yet each item shows its own: an item sold
    below cost has a negative expected margin, however small."""
    catalog = {
        "cart": product("cart", "x", 5.0, None),
        "loss": product("loss", "y", 1.0, 2.0),
        "free": product("free", "z", None, None),
    }
    rules = {keys.item_rules("cart"): [hit("loss", 1e-7), hit("free", 0.5)]}
    query = Query(("cart",), 2, include_upsell=False, rank_by=RankBy.EXPECTED_MARGIN)
    assortment = Assortment.index(catalog, Popular(()))
    items = rank(query, rules, assortment, Merchandising(), Policy()).items
    scores = {item.sku: item.score for item in items}
    assert [item.sku for item in items] == ["free", "loss"]  # tied: SKU order
    assert math.copysign(1, scores["loss"]) == -1 and math.copysign(1, scores["free"]) == 1

"""Ranking for /next-sale: timing, held items, consumables, availability and fallbacks."""

from __future__ import annotations

from datetime import date

from app.published.sequences import (
    FollowUp,
    Purchase,
    Refill,
    SequenceEntry,
    decode_customer,
    decode_sequence,
    encode_customer,
    encode_sequence,
)
from app.published.snapshot import Popular, ProductFacts
from app.serving.next_sale import plan_next_sale

TODAY = date(2026, 10, 25)


def product(
    sku: str, category: str = "tv", *, active: bool = True, stock: bool = True
) -> ProductFacts:
    return ProductFacts(sku, sku.title(), category, 10.0, 5.0, active, stock)


CATALOG = {
    p.sku: p
    for p in (
        product("tv-32"),
        product("mount"),
        product("hdmi"),
        product("soundbar"),
        product("gone", stock=False),
        product("retired", active=False),
        product("candle", "home"),
        product("vase", "home"),
        product("roses", "flowers"),
    )
}
POPULAR = Popular(
    overall=("roses", "candle", "tv-32", "vase"),
    by_category={"tv": ("tv-32", "hdmi", "soundbar"), "home": ("candle", "vase")},
)


def follow(sku: str, confidence: float, median: float) -> FollowUp:
    return FollowUp(sku, 40, 0.04, confidence, 1.8, median, median - 3, median + 4)


SEQUENCES = {
    "tv-32": SequenceEntry(
        90,
        (
            follow("gone", 0.9, 5),
            follow("mount", 0.4, 12),
            follow("hdmi", 0.3, 3),
            follow("retired", 0.25, 5),
            follow("candle", 0.2, 30),
        ),
    ),
    "candle": SequenceEntry(90, (), Refill(42, 33, 52, 1422, 0.63)),
}


def offers(purchases: list[Purchase], limit: int = 3) -> list[tuple[str, str, date]]:
    plan = plan_next_sale(purchases, SEQUENCES, CATALOG, POPULAR, TODAY, limit)
    return [(o.sku, o.kind, o.send_on) for o in plan.offers]


def test_a_follow_up_is_sent_the_median_delay_after_the_purchase_never_in_the_past() -> None:
    assert offers([Purchase("tv-32", date(2026, 10, 20))], limit=2) == [
        ("mount", "next_sale", date(2026, 11, 1)),  # 20 Oct + 12 days
        ("hdmi", "next_sale", TODAY),  # 20 Oct + 3 days is past: send now
    ]


def test_unavailable_items_are_never_offered() -> None:
    found = [sku for sku, _, _ in offers([Purchase("tv-32", date(2026, 10, 20))], limit=10)]
    assert "gone" not in found and "retired" not in found


def test_items_the_customer_holds_are_not_offered_again() -> None:
    bought = [Purchase("tv-32", date(2026, 10, 20)), Purchase("mount", date(2026, 10, 21))]
    assert "mount" not in [sku for sku, _, _ in offers(bought, limit=10)]


def test_a_consumable_is_offered_again_at_its_rebuy_interval_after_the_last_purchase() -> None:
    bought = [Purchase("candle", date(2026, 8, 1)), Purchase("candle", date(2026, 10, 10))]
    plan = plan_next_sale(bought, SEQUENCES, CATALOG, POPULAR, TODAY, 1)
    [offer] = plan.offers
    assert (offer.sku, offer.kind, offer.send_on) == ("candle", "replenishment", date(2026, 11, 21))
    assert offer.refill is not None and offer.score == 0.63


def test_a_held_consumable_waits_for_its_cycle_instead_of_following_up_another_purchase() -> None:
    bought = [Purchase("tv-32", date(2026, 10, 20)), Purchase("candle", date(2026, 10, 15))]
    candle = [o for o in offers(bought, limit=10) if o[0] == "candle"]
    assert candle == [("candle", "replenishment", date(2026, 11, 26))]


def test_purchases_older_than_the_window_trigger_no_follow_ups() -> None:
    plan = plan_next_sale(
        [Purchase("tv-32", date(2026, 7, 1))], SEQUENCES, CATALOG, POPULAR, TODAY, 3
    )
    assert plan.strategy == "popular" and all(o.kind == "popular" for o in plan.offers)
    assert plan.reason is not None and "no sequence" in plan.reason


def test_popular_items_fill_up_from_the_customers_categories_and_skip_what_they_hold() -> None:
    bought = [Purchase("tv-32", date(2026, 10, 20))]
    plan = plan_next_sale(bought, SEQUENCES, CATALOG, POPULAR, TODAY, 5)
    assert [o.sku for o in plan.offers] == ["mount", "hdmi", "candle", "soundbar", "roses"]
    assert plan.strategy == "mixed" and plan.offers[-1].send_on == TODAY


def test_no_purchases_gives_popular_items_and_a_reason() -> None:
    plan = plan_next_sale([], SEQUENCES, CATALOG, POPULAR, TODAY, 2)
    assert [o.sku for o in plan.offers] == ["roses", "candle"]
    assert plan.reason == "no purchases to follow up: popular items instead"


def test_half_days_round_up() -> None:
    entries = {"tv-32": SequenceEntry(90, (follow("mount", 0.4, 12.5),))}
    plan = plan_next_sale(
        [Purchase("tv-32", date(2026, 10, 20))], entries, CATALOG, POPULAR, TODAY, 1
    )
    assert plan.offers[0].send_on == date(2026, 11, 2)


def test_entries_survive_encoding() -> None:
    for entry in SEQUENCES.values():
        assert decode_sequence(encode_sequence(entry)) == entry
    bought = [Purchase("candle", date(2026, 10, 10))]
    raw = encode_customer(bought, {"candle": encode_sequence(SEQUENCES["candle"])})
    customer = decode_customer(raw)
    assert customer.purchases == tuple(bought)
    assert customer.sequences == {"candle": SEQUENCES["candle"]}


def test_items_the_shop_blocks_are_never_offered_not_even_as_popular_fillers() -> None:
    bought = [Purchase("tv-32", date(2026, 10, 20))]
    plan = plan_next_sale(bought, SEQUENCES, CATALOG, POPULAR, TODAY, 10, frozenset({"mount"}))
    found = [o.sku for o in plan.offers]
    assert "hdmi" in found and "mount" not in found

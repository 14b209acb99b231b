"""Reactivation targets and next-sale mailings due on a day, on hand-computed histories."""

from __future__ import annotations

import math
from datetime import date

import pytest

from app.analytics.due import due_on
from app.analytics.history import History, history_from_orders
from app.analytics.holding import holdings
from app.analytics.reactivation import ReactivationParams, reactivation_targets
from app.analytics.tickets import average_tickets
from app.mining.sequences import SequenceParams, mine_replenishment, mine_sequences

DAY = 86_400
BASE = date(2026, 1, 1)
BASE_DAY = BASE.toordinal() - date(1970, 1, 1).toordinal()
PRICES: dict[str, float | None] = {"v": 60.0, "w": 15.0, "x": 25.0, "y": 40.0, "z": 10.0}
PARAMS = ReactivationParams(below=1.0, min_confidence="0.3", min_lift="1.2", min_count=1)


def holders_shop() -> History:
    """Nine customers, one order each: (items, order total).

    c1 x y 100 | c2 x y 100 | c3 x y z 100 | c4 x 10 | c5 z 10
    c6 w v 100 | c7 w v 100 | c8 w 20 | c9 v 100        -> portfolio average 640 / 9
    """
    rows = [
        (1, "xy", 100.0),
        (2, "xy", 100.0),
        (3, "xyz", 100.0),
        (4, "x", 10.0),
        (5, "z", 10.0),
        (6, "wv", 100.0),
        (7, "wv", 100.0),
        (8, "w", 20.0),
        (9, "v", 100.0),
    ]
    orders = [(c, 0, [(sku, total / len(items)) for sku in items]) for c, items, total in rows]
    return history_from_orders(orders, {c: f"c-{c}" for c, _, _ in rows})


def targets(history: History, params: ReactivationParams = PARAMS) -> list[tuple[object, ...]]:
    rows = reactivation_targets(
        history, holdings(history), average_tickets(history), PRICES, set(PRICES), params
    )
    return [(r.customer_id, r.antecedent_sku, r.offer_sku, r.expected_value) for r in rows]


def test_below_average_customers_get_their_best_offer_ordered_by_expected_value() -> None:
    # w -> v: 2 of 3 w holders hold v, v's base rate 3/9: propensity 1/3, x 60 = 20.00
    # x -> y: 3 of 4, y's base rate 3/9: propensity 5/12, x 40 = 16.67
    # z -> y: 1 of 2 (lift 1.5): propensity 1/6, x 40 = 6.67; z -> x has lift 9/8 < 1.2
    assert targets(holders_shop()) == [
        ("c-8", "w", "v", 20.0),
        ("c-4", "x", "y", 16.67),
        ("c-5", "z", "y", 6.67),
    ]


def test_a_reactivation_row_carries_ticket_gap_and_evidence() -> None:
    history = holders_shop()
    [first, *_] = reactivation_targets(
        history, holdings(history), average_tickets(history), PRICES, set(PRICES), PARAMS
    )
    assert (first.average_ticket, first.gap_to_average) == (20.0, round(640 / 9 - 20, 2))
    assert (first.confidence, first.lift, first.propensity) == (0.6667, 2.0, 0.3333)
    assert first.message == "67 % of customers who hold w also hold v"


def test_the_threshold_is_a_share_of_the_portfolio_average() -> None:
    # 0.2 x 71.11 = 14.22: customer 8 (20) is no longer below it.
    below = ReactivationParams(below=0.2, min_confidence="0.3", min_lift="1.2", min_count=1)
    assert [row[0] for row in targets(holders_shop(), below)] == ["c-4", "c-5"]


def test_unavailable_products_are_never_offered() -> None:
    history = holders_shop()
    rows = reactivation_targets(
        history, holdings(history), average_tickets(history), PRICES, {"w", "x", "y"}, PARAMS
    )
    assert [r.offer_sku for r in rows] == ["y", "y"]


def day(n: int) -> int:
    return (BASE_DAY + n) * DAY + 10 * 3600


def follow_up_shop() -> History:
    """tv then mount after 10, 14 and 1 days (median 10); candles rebought every 30-35 days.

    Customer 3 bought a TV on day 100 and nothing since; customer 4 bought the mount already.
    """
    rows = [
        (1, 0, "tv"),
        (1, 10, "mount"),
        (2, 0, "tv"),
        (2, 14, "mount"),
        (3, 100, "tv"),
        (4, 100, "tv"),
        (4, 101, "mount"),
        (5, 0, "candle"),
        (5, 30, "candle"),
        (5, 60, "candle"),
        (5, 95, "candle"),
    ]
    orders = [(c, day(n), [(sku, 1.0)]) for c, n, sku in rows]
    return history_from_orders(orders, {c: f"c-{c}" for c in range(1, 6)})


def due(history: History, n: int, available: set[str] | None = None) -> list[tuple[object, ...]]:
    params = SequenceParams(
        min_count=1,
        min_confidence=0,
        min_lift=0,
        min_repeaters=1,
        min_repeat_share=0,
        max_interval_spread=math.inf,
    )
    purchases = history.purchases()
    rows = due_on(
        history,
        mine_sequences(purchases, params),
        mine_replenishment(purchases, params),
        date.fromordinal(BASE.toordinal() + n),
        available if available is not None else set(history.skus),
    )
    return [(r.customer_id, r.sku, r.kind, r.because, r.send_on) for r in rows]


def test_a_follow_up_is_due_the_median_delay_after_the_last_purchase() -> None:
    on = date(2026, 4, 21)  # day 110 = day 100 + median 10
    assert due(follow_up_shop(), 110) == [("c-3", "mount", "next_sale", "tv", on)]


def test_nothing_is_due_for_customers_who_hold_the_follow_up() -> None:
    assert due(follow_up_shop(), 10) == []  # customers 1 and 2 bought their mount


def test_a_consumable_is_due_again_after_its_median_interval() -> None:
    # Candle intervals 30, 30, 35: median 30 after the last purchase on day 95.
    assert due(follow_up_shop(), 125) == [
        ("c-5", "candle", "replenishment", "candle", date(2026, 5, 6))
    ]


def test_rows_below_the_minimum_score_are_left_out() -> None:
    history = follow_up_shop()
    params = SequenceParams(min_count=1, min_confidence=0, min_lift=0)
    purchases = history.purchases()
    sequences, refills = mine_sequences(purchases, params), mine_replenishment(purchases, params)
    on = date(2026, 4, 21)
    assert len(due_on(history, sequences, refills, on, set(history.skus), min_score=1.0)) == 1
    assert due_on(history, sequences, refills, on, set(history.skus), min_score=1.01) == []


def test_unavailable_items_are_never_due() -> None:
    assert due(follow_up_shop(), 110, available={"tv", "candle"}) == []


def test_a_due_row_explains_itself() -> None:
    history = follow_up_shop()
    params = SequenceParams(min_count=1, min_confidence=0, min_lift=0)
    purchases = history.purchases()
    [row] = due_on(
        history,
        mine_sequences(purchases, params),
        mine_replenishment(purchases, params),
        date(2026, 4, 21),
        set(history.skus),
    )
    assert row.reason == (
        "bought tv on 2026-04-11; 100 % of its buyers buy mount next, typically 10 days later"
    )
    assert row.score == pytest.approx(1.0)

"""Tickets, KPIs, co-holding, bundles and hook products on a hand-computed shop."""

from __future__ import annotations

import numpy as np
import pytest

from app.analytics.bundles import hook_products, suggest_bundles
from app.analytics.history import History, history_from_orders
from app.analytics.holding import co_holding, holdings, top_by_holders
from app.analytics.tickets import average_tickets, days_between_orders, portfolio_kpis

DAY = 86_400
PRICES = {"a": 10.0, "b": 20.0, "c": 30.0, "d": 5.0}


def shop() -> History:
    """Seven orders, one of them a guest's; every amount is the list price times quantity.

    order  customer  day  lines             total
    1      1          0   a, b              30
    2      1         10   c                 30
    3      2          0   a                 10
    4      2         30   a, d              15
    5      3          5   b, c              50
    6      4          1   a, b, c           60
    7      guest      2   d x 3             15      -> 210 over 7 orders: average 30
    """
    rows = [
        (1, 0, ["a", "b"]),
        (1, 10, ["c"]),
        (2, 0, ["a"]),
        (2, 30, ["a", "d"]),
        (3, 5, ["b", "c"]),
        (4, 1, ["a", "b", "c"]),
    ]
    orders: list[tuple[int | None, int, list[tuple[str, float]]]] = [
        (c, day * DAY, [(sku, PRICES[sku]) for sku in skus]) for c, day, skus in rows
    ]
    orders.append((None, 2 * DAY, [("d", 15.0)]))
    return history_from_orders(orders, {1: "c-1", 2: "c-2", 3: "c-3", 4: "c-4"})


def test_average_ticket_is_revenue_over_orders_per_customer_and_for_the_shop() -> None:
    tickets = average_tickets(shop())
    assert tickets.customer.tolist() == [1, 2, 3, 4]
    assert tickets.orders.tolist() == [2, 2, 1, 1]
    assert tickets.average.tolist() == [30.0, 12.5, 50.0, 60.0]
    assert tickets.portfolio_average == 30.0  # the guest order counts for the shop


def test_portfolio_kpis() -> None:
    kpis = portfolio_kpis(shop())
    assert (kpis.customers, kpis.orders, kpis.revenue) == (4, 7, 210.0)
    assert kpis.average_ticket == 30.0
    assert days_between_orders(shop()).tolist() == [10, 30]
    assert kpis.median_days_between_orders == 20.0
    assert kpis.repeat_share == 0.5  # customers 1 and 2 came back


def test_products_ranked_by_holders_break_ties_by_sku() -> None:
    held = holdings(shop())
    assert held.holders().tolist() == [3, 3, 3, 1]  # d: customer 2 only, guests hold nothing
    assert top_by_holders(held, 3) == [0, 1, 2]


def test_co_holding_shares_of_the_top_three() -> None:
    together = co_holding(holdings(shop()), [0, 1, 2])
    # a & b: customers 1 and 4; a & c: 1 and 4; b & c: 1, 3 and 4.
    assert together.together.tolist() == [[3, 2, 2], [2, 3, 3], [2, 3, 3]]
    assert together.share_of_holders[0].tolist() == pytest.approx([1, 2 / 3, 2 / 3])
    assert together.share_of_holders[1, 2] == 1.0
    # Customer 2 holds one of them, customer 3 two, customers 1 and 4 all three.
    assert together.holding_exactly.tolist() == [0, 1, 1, 2]
    assert together.share_exactly.tolist() == [0.0, 0.25, 0.25, 0.5]


def test_bundles_are_frequent_pairs_and_triples_with_lift_above_one() -> None:
    # Order baskets: ab, c, a, ad, bc, abc, d; items a 4, b 3, c 3, d 2 of 7 orders.
    pairs, triples = suggest_bundles(shop(), PRICES, min_count=1)
    assert [(b.skus, b.orders, b.price) for b in pairs] == [
        (("b", "c"), 2, 50.0),  # lift 2/7 / (3/7 * 3/7) = 14/9
        (("a", "b"), 2, 30.0),  # lift 2/7 / (4/7 * 3/7) = 7/6; a-c (7/12), a-d (7/8) drop out
    ]
    assert [b.lift for b in pairs] == pytest.approx([14 / 9, 7 / 6])
    [abc] = triples  # 1/7 / (4/7 * 3/7 * 3/7) = 49/36
    assert (abc.skus, abc.orders, abc.price) == (("a", "b", "c"), 1, 60.0)
    assert abc.lift == pytest.approx(49 / 36)
    assert suggest_bundles(shop(), PRICES, min_count=2)[1] == []


def test_a_bundle_with_an_unpriced_item_has_no_combined_price() -> None:
    pairs, _ = suggest_bundles(shop(), {**PRICES, "c": None}, min_count=1)
    assert pairs[0].skus == ("b", "c") and pairs[0].price is None


def test_hook_products_are_those_whose_buyers_spend_most_per_order() -> None:
    history = shop()
    hooks = hook_products(holdings(history), average_tickets(history), history.skus, min_buyers=2)
    # b and c: customers 1, 3, 4 spent 60 + 50 + 60 over 4 orders; a: 145 over 5; d too few.
    assert [(h.sku, h.buyers, h.buyers_average_ticket) for h in hooks] == [
        ("b", 3, 42.5),
        ("c", 3, 42.5),
        ("a", 3, 29.0),
    ]
    assert hooks[0].versus_portfolio == pytest.approx(42.5 / 30)


def test_a_history_rejects_mismatched_columns() -> None:
    with pytest.raises(ValueError, match="equally long"):
        History(
            np.zeros(2, np.int64),
            np.zeros(1, np.int64),
            np.zeros(0, np.int64),
            np.zeros(0, np.int32),
            np.zeros(0),
            (),
        )

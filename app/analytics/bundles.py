"""Bundle ideas and hook products: what sells together, and what big spenders buy.

A bundle is a pair or triple bought together in at least `min_count` orders. Its lift is
s(X) / prod(s(i)): how many times more often the items share an order than if each were
bought independently (for a pair, the usual rule lift). Pairs and triples are ranked
apart, because a triple's lift multiplies over three items and would crowd out pairs.

A hook product is one whose buyers spend more: the average ticket of all orders placed
by the customers who hold it, compared with the portfolio's average ticket.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from app.analytics.history import History
from app.analytics.holding import Holdings
from app.analytics.tickets import Tickets
from app.mining.baskets import encode_baskets
from app.mining.itemsets import count_itemsets


@dataclass(frozen=True)
class Bundle:
    skus: tuple[str, ...]
    orders: int  # orders holding every item of the bundle
    support: float
    lift: float
    price: float | None  # combined list price; None when an item has no price


@dataclass(frozen=True)
class HookProduct:
    sku: str
    buyers: int
    buyers_average_ticket: float
    versus_portfolio: float  # buyers' average ticket / portfolio average ticket


def suggest_bundles(
    history: History,
    prices: Mapping[str, float | None],
    *,
    min_count: int,
    min_lift: float = 1.0,
    top: int = 10,
) -> tuple[list[Bundle], list[Bundle]]:
    """Best pairs and best triples with lift above `min_lift`, by lift then orders."""
    orders = encode_baskets(history.line_order, history.line_item, history.n_items)
    counts = count_itemsets(orders, min_count, 3)
    n = float(max(counts.n_baskets, 1))
    single = counts.item_count / n
    ranked = []
    for itemsets, together in (
        (counts.pairs, counts.pair_count),
        (counts.triples, counts.triple_count),
    ):
        support = together / n
        lift = support / np.prod(single[itemsets], axis=1) if len(itemsets) else support
        best = [k for k in np.lexsort((-together, -lift)).tolist() if lift[k] > min_lift][:top]
        ranked.append(
            [
                _bundle(history.skus, itemsets[k], int(together[k]), support[k], lift[k], prices)
                for k in best
            ]
        )
    return ranked[0], ranked[1]


def _bundle(
    skus: tuple[str, ...],
    codes: NDArray[np.int32],
    orders: int,
    support: float,
    lift: float,
    prices: Mapping[str, float | None],
) -> Bundle:
    names = tuple(skus[int(code)] for code in codes)
    listed = [prices.get(sku) for sku in names]
    total = None if any(p is None for p in listed) else round(sum(p or 0.0 for p in listed), 2)
    return Bundle(names, orders, float(support), float(lift), total)


def hook_products(
    holdings: Holdings, tickets: Tickets, skus: tuple[str, ...], *, min_buyers: int, top: int = 10
) -> list[HookProduct]:
    """Products whose holders' average ticket is highest, among those with enough holders."""
    matrix = holdings.matrix
    rows = tickets.of(holdings.customer)
    owner = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
    n_items = matrix.shape[1]
    spent = np.bincount(matrix.indices, weights=tickets.revenue[rows][owner], minlength=n_items)
    placed = np.bincount(matrix.indices, weights=tickets.orders[rows][owner], minlength=n_items)
    buyers = holdings.holders()
    average = spent / np.maximum(placed, 1)
    eligible = np.flatnonzero(buyers >= min_buyers)
    best = eligible[np.lexsort((eligible, -average[eligible]))][:top]
    portfolio = tickets.portfolio_average or 1.0
    return [
        HookProduct(skus[k], int(buyers[k]), float(average[k]), float(average[k] / portfolio))
        for k in best.tolist()
    ]

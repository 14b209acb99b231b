"""orders.csv lines for simulated orders: quantities, coupon prices and timestamps."""

from __future__ import annotations

from datetime import date

import numpy as np

from app.demo.baskets import PRICES, SKUS, IntArray, Rng
from app.demo.csvfile import iso_utc
from app.demo.orders import Orders
from app.demo.patterns import COUPONS, DEFAULT_MULTI_QUANTITY_P, MULTI_QUANTITY_P

ORDER_HEADER = ("order_id", "customer_id", "ordered_at", "sku", "quantity", "unit_price")
MAX_QUANTITY = 3
PRICE_FACTORS: tuple[float, ...] = (1.0, *(factor for _, factor in COUPONS))
MULTI_P = np.array([MULTI_QUANTITY_P.get(sku, DEFAULT_MULTI_QUANTITY_P) for sku in SKUS])


def order_lines(rng: Rng, orders: Orders, start: date) -> list[str]:
    """One CSV line per order line; order ids count up from 1 in `orders` order."""
    stamps = iso_utc(start, orders.minute)
    prefixes = [
        f"{order_id},{customer},{stamp},"
        for order_id, customer, stamp in zip(
            range(1, orders.size + 1), orders.customer.tolist(), stamps, strict=True
        )
    ]
    rows, columns = np.nonzero(orders.basket)
    factor = _coupon_factors(rng, orders.size)[rows]
    quantity = _quantities(rng, columns)
    tail = ((quantity - 1) * len(PRICE_FACTORS) + factor) * len(SKUS) + columns
    tails = _line_tails()
    return [prefixes[r] + tails[t] for r, t in zip(rows.tolist(), tail.tolist(), strict=True)]


def _coupon_factors(rng: Rng, n_orders: int) -> IntArray:
    """PRICE_FACTORS index per order: most pay list price, a few used a coupon."""
    shares = np.array([share for share, _ in COUPONS])
    draw = rng.random(n_orders)
    index: IntArray = np.searchsorted(np.cumsum(shares), draw, side="right") + 1
    index[draw >= shares.sum()] = 0
    return index


def _quantities(rng: Rng, columns: IntArray) -> IntArray:
    multi = rng.random(columns.size) < MULTI_P[columns]
    # Two of a kind is common, three much rarer.
    extra = np.where(rng.random(columns.size) < 0.75, 1, 2)
    quantity: IntArray = 1 + multi * extra
    return quantity


def _line_tails() -> list[str]:
    """`sku,quantity,unit_price` for every (quantity, price factor, SKU) combination."""
    return [
        f"{sku},{quantity},{_discounted(price, factor)}"
        for quantity in range(1, MAX_QUANTITY + 1)
        for factor in PRICE_FACTORS
        for sku, price in zip(SKUS, PRICES.tolist(), strict=True)
    ]


def _discounted(price: float, factor: float) -> str:
    # Whole cents first, so 3.50 at 90 % is 3.15 and never 3.14 from float noise.
    cents = round(round(price * 100) * factor)
    return f"{cents // 100}.{cents % 100:02d}"

"""Large synthetic orders and products CSV files for benchmarks (Zipf popularity, planted pairs)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from app.demo.catalog import PRODUCT_HEADER
from app.demo.csvfile import iso_utc, open_text, write_lines
from app.demo.order_lines import ORDER_HEADER

IntArray = NDArray[np.int64]

CHUNK_ORDERS = 50_000
MAX_ITEMS = 8
ZIPF_EXPONENT = 1.05
ORDERS_PER_CUSTOMER = 5
# The first item of an order often comes with its fixed partner, so rules exist to be found.
PARTNER_P = 0.3
MULTI_QUANTITY_P = 0.1
OUT_OF_STOCK_P = 0.01
SKUS_PER_CATEGORY = 100
MINUTES_PER_DAY = 1440
# Independent random streams per purpose, all derived from the caller's seed.
_ORDERS, _PRICES, _PRODUCTS = range(3)


def sku_name(index: int) -> str:
    return f"sku-{index:06d}"


def synthetic_price_cents(n_skus: int, seed: int) -> IntArray:
    """List price per SKU in cents: log-normal around 20 EUR, never below 0.99."""
    rng = np.random.default_rng([seed, _PRICES])
    euros = np.exp(rng.normal(3.0, 0.9, n_skus))
    cents: IntArray = np.maximum(np.round(euros * 100), 99).astype(np.int64)
    return cents


def write_synthetic_products(path: Path, n_skus: int, seed: int) -> int:
    """Write a products CSV matching write_synthetic_orders with the same seed; returns rows."""
    rng = np.random.default_rng([seed, _PRODUCTS])
    price = synthetic_price_cents(n_skus, seed)
    cost = np.round(price * rng.uniform(0.35, 0.8, n_skus)).astype(np.int64)
    in_stock = rng.random(n_skus) >= OUT_OF_STOCK_P
    category = rng.integers(0, max(1, n_skus // SKUS_PER_CATEGORY), n_skus)
    lines = [
        f"{sku_name(i)},Product {i},cat-{c:03d},{_money(p)},{_money(k)},{str(s).lower()}"
        for i, (c, p, k, s) in enumerate(
            zip(category.tolist(), price.tolist(), cost.tolist(), in_stock.tolist(), strict=True)
        )
    ]
    with open_text(path) as out:
        write_lines(out, [",".join(PRODUCT_HEADER), *lines])
    return n_skus


def write_synthetic_orders(
    path: Path, *, n_orders: int, n_skus: int, seed: int, start: date, days: int = 365
) -> int:
    """Stream `n_orders` orders of 1-8 distinct SKUs over `days` days; returns the line count.

    Order ids count up with time. unit_price is the list price from
    write_synthetic_products with the same seed.
    """
    if n_skus < 1 or n_orders < 0 or days < 1:
        raise ValueError("need n_skus >= 1, n_orders >= 0 and days >= 1")
    rng = np.random.default_rng([seed, _ORDERS])
    minutes = np.sort(rng.integers(0, days * MINUTES_PER_DAY, n_orders))
    shop = _Shop(
        cdf=_zipf_cdf(rng, n_skus),
        partner=rng.permutation(n_skus),
        tails=_line_tails(synthetic_price_cents(n_skus, seed)),
        n_customers=max(1, n_orders // ORDERS_PER_CUSTOMER),
    )
    written = 0
    with open_text(path) as out:
        write_lines(out, [",".join(ORDER_HEADER)])
        for first in range(0, n_orders, CHUNK_ORDERS):
            lines = shop.order_lines(
                rng, first + 1, iso_utc(start, minutes[first : first + CHUNK_ORDERS])
            )
            write_lines(out, lines)
            written += len(lines)
    return written


@dataclass(frozen=True)
class _Shop:
    """What every chunk of orders is drawn from."""

    cdf: NDArray[np.float64]
    partner: IntArray
    tails: list[str]
    n_customers: int

    def order_lines(self, rng: np.random.Generator, first_id: int, stamps: list[str]) -> list[str]:
        """Lines of consecutive orders `first_id`, ... placed at `stamps`."""
        order, sku = _chunk_items(rng, len(stamps), self.cdf, self.partner)
        customers = rng.integers(1, self.n_customers + 1, len(stamps))
        prefixes = _prefixes(first_id, customers, stamps)
        quantity = (rng.random(sku.size) < MULTI_QUANTITY_P).astype(np.int64)
        tail = (quantity * self.cdf.size + sku).tolist()
        return [prefixes[o] + self.tails[t] for o, t in zip(order, tail, strict=True)]


def _zipf_cdf(rng: np.random.Generator, n_skus: int) -> NDArray[np.float64]:
    """Cumulative popularity over SKUs; ranks are shuffled so sku-000000 is not the top seller."""
    weights = 1.0 / np.arange(1, n_skus + 1) ** ZIPF_EXPONENT
    cdf: NDArray[np.float64] = np.cumsum(weights[rng.permutation(n_skus)])
    cdf /= cdf[-1]
    return cdf


def _chunk_items(
    rng: np.random.Generator, n: int, cdf: NDArray[np.float64], partner: IntArray
) -> tuple[list[int], IntArray]:
    """Order index within the chunk and SKU per line, distinct SKUs per order."""
    sizes = rng.integers(1, MAX_ITEMS + 1, n)
    order = np.repeat(np.arange(n, dtype=np.int64), sizes)
    sku = np.minimum(np.searchsorted(cdf, rng.random(order.size), side="right"), cdf.size - 1)
    first = np.cumsum(sizes) - sizes
    paired = first[(sizes >= 2) & (rng.random(n) < PARTNER_P)]
    sku[paired + 1] = partner[sku[paired]]
    # A basket is a set: repeated draws of one SKU collapse into one line.
    key = np.unique(order * cdf.size + sku)
    return (key // cdf.size).tolist(), key % cdf.size


def _prefixes(first_id: int, customers: IntArray, stamps: list[str]) -> list[str]:
    return [
        f"{order_id},{customer},{stamp},"
        for order_id, customer, stamp in zip(
            range(first_id, first_id + len(stamps)), customers.tolist(), stamps, strict=True
        )
    ]


def _line_tails(price_cents: IntArray) -> list[str]:
    """`sku,quantity,unit_price` indexed by (quantity - 1) * n_skus + sku."""
    prices = [_money(cents) for cents in price_cents.tolist()]
    return [
        f"{sku_name(i)},{quantity},{price}" for quantity in (1, 2) for i, price in enumerate(prices)
    ]


def _money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"

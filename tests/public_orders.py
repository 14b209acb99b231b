"""The public basket data sets as a shop's orders in Postgres, loaded by COPY in seconds.

One order per basket, a minute apart in file order. Every tenth order is a guest's (it
stands alone in customer scope); the others belong to customers whose orders are spread
over the file, about three each. Product ids are handed out in a scrambled order, so the
item numbering (by product id) is neither the file's nor the names' order, and the
tie-breaking of equally ranked rules is exercised.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from app.evaluation.public import read_baskets

START = datetime(2025, 1, 1, tzinfo=UTC)
GUEST_EVERY = 10
ORDERS_PER_CUSTOMER = 3


async def load_public_orders(
    engine: AsyncEngine, name: str, data_dir: Path, recent: bool = False
) -> int:
    """Data set `name` as orders in an empty shop database; returns the number of orders.

    `recent` dates the first half of the orders 30-36 hours ago and the second half 6-12
    hours ago, a second apart, so a 24-hour window holds exactly the second half however
    long the test takes.
    """
    baskets = read_baskets(name, data_dir)
    names = sorted({item for basket in baskets for item in basket}, key=_scrambled)
    product_id = {sku: pid for pid, sku in enumerate(names, start=1)}
    n_customers = max(1, len(baskets) // ORDERS_PER_CUSTOMER)
    orders, lines = [], []
    for k, basket in enumerate(baskets):
        customer = None if k % GUEST_EVERY == 0 else 1 + (k * 7919) % n_customers
        orders.append((k + 1, f"o{k}", customer, _ordered_at(k, len(baskets), recent)))
        lines += [(k + 1, product_id[sku], 1, Decimal("1.00")) for sku in basket]
    async with engine.begin() as conn:
        raw = (await conn.get_raw_connection()).driver_connection
        await raw.copy_records_to_table(  # type: ignore[union-attr]
            "products",
            records=[(pid, sku, sku, "", "EUR", True, True) for sku, pid in product_id.items()],
            columns=["id", "sku", "name", "category", "currency", "active", "in_stock"],
        )
        await raw.copy_records_to_table(  # type: ignore[union-attr]
            "customers",
            records=[(c, f"c{c}") for c in range(1, n_customers + 1)],
            columns=["id", "external_id"],
        )
        await raw.copy_records_to_table(  # type: ignore[union-attr]
            "orders", records=orders, columns=["id", "external_id", "customer_id", "ordered_at"]
        )
        await raw.copy_records_to_table(  # type: ignore[union-attr]
            "order_lines",
            records=lines,
            columns=["order_id", "product_id", "quantity", "unit_price"],
        )
    return len(orders)


def _ordered_at(k: int, n: int, recent: bool) -> datetime:
    if not recent:
        return START + timedelta(minutes=k)
    late = k >= n // 2
    return datetime.now(UTC) - timedelta(hours=12 if late else 36, seconds=-(k % (n // 2 + 1)))


def _scrambled(sku: str) -> bytes:
    return hashlib.blake2b(sku.encode(), digest_size=8).digest()

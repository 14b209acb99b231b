"""The public basket data sets as a shop's orders: one order per basket, some customers."""

from __future__ import annotations

import csv
import time
from pathlib import Path

from app.evaluation.public import read_baskets

START = 1735689600  # 2025-01-01 UTC; orders a minute apart, in file order
GUEST_EVERY = 10  # every tenth order has no customer: it stands alone in customer scope


def orders_csv(name: str, data_dir: Path, path: Path, orders_per_customer: int = 3) -> Path:
    """`cartlift import orders` CSV of data set `name`; customers get scattered orders.

    Order k (from 0) belongs to customer (k * 7919) mod (n / orders_per_customer), so a
    customer's orders are spread over the file, unless k is a multiple of GUEST_EVERY.
    """
    baskets = read_baskets(name, data_dir)
    n_customers = max(1, len(baskets) // orders_per_customer)
    with path.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(["order_id", "customer_id", "ordered_at", "sku", "quantity", "unit_price"])
        for k, basket in enumerate(baskets):
            customer = "" if k % GUEST_EVERY == 0 else f"c{(k * 7919) % n_customers}"
            stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(START + 60 * k))
            out.writerows([f"o{k}", customer, stamp, item, 1, "1.00"] for item in basket)
    return path

"""Write the demo florist and gift shop (catalog, orders, storage plans) as CSV files."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np

from app.demo.catalog import (
    PLAN_HEADER,
    PRODUCT_HEADER,
    UPGRADE_HEADER,
    UPGRADES,
    plan_rows,
    product_rows,
)
from app.demo.csvfile import open_text, write_lines, write_rows
from app.demo.order_lines import ORDER_HEADER, order_lines
from app.demo.orders import simulate_orders
from app.demo.subscriptions import (
    SUBSCRIPTION_HEADER,
    USAGE_HEADER,
    simulate_subscriptions,
    subscription_rows,
    usage_rows,
)

HISTORY_DAYS = 365


@dataclass(frozen=True)
class DemoFiles:
    """Paths of the written files and what they hold.

    `n_customers` counts customers with at least one order; `n_orders` can exceed
    the requested number only when there are fewer orders than customers.
    """

    products: Path
    upgrades: Path
    orders: Path
    plans: Path
    subscriptions: Path
    usage: Path
    n_products: int
    n_customers: int
    n_orders: int
    n_order_lines: int
    n_subscriptions: int
    n_usage_samples: int


def write_demo_shop(
    out_dir: Path,
    *,
    seed: int = 7,
    n_customers: int = 10_000,
    n_orders: int = 50_000,
    start: date = date(2025, 11, 1),
    compress: bool = False,
) -> DemoFiles:
    """Write the demo shop into `out_dir`; the same arguments always give the same bytes.

    Orders cover one year from `start`. `compress` writes `*.csv.gz` instead of `*.csv`.
    """
    if n_customers < 1 or n_orders < 1:
        raise ValueError("n_customers and n_orders must be at least 1")
    suffix = ".csv.gz" if compress else ".csv"
    paths = {name: out_dir / f"{name}{suffix}" for name in _FILE_NAMES}
    # Separate streams, so changing one file's generator leaves the others unchanged.
    order_rng, subscription_rng = (np.random.default_rng([seed, i]) for i in range(2))
    n_written, n_lines, n_buyers = _write_orders(
        paths["orders"], order_rng, n_orders=n_orders, n_customers=n_customers, start=start
    )
    segments = simulate_subscriptions(subscription_rng, n_customers, HISTORY_DAYS)
    usage = usage_rows(subscription_rng, segments, start, HISTORY_DAYS)
    return DemoFiles(
        **paths,
        n_products=_write_catalog(paths),
        n_customers=n_buyers,
        n_orders=n_written,
        n_order_lines=n_lines,
        n_subscriptions=write_rows(
            paths["subscriptions"], SUBSCRIPTION_HEADER, subscription_rows(segments, start)
        ),
        n_usage_samples=write_rows(paths["usage"], USAGE_HEADER, usage),
    )


_FILE_NAMES = ("products", "upgrades", "orders", "plans", "subscriptions", "usage")


def _write_orders(
    path: Path, rng: np.random.Generator, *, n_orders: int, n_customers: int, start: date
) -> tuple[int, int, int]:
    """Write orders.csv; returns the number of orders, of lines and of distinct customers."""
    orders = simulate_orders(
        rng, n_orders=n_orders, n_customers=n_customers, start=start, days=HISTORY_DAYS
    )
    lines = order_lines(rng, orders, start)
    with open_text(path) as out:
        write_lines(out, [",".join(ORDER_HEADER)])
        write_lines(out, lines)
    return orders.size, len(lines), int(np.unique(orders.customer).size)


def _write_catalog(paths: dict[str, Path]) -> int:
    """Write products, upgrade paths and plans; returns the number of products."""
    write_rows(paths["upgrades"], UPGRADE_HEADER, UPGRADES)
    write_rows(paths["plans"], PLAN_HEADER, plan_rows())
    return write_rows(paths["products"], PRODUCT_HEADER, product_rows())

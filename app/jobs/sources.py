"""The order source: basket lines for mining and the full history, read by one set of queries.

The rebuild and the evaluation read (basket, product) pairs; the next-sale section and the
campaigns read whole orders with their customers, times and amounts. Both come out of the
same two tables through app.jobs.columns, which holds every database difference.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.analytics.history import History
from app.jobs.columns import Dialect, Int64s, dialect_of, read_columns

SCOPES = ("order", "customer")
DENSE_ID_LIMIT = 50_000_000
# Orders without a customer stand alone in customer scope: a negative id keeps them apart.
BASKET = {"order": "ol.order_id", "customer": "COALESCE(o.customer_id, -o.id)"}
# Cents as integers keep every column a non-null integer; -1 marks a line without a price.
AMOUNT_COLUMNS = ("ol.quantity", "COALESCE(ROUND(ol.unit_price * 100), -1)")
Floats = NDArray[np.float64]
Products = dict[int, tuple[str, float | None]]


@dataclass(frozen=True)
class Window:
    """Orders placed in [since, until); either end open when None."""

    since: datetime | None = None
    until: datetime | None = None

    def where(self, dialect: Dialect) -> str:
        bounds = [(">=", self.since), ("<", self.until)]
        conditions = [f"o.ordered_at {op}" for op, stamp in bounds if stamp is not None]
        return "".join(
            f"{' WHERE' if n == 1 else ' AND'} {condition} {dialect.marker(n)}"
            for n, condition in enumerate(conditions, start=1)
        )

    def params(self, dialect: Dialect) -> list[object]:
        return [dialect.moment(s) for s in (self.since, self.until) if s is not None]


def lines_query(
    dialect: Dialect, columns: Sequence[str], window: Window, *, of_orders: bool = False
) -> str:
    """`columns` of every line of an order placed in the window.

    `of_orders` says a column reads the orders table (`o.`), which needs the join.
    """
    where = window.where(dialect)
    # The nightly case needs nothing from orders: skipping the join halves the read.
    joined = of_orders or bool(where)
    source = "order_lines ol" + (" JOIN orders o ON o.id = ol.order_id" if joined else "")
    return _select(dialect, columns, f"FROM {source}{where}")


def orders_query(dialect: Dialect, window: Window) -> str:
    columns = ("o.id", "COALESCE(o.customer_id, -1)", dialect.epoch("o.ordered_at"))
    return _select(dialect, columns, f"FROM orders o{window.where(dialect)} ORDER BY o.id")


def _select(dialect: Dialect, columns: Sequence[str], rest: str) -> str:
    return f"SELECT {', '.join(dialect.column(c) for c in columns)} {rest}"


async def _read(conn: AsyncConnection, query: str, window: Window, width: int) -> list[Int64s]:
    return await read_columns(conn, query, window.params(dialect_of(conn)), width)


@dataclass(frozen=True)
class BasketLines:
    """One row per order line: which basket it falls into and which product it is."""

    basket_ids: NDArray[np.int64]
    product_ids: NDArray[np.int64]
    orders: int


async def read_lines(
    engine: AsyncEngine, scope: str, since: datetime | None, until: datetime | None = None
) -> BasketLines:
    """(basket id, product id) of every line of the orders placed in [since, until)."""
    window = Window(since, until)
    async with engine.connect() as conn:
        dialect = dialect_of(conn)
        columns = (BASKET[scope], "ol.product_id")
        query = lines_query(dialect, columns, window, of_orders=scope != "order")
        baskets, products = await _read(conn, query, window, 2)
        count = _select(dialect, ("COUNT(*)",), f"FROM orders o{window.where(dialect)}")
        [orders] = await _read(conn, count, window, 1)
    return BasketLines(baskets, products, int(orders[0]))


async def read_history(
    engine: AsyncEngine, since: datetime | None = None, *, amounts: bool = True
) -> History:
    """Orders placed at or after `since` (all when None), their lines and customer names.

    Without `amounts` every line is worth 0 and half the columns stay in the database.
    """
    window = Window(since)
    columns = ("ol.order_id", "ol.product_id", *(AMOUNT_COLUMNS if amounts else ()))
    async with engine.connect() as conn:
        dialect = dialect_of(conn)
        orders = await _read(conn, orders_query(dialect, window), window, 3)
        lines = await _read(conn, lines_query(dialect, columns, window), window, len(columns))
        products = {
            int(pid): (str(sku), None if price is None else float(str(price)))
            for pid, sku, price in await conn.execute(text("SELECT id, sku, price FROM products"))
        }
        names = {
            int(cid): str(name)
            for cid, name in await conn.execute(text("SELECT id, external_id FROM customers"))
        }
    return _assemble(orders, lines, products, names)


def _assemble(
    orders: list[Int64s], lines: list[Int64s], products: Products, names: dict[int, str]
) -> History:
    order_id, customer, at = orders
    line_order_id, product = lines[:2]
    # Database ids are dense: tables indexed by id replace np.unique's argsort and a binary
    # search per line, the bulk of the read's CPU on millions of lines.
    used, codes = compact_codes(product)
    skus = tuple(products[int(pid)][0] for pid in used)
    return History(
        order_customer=customer,
        order_at=at,
        line_order=_positions(order_id, line_order_id),
        line_item=codes,
        line_amount=_amounts(lines, used, codes, products),
        skus=skus,
        customer_names=names,
    )


def _positions(ids: Int64s, wanted: Int64s) -> Int64s:
    """Index in `ids` (ascending, distinct) of each of `wanted`, all of which are in `ids`."""
    if len(ids) == 0 or ids[0] < 0 or ids[-1] > max(DENSE_ID_LIMIT, 4 * len(wanted)):
        found: Int64s = np.searchsorted(ids, wanted).astype(np.int64)
        return found
    position = np.zeros(int(ids[-1]) + 1, np.int64)
    position[ids] = np.arange(len(ids), dtype=np.int64)
    return position[wanted]


def _amounts(
    lines: list[Int64s], used: Int64s, codes: NDArray[np.int32], products: Products
) -> Floats:
    """Quantity x unit price, the list price standing in for a missing unit price."""
    if len(lines) < 4:
        # One shared zero, read-only: 8 bytes per line spared (~350 MB at 10M orders).
        return np.broadcast_to(np.float64(0.0), (len(codes),))
    quantity, cents = lines[2], lines[3]
    list_price = np.array([products[int(pid)][1] or 0.0 for pid in used], dtype=np.float64)
    unit = np.where(cents >= 0, cents / 100.0, list_price[codes] if len(used) else 0.0)
    amounts: Floats = (quantity * unit).astype(np.float64)
    return amounts


def compact_codes(ids: NDArray[np.int64]) -> tuple[NDArray[np.int64], NDArray[np.int32]]:
    """The distinct ids ascending, and each id's position among them (0, 1, ...).

    Database ids are small and dense, so a lookup table indexed by id replaces the sort
    that np.unique would need; huge or negative ids fall back to np.unique.
    """
    if len(ids) == 0:
        return ids, np.empty(0, dtype=np.int32)
    low, high = int(ids.min()), int(ids.max())
    if low < 0 or high > max(DENSE_ID_LIMIT, 4 * len(ids)):
        distinct, codes = np.unique(ids, return_inverse=True)
        return distinct, codes.astype(np.int32)
    present = np.zeros(high + 1, dtype=np.bool_)
    present[ids] = True
    distinct = np.flatnonzero(present).astype(np.int64)
    code_of = np.cumsum(present, dtype=np.int32) - 1
    return distinct, code_of[ids]

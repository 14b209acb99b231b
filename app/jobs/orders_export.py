"""Write the orders to Parquet for the Spark engine (or any other reader of Parquet).

Two files in one directory: orders.parquet (id, customer_id, ordered_at) and
order_lines.parquet (order_id, product_id, sku, quantity, unit_price). Both are written
beside their final names and moved in place at the end, so a failed export leaves the
previous one whole. pyarrow comes with the optional 'spark' extra.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.jobs.columns import Int64s, dialect_of, read_columns
from app.jobs.sources import AMOUNT_COLUMNS, Window, lines_query

ORDERS_FILE = "orders.parquet"
LINES_FILE = "order_lines.parquet"
ROW_GROUP = 1_000_000
FORMATS = ("parquet",)


class ExportUnavailable(RuntimeError):
    """pyarrow is missing: the 'spark' extra is not installed."""


@dataclass(frozen=True)
class Exported:
    orders: int
    lines: int


async def export_orders(engine: AsyncEngine, directory: Path) -> Exported:
    """Every order and order line into `directory` (created if missing)."""
    try:
        import pyarrow as pa
    except ImportError:
        raise ExportUnavailable(
            "the Parquet export needs pyarrow, from the 'spark' extra (uv sync --extra spark)"
        ) from None
    orders, lines, sku_of = await _read(engine)
    order_id, customer, micros = orders
    line_order, product, quantity, cents = lines
    known = np.array([sku_of[pid] for pid in product.tolist()], dtype=object)
    orders_table = pa.table(
        {
            "id": order_id,
            "customer_id": pa.array(customer, mask=customer < 0),
            "ordered_at": pa.array(micros, type=pa.timestamp("us", tz="UTC")),
        }
    )
    lines_table = pa.table(
        {
            "order_id": line_order,
            "product_id": product,
            "sku": pa.array(known, type=pa.string()),
            "quantity": quantity,
            "unit_price": pa.array(cents / 100.0, mask=cents < 0),
        }
    )
    await asyncio.to_thread(_write_both, directory, orders_table, lines_table)
    return Exported(len(order_id), len(line_order))


async def _read(engine: AsyncEngine) -> tuple[list[Int64s], list[Int64s], dict[int, str]]:
    window = Window()
    async with engine.connect() as conn:
        dialect = dialect_of(conn)
        at = dialect.epoch("o.ordered_at")
        # Postgres keeps microseconds; SQLite's text timestamps are read to the second.
        stamp = (
            "FLOOR(EXTRACT(EPOCH FROM o.ordered_at) * 1000000)"
            if dialect.postgres
            else (f"{at} * 1000000")
        )
        columns = ("o.id", "COALESCE(o.customer_id, -1)", stamp)
        query = (
            f"SELECT {', '.join(dialect.column(c) for c in columns)} FROM orders o ORDER BY o.id"
        )
        orders = await read_columns(conn, query, [], 3)
        line_columns = ("ol.order_id", "ol.product_id", *AMOUNT_COLUMNS)
        lines = await read_columns(conn, lines_query(dialect, line_columns, window), [], 4)
        rows = await conn.execute(text("SELECT id, sku FROM products"))
        sku_of = {int(pid): str(sku) for pid, sku in rows}
    return orders, lines, sku_of


def _write_both(directory: Path, orders: Any, lines: Any) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    written = [_write(orders, directory / ORDERS_FILE), _write(lines, directory / LINES_FILE)]
    for partial, final in written:
        os.replace(partial, final)


def _write(table: Any, final: Path) -> tuple[Path, Path]:
    import pyarrow.parquet as pq

    partial = final.with_name(f".{final.name}.partial")
    pq.write_table(table, partial, row_group_size=ROW_GROUP)
    return partial, final

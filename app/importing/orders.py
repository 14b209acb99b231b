"""Import order lines: stream and validate the CSV, stage it, merge it in one transaction."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.importing import bulk, rows
from app.importing.rows import Columns, ImportRejected, RowError

ORDER_COLUMNS = Columns(
    required=("order_id", "customer_id", "ordered_at", "sku", "quantity", "unit_price"),
    optional=("channel",),
)
CHUNK_ROWS = 20_000
STAGE = "stage_order_lines"
STAGE_COLUMNS = (
    "line_no",
    "order_ext",
    "customer_ext",
    "ordered_at",
    "sku",
    "quantity",
    "unit_price",
    "channel",
)

# Loaded into an empty database, these get their secondary indexes and foreign keys after
# the rows (one sort and one join each) instead of one index insert and check per row.
BULK_TABLES = ("orders", "order_lines")

Progress = Callable[[int], None]


@dataclass(frozen=True)
class ImportSummary:
    lines: int
    orders: int
    new_products: int


def parse_order_line(line: int, record: dict[str, str]) -> tuple[Any, ...]:
    """One CSV row as a staging tuple, or RowError naming the line and the problem."""
    return (
        line,
        rows.identifier(record["order_id"], "order_id", line),
        rows.identifier(record["customer_id"], "customer_id", line, required=False),
        rows.timestamp(record["ordered_at"], "ordered_at", line),
        rows.identifier(record["sku"], "sku", line),
        rows.quantity(record["quantity"], line),
        rows.money(record["unit_price"], "unit_price", line),
        rows.identifier(record.get("channel", ""), "channel", line, required=False),
    )


def parsed_chunks(source: str, handle: Any) -> Iterator[list[tuple[Any, ...]]]:
    """Chunks of valid staging tuples; after the first bad row, only collect errors."""
    errors: list[RowError] = []
    chunk: list[tuple[Any, ...]] = []
    try:
        for line, record in rows.iter_records(handle, ORDER_COLUMNS):
            try:
                parsed = parse_order_line(line, record)
            except RowError as error:
                errors.append(error)
                if len(errors) >= rows.MAX_ERRORS:
                    break
                continue
            if not errors:
                chunk.append(parsed)
                if len(chunk) >= CHUNK_ROWS:
                    yield chunk
                    chunk = []
    except RowError as error:
        errors.append(error)
    if errors:
        raise ImportRejected(source, errors)
    if chunk:
        yield chunk


async def import_orders(
    engine: AsyncEngine, source: str, progress: Progress | None = None
) -> ImportSummary:
    """All-or-nothing import; re-importing an order id replaces that order's lines."""
    with rows.open_text(source) as handle:
        async with engine.begin() as conn:
            await _create_stage(conn)
            lines = 0
            for chunk in parsed_chunks(source, handle):
                await _stage_chunk(conn, chunk)
                lines += len(chunk)
                if progress:
                    progress(len(chunk))
            await _check_consistent_orders(conn, source)
            return await _merge(conn, lines)


async def _create_stage(conn: AsyncConnection) -> None:
    await conn.execute(text(f"DROP TABLE IF EXISTS {STAGE}"))
    await conn.execute(
        text(
            f"CREATE TEMPORARY TABLE {STAGE} (line_no BIGINT, order_ext VARCHAR(128), "
            "customer_ext VARCHAR(128), ordered_at TIMESTAMP WITH TIME ZONE, sku VARCHAR(128), "
            "quantity INTEGER, unit_price NUMERIC(12, 2), channel VARCHAR(32))"
        )
    )


async def _stage_chunk(conn: AsyncConnection, chunk: list[tuple[Any, ...]]) -> None:
    if conn.dialect.name == "postgresql":
        raw = await conn.get_raw_connection()
        await raw.driver_connection.copy_records_to_table(  # type: ignore[union-attr]
            STAGE, records=chunk, columns=STAGE_COLUMNS
        )
        return
    placeholders = ", ".join(f":{name}" for name in STAGE_COLUMNS)
    await conn.execute(
        text(f"INSERT INTO {STAGE} VALUES ({placeholders})"),
        [_sqlite_params(row) for row in chunk],
    )


def _sqlite_params(row: tuple[Any, ...]) -> dict[str, Any]:
    params = dict(zip(STAGE_COLUMNS, row, strict=True))
    # Stored the way SQLAlchemy's SQLite DateTime type reads it back (naive UTC text).
    stamp: datetime = params["ordered_at"]
    params["ordered_at"] = stamp.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
    price: Decimal | None = params["unit_price"]
    params["unit_price"] = None if price is None else str(price)
    return params


async def _check_consistent_orders(conn: AsyncConnection, source: str) -> None:
    """Lines of one order must agree on its customer and time."""
    result = await conn.execute(
        text(
            f"SELECT order_ext, MIN(line_no), MAX(line_no) FROM {STAGE} GROUP BY order_ext "
            "HAVING COUNT(DISTINCT ordered_at) > 1 "
            "OR COUNT(DISTINCT COALESCE(customer_ext, '')) > 1 ORDER BY 2 LIMIT 20"
        )
    )
    errors = [
        RowError(int(last), f"order {order!r} disagrees with line {first} on customer_id or time")
        for order, first, last in result
    ]
    if errors:
        raise ImportRejected(source, errors)


MERGE_STATEMENTS = (
    # Orders may name SKUs the catalog does not have yet: keep them, the name is the SKU.
    f"INSERT INTO products (sku, name, category, currency, active, in_stock) "
    f"SELECT DISTINCT s.sku, s.sku, '', 'EUR', TRUE, TRUE FROM {STAGE} s "
    f"WHERE NOT EXISTS (SELECT 1 FROM products p WHERE p.sku = s.sku)",
    f"INSERT INTO customers (external_id) SELECT DISTINCT s.customer_ext FROM {STAGE} s "
    f"WHERE s.customer_ext IS NOT NULL "
    f"AND NOT EXISTS (SELECT 1 FROM customers c WHERE c.external_id = s.customer_ext)",
    f"INSERT INTO orders (external_id, customer_id, ordered_at, channel) "
    f"SELECT g.order_ext, g.customer_id, g.ordered_at, g.channel FROM ("
    f"SELECT s.order_ext, MAX(c.id) AS customer_id, MIN(s.ordered_at) AS ordered_at, "
    f"MAX(s.channel) AS channel FROM {STAGE} s "
    f"LEFT JOIN customers c ON c.external_id = s.customer_ext GROUP BY s.order_ext) g "
    f"WHERE TRUE ON CONFLICT (external_id) DO UPDATE SET customer_id = excluded.customer_id, "
    f"ordered_at = excluded.ordered_at, channel = excluded.channel",
    f"DELETE FROM order_lines WHERE order_id IN (SELECT o.id FROM orders o "
    f"WHERE o.external_id IN (SELECT order_ext FROM {STAGE}))",
    f"INSERT INTO order_lines (order_id, product_id, quantity, unit_price) "
    f"SELECT o.id, p.id, s.quantity, s.unit_price FROM {STAGE} s "
    f"JOIN orders o ON o.external_id = s.order_ext JOIN products p ON p.sku = s.sku "
    f"ORDER BY s.line_no",
)


async def _merge(conn: AsyncConnection, lines: int) -> ImportSummary:
    await conn.execute(text(f"CREATE INDEX ix_{STAGE}_order ON {STAGE} (order_ext)"))
    restore: list[str] = []
    if conn.dialect.name == "postgresql":
        await conn.execute(text(f"ANALYZE {STAGE}"))
        if await conn.scalar(text("SELECT NOT EXISTS (SELECT 1 FROM orders)")):
            restore = await bulk.set_aside(conn, BULK_TABLES)
    new_products = (await conn.execute(text(MERGE_STATEMENTS[0]))).rowcount
    for statement in MERGE_STATEMENTS[1:]:
        await conn.execute(text(statement))
    for statement in restore:
        await conn.execute(text(statement))
    orders = await conn.scalar(text(f"SELECT COUNT(DISTINCT order_ext) FROM {STAGE}"))
    await conn.execute(text(f"DROP TABLE {STAGE}"))
    return ImportSummary(lines=lines, orders=int(orders or 0), new_products=new_products)

"""Read the order history (who bought what, when, for how much) into compact numpy arrays.

Postgres streams COPY BINARY decoded with a fixed dtype, SQLite the driver cursor in
chunks; neither builds a Python object per row, so a million orders read in seconds.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.analytics.history import History

Int64s = NDArray[np.int64]
Floats = NDArray[np.float64]
FETCH_ROWS = 100_000
COPY_HEADER = 19
COPY_TRAILER = 2
EPOCH = {
    "postgresql": "FLOOR(EXTRACT(EPOCH FROM o.ordered_at))",
    "sqlite": "CAST(strftime('%s', o.ordered_at) AS INTEGER)",
}
# Cents as integers keep every column a non-null integer; -1 marks a line without a price.
LINE_COLUMNS = (
    "ol.order_id", "ol.product_id", "ol.quantity", "COALESCE(ROUND(ol.unit_price * 100), -1)"
)  # fmt: skip


def _select(columns: tuple[str, ...], rest: str, dialect: str) -> str:
    # COPY BINARY is decoded with a fixed layout, so Postgres casts every column to bigint.
    cast = "({})::bigint" if dialect == "postgresql" else "{}"
    return "SELECT " + ", ".join(cast.format(c) for c in columns) + " " + rest


def orders_query(dialect: str, since: bool) -> str:
    where = " WHERE o.ordered_at >= $1" if since else ""
    columns = ("o.id", "COALESCE(o.customer_id, -1)", EPOCH[dialect])
    return _select(columns, f"FROM orders o{where} ORDER BY o.id", dialect)


def lines_query(dialect: str, since: bool, amounts: bool = True) -> str:
    join = " JOIN orders o ON o.id = ol.order_id WHERE o.ordered_at >= $1" if since else ""
    return _select(LINE_COLUMNS[: 4 if amounts else 2], f"FROM order_lines ol{join}", dialect)


async def read_history(
    engine: AsyncEngine, since: datetime | None = None, *, amounts: bool = True
) -> History:
    """Orders placed at or after `since` (all when None), their lines and customer names.

    Without `amounts` every line is worth 0 and half the columns stay in the database.
    """
    dialect = engine.dialect.name
    width = 4 if amounts else 2
    async with engine.connect() as conn:
        orders = await _int_columns(conn, orders_query(dialect, since is not None), since, 3)
        query = lines_query(dialect, since is not None, amounts)
        lines = await _int_columns(conn, query, since, width)
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
    orders: list[Int64s],
    lines: list[Int64s],
    products: dict[int, tuple[str, float | None]],
    names: dict[int, str],
) -> History:
    order_id, customer, at = orders
    line_order_id, product = lines[:2]
    used, codes = np.unique(product, return_inverse=True)
    skus = tuple(products[int(pid)][0] for pid in used)
    return History(
        order_customer=customer,
        order_at=at,
        line_order=np.searchsorted(order_id, line_order_id).astype(np.int64),
        line_item=codes.astype(np.int32).reshape(-1),
        line_amount=_amounts(lines, used, codes, products),
        skus=skus,
        customer_names=names,
    )


def _amounts(
    lines: list[Int64s],
    used: Int64s,
    codes: Int64s,
    products: dict[int, tuple[str, float | None]],
) -> Floats:
    """Quantity x unit price, the list price standing in for a missing unit price."""
    if len(lines) < 4:
        return np.zeros(len(codes), dtype=np.float64)
    quantity, cents = lines[2], lines[3]
    list_price = np.array([products[int(pid)][1] or 0.0 for pid in used], dtype=np.float64)
    unit = np.where(cents >= 0, cents / 100.0, list_price[codes] if len(used) else 0.0)
    amounts: Floats = (quantity * unit).astype(np.float64)
    return amounts


async def _int_columns(
    conn: AsyncConnection, query: str, since: datetime | None, width: int
) -> list[Int64s]:
    if conn.dialect.name == "postgresql":
        return await _copy_binary(conn, query, since, width)
    return await _fetch_chunks(conn, query.replace("$1", "?"), since, width)


async def _copy_binary(
    conn: AsyncConnection, query: str, since: datetime | None, width: int
) -> list[Int64s]:
    """COPY ... TO STDOUT (FORMAT binary): every tuple is `width` non-null bigints."""
    fields = [("fields", ">i2")]
    for k in range(width):
        fields += [(f"len{k}", ">i4"), (f"c{k}", ">i8")]
    layout = np.dtype(fields)
    raw = (await conn.get_raw_connection()).driver_connection
    parts: list[list[Int64s]] = []
    pending = bytearray()
    seen_header = False

    async def consume(chunk: bytes) -> None:
        nonlocal seen_header
        pending.extend(chunk)
        if not seen_header:
            if len(pending) < COPY_HEADER:
                return
            del pending[:COPY_HEADER]
            seen_header = True
        whole = len(pending) // layout.itemsize * layout.itemsize
        if whole:
            records = np.frombuffer(bytes(pending[:whole]), dtype=layout)
            parts.append([records[f"c{k}"].astype(np.int64) for k in range(width)])
            del pending[:whole]

    args = [since] if since is not None else []
    await raw.copy_from_query(query, *args, output=consume, format="binary")  # type: ignore[union-attr]
    if len(pending) != COPY_TRAILER:
        raise RuntimeError(f"unexpected COPY stream tail of {len(pending)} bytes")
    return _columns(parts, width)


async def _fetch_chunks(
    conn: AsyncConnection, query: str, since: datetime | None, width: int
) -> list[Int64s]:
    """SQLite through the driver cursor: ORM rows would cost several times more per line."""
    driver = (await conn.get_raw_connection()).driver_connection
    params = (_sqlite_time(since),) if since is not None else ()
    cursor = await driver.execute(query, params)  # type: ignore[union-attr]
    parts: list[list[Int64s]] = []
    while rows := await cursor.fetchmany(FETCH_ROWS):
        block = np.array(rows, dtype=np.int64).reshape(-1, width)
        parts.append([block[:, k].copy() for k in range(width)])
    await cursor.close()
    return _columns(parts, width)


def _columns(parts: list[list[Int64s]], width: int) -> list[Int64s]:
    if not parts:
        return [np.empty(0, dtype=np.int64) for _ in range(width)]
    return [np.concatenate([part[k] for part in parts]) for k in range(width)]


def _sqlite_time(moment: datetime) -> str:
    """The text form SQLAlchemy stores SQLite datetimes in (naive UTC), so strings compare."""
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")

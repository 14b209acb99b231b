"""Stream (basket, product) id pairs out of the database into compact numpy arrays."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

SCOPES = ("order", "customer")
FETCH_ROWS = 100_000
DECODE_BYTES = 4 << 20
DENSE_ID_LIMIT = 50_000_000
# COPY BINARY of two non-null BIGINT columns: every tuple is exactly this layout.
TUPLE = np.dtype(
    [("fields", ">i2"), ("len_a", ">i4"), ("a", ">i8"), ("len_b", ">i4"), ("b", ">i8")]
)
COPY_HEADER = 19
COPY_TRAILER = 2


@dataclass(frozen=True)
class BasketLines:
    """One row per order line: which basket it falls into and which product it is."""

    basket_ids: NDArray[np.int64]
    product_ids: NDArray[np.int64]
    orders: int


def lines_query(
    scope: str, since: datetime | None, until: datetime | None = None, *, postgres: bool
) -> str:
    """(basket id, product id) per order line, orders placed in [since, until)."""
    cast = "::bigint" if postgres else ""
    if scope == "order" and since is None and until is None:
        # The common nightly case needs nothing from orders: skipping the join halves the read.
        return f"SELECT ol.order_id{cast}, ol.product_id{cast} FROM order_lines ol"
    # Orders without a customer stand alone in customer scope: a negative id keeps them apart.
    basket = "o.id" if scope == "order" else "COALESCE(o.customer_id, -o.id)"
    return (
        f"SELECT ({basket}){cast}, ol.product_id{cast} FROM order_lines ol "
        f"JOIN orders o ON o.id = ol.order_id{_window(since, until, postgres=postgres)}"
    )


def _window(since: datetime | None, until: datetime | None, *, postgres: bool) -> str:
    conditions: list[str] = []
    for name, stamp, operator in (("since", since, ">="), ("until", until, "<")):
        if stamp is not None:
            marker = f"${len(conditions) + 1}" if postgres else f":{name}"
            conditions.append(f"o.ordered_at {operator} {marker}")
    return " WHERE " + " AND ".join(conditions) if conditions else ""


async def read_lines(
    engine: AsyncEngine, scope: str, since: datetime | None, until: datetime | None = None
) -> BasketLines:
    async with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            baskets, products = await _copy_binary(conn, scope, since, until)
        else:
            baskets, products = await _fetch_chunks(conn, scope, since, until)
        orders = await _count_orders(conn, since, until)
    return BasketLines(baskets, products, orders)


async def _copy_binary(
    conn: AsyncConnection, scope: str, since: datetime | None, until: datetime | None
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """COPY ... TO STDOUT (FORMAT binary), decoded a few MiB at a time with a fixed dtype."""
    raw = (await conn.get_raw_connection()).driver_connection
    decoder = _CopyDecoder()
    query = lines_query(scope, since, until, postgres=True)
    args = [stamp for stamp in (since, until) if stamp is not None]
    await raw.copy_from_query(query, *args, output=decoder.feed, format="binary")  # type: ignore[union-attr]
    return decoder.finish()


class _CopyDecoder:
    """Turns the COPY byte stream into two int64 columns without a Python object per row.

    Network chunks are small; decoding them in batches of DECODE_BYTES keeps the numpy
    calls few, and the pending buffer bounded.
    """

    def __init__(self) -> None:
        self._pending = bytearray()
        self._header_skipped = False
        self._first: list[NDArray[np.int64]] = []
        self._second: list[NDArray[np.int64]] = []

    async def feed(self, chunk: bytes) -> None:
        self._pending += chunk
        if len(self._pending) >= DECODE_BYTES:
            self._decode()

    def finish(self) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        self._decode()
        if len(self._pending) != COPY_TRAILER:
            raise RuntimeError(f"unexpected COPY stream tail of {len(self._pending)} bytes")
        return _concat(self._first), _concat(self._second)

    def _decode(self) -> None:
        if not self._header_skipped:
            if len(self._pending) < COPY_HEADER:
                return
            del self._pending[:COPY_HEADER]
            self._header_skipped = True
        count = len(self._pending) // TUPLE.itemsize
        if count == 0:
            return
        records = np.frombuffer(self._pending, dtype=TUPLE, count=count)
        if not (records["fields"] == 2).all():
            raise RuntimeError("unexpected COPY tuple layout (expected two BIGINT columns)")
        self._first.append(records["a"].astype(np.int64))
        self._second.append(records["b"].astype(np.int64))
        del records  # release the view so the buffer may shrink
        del self._pending[: count * TUPLE.itemsize]


async def _fetch_chunks(
    conn: AsyncConnection, scope: str, since: datetime | None, until: datetime | None
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """SQLite: the driver cursor directly, since ORM row objects cost 7x more per line."""
    driver = (await conn.get_raw_connection()).driver_connection
    query = lines_query(scope, since, until, postgres=False)
    query = query.replace(":since", "?").replace(":until", "?")
    params = tuple(_sqlite_time(stamp) for stamp in (since, until) if stamp is not None)
    cursor = await driver.execute(query, params)  # type: ignore[union-attr]
    parts: list[NDArray[np.int64]] = []
    while rows := await cursor.fetchmany(FETCH_ROWS):
        parts.append(np.array(rows, dtype=np.int64).reshape(-1, 2))
    await cursor.close()
    pairs = np.concatenate(parts) if parts else np.empty((0, 2), dtype=np.int64)
    return pairs[:, 0].copy(), pairs[:, 1].copy()


async def _count_orders(
    conn: AsyncConnection, since: datetime | None, until: datetime | None
) -> int:
    postgres = conn.dialect.name == "postgresql"
    params = {
        name: stamp if postgres else _sqlite_time(stamp)
        for name, stamp in (("since", since), ("until", until))
        if stamp is not None
    }
    query = text(f"SELECT COUNT(*) FROM orders o{_window(since, until, postgres=False)}")
    return int(await conn.scalar(query, params) or 0)


def _sqlite_time(moment: datetime) -> str:
    """The text form SQLAlchemy stores SQLite datetimes in (naive UTC), so strings compare."""
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


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


def _concat(parts: list[NDArray[np.int64]]) -> NDArray[np.int64]:
    return np.concatenate(parts) if parts else np.empty(0, dtype=np.int64)

"""The order source reads the same lines, windows and counts from Postgres and SQLite."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from app.jobs.counting import basket_ids
from app.jobs.sources import compact_codes, read_history, read_lines
from app.mining.baskets import encode_baskets
from tests.integration.test_campaign import day, import_shop

# (order, customer, day, sku): a guest order on day 3, alice on days 0 and 7, bob on day 7.
ORDERS = [
    ("o1", "alice", 0, "x"),
    ("o1", "alice", 0, "y"),
    ("o2", "", 3, "z"),
    ("o3", "alice", 7, "x"),
    ("o4", "bob", 7, "y"),
    ("o4", "bob", 7, "z"),
]


def moment(n: int) -> datetime:
    return datetime.fromisoformat(day(n).replace("Z", "+00:00")).astimezone(UTC)


async def baskets(
    engine: AsyncEngine, scope: str, since: int | None, until: int | None = None
) -> tuple[list[int], int]:
    """How many lines each basket holds, in basket order, and the orders counted."""
    lines = await read_lines(
        engine,
        scope,
        None if since is None else moment(since),
        None if until is None else moment(until),
    )
    sizes: dict[int, int] = {}
    for basket in lines.basket_ids.tolist():
        sizes[basket] = sizes.get(basket, 0) + 1
    return [sizes[b] for b in sorted(sizes)], lines.orders


async def test_lines_follow_scope_and_window_alike_on_every_database(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    await import_shop(engine, tmp_path, [f"{o},{c},{day(n)},{s},1,10\n" for o, c, n, s in ORDERS])
    assert await baskets(engine, "order", None) == ([2, 1, 1, 2], 4)
    # Customer scope: alice's two orders form one basket, the guest order stands alone.
    assert sorted((await baskets(engine, "customer", None))[0]) == [1, 2, 3]
    assert await baskets(engine, "order", 3) == ([1, 1, 2], 3)  # since is inclusive
    assert await baskets(engine, "order", None, 7) == ([2, 1], 2)  # until is exclusive
    assert await baskets(engine, "order", 1, 7) == ([1], 1)


async def test_history_window_starts_at_since_on_every_database(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    await import_shop(engine, tmp_path, [f"{o},{c},{day(n)},{s},1,10\n" for o, c, n, s in ORDERS])
    everything = await read_history(engine, amounts=False)
    recent = await read_history(engine, moment(3))
    assert (everything.n_orders, len(everything.line_item)) == (4, 6)
    assert (recent.n_orders, len(recent.line_item)) == (3, 4)
    assert recent.line_amount.tolist() == [10.0] * 4
    assert not everything.line_amount.any()


async def test_the_rebuild_baskets_from_the_history_are_those_of_the_lines(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    """The rebuild reads the history once for rules and sections: its baskets must be the
    very matrix the basket lines give, guest orders and windows included."""
    await import_shop(engine, tmp_path, [f"{o},{c},{day(n)},{s},1,10\n" for o, c, n, s in ORDERS])
    for scope, since in (("order", None), ("customer", None), ("customer", 3), ("order", 3)):
        start = None if since is None else moment(since)
        lines = await read_lines(engine, scope, start)
        _, codes = compact_codes(lines.product_ids)
        expected = encode_baskets(lines.basket_ids, codes, int(codes.max()) + 1)
        history = await read_history(engine, start, amounts=False)
        found = encode_baskets(basket_ids(history, scope), history.line_item, history.n_items)
        assert found.toarray().tolist() == expected.toarray().tolist(), (scope, since)
        assert history.n_orders == lines.orders

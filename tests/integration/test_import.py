"""Import on Postgres and SQLite: all or nothing, idempotent, errors with line numbers."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.importing import bulk
from app.importing.catalog import import_products, import_upgrades
from app.importing.orders import BULK_TABLES, import_orders
from app.importing.rows import ImportRejected
from tests.schema import schema_differences

HEADER = "order_id,customer_id,ordered_at,sku,quantity,unit_price\n"
GOOD = HEADER + (
    "o1,c1,2026-02-13T10:00:00+00:00,roses-red-12,1,29.90\n"
    "o1,c1,2026-02-13T10:00:00+00:00,choc-truffles,2,12.90\n"
    "o2,,2026-02-14T09:30:00,roses-red-12,1,\n"
)


async def count(engine: AsyncEngine, table: str) -> int:
    async with engine.connect() as conn:
        return int(await conn.scalar(text(f"SELECT COUNT(*) FROM {table}")) or 0)


def write(tmp_path: Path, name: str, content: str) -> str:
    path = tmp_path / name
    path.write_text(content)
    return str(path)


async def test_import_orders_creates_orders_lines_customers_and_unknown_skus(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    summary = await import_orders(engine, write(tmp_path, "o.csv", GOOD))
    assert (summary.lines, summary.orders, summary.new_products) == (3, 2, 2)
    assert await count(engine, "orders") == 2
    assert await count(engine, "order_lines") == 3
    assert await count(engine, "customers") == 1


async def test_reimporting_the_same_orders_changes_nothing(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    source = write(tmp_path, "o.csv", GOOD)
    await import_orders(engine, source)
    await import_orders(engine, source)
    assert await count(engine, "orders") == 2
    assert await count(engine, "order_lines") == 3


@pytest.mark.parametrize(
    ("bad_line", "reason"),
    [
        ("o9,c1,not-a-date,roses-red-12,1,1", "line 3: bad ordered_at"),
        ("o9,c1,2026-01-01T00:00:00,,1,1", "line 3: empty sku"),
        ("o9,c1,2026-01-01T00:00:00,roses-red-12,-2,1", "line 3: quantity must be positive"),
        ("o9,c1,2026-01-01T00:00:00,roses-red-12,1,abc", "line 3: bad unit_price"),
        ("o9,c1,2026-01-01T00:00:00,roses-red-12,1", "line 3: expected 6 fields"),
        ("o9,c1,2026-01-01T00:00:00,roses|red,1,1", "line 3: sku must not contain '|'"),
        ('o9,c1,2026-01-01T00:00:00,"roses\tred",1,1', "line 3: sku contains control characters"),
    ],
)
async def test_a_bad_row_rejects_the_file_and_leaves_the_database_unchanged(
    engine: AsyncEngine, tmp_path: Path, bad_line: str, reason: str
) -> None:
    await import_orders(engine, write(tmp_path, "good.csv", GOOD))
    content = HEADER + "o8,c2,2026-03-01T10:00:00+00:00,vase,1,9\n" + bad_line + "\n"
    with pytest.raises(ImportRejected) as rejected:
        await import_orders(engine, write(tmp_path, "bad.csv", content))
    assert reason in str(rejected.value)
    assert await count(engine, "orders") == 2
    assert await count(engine, "order_lines") == 3
    assert await count(engine, "products") == 2


async def test_unknown_columns_are_reported_on_line_one(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    content = "order_id,customer_id,ordered_at,sku,quantity,unit_price,colour\n"
    with pytest.raises(ImportRejected, match=r"line 1: unknown column\(s\) 'colour'"):
        await import_orders(engine, write(tmp_path, "bad.csv", content))


async def test_lines_of_one_order_must_agree_on_customer_and_time(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    content = HEADER + (
        "o1,c1,2026-02-13T10:00:00+00:00,a,1,1\no1,c2,2026-02-13T10:00:00+00:00,b,1,1\n"
    )
    with pytest.raises(ImportRejected, match="line 3: order 'o1' disagrees with line 2"):
        await import_orders(engine, write(tmp_path, "bad.csv", content))
    assert await count(engine, "orders") == 0


async def test_gzip_files_import_like_plain_ones(engine: AsyncEngine, tmp_path: Path) -> None:
    import gzip

    path = tmp_path / "o.csv.gz"
    path.write_bytes(gzip.compress(GOOD.encode()))
    assert (await import_orders(engine, str(path))).lines == 3


async def test_products_upsert_by_sku_and_upgrades_need_known_skus(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    header = "sku,name,category,price,cost,in_stock\n"
    await import_products(
        engine, write(tmp_path, "p.csv", header + "tv-27,TV 27,tv,199,150,true\n")
    )
    await import_products(
        engine,
        write(
            tmp_path,
            "p.csv",
            header + "tv-27,TV 27 in,tv,189,150,false\ntv-32,TV 32,tv,249,190,yes\n",
        ),
    )
    assert await count(engine, "products") == 2
    async with engine.connect() as conn:
        row = (
            await conn.execute(text("SELECT name, in_stock FROM products WHERE sku='tv-27'"))
        ).one()
    assert (row.name, bool(row.in_stock)) == ("TV 27 in", False)
    upgrades = "from_sku,to_sku\ntv-27,tv-32\ntv-27,tv-99\n"
    with pytest.raises(ImportRejected, match="line 3: unknown to_sku 'tv-99'"):
        await import_upgrades(engine, write(tmp_path, "u.csv", upgrades))
    assert await count(engine, "item_upgrades") == 0


async def _foreign_keys(engine: AsyncEngine) -> list[tuple[str, bool]]:
    async with engine.connect() as conn:
        found = await conn.execute(
            text(
                "SELECT conname, convalidated FROM pg_constraint WHERE contype = 'f' "
                "AND conrelid IN ('orders'::regclass, 'order_lines'::regclass) ORDER BY 1"
            )
        )
        return [(name, bool(valid)) for name, valid in found]


async def test_a_first_import_builds_the_indexes_and_keys_after_the_rows(
    pg_engine: AsyncEngine, tmp_path: Path
) -> None:
    before = await _foreign_keys(pg_engine)
    await import_orders(pg_engine, write(tmp_path, "o.csv", GOOD))
    assert await count(pg_engine, "order_lines") == 3
    assert await schema_differences(pg_engine) == []
    assert await _foreign_keys(pg_engine) == before
    assert all(valid for _, valid in before) and len(before) == 3
    # The next import goes through the indexes again and replaces the order's lines.
    again = HEADER + "o1,c1,2026-02-13T10:00:00+00:00,vase,1,9\n"
    await import_orders(pg_engine, write(tmp_path, "again.csv", again))
    assert await count(pg_engine, "order_lines") == 2


async def test_indexes_set_aside_come_back_when_the_import_fails(pg_engine: AsyncEngine) -> None:
    with pytest.raises(RuntimeError):
        async with pg_engine.begin() as conn:
            restore = await bulk.set_aside(conn, BULK_TABLES)
            assert len(restore) == 7  # 4 indexes, 3 foreign keys
            raise RuntimeError("the merge failed")
    assert await schema_differences(pg_engine) == []

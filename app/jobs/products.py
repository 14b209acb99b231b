"""Read the product facts the API needs (names, prices, stock, upgrade paths)."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.published.snapshot import ProductFacts


async def read_catalog(engine: AsyncEngine) -> dict[int, ProductFacts]:
    """Products by database id, each with its declared upgrade targets."""
    async with engine.connect() as conn:
        upgrade_rows = await conn.execute(
            text(
                "SELECT u.from_product_id, p.sku FROM item_upgrades u "
                "JOIN products p ON p.id = u.to_product_id ORDER BY p.price, p.sku"
            )
        )
        upgrades: dict[int, list[str]] = defaultdict(list)
        for source, target in upgrade_rows:
            upgrades[int(source)].append(str(target))
        product_rows = await conn.execute(
            text("SELECT id, sku, name, category, price, cost, active, in_stock FROM products")
        )
        return {
            int(row.id): ProductFacts(
                sku=row.sku,
                name=row.name,
                category=row.category or "",
                price=_number(row.price),
                cost=_number(row.cost),
                active=bool(row.active),
                in_stock=bool(row.in_stock),
                upgrades=tuple(upgrades.get(int(row.id), ())),
            )
            for row in product_rows
        }


def _number(value: object) -> float | None:
    return None if value is None else float(str(value))

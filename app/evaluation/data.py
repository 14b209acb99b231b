"""Read one split of the order history: baskets before a date to learn from, after it to test."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
from sqlalchemy.ext.asyncio import AsyncEngine

from app.jobs.products import read_catalog
from app.jobs.sources import BasketLines, compact_codes, read_lines
from app.mining.baskets import BasketMatrix, encode_baskets
from app.published.snapshot import ProductFacts


@dataclass(frozen=True)
class Split:
    """Training baskets as a matrix (columns named by `skus`), held-out baskets as SKU lists."""

    matrix: BasketMatrix
    skus: list[str]
    catalog: dict[str, ProductFacts]
    train_orders: int
    test_orders: int
    test_baskets: list[list[str]]


async def read_split(engine: AsyncEngine, split_at: datetime) -> Split:
    """Orders placed before `split_at` train; orders placed at or after it are the test."""
    catalog_by_id = await read_catalog(engine)
    train = await read_lines(engine, "order", None, until=split_at)
    test = await read_lines(engine, "order", split_at)
    product_ids, codes = compact_codes(train.product_ids)
    skus = [catalog_by_id[pid].sku for pid in product_ids.tolist()]
    return Split(
        matrix=encode_baskets(train.basket_ids, codes, len(skus)),
        skus=skus,
        catalog={facts.sku: facts for facts in catalog_by_id.values()},
        train_orders=train.orders,
        test_orders=test.orders,
        test_baskets=_baskets(test, {pid: facts.sku for pid, facts in catalog_by_id.items()}),
    )


def _baskets(lines: BasketLines, sku_of: dict[int, str]) -> list[list[str]]:
    if len(lines.basket_ids) == 0:
        return []
    order = np.argsort(lines.basket_ids, kind="stable")
    baskets, products = lines.basket_ids[order], lines.product_ids[order]
    bounds = np.flatnonzero(baskets[1:] != baskets[:-1]) + 1
    return [[sku_of[pid] for pid in group.tolist()] for group in np.split(products, bounds)]

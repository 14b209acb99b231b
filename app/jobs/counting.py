"""The seam between reading orders and mining: an engine counts, the miner takes the counts.

An engine reads the order lines of the run's window, groups them into baskets by scope
and hands back what the miner needs: the itemset counts at the run's thresholds and the
co-counts of the most bought items for their weights. The default engine does it here,
in process with numpy; the Spark engine (app.jobs.spark_counts) in Spark; app.jobs.engines
picks one. Both number items the same way (by product id), so the rules that follow are
the same, tie for tie.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from sqlalchemy.ext.asyncio import AsyncEngine

from app.analytics.history import GUEST, History
from app.jobs.sources import read_history
from app.mining.baskets import encode_baskets
from app.mining.item_weights import MAX_ITEMS, co_counts, weighted_items
from app.mining.itemsets import ItemsetCounts, count_itemsets
from app.mining.thresholds import Thresholds

ENGINES = ("numpy", "spark")
SPARK_MASTER = "local[*]"
JDBC_JAR = Path("/usr/share/java/postgresql.jar")  # Debian's libpostgresql-jdbc-java
ThresholdsFor = Callable[[int], Thresholds]  # the run's thresholds, given its basket count


@dataclass(frozen=True)
class EngineChoice:
    """Which engine counts, and for Spark where it runs and where it reads the orders."""

    name: str = "numpy"
    spark_master: str = SPARK_MASTER
    parquet_dir: Path | None = None  # a `cartlift export orders` directory instead of JDBC
    jdbc_jar: Path = JDBC_JAR

    def __post_init__(self) -> None:
        if self.name not in ENGINES:
            raise ValueError(f"engine must be one of {', '.join(ENGINES)}, got {self.name!r}")
        if self.parquet_dir is not None and self.name != "spark":
            raise ValueError("a Parquet export is read by the spark engine only")


@dataclass(frozen=True)
class CoCounts:
    """X'X over the most bought items (ascending codes): what their EASE weights need."""

    items: NDArray[np.intp]
    gram: NDArray[np.float64]


@dataclass(frozen=True)
class Counted:
    """What an engine hands the miner, and the figures of the run it read."""

    orders: int
    skus: list[str]  # sku per item code
    thresholds: Thresholds
    itemsets: ItemsetCounts
    co_counts: CoCounts | None  # None when item weights are off
    history: History | None = None  # the orders read, handed to the sections (None: re-read)
    timings: dict[str, float] = field(default_factory=dict)


async def count_in_process(
    engine: AsyncEngine,
    scope: str,
    since: datetime | None,
    thresholds_for: ThresholdsFor,
    weights: bool,
) -> Counted:
    """The default engine: one read of the orders, numpy counting over a basket matrix.

    One read serves the rules (lines grouped into baskets) and the sections (customers
    and dates), instead of each reading the orders again.
    """
    clock = time.perf_counter()
    history = await read_history(engine, since, amounts=False)
    matrix = encode_baskets(basket_ids(history, scope), history.line_item, history.n_items)
    read_s = time.perf_counter() - clock
    clock = time.perf_counter()
    thresholds = thresholds_for(max(matrix.shape[0], 1))
    itemsets = count_itemsets(matrix, thresholds.min_count, thresholds.max_antecedent + 1)
    top = weighted_items(itemsets.item_count, MAX_ITEMS) if weights else None
    gram = None if top is None else CoCounts(top, co_counts(matrix, top))
    return Counted(
        orders=history.n_orders,
        skus=list(history.skus),
        thresholds=thresholds,
        itemsets=itemsets,
        co_counts=gram,
        history=history,
        timings={"read_s": read_s, "count_s": time.perf_counter() - clock},
    )


def basket_ids(history: History, scope: str) -> NDArray[np.int64]:
    """Order scope: the order (orders are numbered in id order). Customer scope: the
    customer, and a guest order on its own under a negative number, as in the database."""
    if scope == "order":
        return history.line_order
    customer = history.order_customer[history.line_order]
    guest: NDArray[np.int64] = -(history.line_order + 1)
    return np.where(customer == GUEST, guest, customer)

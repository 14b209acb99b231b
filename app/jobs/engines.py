"""Pick the engine that counts a rebuild's baskets: numpy in this process, or Spark."""

from __future__ import annotations

import asyncio
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from app.jobs.counting import Counted, EngineChoice, ThresholdsFor, count_in_process


async def count_orders(
    engine: AsyncEngine,
    choice: EngineChoice,
    scope: str,
    since: datetime | None,
    thresholds_for: ThresholdsFor,
    weights: bool,
    sku_of: dict[int, str],
) -> Counted:
    """The counts of the orders placed since `since` by the chosen engine."""
    if choice.name == "spark":
        from app.jobs import spark_counts  # pyspark is an optional extra

        job = spark_counts.SparkJob(choice, engine.url, scope, since, sku_of)
        return await asyncio.to_thread(job.count, thresholds_for, weights)
    return await count_in_process(engine, scope, since, thresholds_for, weights)

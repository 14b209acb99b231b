"""The holdout experiment's headline for the overview, read from the database and kept a while.

Reading every exposure and purchase costs seconds on a shop with months of events, and the
overview must render in well under a second: each process keeps the last report for
EXPERIMENT_SECONDS and builds it once, however many pages ask at the same moment. The
statistics load on first use, so a worker whose console is never opened never pays for them.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db.models import Exposure

if TYPE_CHECKING:
    from app.events.report import ExperimentReport

EXPERIMENT_SECONDS = 60.0
ARMS = ("treatment", "control")


class ExperimentCache:
    def __init__(self, keep_seconds: float = EXPERIMENT_SECONDS) -> None:
        self.keep_seconds = keep_seconds
        self._held: tuple[float, ExperimentReport | None] | None = None
        self._building = asyncio.Lock()

    async def get(
        self, engine: AsyncEngine, holdout_percent: float, attribution_hours: float
    ) -> ExperimentReport | None:
        """The report, or None while no answer to a unit of either arm was drained."""
        async with self._building:
            if self._held is None or time.monotonic() - self._held[0] > self.keep_seconds:
                found = await _read(engine, holdout_percent, attribution_hours)
                self._held = (time.monotonic(), found)
            return self._held[1]

    def forget(self) -> None:
        self._held = None


async def _read(
    engine: AsyncEngine, holdout_percent: float, attribution_hours: float
) -> ExperimentReport | None:
    async with engine.connect() as conn:
        first = await conn.scalar(select(Exposure.request_id).where(Exposure.variant.in_(ARMS)))
    if first is None:
        return None
    from app.events.experiment import read_experiment

    return await read_experiment(engine, holdout_percent, attribution_hours)

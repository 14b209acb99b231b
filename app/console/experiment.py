"""The holdout experiment's headline for the overview, read from the database and kept a while.

Reading every exposure and purchase takes seconds on a shop with months of events, and the
overview must render at once. Each process keeps the last report: past EXPERIMENT_SECONDS a
page still gets it while a background task reads the new one, and the first page of a
process waits at most FIRST_WAIT_SECONDS before it says the figures are on their way. The
statistics load on first use, so a worker whose console is never opened never pays for them.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db.models import Exposure
from app.logs import get_logger

if TYPE_CHECKING:
    from app.events.report import ExperimentReport

log = get_logger(__name__)
EXPERIMENT_SECONDS = 60.0
FIRST_WAIT_SECONDS = 2.0
ARMS = ("treatment", "control")


@dataclass(frozen=True)
class ExperimentView:
    """What the overview shows: the report (None: no experiment yet), or that it is coming."""

    report: ExperimentReport | None
    pending: bool = False


class ExperimentCache:
    def __init__(self, keep_seconds: float = EXPERIMENT_SECONDS) -> None:
        self.keep_seconds = keep_seconds
        self._held: tuple[float, ExperimentReport | None] | None = None
        self._reading: asyncio.Task[None] | None = None

    async def get(
        self, engine: AsyncEngine, holdout_percent: float, attribution_hours: float
    ) -> ExperimentView:
        held = self._held
        if held is not None and time.monotonic() - held[0] <= self.keep_seconds:
            return ExperimentView(held[1])
        if self._reading is None or self._reading.done():
            self._reading = asyncio.create_task(
                self._read(engine, holdout_percent, attribution_hours)
            )
        if held is not None:  # a minute old: show it, the new one is on its way
            return ExperimentView(held[1])
        await asyncio.wait({self._reading}, timeout=FIRST_WAIT_SECONDS)
        if not self._reading.done():
            return ExperimentView(None, pending=True)
        self._reading.result()  # a first read that failed fails the page, as before
        return ExperimentView(self.held_report())

    async def _read(
        self, engine: AsyncEngine, holdout_percent: float, attribution_hours: float
    ) -> None:
        try:
            found = await _read(engine, holdout_percent, attribution_hours)
        except Exception:
            if self._held is None:
                raise
            log.exception("console_experiment_read_failed")  # the older figures stay
            return
        # "No experiment yet" is one cheap query: asked again on every page, so the figures
        # show as soon as the first exposures are drained.
        self._held = (time.monotonic(), found) if found is not None else None

    def held_report(self) -> ExperimentReport | None:
        return self._held[1] if self._held else None

    async def close(self) -> None:
        if self._reading is not None:
            self._reading.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reading


async def _read(
    engine: AsyncEngine, holdout_percent: float, attribution_hours: float
) -> ExperimentReport | None:
    async with engine.connect() as conn:
        first = await conn.scalar(select(Exposure.request_id).where(Exposure.variant.in_(ARMS)))
    if first is None:
        return None
    from app.events.experiment import read_experiment

    return await read_experiment(engine, holdout_percent, attribution_hours)

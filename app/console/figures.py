"""What the overview shows: the live version, the versions held, recent builds, headline figures."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from app import metrics
from app.db.models import RuleBuild
from app.serving.reader import LoadedVersion

RECENT_BUILDS = 10
ENDPOINT = "recommend"


@dataclass(frozen=True)
class Live:
    version: int
    built_at: datetime | None
    age_seconds: float
    rules: int | None
    engine: str | None

    @classmethod
    def of(cls, loaded: LoadedVersion) -> Live:
        stamp = loaded.meta.get("built_at")
        rules = loaded.meta.get("rules")
        engine = loaded.meta.get("engine")
        return cls(
            loaded.version,
            datetime.fromisoformat(stamp) if stamp else None,
            max(0.0, time.time() - loaded.built_at),
            int(rules) if rules is not None else None,
            str(engine) if engine else None,
        )


@dataclass(frozen=True)
class BuildRow:
    id: int
    started_at: datetime
    status: str
    version: int | None
    orders: int
    rules: int
    seconds: float | None
    engine: str | None
    error: str | None


@dataclass(frozen=True)
class Headline:
    requests: int
    fallback: int
    empty: int

    @property
    def fallback_share(self) -> float | None:
        return self.fallback / self.requests if self.requests else None

    @property
    def empty_share(self) -> float | None:
        return self.empty / self.requests if self.requests else None


async def recent_builds(engine: AsyncEngine, limit: int = RECENT_BUILDS) -> list[BuildRow]:
    async with engine.connect() as conn:
        result = await conn.execute(select(RuleBuild).order_by(RuleBuild.id.desc()).limit(limit))
        return [_build_row(row) for row in result.all()]


def _build_row(row: Any) -> BuildRow:
    seconds = (row.finished_at - row.started_at).total_seconds() if row.finished_at else None
    engine = (row.parameters or {}).get("engine") or (row.timings or {}).get("engine")
    return BuildRow(
        id=row.id,
        started_at=row.started_at,
        status=row.status,
        version=row.version,
        orders=row.orders_read,
        rules=row.rules,
        seconds=seconds,
        engine=str(engine) if engine else None,
        error=row.error,
    )


def headline() -> Headline:
    """/recommend answers since the service started, from its own Prometheus counters."""
    answers = [
        (labels["strategy"], value)
        for labels, value in metrics.counter_totals(metrics.STRATEGY)
        if labels.get("endpoint") == ENDPOINT
    ]
    empty = sum(
        value
        for labels, value in metrics.counter_totals(metrics.EMPTY_ANSWERS)
        if labels.get("endpoint") == ENDPOINT
    )
    return Headline(
        requests=int(sum(value for _, value in answers)),
        fallback=int(sum(value for strategy, value in answers if strategy == "popular")),
        empty=int(empty),
    )

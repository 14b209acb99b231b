"""Record every rebuild run in rule_builds, whatever its outcome."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, update
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db.models import RuleBuild
from app.jobs.outcome import RebuildResult


async def start(engine: AsyncEngine, parameters: dict[str, Any]) -> int:
    """Open a run; runs still marked running were killed (the caller holds the lock)."""
    async with engine.begin() as conn:
        await conn.execute(
            update(RuleBuild)
            .where(RuleBuild.status == "running")
            .values(status="abandoned", error="the process stopped before finishing")
        )
        result = await conn.execute(
            insert(RuleBuild)
            .values(started_at=datetime.now(UTC), status="running", parameters=parameters)
            .returning(RuleBuild.id)
        )
        return int(result.scalar_one())


async def finish(engine: AsyncEngine, build_id: int, result: RebuildResult) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            update(RuleBuild)
            .where(RuleBuild.id == build_id)
            .values(
                finished_at=datetime.now(UTC),
                status=result.code.name.lower(),
                version=result.version,
                orders_read=result.orders,
                rules=result.rules,
                checksum=result.checksum,
                timings=result.timings,
                error=None if result.code == 0 else result.message,
            )
        )

"""One rebuild at a time: a Postgres advisory lock, or an exclusive file lock on SQLite."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncEngine

from app.db.locks import LockHeld, exclusive

__all__ = ["ADVISORY_KEY", "LockHeld", "rebuild_lock"]

# An arbitrary constant that names "the cartlift rebuild" among advisory locks.
ADVISORY_KEY = 0x0CA2_71F7


@asynccontextmanager
async def rebuild_lock(engine: AsyncEngine) -> AsyncIterator[None]:
    async with exclusive(engine, ADVISORY_KEY, "rebuild", wait=False):
        yield

"""One rebuild at a time: a Postgres advisory lock, or an exclusive file lock on SQLite."""

from __future__ import annotations

import fcntl
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

# An arbitrary constant that names "the cartlift rebuild" among advisory locks.
ADVISORY_KEY = 0x0CA2_71F7


class LockHeld(Exception):
    """Another rebuild is running."""


@asynccontextmanager
async def rebuild_lock(engine: AsyncEngine) -> AsyncIterator[None]:
    if engine.dialect.name == "postgresql":
        async with _advisory(engine):
            yield
    else:
        with _file_lock(_lock_path(engine)):
            yield


@asynccontextmanager
async def _advisory(engine: AsyncEngine) -> AsyncIterator[None]:
    # The lock lives as long as this session: a killed job releases it with its connection.
    async with engine.connect() as conn:
        got = await conn.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": ADVISORY_KEY})
        await conn.commit()
        if not got:
            raise LockHeld("another rebuild holds the lock")
        try:
            yield
        finally:
            await conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_KEY})
            await conn.commit()


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise LockHeld("another rebuild holds the lock") from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _lock_path(engine: AsyncEngine) -> Path:
    database = make_url(str(engine.url)).database or "cartlift"
    return Path(f"{database}.rebuild.lock")

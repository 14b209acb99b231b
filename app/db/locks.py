"""Cross-process exclusive locks next to the database: Postgres advisory locks, else a file lock.

Both are tied to what dies with their holder (its database session, its open file), so a
killed process never leaves a lock behind and no lease has to be renewed.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine


class LockHeld(Exception):
    """Another process holds the lock."""


@asynccontextmanager
async def exclusive(engine: AsyncEngine, key: int, name: str, wait: bool) -> AsyncIterator[None]:
    """Hold lock `key` (Postgres) or `<database>.<name>.lock` (SQLite) for the block.

    Without `wait`, raises LockHeld at once when another process holds it.
    """
    database = make_url(str(engine.url)).database
    if engine.dialect.name == "postgresql":
        async with _advisory(engine, key, name, wait):
            yield
    elif database and database != ":memory:":
        async with _file_lock(Path(f"{database}.{name}.lock"), name, wait):
            yield
    else:  # a database in this process's memory: no other process can reach it
        yield


@asynccontextmanager
async def _advisory(engine: AsyncEngine, key: int, name: str, wait: bool) -> AsyncIterator[None]:
    # The lock lives as long as this session: a killed holder releases it with its connection.
    async with engine.connect() as conn:
        if wait:
            await conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": key})
        else:
            got = await conn.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": key})
            if not got:
                await conn.commit()
                raise LockHeld(f"another {name} holds the lock")
        await conn.commit()
        try:
            yield
        finally:
            await conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
            await conn.commit()


@asynccontextmanager
async def _file_lock(path: Path, name: str, wait: bool) -> AsyncIterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)  # closing it releases the lock
    try:
        if wait:
            await asyncio.to_thread(fcntl.flock, fd, fcntl.LOCK_EX)
        else:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise LockHeld(f"another {name} holds the lock") from None
        yield
    finally:
        os.close(fd)

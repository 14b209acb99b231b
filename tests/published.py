"""A demo shop in SQLite whose rules are published to a file store, for in-process app tests."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db.engine import make_engine
from app.demo.shop import DemoFiles
from app.jobs.rebuild import ExitCode, RebuildOptions, rebuild
from app.store.file_store import FileRuleStore
from app.store.redis_store import RedisRuleStore
from tests.conftest import _truncate, fresh_redis, import_demo


@dataclass(frozen=True)
class PublishedShop:
    database_url: str
    snapshot_dir: Path

    async def publish(self) -> int:
        """Run the nightly rebuild once more; returns the new version."""
        engine = make_engine(self.database_url)
        try:
            result = await rebuild(engine, FileRuleStore(self.snapshot_dir), RebuildOptions())
        finally:
            await engine.dispose()
        assert result.code is ExitCode.PUBLISHED and result.version, result.message
        return result.version


async def publish_demo_shop(root: Path, template: Path, files: DemoFiles) -> PublishedShop:
    """Copy the migrated SQLite template into root, import the demo, publish version 1."""
    shutil.copy(template, root / "cartlift.db")
    shop = PublishedShop(f"sqlite+aiosqlite:///{root / 'cartlift.db'}", root / "rules")
    engine = make_engine(shop.database_url)
    try:
        await import_demo(engine, files)
    finally:
        await engine.dispose()
    await shop.publish()
    return shop


@asynccontextmanager
async def demo_on_redis(
    postgres_url: str, files: DemoFiles
) -> AsyncIterator[tuple[AsyncEngine, Redis, int]]:
    """The demo shop imported into Postgres and published to the test Redis db once; the
    tables are emptied again afterwards."""
    engine = make_engine(postgres_url)
    await _truncate(engine)
    await import_demo(engine, files)
    try:
        async with fresh_redis() as client:
            result = await rebuild(engine, RedisRuleStore(client), RebuildOptions(min_count=5))
            assert result.code is ExitCode.PUBLISHED and result.version, result.message
            yield engine, client, result.version
    finally:
        await _truncate(engine)
        await engine.dispose()

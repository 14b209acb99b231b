"""A demo shop in SQLite whose rules are published to a file store, for in-process app tests."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from app.db.engine import make_engine
from app.demo.shop import DemoFiles
from app.jobs.rebuild import ExitCode, RebuildOptions, rebuild
from app.store.file_store import FileRuleStore
from tests.conftest import import_demo


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

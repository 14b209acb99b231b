"""The nightly rebuild end to end on real databases and stores: publish, guards, lock, audit."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.demo.shop import DemoFiles
from app.jobs.lock import rebuild_lock
from app.jobs.rebuild import ExitCode, RebuildOptions, rebuild
from app.published import keys, snapshot
from app.store.base import RuleStore
from tests.conftest import import_demo

OPTIONS = RebuildOptions(min_count=5)


async def test_rebuild_publishes_rules_catalog_and_popular(
    engine: AsyncEngine, store: RuleStore, demo_files: DemoFiles
) -> None:
    await import_demo(engine, demo_files)
    result = await rebuild(engine, store, OPTIONS)
    assert result.code is ExitCode.PUBLISHED, result.message
    assert result.orders == demo_files.n_orders and result.rules > 0
    version = await store.current_version()
    assert version is not None and version == result.version
    meta, catalog, popular, roses = await store.fetch(
        version, [keys.META, keys.CATALOG, keys.POPULAR, keys.item_rules("roses-red-12")]
    )
    assert meta and catalog and popular and roses
    assert snapshot.decode_meta(meta)["rules"] == result.rules
    assert "tv-32" in snapshot.decode_catalog(catalog)["tv-27"].upgrades
    consequents = [hit.consequent for hit in snapshot.decode_rules(roses)]
    assert any(sku.startswith("choc-") for sku in consequents[:5])


async def test_rebuilding_unchanged_data_gives_the_same_checksum(
    engine: AsyncEngine, store: RuleStore, demo_files: DemoFiles
) -> None:
    await import_demo(engine, demo_files)
    first = await rebuild(engine, store, OPTIONS)
    second = await rebuild(engine, store, OPTIONS)
    assert first.checksum == second.checksum
    assert second.version == (first.version or 0) + 1


async def test_an_empty_database_is_refused_and_recorded(
    engine: AsyncEngine, store: RuleStore
) -> None:
    result = await rebuild(engine, store, OPTIONS)
    assert result.code is ExitCode.REFUSED
    assert "no orders" in result.message
    assert await store.current_version() is None
    async with engine.connect() as conn:
        status = await conn.scalar(text("SELECT status FROM rule_builds"))
    assert status == "refused"


async def test_a_sharply_shrunk_rule_set_is_refused_unless_forced(
    engine: AsyncEngine, store: RuleStore, demo_files: DemoFiles
) -> None:
    await import_demo(engine, demo_files)
    published = await rebuild(engine, store, OPTIONS)
    strict = RebuildOptions(min_count=5, min_confidence=Decimal("0.9"))
    refused = await rebuild(engine, store, strict)
    assert refused.code is ExitCode.REFUSED
    assert await store.current_version() == published.version
    forced = await rebuild(
        engine, store, RebuildOptions(min_count=5, min_confidence=Decimal("0.9"), force=True)
    )
    assert forced.code is ExitCode.PUBLISHED


async def test_a_second_rebuild_while_one_holds_the_lock_exits_75(
    engine: AsyncEngine, store: RuleStore, demo_files: DemoFiles
) -> None:
    await import_demo(engine, demo_files)
    async with rebuild_lock(engine):
        result = await rebuild(engine, store, OPTIONS)
    assert result.code is ExitCode.LOCKED
    assert await store.current_version() is None


async def test_customer_scope_treats_everything_a_customer_bought_as_one_basket(
    engine: AsyncEngine, store: RuleStore, demo_files: DemoFiles
) -> None:
    await import_demo(engine, demo_files)
    result = await rebuild(engine, store, RebuildOptions(scope="customer", min_count=5))
    assert result.code is ExitCode.PUBLISHED
    assert result.baskets <= 1_000 < result.orders


def test_unknown_scope_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="scope must be one of order, customer"):
        RebuildOptions(scope="session")

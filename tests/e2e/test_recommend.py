"""POST /recommend over HTTP against the demo shop published to real Redis: what it answers."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db.engine import make_engine
from app.demo.shop import DemoFiles
from app.jobs.rebuild import ExitCode, RebuildOptions, rebuild
from app.main import create_app
from app.published import keys, snapshot
from app.published.snapshot import ProductFacts, RuleHit, WeightEntry
from app.store.redis_store import RedisRuleStore, job_client
from tests.conftest import REDIS_URL, _truncate, fresh_redis, import_demo, serving, settings_for

OPTIONS = RebuildOptions(min_count=5)


@dataclass
class Shop:
    """The demo shop in Postgres, published to the test Redis db, and what was published."""

    engine: AsyncEngine
    database_url: str
    catalog: dict[str, ProductFacts]

    async def publish(self, redis_url: str = REDIS_URL, options: RebuildOptions = OPTIONS) -> int:
        client = job_client(redis_url)
        try:
            result = await rebuild(self.engine, RedisRuleStore(client), options)
        finally:
            await client.aclose()
        assert result.code is ExitCode.PUBLISHED and result.version, result.message
        return result.version

    async def rules(self, *skus: str) -> list[RuleHit]:
        """The published rules of one antecedent (one item, or a pair)."""
        name = keys.item_rules(skus[0]) if len(skus) == 1 else keys.pair_rules(*skus)
        return snapshot.decode_rules(raw) if (raw := await self.entry(name)) else []

    async def weights(self, sku: str) -> WeightEntry:
        """The published item weights of one item."""
        return (
            snapshot.decode_weights(raw)
            if (raw := await self.entry(keys.item_weights(sku)))
            else {}
        )

    async def entry(self, name: str) -> bytes | None:
        client = job_client(REDIS_URL)
        try:
            store = RedisRuleStore(client)
            version = await store.current_version()
            assert version is not None
            [raw] = await store.fetch(version, [name])
        finally:
            await client.aclose()
        return raw

    @asynccontextmanager
    async def rules_only(self) -> AsyncIterator[None]:
        """A version without item weights while the block runs: fallbacks show without them."""
        await self.publish(options=replace(OPTIONS, item_weights=False))
        try:
            yield
        finally:
            await self.publish()

    @asynccontextmanager
    async def app(
        self, tmp_path: Path, redis_url: str | None = REDIS_URL, **settings: Any
    ) -> AsyncIterator[httpx.AsyncClient]:
        config = settings_for(self.database_url, redis_url, tmp_path, **settings)
        async with serving(create_app(config)) as client:
            yield client


@asynccontextmanager
async def demo_shop(postgres_url: str, demo_files: DemoFiles) -> AsyncIterator[Shop]:
    """Imported into a clean database and published to a flushed Redis db; cleaned after."""
    engine = make_engine(postgres_url)
    await _truncate(engine)
    await import_demo(engine, demo_files)
    async with fresh_redis() as client:
        demo = Shop(engine, postgres_url, {})
        version = await demo.publish()
        [raw] = await RedisRuleStore(client).fetch(version, [keys.CATALOG])
        assert raw is not None
        demo.catalog = snapshot.decode_catalog(raw)
        yield demo
    await _truncate(engine)
    await engine.dispose()


@pytest.fixture(scope="module")
async def shop(postgres_url: str, demo_files: DemoFiles) -> AsyncIterator[Shop]:
    async with demo_shop(postgres_url, demo_files) as published:
        yield published


def cart(*skus: str, **extra: Any) -> dict[str, Any]:
    return {"cart": [{"sku": sku, "quantity": 1} for sku in skus], **extra}


def answered(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def skus(response: httpx.Response) -> list[str]:
    return [item["sku"] for item in answered(response)["items"]]


async def test_roses_get_their_co_purchases_with_the_evidence(shop: Shop, tmp_path: Path) -> None:
    async with shop.app(tmp_path) as client:
        body = answered(await client.post("/recommend", json=cart("roses-red-12", limit=3)))
    published = {hit.consequent: hit for hit in await shop.rules("roses-red-12")}
    weights = await shop.weights("roses-red-12")
    assert body["strategy"] == "rules" and len(body["items"]) == 3
    assert body["request_id"] and body["model_version"] >= 1
    for item in body["items"]:
        if item["kind"] == "upsell":
            continue
        assert item["because"] == ["roses-red-12"]
        assert item["weight"] == weights.get(item["sku"])
        if item["confidence"] is None:  # found by its weight alone
            assert item["weight"] > 0 and item["sku"] not in published
            continue
        rule = published[item["sku"]]
        assert (item["confidence"], item["lift"], item["support"]) == (
            rule.confidence,
            rule.lift,
            rule.support,
        )
        assert item["name"] == shop.catalog[item["sku"]].name
        assert item["price"] == shop.catalog[item["sku"]].price


async def test_recommend_never_returns_cart_or_excluded_items(shop: Shop, tmp_path: Path) -> None:
    async with shop.app(tmp_path) as client:
        first = skus(await client.post("/recommend", json=cart("roses-red-12", limit=5)))
        excluded = first[:2]
        again = await client.post(
            "/recommend", json=cart("roses-red-12", "card-love", limit=5, exclude=excluded)
        )
    assert not {"roses-red-12", "card-love", *excluded} & set(skus(again))


async def test_items_above_max_price_are_never_offered(shop: Shop, tmp_path: Path) -> None:
    async with shop.app(tmp_path) as client:
        answer = await client.post("/recommend", json=cart("tv-27", limit=10, max_price=15.0))
    offered = skus(answer)
    assert offered and all((shop.catalog[sku].price or 0) <= 15.0 for sku in offered)


async def test_max_per_category_spreads_the_top_without_shortening_the_answer(
    shop: Shop, tmp_path: Path
) -> None:
    async with shop.app(tmp_path) as default, shop.app(tmp_path, max_per_category=1) as strict:
        loose = await default.post("/recommend", json=cart("roses-red-12", limit=20))
        tight = await strict.post("/recommend", json=cart("roses-red-12", limit=20))
    kinds = [[item["kind"] for item in answered(body)["items"]] for body in (loose, tight)]
    assert kinds[0] == kinds[1] and len(kinds[0]) == 20
    top = Counter(shop.catalog[sku].category for sku in skus(tight)[:3])
    assert max(top.values()) == 1


async def test_pair_rules_take_part_and_name_both_cart_items(shop: Shop, tmp_path: Path) -> None:
    pair = await shop.rules("card-love", "roses-red-12")
    assert pair, "the demo must hold rules for roses bought with a love card"
    async with shop.app(tmp_path) as client:
        body = answered(
            await client.post("/recommend", json=cart("roses-red-12", "card-love", limit=5))
        )
    becauses = [item["because"] for item in body["items"]]
    assert ["card-love", "roses-red-12"] in becauses


async def test_rank_by_expected_revenue_orders_by_confidence_times_price(
    shop: Shop, tmp_path: Path
) -> None:
    request = cart("roses-red-12", limit=4, include_upsell=False, rank_by="expected_revenue")
    async with shop.app(tmp_path) as client:
        body = answered(await client.post("/recommend", json=request))
    scores = [item["score"] for item in body["items"]]
    assert scores == sorted(scores, reverse=True)
    for item in body["items"]:
        assert item["score"] == pytest.approx(item["confidence"] * item["price"], abs=1e-6)


async def test_a_27_inch_tv_is_upsold_to_the_32_inch_never_offered_as_an_add_on(
    shop: Shop, tmp_path: Path
) -> None:
    async with shop.app(tmp_path) as client:
        upsold = answered(await client.post("/recommend", json=cart("tv-27", limit=3)))
        plain = skus(
            await client.post("/recommend", json=cart("tv-27", limit=50, include_upsell=False))
        )
    first = upsold["items"][0]
    assert (first["sku"], first["kind"], first["because"]) == ("tv-32", "upsell", ["tv-27"])
    assert [item["sku"] for item in upsold["items"]].count("tv-32") == 1
    assert not {"tv-32", "tv-43"} & set(plain)


async def test_an_empty_cart_gets_popular_items(shop: Shop, tmp_path: Path) -> None:
    async with shop.app(tmp_path) as client:
        body = answered(await client.post("/recommend", json={"cart": [], "limit": 5}))
    assert body["strategy"] == "popular" and len(body["items"]) == 5
    assert all(item["kind"] == "popular" for item in body["items"])


async def test_an_item_without_rules_gets_popular_items_of_its_category_first(
    shop: Shop, tmp_path: Path
) -> None:
    assert await shop.rules("candle-single") == []
    async with shop.rules_only(), shop.app(tmp_path) as client:
        body = answered(await client.post("/recommend", json=cart("candle-single", limit=4)))
    offered = [item["sku"] for item in body["items"]]
    assert body["strategy"] == "popular" and len(offered) == 4
    assert offered[0] == "candle-vanilla-jar"  # candle-6pack is the cart item's bigger size
    assert "candle-6pack" not in offered


async def test_few_rule_matches_are_topped_up_with_popular_items(
    shop: Shop, tmp_path: Path
) -> None:
    assert [hit.consequent for hit in await shop.rules("roses-white-24")] == ["card-sympathy"]
    async with shop.rules_only(), shop.app(tmp_path) as client:
        body = answered(await client.post("/recommend", json=cart("roses-white-24", limit=4)))
    assert body["strategy"] == "mixed"
    assert [item["kind"] for item in body["items"]] == ["cross_sell", *["popular"] * 3]
    assert [item["sku"] for item in body["items"][:3]] == [
        "card-sympathy",
        "roses-red-12",
        "roses-pink-12",
    ]


async def test_unknown_skus_are_ignored_and_counted(shop: Shop, tmp_path: Path) -> None:
    async with shop.app(tmp_path) as client:
        before = unknown_skus((await client.get("/metrics")).text)
        body = answered(
            await client.post("/recommend", json=cart("no-such-sku", "roses-red-12", "nope-2"))
        )
        after = unknown_skus((await client.get("/metrics")).text)
    assert body["strategy"] == "rules" and body["items"]
    assert after - before == 2


def unknown_skus(metrics_text: str) -> float:
    for line in metrics_text.splitlines():
        if line.startswith("cartlift_unknown_skus_total "):
            return float(line.split()[1])
    return 0.0


@pytest.mark.parametrize("flag", ["active", "in_stock"])
async def test_an_item_taken_off_sale_disappears_at_the_next_publish_without_restart(
    shop: Shop, tmp_path: Path, flag: str
) -> None:
    async with shop.app(tmp_path) as client:  # polls every 0.2 s
        before = answered(await client.post("/recommend", json=cart("roses-red-12")))
        await set_flag(shop, flag, "card-love", False)
        try:
            version = await shop.publish()
            await asyncio.sleep(0.6)
            after = answered(await client.post("/recommend", json=cart("roses-red-12")))
        finally:
            await set_flag(shop, flag, "card-love", True)
            await shop.publish()
    assert "card-love" in [item["sku"] for item in before["items"]]
    assert after["model_version"] == version > before["model_version"]
    assert "card-love" not in [item["sku"] for item in after["items"]]


async def set_flag(shop: Shop, flag: str, sku: str, value: bool) -> None:
    async with shop.engine.begin() as conn:
        await conn.execute(
            text(f"UPDATE products SET {flag} = :value WHERE sku = :sku"),
            {"value": value, "sku": sku},
        )

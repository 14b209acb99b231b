"""Holdout variants on every answer, exposures and POST /events, over HTTP on Postgres + Redis."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest
from prometheus_client.parser import text_string_to_metric_families
from redis.asyncio import Redis
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db.engine import make_engine
from app.db.models import Event, EventLine, Exposure
from app.demo.shop import DemoFiles
from app.events.assign import variant_for
from app.events.drain import drain_once
from app.events.stream import STREAM_KEY, RedisEventLog
from app.main import create_app
from app.store.redis_store import job_client
from tests.conftest import REDIS_URL, serving, settings_for
from tests.published import demo_on_redis

SALT = "spring-test"


@dataclass(frozen=True)
class Published:
    engine: AsyncEngine
    database_url: str
    redis: Redis


@pytest.fixture(scope="module")
async def published(postgres_url: str, demo_files: DemoFiles) -> AsyncIterator[Published]:
    async with demo_on_redis(postgres_url, demo_files) as (engine, client, _version):
        yield Published(engine, postgres_url, client)


@pytest.fixture
async def shop(published: Published) -> AsyncIterator[Published]:
    """Each test starts with an empty event stream and no events in the database."""
    await published.redis.delete(STREAM_KEY)
    yield published
    await published.redis.delete(STREAM_KEY)


def api(shop: Published, tmp_path: Path, **extra: Any) -> Any:
    settings = settings_for(shop.database_url, REDIS_URL, tmp_path, holdout_salt=SALT, **extra)
    return serving(create_app(settings))


async def stream_records(redis: Redis) -> list[dict[str, Any]]:
    entries: Any = await redis.xrange(STREAM_KEY)
    return [record for _, fields in entries for record in orjson.loads(fields[b"b"])]


async def drain(shop: Published) -> None:
    event_log = RedisEventLog(job_client(REDIS_URL))
    try:
        await drain_once(event_log, shop.engine)
    finally:
        await event_log.close()


async def count(engine: AsyncEngine, column: Any) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(select(func.count(column)))).scalar_one())


CART = {"cart": [{"sku": "roses-red-12"}], "limit": 3}


async def test_every_answer_carries_the_units_arm_the_same_every_time(
    shop: Published, tmp_path: Path
) -> None:
    customers = [f"c-{n}" for n in range(40)]
    async with api(shop, tmp_path, holdout_percent=50) as client:
        for customer in customers:
            first = (await client.post("/recommend", json={**CART, "customer_id": customer})).json()
            again = (await client.post("/recommend", json={**CART, "customer_id": customer})).json()
            assert first["variant"] == again["variant"] == variant_for(customer, SALT, 50)
            if first["variant"] == "control":  # the holdout answer: bestsellers, no rules
                assert first["strategy"] == "popular"
                assert all(item["kind"] == "popular" for item in first["items"])
        anonymous = (await client.post("/recommend", json=CART)).json()
        by_session = (await client.post("/recommend", json={**CART, "session_id": "s-1"})).json()
        next_sale = (await client.get("/next-sale", params={"customer_id": "c-1"})).json()
    assert anonymous["variant"] == "none"
    assert by_session["variant"] == variant_for("s-1", SALT, 50)
    assert next_sale["variant"] == variant_for("c-1", SALT, 50)
    assert {variant_for(c, SALT, 50) for c in customers} == {"treatment", "control"}


async def test_control_gets_nothing_when_the_holdout_arm_is_empty(
    shop: Published, tmp_path: Path
) -> None:
    control = next(f"c-{n}" for n in range(100) if variant_for(f"c-{n}", SALT, 50) == "control")
    async with api(shop, tmp_path, holdout_percent=50, holdout_arm="empty") as client:
        answer = (await client.post("/recommend", json={**CART, "customer_id": control})).json()
    assert answer["variant"] == "control" and answer["items"] == []


async def test_answers_are_recorded_as_exposures_within_the_flush_interval(
    shop: Published, tmp_path: Path
) -> None:
    async with api(shop, tmp_path, holdout_percent=20, exposure_flush_ms=50) as client:
        answer = (await client.post("/recommend", json={**CART, "customer_id": "c-7"})).json()
        await client.post("/recommend", json=CART)  # no unit: not counted
        await asyncio.sleep(0.3)
        records = await stream_records(shop.redis)
    [exposure] = records
    assert exposure["request_id"] == answer["request_id"]
    assert exposure["unit"] == "c-7" and exposure["variant"] == answer["variant"]
    assert exposure["skus"] == [item["sku"] for item in answer["items"]]


async def test_exposures_still_buffered_at_shutdown_are_written(
    shop: Published, tmp_path: Path
) -> None:
    async with api(shop, tmp_path, exposure_flush_ms=10_000) as client:
        for n in range(5):
            await client.post("/recommend", json={**CART, "customer_id": f"c-{n}"})
    assert len(await stream_records(shop.redis)) == 5


PURCHASE = {
    "event_id": "order-1",
    "type": "purchase",
    "customer_id": "c-1",
    "order_id": "1",
    "at": "2026-12-01T10:00:00+01:00",
    "lines": [
        {"sku": "roses-red-12", "quantity": 1, "unit_price": 29.9},
        {"sku": "card-love", "quantity": 2, "unit_price": 3.95},
    ],
}


async def test_events_are_accepted_into_the_stream_then_drained_once(
    shop: Published, tmp_path: Path
) -> None:
    events = [
        {"type": "click", "session_id": "s-9", "sku": "card-love", "request_id": "r-1"},
        {"type": "add_to_cart", "customer_id": "c-1", "sku": "card-love"},
        PURCHASE,
    ]
    async with api(shop, tmp_path) as client:
        response = await client.post("/events", json={"events": events})
        resent = await client.post("/events", json={"events": [PURCHASE]})  # a client retry
    assert response.status_code == 202 and response.json() == {"accepted": 3}
    assert resent.status_code == 202
    await drain(shop)
    await drain(shop)  # nothing left, nothing doubled
    assert await count(shop.engine, Event.event_id) == 3
    assert await count(shop.engine, EventLine.event_id) == 2
    assert await shop.redis.xlen(STREAM_KEY) == 0
    async with shop.engine.connect() as conn:
        at = (await conn.execute(select(Event.at).where(Event.event_id == "order-1"))).scalar_one()
    assert at.isoformat() == "2026-12-01T09:00:00+00:00"


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        ({"type": "click", "customer_id": "c-1"}, "events.1.sku"),
        ({"type": "click", "sku": "card-love"}, "events.1.customer_id"),
        ({**PURCHASE, "order_id": None}, "events.1.order_id"),
        (
            {**PURCHASE, "lines": [{"sku": "a", "quantity": 0, "unit_price": 1}]},
            "events.1.lines.0.quantity",
        ),
        (
            {**PURCHASE, "lines": [{"sku": "a", "quantity": 1, "unit_price": -1}]},
            "events.1.lines.0.unit_price",
        ),
        ({"type": "refund", "customer_id": "c-1"}, "events.1.type"),
        ({"type": "click", "customer_id": "c-1", "sku": "a", "at": "yesterday"}, "events.1.at"),
        # A number is not a timestamp, though the JSON parser could read it as epoch seconds.
        ({"type": "click", "customer_id": "c-1", "sku": "a", "at": 0}, "events.1.at"),
        ({"type": "click", "customer_id": "c-1", "sku": "a", "at": True}, "events.1.at"),
    ],
)
async def test_one_invalid_event_refuses_the_whole_batch_naming_it(
    shop: Published, tmp_path: Path, bad: dict[str, Any], field: str
) -> None:
    good = {"type": "click", "customer_id": "c-1", "sku": "card-love"}
    async with api(shop, tmp_path) as client:
        response = await client.post("/events", json={"events": [good, bad, good]})
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert field in [issue["field"] for issue in response.json()["errors"]]
    assert await shop.redis.xlen(STREAM_KEY) == 0


async def test_a_price_that_is_not_finite_is_refused(shop: Published, tmp_path: Path) -> None:
    body = orjson.dumps({"events": [PURCHASE]}).replace(b"29.9", b"Infinity")
    async with api(shop, tmp_path) as client:
        response = await client.post(
            "/events", content=body, headers={"content-type": "application/json"}
        )
    assert response.status_code == 422
    assert await shop.redis.xlen(STREAM_KEY) == 0


async def test_more_than_a_thousand_events_are_refused(shop: Published, tmp_path: Path) -> None:
    click = {"type": "click", "customer_id": "c-1", "sku": "a"}
    async with api(shop, tmp_path) as client:
        many = await client.post("/events", json={"events": [click] * 1001})
        most = await client.post("/events", json={"events": [click] * 1000})
    assert many.status_code == 422 and "events" in many.json()["detail"]
    assert most.status_code == 202 and most.json() == {"accepted": 1000}


async def test_the_drain_stores_exposures_beside_events(shop: Published, tmp_path: Path) -> None:
    async with api(shop, tmp_path, holdout_percent=30) as client:
        for n in range(10):
            await client.post("/recommend", json={**CART, "customer_id": f"c-{n}"})
    await drain(shop)
    assert await count(shop.engine, Exposure.request_id) == 10


# --- Prometheus counters, read from /metrics around real requests and real drains ---------


@pytest.fixture
async def drained_shop(shop: Published) -> AsyncIterator[Published]:
    """The shop with no event or exposure stored, before and after: these tests drain."""
    await _empty_event_tables(shop.engine)
    yield shop
    await _empty_event_tables(shop.engine)


async def _empty_event_tables(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        for model in (EventLine, Event, Exposure):
            await conn.execute(delete(model))


async def scrape(client: Any) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = (await client.get("/metrics")).text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def grew(before: dict[Any, float], after: dict[Any, float], name: str, **labels: str) -> float:
    key = (name, tuple(sorted(labels.items())))
    return after.get(key, 0.0) - before.get(key, 0.0)


async def test_events_are_counted_by_type_and_exposures_by_arm(
    drained_shop: Published, tmp_path: Path
) -> None:
    customers = [f"m-{n}" for n in range(30)]
    arms = Counter(variant_for(customer, SALT, 30) for customer in customers)
    events = [
        {"type": "click", "customer_id": "m-1", "sku": "card-love"},
        {"type": "click", "customer_id": "m-2", "sku": "card-love"},
        {"type": "add_to_cart", "customer_id": "m-1", "sku": "card-love"},
    ]
    async with api(drained_shop, tmp_path, holdout_percent=30, exposure_flush_ms=20) as client:
        before = await scrape(client)
        for customer in customers:
            await client.post("/recommend", json={**CART, "customer_id": customer})
        await client.post("/recommend", json=CART)  # no unit: no exposure
        await client.post("/events", json={"events": events})
        await client.post("/events", json={"events": [events[0], {"type": "click"}]})  # 422
        await asyncio.sleep(0.2)  # a flush of the exposures
        after = await scrape(client)
    assert grew(before, after, "cartlift_events_total", type="click") == 2
    assert grew(before, after, "cartlift_events_total", type="add_to_cart") == 1
    for arm in ("treatment", "control"):
        assert grew(before, after, "cartlift_exposures_total", variant=arm) == arms[arm]


async def test_the_drain_counts_attributed_revenue_once_and_reports_its_lag(
    drained_shop: Published, tmp_path: Path
) -> None:
    async with api(drained_shop, tmp_path, holdout_percent=30) as client:
        shown = (await client.post("/recommend", json={**CART, "customer_id": "m-9"})).json()
        before = await scrape(client)
    sku = shown["items"][0]["sku"]
    order = {
        "event_id": "m-order",
        "type": "purchase",
        "customer_id": "m-9",
        "order_id": "m1",
        "lines": [
            {"sku": sku, "quantity": 2, "unit_price": 12.5},
            {"sku": "never-shown", "quantity": 1, "unit_price": 99.0},
        ],
    }
    async with api(drained_shop, tmp_path) as client:
        await client.post("/events", json={"events": [order]})
        await client.post("/events", json={"events": [order]})  # a retry: stored once
    away = make_engine("postgresql+asyncpg://postgres@127.0.0.1:9/nothing")  # nobody listens
    with pytest.raises(OSError):  # the database is away: the lag shows what waits
        await drain_once(RedisEventLog(job_client(REDIS_URL)), away)
    await away.dispose()
    event_log = RedisEventLog(job_client(REDIS_URL))
    async with api(drained_shop, tmp_path) as client:
        waiting = await scrape(client)
        await drain_once(event_log, drained_shop.engine, batch_entries=1)  # the retry alone
        after = await scrape(client)
    await event_log.close()
    assert waiting[("cartlift_events_drain_lag", ())] == 3  # two posts and one flush
    assert after[("cartlift_events_drain_lag", ())] == 0
    assert grew(before, after, "cartlift_attributed_revenue_total") == 25.0

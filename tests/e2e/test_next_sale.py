"""GET and POST /next-sale over HTTP on Postgres and Redis: timing, evidence, errors, outages."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from app.demo.shop import DemoFiles
from app.main import create_app
from app.published import keys
from app.published.sequences import CustomerEntry, decode_customer, decode_sequence
from tests.conftest import REDIS_URL, serving, settings_for
from tests.published import demo_on_redis
from tests.relay import RedisRelay

RELAY_PORT = 8511
TVS = ("tv-27", "tv-32", "tv-43")


@dataclass(frozen=True)
class Published:
    database_url: str
    redis: Redis
    version: int


@pytest.fixture(scope="module")
async def published(postgres_url: str, demo_files: DemoFiles) -> AsyncIterator[Published]:
    """The demo shop imported into Postgres and published to Redis once for the module."""
    async with demo_on_redis(postgres_url, demo_files) as (_engine, client, version):
        yield Published(postgres_url, client, version)


@asynccontextmanager
async def api(
    published: Published, tmp_path: Path, redis_url: str | None = REDIS_URL, **extra: Any
) -> AsyncIterator[httpx.AsyncClient]:
    # A generous store deadline: on a loaded test machine 50 ms can pass while the app starts,
    # and an app that holds no version answers 503 before it validates anything.
    extra.setdefault("store_timeout_ms", 2_000)
    settings = settings_for(
        published.database_url, redis_url, tmp_path, log_level="WARNING", **extra
    )
    async with serving(create_app(settings)) as client:
        yield client


async def entry(published: Published, name: str) -> bytes:
    raw = await published.redis.get(keys.versioned(published.version, name))
    assert isinstance(raw, bytes), name
    return raw


async def tv_buyer(published: Published) -> tuple[str, CustomerEntry]:
    """A customer whose latest purchase is a TV and who has no wall mount."""
    prefix = keys.versioned(published.version, keys.customer_purchases(""))
    async for key in published.redis.scan_iter(match=prefix + "*", count=500):
        raw = await published.redis.get(key)
        assert isinstance(raw, bytes)
        customer = decode_customer(raw)
        skus = [p.sku for p in customer.purchases]
        if skus[0] in TVS and "tv-wall-mount" not in skus:
            return key.decode()[len(prefix) :], customer
    raise AssertionError("the demo shop has no TV buyer without a wall mount")


def items(answer: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["sku"]: item for item in answer["items"]}


async def test_post_offers_the_wall_mount_the_median_delay_after_a_tv(
    published: Published, tmp_path: Path
) -> None:
    tv = decode_sequence(await entry(published, keys.sequence_rules("tv-32")))
    rule = next(f for f in tv.follow_ups if f.sku == "tv-wall-mount")
    bought, today = date(2026, 10, 1), date(2026, 10, 3)
    # 19:45 in Paris is still 1 October in UTC.
    bought_at = {"sku": "tv-32", "at": "2026-10-01T19:45:00+02:00"}
    body = {"purchases": [bought_at], "limit": 3, "as_of": today.isoformat()}
    async with api(published, tmp_path) as client:
        response = await client.post("/next-sale", json=body)
    assert response.status_code == 200, response.text
    answer = response.json()
    mount = items(answer)["tv-wall-mount"]
    assert mount["kind"] == "next_sale" and mount["because"] == ["tv-32"]
    assert mount["send_on"] == (bought + timedelta(days=round(rule.median_days))).isoformat()
    evidence = mount["evidence"]
    assert (evidence["confidence"], evidence["median_days"]) == (rule.confidence, rule.median_days)
    assert evidence["customers"] == rule.count and evidence["lift"] == rule.lift
    assert answer["model_version"] == published.version and answer["customer_id"] is None


async def test_get_plans_from_the_customers_published_purchases(
    published: Published, tmp_path: Path
) -> None:
    customer_id, customer = await tv_buyer(published)
    tv = customer.purchases[0]
    async with api(published, tmp_path) as client:
        response = await client.get(
            "/next-sale", params={"customer_id": customer_id, "as_of": tv.on.isoformat()}
        )
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["customer_id"] == customer_id and answer["strategy"] in ("sequences", "mixed")
    mount = items(answer)["tv-wall-mount"]
    held = {p.sku for p in customer.purchases}
    assert mount["because"][0] in held and mount["send_on"] > tv.on.isoformat()
    assert not held & {i["sku"] for i in answer["items"] if i["kind"] != "replenishment"}


async def test_items_already_bought_are_not_offered_again(
    published: Published, tmp_path: Path
) -> None:
    bought = [{"sku": "tv-32", "at": "2026-10-01"}, {"sku": "tv-wall-mount", "at": "2026-10-02"}]
    async with api(published, tmp_path) as client:
        response = await client.post(
            "/next-sale", json={"purchases": bought, "limit": 10, "as_of": "2026-10-03"}
        )
    assert response.status_code == 200
    assert "tv-wall-mount" not in items(response.json())


async def test_a_consumable_comes_back_at_its_rebuy_interval(
    published: Published, tmp_path: Path
) -> None:
    refill = decode_sequence(await entry(published, keys.sequence_rules("candle-single"))).refill
    assert refill is not None
    body = {"purchases": [{"sku": "candle-single", "at": "2026-09-01"}], "as_of": "2026-09-02"}
    async with api(published, tmp_path) as client:
        answer = (await client.post("/next-sale", json=body)).json()
    candle = items(answer)["candle-single"]
    assert candle["kind"] == "replenishment"
    due = date(2026, 9, 1) + timedelta(days=round(refill.median_days))
    assert candle["send_on"] == due.isoformat()
    assert candle["evidence"]["repeat_share"] == refill.repeat_share


async def test_an_unknown_customer_gets_popular_follow_ups_and_a_reason(
    published: Published, tmp_path: Path
) -> None:
    async with api(published, tmp_path) as client:
        response = await client.get("/next-sale", params={"customer_id": "nobody", "limit": 4})
    assert response.status_code == 200
    answer = response.json()
    assert answer["strategy"] == "popular" and len(answer["items"]) == 4
    assert answer["reason"].startswith("unknown customer")
    assert {item["kind"] for item in answer["items"]} == {"popular"}


@pytest.mark.parametrize(
    ("method", "request_args", "field"),
    [
        ("POST", {"json": {"purchases": [{"sku": "tv-32", "at": "2026-13-01"}]}}, "purchases.0.at"),
        ("POST", {"json": {"purchases": [{"sku": "tv-32", "at": "1 Oct"}]}}, "purchases.0.at"),
        ("POST", {"json": {"purchases": [], "as_of": "yesterday"}}, "as_of"),
        ("POST", {"json": {"purchases": [], "as_of": 20261001}}, "as_of"),
        ("POST", {"json": {"purchases": [{"sku": "tv-32", "at": 0}]}}, "purchases.0.at"),
        ("GET", {"params": {"customer_id": "7", "as_of": "0"}}, "as_of"),
        (
            "POST",
            {"json": {"purchases": [{"sku": "tv-32", "at": "9999-12-31T23:00:00-05:00"}]}},
            "purchases.0.at",
        ),
        ("POST", {"json": {"purchases": [{"sku": "tv-32", "at": "9999-12-30"}]}}, "purchases.0.at"),
        ("GET", {"params": {"customer_id": "7", "as_of": "9999-12-25"}}, "as_of"),
        ("GET", {"params": {"customer_id": "7", "as_of": "2026-02-30"}}, "as_of"),
        ("GET", {"params": {"limit": 3}}, "customer_id"),
        ("GET", {"params": {"customer_id": "7", "limit": 0}}, "limit"),
    ],
)
async def test_malformed_input_is_a_422_naming_the_field(
    published: Published, tmp_path: Path, method: str, request_args: dict[str, Any], field: str
) -> None:
    async with api(published, tmp_path) as client:
        response = await client.request(method, "/next-sale", **request_args)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"].startswith(field + ":")


async def test_the_api_key_is_required_when_configured(
    published: Published, tmp_path: Path
) -> None:
    async with api(published, tmp_path, api_keys="customer:k1-0123456789abcdef") as client:
        denied = await client.get("/next-sale", params={"customer_id": "7"})
        allowed = await client.get(
            "/next-sale", params={"customer_id": "7"}, headers={"X-API-Key": "k1-0123456789abcdef"}
        )
    assert denied.status_code == 401 and allowed.status_code == 200
    assert denied.headers["content-type"] == "application/problem+json"


async def test_without_any_published_version_the_answer_is_503_with_retry_after(
    published: Published, tmp_path: Path
) -> None:
    async with api(published, tmp_path, redis_url=None) as client:  # an empty snapshot folder
        response = await client.get("/next-sale", params={"customer_id": "7"})
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"


async def test_each_request_reads_the_store_at_most_once(
    published: Published, tmp_path: Path
) -> None:
    customer_id, _ = await tv_buyer(published)
    relay = RedisRelay(RELAY_PORT)
    await relay.start()
    try:
        async with api(published, tmp_path, redis_url=relay.url) as client:
            bought = [{"sku": sku, "at": "2026-10-01"} for sku in (*TVS, "candle-single")]
            for request in (
                client.get("/next-sale", params={"customer_id": customer_id}),
                client.post("/next-sale", json={"purchases": bought}),
            ):
                before = relay.versioned_commands
                assert (await request).status_code == 200
                assert relay.versioned_commands - before == 1
    finally:
        await relay.cut()


async def test_a_store_outage_falls_back_to_popular_items_never_a_500(
    published: Published, tmp_path: Path
) -> None:
    relay = RedisRelay(RELAY_PORT)
    await relay.start()
    try:
        async with api(published, tmp_path, redis_url=relay.url, breaker_failures=100) as client:
            await relay.cut()  # refused connections fail at once, whatever the deadline
            bought = [{"sku": "tv-32", "at": "2026-10-01"}]
            answers = [
                await client.get("/next-sale", params={"customer_id": "7"}),
                await client.post("/next-sale", json={"purchases": bought}),
            ]
    finally:
        await relay.cut()
    for response in answers:
        assert response.status_code == 200, response.text
        answer = response.json()
        assert answer["strategy"] == "popular" and answer["items"]
        assert answer["reason"].startswith("rule store unavailable")


def test_openapi_declares_both_forms_with_their_response_model() -> None:
    schema = create_app(settings_for("sqlite+aiosqlite:///:memory:", None, Path("."))).openapi()
    for method in ("get", "post"):
        operation = schema["paths"]["/next-sale"][method]
        ok = operation["responses"]["200"]["content"]["application/json"]["schema"]
        assert ok == {"$ref": "#/components/schemas/NextSaleResponse"}
        assert {"422", "503"} <= set(operation["responses"])
    assert schema["components"]["schemas"]["NextSaleResponse"]["examples"]
    assert schema["components"]["schemas"]["NextSaleRequest"]["examples"]

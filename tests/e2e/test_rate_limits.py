"""CARTLIFT_RATE_LIMIT over HTTP: per key and scope, shared through Redis by every process."""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.demo.shop import DemoFiles
from tests.e2e.test_recommend import Shop, cart, demo_shop
from tests.e2e.test_recommend_failures import FAST, private_redis


@pytest.fixture(scope="module")
async def shop(postgres_url: str, demo_files: DemoFiles) -> AsyncIterator[Shop]:
    async with demo_shop(postgres_url, demo_files) as published:
        yield published


def fresh_secret() -> str:
    """A key of its own per test: counters in Redis outlive one test's app."""
    return f"key-{uuid.uuid4().hex}"


async def recommend(client: httpx.AsyncClient, secret: str) -> httpx.Response:
    return await client.post("/recommend", json=cart("tv-27"), headers={"X-API-Key": secret})


def assert_limited(response: httpx.Response) -> None:
    assert response.status_code == 429, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert 1 <= int(response.headers["retry-after"]) <= 60


@pytest.mark.parametrize("redis", [True, False])
async def test_one_keys_burst_never_limits_another_key(
    shop: Shop, tmp_path: Path, redis: bool
) -> None:
    greedy, calm = fresh_secret(), fresh_secret()
    # Without Redis the limiter counts in process (and no rules are published to that
    # empty file store: the answers under the limit are 503s, still not 429s).
    store = {} if redis else {"redis_url": None}
    async with shop.app(
        tmp_path, api_keys=[greedy, calm], rate_limit="3/minute", **store
    ) as client:
        burst = {(await recommend(client, greedy)).status_code for _ in range(3)}
        over = await recommend(client, greedy)
        other = await recommend(client, calm)
    assert burst == ({200} if redis else {503})
    assert_limited(over)
    assert other.status_code == (200 if redis else 503)


async def test_workers_share_the_count_through_redis(shop: Shop, tmp_path: Path) -> None:
    secret = fresh_secret()
    settings: dict[str, Any] = {"api_keys": [secret], "rate_limit": "4/minute"}
    async with shop.app(tmp_path, **settings) as first, shop.app(tmp_path, **settings) as second:
        answers = [(await recommend(app, secret)).status_code for app in (first, second) * 2]
        over = await recommend(first, secret)
    assert answers == [200, 200, 200, 200]
    assert_limited(over)


async def test_a_scope_may_have_a_tighter_limit_of_its_own(shop: Shop, tmp_path: Path) -> None:
    secret = fresh_secret()
    settings: dict[str, Any] = {
        "api_keys": [f"recommend+customer:{secret}"],
        "rate_limit": "50/minute;customer=2/minute",
    }
    headers = {"X-API-Key": secret}
    async with shop.app(tmp_path, **settings) as client:
        sales = [
            await client.get("/next-sale", params={"customer_id": "2769"}, headers=headers)
            for _ in range(3)
        ]
        carts = [(await recommend(client, secret)).status_code for _ in range(5)]
    assert [s.status_code for s in sales[:2]] == [200, 200]
    assert_limited(sales[2])
    assert carts == [200] * 5


async def test_a_frozen_counter_lets_requests_through_in_time(shop: Shop, tmp_path: Path) -> None:
    secret = fresh_secret()
    with private_redis() as (url, process):
        await shop.publish(url)
        settings: dict[str, Any] = {"api_keys": [secret], "rate_limit": "1000/minute"}
        async with shop.app(tmp_path, redis_url=url, **FAST, **settings) as client:
            assert (await recommend(client, secret)).status_code == 200
            os.kill(process.pid, signal.SIGSTOP)
            try:
                started = time.monotonic()
                frozen = await recommend(client, secret)
                elapsed = time.monotonic() - started
            finally:
                os.kill(process.pid, signal.SIGCONT)
    assert frozen.status_code == 200  # from the rules held in memory, unlimited meanwhile
    assert elapsed < 1.0

"""/readyz answers from what the process holds: at once, even while its Redis is frozen."""

from __future__ import annotations

import asyncio
import os
import signal
import statistics
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.demo.shop import DemoFiles
from tests.e2e.test_recommend import Shop, answered, cart, demo_shop
from tests.e2e.test_recommend_failures import FAST, PORTS, private_redis
from tests.processes import free_port

PROBE_GOAL = 0.1  # seconds: what a probe takes, typically
# A probe that waited on the store would take the store deadline (3 s below); this bound
# tells the two apart on a loaded host, where one probe may be scheduled late.
NEVER_WAITS = 1.0
SLOW_STORE = {**FAST, "store_timeout_ms": 3_000}
FROZEN_SECONDS = 6.0
pytestmark = pytest.mark.faults


@pytest.fixture(scope="module")
async def shop(postgres_url: str, demo_files: DemoFiles) -> AsyncIterator[Shop]:
    async with demo_shop(postgres_url, demo_files) as published:
        yield published


async def timed_probe(client: httpx.AsyncClient) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = await client.get("/readyz")
    elapsed = time.monotonic() - started
    assert elapsed < NEVER_WAITS, f"/readyz took {elapsed * 1000:.0f} ms"
    return response, elapsed


async def timed_recommend(client: httpx.AsyncClient) -> dict[str, Any]:
    started = time.monotonic()
    response = await client.post("/recommend", json=cart("roses-red-12"))
    elapsed = time.monotonic() - started
    assert elapsed < NEVER_WAITS, f"/recommend took {elapsed * 1000:.0f} ms"
    return answered(response)


async def probe(client: httpx.AsyncClient) -> httpx.Response:
    return (await timed_probe(client))[0]


async def test_readiness_stays_200_and_says_degraded_while_redis_is_frozen(
    shop: Shop, tmp_path: Path
) -> None:
    with private_redis() as (url, process):
        version = await shop.publish(url)
        async with shop.app(tmp_path, redis_url=url, **SLOW_STORE) as client:
            healthy = await probe(client)
            warm = answered(await client.post("/recommend", json=cart("roses-red-12")))
            os.kill(process.pid, signal.SIGSTOP)
            frozen_until = time.monotonic() + FROZEN_SECONDS
            try:
                timed, held = [], []
                while time.monotonic() < frozen_until:  # probes while the poller waits it out
                    timed.append(await timed_probe(client))
                    held.append(await timed_recommend(client))
                    await asyncio.sleep(0.1)
            finally:
                os.kill(process.pid, signal.SIGCONT)
            await asyncio.sleep(1.0)  # a poll succeeds again
            recovered = await probe(client)
    assert healthy.json() == {
        "status": "ready",
        "version": version,
        "degraded": False,
        "reason": None,
    }
    probes = [response for response, _ in timed]
    assert all(p.status_code == 200 and p.json()["version"] == version for p in probes)
    assert statistics.median(elapsed for _, elapsed in timed) < PROBE_GOAL
    degraded = probes[-1].json()
    assert degraded["degraded"] is True and "store" in degraded["reason"]
    assert "127.0.0.1" not in degraded["reason"] and str(url) not in degraded["reason"]
    # The rules of a cart asked before are held in memory: the same answer, at once.
    assert len(held) >= 30 and all(answer["items"] == warm["items"] for answer in held)
    assert all(answer["model_version"] == version for answer in held)
    assert recovered.json()["degraded"] is False


async def test_readiness_is_503_with_retry_after_until_a_version_was_ever_loaded(
    shop: Shop, tmp_path: Path
) -> None:
    nowhere = f"redis://127.0.0.1:{free_port(PORTS)}/0"  # nothing listens there
    async with shop.app(tmp_path, redis_url=nowhere, **FAST) as client:
        response = await probe(client)
    assert response.status_code == 503 and int(response.headers["retry-after"]) >= 1
    body = response.json()
    assert body["status"] == "unavailable" and body["version"] is None
    assert "127.0.0.1" not in body["reason"] and "store" in body["reason"]

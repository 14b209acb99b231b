"""/recommend while its Redis is paused, frozen or killed mid-test: degraded answers, no 500.

Each test runs a private `redis-server` on a loopback port of its own, so freezing it
(SIGSTOP, CLIENT PAUSE) or killing it touches nobody else's Redis.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from redis import Redis

from app.demo.shop import DemoFiles
from tests.conftest import unavailable
from tests.e2e.test_recommend import Shop, answered, cart, demo_shop
from tests.processes import free_port

pytestmark = pytest.mark.faults
PORTS = range(8150, 8200)
FAST = {
    "store_timeout_ms": 50,
    "breaker_failures": 3,
    "breaker_reset_seconds": 0.5,
}  # settings_for polls for new versions every 0.2 s
PAUSE_MS = 1_500
NO_HANG_SECONDS = 1.0  # a deadline of 50 ms per store call, answered well within this


@pytest.fixture(scope="module")
async def shop(postgres_url: str, demo_files: DemoFiles) -> AsyncIterator[Shop]:
    async with demo_shop(postgres_url, demo_files) as published:
        yield published


@contextmanager
def private_redis() -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    binary = shutil.which("redis-server")
    if binary is None:
        unavailable("redis-server", FileNotFoundError("redis-server is not on PATH"))
        raise AssertionError("unreachable")
    port = free_port(PORTS)
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for_ping(port)
        yield f"redis://127.0.0.1:{port}/0", process
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGCONT)
            process.kill()
        process.wait(timeout=10)


def _wait_for_ping(port: int) -> None:
    deadline = time.monotonic() + 10
    while True:
        try:
            with Redis(port=port, socket_timeout=1) as client:
                client.ping()
                return
        except OSError:
            pass
        except Exception:
            if time.monotonic() > deadline:
                raise
        if time.monotonic() > deadline:
            raise TimeoutError(f"redis-server on {port} did not answer")
        time.sleep(0.05)


async def timed_post(client: httpx.AsyncClient, body: dict[str, Any]) -> httpx.Response:
    started = time.monotonic()
    async with asyncio.timeout(NO_HANG_SECONDS * 5):  # a hang fails here, not in CI's timeout
        response = await client.post("/recommend", json=body)
    elapsed = time.monotonic() - started
    assert elapsed < NO_HANG_SECONDS, f"answer took {elapsed:.2f} s"
    return response


def store_errors(metrics_text: str) -> float:
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in metrics_text.splitlines()
        if line.startswith("cartlift_store_errors_total{")
    )


@asynccontextmanager
async def frozen(how: str, url: str, process: subprocess.Popen[bytes]) -> AsyncIterator[None]:
    """Redis unresponsive while inside: the process stopped, or every client paused."""
    if how == "SIGSTOP":
        os.kill(process.pid, signal.SIGSTOP)
        try:
            yield
        finally:
            os.kill(process.pid, signal.SIGCONT)
    else:  # a pause holds every client, CLIENT UNPAUSE included: let it run out instead
        with Redis.from_url(url, socket_timeout=5) as admin:
            admin.execute_command("CLIENT", "PAUSE", PAUSE_MS, "ALL")
        until = time.monotonic() + PAUSE_MS / 1000
        yield
        await asyncio.sleep(max(0.0, until - time.monotonic()))


@pytest.mark.parametrize("how", ["SIGSTOP", "CLIENT PAUSE"])
async def test_a_frozen_redis_degrades_to_popular_answers_and_recovers(
    shop: Shop, tmp_path: Path, how: str
) -> None:
    with private_redis() as (url, process):
        await shop.publish(url)
        async with shop.app(tmp_path, redis_url=url, **FAST) as client:
            warm = answered(await timed_post(client, cart("roses-red-12")))
            errors_before = store_errors((await client.get("/metrics")).text)
            async with frozen(how, url, process):
                degraded = [
                    await timed_post(client, cart(sku, limit=3))
                    for sku in ("tv-27", "card-love", "tulips-mixed-10", "game-console")
                ]
                held = answered(await timed_post(client, cart("roses-red-12")))
                errors_during = store_errors((await client.get("/metrics")).text)
            await asyncio.sleep(FAST["breaker_reset_seconds"] + 0.3)
            recovered = answered(await timed_post(client, cart("tv-27", include_upsell=False)))
    assert warm["strategy"] == "rules"
    for response in degraded:
        body = answered(response)
        assert body["items"] and body["model_version"] == warm["model_version"]
        assert all(item["kind"] in ("popular", "upsell") for item in body["items"])
    assert answered(degraded[1])["strategy"] == "popular"  # card-love has no upgrade path
    assert held["items"] == warm["items"]  # its rules were cached: immutable per version
    assert errors_during > errors_before
    assert recovered["strategy"] == "rules"


async def test_a_killed_redis_degrades_to_popular_answers_and_stays_ready(
    shop: Shop, tmp_path: Path
) -> None:
    with private_redis() as (url, process):
        await shop.publish(url)
        async with shop.app(tmp_path, redis_url=url, **FAST) as client:
            answered(await timed_post(client, cart("roses-red-12")))
            process.kill()
            process.wait(timeout=10)
            answers = [
                answered(await timed_post(client, cart(sku)))
                for sku in ("card-love", "choc-hearts-150g", "plant-orchid", "gift-wrap")
            ]
            await asyncio.sleep(0.5)  # the poller notices within its interval
            ready = await client.get("/readyz")
    assert all(a["strategy"] == "popular" and a["items"] for a in answers)
    # Still ready: it answers from the version it holds, and says it is degraded.
    assert ready.status_code == 200 and ready.json()["degraded"] is True
    assert "127.0.0.1" not in ready.text  # the reason never names the host


async def test_with_nothing_ever_loaded_and_the_store_down_the_answer_is_503(
    shop: Shop, tmp_path: Path
) -> None:
    nowhere = f"redis://127.0.0.1:{free_port(PORTS)}/0"  # nothing listens there
    async with shop.app(tmp_path, redis_url=nowhere, **FAST) as client:
        responses = [await timed_post(client, cart("roses-red-12")) for _ in range(5)]
    for response in responses:
        assert response.status_code == 503
        assert response.headers["content-type"] == "application/problem+json"
        assert int(response.headers["Retry-After"]) >= 1
        assert response.json()["detail"].startswith("rule store unavailable")


async def test_rules_published_after_start_are_served_without_restart(
    shop: Shop, tmp_path: Path
) -> None:
    with private_redis() as (url, _process):
        async with shop.app(tmp_path, redis_url=url, **FAST) as client:
            before = await timed_post(client, cart("roses-red-12"))
            version = await shop.publish(url)
            await asyncio.sleep(0.6)
            after = answered(await timed_post(client, cart("roses-red-12")))
    assert before.status_code == 503
    assert before.json()["detail"] == "no rule version published yet"
    assert after["model_version"] == version and after["strategy"] == "rules"


async def test_shutdown_never_waits_on_a_poller_whose_cancel_met_a_store_reply(
    shop: Shop, tmp_path: Path
) -> None:
    """The store replies just as shutdown cancels the poller: the cancel must not be lost."""
    slow = {**FAST, "store_timeout_ms": 3_000}  # calls outlive the pause, then all reply at once
    with private_redis() as (url, _process):
        await shop.publish(url)
        async with asyncio.timeout(10):  # a hang fails the test instead of stalling the suite
            app = AsyncExitStack()
            client = await app.enter_async_context(shop.app(tmp_path, redis_url=url, **slow))
            with Redis.from_url(url, socket_timeout=5) as admin:
                admin.execute_command("CLIENT", "PAUSE", 500, "ALL")
            answered(await client.post("/recommend", json=cart("tv-27")))  # held by the pause
            started = time.monotonic()
            await app.aclose()
            stopped = time.monotonic() - started
    assert stopped < 1

"""SIGTERM under load, on a real `cartlift serve`: nothing sent before the signal is lost.

The server first says 503 on /readyz while it still answers (the shutdown delay), then
closes its port, lets the requests in flight finish (one is still uploading its body),
writes the exposures it buffered and exits 0.
"""

from __future__ import annotations

import asyncio
import itertools
import signal
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import orjson
import pytest
from redis.asyncio import Redis

from app.demo.shop import DemoFiles
from app.events.stream import STREAM_KEY
from tests.conftest import REDIS_URL
from tests.e2e.test_recommend import Shop, demo_shop
from tests.processes import Server, clean_env, served

pytestmark = pytest.mark.faults
CLIENTS = 8
LOAD_SECONDS = 2.0
DELAY_SECONDS = 1.0
CARTS = (["roses-red-12"], ["tv-32"], ["roses-red-12", "card-love"], ["game-console"])


@dataclass
class Sent:
    request_id: str
    at: float
    status: int | None = None
    error: str | None = None


@pytest.fixture(scope="module")
async def shop(postgres_url: str, demo_files: DemoFiles) -> AsyncIterator[Shop]:
    async with demo_shop(postgres_url, demo_files) as published:
        yield published


async def shopper(client: httpx.AsyncClient, number: int, sent: list[Sent]) -> None:
    """Asks without pause until the server stops answering."""
    for count in itertools.count():
        request = Sent(f"shutdown-{number}-{count}", time.monotonic())
        sent.append(request)
        cart = [{"sku": sku} for sku in CARTS[count % len(CARTS)]]
        body = {"cart": cart, "limit": 3, "session_id": f"shopper-{number}"}  # exposed
        try:
            response = await client.post(
                "/recommend", json=body, headers={"X-Request-ID": request.request_id}
            )
        except httpx.HTTPError as error:
            request.error = repr(error)
            return
        request.status = response.status_code


async def half_sent_request(server: Server) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A /recommend whose headers and half its body are sent: in flight until finished."""
    port = int(server.base_url.rsplit(":", 1)[1])
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        b"POST /recommend HTTP/1.1\r\nhost: cartlift\r\ncontent-type: application/json\r\n"
        b"x-request-id: shutdown-slow\r\ncontent-length: %d\r\n\r\n"
        % len(SLOW_BODY)
        + SLOW_BODY[:10]
    )
    await writer.drain()
    return reader, writer


SLOW_BODY = orjson.dumps({"cart": [{"sku": "tv-32"}], "limit": 3, "session_id": "slow"})


async def finish(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bytes:
    writer.write(SLOW_BODY[10:])
    await writer.drain()
    answer = await reader.read()  # the server closes the connection after answering
    writer.close()
    return answer


async def exposed_request_ids() -> set[str]:
    client = Redis.from_url(REDIS_URL)
    try:
        entries = await client.xrange(STREAM_KEY) or []
    finally:
        await client.aclose()
    return {
        record["request_id"]
        for _, fields in entries
        for record in orjson.loads((fields or {})[b"b"])
        if record["kind"] == "exposure"
    }


async def test_sigterm_under_load_finishes_every_request_sent_before_it_and_exits_0(
    shop: Shop, tmp_path: Path
) -> None:
    env = clean_env(
        CARTLIFT_DATABASE_URL=shop.database_url,
        CARTLIFT_REDIS_URL=REDIS_URL,
        CARTLIFT_SHUTDOWN_DELAY_SECONDS=str(DELAY_SECONDS),
        CARTLIFT_SHUTDOWN_DRAIN_SECONDS="20",
        CARTLIFT_EXPOSURE_FLUSH_MS="10000",  # what the test sees was flushed at shutdown
    )
    sent: list[Sent] = []
    with served(env=env, cwd=tmp_path) as server:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as client:
            shoppers = [asyncio.create_task(shopper(client, n, sent)) for n in range(CLIENTS)]
            slow = await half_sent_request(server)
            await asyncio.sleep(LOAD_SECONDS)
            signalled = time.monotonic()
            server.process.send_signal(signal.SIGTERM)
            await asyncio.sleep(DELAY_SECONDS / 4)
            async with httpx.AsyncClient(base_url=server.base_url, timeout=5) as probe:
                readiness = await probe.get("/readyz")
            await asyncio.sleep(DELAY_SECONDS)  # the port is closed by now
            slow_answer = await finish(*slow)
            async with asyncio.timeout(30):
                await asyncio.gather(*shoppers)
            code = await asyncio.to_thread(server.process.wait, 30)
        log = server.log_lines()
    before = [request for request in sent if request.at < signalled]
    assert len(before) > 50, "the server was under load when the signal came"
    assert [r for r in before if r.status != 200] == [], "a request sent before SIGTERM failed"
    assert readiness.status_code == 503 and readiness.json()["status"] == "draining"
    assert slow_answer.startswith(b"HTTP/1.1 200"), slow_answer[:200]
    assert code == 0, server.log_tail()
    answered = {r.request_id for r in sent if r.status == 200} | {"shutdown-slow"}
    assert answered <= await exposed_request_ids(), "buffered exposures were flushed"
    assert any(line.get("event") == "draining" for line in log)

"""What operators poll: /healthz, /readyz and /metrics, in one process and across workers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from app.demo.shop import DemoFiles
from app.main import create_app
from tests.conftest import serving, settings_for
from tests.processes import CliShop, cli_shop, served
from tests.published import PublishedShop, publish_demo_shop

CART = {"cart": [{"sku": "roses-red-12"}], "limit": 3}
REQUESTS = "cartlift_http_requests_total"
LATENCY = "cartlift_http_request_duration_seconds"


def metric(text: str, name: str, labels: Mapping[str, str] | None = None) -> float:
    """The value of one sample; 0 when the series does not exist yet."""
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(
                sample.labels.get(k) == v for k, v in (labels or {}).items()
            ):
                return sample.value
    return 0.0


@pytest.fixture(scope="module")
async def shop(
    tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path, demo_files: DemoFiles
) -> PublishedShop:
    return await publish_demo_shop(tmp_path_factory.mktemp("health"), sqlite_template, demo_files)


@pytest.fixture
async def client(shop: PublishedShop) -> AsyncIterator[httpx.AsyncClient]:
    settings = settings_for(shop.database_url, None, shop.snapshot_dir.parent)
    async with serving(create_app(settings)) as client:
        yield client


@pytest.fixture
async def unpublished(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = settings_for(f"sqlite+aiosqlite:///{tmp_path}/empty.db", None, tmp_path)
    async with serving(create_app(settings)) as client:
        yield client


async def test_healthz_answers_even_when_nothing_is_published(
    unpublished: httpx.AsyncClient,
) -> None:
    answer = await unpublished.get("/healthz")
    assert answer.status_code == 200 and answer.json() == {"status": "ok"}


async def test_readyz_is_503_with_the_reason_and_retry_after_when_nothing_is_published(
    unpublished: httpx.AsyncClient,
) -> None:
    answer = await unpublished.get("/readyz")
    assert answer.status_code == 503
    assert answer.headers["retry-after"] == "5"
    body = answer.json()
    assert body["status"] == "unavailable" and body["version"] is None
    assert "no rule version" in body["reason"]


async def test_readyz_reports_the_version_it_serves_and_follows_a_new_one(
    shop: PublishedShop, client: httpx.AsyncClient
) -> None:
    before = (await client.get("/readyz")).json()
    assert before["status"] == "ready" and isinstance(before["version"], int)
    newer = await shop.publish()
    after = await client.get("/readyz")
    for _ in range(100):  # the poller follows the pointer within its interval
        if after.json()["version"] == newer:
            break
        await asyncio.sleep(0.05)
        after = await client.get("/readyz")
    assert after.status_code == 200 and after.json()["version"] == newer > before["version"]


async def test_metrics_count_requests_and_latency_by_route_template_and_status(
    client: httpx.AsyncClient,
) -> None:
    ok = {"method": "POST", "route": "/recommend", "status": "200"}
    invalid = {"method": "POST", "route": "/recommend", "status": "422"}
    decline = {"method": "POST", "route": "/upgrade-offers/{offer_id}/decline", "status": "422"}
    unknown = {"method": "GET", "route": "unmatched", "status": "404"}
    watched = (ok, invalid, decline, unknown)
    start = (await client.get("/metrics")).text
    for _ in range(5):
        assert (await client.post("/recommend", json=CART)).status_code == 200
    for _ in range(2):
        assert (await client.post("/recommend", json={"cart": "roses"})).status_code == 422
    assert (await client.post("/upgrade-offers/offer-17/decline", json=[])).status_code == 422
    assert (await client.get("/no/such/page")).status_code == 404
    end = (await client.get("/metrics")).text
    counts = [metric(end, REQUESTS, labels) - metric(start, REQUESTS, labels) for labels in watched]
    timed = [
        metric(end, LATENCY + "_count", labels) - metric(start, LATENCY + "_count", labels)
        for labels in watched
    ]
    assert counts == timed == [5, 2, 1, 1]
    assert "offer-17" not in end and "/no/such/page" not in end  # labels stay bounded


async def test_metrics_export_the_served_rules_version_and_its_age(
    client: httpx.AsyncClient,
) -> None:
    version = (await client.get("/readyz")).json()["version"]
    answer = await client.get("/metrics")
    assert answer.headers["content-type"].startswith("text/plain")
    assert metric(answer.text, "cartlift_rules_version") == version
    assert 0 <= metric(answer.text, "cartlift_rules_age_seconds") < 3600


@pytest.fixture(scope="module")
def cli_built(tmp_path_factory: pytest.TempPathFactory) -> CliShop:
    return cli_shop(tmp_path_factory.getbasetemp())


@pytest.mark.slow
def test_metrics_add_up_across_workers_and_their_directory_is_removed(
    cli_built: CliShop, tmp_path: Path
) -> None:
    env = {k: v for k, v in cli_built.env.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    env["TMPDIR"] = str(tmp_path)  # where serve creates the shared metrics directory
    sent = 60
    labels = {"method": "POST", "route": "/recommend", "status": "200"}
    with served(env=env, cwd=cli_built.root, workers=2) as server:

        def post(_: int) -> int:
            # A new connection each time, so the kernel hands requests to both workers.
            return httpx.post(server.base_url + "/recommend", json=CART).status_code

        with ThreadPoolExecutor(8) as pool:
            assert set(pool.map(post, range(sent))) == {200}
        [metrics_dir] = tmp_path.glob("cartlift-metrics-*")
        writers = {path.stem.rsplit("_", 1)[-1] for path in metrics_dir.glob("counter_*.db")}
        scrapes = [httpx.get(server.base_url + "/metrics").text for _ in range(6)]
    assert len(writers) == 2, f"both workers should have answered, counters from {writers}"
    for text in scrapes:
        assert metric(text, REQUESTS, labels) == sent
        assert metric(text, LATENCY + "_count", labels) == sent
        assert metric(text, "cartlift_rules_version") == 1
    assert server.process.returncode == 0, server.log_tail()
    assert not list(tmp_path.glob("cartlift-metrics-*"))

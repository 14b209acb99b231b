"""Merchandising through the admin endpoint: pin, boost, bury and block reach /recommend."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.demo.shop import DemoFiles
from app.published import keys
from app.store.redis_store import job_client
from tests.conftest import REDIS_URL
from tests.e2e.test_recommend import Shop, answered, cart, demo_shop

ADMIN = {"X-API-Key": "admin-secret"}


@pytest.fixture(scope="module")
async def shop(postgres_url: str, demo_files: DemoFiles) -> AsyncIterator[Shop]:
    async with demo_shop(postgres_url, demo_files) as published:
        yield published


@pytest.fixture(autouse=True)
async def no_merchandising() -> AsyncIterator[None]:
    """Merchandising is unversioned and outlives rebuilds, so every test clears it after."""
    yield
    client = job_client(REDIS_URL)
    await client.delete(keys.MERCHANDISING)
    await client.aclose()


async def put_rules(client: httpx.AsyncClient, *rules: dict[str, Any]) -> None:
    response = await client.put("/admin/merchandising", json={"rules": rules}, headers=ADMIN)
    assert response.status_code == 200, response.text


async def roses(client: httpx.AsyncClient, **extra: Any) -> list[dict[str, Any]]:
    body = answered(await client.post("/recommend", json=cart("roses-red-12", **extra)))
    items: list[dict[str, Any]] = body["items"]
    return items


def skus(items: list[dict[str, Any]]) -> list[str]:
    return [item["sku"] for item in items]


async def test_admin_is_forbidden_until_an_admin_key_is_configured(
    shop: Shop, tmp_path: Path
) -> None:
    async with shop.app(tmp_path) as client:
        read = await client.get("/admin/merchandising", headers=ADMIN)
        write = await client.put("/admin/merchandising", json={"rules": []}, headers=ADMIN)
    for response in (read, write):
        assert response.status_code == 403
        assert response.headers["content-type"] == "application/problem+json"


async def test_admin_needs_the_admin_key_not_a_client_key(shop: Shop, tmp_path: Path) -> None:
    async with shop.app(tmp_path, admin_api_key="admin-secret", api_keys=["client-key"]) as client:
        missing = await client.get("/admin/merchandising")
        client_key = await client.get("/admin/merchandising", headers={"X-API-Key": "client-key"})
        admin = await client.get("/admin/merchandising", headers=ADMIN)
    for refused in (missing, client_key):
        assert refused.status_code == 401
        assert refused.headers["content-type"] == "application/problem+json"
    assert admin.status_code == 200 and admin.json() == {"rules": []}


async def test_a_blocked_item_disappears_at_once_and_is_listed(shop: Shop, tmp_path: Path) -> None:
    async with shop.app(tmp_path, admin_api_key="admin-secret") as client:
        top = skus(await roses(client, limit=5))[0]
        await put_rules(client, {"sku": top, "action": "block"})
        after = skus(await roses(client, limit=20))
        listed = (await client.get("/admin/merchandising", headers=ADMIN)).json()
    assert top not in after
    assert listed == {
        "rules": [{"sku": top, "action": "block", "antecedent": None, "factor": None}]
    }


async def test_a_pin_for_an_antecedent_leads_only_carts_holding_it(
    shop: Shop, tmp_path: Path
) -> None:
    pin = {"sku": "vase-ceramic", "action": "pin", "antecedent": "roses-red-12"}
    async with shop.app(tmp_path, admin_api_key="admin-secret") as client:
        await put_rules(client, pin)
        pinned = (await roses(client, limit=3))[0]
        tv = answered(await client.post("/recommend", json=cart("tv-27", limit=3)))
    assert (pinned["sku"], pinned["because"]) == ("vase-ceramic", ["roses-red-12"])
    assert "vase-ceramic" not in skus(tv["items"])


async def test_bury_and_boost_move_items_by_their_factor(shop: Shop, tmp_path: Path) -> None:
    async with shop.app(tmp_path, admin_api_key="admin-secret") as client:
        before = [i for i in await roses(client, limit=6) if i["kind"] == "cross_sell"]
        first, last = before[0], before[-1]
        await put_rules(
            client,
            {"sku": first["sku"], "action": "bury", "factor": 0.01},
            {"sku": last["sku"], "action": "boost", "factor": 50},
        )
        after = {i["sku"]: i for i in await roses(client, limit=20)}
    assert min(after, key=lambda sku: -after[sku]["score"]) == last["sku"]
    # scores are rounded to 6 decimals before and after the factor
    assert after[last["sku"]]["score"] == pytest.approx(last["score"] * 50, abs=1e-4)
    assert after[first["sku"]]["score"] == pytest.approx(first["score"] * 0.01, abs=1e-6)


async def test_merchandising_reaches_other_processes_and_survives_a_rebuild(
    shop: Shop, tmp_path: Path
) -> None:
    async with (
        shop.app(tmp_path, admin_api_key="admin-secret") as admin,
        shop.app(tmp_path) as other,
    ):
        await put_rules(admin, {"sku": "card-love", "action": "block"})
        await shop.publish()
        await asyncio.sleep(0.6)  # three poll intervals of the other process
        seen_elsewhere = skus(await roses(other, limit=20))
    assert "card-love" not in seen_elsewhere


async def test_a_bad_merchandising_rule_is_a_422_naming_it(shop: Shop, tmp_path: Path) -> None:
    bad = {"rules": [{"sku": "card-love", "action": "explode"}]}
    async with shop.app(tmp_path, admin_api_key="admin-secret") as client:
        response = await client.put("/admin/merchandising", json=bad, headers=ADMIN)
    assert response.status_code == 422
    assert response.json()["detail"].startswith("rules.0.action: ")

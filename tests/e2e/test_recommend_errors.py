"""POST /recommend refuses bad input and unknown clients with problem+json naming the field."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.demo.shop import DemoFiles
from tests.e2e.test_recommend import Shop, answered, cart, demo_shop


@pytest.fixture(scope="module")
async def shop(postgres_url: str, demo_files: DemoFiles) -> AsyncIterator[Shop]:
    async with demo_shop(postgres_url, demo_files) as published:
        yield published


def assert_problem(response: httpx.Response, status: int, field: str) -> dict[str, Any]:
    """A problem+json document with this status whose detail starts with the field's name."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem: dict[str, Any] = response.json()
    assert problem["status"] == status and problem["type"].startswith("https://")
    assert problem["title"] and problem["detail"].startswith(f"{field}: "), problem
    return problem


LONG_SKU = "x" * 129


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (cart(*[f"sku-{n}" for n in range(101)]), "cart"),
        (cart(LONG_SKU), "cart.0.sku"),
        (cart("roses-red-12", limit=0), "limit"),
        (cart("roses-red-12", limit=51), "limit"),
        (cart("roses-red-12", rank_by="price"), "rank_by"),
        (cart("roses-red-12", max_price=-1), "max_price"),
        (cart("roses-red-12", colour="red"), "colour"),
        ({"cart": [{"sku": "roses-red-12", "quantity": 0}]}, "cart.0.quantity"),
        ({"limit": 3}, "cart"),
        ([], "body"),
    ],
    ids=[
        "cart-over-100-lines",
        "sku-over-128-chars",
        "limit-0",
        "limit-51",
        "unknown-rank-by",
        "negative-max-price",
        "unknown-field",
        "zero-quantity",
        "no-cart",
        "not-an-object",
    ],
)
async def test_bad_input_is_a_422_naming_the_field(
    shop: Shop, tmp_path: Path, body: Any, field: str
) -> None:
    async with shop.app(tmp_path) as client:
        problem = assert_problem(await client.post("/recommend", json=body), 422, field)
    assert problem["errors"][0]["field"] == field


async def test_malformed_json_is_a_422_naming_the_body(shop: Shop, tmp_path: Path) -> None:
    async with shop.app(tmp_path) as client:
        response = await client.post(
            "/recommend",
            content=b'{"cart": [{"sku": "roses-red-12"}',
            headers={"content-type": "application/json"},
        )
    problem = assert_problem(response, 422, "body")
    assert "malformed JSON at character" in problem["detail"]


async def test_a_body_that_is_not_utf8_is_a_422_naming_the_body(shop: Shop, tmp_path: Path) -> None:
    async with shop.app(tmp_path) as client:
        response = await client.post(
            "/recommend",
            content=b'{"cart": ["\xff"]}',
            headers={"content-type": "application/json"},
        )
    assert "not UTF-8" in assert_problem(response, 422, "body")["detail"]


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ({"include_upsell": 0}, "include_upsell"),
        ({"limit": "3"}, "limit"),
        ({"limit": True}, "limit"),
        ({"max_price": False}, "max_price"),
    ],
)
async def test_values_of_the_wrong_json_type_are_not_coerced(
    shop: Shop, tmp_path: Path, value: dict[str, Any], field: str
) -> None:
    async with shop.app(tmp_path) as client:
        response = await client.post("/recommend", json=cart("roses-red-12", **value))
    assert_problem(response, 422, field)


async def test_a_wrong_method_names_every_method_of_the_path(shop: Shop, tmp_path: Path) -> None:
    key = "admin+recommend:admin-secret-0123456789"
    async with shop.app(tmp_path, api_keys=[key]) as client:
        client.headers["X-API-Key"] = key.partition(":")[2]
        recommend = await client.get("/recommend")
        admin = await client.delete("/admin/merchandising")
    assert recommend.status_code == admin.status_code == 405
    assert recommend.headers["allow"] == "POST"
    assert admin.headers["allow"] == "GET, PUT"
    assert admin.headers["content-type"] == "application/problem+json"


async def test_the_limits_themselves_are_accepted(shop: Shop, tmp_path: Path) -> None:
    at_limits = cart(*[f"sku-{n}" for n in range(99)], "x" * 128, limit=50)
    async with shop.app(tmp_path) as client:
        body = answered(await client.post("/recommend", json=at_limits))
    assert body["strategy"] == "popular" and body["items"]  # every SKU is unknown


async def test_a_body_over_64_kib_is_a_413(shop: Shop, tmp_path: Path) -> None:
    oversize = b'{"cart": [], "customer_id": "' + b"x" * 70_000 + b'"}'

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(oversize), 8_192):
            yield oversize[start : start + 8_192]

    async with shop.app(tmp_path) as client:
        declared = await client.post(
            "/recommend", content=oversize, headers={"content-type": "application/json"}
        )
        streamed = await client.post(
            "/recommend", content=chunks(), headers={"content-type": "application/json"}
        )
    for response in (declared, streamed):
        problem = assert_problem(response, 413, "body")
        assert problem["type"].endswith("/body-too-large")
        assert str(64 * 1024) in problem["detail"]


async def test_client_keys_are_required_once_configured(shop: Shop, tmp_path: Path) -> None:
    request = cart("roses-red-12")
    async with shop.app(tmp_path, api_keys=["key-one-0123456789", "key-two-0123456789"]) as client:
        missing = await client.post("/recommend", json=request)
        wrong = await client.post("/recommend", json=request, headers={"X-API-Key": "nope"})
        first = await client.post(
            "/recommend", json=request, headers={"X-API-Key": "key-one-0123456789"}
        )
        second = await client.post(
            "/recommend", json=request, headers={"X-API-Key": "key-two-0123456789"}
        )
        health = await client.get("/healthz")
    for refused in (missing, wrong):
        assert refused.status_code == 401
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.headers["www-authenticate"].startswith("Bearer")
    assert answered(first)["items"] and answered(second)["items"]
    assert health.status_code == 200


async def test_without_configured_keys_the_api_is_open(shop: Shop, tmp_path: Path) -> None:
    async with shop.app(tmp_path) as client:
        response = await client.post(
            "/recommend", json=cart("roses-red-12"), headers={"X-API-Key": "anything"}
        )
    assert answered(response)["items"]


async def test_an_unknown_path_is_a_problem_document(shop: Shop, tmp_path: Path) -> None:
    async with shop.app(tmp_path) as client:
        response = await client.post("/recommendations", json=cart("roses-red-12"))
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"

"""Keys and scopes over HTTP against the demo shop in Postgres and Redis: closed by default."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from app.demo.shop import DemoFiles
from tests.e2e.test_health import metric
from tests.e2e.test_recommend import Shop, cart, demo_shop

SHOP = "shop-frontend-0123456789"
CRM = "crm-exports-0123456789ab"
OPS = "prometheus-scraper-01234"
ADMIN = "merchandiser-0123456789"
KEYS = [SHOP, f"customer:{CRM}", f"metrics:{OPS}"]
NEXT_SALE = {"customer_id": "2769"}
STRANGER = "not-a-configured-key-0000"
REJECTED = "cartlift_auth_rejected_total"


@pytest.fixture(scope="module")
async def shop(postgres_url: str, demo_files: DemoFiles) -> AsyncIterator[Shop]:
    async with demo_shop(postgres_url, demo_files) as published:
        yield published


def auth(secret: str) -> dict[str, str]:
    return {"X-API-Key": secret}


def assert_refused(response: httpx.Response, status: int) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    if status == 401:
        assert response.headers["www-authenticate"].startswith("Bearer")


async def test_a_missing_or_unknown_key_is_a_401_problem_with_a_challenge(
    shop: Shop, tmp_path: Path
) -> None:
    async with shop.app(tmp_path, api_keys=KEYS, admin_api_key=ADMIN) as client:
        missing = await client.post("/recommend", json=cart("roses-red-12"))
        unknown = await client.post("/recommend", json=cart("roses-red-12"), headers=auth(STRANGER))
        empty = await client.post("/recommend", json=cart("roses-red-12"), headers=auth(""))
        other_scheme = await client.get("/metrics", headers={"Authorization": f"Basic {OPS}"})
    for response in (missing, unknown, empty, other_scheme):
        assert_refused(response, 401)


async def test_a_key_is_accepted_in_x_api_key_or_as_a_bearer_token(
    shop: Shop, tmp_path: Path
) -> None:
    async with shop.app(tmp_path, api_keys=KEYS) as client:
        header = await client.post("/recommend", json=cart("roses-red-12"), headers=auth(SHOP))
        bearer = await client.post(
            "/recommend", json=cart("roses-red-12"), headers={"Authorization": f"bearer {SHOP}"}
        )
    assert header.status_code == bearer.status_code == 200
    assert header.json()["items"] == bearer.json()["items"]


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("POST", "/recommend", {SHOP}),
        ("POST", "/upgrade-offers", {SHOP}),
        ("POST", "/upgrade-offers/basic-100gb->plus-2tb/decline", {SHOP}),
        ("GET", "/next-sale", {CRM}),
        ("POST", "/next-sale", {CRM}),
        ("GET", "/metrics", {OPS}),
        ("GET", "/admin/merchandising", {ADMIN}),
    ],
)
async def test_each_route_answers_only_keys_with_its_scope(
    shop: Shop, tmp_path: Path, method: str, path: str, allowed: set[str]
) -> None:
    statuses: dict[str, int] = {}
    async with shop.app(tmp_path, api_keys=KEYS, admin_api_key=ADMIN) as client:
        for secret in (SHOP, CRM, OPS, ADMIN):
            # An empty body: a key with the scope gets past the gate and meets validation.
            response = await client.request(method, path, params=NEXT_SALE, headers=auth(secret))
            statuses[secret] = response.status_code
            if secret not in allowed:
                assert_refused(response, 403)
                assert response.json()["type"].endswith("/forbidden")
    assert {s for s, status in statuses.items() if status != 403} == allowed
    assert all(statuses[s] in (200, 404, 422) for s in allowed)


async def test_probes_and_the_api_description_stay_open(shop: Shop, tmp_path: Path) -> None:
    async with shop.app(tmp_path, api_keys=KEYS) as client:
        answers = [await client.get(path) for path in ("/healthz", "/readyz", "/openapi.json")]
    assert [a.status_code for a in answers] == [200, 200, 200]


async def test_the_key_is_checked_before_the_body_is_read(shop: Shop, tmp_path: Path) -> None:
    garbage = b"\xff{not json" * 6_000  # 60 KB, under the body limit
    headers = {"content-type": "application/json"}
    async with shop.app(tmp_path, api_keys=KEYS) as client:
        keyless = await client.post("/recommend", content=garbage, headers=headers)
        keyed = await client.post("/recommend", content=garbage, headers=headers | auth(SHOP))
    assert_refused(keyless, 401)
    assert keyed.status_code == 422  # the same body with a key is parsed, and refused as such


async def test_without_keys_the_api_is_open_but_administration_is_not(
    shop: Shop, tmp_path: Path
) -> None:
    async with shop.app(tmp_path) as client:
        recommend = await client.post("/recommend", json=cart("roses-red-12"))
        next_sale = await client.get("/next-sale", params=NEXT_SALE)
        admin = await client.get("/admin/merchandising", headers=auth(ADMIN))
    assert recommend.status_code == next_sale.status_code == 200
    assert_refused(admin, 403)
    assert "CARTLIFT_ADMIN_API_KEY" in admin.json()["detail"]


async def test_no_secret_reaches_logs_answers_or_metrics(
    shop: Shop, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async with shop.app(tmp_path, api_keys=KEYS, admin_api_key=ADMIN) as client:
        start = (await client.get("/metrics", headers=auth(OPS))).text
        texts = [
            (await client.post("/recommend", json=cart("tv-27"), headers=auth(secret))).text
            for secret in (STRANGER, SHOP, CRM, OPS)
        ]
        texts.append((await client.get("/metrics", headers=auth(OPS))).text)
    logged = capsys.readouterr()
    everything = "".join(texts) + logged.out + logged.err
    for secret in (*KEYS, ADMIN, STRANGER):
        assert secret.partition(":")[2 if ":" in secret else 0] not in everything
    refused = [
        metric(texts[-1], REJECTED, {"reason": reason})
        - metric(start, REJECTED, {"reason": reason})
        for reason in ("unknown", "scope")
    ]
    assert refused == [1, 2]  # labelled by why, never by which key


def keys_file_line(scopes: str, secret: str) -> str:
    return f"{scopes}:sha256:{hashlib.sha256(secret.encode()).hexdigest()}\n"


async def until_status(client: httpx.AsyncClient, secret: str, status: int) -> httpx.Response:
    for _ in range(60):  # the file is looked at every second
        response = await client.post("/recommend", json=cart("tv-27"), headers=auth(secret))
        if response.status_code == status:
            break
        await asyncio.sleep(0.1)
    return response


async def test_a_keys_file_rotates_keys_while_serving(shop: Shop, tmp_path: Path) -> None:
    old, new = "old-shop-key-0123456789", "new-shop-key-0123456789"
    path = tmp_path / "keys"
    path.write_text("# shop frontend\n" + keys_file_line("recommend", old))
    async with shop.app(tmp_path, api_keys_file=path) as client:
        before = await client.post("/recommend", json=cart("tv-27"), headers=auth(old))
        path.write_text(keys_file_line("recommend", old) + keys_file_line("recommend", new))
        both = [(await until_status(client, new, 200)).status_code]
        both.append(
            (await client.post("/recommend", json=cart("tv-27"), headers=auth(old))).status_code
        )
        path.write_text(keys_file_line("recommend", new))
        retired = await until_status(client, old, 401)
        path.write_text("this line is not a key\n")  # a broken file keeps the keys held
        await asyncio.sleep(1.5)
        kept = await client.post("/recommend", json=cart("tv-27"), headers=auth(new))
    assert before.status_code == 200 and both == [200, 200]
    assert_refused(retired, 401)
    assert kept.status_code == 200

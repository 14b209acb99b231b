"""Console sign-in over HTTP: the cookie, deep links, the brake on wrong keys, CSRF."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from app.console.auth import LoginThrottle
from app.demo.shop import DemoFiles
from tests.e2e.test_recommend import Shop, demo_shop

KEY = "console-admin-key-0123456789"
ADMIN_ELSEWHERE = "scoped-admin-key-0123456789"
PAGES = ("/console", "/console/rules?sku=roses-red-12", "/console/try?cart=roses-red-12")


@pytest.fixture(scope="module")
async def shop(postgres_url: str, demo_files: DemoFiles) -> AsyncIterator[Shop]:
    async with demo_shop(postgres_url, demo_files) as published:
        yield published


async def sign_in(client: httpx.AsyncClient, key: str = KEY, back_to: str = "") -> httpx.Response:
    form = {"key": key, **({"next": back_to} if back_to else {})}
    return await client.post("/console/login", data=form)


async def test_no_page_shows_anything_without_a_session(shop: Shop, tmp_path: Path) -> None:
    async with shop.app(tmp_path, admin_api_key=KEY) as client:
        for path in PAGES:
            response = await client.get(path)
            assert response.status_code == 303
            assert response.headers["location"].startswith("/console/login?next=")
        posted = await client.post("/console/rollback", data={"version": "1", "csrf": "x"})
    assert posted.status_code == 303 and "roses" not in posted.text


async def test_the_cookie_is_signed_http_only_strict_scoped_and_expires(
    shop: Shop, tmp_path: Path
) -> None:
    async with shop.app(tmp_path, admin_api_key=KEY) as client:
        response = await sign_in(client, back_to="/console/rules?sku=roses-red-12")
        page = await client.get(response.headers["location"])
    cookie = response.headers["set-cookie"].lower()
    assert response.status_code == 303
    assert response.headers["location"] == "/console/rules?sku=roses-red-12"
    for flag in ("httponly", "samesite=strict", "path=/console", "max-age=28800"):
        assert flag in cookie
    assert "secure" not in cookie and KEY.lower() not in cookie
    assert page.status_code == 200 and 'id="rules"' in page.text


async def test_the_cookie_is_secure_over_https(shop: Shop, tmp_path: Path) -> None:
    async with shop.app(tmp_path, admin_api_key=KEY) as client:
        client.base_url = httpx.URL("https://cartlift")
        response = await sign_in(client)
    assert "secure" in response.headers["set-cookie"].lower()


async def test_a_tampered_cookie_is_no_session(shop: Shop, tmp_path: Path) -> None:
    async with shop.app(tmp_path, admin_api_key=KEY) as client:
        await sign_in(client)
        token = client.cookies["cartlift_console"]
        client.cookies.set("cartlift_console", token[:-2] + "xx", path="/console")
        response = await client.get("/console")
    assert response.status_code == 303


async def test_a_new_admin_key_ends_the_old_sessions(shop: Shop, tmp_path: Path) -> None:
    async with shop.app(tmp_path, admin_api_key=KEY) as client:
        await sign_in(client)
        token = client.cookies["cartlift_console"]
    async with shop.app(tmp_path, admin_api_key=KEY + "-rotated") as client:
        client.cookies.set("cartlift_console", token, path="/console")
        response = await client.get("/console")
    assert response.status_code == 303


async def test_wrong_keys_are_slowed_down_even_before_a_right_one(
    shop: Shop, tmp_path: Path
) -> None:
    async with shop.app(tmp_path, admin_api_key=KEY) as client:
        wrong = [await sign_in(client, key=f"guess-{n}") for n in range(5)]
        braked = await sign_in(client)
    assert [response.status_code for response in wrong] == [401] * 5
    assert braked.status_code == 429 and int(braked.headers["retry-after"]) >= 1
    assert "cartlift_console" not in braked.headers.get("set-cookie", "")


async def test_next_never_leads_off_the_console(shop: Shop, tmp_path: Path) -> None:
    async with shop.app(tmp_path, admin_api_key=KEY) as client:
        for target in ("https://evil.example/", "//evil.example", "/consolex", "/console\\@x"):
            response = await sign_in(client, back_to=target)
            assert response.headers["location"] == "/console", target


async def test_the_console_is_off_without_an_admin_key(shop: Shop, tmp_path: Path) -> None:
    async with shop.app(tmp_path) as client:
        form = await client.get("/console/login")
        attempt = await sign_in(client, key="anything-at-all-here")
    assert form.status_code == 403 and "CARTLIFT_ADMIN_API_KEY" in form.text
    assert attempt.status_code == 403 and "set-cookie" not in attempt.headers


async def test_a_change_without_the_csrf_token_is_refused(shop: Shop, tmp_path: Path) -> None:
    async with shop.app(tmp_path, admin_api_key=KEY) as client:
        await sign_in(client)
        missing = await client.post("/console/rollback", data={"version": "1"})
        wrong = await client.post("/console/logout", data={"csrf": "not-it"})
        still = await client.get("/console")
    assert missing.status_code == 403 and wrong.status_code == 403
    assert still.status_code == 200  # the refused logout did not sign out


@pytest.mark.parametrize("where", ["api_keys", "api_keys_file"])
async def test_any_key_with_the_admin_scope_signs_in(
    shop: Shop, tmp_path: Path, where: str
) -> None:
    client_key = "client-only-key-0123456789"
    keys = [f"recommend+admin:{ADMIN_ELSEWHERE}", f"recommend:{client_key}"]
    async with shop.app(tmp_path, **_keys_setting(where, keys, tmp_path)) as client:
        form = await client.get("/console/login")
        signed_in = await sign_in(client, key=ADMIN_ELSEWHERE)
        page = await client.get("/console")
    assert form.status_code == 200 and 'name="key"' in form.text
    assert signed_in.status_code == 303 and "cartlift_console" in signed_in.headers["set-cookie"]
    assert page.status_code == 200


@pytest.mark.parametrize("where", ["api_keys", "api_keys_file"])
async def test_a_key_without_the_admin_scope_is_refused_like_a_wrong_key(
    shop: Shop, tmp_path: Path, where: str
) -> None:
    client_key = "client-only-key-0123456789"
    keys = [f"recommend+customer+metrics:{client_key}", f"admin:{ADMIN_ELSEWHERE}"]
    async with shop.app(tmp_path, **_keys_setting(where, keys, tmp_path)) as client:
        scoped = await sign_in(client, key=client_key)
        wrong = await sign_in(client, key="never-configured-0123456789")
        page = await client.get("/console")
    assert scoped.status_code == wrong.status_code == 401
    assert "not an admin key" in scoped.text and "set-cookie" not in scoped.headers
    assert scoped.text.replace(client_key, "") == scoped.text  # the key is not echoed
    assert page.status_code == 303


async def test_removing_an_admin_key_from_the_keys_file_ends_its_sessions(
    shop: Shop, tmp_path: Path
) -> None:
    keys_file = tmp_path / "keys"
    keys_file.write_text(_hashed(f"admin:{ADMIN_ELSEWHERE}") + "\n")
    async with shop.app(tmp_path, api_keys_file=keys_file) as client:
        await sign_in(client, key=ADMIN_ELSEWHERE)
        before = await client.get("/console")
        keys_file.write_text(_hashed(f"admin:{KEY}") + "\n")  # rotated: the old key is gone
        after = before
        for _ in range(50):  # the watcher rereads the file about every second
            after = await client.get("/console")
            if after.status_code == 303:
                break
            await asyncio.sleep(0.1)
    assert before.status_code == 200 and after.status_code == 303


def _hashed(entry: str) -> str:
    scopes, _, secret = entry.partition(":")
    return f"{scopes}:sha256:{hashlib.sha256(secret.encode()).hexdigest()}"


def _keys_setting(where: str, entries: list[str], tmp_path: Path) -> dict[str, Any]:
    if where == "api_keys":
        return {"api_keys": [SecretStr(entry) for entry in entries]}
    path = tmp_path / "keys"
    path.write_text("".join(_hashed(entry) + "\n" for entry in entries))
    return {"api_keys_file": path}


def test_the_throttle_forgets_failures_after_its_window() -> None:
    throttle = LoginThrottle(allowed=2, window=60)
    throttle.failed("a", now=0)
    throttle.failed("a", now=10)
    assert throttle.retry_after("a", now=11) == 49
    assert throttle.retry_after("b", now=11) == 0
    assert throttle.retry_after("a", now=60.5) == 0  # the first failure left the window
    throttle.succeeded("a")
    assert throttle.retry_after("a", now=61) == 0

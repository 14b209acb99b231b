"""Request ids: uuid-shaped, unique within a process and across forked workers; callers' checked."""

from __future__ import annotations

import os
import string
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from app.main import create_app
from app.middleware import _new_request_id
from tests.conftest import serving, settings_for


def test_ids_are_32_hex_digits_and_never_repeat() -> None:
    ids = [_new_request_id() for _ in range(10_000)]

    assert len(set(ids)) == len(ids)
    assert all(len(i) == 32 and set(i) <= set(string.hexdigits.lower()) for i in ids)


def test_a_forked_worker_draws_its_own_prefix() -> None:
    parent = _new_request_id()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report one id and leave at once
        os.write(write, _new_request_id().encode())
        os._exit(0)
    os.close(write)
    child = os.read(read, 64).decode()
    os.close(read)
    os.waitpid(pid, 0)

    assert len(child) == 32
    assert child[:16] != parent[:16]


@pytest.fixture
async def app_client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = settings_for(f"sqlite+aiosqlite:///{tmp_path}/empty.db", None, tmp_path)
    async with serving(create_app(settings)) as client:
        yield client


@pytest.mark.parametrize("given", ["req-42", "checkout.7f3a:2", "A" * 64])
async def test_a_well_formed_caller_id_is_echoed(app_client: httpx.AsyncClient, given: str) -> None:
    answer = await app_client.get("/healthz", headers={"x-request-id": given})
    assert answer.headers["x-request-id"] == given


@pytest.mark.parametrize("given", ["A" * 65, "two words", "<script>", "new\\u2028line", "a;b"])
async def test_any_other_caller_id_is_replaced_by_one_of_ours(
    app_client: httpx.AsyncClient, given: str
) -> None:
    answer = await app_client.get("/healthz", headers={b"x-request-id": given.encode("utf-8")})
    echoed = answer.headers["x-request-id"]
    assert echoed != given and len(echoed) == 32
    assert set(echoed) <= set(string.hexdigits.lower())

"""Concurrent flag reads share one store call, and each caller still gets exactly its own."""

from __future__ import annotations

import asyncio

import pytest
from redis.asyncio import Redis

from app.serving.flags import FlagReader
from app.serving.guard import CircuitBreaker, StoreGuard, StoreUnavailable
from app.store import keys
from app.store.base import RuleStore
from app.store.redis_store import RedisRuleStore, request_client
from tests.processes import free_port


def _guard() -> StoreGuard:
    return StoreGuard(0.5, CircuitBreaker(failures=100, reset_seconds=1))


async def _mget_calls(client: Redis) -> int:
    stats = await client.info("commandstats")
    calls: int = stats.get("cmdstat_mget", {}).get("calls", 0)
    return calls


async def test_each_caller_gets_its_own_flags(store: RuleStore) -> None:
    for customer in ("c1", "c3"):
        await store.put_flag(keys.cooldown(customer, "plus"), b"declined", 60)
    await store.put_flag(keys.cooldown("c3", "pro"), b"declined", 60)
    reader = FlagReader(store, _guard())
    wanted = {f"c{n}": [keys.cooldown(f"c{n}", p) for p in ("plus", "pro")] for n in range(5)}

    answers = await asyncio.gather(*(reader.get(names) for names in wanted.values()))

    got = dict(zip(wanted, answers, strict=True))
    assert got["c1"] == [b"declined", None]
    assert got["c3"] == [b"declined", b"declined"]
    assert got["c0"] == got["c2"] == got["c4"] == [None, None]
    assert await reader.get([]) == []


async def test_callers_of_one_loop_turn_share_one_mget(redis_client: Redis) -> None:
    await redis_client.set(keys.cooldown("c7", "plus"), b"declined")
    reader = FlagReader(RedisRuleStore(redis_client), _guard())
    names = [[keys.cooldown(f"c{n}", "plus")] for n in range(20)]
    before = await _mget_calls(redis_client)

    answers = await asyncio.gather(*(reader.get(batch) for batch in names))

    assert await _mget_calls(redis_client) - before == 1
    assert [n for n, answer in enumerate(answers) if answer == [b"declined"]] == [7]
    # Later turns send their own call: nothing is left waiting for a batch that already went.
    assert await reader.get(names[7]) == [b"declined"]
    assert await reader.get(names[8]) == [None]
    assert await _mget_calls(redis_client) - before == 3


async def test_a_cancelled_caller_leaves_the_others_their_answer(redis_client: Redis) -> None:
    await redis_client.set(keys.cooldown("c2", "plus"), b"declined")
    reader = FlagReader(RedisRuleStore(redis_client), _guard())
    tasks = [asyncio.create_task(reader.get([keys.cooldown(f"c{n}", "plus")])) for n in range(4)]
    await asyncio.sleep(0)  # every task is now waiting on the shared call
    tasks[1].cancel()

    done = await asyncio.gather(*tasks, return_exceptions=True)

    assert isinstance(done[1], asyncio.CancelledError)
    assert [done[0], done[2], done[3]] == [[None], [b"declined"], [None]]


async def test_a_failed_store_call_fails_every_caller_alike() -> None:
    dead = request_client(f"redis://127.0.0.1:{free_port()}/0", timeout_ms=50, pool_size=4)
    reader = FlagReader(RedisRuleStore(dead), _guard())
    try:
        results = await asyncio.gather(
            *(reader.get([keys.cooldown(f"c{n}", "plus")]) for n in range(5)),
            return_exceptions=True,
        )
        assert all(isinstance(result, StoreUnavailable) for result in results), results
        with pytest.raises(StoreUnavailable):  # and so does the next turn's call
            await reader.get([keys.cooldown("c1", "plus")])
    finally:
        await dead.aclose()

"""Declines held in process: loaded, followed, expired and refused when out of step."""

from __future__ import annotations

import asyncio

import pytest
from prometheus_client import REGISTRY
from redis.asyncio import Redis

from app.published import keys
from app.serving.cooldowns import Cooldowns
from app.serving.guard import CircuitBreaker, StoreGuard, StoreUnavailable
from app.store.base import Decline, RuleStore
from app.store.redis_store import RedisRuleStore, request_client
from tests.processes import free_port

PLANS = ("plus", "pro", "max")


def _cooldowns(store: RuleStore, seconds: float = 3600, stale_after: float = 60) -> Cooldowns:
    guard = StoreGuard(0.5, CircuitBreaker(failures=100, reset_seconds=1))
    return Cooldowns(store, guard, cooldown_seconds=seconds, stale_after=stale_after)


async def test_declines_written_elsewhere_are_loaded_then_followed(store: RuleStore) -> None:
    await store.record_decline("c1", "plus", keep_seconds=3600)
    held = _cooldowns(store)
    await held.sync()
    assert held.declined("c1", PLANS) == {"plus"}
    assert held.declined("c2", PLANS) == frozenset()

    await store.record_decline("c1", "max", keep_seconds=3600)
    await store.record_decline("c2", "pro", keep_seconds=3600)
    assert held.declined("c2", PLANS) == frozenset()  # not until the next sync
    await held.sync()

    assert held.declined("c1", PLANS) == {"plus", "max"}
    assert held.declined("c2", PLANS) == {"pro"}
    assert held.declined("c2", ("plus",)) == frozenset()  # only the plans asked about


async def test_a_decline_expires_after_the_cooldown(store: RuleStore) -> None:
    held = _cooldowns(store, seconds=0.3)
    await held.sync()
    await store.record_decline("c1", "plus", keep_seconds=0.3)
    await held.sync()
    assert held.declined("c1", PLANS) == {"plus"}

    await asyncio.sleep(0.4)
    await held.sync()

    assert held.declined("c1", PLANS) == frozenset()


async def test_this_processs_own_decline_counts_before_any_sync(store: RuleStore) -> None:
    held = _cooldowns(store)
    await held.sync()
    at = await store.record_decline("c9", "pro", keep_seconds=3600)
    held.remember(Decline("c9", "pro", at))

    assert held.declined("c9", PLANS) == {"pro"}


async def test_never_loaded_or_out_of_step_too_long_is_unavailable(store: RuleStore) -> None:
    never = _cooldowns(store)
    with pytest.raises(StoreUnavailable, match="not loaded"):
        never.declined("c1", PLANS)

    dead = request_client(f"redis://127.0.0.1:{free_port()}/0", timeout_ms=50, pool_size=2)
    try:
        held = _cooldowns(RedisRuleStore(dead))
        await held.sync()  # fails: the store is not there
        with pytest.raises(StoreUnavailable):
            held.declined("c1", PLANS)
    finally:
        await dead.aclose()

    stale = _cooldowns(store, stale_after=0.2)
    await stale.sync()
    assert stale.declined("c1", PLANS) == frozenset()
    await asyncio.sleep(0.3)  # no sync in between
    with pytest.raises(StoreUnavailable, match="not read for"):
        stale.declined("c1", PLANS)


def _sample(name: str) -> float:
    return REGISTRY.get_sample_value(name) or 0.0


async def test_a_process_holds_at_most_the_cap_dropping_the_oldest(store: RuleStore) -> None:
    for customer in ("c1", "c2", "c3", "c4", "c5"):
        await store.record_decline(customer, "plus", keep_seconds=3600)
    evicted = _sample("cartlift_declines_evicted_total")
    held = Cooldowns(
        store,
        StoreGuard(0.5, CircuitBreaker(failures=100, reset_seconds=1)),
        cooldown_seconds=3600,
        stale_after=60,
        held_max=3,
    )
    await held.sync()

    assert held.held == 3
    assert _sample("cartlift_declines_held") == 3
    assert _sample("cartlift_declines_evicted_total") - evicted == 2
    assert [c for c in ("c1", "c2", "c3", "c4", "c5") if held.declined(c, PLANS)] == [
        "c3",
        "c4",
        "c5",
    ]
    at = await store.record_decline("c1", "pro", keep_seconds=3600)
    held.remember(Decline("c1", "pro", at))  # the newest: c3 goes
    assert held.declined("c1", PLANS) == {"pro"}
    assert held.declined("c3", PLANS) == frozenset()


async def test_declines_past_their_cooldown_are_never_held(store: RuleStore) -> None:
    await store.record_decline("old", "plus", keep_seconds=3600)
    await asyncio.sleep(0.3)
    await store.record_decline("new", "plus", keep_seconds=3600)
    held = _cooldowns(store, seconds=0.2)
    await held.sync()

    assert held.held == 1
    assert held.declined("new", PLANS) == {"plus"}


async def test_redis_keeps_declines_for_the_cooldown_only(redis_client: Redis) -> None:
    store = RedisRuleStore(redis_client)
    await store.record_decline("c1", "plus", keep_seconds=600)
    assert 590 <= await redis_client.ttl(keys.DECLINES) <= 600  # the set goes with its last one

    await store.record_decline("c2", "plus", keep_seconds=0.2)
    await asyncio.sleep(0.3)
    assert await redis_client.exists(keys.DECLINES) == 0

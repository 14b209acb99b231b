"""The RuleStore contract, run against every backend (Redis and file snapshots)."""

from __future__ import annotations

import asyncio

import pytest

from app.published import keys
from app.store.base import Decline, RuleStore, StoreError, UnknownVersion
from app.store.redis_store import RedisRuleStore
from tests.conftest import fresh_redis


async def publish(store: RuleStore, entries: dict[str, bytes], keep: int = 3) -> int:
    version = await store.allocate_version()
    await store.write_entries(version, entries.items())
    await store.activate(version, keep=keep)
    return version


async def test_nothing_is_current_before_the_first_publish(store: RuleStore) -> None:
    assert await store.current_version() is None
    assert await store.versions() == []


async def test_a_published_version_is_read_back_in_one_call(store: RuleStore) -> None:
    version = await publish(store, {"r:a": b'[["b"]]', keys.META: b"{}"})
    assert await store.current_version() == version
    assert await store.fetch(version, ["r:a", "r:missing", keys.META]) == [b'[["b"]]', None, b"{}"]
    assert await store.entry_names(version) == sorted(["r:a", keys.META])


async def test_readers_see_the_old_version_until_the_new_one_is_activated(store: RuleStore) -> None:
    first = await publish(store, {"r:a": b"1"})
    second = await store.allocate_version()
    await store.write_entries(second, [("r:a", b"2")])
    assert await store.current_version() == first
    await store.activate(second, keep=3)
    assert await store.current_version() == second
    assert await store.fetch(first, ["r:a"]) == [b"1"]


async def test_only_the_last_versions_are_kept(store: RuleStore) -> None:
    published = [await publish(store, {"r:a": str(i).encode()}, keep=2) for i in range(4)]
    assert await store.versions() == published[-2:]
    assert await store.fetch(published[0], ["r:a"]) == [None]


async def test_unfinished_versions_are_discarded_and_current_is_untouched(store: RuleStore) -> None:
    live = await publish(store, {"r:a": b"live"})
    crashed = await store.allocate_version()
    await store.write_entries(crashed, [("r:a", b"half")])
    assert await store.discard_unfinished() == [crashed]
    assert await store.current_version() == live
    assert crashed not in await store.versions()
    assert await store.discard_unfinished() == []


async def test_rollback_flips_to_a_held_version_and_refuses_unknown_ones(store: RuleStore) -> None:
    first = await publish(store, {"r:a": b"1"})
    await publish(store, {"r:a": b"2"})
    await store.rollback(first)
    assert await store.current_version() == first
    with pytest.raises(UnknownVersion):
        await store.rollback(999)


async def test_versions_are_never_reused(store: RuleStore) -> None:
    first = await store.allocate_version()
    await store.discard_unfinished()
    assert await store.allocate_version() > first


async def test_flags_expire_and_survive_publishes(store: RuleStore) -> None:
    await store.put_flag(keys.MERCHANDISING, b"[]", 0)
    await store.put_flag("cartlift:test:short", b"1", 1)
    await store.put_flag("cartlift:test:long", b"1", 3600)
    await publish(store, {"r:a": b"1"})
    assert await store.get_flags([keys.MERCHANDISING, "cartlift:test:long", "nope"]) == [
        b"[]",
        b"1",
        None,
    ]
    await asyncio.sleep(1.1)
    assert await store.get_flags(["cartlift:test:short"]) == [None]


async def test_declines_are_read_back_in_the_stores_time(store: RuleStore) -> None:
    before = (await store.declines_since(float("-inf"))).now
    first = await store.record_decline("c|1", "plus", keep_seconds=3600)
    second = await store.record_decline('c"2', "pro:2tb", keep_seconds=3600)
    again = await store.record_decline("c|1", "plus", keep_seconds=3600)  # declined again

    everything = await store.declines_since(float("-inf"))
    later = await store.declines_since(second)

    assert before <= first <= second <= again <= everything.now
    assert sorted(everything.declines, key=lambda d: d.at) == [
        Decline('c"2', "pro:2tb", second),
        Decline("c|1", "plus", again),
    ]
    assert {d.customer_id for d in later.declines} == {'c"2', "c|1"}
    assert (await store.declines_since(everything.now + 1)).declines == []


async def test_recording_a_decline_forgets_the_ones_older_than_kept(store: RuleStore) -> None:
    await store.record_decline("old", "plus", keep_seconds=3600)
    await asyncio.sleep(0.05)
    await store.record_decline("new", "plus", keep_seconds=0.01)

    held = await store.declines_since(float("-inf"))

    assert [d.customer_id for d in held.declines] == ["new"]


async def test_a_version_discarded_while_written_can_never_go_live(store: RuleStore) -> None:
    live = await publish(store, {"r:a": b"live"})
    lost = await store.allocate_version()
    await store.write_entries(lost, [("r:a", b"half")])
    await store.discard_unfinished()  # what a second run does after the first lost its lock
    with pytest.raises(StoreError, match="discarded"):
        await store.activate(lost, keep=3)
    assert await store.current_version() == live


async def test_a_reader_sees_all_of_one_version_never_a_mix(store: RuleStore) -> None:
    names = [keys.item_rules(f"sku-{i}") for i in range(300)]
    await publish(store, dict.fromkeys(names, b"old"))
    seen: set[frozenset[bytes | None]] = set()

    async def read_until(done: asyncio.Event) -> None:
        while not done.is_set():
            version = await store.current_version()
            assert version is not None
            seen.add(frozenset(await store.fetch(version, names)))
            await asyncio.sleep(0)

    done = asyncio.Event()
    reader = asyncio.create_task(read_until(done))
    for value in (b"new", b"newer"):
        await publish(store, dict.fromkeys(names, value), keep=5)
    done.set()
    await reader
    assert seen <= {frozenset({b"old"}), frozenset({b"new"}), frozenset({b"newer"})}


async def test_the_signing_secret_is_made_once_then_the_same_for_every_caller(
    store: RuleStore,
) -> None:
    first, *others = await asyncio.gather(*(store.signing_secret() for _ in range(8)))
    assert len(first) == 32 and set(others) == {first}
    assert await store.signing_secret() == first


class Killed(Exception):
    """The job died here."""


class DiesWhileDeleting(RedisRuleStore):
    """A Redis store whose job is killed after it retired a version, before its keys are gone."""

    async def _delete_entries(self, version: int) -> None:
        raise Killed


async def test_a_version_dropped_halfway_is_finished_by_the_next_cleanup() -> None:
    async with fresh_redis() as client:
        store = RedisRuleStore(client)
        first = await publish(store, {"r:a": b"1", "r:b": b"1"}, keep=1)
        second = await store.allocate_version()
        await store.write_entries(second, [("r:a", b"2")])
        with pytest.raises(Killed):
            await DiesWhileDeleting(client).activate(second, keep=1)

        assert await store.current_version() == second
        assert await store.versions() == [second]
        assert len(await client.keys(keys.version_pattern(first))) == 2, "left behind"
        assert await store.discard_unfinished() == [first]
        assert await client.keys(keys.version_pattern(first)) == []
        assert await store.fetch(second, ["r:a"]) == [b"2"]

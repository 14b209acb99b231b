"""What only a Redis Cluster adds to the store contract: entries spread over every master."""

from __future__ import annotations

from redis import Redis

from app.published import keys
from tests.conftest import fresh_cluster
from tests.integration.test_store_contract import publish
from tests.redis_cluster import Cluster


async def test_the_entries_of_a_version_spread_over_every_master(shared_cluster: Cluster) -> None:
    entries = {keys.item_rules(f"sku-{i}"): b"[]" for i in range(300)}
    async with fresh_cluster(shared_cluster.url) as store:
        version = await publish(store, entries)
        per_master = [_keys_held(port) for port in shared_cluster.ports]
        names = await store.entry_names(version)
    assert sum(per_master) >= len(entries)
    assert all(count > len(entries) / 10 for count in per_master), per_master
    assert names == sorted(entries)


async def test_the_control_keys_share_one_slot_and_the_entries_do_not(
    shared_cluster: Cluster,
) -> None:
    control = keys.CLUSTER_CONTROL
    with Redis(port=shared_cluster.ports[0]) as node:

        def slot(key: str) -> int:
            return int(node.execute_command("CLUSTER", "KEYSLOT", key))

        control_slots = {
            slot(key)
            for key in (control.current, control.next_version, control.versions, control.building)
        }
        entry_slots = {slot(keys.versioned(1, keys.item_rules(f"sku-{i}"))) for i in range(50)}
    assert len(control_slots) == 1
    assert len(entry_slots) > 40


def _keys_held(port: int) -> int:
    with Redis(port=port) as node:
        return int(node.dbsize())

"""Redis memory per million published rules, per entry kind, on one Redis and on a cluster.

Usage: uv run python loadtests/bench_store_memory.py [--baskets 100000,300000,1000000]
       [--keep 3] [--no-cluster]
       uv run python loadtests/bench_store_memory.py --from-url redis://127.0.0.1:6379/10

Per size: Zipf baskets of the demo's shape (`zipf_baskets`, SKUs named as the demo names
them) are mined with the rebuild's default thresholds; each entry kind the rebuild writes
is then encoded with the rebuild's own code and published with `publish_version` into a
private, empty `redis-server` (no persistence) on a free loopback port, one version per
kind, so the growth of INFO `used_memory` is that kind's cost:

- rules: `rule_entries`, one `r:`/`r2:` entry per antecedent (top 50 rules each);
- weights: `weight_entries` from `learn_item_weights` (at most 2,000 items, so a constant);
- sequences: `seq:` entries, one per antecedent SKU, its best item rules standing in for
  the follow-ups the sequence miner would find (10 at most, with delays);
- customers: `cust:` entries, one per customer (one per ORDERS_PER_CUSTOMER baskets), their
  last 8 distinct SKUs with dates and the embedded best 5 follow-ups of each.

Before that, on the fresh server, the smallest size's full version is published
`keep + 2` times with `--keep` versions kept, and the peak `used_memory` compared with one
version: a store holds `keep` sealed versions plus the one being written. With a cluster
(`tests/redis_cluster.py`: three masters, no replicas) the same versions are published and
`used_memory` summed over the masters. Prints one `bench_store_memory` line per measurement.

`--from-url` instead reads the live version of a store a real `cartlift rebuild` filled
and prints, per entry kind, the count and the average `MEMORY USAGE` of its keys.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import orjson
from redis import Redis
from redis.exceptions import RedisError

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.demo.synthetic import ORDERS_PER_CUSTOMER, sku_name  # noqa: E402
from app.jobs.entries import Entry, rule_entries, weight_entries  # noqa: E402
from app.jobs.progress import Silent  # noqa: E402
from app.jobs.publish import publish_version  # noqa: E402
from app.jobs.rebuild import RebuildOptions  # noqa: E402
from app.mining import encode_baskets, item_counts, mine_rules, zipf_baskets  # noqa: E402
from app.mining.item_weights import learn_item_weights  # noqa: E402
from app.mining.rules import RuleTable  # noqa: E402
from app.published import keys  # noqa: E402
from app.published.sequences import (  # noqa: E402
    FollowUp,
    Refill,
    SequenceEntry,
    encode_customer_days,
    encode_sequence,
)
from app.store.base import RuleStore  # noqa: E402
from app.store.redis_cluster_store import RedisClusterRuleStore, cluster_job_client  # noqa: E402
from app.store.redis_store import RedisRuleStore, job_client  # noqa: E402
from tests.redis_cluster import redis_cluster  # noqa: E402

SEED = 20_260_105
SKUS_PER_BASKET = 50  # catalog size grows with the shop: 1M baskets x 20k SKUs, as bench_rebuild
CUSTOMER_PURCHASES = 8
CUSTOMER_FOLLOW_UPS = 5
SEQUENCE_FOLLOW_UPS = 10
WINDOW_DAYS = 90
KINDS = ("rules", "weights", "sequences", "customers")


@dataclass
class Version:
    """The entries of one version by kind, and how many rules the rules kind holds."""

    baskets: int
    skus: int
    rules: int
    kinds: dict[str, list[Entry]]


@dataclass
class Nodes:
    """Where to read INFO memory: one Redis, or every master of a cluster."""

    label: str
    ports: list[int]
    store: Callable[[], RuleStore]

    def used_memory(self) -> int:
        return sum(_info(port)["used_memory"] for port in self.ports)

    def peak_memory(self) -> int:
        return sum(_info(port)["used_memory_peak"] for port in self.ports)

    def reset(self) -> None:
        for port in self.ports:
            with Redis(port=port, socket_timeout=60) as node:
                node.flushall(asynchronous=False)
                node.config_resetstat()
                node.execute_command("MEMORY", "PURGE")


def _info(port: int) -> dict[str, int]:
    with Redis(port=port, socket_timeout=10) as node:
        info = node.info("memory")
    return {name: int(info[name]) for name in ("used_memory", "used_memory_peak")}


def build_version(n_baskets: int, min_count: int | None) -> Version:
    n_skus = max(1_000, n_baskets // SKUS_PER_BASKET)
    basket_ids, items = zipf_baskets(n_baskets, n_skus, SEED)
    matrix = encode_baskets(basket_ids, items, n_skus)
    counts = item_counts(matrix)
    rules = mine_rules(matrix, RebuildOptions(min_count=min_count).thresholds(n_baskets))
    skus = [sku_name(code) for code in range(n_skus)]
    rule_list = list(rule_entries(rules, skus))
    weights = list(weight_entries(learn_item_weights(matrix, counts), skus))
    sequences = sequence_entries(rules, skus)
    customers = customer_entries(basket_ids, items, skus, sequences)
    kinds = {
        "rules": rule_list,
        "weights": weights,
        "sequences": sorted((keys.sequence_rules(sku), raw) for sku, raw in sequences.items()),
        "customers": customers,
    }
    return Version(n_baskets, n_skus, len(rules), kinds)


def sequence_entries(rules: RuleTable, skus: list[str]) -> dict[str, bytes]:
    """`seq:` values for every single-item antecedent: its best rules as follow-ups."""
    single = np.flatnonzero(rules.antecedent[:, 1] < 0)
    follow_ups: dict[str, list[FollowUp]] = {}
    for row in single.tolist():
        found = follow_ups.setdefault(skus[int(rules.antecedent[row, 0])], [])
        if len(found) < SEQUENCE_FOLLOW_UPS:
            found.append(_follow_up(rules, row, skus))
    refill = Refill(28.0, 21.0, 35.0, 12, 0.31)
    return {
        sku: encode_sequence(SequenceEntry(WINDOW_DAYS, tuple(found), refill if i % 3 else None))
        for i, (sku, found) in enumerate(sorted(follow_ups.items()))
    }


def _follow_up(rules: RuleTable, row: int, skus: list[str]) -> FollowUp:
    return FollowUp(
        skus[int(rules.consequent[row])],
        int(rules.count[row]),
        float(rules.support[row]),
        float(rules.confidence[row]),
        float(rules.lift[row]),
        float(14 + row % 30),
        float(7 + row % 20),
        float(30 + row % 40),
    )


def customer_entries(
    basket_ids: np.ndarray, items: np.ndarray, skus: list[str], sequences: dict[str, bytes]
) -> list[Entry]:
    """One `cust:` entry per customer: their last distinct SKUs, newest first, with dates."""
    customer = basket_ids // ORDERS_PER_CUSTOMER
    short = {sku: _shortened(raw) for sku, raw in sequences.items()}
    entries: list[Entry] = []
    bounds = np.flatnonzero(np.diff(customer)) + 1
    for who, bought in enumerate(np.split(items, bounds)):
        recent = list(dict.fromkeys(skus[code] for code in bought[::-1].tolist()))
        recent = recent[:CUSTOMER_PURCHASES]
        days = [f"2026-{1 + k % 12:02d}-{1 + (who + k) % 28:02d}" for k in range(len(recent))]
        embedded = {sku: short[sku] for sku in recent if sku in short}
        value = encode_customer_days(list(zip(recent, days, strict=True)), embedded)
        entries.append((keys.customer_purchases(str(who + 1)), value))
    return sorted(entries)


def _shortened(raw: bytes) -> bytes:
    """What the next-sale section embeds: the entry with its best few follow-ups only."""
    doc = orjson.loads(raw)
    doc["f"] = doc["f"][:CUSTOMER_FOLLOW_UPS]
    return orjson.dumps(doc)


async def publish(store: RuleStore, entries: list[Entry], keep: int) -> None:
    await publish_version(store, entries, dict, keep=keep, reporter=Silent())


async def measure_kinds(nodes: Nodes, version: Version) -> None:
    """Growth of used_memory as each kind is published as a version of its own."""
    nodes.reset()
    async with _opened(nodes) as store:
        for kind in KINDS:
            entries = version.kinds[kind]
            before = nodes.used_memory()
            started = time.perf_counter()
            await publish(store, entries, keep=100)
            grown = nodes.used_memory() - before
            _print_kind(nodes.label, version, kind, entries, grown, time.perf_counter() - started)


def _print_kind(
    label: str, version: Version, kind: str, entries: list[Entry], grown: int, seconds: float
) -> None:
    count = max(len(entries), 1)
    value_bytes = sum(len(name) + len(value) for name, value in entries) / count
    per_rule = f" bytes_per_rule={grown / max(version.rules, 1):.0f}" if kind == "rules" else ""
    print(
        f"bench_store_memory store={label} baskets={version.baskets} skus={version.skus} "
        f"kind={kind} entries={len(entries)} rules={version.rules if kind == 'rules' else '-'} "
        f"used_memory_growth={grown} bytes_per_entry={grown / count:.0f} "
        f"name_plus_value_bytes={value_bytes:.0f}"
        f"{per_rule} publish_s={seconds:.1f}",
        flush=True,
    )


async def measure_keep(nodes: Nodes, version: Version, keep: int) -> None:
    """Peak used_memory while publishing `keep + 2` full versions with `keep` kept."""
    full = sorted(entry for kind in KINDS for entry in version.kinds[kind])
    nodes.reset()
    baseline = nodes.used_memory()
    async with _opened(nodes) as store:
        await publish(store, full, keep=keep)
        one = nodes.used_memory() - baseline
        for _ in range(keep + 1):
            await publish(store, full, keep=keep)
        held = nodes.used_memory() - baseline
    peak = nodes.peak_memory() - baseline
    print(
        f"bench_store_memory store={nodes.label} baskets={version.baskets} kind=all "
        f"entries={len(full)} rules={version.rules} keep={keep} one_version={one} "
        f"held_after={held} peak={peak} peak_vs_one={peak / max(one, 1):.2f} "
        f"all_bytes_per_rule_one_version={one / max(version.rules, 1):.0f} "
        f"all_bytes_per_rule_at_peak={peak / max(version.rules, 1):.0f}",
        flush=True,
    )


@asynccontextmanager
async def _opened(nodes: Nodes) -> AsyncIterator[RuleStore]:
    store = nodes.store()
    try:
        yield store
    finally:
        await store.close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def single_redis(directory: Path) -> Iterator[Nodes]:
    server = shutil.which("redis-server")
    if server is None:
        raise SystemExit("redis-server is not on PATH (Debian package redis-server)")
    port = _free_port()
    argv = [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly"]
    argv += ["no", "--dir", str(directory)]
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for(port)
        url = f"redis://127.0.0.1:{port}/0"
        yield Nodes("redis", [port], lambda: RedisRuleStore(job_client(url)))
    finally:
        process.terminate()
        process.wait(timeout=30)


def _wait_for(port: int) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with Redis(port=port, socket_timeout=1) as node:
                node.ping()
                return
        except (OSError, RedisError):  # not listening yet, or still loading
            time.sleep(0.05)
    raise TimeoutError(f"redis-server on {port} did not answer")


@contextmanager
def cluster_redis(directory: Path) -> Iterator[Nodes]:
    with redis_cluster(directory) as cluster:
        url = cluster.url
        yield Nodes(
            "cluster3",
            list(cluster.ports),
            lambda: RedisClusterRuleStore(cluster_job_client(url)),
        )


def measure_live(url: str) -> None:
    """Per kind (the part of the entry name before its first colon), MEMORY USAGE of the keys."""
    with Redis.from_url(url, socket_timeout=60) as client:
        current = client.get(keys.CURRENT)
        if current is None:
            raise SystemExit(f"no live version at {url}: run `cartlift rebuild` first")
        prefix = len(keys.versioned(int(current), ""))
        names = list(client.scan_iter(match=keys.version_pattern(int(current)), count=1000))
        pipe = client.pipeline(transaction=False)
        for name in names:
            pipe.memory_usage(name, samples=0)
        usage = pipe.execute()
    totals: dict[str, list[int]] = {}
    for name, used in zip(names, usage, strict=True):
        kind = name.decode()[prefix:].split(":", 1)[0]
        totals.setdefault(kind, []).append(int(used or 0))
    rule_names = [n for n in names if keys.rule_antecedent(n.decode()[prefix:]) is not None]
    rules = _rule_rows(url, rule_names)
    rule_bytes = sum(sizes for kind in ("r", "r2") for sizes in totals.get(kind, []))
    print(
        f"bench_store_memory store=live version={int(current)} kind=rules rules={rules} "
        f"memory_usage_bytes={rule_bytes} bytes_per_rule={rule_bytes / max(rules, 1):.0f}",
        flush=True,
    )
    for kind, sizes in sorted(totals.items()):
        print(
            f"bench_store_memory store=live version={int(current)} kind={kind} "
            f"entries={len(sizes)} memory_usage_bytes={sum(sizes)} "
            f"bytes_per_entry={sum(sizes) / len(sizes):.0f}",
            flush=True,
        )


def _rule_rows(url: str, names: list[bytes]) -> int:
    with Redis.from_url(url, socket_timeout=60) as client:
        values = client.mget(names) if names else []
    return sum(len(orjson.loads(value)) for value in values if value is not None)


async def run(nodes: Nodes, versions: list[Version], keep: int | None) -> None:
    if keep is not None:  # first, on a fresh server: INFO's used_memory_peak is a lifetime max
        await measure_keep(nodes, versions[0], keep)
    for version in versions:
        await measure_kinds(nodes, version)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baskets", default="100000,300000,1000000")
    parser.add_argument("--keep", type=int, default=3, help="CARTLIFT_KEEP_VERSIONS to model")
    parser.add_argument("--no-cluster", action="store_true")
    parser.add_argument("--no-keep", action="store_true", help="skip the keep-versions peak")
    parser.add_argument("--min-count", type=int, help="mine more rules than the default does")
    parser.add_argument("--from-url", help="report the live version of this store instead")
    args = parser.parse_args()
    if args.from_url:
        measure_live(args.from_url)
        return
    versions = []
    for n in (int(part) for part in args.baskets.split(",")):
        started = time.perf_counter()
        versions.append(build_version(n, args.min_count))
        print(f"bench_store_memory built baskets={n} in {time.perf_counter() - started:.1f}s")
    with tempfile.TemporaryDirectory(prefix="bench-store-memory-") as scratch:
        with single_redis(Path(scratch)) as nodes:
            asyncio.run(run(nodes, versions, None if args.no_keep else args.keep))
        if not args.no_cluster:
            with cluster_redis(Path(scratch) / "cluster") as nodes:
                asyncio.run(run(nodes, versions, None if args.no_keep else args.keep))


if __name__ == "__main__":
    main()

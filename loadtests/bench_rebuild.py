"""Benchmark: full rebuild of 1,000,000 synthetic orders over 20,000 SKUs, Postgres -> Redis.

Targets of the full `cartlift rebuild`, run as a child process so its own peak RSS is
measured: 1M orders under 30 s wall and 1 GiB, 10M orders x 100k SKUs under 3 minutes and
4 GiB (GOALS; `ok=-` where none is set). The data is imported once into a throwaway
database (dropped afterwards unless --keep-db names one to reuse between runs) and the
rules go to a dedicated Redis db that is flushed before and after.

Prints `bench_rebuild engine=.. orders=.. skus=.. wall_s=.. cpu_s=.. read_s=.. count_s=..
mine_s=.. sections_s=.. publish_s=.. read_cpu_s=.. (and each stage's CPU in the job)
peak_rss_mb=.. rules=.. load_avg=..` and the same per million orders (the cost curve: run
`--size 1m`, `3m` and `10m`, with `--engine numpy` and `--engine spark`; peak_rss_mb counts
the Spark JVM too), then how the default min_count does on this data and on the demo shop
(rules, planted pairs found, hit rate@3 against popularity). The machine may be shared:
cpu_s (user + system of the rebuild) moves much less than wall_s.

    uv run python loadtests/bench_rebuild.py --size 3m --keep-db cartlift_bench_3m --no-demo
    uv run --extra spark python loadtests/bench_rebuild.py --size 1m --engine spark --no-sweep
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from typing import Any

import numpy as np
import orjson
from bench_import import (
    Measured,
    cartlift,
    run_measured,
    synthetic_files,
    throwaway_database,
    warm_up,
)
from redis import Redis

from app.db.engine import make_engine
from app.demo.synthetic import sku_name
from app.jobs.products import read_catalog
from app.jobs.sources import compact_codes, read_lines
from app.mining.baskets import encode_baskets
from app.mining.rules import mine_rules, thresholds_from

# Stages of the job's timings: spark_start (the JVM and session), read, count (the engine),
# co_count (Spark: the item-weight co-counts), engine (all of those: its CPU is this
# process's, the JVM's not included), mine (rules and weights), sections, publish.
STAGES = ("spark_start", "read", "count", "co_count", "engine", "mine", "sections", "publish")
REDIS_URL = os.environ.get("CARTLIFT_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
SEED = 42
# --size presets: orders and SKUs of the cost-curve points.
SIZES = {"1m": (1_000_000, 20_000), "3m": (3_000_000, 50_000), "10m": (10_000_000, 100_000)}
# Goals of the full rebuild by orders: wall seconds and peak RSS in MiB.
GOALS = {1_000_000: (30, 1024), 10_000_000: (180, 4096)}
# The same command with the registered sections (next-sale, plans) left out: the cost of
# the co-purchase rules alone, to tell it apart from what the sections add.
RULES_ONLY = (
    "bench_rebuild_rules_only",
    [
        sys.executable,
        "-c",
        "import app.jobs.rebuild as job; job.SECTIONS = ()\nfrom app.cli.main import main; main()",
        "rebuild",
    ],
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", choices=SIZES, help="orders x SKUs preset (1m is 1M x 20k)")
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--skus", type=int, default=20_000)
    parser.add_argument("--keep-db", help="reuse (and keep) this database between runs")
    parser.add_argument("--runs", type=int, default=1, help="rebuilds to time")
    parser.add_argument("--engine", choices=("numpy", "spark"), default="numpy")
    parser.add_argument("--no-demo", action="store_true", help="skip the demo shop part")
    parser.add_argument("--no-sweep", action="store_true", help="skip the min_count sweep")
    parser.add_argument(
        "--prepare-only", action="store_true", help="write and import the data (--keep-db), no run"
    )
    options = parser.parse_args()
    if options.size:
        options.orders, options.skus = SIZES[options.size]
    products, orders = synthetic_files(options.orders, options.skus)
    warm_up()
    with throwaway_database("cartlift_bench_rebuild", options.keep_db) as (url, existed):
        env = {"CARTLIFT_DATABASE_URL": url, "CARTLIFT_REDIS_URL": REDIS_URL}
        if not existed:
            _import(env, products, orders)
        if options.prepare_only:
            return
        for _ in range(options.runs):
            runs = (("bench_rebuild", cartlift("rebuild")), RULES_ONLY)
            for name, command in runs:
                _flush()
                engine = ["--engine", options.engine]
                measured = _checked(run_measured([*command, *engine], env), name)
                summary = _summary(measured)
                _report(name, measured, summary)
        if not options.no_sweep:
            _sweep_min_count(url, options.orders, options.skus, summary["min_count"])
    _flush()
    if not options.no_demo:
        _bench_demo()


def _import(env: dict[str, str], products: os.PathLike[str], orders: os.PathLike[str]) -> None:
    _checked(run_measured(cartlift("import", "products", str(products)), env), "import products")
    done = _checked(run_measured(cartlift("import", "orders", str(orders)), env), "import orders")
    print(f"# imported {orders} in {done.wall_s:.1f} s", file=sys.stderr)


def _report(name: str, measured: Measured, summary: dict[str, Any]) -> None:
    timings = summary["timings"]
    engine = summary.get("engine", "numpy")
    stage_times = " ".join(f"{stage}_s={timings.get(f'{stage}_s', 0):.2f}" for stage in STAGES)
    print(
        f"{name} engine={engine} orders={summary['orders']} skus={summary['items']} "
        f"wall_s={measured.wall_s:.2f} cpu_s={measured.cpu_s:.2f} {stage_times} "
        + "".join(f"{stage}_cpu_s={timings.get(f'{stage}_cpu_s', 0):.2f} " for stage in STAGES)
        + f"peak_rss_mb={measured.peak_rss_mb:.0f} rules={summary['rules']} "
        f"job_s={timings['total_s']:.2f} "
        f"min_count={summary['min_count']} "
        f"load_avg={os.getloadavg()[0]:.1f} {_verdict(name, measured, summary['orders'])}",
        flush=True,
    )
    millions = max(summary["orders"], 1) / 1e6
    stages = " ".join(
        f"{stage}{kind}_s={timings.get(f'{stage}{kind}_s', 0) / millions:.2f}"
        for kind in ("", "_cpu")
        for stage in STAGES
    )
    print(
        f"{name}_per_million_orders engine={engine} wall_s={measured.wall_s / millions:.2f} "
        f"cpu_s={measured.cpu_s / millions:.2f} {stages} "
        f"peak_rss_mb={measured.peak_rss_mb / millions:.0f}",
        flush=True,
    )


def _verdict(name: str, measured: Measured, orders: int) -> str:
    goal = GOALS.get(orders) if name == "bench_rebuild" else None
    if goal is None:
        return "ok=-"
    seconds, mib = goal
    met = measured.wall_s < seconds and measured.peak_rss_mb < mib
    return f"goal_s={seconds} goal_mb={mib} ok={met}"


def _sweep_min_count(url: str, n_orders: int, n_skus: int, default: int) -> None:
    """Rules and planted partner pairs found at the default min_count and below it.

    The generator gives the first item of an order its fixed partner 30 % of the time;
    a pair is findable at a min_count when it occurs in at least that many baskets.
    """
    matrix, skus = asyncio.run(_basket_matrix(url))
    code_of = {sku: code for code, sku in enumerate(skus)}
    partner = _planted_partners(n_orders, n_skus)
    planted = [
        (code_of[sku_name(a)], code_of[sku_name(int(partner[a]))])
        for a in range(n_skus)
        if sku_name(a) in code_of and sku_name(int(partner[a])) in code_of
    ]
    columns = matrix.tocsc()
    first, second = (np.array(side) for side in zip(*planted, strict=True))
    together = np.asarray(columns[:, first].multiply(columns[:, second]).sum(axis=0)).ravel()
    planted_set = set(planted)
    for min_count in sorted({default, default // 2, default // 4, 10}, reverse=True):
        clock = time.perf_counter()
        rules = mine_rules(matrix, thresholds_from(n_baskets=matrix.shape[0], min_count=min_count))
        took = time.perf_counter() - clock
        single = rules.antecedent[:, 1] < 0
        antecedents, consequents = rules.antecedent[single, 0], rules.consequent[single]
        pairs = list(zip(antecedents.tolist(), consequents.tolist(), strict=True))
        by_lift = np.argsort(-rules.lift[single], kind="stable")[:100].tolist()
        print(
            f"bench_min_count data=synthetic baskets={matrix.shape[0]} min_count={min_count}"
            f"{'(default)' if min_count == default else ''} rules={len(rules)} "
            f"item_rules={len(pairs)} mine_s={took:.2f} "
            f"planted_found={len(planted_set.intersection(pairs))} "
            f"planted_findable={int((together >= min_count).sum())} "
            f"planted_in_top100_by_lift={sum(1 for i in by_lift if pairs[i] in planted_set)}",
            flush=True,
        )


async def _basket_matrix(url: str) -> tuple[Any, list[str]]:
    engine = make_engine(url)
    try:
        lines = await read_lines(engine, "order", None)
        catalog = await read_catalog(engine)
    finally:
        await engine.dispose()
    ids, codes = compact_codes(lines.product_ids)
    skus = [catalog[pid].sku for pid in ids.tolist()]
    return encode_baskets(lines.basket_ids, codes, len(skus)), skus


def _planted_partners(n_orders: int, n_skus: int) -> Any:
    # Mirrors the draw order of app.demo.synthetic.write_synthetic_orders: times, then the
    # popularity permutation, then the partner permutation.
    rng = np.random.default_rng([SEED, 0])
    rng.integers(0, 365 * 1440, n_orders)
    rng.permutation(n_skus)
    return rng.permutation(n_skus)


def _bench_demo() -> None:
    """The default min_count on the demo shop: rules and quality against popularity."""
    with throwaway_database("cartlift_bench_demo") as (url, _):
        env = {"CARTLIFT_DATABASE_URL": url, "CARTLIFT_REDIS_URL": REDIS_URL}
        _flush()
        _checked(run_measured(cartlift("demo", "--directory", "var/bench/demo"), env), "demo")
        summary = _summary(_checked(run_measured(cartlift("rebuild"), env), "demo rebuild"))
        evaluated = run_measured(cartlift("evaluate", "--split-date", "2026-09-01", "--json"), env)
        quality = orjson.loads(evaluated.stdout) if evaluated.returncode == 0 else {}
        _flush()
    rules_hit = quality.get("rules", {}).get("hit_rate", float("nan"))
    popular_hit = quality.get("popular", {}).get("hit_rate", float("nan"))
    print(
        f"bench_min_count data=demo baskets={summary['baskets']} "
        f"min_count={summary['min_count']} rules={summary['rules']} "
        f"hit_rate_at_3_rules={rules_hit:.3f} hit_rate_at_3_popular={popular_hit:.3f}",
        flush=True,
    )


def _summary(measured: Measured) -> dict[str, Any]:
    lines = [line for line in measured.stdout.splitlines() if line.startswith("{")]
    summary: dict[str, Any] = orjson.loads(lines[-1])
    return summary


def _checked(measured: Measured, what: str) -> Measured:
    if measured.returncode != 0:
        sys.exit(f"{what} failed with exit {measured.returncode}:\n{measured.stderr[-2000:]}")
    return measured


def _flush() -> None:
    client = Redis.from_url(REDIS_URL)
    try:
        client.flushdb()
    finally:
        client.close()


if __name__ == "__main__":
    main()

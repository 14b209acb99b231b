"""Benchmark: `cartlift report` and both campaigns on 1,000,000 synthetic orders in Postgres.

The synthetic shop (app/demo/synthetic.py: 20,000 SKUs, ~200,000 customers, one year) is
imported once into a throwaway database, dropped afterwards unless --keep-db names one to
reuse. Each command runs as a child process, so its wall time and peak RSS are its own;
then the same work runs in process, step by step, to show where the time goes.

Prints one `bench_campaigns <command> wall_s=.. peak_rss_mb=.. rows=..` line per command,
then `bench_campaigns steps ...` lines with the in-process breakdown.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import TypeVar

from sqlalchemy import text
from sqlalchemy.engine import make_url

from app.analytics.due import due_on
from app.analytics.holding import holdings
from app.analytics.reactivation import ReactivationParams, reactivation_targets
from app.analytics.tickets import average_tickets
from app.db.admin import run_admin_sql
from app.db.engine import make_engine
from app.db.migrate import upgrade_to_head
from app.demo.synthetic import write_synthetic_orders, write_synthetic_products
from app.jobs.next_sale_section import CUSTOMER_PURCHASES, next_sale_entries, recent_purchases
from app.jobs.products import read_catalog
from app.jobs.sources import read_history
from app.mining.sequences import SequenceParams, mine_follow_ups
from app.report.figures import ReportParams, build_report
from app.report.heatmap import heatmap_png
from app.report.html import render_html

T = TypeVar("T")
PG_SERVER = os.environ.get(
    "CARTLIFT_BENCH_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)
DATA_DIR = Path(os.environ.get("CARTLIFT_BENCH_DATA", "var/bench/campaigns"))
START = date(2025, 1, 1)
SEED = 42


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--skus", type=int, default=20_000)
    parser.add_argument("--keep-db", help="reuse (and keep) this database between runs")
    options = parser.parse_args()
    products, orders = _files(options.orders, options.skus)
    due = (START + timedelta(days=300)).isoformat()
    with _database(options.keep_db) as (url, existed):
        env = {**os.environ, "CARTLIFT_DATABASE_URL": url, "CARTLIFT_LOG_LEVEL": "WARNING"}
        if not existed:
            clock = time.perf_counter()
            _cartlift(env, "import", "products", str(products))
            _cartlift(env, "import", "orders", str(orders))
            print(f"# imported in {time.perf_counter() - clock:.1f} s", file=sys.stderr)
        out = DATA_DIR / "out"
        out.mkdir(parents=True, exist_ok=True)
        for name, args, output in (
            ("report", ["report"], out / "report.html"),
            ("reactivation", ["campaign", "reactivation"], out / "reactivation.csv"),
            ("next_sale", ["campaign", "next-sale", "--on", due], out / "next_sale.csv"),
        ):
            wall, rss = _cartlift(env, *args, "--output", str(output))
            rows = "-" if name == "report" else str(_lines(output) - 1)
            print(
                f"bench_campaigns {name} orders={options.orders} wall_s={wall:.2f} "
                f"peak_rss_mb={rss:.0f} rows={rows}"
            )
        asyncio.run(_steps(url, date.fromisoformat(due)))


async def _steps(url: str, due: date) -> None:
    """The same work in process, timed step by step."""
    engine = make_engine(url)
    history = await _timed("read_history", read_history(engine))
    facts = await read_catalog(engine)
    await engine.dispose()
    catalog = {f.sku: f for f in facts.values()}
    report = _clock("report_figures", lambda: build_report(history, catalog, ReportParams()))
    combo = report.combination
    names = [p.name for p in report.combination_products]
    image = _clock("heatmap", lambda: heatmap_png(names, combo.share_of_holders, combo.holders))
    _clock("render_html", lambda: render_html(report, image))
    held = _clock("holdings", lambda: holdings(history))
    tickets = _clock("tickets", lambda: average_tickets(history))
    prices = {sku: f.price for sku, f in catalog.items()}
    available = {sku for sku, f in catalog.items() if f.available}
    _clock(
        "reactivation",
        lambda: reactivation_targets(
            history, held, tickets, prices, available, ReactivationParams()
        ),
    )
    purchases = history.purchases()
    table, refills = _clock("sequences", lambda: mine_follow_ups(purchases, SequenceParams()))
    _clock("due_on", lambda: due_on(history, table, refills, due, available, 0.1))
    recent = recent_purchases(history, CUSTOMER_PURCHASES)
    params = SequenceParams()
    entries = _clock(
        "next_sale_entries",
        lambda: list(next_sale_entries(table, refills, history.skus, recent, params.window_days)),
    )
    size = sum(len(value) for _, value in entries) / 2**20
    print(f"bench_campaigns entries count={len(entries)} size_mb={size:.0f}")


async def _timed(name: str, awaitable: Awaitable[T]) -> T:
    clock = time.perf_counter()
    value = await awaitable
    print(f"bench_campaigns steps {name}_s={time.perf_counter() - clock:.2f}")
    return value


def _clock(name: str, action: Callable[[], T]) -> T:
    clock = time.perf_counter()
    value = action()
    print(f"bench_campaigns steps {name}_s={time.perf_counter() - clock:.2f}")
    return value


def _files(n_orders: int, n_skus: int) -> tuple[Path, Path]:
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    products = DATA_DIR / f"products-{n_skus}.csv"
    orders = DATA_DIR / f"orders-{n_orders}-{n_skus}.csv"
    if not products.exists():
        write_synthetic_products(products, n_skus, SEED)
    if not orders.exists():
        write_synthetic_orders(orders, n_orders=n_orders, n_skus=n_skus, seed=SEED, start=START)
    return products, orders


def _cartlift(env: dict[str, str], *args: str) -> tuple[float, float]:
    """Run a cartlift command as a child; its wall seconds and peak RSS in MiB."""
    clock = time.perf_counter()
    command = [sys.executable, "-c", "from app.cli import main; main()", *args]
    child = subprocess.Popen(command, env=env)
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit(f"cartlift {' '.join(args)} exited with {child.returncode}")
    return time.perf_counter() - clock, usage.ru_maxrss / 1024


def _lines(path: Path) -> int:
    with open(path, "rb") as handle:
        return sum(1 for _ in handle)


@contextmanager
def _database(keep: str | None) -> Iterator[tuple[str, bool]]:
    name = keep or f"cartlift_bench_campaigns_{uuid.uuid4().hex[:8]}"
    url = make_url(PG_SERVER).set(database=name).render_as_string(hide_password=False)
    existed = asyncio.run(_exists(name))
    if not existed:
        asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
        upgrade_to_head(url)
    try:
        yield url, existed
    finally:
        if keep is None:
            asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _exists(name: str) -> bool:
    engine = make_engine(PG_SERVER)
    try:
        async with engine.connect() as conn:
            query = text("SELECT 1 FROM pg_database WHERE datname = :name")
            return bool(await conn.scalar(query, {"name": name}))
    finally:
        await engine.dispose()


async def _admin(sql: str) -> None:
    await run_admin_sql(PG_SERVER, sql)


if __name__ == "__main__":
    main()

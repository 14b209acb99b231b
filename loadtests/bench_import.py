"""Benchmark: import synthetic order lines into a throwaway Postgres database via the CLI.

Target: 1,000,000 order lines in under 60 s. Prints one line:
`bench_import lines=.. orders=.. wall_s=.. rows_per_s=.. peak_rss_mb=..`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url

from app.db.admin import run_admin_sql
from app.db.engine import make_engine
from app.db.migrate import upgrade_to_head
from app.demo.synthetic import write_synthetic_orders, write_synthetic_products

PG_SERVER = os.environ.get(
    "CARTLIFT_BENCH_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)
DATA_DIR = Path(os.environ.get("CARTLIFT_BENCH_DATA", "var/bench"))
SEED = 42
START = date(2025, 1, 1)
AVERAGE_LINES_PER_ORDER = 4.3  # 1-8 draws per order, repeats collapsed


@dataclass(frozen=True)
class Measured:
    """A child process's wall time, peak RSS and output."""

    wall_s: float
    peak_rss_mb: float
    returncode: int
    stdout: str
    stderr: str
    cpu_s: float = 0.0  # user + system: what the command cost on a machine others share


async def _admin(sql: str) -> None:
    await run_admin_sql(PG_SERVER, sql)


@contextmanager
def throwaway_database(prefix: str, keep: str | None = None) -> Iterator[tuple[str, bool]]:
    """A migrated database dropped afterwards; `keep` names one reused across runs instead.

    Yields the URL and whether the database already existed (its data can be reused).
    """
    name = keep or f"{prefix}_{uuid.uuid4().hex[:8]}"
    url = make_url(PG_SERVER).set(database=name).render_as_string(hide_password=False)
    existed = False
    try:
        asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    except Exception:
        if keep is None:
            raise
        existed = True
    upgrade_to_head(url)
    try:
        yield url, existed
    finally:
        if keep is None:
            asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def synthetic_files(n_orders: int, n_skus: int) -> tuple[Path, Path]:
    """Products and orders CSV files, written once and cached under var/bench."""
    products = DATA_DIR / f"products_{n_skus}_{SEED}.csv"
    orders = DATA_DIR / f"orders_{n_orders}_{n_skus}_{SEED}.csv"
    if not products.exists():
        write_synthetic_products(products, n_skus, SEED)
    if not orders.exists():
        partial = orders.with_suffix(".partial.csv")
        write_synthetic_orders(partial, n_orders=n_orders, n_skus=n_skus, seed=SEED, start=START)
        partial.replace(orders)
    return products, orders


def run_measured(args: list[str], env: dict[str, str]) -> Measured:
    """Run a child process; wait4 gives its own peak RSS, not that of any earlier child.

    A sampler adds up the resident memory of the child and all its descendants (a Spark
    run's JVM is a grandchild that wait4 does not see) every 0.1 s; the peak reported is
    the larger of the two.
    """
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        clock = time.perf_counter()
        child = subprocess.Popen(args, env=_child_env(env), stdout=out, stderr=err)
        tree_peak = _TreePeak(child.pid)
        _, status, usage = os.wait4(child.pid, 0)
        tree_peak.stop()
        wall = time.perf_counter() - clock
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        # ru_maxrss is in KiB on Linux.
        cpu = usage.ru_utime + usage.ru_stime
        peak = max(usage.ru_maxrss / 1024, tree_peak.peak_mb)
        return Measured(wall, peak, child.returncode, out.read(), err.read(), cpu)


class _TreePeak:
    """The largest summed RSS of a process and its descendants, sampled from /proc."""

    def __init__(self, root: int) -> None:
        self.peak_mb = 0.0
        self._root = root
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._done.set()
        self._thread.join()

    def _sample(self) -> None:
        page_mb = os.sysconf("SC_PAGE_SIZE") / 2**20
        while not self._done.wait(0.1):
            parent_of: dict[int, int] = {}
            pages: dict[int, int] = {}
            for entry in os.listdir("/proc"):
                if entry.isdigit():
                    try:
                        with open(f"/proc/{entry}/stat") as stat:
                            fields = stat.read().rsplit(")", 1)[1].split()
                    except OSError:
                        continue
                    parent_of[int(entry)], pages[int(entry)] = int(fields[1]), int(fields[21])
            tree: set[int] = set()
            grown = {self._root}
            while grown != tree:
                tree = grown
                grown = tree | {pid for pid, parent in parent_of.items() if parent in tree}
            self.peak_mb = max(self.peak_mb, sum(pages.get(p, 0) for p in tree) * page_mb)


def _child_env(extra: dict[str, str]) -> dict[str, str]:
    # An installed cartlift has compiled bytecode; without it every start recompiles the
    # whole dependency tree, which is the environment's cost, not the command's.
    env = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}
    return {**env, **extra}


def warm_up() -> None:
    """One throwaway start, so the measured runs find compiled bytecode."""
    subprocess.run(cartlift("--help"), env=_child_env({}), capture_output=True, check=True)


def cartlift(*args: str) -> list[str]:
    return [str(Path(sys.executable).parent / "cartlift"), *args]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lines", type=int, default=1_000_000, help="order lines to import")
    parser.add_argument("--skus", type=int, default=20_000)
    options = parser.parse_args()
    n_orders = round(options.lines / AVERAGE_LINES_PER_ORDER)
    products, orders = synthetic_files(n_orders, options.skus)
    warm_up()
    with throwaway_database("cartlift_bench_import") as (url, _):
        env = {"CARTLIFT_DATABASE_URL": url}
        done = run_measured(cartlift("import", "products", str(products)), env)
        if done.returncode:
            sys.exit(f"importing products failed: {done.stderr}")
        measured = run_measured(cartlift("import", "orders", str(orders)), env)
        if measured.returncode:
            sys.exit(f"importing orders failed: {measured.stderr}")
        lines, order_count = asyncio.run(_counts(url))
    print(
        f"bench_import lines={lines} orders={order_count} wall_s={measured.wall_s:.2f} "
        f"rows_per_s={lines / measured.wall_s:,.0f} peak_rss_mb={measured.peak_rss_mb:.0f} "
        f"target_s=60 ok={measured.wall_s < 60}"
    )


async def _counts(url: str) -> tuple[int, int]:
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            lines = await conn.scalar(text("SELECT COUNT(*) FROM order_lines"))
            orders = await conn.scalar(text("SELECT COUNT(*) FROM orders"))
        return int(lines or 0), int(orders or 0)
    finally:
        await engine.dispose()


if __name__ == "__main__":
    main()

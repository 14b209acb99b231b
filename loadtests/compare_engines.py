"""Both rebuild engines on a public data set at the default thresholds: identical exports.

Usage: uv run --extra spark python loadtests/compare_engines.py [--dataset retail]
       [--scopes order customer] [--min-count N]

The data set (../shared/data) is loaded into a throwaway Postgres database as in the tests
(tests/public_orders.py: one order per basket, customers over about three orders each, every
tenth order a guest's). For each scope, `cartlift rebuild` runs as a child process with the
default engine and then with `--engine spark` (local mode), each followed by `cartlift rules
export`; the two exports must be equal byte for byte. Prints per scope

    compare_engines data=.. scope=.. rules=.. identical=True numpy_wall_s=.. spark_wall_s=..
    numpy_peak_rss_mb=.. spark_peak_rss_mb=.. (the JVM included) spark_stages=..

and exits 1 if any export differs. The CI tests do the same at a higher minimum count.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests.public_orders: the same shop as the tests

from bench_import import Measured, cartlift, run_measured, throwaway_database  # noqa: E402
from bench_rebuild import _checked, _summary  # noqa: E402

from app.db.engine import make_engine  # noqa: E402
from tests.public_orders import load_public_orders  # noqa: E402

DATA_DIR = ROOT.parent / "shared" / "data"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dataset", choices=("retail", "groceries"), default="retail")
    parser.add_argument(
        "--scopes", nargs="+", choices=("order", "customer"), default=["order", "customer"]
    )
    parser.add_argument("--min-count", type=int, help="default: the data's default")
    options = parser.parse_args()
    differ = False
    with throwaway_database("cartlift_compare_engines") as (url, _):
        asyncio.run(_load(url, options.dataset))
        for scope in options.scopes:
            differ |= not _compare(url, options.dataset, scope, options.min_count)
    sys.exit(1 if differ else 0)


async def _load(url: str, dataset: str) -> None:
    engine = make_engine(url)
    try:
        await load_public_orders(engine, dataset, DATA_DIR)
    finally:
        await engine.dispose()


def _compare(url: str, dataset: str, scope: str, min_count: int | None) -> bool:
    args = ["--scope", scope, "--force"] + (
        [] if min_count is None else ["--min-count", str(min_count)]
    )
    with tempfile.TemporaryDirectory() as work:
        env = {
            "CARTLIFT_DATABASE_URL": url,
            "CARTLIFT_REDIS_URL": "",
            "CARTLIFT_SNAPSHOT_DIR": f"{work}/rules",
            "CARTLIFT_LOG_LEVEL": "WARNING",
        }
        runs: dict[str, tuple[Measured, dict[str, Any], bytes]] = {}
        for engine in ("numpy", "spark"):
            done = _checked(
                run_measured(cartlift("rebuild", *args, "--engine", engine), env), engine
            )
            out = Path(work) / f"{engine}.csv"
            _checked(run_measured(cartlift("rules", "export", "--output", str(out)), env), "export")
            runs[engine] = (done, _summary(done), out.read_bytes())
    (numpy, first, default), (spark, second, other) = runs["numpy"], runs["spark"]
    identical = default == other and first["checksum"] == second["checksum"]
    stages = ",".join(f"{k}={v:.1f}" for k, v in second["timings"].items())
    print(
        f"compare_engines data={dataset} scope={scope} baskets={first['baskets']} "
        f"min_count={first['min_count']} rules={first['rules']} identical={identical} "
        f"export_bytes={len(default)} numpy_wall_s={numpy.wall_s:.1f} "
        f"spark_wall_s={spark.wall_s:.1f} numpy_peak_rss_mb={numpy.peak_rss_mb:.0f} "
        f"spark_peak_rss_mb={spark.peak_rss_mb:.0f} spark_stages={stages}",
        flush=True,
    )
    return identical


if __name__ == "__main__":
    main()

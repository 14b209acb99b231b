"""Benchmark the command line's start-up, the API's start-up and a whole rebuild against mlxtend.

Usage: uv run python loadtests/bench_cli.py [--rounds 15] [--rebuilds 3]

All in one run, so machine noise hits every side alike (the medians are compared):

1. `cartlift --help` and `cartlift rebuild --help` against `python -c "import typer,
   rich.console"`, taking turns; goal: each within 2x of the baseline.
2. The API process: from spawning `cartlift serve` to the first 200 from /healthz, next to
   a bare FastAPI app under uvicorn (loadtests/bare_app.py).
3. FIMI retail (../shared/data) imported into a throwaway Postgres database as one order
   per basket, then the whole `cartlift rebuild` process (wall time, file store and Redis
   store) against mlxtend's fpgrowth + association_rules on the same baskets and
   thresholds (mlxtend's compute alone, its DataFrame given ready-made); goal: >= 5x.

Bytecode caches are kept (PYTHONDONTWRITEBYTECODE is dropped for the children) and warmed
by one untimed run of each command first.
"""

from __future__ import annotations

import argparse
import gzip
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

from bench_import import Measured, cartlift, run_measured, throwaway_database
from bench_mining import DATA_DIR, retail, timed_mlxtend
from bench_rebuild import REDIS_URL, _checked, _flush, _summary

from app.mining import thresholds_from

HERE = Path(__file__).resolve().parent
BASELINE = [sys.executable, "-c", "import typer, rich.console"]
HELP_GOAL = 2.0
REBUILD_GOAL = 5.0
RETAIL_START = "2025-01-01T00:00:00Z"


def child_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return {**env, "COLUMNS": "100", "CARTLIFT_LOG_LEVEL": "WARNING", **extra}


def wall_seconds(command: list[str]) -> float:
    clock = time.perf_counter()
    subprocess.run(command, env=child_env(), capture_output=True, check=True)
    return time.perf_counter() - clock


def bench_help(rounds: int) -> None:
    commands = {
        "baseline_import_typer_rich": BASELINE,
        "cartlift_help": cartlift("--help"),
        "cartlift_rebuild_help": cartlift("rebuild", "--help"),
    }
    for command in commands.values():
        wall_seconds(command)  # compiles and caches bytecode
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(rounds):
        for name, command in commands.items():
            times[name].append(wall_seconds(command))
    base = statistics.median(times["baseline_import_typer_rich"])
    for name, samples in times.items():
        median = statistics.median(samples)
        verdict = "" if name.startswith("baseline") else _verdict(median / base <= HELP_GOAL)
        print(
            f"bench_cli start={name} median_s={median:.3f} min_s={min(samples):.3f} "
            f"vs_baseline={median / base:.2f} (goal <= {HELP_GOAL:.1f}) {verdict}".rstrip(),
            flush=True,
        )


def bench_serve(database_url: str, rounds: int) -> None:
    with tempfile.TemporaryDirectory() as snapshots:
        env = child_env(
            CARTLIFT_DATABASE_URL=database_url,
            CARTLIFT_SNAPSHOT_DIR=snapshots,
            CARTLIFT_REDIS_URL="",
            CARTLIFT_API_KEYS="",
            PYTHONPATH=str(HERE.parent),
        )
        servers: dict[str, Callable[[int], list[str]]] = {
            "bare_fastapi": _bare_app,
            "cartlift_serve": lambda port: cartlift("serve", "--port", str(port)),
        }
        times: dict[str, list[float]] = {name: [] for name in servers}
        for round_ in range(rounds + 1):
            for name, command in servers.items():
                took = _time_to_healthy(command, env)
                if round_:  # the first round only warms caches
                    times[name].append(took)
    bare = statistics.median(times["bare_fastapi"])
    for name, samples in times.items():
        median = statistics.median(samples)
        print(
            f"bench_cli serve={name} spawn_to_healthz_s={median:.3f} min_s={min(samples):.3f} "
            f"vs_bare={median / bare:.2f}",
            flush=True,
        )


def _bare_app(port: int) -> list[str]:
    app = ["-m", "uvicorn", "loadtests.bare_app:app", "--port", str(port)]
    return [sys.executable, *app, "--log-level", "warning"]


def _time_to_healthy(command: Callable[[int], list[str]], env: dict[str, str]) -> float:
    port = _free_port()
    url = f"http://127.0.0.1:{port}/healthz"
    clock = time.perf_counter()
    process = subprocess.Popen(command(port), env=env, cwd=HERE.parent, stderr=subprocess.PIPE)
    try:
        while time.perf_counter() - clock < 60:
            if process.poll() is not None:
                sys.exit(f"{command(port)} exited: {process.stderr.read()[-2000:]!r}")  # type: ignore[union-attr]
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        return time.perf_counter() - clock
            except OSError:
                time.sleep(0.005)
        sys.exit(f"{url} did not answer within 60 s")
    finally:
        process.terminate()
        process.wait(timeout=15)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def retail_orders_csv(path: Path) -> Path:
    """One order (and one customer) per retail basket, a minute apart, in file order."""
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    with gzip.open(DATA_DIR / "retail.dat.gz", "rt") as source, open(partial, "w") as out:
        out.write("order_id,customer_id,ordered_at,sku,quantity,unit_price\n")
        basket = 0
        for line in source:
            items = dict.fromkeys(line.split())
            if not items:
                continue
            basket += 1
            stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(1735689600 + 60 * basket))
            out.writelines(f"{basket},c{basket},{stamp},{item},1,1.00\n" for item in items)
    partial.replace(path)
    return path


def bench_rebuild(database_url: str, rebuilds: int) -> None:
    orders = retail_orders_csv(
        Path(os.environ.get("CARTLIFT_BENCH_DATA", "var/bench")) / "retail_orders.csv"
    )
    env = child_env(CARTLIFT_DATABASE_URL=database_url)
    _checked(run_measured(cartlift("import", "orders", str(orders)), env), "import")
    results: dict[str, list[Measured]] = {"file": [], "redis": []}
    with tempfile.TemporaryDirectory() as snapshots:
        stores = {
            "file": {**env, "CARTLIFT_REDIS_URL": "", "CARTLIFT_SNAPSHOT_DIR": snapshots},
            "redis": {**env, "CARTLIFT_REDIS_URL": REDIS_URL},
        }
        for round_ in range(rebuilds + 1):
            for store, store_env in stores.items():
                _flush()
                done = _checked(run_measured(cartlift("rebuild", "--force"), store_env), store)
                if round_:  # the first round only warms caches
                    results[store].append(done)
    _flush()
    summary = _summary(results["file"][-1])
    matrix = retail()
    thresholds = thresholds_from(n_baskets=matrix.shape[0], top_n=None)
    assert thresholds.min_count == summary["min_count"], (thresholds, summary)
    rules, mlxtend_s = timed_mlxtend(matrix, thresholds)
    print(
        f"bench_cli rebuild=mlxtend baskets={matrix.shape[0]} min_count={thresholds.min_count} "
        f"rules={len(rules)} fpgrowth_plus_rules_s={mlxtend_s:.2f}",
        flush=True,
    )
    for store, runs in results.items():
        wall = statistics.median(run.wall_s for run in runs)
        timings = _summary(runs[-1])["timings"]
        print(
            f"bench_cli rebuild=cartlift store={store} baskets={summary['baskets']} "
            f"rules={summary['rules']} process_wall_s={wall:.2f} job_s={timings['total_s']:.2f} "
            f"peak_rss_mb={max(run.peak_rss_mb for run in runs):.0f} "
            f"mlxtend_vs_process={mlxtend_s / wall:.1f}x (goal >= {REBUILD_GOAL:.0f}x) "
            f"{_verdict(mlxtend_s / wall >= REBUILD_GOAL)}",
            flush=True,
        )


def _verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15, help="timed starts per command")
    parser.add_argument("--rebuilds", type=int, default=3, help="timed rebuilds per store")
    options = parser.parse_args()
    bench_help(options.rounds)
    with throwaway_database("cartlift_bench_cli") as (url, _):
        bench_serve(url, max(3, options.rounds // 3))
        bench_rebuild(url, options.rebuilds)


if __name__ == "__main__":
    main()

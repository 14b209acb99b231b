"""POST /recommend on `cartlift serve --workers 1` and `--workers N` in one run: how it scales.

Both servers serve the same demo rules (a throwaway Postgres database, a Redis db of its
own: `CARTLIFT_BENCH_REDIS_URL`) and take turns under the same wrk load, round after
round, so whatever else runs on the machine hits them alike. Per target it prints the
median rps and p99 of the rounds, the CPU of the whole process tree per request (the
figure that sizes a deployment: cores = rps x cpu_us_per_req / 1e6), and the load average
of each round, since on a shared machine the rps of N workers shows the cores left to
them, not what N cores would give. wrk itself runs on the same machine.

    uv run python loadtests/bench_api_workers.py [--workers 2] [--connections 32]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
START_TIMEOUT_S = 180  # a busy shared machine starts N workers slowly
sys.path.insert(0, str(ROOT))

from bench_api import (  # noqa: E402
    CARTLIFT,
    PG_SERVER,
    REDIS_URL,
    Result,
    _anonymous,
    _cart_bodies,
    _env,
    _flushed,
    _prepare_rules,
    _wait_until_up,
    _write_bodies,
    _wrk,
)

from app.db.admin import run_admin_sql  # noqa: E402


def main() -> None:
    args = _arguments()
    if shutil.which("wrk") is None:
        raise SystemExit("bench_api_workers needs wrk: sudo apt-get install wrk")
    with tempfile.TemporaryDirectory(prefix="cartlift-bench-workers-") as tmp:
        work = Path(tmp)
        with _throwaway_database(args.pg) as database_url, _flushed(args.redis_url):
            env = _env(database_url, args.redis_url)
            _prepare_rules(env, work, args.orders)
            bodies = _cart_bodies(work / "demo" / "orders.csv", args.bodies)
            carts = _write_bodies(work / "carts.jsonl", [_anonymous(b) for b in bodies])
            results = _run_both(args, env, carts)
    _report(results, args.workers)


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2, help="worker processes to compare")
    parser.add_argument("--duration", type=int, default=10, help="seconds per measured run")
    parser.add_argument("--rounds", type=int, default=3, help="measured runs per target")
    parser.add_argument("--warmup", type=int, default=3, help="seconds of warm-up per target")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument("--port", type=int, default=8120, help="one worker; N workers use +1")
    parser.add_argument("--orders", type=int, default=20_000, help="demo shop orders")
    parser.add_argument("--bodies", type=int, default=2_000, help="distinct carts to post")
    parser.add_argument("--pg", default=PG_SERVER, help="Postgres server (maintenance db URL)")
    parser.add_argument("--redis-url", default=REDIS_URL, help="a Redis db used only by this")
    return parser.parse_args()


def _run_both(args: argparse.Namespace, env: dict[str, str], carts: Path) -> dict[str, Result]:
    one, many = args.port, args.port + 1
    serve = [CARTLIFT, "serve", "--port"]
    with (
        _server([*serve, str(one), "--workers", "1"], one, env) as one_pid,
        _server([*serve, str(many), "--workers", str(args.workers)], many, env) as pid,
    ):
        targets = {
            "workers_1": (f"http://127.0.0.1:{one}/recommend", one_pid),
            f"workers_{args.workers}": (f"http://127.0.0.1:{many}/recommend", pid),
        }
        for url, _ in targets.values():
            _wrk(url, carts, args.warmup, args)
        rounds: dict[str, list[Result]] = {name: [] for name in targets}
        for _ in range(args.rounds):
            for name, (url, root) in targets.items():
                rounds[name].append(_measured(url, carts, root, args))
    return {name: _median(results) for name, results in rounds.items()}


def _measured(url: str, bodies: Path, root: int, args: argparse.Namespace) -> Result:
    """One wrk run; CPU of the server's whole process tree (supervisor and workers)."""
    before = _tree_cpu_seconds(root)
    result = _wrk(url, bodies, args.duration, args)
    spent = _tree_cpu_seconds(root) - before
    result["cpu_us_per_req"] = round(spent / result["requests"] * 1e6, 1)
    result["cores_busy"] = round(spent / args.duration, 2)
    result["loadavg"] = round(os.getloadavg()[0], 2)
    return result


def _median(results: list[Result]) -> Result:
    return {key: statistics.median(r[key] for r in results) for key in results[0]}


def _tree_cpu_seconds(root: int) -> float:
    return sum(_cpu_seconds(pid) for pid in _tree(root))


def _tree(root: int) -> list[int]:
    found, pending = [], [root]
    while pending:
        pid = pending.pop()
        found.append(pid)
        for task in Path(f"/proc/{pid}/task").glob("*/children"):
            pending.extend(int(child) for child in task.read_text().split())
    return found


def _cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _report(results: dict[str, Result], workers: int) -> None:
    print(f"bench_api_workers loadavg={os.getloadavg()[0]:.2f} cpus={os.cpu_count()}", flush=True)
    for target, result in results.items():
        fields = " ".join(f"{key}={value:g}" for key, value in result.items())
        print(f"bench_api_workers target={target} {fields}", flush=True)
    one, many = results["workers_1"], results[f"workers_{workers}"]
    print(
        f"bench_api_workers ratio workers={workers} rps_vs_one={many['rps'] / one['rps']:.2f} "
        f"cpu_per_req_vs_one={many['cpu_us_per_req'] / one['cpu_us_per_req']:.2f} "
        f"cores_per_10k_rps={many['cpu_us_per_req'] / 100:.2f}",
        flush=True,
    )


@contextmanager
def _server(command: list[str], port: int, env: dict[str, str]) -> Iterator[int]:
    """`cartlift serve` on loopback, ready; yields the pid at the root of its process tree."""
    process = subprocess.Popen(command, env=env, cwd=ROOT)
    try:
        _wait_until_up(f"http://127.0.0.1:{port}/readyz", process, START_TIMEOUT_S)
        yield process.pid
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


@contextmanager
def _throwaway_database(server: str) -> Iterator[str]:
    name = f"issue16p_bench_{uuid.uuid4().hex[:10]}"
    asyncio.run(run_admin_sql(server, f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(server).set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(run_admin_sql(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    main()

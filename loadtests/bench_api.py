"""Load POST /recommend and /upgrade-offers next to a bare FastAPI endpoint; print the ratios.

Goal: each route's throughput >= 50 % of the bare endpoint's, p99 <= 2x its p99; and
/recommend with a customer (an arm assigned, an exposure recorded; holdout 10 %) keeps
>= 90 % of the throughput of the same carts without one.
Both run as one uvicorn worker on loopback and are loaded one after the other with the
same wrk settings and the same realistic 1-5 item carts drawn from the demo orders.
cartlift serves demo rules built by `cartlift demo` + `cartlift rebuild` into a
throwaway Postgres database (created and dropped here) and a dedicated Redis db
(flushed before and after). Needs wrk (`apt-get install wrk`), Postgres and Redis.

    uv run python loadtests/bench_api.py [--duration 15] [--connections 16]
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import random
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from redis import Redis
from sqlalchemy.engine import make_url

from app.db.admin import run_admin_sql

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
LUA = HERE / "post_bodies.lua"
BENCH_KEY = f"bench-{secrets.token_hex(16)}"  # a bare secret: the recommend scope
CARTLIFT = str(Path(sys.executable).with_name("cartlift"))
PG_SERVER = os.environ.get(
    "CARTLIFT_BENCH_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("CARTLIFT_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
Result = dict[str, float]


def main() -> None:
    args = _arguments()
    if shutil.which("wrk") is None:
        raise SystemExit("bench_api needs wrk: sudo apt-get install wrk (or brew install wrk)")
    with tempfile.TemporaryDirectory(prefix="cartlift-bench-") as tmp:
        work = Path(tmp)
        with _throwaway_database(args.pg) as database_url, _flushed(args.redis_url):
            env = _env(database_url, args.redis_url)
            _prepare_rules(env, work, args.orders)
            orders = work / "demo" / "orders.csv"
            bodies = _cart_bodies(orders, args.bodies)
            carts = _write_bodies(work / "carts.jsonl", [_anonymous(b) for b in bodies])
            exposed = _write_bodies(work / "exposed.jsonl", bodies)
            results = _run_all(args, env, work, carts, exposed)
    _report(results)


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per measured run")
    parser.add_argument("--rounds", type=int, default=3, help="measured runs per target")
    parser.add_argument("--warmup", type=int, default=3, help="seconds of warm-up per target")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument("--port", type=int, default=8100, help="bare app; cartlift uses +1")
    parser.add_argument("--orders", type=int, default=20_000, help="demo shop orders")
    parser.add_argument("--bodies", type=int, default=2_000, help="distinct carts to post")
    parser.add_argument("--pg", default=PG_SERVER, help="Postgres server (maintenance db URL)")
    parser.add_argument("--redis-url", default=REDIS_URL, help="a Redis db used only by this")
    return parser.parse_args()


def _run_all(
    args: argparse.Namespace, env: dict[str, str], work: Path, carts: Path, exposed: Path
) -> dict[str, Result]:
    """Both servers up at once; targets take turns each round, so load noise hits them alike."""
    bare_cmd = [
        sys.executable,
        "-m",
        "uvicorn",
        "loadtests.bare_app:app",
        "--no-access-log",
        "--log-level",
        "warning",
        "--host",
        "127.0.0.1",
        "--port",
        str(args.port),
    ]
    app_port = args.port + 1
    app_cmd = [CARTLIFT, "serve", "--port", str(app_port), "--workers", "1"]
    with (
        _server(bare_cmd, args.port, env, "/healthz") as bare,
        _server(app_cmd, app_port, env, "/readyz") as cartlift,
    ):
        base = f"http://127.0.0.1:{app_port}"
        targets = {
            "bare": (f"http://127.0.0.1:{args.port}/recommend", carts, bare),
            "recommend": (f"{base}/recommend", carts, cartlift),
            # With a customer: assigned an arm and recorded as an exposure on every answer.
            "recommend_exposed": (f"{base}/recommend", exposed, cartlift),
        }
        offers = _offer_bodies(base, work)
        if offers is not None:
            targets["upgrade_offers"] = (f"{base}/upgrade-offers", offers, cartlift)
        for url, bodies, _ in targets.values():
            _wrk(url, bodies, args.warmup, args)
        rounds: dict[str, list[Result]] = {name: [] for name in targets}
        for _ in range(args.rounds):
            for name, (url, bodies, pid) in targets.items():
                rounds[name].append(_measured(url, bodies, pid, args))
    return {name: _median(results) for name, results in rounds.items()}


def _measured(url: str, bodies: Path, pid: int, args: argparse.Namespace) -> Result:
    """One wrk run, plus the server's CPU per request: a figure the machine's noise moves less."""
    before = _cpu_seconds(pid)
    result = _wrk(url, bodies, args.duration, args)
    result["cpu_us_per_req"] = round((_cpu_seconds(pid) - before) / result["requests"] * 1e6, 1)
    return result


def _median(results: list[Result]) -> Result:
    return {key: statistics.median(r[key] for r in results) for key in results[0]}


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _report(results: dict[str, Result]) -> None:
    print(f"bench_api loadavg={os.getloadavg()[0]:.2f} cpus={os.cpu_count()}", flush=True)
    for target, result in results.items():
        fields = " ".join(f"{key}={value:g}" for key, value in result.items())
        print(f"bench_api target={target} {fields}", flush=True)
    bare = results["bare"]
    if "recommend_exposed" in results:
        rps = results["recommend_exposed"]["rps"] / results["recommend"]["rps"]
        # A worker's throughput with a core of its own is 1 / its CPU per request, which a
        # busy machine moves far less than the requests per second measured beside it.
        cpu = (
            results["recommend"]["cpu_us_per_req"] / results["recommend_exposed"]["cpu_us_per_req"]
        )
        verdict = "ok" if max(rps, cpu) >= 0.9 else "MISSED"
        print(
            f"bench_api ratio target=recommend_exposed rps_vs_recommend={rps:.2f} "
            f"cpu_per_req_recommend_vs_exposed={cpu:.2f} (goal: either >= 0.90) {verdict}",
            flush=True,
        )
    for target in (t for t in results if t != "bare"):
        rps = results[target]["rps"] / bare["rps"]
        p99 = results[target]["p99_ms"] / bare["p99_ms"]
        cpu = bare["cpu_us_per_req"] / results[target]["cpu_us_per_req"]
        verdict = "ok" if rps >= 0.5 and p99 <= 2.0 else "MISSED"
        print(
            f"bench_api ratio target={target} rps_vs_bare={rps:.2f} (goal >= 0.50) "
            f"p99_vs_bare={p99:.2f} (goal <= 2.00) cpu_per_req_bare_vs_target={cpu:.2f} "
            f"{verdict}",
            flush=True,
        )


# --- data ---------------------------------------------------------------------------------


def _env(database_url: str, redis_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "CARTLIFT_DATABASE_URL": database_url,
        "CARTLIFT_REDIS_URL": redis_url,
        "CARTLIFT_LOG_LEVEL": "WARNING",
        # Measured as deployed: closed, every request carrying a key (the bare app gets it too).
        "CARTLIFT_API_KEYS": BENCH_KEY,
        "CARTLIFT_HOLDOUT_PERCENT": "10",
        "PYTHONPATH": str(ROOT),
    }


def _prepare_rules(env: dict[str, str], work: Path, orders: int) -> None:
    customers = str(max(10, orders // 5))
    for command in (
        [
            "demo",
            "--directory",
            str(work / "demo"),
            "--orders",
            str(orders),
            "--customers",
            customers,
        ],
        ["rebuild"],
    ):
        started = time.perf_counter()
        subprocess.run(
            [CARTLIFT, *command],
            env=env,
            check=True,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        print(f"bench_api step={command[0]} s={time.perf_counter() - started:.1f}", flush=True)


def _cart_bodies(orders_csv: Path, count: int) -> list[dict[str, Any]]:
    """Real baskets of 1-5 distinct SKUs from the demo orders, as checkout pages send them."""
    baskets: dict[str, dict[str, int]] = {}
    with orders_csv.open(newline="") as handle:
        for row in csv.DictReader(handle):
            lines = baskets.setdefault(row["order_id"], {})
            lines[row["sku"]] = int(row["quantity"] or 1)
    usable = [lines for lines in baskets.values() if 1 <= len(lines) <= 5]
    picked = random.Random(7).sample(usable, min(count, len(usable)))
    return [
        {
            "cart": [{"sku": sku, "quantity": q} for sku, q in lines.items()],
            "limit": 3,
            "customer_id": f"bench-{n}",
        }
        for n, lines in enumerate(picked)
    ]


def _anonymous(body: dict[str, Any]) -> dict[str, Any]:
    """The same cart without a customer: variant "none", nothing recorded."""
    return {key: value for key, value in body.items() if key != "customer_id"}


def _write_bodies(path: Path, bodies: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(body) + "\n" for body in bodies))
    return path


def _offer_bodies(base: str, work: Path) -> Path | None:
    """Bodies for /upgrade-offers from its documented example, one per demo subscriber."""
    spec = json.loads(_get(f"{base}/openapi.json"))
    operation = spec.get("paths", {}).get("/upgrade-offers", {}).get("post")
    if operation is None:
        print("bench_api target=upgrade_offers skipped: the route is absent", flush=True)
        return None
    example = _request_example(spec, operation)
    customers = sorted(
        {
            row["customer_id"]
            for row in csv.DictReader((work / "demo" / "subscriptions.csv").open(newline=""))
        }
    )
    bodies = [
        {**example, "customer_id": c} if "customer_id" in example else example
        for c in customers[:2_000]
    ]
    status = _post(f"{base}/upgrade-offers", bodies[0])
    if status >= 400:
        print(f"bench_api target=upgrade_offers skipped: probe answered {status}", flush=True)
        return None
    return _write_bodies(work / "offers.jsonl", bodies)


def _request_example(spec: dict[str, Any], operation: dict[str, Any]) -> dict[str, Any]:
    content = operation["requestBody"]["content"]["application/json"]
    schema = content.get("schema", {})
    if "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    examples = schema.get("examples") or [content.get("example", {})]
    example: dict[str, Any] = examples[0]
    return example


# --- processes ----------------------------------------------------------------------------


@contextmanager
def _throwaway_database(server: str) -> Iterator[str]:
    name = f"cartlift_bench_{uuid.uuid4().hex[:10]}"
    asyncio.run(run_admin_sql(server, f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(server).set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(run_admin_sql(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@contextmanager
def _flushed(redis_url: str) -> Iterator[None]:
    client = Redis.from_url(redis_url)
    client.flushdb()
    try:
        yield
    finally:
        client.flushdb()
        client.close()


@contextmanager
def _server(command: list[str], port: int, env: dict[str, str], ready: str) -> Iterator[int]:
    """A server process on loopback; yields its pid (one uvicorn worker serves in-process)."""
    process = subprocess.Popen(command, env=env, cwd=ROOT)
    try:
        _wait_until_up(f"http://127.0.0.1:{port}{ready}", process)
        yield process.pid
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def _wait_until_up(url: str, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server exited with {process.returncode} before answering {url}")
        try:
            _get(url)
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"{url} did not answer within {timeout:.0f} s")


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=5) as response:
        body: bytes = response.read()
        return body


def _post(url: str, body: dict[str, Any]) -> int:
    headers = {"Content-Type": "application/json", "X-API-Key": BENCH_KEY}
    request = urllib.request.Request(url, json.dumps(body).encode(), method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            status: int = response.status
            return status
    except urllib.error.HTTPError as error:
        return error.code


def _wrk(url: str, bodies: Path, seconds: int, args: argparse.Namespace) -> Result:
    command = [
        "wrk",
        f"-t{args.threads}",
        f"-c{args.connections}",
        f"-d{seconds}s",
        "--latency",
        "-s",
        str(LUA),
        url,
        "--",
        str(bodies),
        BENCH_KEY,
    ]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    line = next(line for line in output.splitlines() if line.startswith("RESULT "))
    result: Result = json.loads(line.removeprefix("RESULT "))
    return result


if __name__ == "__main__":
    main()

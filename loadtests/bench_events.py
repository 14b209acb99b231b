"""Load POST /events next to a bare endpoint parsing the same body, then time the drain.

Goal: >= 20,000 events/s per process in batches of 100, and a drain that keeps up with
that rate. Both servers run one uvicorn worker on loopback; the event log is a dedicated
Redis db (flushed before and after) and the drain writes to a throwaway Postgres database.
Needs wrk, Postgres and Redis. (The experiment's repetition test is bench_experiment.py.)

    uv run python loadtests/bench_events.py [--duration 10] [--connections 16]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_api import (
    BENCH_KEY,
    CARTLIFT,
    PG_SERVER,
    REDIS_URL,
    ROOT,
    _env,
    _flushed,
    _measured,
    _server,
    _throwaway_database,
    _wrk,
)
from redis import Redis

from app.events.stream import STREAM_KEY

PER_BATCH = 100


def main() -> None:
    args = _arguments()
    with tempfile.TemporaryDirectory(prefix="cartlift-bench-") as tmp:
        bodies = _bodies(Path(tmp) / "events.jsonl")
        with _throwaway_database(args.pg) as database_url, _flushed(args.redis_url):
            # The events scope: a bare key may only recommend. No rules are built here, so
            # the server is up at /healthz (/readyz waits for a rule version).
            env = {**_env(database_url, args.redis_url), "CARTLIFT_API_KEYS": f"events:{BENCH_KEY}"}
            subprocess.run(
                [CARTLIFT, "migrate"], env=env, cwd=ROOT, check=True, capture_output=True
            )
            _ingest(args, env, bodies)
            _drain(env, args.redis_url)


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per measured run")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument("--port", type=int, default=8110, help="bare app; cartlift uses +1")
    parser.add_argument("--pg", default=PG_SERVER, help="Postgres server (maintenance db URL)")
    parser.add_argument("--redis-url", default=REDIS_URL, help="a Redis db used only by this")
    return parser.parse_args()


def _bodies(path: Path) -> Path:
    rng = random.Random(5)
    lines = []
    for batch in range(200):
        events = [
            {
                "event_id": f"b{batch}-{n}",
                "type": rng.choice(["click", "add_to_cart"]),
                "customer_id": f"c-{rng.randrange(50_000)}",
                "sku": f"sku-{rng.randrange(500)}",
            }
            for n in range(PER_BATCH)
        ]
        lines.append(json.dumps({"events": events}))
    path.write_text("\n".join(lines) + "\n")
    return path


def _ingest(args: argparse.Namespace, env: dict[str, str], bodies: Path) -> None:
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
        _server(app_cmd, app_port, env, "/healthz") as cartlift,
    ):
        targets = {
            "bare": (f"http://127.0.0.1:{args.port}/events", bare),
            "events": (f"http://127.0.0.1:{app_port}/events", cartlift),
        }
        results = {}
        for name, (url, pid) in targets.items():
            _wrk(url, bodies, 2, args)  # warm-up
            results[name] = _measured(url, bodies, pid, args)
    print(f"bench_events loadavg={os.getloadavg()[0]:.2f} cpus={os.cpu_count()}", flush=True)
    for name, result in results.items():
        fields = " ".join(f"{key}={value:g}" for key, value in result.items())
        print(f"bench_events target={name} events_per_s={result['rps'] * PER_BATCH:.0f} {fields}")
    rate = results["events"]["rps"] * PER_BATCH
    ratio = results["events"]["rps"] / results["bare"]["rps"]
    # What the worker would take with a core of its own: on a shared machine the
    # requests per second follow whatever else runs, the CPU per request much less.
    per_core = PER_BATCH * 1e6 / results["events"]["cpu_us_per_req"]
    refused = sum(result["non2xx"] + result["errors"] for result in results.values())
    verdict = "ok" if rate >= 20_000 and not refused else "MISSED"
    print(
        f"bench_events ratio events_per_s={rate:.0f} (goal >= 20000) "
        f"rps_vs_bare={ratio:.2f} events_per_cpu_s={per_core:.0f} {verdict}",
        flush=True,
    )


def _drain(env: dict[str, str], redis_url: str) -> None:
    client = Redis.from_url(redis_url)
    entries = int(client.xlen(STREAM_KEY))
    client.close()
    started = time.perf_counter()
    subprocess.run(
        [CARTLIFT, "events", "drain", "--batch", "50"],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    seconds = time.perf_counter() - started
    rate = entries * PER_BATCH / seconds
    verdict = "ok" if rate >= 20_000 else "MISSED"
    print(
        f"bench_events drain entries={entries} events={entries * PER_BATCH} s={seconds:.1f} "
        f"events_per_s={rate:.0f} (goal >= 20000, includes process start) {verdict}",
        flush=True,
    )


if __name__ == "__main__":
    main()
